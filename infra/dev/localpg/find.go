package localpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Debian package names of the components localpg needs.
const (
	// PkgServer provides the PostgreSQL 15 server binaries (initdb, pg_ctl, postgres).
	PkgServer = "postgresql-15"
	// PkgCron provides the pg_cron extension for PostgreSQL 15.
	PkgCron = "postgresql-15-cron"
	// PkgPgTAP provides the pgTAP extension for PostgreSQL 15.
	PkgPgTAP = "postgresql-15-pgtap"
	// PkgPlpgsqlCheck provides the plpgsql_check extension `supabase db lint` runs.
	PkgPlpgsqlCheck = "postgresql-15-plpgsql-check"
	// PkgPgProve provides the pg_prove test runner.
	PkgPgProve = "libtap-parser-sourcehandler-pgtap-perl"
)

// otherSystems names what to install on systems without apt-get.
const otherSystems = "PostgreSQL 15 with the pg_cron, pgTAP and plpgsql_check extensions, and pg_prove"

// Installation says where the PostgreSQL server binaries and the extensions
// were found.
type Installation struct {
	BinDir        string // holds initdb, pg_ctl, postgres (and usually psql)
	PkgLibDir     string // holds pg_cron.so
	ShareDir      string // its extension/ subdirectory holds the .control files
	ServerVersion string // e.g. "15.18", from postgres --version
	PgCronVersion string // default_version from pg_cron.control, e.g. "1.4-1"
	PgProve       string // path of pg_prove
}

// String describes the installation on several lines, for "localpg check".
func (i *Installation) String() string {
	return fmt.Sprintf("PostgreSQL %s\n  bin:      %s\n  pg_cron:  %s (%s)\n  pgTAP:    %s\n  pg_prove: %s\n",
		i.ServerVersion, i.BinDir,
		filepath.Join(i.PkgLibDir, "pg_cron.so"), i.PgCronVersion,
		filepath.Join(i.ShareDir, "extension", "pgtap.control"), i.PgProve)
}

// Psql returns the psql binary next to the server binaries, or the one on
// PATH, or "psql".
func (i *Installation) Psql() string {
	if p := filepath.Join(i.BinDir, "psql"); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p
	}
	return "psql"
}

// MissingError lists the components that are not installed and the Debian
// packages that provide them.
type MissingError struct {
	Missing  []string // what is missing, in words
	Packages []string // Debian packages to install
}

// Error says exactly what to install.
func (e *MissingError) Error() string {
	return fmt.Sprintf("missing %s.\nInstall on Debian/Ubuntu (as root): apt-get install %s\nOn other systems install: %s",
		strings.Join(e.Missing, ", "), strings.Join(e.Packages, " "), otherSystems)
}

// layout is one candidate set of PostgreSQL directories.
type layout struct{ bin, lib, share string }

var debian15 = layout{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/15/lib", "/usr/share/postgresql/15"}

// Find looks for the PostgreSQL 15 binaries, pg_cron, pgTAP, plpgsql_check and pg_prove
// without installing anything. It tries `pg_config` (when it reports
// version 15), then the Debian layout under /usr/lib/postgresql/15, then
// pg_config of any other version. When something is missing it returns the
// partial Installation and a *MissingError.
func Find(ctx context.Context) (*Installation, error) {
	var candidates []layout
	pc, pcVersion, pcErr := pgConfig(ctx)
	if pcErr == nil && strings.HasPrefix(pcVersion, "15") {
		candidates = append(candidates, pc)
	}
	candidates = append(candidates, debian15)
	if pcErr == nil && !strings.HasPrefix(pcVersion, "15") {
		candidates = append(candidates, pc)
	}

	l, found := debian15, false
	for _, c := range candidates {
		if hasServer(c.bin) {
			l, found = c, true
			break
		}
	}
	inst := &Installation{BinDir: l.bin, PkgLibDir: l.lib, ShareDir: l.share}
	miss := &MissingError{}
	add := func(what, pkg string) {
		miss.Missing = append(miss.Missing, what)
		miss.Packages = append(miss.Packages, pkg)
	}
	if found {
		inst.ServerVersion = serverVersion(ctx, l.bin)
	} else {
		add("the PostgreSQL 15 server binaries (initdb, pg_ctl, postgres)", PkgServer)
	}
	cronControl := filepath.Join(l.share, "extension", "pg_cron.control")
	if !fileExists(filepath.Join(l.lib, "pg_cron.so")) || !fileExists(cronControl) {
		add("the pg_cron extension", PkgCron)
	} else {
		inst.PgCronVersion = controlVersion(cronControl)
	}
	if !fileExists(filepath.Join(l.share, "extension", "pgtap.control")) {
		add("the pgTAP extension", PkgPgTAP)
	}
	if !fileExists(filepath.Join(l.share, "extension", "plpgsql_check.control")) {
		add("the plpgsql_check extension", PkgPlpgsqlCheck)
	}
	if p, err := exec.LookPath("pg_prove"); err == nil {
		inst.PgProve = p
	} else {
		add("pg_prove", PkgPgProve)
	}
	if len(miss.Missing) > 0 {
		return inst, miss
	}
	return inst, nil
}

// pgConfig asks pg_config for its directories and major.minor version.
func pgConfig(ctx context.Context) (layout, string, error) {
	out, err := exec.CommandContext(ctx, "pg_config", "--bindir", "--pkglibdir", "--sharedir", "--version").Output()
	if err != nil {
		return layout{}, "", err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 {
		return layout{}, "", errors.New("unexpected pg_config output")
	}
	v := strings.TrimPrefix(strings.TrimSpace(lines[3]), "PostgreSQL ")
	return layout{strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1]), strings.TrimSpace(lines[2])}, v, nil
}

var versionRE = regexp.MustCompile(`\d+(\.\d+)*`)

// serverVersion returns the version printed by `postgres --version`.
func serverVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		return "(unknown version)"
	}
	if v := versionRE.FindString(string(out)); v != "" {
		return v
	}
	return strings.TrimSpace(string(out))
}

var defaultVersionRE = regexp.MustCompile(`(?m)^\s*default_version\s*=\s*'([^']*)'`)

// controlVersion reads default_version from an extension control file.
func controlVersion(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	if m := defaultVersionRE.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "?"
}

func hasServer(bin string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if !isExecutable(filepath.Join(bin, name)) {
			return false
		}
	}
	return true
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
