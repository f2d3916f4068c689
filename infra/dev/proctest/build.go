package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Binary is a program built once per test binary; see Build.
type Binary struct {
	once func() (string, error)
	mu   sync.Mutex
	dir  string
}

// Build returns a Binary that `go build`s the package pkg (an import path, or a directory relative to
// the test's working directory) the first time Path is called. Call Remove from TestMain.
func Build(pkg string) *Binary {
	b := &Binary{}
	b.once = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "proctest-")
		if err != nil {
			return "", err
		}
		b.mu.Lock()
		b.dir = dir
		b.mu.Unlock()
		name := filepath.Base(pkg)
		if name == "." || name == ".." || name == "/" {
			name = "program"
		}
		bin := filepath.Join(dir, name)
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
		return bin, nil
	})
	return b
}

// Path builds the program (the first time) and returns its path.
func (b *Binary) Path() (string, error) { return b.once() }

// Remove deletes the built program, if it was built.
func (b *Binary) Remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
