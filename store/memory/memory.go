// Package memory is a store.Store held entirely in process memory. It serves
// the bundled dataset with no configuration, and is the fake that handler
// tests use: it is a real implementation, not a mock.
package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/krimstat/krimstat/store"
)

var _ store.Store = (*Store)(nil)

// Store holds one or more releases. It is safe for concurrent use.
type Store struct {
	mu       sync.RWMutex
	releases map[string]*release
	order    []string // release ids, oldest first
	current  string
}

// release is one dataset with lookup indexes built once at load.
type release struct {
	ds   *store.Dataset
	keys []string // observation keys, parallel to ds.Observations
	// Positions of observations by field value, ascending, so a filtered
	// query visits only the candidates of its most selective field.
	byOffence, byRegion, byMeasure, bySource map[string][]int
	offences                                 map[string]int
	regions                                  map[string]int
	sources                                  map[string]int
}

// New returns an empty store. Load adds releases.
func New() *Store {
	return &Store{releases: map[string]*release{}}
}

// Load validates ds, adds it as a release and makes it current. Loading a
// release id that is already present is an error wrapping store.ErrInvalid.
func (s *Store) Load(ds *store.Dataset) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	// Copy every list: sorting must not reorder the caller's slices, and
	// callers must never be able to change the store through them.
	d := *ds
	d.Offences = append([]store.Offence{}, ds.Offences...)
	d.Regions = append([]store.Region{}, ds.Regions...)
	d.Measures = append([]store.Measure{}, ds.Measures...)
	d.Sources = append([]store.Source{}, ds.Sources...)
	d.Population = append([]store.PopulationFigure{}, ds.Population...)
	d.Observations = append([]store.Observation{}, ds.Observations...)
	d.Sort()
	r := &release{
		ds:       &d,
		keys:     make([]string, len(d.Observations)),
		offences: map[string]int{},
		regions:  map[string]int{},
		sources:  map[string]int{},
	}
	r.byOffence, r.byRegion, r.byMeasure, r.bySource = map[string][]int{}, map[string][]int{}, map[string][]int{}, map[string][]int{}
	for i, o := range d.Observations {
		r.keys[i] = o.Key()
		r.byOffence[o.Offence] = append(r.byOffence[o.Offence], i)
		r.byRegion[o.Region] = append(r.byRegion[o.Region], i)
		r.byMeasure[o.Measure] = append(r.byMeasure[o.Measure], i)
		r.bySource[o.Source] = append(r.bySource[o.Source], i)
	}
	for i, o := range d.Offences {
		r.offences[o.ID] = i
	}
	for i, g := range d.Regions {
		r.regions[g.ID] = i
	}
	for i, src := range d.Sources {
		r.sources[src.ID] = i
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.releases[d.Release.ID]; dup {
		return fmt.Errorf("release %s is already loaded: %w", d.Release.ID, store.ErrInvalid)
	}
	s.releases[d.Release.ID] = r
	s.order = append(s.order, d.Release.ID)
	s.current = d.Release.ID
	return nil
}

func (s *Store) get(id string) (*release, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.releases[id]
	if !ok {
		return nil, fmt.Errorf("release %q: %w", id, store.ErrNotFound)
	}
	return r, nil
}

func (s *Store) describe(id string) store.Release {
	rel := s.releases[id].ds.Release
	rel.Current = id == s.current
	return rel
}

// CurrentRelease implements store.Store.
func (s *Store) CurrentRelease(ctx context.Context) (store.Release, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.current == "" {
		return store.Release{}, fmt.Errorf("current release: %w", store.ErrNotFound)
	}
	return s.describe(s.current), nil
}

// Releases implements store.Store.
func (s *Store) Releases(ctx context.Context) ([]store.Release, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]store.Release, 0, len(s.order))
	for i := len(s.order) - 1; i >= 0; i-- {
		out = append(out, s.describe(s.order[i]))
	}
	return out, nil
}

// Release implements store.Store.
func (s *Store) Release(ctx context.Context, id string) (store.Release, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.releases[id]; !ok {
		return store.Release{}, fmt.Errorf("release %q: %w", id, store.ErrNotFound)
	}
	return s.describe(id), nil
}

// Offences implements store.Store.
func (s *Store) Offences(ctx context.Context, rel string) ([]store.Offence, error) {
	r, err := s.get(rel)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.ds.Offences), nil
}

// Offence implements store.Store.
func (s *Store) Offence(ctx context.Context, rel, id string) (store.Offence, error) {
	r, err := s.get(rel)
	if err != nil {
		return store.Offence{}, err
	}
	i, ok := r.offences[id]
	if !ok {
		return store.Offence{}, fmt.Errorf("offence %q: %w", id, store.ErrNotFound)
	}
	return r.ds.Offences[i], nil
}

