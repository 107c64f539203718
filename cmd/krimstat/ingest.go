package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/ingest"
	"github.com/krimstat/krimstat/ingest/jsonstat"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/postgres"
)

// maxFetchBytes bounds a downloaded JSON-stat dataset.
const maxFetchBytes = 64 << 20

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
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, ingestUsage); fs.PrintDefaults() }
	ref := fs.String("reference", "", "rebuild the bundled release from this reference data folder (shared/data)")
	bundled := fs.Bool("bundled", false, "start from the bundled release (even when PostgreSQL has a current one)")
	base := fs.String("base", "", "start from this release file")
	jsFile := fs.String("jsonstat", "", "JSON-stat 2.0 dataset file to add (needs -mapping)")
	fetch := fs.String("fetch", "", "download the JSON-stat 2.0 dataset from this URL (needs -mapping)")
	mapping := fs.String("mapping", "", "mapping file for -jsonstat or -fetch")
	euro := fs.String("eurostat", "", "Eurostat crim_off_cat bulk TSV replacing the release's Eurostat figures")
	out := fs.String("out", "", "without DATABASE_URL: the release file, or a directory to write <release-id>.json into")
	timeout := fs.Duration("fetch-timeout", 2*time.Minute, "time limit of -fetch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("ingest: unexpected argument %q", fs.Arg(0))
	}
	if (*jsFile != "" || *fetch != "") != (*mapping != "") || (*jsFile != "" && *fetch != "") {
		return errors.New("ingest: give -mapping with exactly one of -jsonstat and -fetch")
	}
	dbURL := getenv("DATABASE_URL")
	if dbURL == "" && *out == "" {
		return errors.New("ingest: set DATABASE_URL or give -out")
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))

	var pg *postgres.Store
	if dbURL != "" {
		var err error
		if pg, err = postgres.Open(ctx, dbURL, postgres.WithLogger(log)); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		defer pg.Close()
		if err := pg.CheckSchema(ctx); err != nil {
			return fmt.Errorf("ingest: %w (run krimstat migrate)", err)
		}
	}

	start := time.Now()
	ds, inputs, err := buildRelease(ctx, pg, *ref, *bundled, *base, *jsFile, *fetch, *mapping, *euro, *timeout)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	built := time.Since(start)

	if pg != nil {
		if err := pg.Load(ctx, ds); err != nil {
			if errors.Is(err, store.ErrInvalid) && *bundled && len(inputs) == 0 {
				// Loading the bundled release twice is not an error: the
				// compose file runs this on every start.
				if _, rerr := pg.Release(ctx, ds.Release.ID); rerr == nil {
					fmt.Fprintf(stdout, "release %s is already loaded; nothing to do\n", ds.Release.ID)
					return nil
				}
			}
			return fmt.Errorf("ingest: %w", err)
		}
	} else {
		path := *out
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			path = filepath.Join(path, ds.Release.ID+".json")
		}
		var buf bytes.Buffer
		if err := ds.Encode(&buf); err != nil {
			return fmt.Errorf("ingest: encode: %w", err)
		}
		if err := writeAtomic(path, buf.Bytes()); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		*out = path
	}
	total := time.Since(start)
	where := *out
	if pg != nil {
		where = "PostgreSQL " + masked(dbURL)
	}
	fmt.Fprintf(stdout, "release %s: %d observations, %d population figures -> %s (built in %s, stored in %s, %.0f observations/s)\n",
		ds.Release.ID, len(ds.Observations), len(ds.Population), where, built.Round(time.Millisecond),
		(total - built).Round(time.Millisecond), float64(len(ds.Observations))/total.Seconds())
	return nil
}

// buildRelease assembles the release from its base and inputs. inputs names
// what was read besides the base.
func buildRelease(ctx context.Context, pg *postgres.Store, ref string, bundled bool, base, jsFile, fetch, mapping, euro string, timeout time.Duration) (*store.Dataset, []string, error) {
	if ref != "" {
		if bundled || base != "" || jsFile != "" || fetch != "" || euro != "" {
			return nil, nil, errors.New("-reference rebuilds the bundled release on its own; give no other input")
		}
		ds, err := ingest.Build(ref)
		return ds, nil, err
	}
	ds, err := baseRelease(ctx, pg, bundled, base)
	if err != nil {
		return nil, nil, err
	}
	var inputs []string
	files := append([]store.ReleaseFile(nil), ds.Release.Files...)
	if euro != "" {
		b, err := os.ReadFile(euro)
		if err != nil {
			return nil, nil, err
		}
		obs, src, err := ingest.EurostatObservations(b, filepath.Base(euro), ds)
		if err != nil {
			return nil, nil, err
		}
		ingest.ReplaceSource(ds, src, obs)
		files = append(files, ingest.FileInfo(filepath.Base(euro), b))
		inputs = append(inputs, filepath.Base(euro))
	}
	if mapping != "" {
		m, err := jsonstat.LoadMapping(mapping)
		if err != nil {
			return nil, nil, err
		}
		var b []byte
		name := jsFile
		if fetch != "" {
			fctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if b, err = jsonstat.Fetch(fctx, &http.Client{}, fetch, maxFetchBytes); err != nil {
				return nil, nil, err
			}
			name = fetch
			m.Source.Retrieved = time.Now().UTC().Format("2006-01-02")
		} else if b, err = os.ReadFile(jsFile); err != nil {
			return nil, nil, err
		}
		js, err := jsonstat.Decode(bytes.NewReader(b), name)
		if err != nil {
			return nil, nil, err
		}
		obs, err := jsonstat.Map(js, m)
		if err != nil {
			return nil, nil, err
		}
		ingest.ReplaceSource(ds, m.Source, obs)
		files = append(files, ingest.FileInfo(name, b))
		inputs = append(inputs, name)
	}
	if len(inputs) == 0 {
		// Nothing new: the base release is stored as it is.
		return ds, nil, nil
	}
	if err := ingest.Finish(ds, files, time.Now(), ingest.Note(inputs...)); err != nil {
		return nil, nil, err
	}
	return ds, inputs, nil
}

// baseRelease is the release a new one starts from.
func baseRelease(ctx context.Context, pg *postgres.Store, bundled bool, base string) (*store.Dataset, error) {
	switch {
	case base != "":
		f, err := os.Open(base)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return store.DecodeDataset(f)
	case pg != nil && !bundled:
		rel, err := pg.CurrentRelease(ctx)
		if err == nil {
			return ingest.Export(ctx, pg, rel.ID)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return store.DecodeDataset(bytes.NewReader(data.Bundled))
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
