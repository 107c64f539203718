package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/krimstat/krimstat/export"
)

const exportUsage = `usage: krimstat export -release ID -out FILE [-data FILE|DIR]

Writes the release bundle, the zip that GET /v1/releases/{id}/download
serves (a Frictionless Data Package: CSV and Parquet tables, README,
CITATION.cff), byte for byte, without a server. The release is read as serve
reads it: from DATABASE_URL, from -data, or the bundled release.

  krimstat export -release current -out krimstat.zip

flags:`

// exportCmd writes the bundle of one release to a file.
func exportCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintln(stdout, exportUsage)
		fs.PrintDefaults()
	}
	release := fs.String("release", export.Current, "the release id, or current")
	out := fs.String("out", "", "the zip file to write")
	dataPath := fs.String("data", "", "read this release file, or every release file in this directory, instead of the bundled release")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("export: give -out FILE and no other arguments")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	// The store's watcher (PostgreSQL) ends with this command.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, closeStore, err := openStore(ctx, cfg, *dataPath, log)
	if err != nil {
		return err
	}
	defer closeStore()

	rel, err := export.ResolveRelease(ctx, st, *release)
	if err != nil {
		return fmt.Errorf("export: release %s: %w", *release, err)
	}
	var buf bytes.Buffer
	if err := export.WriteBundle(ctx, &buf, st, rel.ID); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := writeAtomic(*out, buf.Bytes()); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	fmt.Fprintf(stdout, "wrote %s: release %s, %d bytes, sha256 %s\n", *out, rel.ID, buf.Len(), hex.EncodeToString(sum[:]))
	return nil
}