// Regions implements store.Store.
func (s *Store) Regions(ctx context.Context, rel string, f store.RegionFilter) ([]store.Region, error) {
	r, err := s.get(rel)
	if err != nil {
		return nil, err
	}
	out := []store.Region{}
	m := f.Matcher()
	for _, g := range r.ds.Regions {
		if m.Match(g) {
			out = append(out, g)
		}
	}
	return out, nil
}

// Region implements store.Store.
func (s *Store) Region(ctx context.Context, rel, id string) (store.Region, error) {
	r, err := s.get(rel)
	if err != nil {
		return store.Region{}, err
	}
	i, ok := r.regions[id]
	if !ok {
		return store.Region{}, fmt.Errorf("region %q: %w", id, store.ErrNotFound)
	}
	return r.ds.Regions[i], nil
}

// Measures implements store.Store.
func (s *Store) Measures(ctx context.Context, rel string) ([]store.Measure, error) {
	r, err := s.get(rel)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.ds.Measures), nil
}

// Sources implements store.Store.
func (s *Store) Sources(ctx context.Context, rel string) ([]store.Source, error) {
	r, err := s.get(rel)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.ds.Sources), nil
}

// Source implements store.Store.
func (s *Store) Source(ctx context.Context, rel, id string) (store.Source, error) {
	r, err := s.get(rel)
	if err != nil {
		return store.Source{}, err
	}
	i, ok := r.sources[id]
	if !ok {
		return store.Source{}, fmt.Errorf("source %q: %w", id, store.ErrNotFound)
	}
	return r.ds.Sources[i], nil
}

// Observations implements store.Store. Observations are kept sorted by key,
// so a page starts with a binary search for f.After.
func (s *Store) Observations(ctx context.Context, rel string, f store.ObservationFilter) (store.ObservationPage, error) {
	r, err := s.get(rel)
	if err != nil {
		return store.ObservationPage{}, err
	}
	start := 0
	if f.After != "" {
		start = sort.SearchStrings(r.keys, f.After)
		if start < len(r.keys) && r.keys[start] == f.After {
			start++
		}
	}
	page := store.ObservationPage{Observations: []store.Observation{}}
	m := f.Matcher()
	for _, i := range r.candidates(f) {
		o := r.ds.Observations[i]
		if !m.Match(o) {
			continue
		}
		page.Total++
		if i < start {
			continue
		}
		if f.Limit > 0 && len(page.Observations) == f.Limit {
			if page.Next == "" {
				page.Next = page.Observations[len(page.Observations)-1].Key()
			}
			continue
		}
		page.Observations = append(page.Observations, o)
	}
	return page, nil
}

// candidates returns, in ascending order and once each, the positions of
// the observations that can match f: those of the filter field with the
// fewest, or all. A value named twice is looked up once, so that a repeated
// value can neither repeat an observation nor multiply the work.
func (r *release) candidates(f store.ObservationFilter) []int {
	var best []int
	found := false
	for _, c := range []struct {
		values []string
		index  map[string][]int
	}{
		{f.Offences, r.byOffence}, {f.Regions, r.byRegion}, {f.Measures, r.byMeasure}, {f.Sources, r.bySource},
	} {
		if len(c.values) == 0 {
			continue
		}
		seen := make(map[string]struct{}, len(c.values))
		var list []int
		for _, v := range c.values {
			if _, dup := seen[v]; dup {
				continue
			}
			seen[v] = struct{}{}
			list = append(list, c.index[v]...)
		}
		if len(seen) > 1 {
			slices.Sort(list)
		}
		if !found || len(list) < len(best) {
			best, found = list, true
		}
	}
	if found {
		return best
	}
	all := make([]int, len(r.ds.Observations))
	for i := range all {
		all[i] = i
	}
	return all
}

// Population implements store.Store.
func (s *Store) Population(ctx context.Context, rel string, f store.PopulationFilter) ([]store.PopulationFigure, error) {
	r, err := s.get(rel)
	if err != nil {
		return nil, err
	}
	out := []store.PopulationFigure{}
	regions := make(map[string]bool, len(f.Regions))
	for _, g := range f.Regions {
		regions[g] = true
	}
	for _, p := range r.ds.Population {
		if len(regions) > 0 && !regions[p.Region] {
			continue
		}
		if f.From != "" && p.Date < f.From {
			continue
		}
		if f.To != "" && p.Date > f.To {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}
