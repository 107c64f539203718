package changes

import (
	"slices"

	"github.com/krimstat/krimstat/store"
)

// MarkRevisions flags the figures of cand that prev published with another
// value: every observation of cand whose key prev has, with a different
// value or value_text, gets the revised flag and a Revision holding prev's
// value, value_text and release id. An observation prev had marked revised
// that cand has unchanged keeps that earlier Revision (and the flag), so a
// revision stays visible until the figure changes again. It returns how
// many observations of cand it marked, carried-over revisions included.
//
// prev is not modified; cand's observations are changed in place, in the
// order they are in. Run it before the release's id or checksum is taken
// from cand's content, since it changes that content.
func MarkRevisions(prev, cand *store.Dataset) int {
	po, pkeys := keyOrder(prev.Observations)
	co, ckeys := keyOrder(cand.Observations)
	marked := 0
	for i, j := 0, 0; i < len(po) && j < len(co); {
		p, c := &prev.Observations[po[i]], &cand.Observations[co[j]]
		pk, ck := pkeys[po[i]], ckeys[co[j]]
		switch {
		case pk < ck:
			i++
			continue
		case ck < pk:
			j++
			continue
		}
		i, j = i+1, j+1
		switch {
		case compare(*p, *c) == Value:
			c.Revision = &store.Revision{Release: prev.Release.ID, Value: clonePtr(p.Value), ValueText: p.ValueText}
		case p.Revision != nil && c.Revision == nil:
			r := *p.Revision
			r.Value = clonePtr(r.Value)
			c.Revision = &r
		default:
			continue
		}
		if !slices.Contains(c.Flags, store.FlagRevised) {
			// A new slice: cand's flags may share an array with another
			// observation or with prev.
			c.Flags = append(slices.Clip(c.Flags), store.FlagRevised)
		}
		marked++
	}
	return marked
}

func clonePtr(v *float64) *float64 {
	if v == nil {
		return nil
	}
	x := *v
	return &x
}
