// Command pack writes the deployable archives reproducibly (see package infra/dev/pack).
//
// Usage:
//
//	pack zip OUT.zip NAME=PATH[:MODE]...   e.g. pack zip dist/lambda/bootstrap-arm64.zip bootstrap=dist/lambda/arm64/bootstrap:755
//	pack gcf OUT.zip [DIR]                 the Cloud Functions source bundle of the module in the current directory; DIR also gets it unzipped
//
// It prints each archive's SHA-256, which is the same for the same inputs.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/peermentor/scenario-scheduler/infra/dev/pack"
)

const usage = `usage:
  pack zip OUT.zip NAME=PATH[:MODE]...
  pack gcf OUT.zip [DIR]
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("%s", usage)
	}
	out := args[1]
	var files []pack.File
	switch args[0] {
	case "zip":
		for _, a := range args[2:] {
			name, path, ok := strings.Cut(a, "=")
			if !ok {
				return fmt.Errorf("%q is not NAME=PATH[:MODE]", a)
			}
			mode := fs.FileMode(0o644)
			if p, m, ok := strings.Cut(path, ":"); ok {
				n, err := strconv.ParseUint(m, 8, 32)
				if err != nil {
					return fmt.Errorf("mode of %q: %v", a, err)
				}
				path, mode = p, fs.FileMode(n)
			}
			files = append(files, pack.File{Name: name, Path: path, Mode: mode})
		}
	case "gcf":
		var err error
		if files, err = pack.GCFSource("."); err != nil {
			return err
		}
		if len(args) > 2 {
			if err := os.RemoveAll(args[2]); err != nil {
				return err
			}
			if err := pack.CopyTree(args[2], files); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s", usage)
	}
	size, err := pack.Zip(out, files)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	fmt.Printf("%s  %s (%d files, %d bytes)\n", hex.EncodeToString(sum[:]), out, len(files), size)
	return nil
}
