package sqltree

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files maps each object's tree path to its canonical text.
func Files(objs []Object) map[string]string {
	files := make(map[string]string, len(objs))
	for _, o := range objs {
		files[o.Path] = o.Text()
	}
	return files
}

// ReadTree reads every .sql file under dir, keyed by its slash-separated path relative to dir. A missing dir
// is an empty tree.
func ReadTree(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".sql") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return files, err
}

// WriteTree makes dir hold exactly files: it writes those whose content changed and deletes the .sql files
// it does not hold (and directories left empty). It returns the paths written and removed, sorted.
func WriteTree(dir string, files map[string]string) (written, removed []string, err error) {
	old, err := ReadTree(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range sortedKeys(files) {
		if old[p] == files[p] {
			if _, ok := old[p]; ok {
				continue
			}
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return written, removed, err
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			return written, removed, err
		}
		written = append(written, p)
	}
	for _, p := range sortedKeys(old) {
		if _, ok := files[p]; ok {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			return written, removed, err
		}
		removed = append(removed, p)
		// Remove the directories the file leaves empty, up to dir.
		for d := filepath.Dir(filepath.Join(dir, filepath.FromSlash(p))); d != filepath.Clean(dir); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break
			}
		}
	}
	return written, removed, nil
}

// Problems a tree file can have against the dump.
const (
	Stale   = "stale"   // the file differs from the object's definition in the migrated database
	Missing = "missing" // the migrated database has the object, the tree has no file for it
	Extra   = "extra"   // the tree has a file for an object the migrated database does not have
)

// Difference is one tree file that disagrees with the dump of a migrated database.
type Difference struct {
	Path    string
	Problem string // Stale, Missing or Extra
	Diff    string // for Stale: an excerpt of the line differences (- tree, + database)
}

// String is the difference as a report line, with its diff excerpt below it.
func (d Difference) String() string {
	var s string
	switch d.Problem {
	case Stale:
		s = fmt.Sprintf("%s: stale (- tree, + migrations)\n%s", d.Path, d.Diff)
	case Missing:
		s = fmt.Sprintf("%s: missing (the migrations define it)", d.Path)
	case Extra:
		s = fmt.Sprintf("%s: extra (the migrations do not define it)", d.Path)
	}
	return s
}

// Compare reports each file of tree that is stale, missing or extra against want (the dump's files),
// sorted by path.
func Compare(tree, want map[string]string) []Difference {
	var diffs []Difference
	paths := sortedKeys(want)
	for p := range tree {
		if _, ok := want[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		got, inTree := tree[p]
		w, inDump := want[p]
		switch {
		case !inTree:
			diffs = append(diffs, Difference{Path: p, Problem: Missing})
		case !inDump:
			diffs = append(diffs, Difference{Path: p, Problem: Extra})
		case got != w:
			diffs = append(diffs, Difference{Path: p, Problem: Stale, Diff: LineDiff(got, w, 40)})
		}
	}
	return diffs
}

// LineDiff is a unified-style excerpt of the line differences between a and b ("-" only in a, "+" only in
// b, two lines of context, "@@ line N" before each hunk), at most maxLines lines.
func LineDiff(a, b string, maxLines int) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// Longest common subsequence, by dynamic programming: tree files are a few hundred lines.
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte // ' ', '-', '+'
		line string
		at   int // line number in a
	}
	var ops []op
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, op{' ', x[i], i + 1})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', x[i], i + 1})
			i++
		default:
			ops = append(ops, op{'+', y[j], i + 1})
			j++
		}
	}
	const around = 2
	show := make([]bool, len(ops))
	for k, o := range ops {
		if o.kind == ' ' {
			continue
		}
		for c := max(0, k-around); c <= min(len(ops)-1, k+around); c++ {
			show[c] = true
		}
	}
	var out []string
	for k, o := range ops {
		if !show[k] {
			continue
		}
		if k == 0 || !show[k-1] {
			out = append(out, fmt.Sprintf("  @@ line %d", o.at))
		}
		out = append(out, fmt.Sprintf("  %c %s", o.kind, o.line))
	}
	if len(out) > maxLines {
		out = append(out[:maxLines], fmt.Sprintf("  ... (%d more lines of differences)", len(out)-maxLines))
	}
	return strings.Join(out, "\n")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Check dumps the migrated database at dbURL and compares its objects with the tree in dir.
func Check(ctx context.Context, dbURL, dir string) ([]Difference, error) {
	objs, err := DumpObjects(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	tree, err := ReadTree(dir)
	if err != nil {
		return nil, err
	}
	return Compare(tree, Files(objs)), nil
}
