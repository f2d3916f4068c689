package deploy

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLintInfra runs the lint:infra task as CI does, on the repository's Terraform roots and on copies
// broken in one way each.
func TestLintInfra(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("repository passes", func(t *testing.T) {
		if out, err := lintInfra(t, root, filepath.Join(root, "infra", "deploy")); err != nil {
			t.Fatalf("lint:infra failed on the repository: %v\n%s", err, out)
		}
	})

	broken := []struct {
		name string
		file string // under the copied infra directory
		edit func(src string) string
		want string // in the task's output
	}{
		{
			name: "mis-formatted file fails",
			file: "aws/outputs.tf",
			edit: func(src string) string {
				return strings.Replace(src, "  description = ", "  description   = ", 1)
			},
			want: "aws/outputs.tf",
		},
		{
			name: "syntax error fails",
			file: "gcp/main.tf",
			edit: func(src string) string {
				return src + "\nresource \"google_storage_bucket\" \"unclosed\" {\n"
			},
			want: "gcp/main.tf",
		},
		{
			name: "undocumented variable fails",
			file: "gcp/variables.tf",
			edit: func(src string) string {
				return src + "\nvariable \"undocumented\" {\n  type = string\n}\n"
			},
			want: "terraform_documented_variables",
		},
	}
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyInfra(t, filepath.Join(root, "infra", "deploy"))
			path := filepath.Join(dir, filepath.FromSlash(tc.file))
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			changed := tc.edit(string(src))
			if changed == string(src) {
				t.Fatalf("the breaking edit did not change %s", tc.file)
			}
			if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
				t.Fatal(err)
			}

			out, err := lintInfra(t, root, dir)
			if err == nil {
				t.Fatalf("lint:infra passed on a copy with a broken %s:\n%s", tc.file, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("lint:infra failed as it should, but its output does not name %q:\n%s", tc.want, out)
			}
		})
	}
}

// lintInfra runs `go tool task lint:infra` from the repository root on the Terraform roots under infraDir
// and returns its combined output.
func lintInfra(t *testing.T, root, infraDir string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", "tool", "task", "lint:infra", "INFRA_DIR="+infraDir)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// copyInfra copies the TFLint configuration and the Terraform roots (aws, gcp) under src into a
// temporary directory and returns it.
func copyInfra(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := copyFile(filepath.Join(src, ".tflint.hcl"), filepath.Join(dst, ".tflint.hcl")); err != nil {
		t.Fatal(err)
	}
	for _, rootName := range []string{"aws", "gcp"} {
		from := filepath.Join(src, rootName)
		err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			rel, err := filepath.Rel(src, path)
			if err != nil {
				return err
			}
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			return copyFile(path, filepath.Join(dst, rel))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
