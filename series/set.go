package series

import (
	"context"

	"github.com/krimstat/krimstat/store"
)

// MaxSeries bounds how many series one request may ask for (offences ×
// regions): each is built in full, and a chart of more lines than this
// cannot be read.
const MaxSeries = 12

// Requests expands base into one request per offence and region, each with
// base's measure and options: offence by offence and, within an offence,
// region by region, in the order given. Each series is then built on its
// own, under the same rules as a single one.
//
// It returns a *store.ParamError (an ErrInvalid) naming offence or region
// when either list is empty, and, when offences × regions is more than
// MaxSeries, naming the longer list (region when they are equal).
func Requests(base Request, offences, regions []string) ([]Request, error) {
	switch {
	case len(offences) == 0:
		return nil, store.InvalidParam("offence", "a series takes at least one offence")
	case len(regions) == 0:
		return nil, store.InvalidParam("region", "a series takes at least one region")
	}
	if n := len(offences) * len(regions); n > MaxSeries {
		param := "region"
		if len(offences) > len(regions) {
			param = "offence"
		}
		return nil, store.InvalidParam(param, "%d offences × %d regions is %d series; one request takes at most %d",
			len(offences), len(regions), n, MaxSeries)
	}
	out := make([]Request, 0, len(offences)*len(regions))
	for _, o := range offences {
		for _, r := range regions {
			req := base
			req.Offence, req.Region = o, r
			out = append(out, req)
		}
	}
	return out, nil
}

// Set is the series of one request: one or more, of one measure, each
// built by Build under the same rules (its own source, change, rates and
// harmonisation).
type Set struct {
	// Series are in the order of the requests.
	Series []Series
	// Periods is the union of the series' periods in period order (see
	// the function Periods): the
	// rows on which the series line up side by side. A series without a
	// point for one of them has a gap there, never a zero.
	Periods []string
	// Sources are the sources any series cites, in the release's order.
	Sources []store.Source
}

// BuildSet builds the series reqs ask for, in order, and lines them up.
//
// It returns the first error of Build (a *store.ParamError naming the
// parameter, such as harmonise for a region it does not apply to, or the
// store's errors), and a *store.ParamError naming region when reqs is empty.
func BuildSet(ctx context.Context, st store.Store, rel string, reqs []Request) (Set, error) {
	if len(reqs) == 0 {
		return Set{}, store.InvalidParam("region", "a series takes at least one region")
	}
	set := Set{Series: make([]Series, 0, len(reqs))}
	for _, req := range reqs {
		s, err := Build(ctx, st, rel, req)
		if err != nil {
			return Set{}, err
		}
		set.Series = append(set.Series, s)
	}
	set.Periods = Periods(set.Series)
	if len(set.Series) == 1 {
		set.Sources = set.Series[0].Sources
		return set, nil
	}
	ids := map[string]bool{}
	for _, s := range set.Series {
		for _, src := range s.Sources {
			ids[src.ID] = true
		}
	}
	set.Sources = []store.Source{}
	if len(ids) == 0 {
		return set, nil
	}
	all, err := st.Sources(ctx, rel)
	if err != nil {
		return Set{}, err
	}
	for _, src := range all {
		if ids[src.ID] {
			set.Sources = append(set.Sources, src)
		}
	}
	return set, nil
}

// Periods returns every period any of ss has a point for, once each, in
// period order (by year; a year before its parts, as store.Period.SortKey
// orders them).
func Periods(ss []Series) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range ss {
		for _, p := range s.Points {
			if !seen[p.Period] {
				seen[p.Period] = true
				out = append(out, p.Period)
			}
		}
	}
	sortPeriods(out)
	return out
}
