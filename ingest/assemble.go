package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/krimstat/krimstat/jsonstat"
	"github.com/krimstat/krimstat/store"
)

// maxFetchBytes bounds a downloaded JSON-stat dataset, so that a wrong URL or
// a runaway server cannot fill memory.
const maxFetchBytes = 64 << 20

// Inputs are what Assemble builds a release from: either the reference data
// alone, or a base release and the inputs that replace some of its figures.
// Paths are read by Assemble; PostgreSQL and the bundled release come in as a
// store.Store and as bytes, so that this package depends on neither.
type Inputs struct {
	// Reference is the reference data folder (shared/data). When it is set
	// the release is the bundled one rebuilt by Build: the base is not read
	// and no other input may be given.
	Reference string

	// The base release is the first of these that gives one: the release
	// file BaseFile, the current release of Current (a store without one is
	// passed over), then the bundled release Bundled (data.Bundled).
	BaseFile string
	Current  store.Store
	Bundled  []byte

	// EurostatTSV is a crim_off_cat bulk TSV whose figures replace the base's
	// Eurostat figures.
	EurostatTSV string

	// JSONStatFile or JSONStatURL is a JSON-stat 2.0 dataset, mapped with the
	// mapping file Mapping; its figures replace the base's figures from the
	// mapping's source. FetchTimeout limits the download of JSONStatURL; zero
	// means jsonstat.DefaultFetchTimeout.
	JSONStatFile string
	JSONStatURL  string
	Mapping      string
	FetchTimeout time.Duration
}

// sourceFile is a file read besides the base, recorded in the release under
// name.
type sourceFile struct {
	name string
	data []byte
}

// Assemble builds the release described by in. A release with new inputs
// lists the base's files and then theirs, gets a note naming the new inputs,
// and is validated; a base without new inputs comes back as it is, with its
// id, so that loading it again can be recognised as a repeat.
//
// Errors: inputs that contradict each other wrap store.ErrInvalid, as do
// input rows that cannot be represented (a FileError or a jsonstat error);
// reading a file, fetching a URL or exporting from Current fail with their
// own errors.
func Assemble(ctx context.Context, in Inputs) (*store.Dataset, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	if in.Reference != "" {
		return Build(in.Reference)
	}
	ds, err := in.base(ctx)
	if err != nil {
		return nil, err
	}
	var read []sourceFile
	if in.EurostatTSV != "" {
		f, err := addEurostat(ds, in.EurostatTSV)
		if err != nil {
			return nil, err
		}
		read = append(read, f)
	}
	if in.Mapping != "" {
		f, err := in.addJSONStat(ctx, ds)
		if err != nil {
			return nil, err
		}
		read = append(read, f)
	}
	if len(read) == 0 {
		return ds, nil
	}
	files := append([]store.ReleaseFile(nil), ds.Release.Files...)
	names := make([]string, len(read))
	for i, f := range read {
		files = append(files, fileInfo(f.name, f.data))
		names[i] = f.name
	}
	if err := finish(ds, files, time.Now(), note(names...)); err != nil {
		return nil, err
	}
	return ds, nil
}

// check rejects inputs that contradict each other, rather than letting one
// of them silently win.
func (in Inputs) check() error {
	dataset := in.JSONStatFile != "" || in.JSONStatURL != ""
	if in.Reference != "" && (in.BaseFile != "" || in.EurostatTSV != "" || dataset || in.Mapping != "") {
		return fmt.Errorf("the reference data rebuild the bundled release on their own; give no other input: %w", store.ErrInvalid)
	}
	if dataset != (in.Mapping != "") || (in.JSONStatFile != "" && in.JSONStatURL != "") {
		return fmt.Errorf("a mapping goes with exactly one JSON-stat dataset, a file or a URL: %w", store.ErrInvalid)
	}
	return nil
}

