package proctest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// RefusingAddr returns a loopback address where connections are refused, and stays so until the test
// ends: its port is bound by a socket that never listens, so no other process can take it (a port that
// was merely free a moment ago could be anyone's by the time the test dials it).
func RefusingAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// listensOn reports whether process pid holds the socket listening on addr's port. known is false where
// the kernel does not say (no /proc/net/tcp): the caller then trusts the readiness check alone.
func listensOn(pid int, addr string) (own, known bool) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, false
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return false, false
	}
	inodes, ok := listeningInodes(n)
	if !ok {
		return false, false
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false, false
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			return true, true
		}
	}
	return false, true
}

// listeningInodes returns the inodes of the TCP sockets listening on port, from /proc/net/tcp and tcp6.
func listeningInodes(port int) (map[string]bool, bool) {
	inodes := map[string]bool{}
	read := false
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		read = true
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 32); ok && err == nil && int(p) == port {
				inodes[fields[9]] = true
			}
		}
		f.Close()
	}
	return inodes, read
}
