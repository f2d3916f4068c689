package localpg

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverCredential returns the credential of the "postgres" system user when
// the process runs as root (PostgreSQL refuses to run as root), or nil.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, but PostgreSQL refuses to run as root and there is no \"postgres\" system user to run it as (%v); create one (useradd --system postgres) or run as a normal user", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: bad uid %q", u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: bad gid %q", u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// handOver gives dir (recursively) to the server user and makes sure that
// user can reach it through its parent directories.
func handOver(dir string, cred *syscall.Credential, log io.Writer) error {
	if err := makeTraversable(filepath.Dir(dir), cred, log); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid == cred.Uid {
		return nil // already handed over (reused -data directory)
	}
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
}

// makeTraversable adds the search (x) permission for others to dir and its
// ancestors where the server user could not otherwise pass through them.
func makeTraversable(dir string, cred *syscall.Credential, log io.Writer) error {
	for {
		st, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if !canSearch(st, cred) {
			mode := st.Mode().Perm() | 0o001
			fmt.Fprintf(log, "localpg: chmod o+x %s so the postgres user can reach its data directory\n", dir)
			if err := os.Chmod(dir, mode|st.Mode()&(os.ModeSticky|os.ModeSetgid|os.ModeSetuid)); err != nil {
				return err
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func canSearch(st os.FileInfo, cred *syscall.Credential) bool {
	perm := st.Mode().Perm()
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return perm&0o001 != 0
	}
	switch {
	case sys.Uid == cred.Uid:
		return perm&0o100 != 0
	case sys.Gid == cred.Gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
