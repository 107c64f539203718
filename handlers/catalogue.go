package handlers

import (
	"context"

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

// checkFilter reports the first id in f's offence, region, measure or
// source filters that the release does not have.
func (cat catalogue) checkFilter(f store.ObservationFilter) error {
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
	return nil
}

// catalogue is the set of ids of one release, for validating filters.
type catalogue struct {
	offences, regions, measures, sources map[string]bool
	sourceList                           []store.Source
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
	cat := catalogue{offences: map[string]bool{}, regions: map[string]bool{}, measures: map[string]bool{}, sources: map[string]bool{}}
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
	return cat, nil
}
