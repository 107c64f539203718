// Package changes says what changed between two releases: which
// observations were added, removed or revised, per source, which series
// vanished and which categories are new. It is a merge join of the two
// releases' observations in Key order, so it holds one observation of each
// side at a time (and the series of one offence, region and measure), and
// the same code compares two datasets in memory or two releases in a store.
//
// On top of the comparison sit the publish gate (Thresholds, Check), which
// refuses a release that changes more than an operator allows, and
// MarkRevisions, which flags the figures of a new release that an earlier
// one published with another value.
package changes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// The kinds of change of an observation.
const (
	// Added is an observation only the newer release has.
	Added = "added"
	// Removed is an observation only the older release has.
	Removed = "removed"
	// Value is a revision of the figure: its value, its value_text, or
	// one of them in place of the other.
	Value = "value"
	// Metadata is a revision of what is said about an unchanged figure:
	// its flags, confidence or locator only.
	Metadata = "metadata"
)

// Input is one side of a comparison: a release's id and its observations
// in ascending Key order, each key once. A walk that breaks the order is
// an error wrapping store.ErrInvalid, since a merge join would silently
// pair the wrong figures.
type Input struct {
	Release      string
	Observations iter.Seq2[store.Observation, error]
}

// DatasetInput returns the observations of d in Key order. d is not
// modified: when its observations are not sorted (Dataset.Sort), an index
// of them is.
func DatasetInput(d *store.Dataset) Input {
	return Input{Release: d.Release.ID, Observations: func(yield func(store.Observation, error) bool) {
		order, _ := keyOrder(d.Observations)
		for _, i := range order {
			if !yield(d.Observations[i], nil) {
				return
			}
		}
	}}
}

// keyOrder returns the positions of obs in ascending Key order, and the
// keys of obs by position.
func keyOrder(obs []store.Observation) (order []int, keys []string) {
	keys = make([]string, len(obs))
	order = make([]int, len(obs))
	sorted := true
	for i, o := range obs {
		keys[i], order[i] = o.Key(), i
		if i > 0 && keys[i] < keys[i-1] {
			sorted = false
		}
	}
	if !sorted {
		slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	}
	return order, keys
}

// errStop ends a store walk that the comparison no longer needs.
var errStop = errors.New("changes: walk stopped")

