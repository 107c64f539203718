package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/krimstat/krimstat/store"
)

// FileInfo describes an input file of a release: its name, checksum and lines.
func FileInfo(name string, data []byte) store.ReleaseFile {
	sum := sha256.Sum256(data)
	return store.ReleaseFile{Path: name, SHA256: hex.EncodeToString(sum[:]), Rows: bytes.Count(data, []byte("\n"))}
}

// Finish makes ds a complete release: canonical order, counts per source, and
// a release id made of the date and the content checksum, so the same data
// always get the same id. It validates the result.
func Finish(ds *store.Dataset, files []store.ReleaseFile, created time.Time, note string) error {
	ds.Format = store.DatasetFormat
	ds.Sort()
	counts := map[string]int{"observations": len(ds.Observations), "population": len(ds.Population)}
	for _, o := range ds.Observations {
		counts["observations:"+o.Source]++
	}
	sum, err := ds.Checksum()
	if err != nil {
		return err
	}
	created = created.UTC()
	ds.Release = store.Release{
		ID:      created.Format("20060102") + "-" + sum[:8],
		Created: created.Format(time.RFC3339),
		Note:    note,
		Files:   files,
		Counts:  counts,
	}
	if err := ds.Validate(); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// ReplaceSource puts src and its observations into ds, replacing whatever
// ds held from a source of the same id: a new vintage of a table supersedes
// the old one as a whole, so no stale figure survives beside a revised one.
func ReplaceSource(ds *store.Dataset, src store.Source, obs []store.Observation) {
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

// EurostatObservations reads a crim_off_cat bulk TSV against the offences,
// regions and measures of ds, and returns its observations and its source
// (ds's Eurostat source). Every code must already be known to ds.
func EurostatObservations(data []byte, name string, ds *store.Dataset) ([]store.Observation, store.Source, error) {
	k := known{
		offences: set(ds.Offences, func(o store.Offence) string { return o.ID }),
		regions:  set(ds.Regions, func(r store.Region) string { return r.ID }),
		measures: set(ds.Measures, func(m store.Measure) string { return m.ID }),
		sources:  set(ds.Sources, func(s store.Source) string { return s.ID }),
	}
	var src store.Source
	for _, s := range ds.Sources {
		if s.ID == eurostatSource {
			src = s
		}
	}
	if src.ID == "" {
		return nil, src, fmt.Errorf("%s: the base release has no source %q: %w", name, eurostatSource, store.ErrInvalid)
	}
	obs, err := readEurostat(data, name, k)
	return obs, src, err
}

// Export reads a whole release back from a store, so that a new release can
// be built on top of the current one whichever store holds it.
func Export(ctx context.Context, s store.Store, release string) (*store.Dataset, error) {
	rel, err := s.Release(ctx, release)
	if err != nil {
		return nil, err
	}
	ds := &store.Dataset{Format: store.DatasetFormat, Release: rel}
	ds.Release.Current = false
	if ds.Offences, err = s.Offences(ctx, release); err != nil {
		return nil, err
	}
	if ds.Regions, err = s.Regions(ctx, release, store.RegionFilter{}); err != nil {
		return nil, err
	}
	if ds.Measures, err = s.Measures(ctx, release); err != nil {
		return nil, err
	}
	if ds.Sources, err = s.Sources(ctx, release); err != nil {
		return nil, err
	}
	if ds.Population, err = s.Population(ctx, release, store.PopulationFilter{}); err != nil {
		return nil, err
	}
	f := store.ObservationFilter{Limit: 10000}
	for {
		page, err := s.Observations(ctx, release, f)
		if err != nil {
			return nil, err
		}
		ds.Observations = append(ds.Observations, page.Observations...)
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	return ds, nil
}

// Note describes a release built from the given inputs.
func Note(inputs ...string) string {
	return "Built by krimstat ingest from " + strings.Join(inputs, ", ") + "."
}
