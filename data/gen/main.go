// Command gen writes the snapshot of the bundled release, krimstat.snap,
// from its JSON form, krimstat.json: the JSON is the release as reviewed and
// committed, the snapshot what the server loads at start. It runs as
// "go generate ./data", which "make data" does after rebuilding the JSON.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	in := fs.String("in", "krimstat.json", "the release file to read")
	out := fs.String("out", "krimstat.snap", "the snapshot file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	ds, err := store.DecodeDataset(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	var buf bytes.Buffer
	if err := memory.EncodeSnapshot(&buf, ds); err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	return writeAtomic(*out, buf.Bytes())
}

// writeAtomic writes data to a temporary file beside path and renames it
// into place, so that a build never embeds half a snapshot.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".krimstat-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
