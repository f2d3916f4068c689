package localpg

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// maxSocketPath is the usable length of a Unix-domain socket path on Linux
// (sun_path is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// freePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// released before PostgreSQL binds it, so another process could take it in
// between: Cluster.start then tries again with a fresh port.
var freePort = func() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// socketDir returns the Unix socket directory for dataDir: the data
// directory itself, or "" (no Unix socket, TCP only) when the socket path
// would be too long.
func socketDir(dataDir string) string {
	if len(dataDir)+len("/.s.PGSQL.65535") > maxSocketPath {
		return ""
	}
	return dataDir
}

// PgNetVar names the variable that says whether a cluster preloads pg_net where it is installed: "off"
// leaves it installed but not loaded (the state a developer machine with the package may be in); anything
// else preloads it. pg_net is not packaged for Debian: it is there only when someone built it.
const PgNetVar = "LOCALPG_PG_NET"

// preloadLibraries returns shared_preload_libraries for inst: pg_cron, and pg_net where it is installed
// and PgNetVar is not "off".
func preloadLibraries(inst *Installation) string {
	if inst != nil && fileExists(filepath.Join(inst.PkgLibDir, "pg_net.so")) && os.Getenv(PgNetVar) != "off" {
		return "pg_cron,pg_net"
	}
	return "pg_cron"
}

// writeConf appends the localpg settings to dataDir/postgresql.conf (the port is given on the command line,
// so that a start whose port was taken can retry with another). pg_net's worker, where preloaded, serves the
// database postgres (its default, said explicitly) and connects as postgres, as on hosted Supabase (pg_net's
// default is the bootstrap superuser); the tests' stand-in worker reads the same two settings. The role
// postgres appears only with the bootstrap, after the server started: the real worker fails to connect and
// pg_net restarts it until then.
func writeConf(dataDir string, preload string) error {
	settings := fmt.Sprintf(`
# ---- added by localpg (infra/dev/localpg) ----
# This is a throw-away cluster for tests: durability is switched off
# (fsync, synchronous_commit, full_page_writes) because its data is
# disposable. Never copy these settings to a real server.
listen_addresses = '127.0.0.1'
unix_socket_directories = %s
shared_preload_libraries = %s
cron.database_name = 'postgres'
pg_net.database_name = 'postgres'
pg_net.username = 'postgres'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
log_min_messages = warning
logging_collector = off
`, confQuote(socketDir(dataDir)), confQuote(preload))
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(settings); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// confQuote quotes s as a postgresql.conf string value.
func confQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// shQuote quotes s for /bin/sh; pg_ctl passes its -o options through a shell.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