// StoreInput returns the observations of release in s, walked with
// EachObservation, which gives Key order and holds a bounded number of
// them in memory. ctx bounds the walk.
func StoreInput(ctx context.Context, s store.Store, release string) Input {
	return Input{Release: release, Observations: func(yield func(store.Observation, error) bool) {
		err := s.EachObservation(ctx, release, store.ObservationFilter{}, func(o store.Observation) error {
			if !yield(o, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(store.Observation{}, err)
		}
	}}
}

// Change is one observation that differs between two releases: Old is
// absent when Kind is Added, New when it is Removed. Key is the
// observation's Key.
type Change struct {
	Kind     string
	Key      string
	Old, New *store.Observation
}

// Revision is an observation present in both releases with a difference:
// Kind is Value or Metadata.
type Revision struct {
	Kind string            `json:"kind" enums:"value,metadata"`
	Old  store.Observation `json:"old"`
	New  store.Observation `json:"new"`
} // @name RevisedObservation

// SeriesKey names a series: the observations of one offence, region,
// measure, breakdown and source, over periods.
type SeriesKey struct {
	Offence   string          `json:"offence"`
	Region    string          `json:"region"`
	Measure   string          `json:"measure"`
	Breakdown store.Breakdown `json:"breakdown"`
	Source    string          `json:"source"`
} // @name SeriesKey

// String names the series in one line: offence/region/measure, the
// breakdown where it is not the total, and the source.
func (k SeriesKey) String() string {
	parts := []string{k.Offence, k.Region, k.Measure}
	for _, b := range []string{k.Breakdown.Sex, k.Breakdown.Age, k.Breakdown.Citizenship, k.Breakdown.RepatriationCountry} {
		if b != "" {
			parts = append(parts, b)
		}
	}
	return strings.Join(parts, "/") + " (" + k.Source + ")"
}

// Categories are ids that observations of the newer release use and those
// of the older one do not, each list sorted.
type Categories struct {
	Offences []string `json:"offences"`
	Regions  []string `json:"regions"`
	Measures []string `json:"measures"`
	Sources  []string `json:"sources"`
} // @name NewCategories

// Len is how many ids the categories hold.
func (c Categories) Len() int {
	return len(c.Offences) + len(c.Regions) + len(c.Measures) + len(c.Sources)
}

// Summary counts the changes from release From to release To: every
// observation of either once (store.ChangeCounts), the same per source in
// source id order, the series of From that To does not continue, and the
// categories To's observations use that From's do not.
type Summary struct {
	From string `json:"from" example:"2024-06-01"`
	To   string `json:"to" example:"2025-01-15"`
	store.ChangeCounts
	Sources        []store.SourceChanges `json:"sources"`
	VanishedSeries int                   `json:"vanished_series"`
	NewCategories  Categories            `json:"new_categories"`
} // @name ComparisonSummary

// Before is how many observations release From has.
func (s Summary) Before() int { return s.Removed + s.Revised + s.MetadataRevised + s.Unchanged }

// After is how many observations release To has.
func (s Summary) After() int { return s.Added + s.Revised + s.MetadataRevised + s.Unchanged }

// Release returns the summary as a release records it (Release.Changes of
// release To, since From).
func (s Summary) Release() *store.ChangeSummary {
	return &store.ChangeSummary{Since: s.From, ChangeCounts: s.ChangeCounts, Sources: slices.Clone(s.Sources)}
}

// Report is a Summary with the changes listed: the observations added and
// removed and the revisions, each list in Key order, and the vanished
// series. Lists may be cut (see Options); Next is then the key to pass as
// Options.After for the rest.
type Report struct {
	Summary        Summary             `json:"summary"`
	Added          []store.Observation `json:"added"`
	Removed        []store.Observation `json:"removed"`
	Revised        []Revision          `json:"revised"`
	VanishedSeries []SeriesKey         `json:"vanished_series"`
	Next           string              `json:"next,omitempty"`
}

// Options select the changes a Report lists. The summary always counts
// them all.
type Options struct {
	// After lists only the changes whose key is above it; empty starts
	// at the first.
	After string
	// Limit lists at most this many changes, of the three lists together,
	// and at most this many vanished series; 0 lists every one.
	Limit int
}

// Summarize counts the changes from old to new, holding no more than the
// observations of one offence, region and measure at a time. It returns
// the first error of either walk, and an error wrapping store.ErrInvalid
// when a walk is not in ascending Key order.
func Summarize(old, new Input) (Summary, error) {
	return Walk(old, new, nil)
}

// Walk calls fn, when not nil, with every change from old to new in Key
// order, and returns the summary of them all. It stops at fn's first error
// and returns it as is; other errors are Summarize's. The walk reuses the
// observations a Change points at: fn copies what it keeps.
func Walk(old, new Input, fn func(Change) error) (Summary, error) {
	w := newWalker(old, new)
	w.change = fn
	return w.run(old, new)
}

// Compare summarizes the changes from old to new and lists those opt
// selects. The vanished series are listed only when opt.After is empty:
// they belong to the first of a report's pages.
func Compare(old, new Input, opt Options) (Report, error) {
	r := Report{Added: []store.Observation{}, Removed: []store.Observation{}, Revised: []Revision{}, VanishedSeries: []SeriesKey{}}
	listed, last := 0, ""
	w := newWalker(old, new)
	w.change = func(c Change) error {
		if c.Key <= opt.After && opt.After != "" {
			return nil
		}
		if opt.Limit > 0 && listed == opt.Limit {
			r.Next = last
			return nil
		}
		listed, last = listed+1, c.Key
		switch c.Kind {
		case Added:
			r.Added = append(r.Added, *c.New)
		case Removed:
			r.Removed = append(r.Removed, *c.Old)
		default:
			r.Revised = append(r.Revised, Revision{Kind: c.Kind, Old: *c.Old, New: *c.New})
		}
		return nil
	}
	if opt.After == "" {
		w.vanished = func(k SeriesKey) {
			if opt.Limit == 0 || len(r.VanishedSeries) < opt.Limit {
				r.VanishedSeries = append(r.VanishedSeries, k)
			}
		}
	}
	s, err := w.run(old, new)
	if err != nil {
		return Report{}, err
	}
	r.Summary = s
	return r, nil
}

// walker holds the state of one comparison.
type walker struct {
	sum      Summary
	sources  map[string]*store.SourceChanges
	change   func(Change) error
	vanished func(SeriesKey)

	// Ids the observations of each side use, for NewCategories.
	oldIDs, newIDs [4]map[string]bool

	// The series of the current offence, region and measure (the key
	// prefix group), each with the sides it appears on: series ids of one
	// group are contiguous in Key order, so only one group is held.
	group  string
	series map[SeriesKey]uint8
}

// Sides a series appears on.
const (
	inOld uint8 = 1 << iota
	inNew
)

func newWalker(old, new Input) *walker {
	w := &walker{sources: map[string]*store.SourceChanges{}, series: map[SeriesKey]uint8{}}
	w.sum.From, w.sum.To = old.Release, new.Release
	for i := range w.oldIDs {
		w.oldIDs[i], w.newIDs[i] = map[string]bool{}, map[string]bool{}
	}
	return w
}

// side pulls one input's observations, checking their order.
type side struct {
	release string
	next    func() (store.Observation, error, bool)
	obs     store.Observation
	key     string
	ok      bool
}

// advance reads the side's next observation into obs and key, setting ok
// false at the end.
func (s *side) advance() error {
	o, err, ok := s.next()
	if !ok {
		s.ok = false
		return nil
	}
	if err != nil {
		return err
	}
	k := o.Key()
	if s.ok && k <= s.key {
		return fmt.Errorf("release %s: observation %q after %q: not in ascending key order: %w", s.release, k, s.key, store.ErrInvalid)
	}
	s.obs, s.key, s.ok = o, k, true
	return nil
}

func (w *walker) run(oldIn, newIn Input) (Summary, error) {
	nextOld, stopOld := iter.Pull2(oldIn.Observations)
	defer stopOld()
	nextNew, stopNew := iter.Pull2(newIn.Observations)
	defer stopNew()
	a := &side{release: oldIn.Release, next: nextOld}
	b := &side{release: newIn.Release, next: nextNew}
	if err := a.advance(); err != nil {
		return Summary{}, err
	}
	if err := b.advance(); err != nil {
		return Summary{}, err
	}
	for a.ok || b.ok {
		var err error
		switch {
		case !b.ok || (a.ok && a.key < b.key):
			err = w.visit(Change{Kind: Removed, Key: a.key, Old: &a.obs})
			if err == nil {
				err = a.advance()
			}
		case !a.ok || b.key < a.key:
			err = w.visit(Change{Kind: Added, Key: b.key, New: &b.obs})
			if err == nil {
				err = b.advance()
			}
		default:
			err = w.visit(Change{Kind: compare(a.obs, b.obs), Key: a.key, Old: &a.obs, New: &b.obs})
			if err == nil {
				err = a.advance()
			}
			if err == nil {
				err = b.advance()
			}
		}
		if err != nil {
			return Summary{}, err
		}
	}
	w.flushGroup()
	w.finish()
	return w.sum, nil
}

// visit counts one observation of either or both sides, and hands it to
// the change callback unless it is unchanged.
func (w *walker) visit(c Change) error {
	o := c.New
	if o == nil {
		o = c.Old
	}
	if g := groupOf(*o); g != w.group {
		w.flushGroup()
		w.group = g
	}
	sk := SeriesKey{Offence: o.Offence, Region: o.Region, Measure: o.Measure, Breakdown: o.Breakdown, Source: o.Source}
	if c.Old != nil {
		w.series[sk] |= inOld
		w.use(w.oldIDs, *c.Old)
	}
	if c.New != nil {
		w.series[sk] |= inNew
		w.use(w.newIDs, *c.New)
	}
	sc := w.sources[o.Source]
	if sc == nil {
		sc = &store.SourceChanges{Source: o.Source}
		w.sources[o.Source] = sc
	}
	for _, n := range []*store.ChangeCounts{&w.sum.ChangeCounts, &sc.ChangeCounts} {
		switch c.Kind {
		case Added:
			n.Added++
		case Removed:
			n.Removed++
		case Value:
			n.Revised++
		case Metadata:
			n.MetadataRevised++
		default:
			n.Unchanged++
		}
	}
	if c.Kind == "" || w.change == nil {
		return nil
	}
	return w.change(c)
}

// use records the ids o uses.
func (w *walker) use(ids [4]map[string]bool, o store.Observation) {
	ids[0][o.Offence], ids[1][o.Region], ids[2][o.Measure], ids[3][o.Source] = true, true, true, true
}

// groupOf is the Key prefix shared by the observations of o's offence,
// region and measure: every key with a prefix lies between two keys with
// it, so a group's observations are contiguous in Key order.
func groupOf(o store.Observation) string {
	return o.Offence + "\x1f" + o.Region + "\x1f" + o.Measure + "\x1f"
}

// flushGroup counts the series of the finished group that only the older
// release has, in a stable order.
func (w *walker) flushGroup() {
	var gone []SeriesKey
	for k, sides := range w.series {
		if sides == inOld {
			gone = append(gone, k)
		}
	}
	clear(w.series)
	w.sum.VanishedSeries += len(gone)
	if w.vanished == nil || len(gone) == 0 {
		return
	}
	slices.SortFunc(gone, func(a, b SeriesKey) int {
		return cmp.Or(
			strings.Compare(a.Breakdown.Sex, b.Breakdown.Sex),
			strings.Compare(a.Breakdown.Age, b.Breakdown.Age),
			strings.Compare(a.Breakdown.Citizenship, b.Breakdown.Citizenship),
			strings.Compare(a.Breakdown.RepatriationCountry, b.Breakdown.RepatriationCountry),
			strings.Compare(a.Source, b.Source),
		)
	})
	for _, k := range gone {
		w.vanished(k)
	}
}

// finish puts the per-source counts and the new categories into the summary.
func (w *walker) finish() {
	w.sum.Sources = make([]store.SourceChanges, 0, len(w.sources))
	for _, sc := range w.sources {
		w.sum.Sources = append(w.sum.Sources, *sc)
	}
	slices.SortFunc(w.sum.Sources, func(a, b store.SourceChanges) int { return strings.Compare(a.Source, b.Source) })
	lists := []*[]string{&w.sum.NewCategories.Offences, &w.sum.NewCategories.Regions, &w.sum.NewCategories.Measures, &w.sum.NewCategories.Sources}
	for i, l := range lists {
		*l = []string{}
		for id := range w.newIDs[i] {
			if !w.oldIDs[i][id] {
				*l = append(*l, id)
			}
		}
		slices.Sort(*l)
	}
}

// compare returns how b differs from a, two observations with one key:
// Value, Metadata, or "" when they are the same. The revision bookkeeping
// (an observation's Revision, and the revised flag it implies) is not
// compared: MarkRevisions derives it from this very comparison.
func compare(a, b store.Observation) string {
	switch {
	case (a.Value == nil) != (b.Value == nil),
		a.Value != nil && *a.Value != *b.Value,
		a.ValueText != b.ValueText:
		return Value
	case a.Confidence != b.Confidence, a.Locator != b.Locator, a.Period != b.Period,
		!sameFlags(a, b):
		return Metadata
	}
	return ""
}

// sameFlags reports whether a and b carry the same set of flags, the
// revised flag left out on a side whose Revision explains it.
func sameFlags(a, b store.Observation) bool {
	if a.Revision == nil && b.Revision == nil && slices.Equal(a.Flags, b.Flags) {
		return true // the common case, without building sets
	}
	return slices.Equal(flagSet(a), flagSet(b))
}

func flagSet(o store.Observation) []string {
	fs := slices.Clone(o.Flags)
	if o.Revision != nil {
		fs = slices.DeleteFunc(fs, func(f string) bool { return f == store.FlagRevised })
	}
	slices.Sort(fs)
	return slices.Compact(fs)
}
