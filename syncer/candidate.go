package syncer

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/krimstat/krimstat/ingest"
	"github.com/krimstat/krimstat/store"
)

// Candidate builds the release that the fetched sources make of base: a
// copy of base in which each fetched source, and its observations, replace
// whatever base held from a source of the same id. The release lists base's
// files and then every downloaded document (by URL, with its checksum), its
// note names the fetched sources, and its id, counts and order are computed
// as ingest computes them, from created and the content. The candidate is
// validated as every release is. base is not changed.
//
// Errors wrap store.ErrInvalid: no base, nothing fetched, a source fetched
// twice, or a candidate that does not validate (an observation naming an
// offence, region or measure the release does not have).
func Candidate(base *store.Dataset, fetched []Fetched, created time.Time) (*store.Dataset, error) {
	if base == nil {
		return nil, invalid("candidate: no base release")
	}
	if len(fetched) == 0 {
		return nil, invalid("candidate: nothing was fetched")
	}
	ds := clone(base)
	files := slices.Clone(base.Release.Files)
	seen := map[string]bool{}
	names := make([]string, 0, len(fetched))
	for _, f := range fetched {
		if seen[f.Source.ID] {
			return nil, invalid("candidate: source %q was fetched twice", f.Source.ID)
		}
		seen[f.Source.ID] = true
		ingest.ReplaceSource(ds, f.Source, slices.Clone(f.Observations))
		for _, d := range f.Documents {
			files = append(files, ingest.FileInfo(d.URL, d.Body))
		}
		names = append(names, f.Source.ID)
	}
	note := "Built by krimstat sync from " + strings.Join(names, ", ") + " on top of release " + base.Release.ID + "."
	if err := ingest.Finish(ds, files, created, note); err != nil {
		return nil, err
	}
	return ds, nil
}

// clone copies every list of d that building a release reorders or
// replaces, so that d is left as it was. The items themselves are shared:
// nothing here changes an item in place.
func clone(d *store.Dataset) *store.Dataset {
	c := *d
	c.Offences = slices.Clone(d.Offences)
	c.Regions = slices.Clone(d.Regions)
	c.Measures = slices.Clone(d.Measures)
	c.Sources = slices.Clone(d.Sources)
	c.Population = slices.Clone(d.Population)
	c.Observations = slices.Clone(d.Observations)
	c.Release.Files = slices.Clone(d.Release.Files)
	c.Release.Counts = maps.Clone(d.Release.Counts)
	return &c
}
