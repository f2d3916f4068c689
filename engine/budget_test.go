package engine_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// budgetLiteral is a 30-second duration written where a budget or deadline is set: the product's answer
// time, which engine.DefaultBudget owns.
var budgetLiteral = regexp.MustCompile(`(?i)(budget|deadline)\w*\s*[:=]+\s*(30\s*\*\s*time\.Second|time\.Second\s*\*\s*30|30_?000\b)`)

// TestOneBudgetOwner: the 30 s budget is written once, as engine.DefaultBudget; every other package refers
// to it. A second literal would let the entry points, the HTTP contract and the engine drift apart.
func TestOneBudgetOwner(t *testing.T) {
	var found []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if budgetLiteral.MatchString(line) {
				found = append(found, filepath.ToSlash(path)+":"+strconv.Itoa(i+1)+": "+strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !strings.HasPrefix(found[0], "../engine/engine.go:") || !strings.Contains(found[0], "DefaultBudget") {
		t.Fatalf("the 30 s budget must be written once, as engine.DefaultBudget in engine/engine.go; found:\n%s",
			strings.Join(found, "\n"))
	}
}
