package pack

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Epoch is every entry's modification time: the earliest a zip can record.
var Epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one archive entry.
type File struct {
	Name string      // slash-separated path inside the archive
	Path string      // where to read it from
	Mode fs.FileMode // 0644 or 0755
}

// Zip writes files to out (sorted by name, fixed time and modes, deflated) and returns its size.
func Zip(out string, files []File) (int64, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return 0, err
		}
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: Epoch}
		h.SetMode(f.Mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(data); err != nil {
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, err
	}
	return int64(buf.Len()), os.WriteFile(out, buf.Bytes(), 0o644)
}

// GCFSource lists the files of the Cloud Functions source bundle for the module in root: go.mod, go.sum
// and, for each package of the module that the root package imports (directly or not), its non-test Go
// files and embedded files. It asks `go list` for the packages, as the buildpack's build will.
func GCFSource(root string) ([]File, error) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles,EmbedFiles,Module", ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.String())
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	files := []File{{Name: "go.mod", Path: filepath.Join(abs, "go.mod"), Mode: 0o644},
		{Name: "go.sum", Path: filepath.Join(abs, "go.sum"), Mode: 0o644}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct{ Main bool }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		for _, name := range slices.Concat(p.GoFiles, p.EmbedFiles) {
			path := filepath.Join(p.Dir, name)
			rel, err := filepath.Rel(abs, path)
			if err != nil || strings.HasPrefix(rel, "..") {
				return nil, fmt.Errorf("%s is outside the module", path)
			}
			files = append(files, File{Name: filepath.ToSlash(rel), Path: path, Mode: 0o644})
		}
	}
	return files, nil
}

// CopyTree copies files into dir (the unzipped form of a bundle), with the fixed time and modes.
func CopyTree(dir string, files []File) error {
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, f.Mode); err != nil {
			return err
		}
		if err := os.Chtimes(dst, Epoch, Epoch); err != nil {
			return err
		}
	}
	return nil
}