// base is the release a new one starts from.
func (in Inputs) base(ctx context.Context) (*store.Dataset, error) {
	if in.BaseFile != "" {
		f, err := os.Open(in.BaseFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return store.DecodeDataset(f)
	}
	if in.Current != nil {
		rel, err := in.Current.CurrentRelease(ctx)
		if err == nil {
			return Export(ctx, in.Current, rel.ID)
		}
		// An empty store is no error: the release then starts from the
		// bundled one, as on a fresh database.
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if in.Bundled == nil {
		return nil, fmt.Errorf("no base release: give a release file, a store with a current release or the bundled release: %w", store.ErrInvalid)
	}
	return store.DecodeDataset(bytes.NewReader(in.Bundled))
}

// addEurostat replaces ds's Eurostat figures with those of the bulk TSV at
// path. The file is recorded by its base name, as Eurostat names its extracts.
func addEurostat(ds *store.Dataset, path string) (sourceFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sourceFile{}, err
	}
	name := filepath.Base(path)
	obs, src, err := eurostatObservations(b, name, ds)
	if err != nil {
		return sourceFile{}, err
	}
	replaceSource(ds, src, obs)
	return sourceFile{name: name, data: b}, nil
}

// addJSONStat replaces ds's figures from the mapping's source with those of
// the JSON-stat dataset, read from JSONStatFile or downloaded from
// JSONStatURL. A download is recorded by its URL and dated today, since the
// table behind a URL changes with every release of it.
func (in Inputs) addJSONStat(ctx context.Context, ds *store.Dataset) (sourceFile, error) {
	m, err := jsonstat.LoadMapping(in.Mapping)
	if err != nil {
		return sourceFile{}, err
	}
	f := sourceFile{name: in.JSONStatFile}
	if in.JSONStatURL != "" {
		if in.FetchTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, in.FetchTimeout)
			defer cancel()
		}
		if f.data, err = jsonstat.Fetch(ctx, &http.Client{}, in.JSONStatURL, maxFetchBytes); err != nil {
			return sourceFile{}, err
		}
		f.name = in.JSONStatURL
		m.Source.Retrieved = time.Now().UTC().Format("2006-01-02")
	} else if f.data, err = os.ReadFile(in.JSONStatFile); err != nil {
		return sourceFile{}, err
	}
	js, err := jsonstat.Decode(bytes.NewReader(f.data), f.name)
	if err != nil {
		return sourceFile{}, err
	}
	obs, err := jsonstat.Map(js, m)
	if err != nil {
		return sourceFile{}, err
	}
	replaceSource(ds, m.Source, obs)
	return f, nil
}

// eurostatObservations reads a crim_off_cat bulk TSV against the offences,
// regions and measures of ds, and returns its observations and its source
// (ds's Eurostat source). Every code must already be known to ds.
func eurostatObservations(data []byte, name string, ds *store.Dataset) ([]store.Observation, store.Source, error) {
	var src store.Source
	for _, s := range ds.Sources {
		if s.ID == eurostatSource {
			src = s
		}
	}
	if src.ID == "" {
		return nil, src, fmt.Errorf("%s: the base release has no source %q: %w", name, eurostatSource, store.ErrInvalid)
	}
	obs, err := readEurostat(data, name, knownIn(ds))
	return obs, src, err
}

// replaceSource puts src and its observations into ds, replacing whatever
// ds held from a source of the same id: a new vintage of a table supersedes
// the old one as a whole, so no stale figure survives beside a revised one.
func replaceSource(ds *store.Dataset, src store.Source, obs []store.Observation) {
	kept := ds.Observations[:0:0]
	for _, o := range ds.Observations {
		if o.Source != src.ID {
			kept = append(kept, o)
		}
	}
	ds.Observations = append(kept, obs...)
	for i, s := range ds.Sources {
		if s.ID == src.ID {
			ds.Sources[i] = src
			return
		}
	}
	ds.Sources = append(ds.Sources, src)
}

// note describes a release built from the given inputs.
func note(inputs ...string) string {
	return "Built by krimstat ingest from " + strings.Join(inputs, ", ") + "."
}
