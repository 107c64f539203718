package handlers

import (
	"context"
	"sync"

	"github.com/krimstat/krimstat/store"
)

// knownIDs checks that each id in ids is one of valid, so a misspelt filter
// value is an error instead of an empty result.
func knownIDs(param string, ids []string, valid map[string]bool, list string) error {
	for _, id := range ids {
		if !valid[id] {
			return store.InvalidParam(param, "unknown %s %q; see %s", param, id, list)
		}
	}
	return nil
}

// checkFilter reports the first value in f's offence, region, measure,
// source or citizenship filters that the release does not have: every
// value a request names must exist, so a request cannot make the store
// match against values that select nothing.
func (h *Handler) checkFilter(ctx context.Context, rel string, cat catalogue, f store.ObservationFilter) error {
	for _, chk := range []struct {
		param string
		ids   []string
		valid map[string]bool
	}{
		{"offence", f.Offences, cat.offences},
		{"region", f.Regions, cat.regions},
		{"measure", f.Measures, cat.measures},
		{"source", f.Sources, cat.sources},
	} {
		if err := knownIDs(chk.param, chk.ids, chk.valid, "/v1/"+chk.param+"s"); err != nil {
			return err
		}
	}
	if len(f.Citizenship) == 0 {
		return nil
	}
	valid, err := cat.citizenships.read(func() (map[string]bool, error) { return h.readCitizenships(ctx, rel) })
	if err != nil {
		return err
	}
	for _, v := range f.Citizenship {
		if !valid[v] {
			return store.InvalidParam("citizenship", "%q is not a citizenship in this release; use the breakdown.citizenship values of /v1/observations (total for no breakdown)", v)
		}
	}
	return nil
}

// readCitizenships reads the citizenship values the release's observations
// are broken down by, with total for those that are not.
func (h *Handler) readCitizenships(ctx context.Context, rel string) (map[string]bool, error) {
	page, err := h.store.Observations(ctx, rel, store.ObservationFilter{})
	if err != nil {
		return nil, err
	}
	set := map[string]bool{"total": true}
	for _, o := range page.Observations {
		if c := o.Breakdown.Citizenship; c != "" {
			set[c] = true
		}
	}
	return set, nil
}

// lazySet is a set read on first use and kept; a failed read is not kept,
// so a passing store outage is not remembered.
type lazySet struct {
	mu  sync.Mutex
	set map[string]bool
}

func (l *lazySet) read(fn func() (map[string]bool, error)) (map[string]bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.set != nil {
		return l.set, nil
	}
	set, err := fn()
	if err != nil {
		return nil, err
	}
	l.set = set
	return set, nil
}

// catalogue is the set of ids of one release, for validating filters.
type catalogue struct {
	offences, regions, measures, sources map[string]bool
	sourceList                           []store.Source
	// citizenships are read only when a request filters by citizenship:
	// it takes every observation of the release.
	citizenships *lazySet
	// labels holds the release's names by language.
	labels map[string]labels
}

// catalogue returns the ids of a release, read once per release; callers
// must not modify it.
func (h *Handler) catalogue(ctx context.Context, rel string) (catalogue, error) {
	if c, ok := h.catalogues.Load(rel); ok {
		return c.(catalogue), nil
	}
	cat, err := h.readCatalogue(ctx, rel)
	if err != nil {
		return cat, err
	}
	h.catalogues.Store(rel, cat)
	return cat, nil
}

func (h *Handler) readCatalogue(ctx context.Context, rel string) (catalogue, error) {
	cat := catalogue{offences: map[string]bool{}, regions: map[string]bool{}, measures: map[string]bool{}, sources: map[string]bool{},
		citizenships: &lazySet{}}
	offs, err := h.store.Offences(ctx, rel)
	if err != nil {
		return cat, err
	}
	for _, o := range offs {
		cat.offences[o.ID] = true
	}
	regs, err := h.store.Regions(ctx, rel, store.RegionFilter{})
	if err != nil {
		return cat, err
	}
	for _, r := range regs {
		cat.regions[r.ID] = true
	}
	ms, err := h.store.Measures(ctx, rel)
	if err != nil {
		return cat, err
	}
	for _, m := range ms {
		cat.measures[m.ID] = true
	}
	if cat.sourceList, err = h.store.Sources(ctx, rel); err != nil {
		return cat, err
	}
	for _, s := range cat.sourceList {
		cat.sources[s.ID] = true
	}
	cat.labels = map[string]labels{}
	for _, lang := range langs {
		cat.labels[lang] = newLabels(offs, regs, ms, cat.sourceList, lang)
	}
	return cat, nil
}
