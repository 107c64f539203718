// Package memory is a store.Store held entirely in process memory. It serves
// the bundled dataset with no configuration, and is the fake that handler
// tests use: it is a real implementation, not a mock.
package memory

import (
	"container/heap"
	"context"
	"fmt"
	"iter"
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
	start := r.after(f.After)
	page := store.ObservationPage{Observations: []store.Observation{}}
	m := f.Matcher()
	// The walk starts at the first candidate, not at start, since Total
	// counts every match.
	for i := range r.candidates(f, 0) {
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

// EachObservation implements store.Store. It walks the release's sorted
// observations through the index, holding no copy of the selection, and
// without the store's lock: a loaded release never changes, so a slow fn
// holds up no one.
func (s *Store) EachObservation(ctx context.Context, rel string, f store.ObservationFilter, fn func(store.Observation) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r, err := s.get(rel)
	if err != nil {
		return err
	}
	for i := range r.selection(f) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r.ds.Observations[i]); err != nil {
			return err
		}
	}
	return nil
}

// CountObservations implements store.Store. It walks the index as
// EachObservation does, reading no more than the filter needs.
func (s *Store) CountObservations(ctx context.Context, rel string, f store.ObservationFilter) (int, error) {
	r, err := s.get(rel)
	if err != nil {
		return 0, err
	}
	n := 0
	for range r.selection(f) {
		n++
	}
	return n, nil
}

// after returns the position of the first observation whose key is above
// key; 0 for the empty key, which stands for the start.
func (r *release) after(key string) int {
	if key == "" {
		return 0
	}
	i := sort.SearchStrings(r.keys, key)
	if i < len(r.keys) && r.keys[i] == key {
		i++
	}
	return i
}

// selection yields the positions of the observations that f selects, in
// key order: those matching f after f.After, at most f.Limit of them.
func (r *release) selection(f store.ObservationFilter) iter.Seq[int] {
	return func(yield func(int) bool) {
		m := f.Matcher()
		n := 0
		for i := range r.candidates(f, r.after(f.After)) {
			if f.Limit > 0 && n == f.Limit {
				return
			}
			if !m.Match(r.ds.Observations[i]) {
				continue
			}
			n++
			if !yield(i) {
				return
			}
		}
	}
}

// candidates yields, in ascending order and once each, the positions from
// start on of the observations that can match f: those the index lists
// under the values of the filter field that lists the fewest, or all. The
// lists of several values are merged as they are walked, so that nothing
// the size of the selection is built. A value named twice is looked up
// once, so that a repeated value can neither repeat an observation nor
// multiply the work; the lists of distinct values of one field never share
// a position, since an observation has one value of each.
func (r *release) candidates(f store.ObservationFilter, start int) iter.Seq[int] {
	var best [][]int
	bestLen, found := 0, false
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
		var lists [][]int
		n := 0
		for _, v := range c.values {
			if _, dup := seen[v]; dup {
				continue
			}
			seen[v] = struct{}{}
			if l := c.index[v]; len(l) > 0 {
				lists = append(lists, l)
				n += len(l)
			}
		}
		if !found || n < bestLen {
			best, bestLen, found = lists, n, true
		}
	}
	if !found {
		return func(yield func(int) bool) {
			for i := start; i < len(r.ds.Observations); i++ {
				if !yield(i) {
					return
				}
			}
		}
	}
	return merge(best, start)
}

// merge yields the positions from start on of the ascending, disjoint lists
// in ascending order, keeping a heap of one cursor per list.
func merge(lists [][]int, start int) iter.Seq[int] {
	return func(yield func(int) bool) {
		h := make(cursors, 0, len(lists))
		for _, l := range lists {
			if l = l[sort.SearchInts(l, start):]; len(l) > 0 {
				h = append(h, l)
			}
		}
		if len(h) == 1 {
			// The common case of one value needs no heap.
			for _, i := range h[0] {
				if !yield(i) {
					return
				}
			}
			return
		}
		heap.Init(&h)
		for len(h) > 0 {
			if !yield(h[0][0]) {
				return
			}
			if h[0] = h[0][1:]; len(h[0]) == 0 {
				heap.Pop(&h)
			} else {
				heap.Fix(&h, 0)
			}
		}
	}
}

// cursors is a heap of the unvisited rest of position lists, ordered by
// their first position. No list in it is empty.
type cursors [][]int

func (h cursors) Len() int           { return len(h) }
func (h cursors) Less(i, j int) bool { return h[i][0] < h[j][0] }
func (h cursors) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursors) Push(x any)        { *h = append(*h, x.([]int)) }
func (h *cursors) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
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
