package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/ingest"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/postgres"
)

const ingestUsage = `usage: krimstat ingest [flags]

Builds a release and writes it to PostgreSQL (DATABASE_URL) or, without
DATABASE_URL, to -out (a file, or a directory that "serve -data DIR" loads).

  krimstat ingest -reference ../shared/data -out data/krimstat.json   rebuild the bundled release
  krimstat ingest -bundled                                            load the bundled release into PostgreSQL
  krimstat ingest -jsonstat table.json -mapping m.json                add a JSON-stat 2.0 dataset
  krimstat ingest -fetch URL -mapping m.json                          download one (SSB PxWebApi, Eurostat)
  krimstat ingest -eurostat crim_off_cat.tsv                          a new Eurostat crim_off_cat extract

A new release starts from -base FILE, else from PostgreSQL's current release,
else from the bundled release; the sources read replace that release's
figures from the same source. Any error leaves the store unchanged.
`

// ingestCmd builds a release from its inputs and stores it. Nothing is
// written unless every input was read and the release validates.
func ingestCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	f, err := parseIngestFlags(args, stdout)
	if err != nil {
		return err
	}
	in := f.in
	dbURL := getenv("DATABASE_URL")
	if dbURL == "" && f.out == "" {
		return errors.New("ingest: set DATABASE_URL or give -out")
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))

	var pg *postgres.Store
	if dbURL != "" {
		if pg, err = openPrimary(ctx, dbURL, log); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		defer pg.Close()
		// The store is set here, where it is open, because a nil
		// *postgres.Store in the interface would not compare equal to nil.
		if !f.bundled {
			in.Current = pg
		}
	}
	in.Bundled = data.Bundled

	start := time.Now()
	ds, err := ingest.Assemble(ctx, in)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	built := time.Since(start)

	var where string
	if pg != nil {
		if err := pg.Load(ctx, ds); err != nil {
			// Loading the bundled release twice is not an error: the
			// compose file runs "ingest -bundled" on every start.
			if errors.Is(err, store.ErrInvalid) && f.bundled && in.EurostatTSV == "" && in.Mapping == "" {
				if _, rerr := pg.Release(ctx, ds.Release.ID); rerr == nil {
					fmt.Fprintf(stdout, "release %s is already loaded; nothing to do\n", ds.Release.ID)
					return nil
				}
			}
			return fmt.Errorf("ingest: %w", err)
		}
		where = "PostgreSQL " + masked(dbURL)
	} else if where, err = writeRelease(f.out, ds); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	total := time.Since(start)
	fmt.Fprintf(stdout, "release %s: %d observations, %d population figures -> %s (built in %s, stored in %s, %.0f observations/s)\n",
		ds.Release.ID, len(ds.Observations), len(ds.Population), where, built.Round(time.Millisecond),
		(total - built).Round(time.Millisecond), float64(len(ds.Observations))/total.Seconds())
	return nil
}

// ingestFlags are the flags of the ingest command: the release's inputs,
// whether to start from the bundled release, and the output file.
type ingestFlags struct {
	in      ingest.Inputs
	bundled bool
	out     string
}

// parseIngestFlags reads the ingest command's flags, rejecting combinations
// that ask for two things at once.
func parseIngestFlags(args []string, stdout io.Writer) (ingestFlags, error) {
	var f ingestFlags
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, ingestUsage); fs.PrintDefaults() }
	fs.StringVar(&f.in.Reference, "reference", "", "rebuild the bundled release from this reference data folder (shared/data)")
	fs.BoolVar(&f.bundled, "bundled", false, "start from the bundled release (even when PostgreSQL has a current one)")
	fs.StringVar(&f.in.BaseFile, "base", "", "start from this release file")
	fs.StringVar(&f.in.JSONStatFile, "jsonstat", "", "JSON-stat 2.0 dataset file to add (needs -mapping)")
	fs.StringVar(&f.in.JSONStatURL, "fetch", "", "download the JSON-stat 2.0 dataset from this URL (needs -mapping)")
	fs.StringVar(&f.in.Mapping, "mapping", "", "mapping file for -jsonstat or -fetch")
	fs.StringVar(&f.in.EurostatTSV, "eurostat", "", "Eurostat crim_off_cat bulk TSV replacing the release's Eurostat figures")
	fs.StringVar(&f.out, "out", "", "without DATABASE_URL: the release file, or a directory to write <release-id>.json into")
	fs.DurationVar(&f.in.FetchTimeout, "fetch-timeout", 2*time.Minute, "time limit of -fetch")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("ingest: unexpected argument %q", fs.Arg(0))
	}
	if err := checkIngestFlags(f.in, f.bundled); err != nil {
		return f, fmt.Errorf("ingest: %w", err)
	}
	return f, nil
}

// checkIngestFlags rejects flag combinations that ask for two things at once,
// in the flags' own terms; ingest.Assemble would reject them too, but in
// its fields' terms.
func checkIngestFlags(in ingest.Inputs, bundled bool) error {
	if (in.JSONStatFile != "" || in.JSONStatURL != "") != (in.Mapping != "") || (in.JSONStatFile != "" && in.JSONStatURL != "") {
		return errors.New("give -mapping with exactly one of -jsonstat and -fetch")
	}
	if in.Reference != "" && (bundled || in.BaseFile != "" || in.JSONStatFile != "" || in.JSONStatURL != "" || in.EurostatTSV != "") {
		return errors.New("-reference rebuilds the bundled release on its own; give no other input")
	}
	return nil
}

// writeRelease writes ds to the file out or, when out is a directory, to
// <release-id>.json in it, and returns the path written.
func writeRelease(out string, ds *store.Dataset) (string, error) {
	path := out
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ds.Release.ID+".json")
	}
	var buf bytes.Buffer
	if err := ds.Encode(&buf); err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return "", err
	}
	return path, nil
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

// openPrimary opens the PostgreSQL store that ingest and sync load releases
// into, and checks that its schema is current. Loads go to the primary
// only: read replicas are serve's.
func openPrimary(ctx context.Context, url string, log *slog.Logger) (*postgres.Store, error) {
	pg, err := postgres.Open(ctx, url, postgres.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if err := pg.CheckSchema(ctx); err != nil {
		pg.Close()
		return nil, fmt.Errorf("%w (run krimstat migrate)", err)
	}
	return pg, nil
}
