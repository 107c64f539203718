// Package memory is a store.Store held entirely in process memory. It serves
// the bundled dataset with no configuration, and is the fake that handler
// tests use: it is a real implementation, not a mock.
//
// It keeps each release's observations column-wise, with every distinct
// string held once, and reads a release either from a store.Dataset (Load)
// or from a snapshot (LoadSnapshot): the same columns written out by
// EncodeSnapshot, which the server embeds so that it starts without
// decoding JSON.
package memory

import (
	"container/heap"
	"context"
	"fmt"
	"iter"
	"reflect"
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
	// meta is the release without its observations, every list in id order.
	meta *store.Dataset
	obs  *table // the observations, in Key order
	// Positions of observations by field value, ascending, so a filtered
	// query visits only the candidates of its most selective field.
	byOffence, byRegion, byMeasure, bySource map[string]posting
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
	// callers must never be able to change the store through them. The
	// table copies the observations.
	obs := newTable(ds.Observations)
	obs.sort()
	return s.add(copyMeta(ds), obs)
}

// copyMeta returns ds without its observations, its lists copied and sorted.
func copyMeta(ds *store.Dataset) *store.Dataset {
	d := *ds
	d.Offences = append([]store.Offence{}, ds.Offences...)
	d.Regions = append([]store.Region{}, ds.Regions...)
	d.Measures = append([]store.Measure{}, ds.Measures...)
	d.Sources = append([]store.Source{}, ds.Sources...)
	d.Population = append([]store.PopulationFigure{}, ds.Population...)
	d.Observations = nil
	d.Sort()
	return &d
}

