package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/krimstat/krimstat/store"
)

// fileInfo describes an input file of a release: its name, checksum and lines.
func fileInfo(name string, data []byte) store.ReleaseFile {
	sum := sha256.Sum256(data)
	return store.ReleaseFile{Path: name, SHA256: hex.EncodeToString(sum[:]), Rows: bytes.Count(data, []byte("\n"))}
}

// finish makes ds a complete release: canonical order, counts per source, and
// a release id made of the date and the content checksum, so the same data
// always get the same id. It validates the result.
func finish(ds *store.Dataset, files []store.ReleaseFile, created time.Time, note string) error {
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
