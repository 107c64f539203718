package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/krimstat/krimstat/ingest"
)

// ingestCmd builds a release. With -reference it rebuilds the bundled
// release from the reference data folder (shared/data) and writes it to -out.
// The file is replaced atomically: a failed build leaves the old file as it was.
func ingestCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stdout)
	ref := fs.String("reference", "", "reference data folder (shared/data) to build the bundled release from")
	out := fs.String("out", "data/krimstat.json", "where to write the release file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" {
		return fmt.Errorf("ingest: -reference is required")
	}
	ds, err := ingest.Build(*ref)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	var buf bytes.Buffer
	if err := ds.Encode(&buf); err != nil {
		return fmt.Errorf("ingest: encode: %w", err)
	}
	if err := writeAtomic(*out, buf.Bytes()); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	fmt.Fprintf(stdout, "release %s: %d observations, %d population figures -> %s\n",
		ds.Release.ID, len(ds.Observations), len(ds.Population), *out)
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it
// into place, so readers never see half a file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".krimstat-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