// add indexes a release and makes it current.
func (s *Store) add(meta *store.Dataset, obs *table) error {
	r := &release{
		meta:     meta,
		obs:      obs,
		offences: make(map[string]int, len(meta.Offences)),
		regions:  make(map[string]int, len(meta.Regions)),
		sources:  make(map[string]int, len(meta.Sources)),
	}
	r.byOffence = obs.index(func(r *row) uint32 { return r.offence })
	r.byRegion = obs.index(func(r *row) uint32 { return r.region })
	r.byMeasure = obs.index(func(r *row) uint32 { return r.measure })
	r.bySource = obs.index(func(r *row) uint32 { return r.source })
	for i, o := range meta.Offences {
		r.offences[o.ID] = i
	}
	for i, g := range meta.Regions {
		r.regions[g.ID] = i
	}
	for i, src := range meta.Sources {
		r.sources[src.ID] = i
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.releases[meta.Release.ID]; dup {
		return fmt.Errorf("release %s is already loaded: %w", meta.Release.ID, store.ErrInvalid)
	}
	s.releases[meta.Release.ID] = r
	s.order = append(s.order, meta.Release.ID)
	s.current = meta.Release.ID
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
	rel := s.releases[id].meta.Release
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
	return slices.Clone(r.meta.Offences), nil
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
	return r.meta.Offences[i], nil
}

// Regions implements store.Store.
func (s *Store) Regions(ctx context.Context, rel string, f store.RegionFilter) ([]store.Region, error) {
	r, err := s.get(rel)
	if err != nil {
		return nil, err
	}
	out := []store.Region{}
	m := f.Matcher()
	for _, g := range r.meta.Regions {
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
	return r.meta.Regions[i], nil
}

// Measures implements store.Store.
func (s *Store) Measures(ctx context.Context, rel string) ([]store.Measure, error) {
	r, err := s.get(rel)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.meta.Measures), nil
}

// Sources implements store.Store.
func (s *Store) Sources(ctx context.Context, rel string) ([]store.Source, error) {
	r, err := s.get(rel)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.meta.Sources), nil
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
	return r.meta.Sources[i], nil
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
	if selectsAll(m) {
		// Every observation matches: the page is a slice of them, and
		// Total their number, without a walk through all of them.
		end := r.obs.len()
		if f.Limit > 0 && start+f.Limit < end {
			end = start + f.Limit
		}
		for i := start; i < end; i++ {
			page.Observations = append(page.Observations, r.obs.observation(i))
		}
		if end < r.obs.len() && len(page.Observations) > 0 {
			page.Next = page.Observations[len(page.Observations)-1].Key()
		}
		page.Total = r.obs.len()
		return page, nil
	}
	// The walk starts at the first candidate, not at start, since Total
	// counts every match.
	candidates, fields := r.candidates(f, 0)
	for i := range candidates {
		if !fields.match(&r.obs.rows[i]) {
			continue
		}
		o := r.obs.observation(i)
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
		if err := fn(r.obs.observation(i)); err != nil {
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
// key; 0 for the empty key, which stands for the start. The keys are
// computed as the search visits them (some sixteen for a large release)
// rather than kept, which would take more memory than the rows themselves.
func (r *release) after(key string) int {
	if key == "" {
		return 0
	}
	return sort.Search(r.obs.len(), func(i int) bool { return r.obs.observation(i).Key() > key })
}

// selection yields the positions of the observations that f selects, in
// key order: those matching f after f.After, at most f.Limit of them.
func (r *release) selection(f store.ObservationFilter) iter.Seq[int] {
	return func(yield func(int) bool) {
		m := f.Matcher()
		all := selectsAll(m)
		n := 0
		candidates, fields := r.candidates(f, r.after(f.After))
		for i := range candidates {
			if f.Limit > 0 && n == f.Limit {
				return
			}
			if !all && (!fields.match(&r.obs.rows[i]) || !m.Match(r.obs.observation(i))) {
				continue
			}
			n++
			if !yield(i) {
				return
			}
		}
	}
}

// selectsAll reports whether m matches every observation: whether it is
// the zero ObservationMatcher, as compiled from a filter that names nothing.
// Such a walk need not read the observations to test them, which for a
// whole release costs more than the rest of the query.
func selectsAll(m store.ObservationMatcher) bool {
	return reflect.ValueOf(m).IsZero()
}

// candidates yields, in ascending order and once each, the positions from
// start on of the observations that can match f: those the index lists
// under the values of the filter field that lists the fewest, or all. The
// lists of several values are merged as they are walked, so that nothing
// the size of the selection is built. A value named twice is looked up
// once, so that a repeated value can neither repeat an observation nor
// multiply the work; the lists of distinct values of one field never share
// a position, since an observation has one value of each.
//
// It also returns the string numbers of the values f names for each
// indexed field, which tell from a row alone, without reading its
// observation, that it cannot match f.
func (r *release) candidates(f store.ObservationFilter, start int) (iter.Seq[int], rowFilter) {
	var best [][]int32
	var fields rowFilter
	bestLen, found := 0, false
	for _, c := range []struct {
		values []string
		index  map[string]posting
		refs   *refSet
	}{
		{f.Offences, r.byOffence, &fields.offences}, {f.Regions, r.byRegion, &fields.regions},
		{f.Measures, r.byMeasure, &fields.measures}, {f.Sources, r.bySource, &fields.sources},
	} {
		if len(c.values) == 0 {
			continue
		}
		seen := make(map[string]struct{}, len(c.values))
		var lists [][]int32
		n := 0
		c.refs.named = true
		for _, v := range c.values {
			if _, dup := seen[v]; dup {
				continue
			}
			seen[v] = struct{}{}
			if p, ok := c.index[v]; ok {
				lists = append(lists, p.rows)
				n += len(p.rows)
				c.refs.add(p.ref)
			}
		}
		if !found || n < bestLen {
			best, bestLen, found = lists, n, true
		}
	}
	if !found {
		return func(yield func(int) bool) {
			for i := start; i < r.obs.len(); i++ {
				if !yield(i) {
					return
				}
			}
		}, fields
	}
	return merge(best, start), fields
}

// rowFilter holds, for each indexed field, the string numbers of the values
// a filter names.
type rowFilter struct {
	offences, regions, measures, sources refSet
}

// match reports whether r has, in every indexed field the filter names, one
// of the values it names. It is false for no row that the filter matches.
func (f *rowFilter) match(r *row) bool {
	return f.offences.has(r.offence) && f.regions.has(r.region) && f.measures.has(r.measure) && f.sources.has(r.source)
}

// refSet is the string numbers of the values a filter names for one field.
// Its zero value is a field the filter does not name, which every row
// passes; a named field whose values no observation has passes none.
type refSet struct {
	named bool
	few   []uint32            // up to eight: a loop beats a lookup
	many  map[uint32]struct{} // beyond
}

func (s *refSet) add(ref uint32) {
	if s.many == nil && len(s.few) < 8 {
		s.few = append(s.few, ref)
		return
	}
	if s.many == nil {
		s.many = make(map[uint32]struct{})
		for _, r := range s.few {
			s.many[r] = struct{}{}
		}
	}
	s.many[ref] = struct{}{}
}

func (s *refSet) has(ref uint32) bool {
	if !s.named {
		return true
	}
	if s.many != nil {
		_, ok := s.many[ref]
		return ok
	}
	for _, r := range s.few {
		if r == ref {
			return true
		}
	}
	return false
}

// merge yields the positions from start on of the ascending, disjoint lists
// in ascending order, keeping a heap of one cursor per list.
func merge(lists [][]int32, start int) iter.Seq[int] {
	return func(yield func(int) bool) {
		h := make(cursors, 0, len(lists))
		for _, l := range lists {
			at, _ := slices.BinarySearch(l, int32(start))
			if l = l[at:]; len(l) > 0 {
				h = append(h, l)
			}
		}
		if len(h) == 1 {
			// The common case of one value needs no heap.
			for _, i := range h[0] {
				if !yield(int(i)) {
					return
				}
			}
			return
		}
		heap.Init(&h)
		for len(h) > 0 {
			if !yield(int(h[0][0])) {
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
type cursors [][]int32

func (h cursors) Len() int           { return len(h) }
func (h cursors) Less(i, j int) bool { return h[i][0] < h[j][0] }
func (h cursors) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursors) Push(x any)        { *h = append(*h, x.([]int32)) }
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
	for _, p := range r.meta.Population {
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
