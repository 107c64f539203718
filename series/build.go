package series

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// Build builds the series req asks for from release rel of st, in named
// steps: resolve the subject, collect each source's figures, harmonise,
// rank the candidates and choose one, compute changes and alternatives on
// the whole series, cut it to from/to, add rates, and list the sources
// cited.
//
// It returns a *store.ParamError (an ErrInvalid) naming the parameter when
// an offence, region, measure or source is unknown to the release or a
// parameter does not apply to the series, and the store's errors
// (ErrNotFound for an unknown release, ErrUnavailable) otherwise.
func Build(ctx context.Context, st store.Store, rel string, req Request) (Series, error) {
	subj, err := resolve(ctx, st, rel, req)
	if err != nil {
		return Series{}, err
	}
	own, district, err := collect(ctx, st, rel, req, subj.region)
	if err != nil {
		return Series{}, err
	}
	s := Series{
		Offence: req.Offence, Region: req.Region, Measure: req.Measure, Unit: subj.measure.Unit,
		Precedence: PrecedenceRule, SmallCount: req.Small, Per: req.Per, Harmonise: req.Harmonise,
		Points: []Point{}, Candidates: []Candidate{}, Notes: []string{},
	}
	omitted := map[string][]Omitted{}
	if req.Harmonise != "" {
		s.Mapping = subj.region.Predecessors
		omitted = harmonise(subj.region, district, own)
		s.Notes = append(s.Notes, "Points before 2016 without a figure of their own are sums of the predecessor districts' figures from one source (flag "+
			FlagHarmonised+"); a sum is flagged approximate where municipalities moved across the new lines or the succession is inferred.")
	}
	s.Candidates = rank(own)
	choose(&s, req.Source)
	s.Omitted = omitted[s.Source]
	s.Points = sortedPoints(own[s.Source])
	// Change, small counts and alternatives are computed on the whole
	// series before from/to cut it, so the first point shown keeps its change.
	changes(s.Points, own[s.Source], req.Small, !subj.measure.IsRate())
	alternatives(s.Points, own, s.Candidates, s.Source)
	s.Points = cut(s.Points, req.From, req.To)
	if req.Per != 0 {
		s.RateBasis = RateBasis
		if err := addRates(ctx, st, rel, &s); err != nil {
			return Series{}, err
		}
	}
	if s.Sources, err = cited(ctx, st, rel, s); err != nil {
		return Series{}, err
	}
	return s, nil
}

// subject is what a series is about, as the release describes it.
type subject struct {
	measure store.Measure
	region  store.Region
}

// resolve checks req's ids against the release, in the order offence,
// region, measure, source, and that per and harmonise apply.
func resolve(ctx context.Context, st store.Store, rel string, req Request) (subject, error) {
	var subj subject
	// The measures first: their list fails only for an unknown release,
	// which must not read as an unknown offence.
	measures, err := st.Measures(ctx, rel)
	if err != nil {
		return subj, err
	}
	if _, err := st.Offence(ctx, rel, req.Offence); err != nil {
		return subj, unknown("offence", req.Offence, err)
	}
	region, err := st.Region(ctx, rel, req.Region)
	if err != nil {
		return subj, unknown("region", req.Region, err)
	}
	measure, err := store.FindMeasure(measures, req.Measure)
	if err != nil {
		return subj, unknown("measure", req.Measure, err)
	}
	if req.Source != "" {
		if _, err := st.Source(ctx, rel, req.Source); err != nil {
			return subj, unknown("source", req.Source, err)
		}
	}
	subj = subject{measure: measure, region: region}
	if req.Per != 0 && subj.measure.IsRate() {
		return subj, store.InvalidParam("per", "measure %s is already a rate (%s)", subj.measure.ID, subj.measure.Unit)
	}
	if req.Harmonise != "" && (!region.IsDistrict2016() || len(region.Predecessors) == 0) {
		return subj, store.InvalidParam("harmonise", "harmonise=2016 applies to the police districts of 2016 (%s*), not %s", store.District2016Prefix, region.ID)
	}
	return subj, nil
}

// unknown turns a lookup's ErrNotFound into an error naming the parameter
// and the list of valid ids; other errors pass through.
func unknown(param, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return store.InvalidParam(param, "unknown %s %q; see /v1/%ss", param, id, param)
	}
	return err
}

// figures holds one region's points by source, then by period.
type figures map[string]map[string]Point

// districts holds predecessor districts' observations by source, region
// and period.
type districts map[string]map[string]map[string]store.Observation

// collect reads every total for the region (and, to harmonise, for its
// predecessors) and sorts them by source.
func collect(ctx context.Context, st store.Store, rel string, req Request, region store.Region) (figures, districts, error) {
	regions := []string{region.ID}
	if req.Harmonise != "" {
		for _, p := range region.Predecessors {
			regions = append(regions, p.Region)
		}
	}
	page, err := st.Observations(ctx, rel, store.ObservationFilter{
		Offences: []string{req.Offence}, Regions: regions, Measures: []string{req.Measure},
		Sex: []string{"total"}, Age: []string{"total"}, Citizenship: []string{"total"},
	})
	if err != nil {
		return nil, nil, err
	}
	own, district := figures{}, districts{}
	for _, o := range page.Observations {
		if !o.Breakdown.IsTotal() {
			continue
		}
		if o.Region != region.ID {
			if district[o.Source] == nil {
				district[o.Source] = map[string]map[string]store.Observation{}
			}
			if district[o.Source][o.Region] == nil {
				district[o.Source][o.Region] = map[string]store.Observation{}
			}
			district[o.Source][o.Region][o.Period] = o
			continue
		}
		if own[o.Source] == nil {
			own[o.Source] = map[string]Point{}
		}
		own[o.Source][o.Period] = pointOf(o)
	}
	return own, district, nil
}

// pointOf is the series point of an observation.
func pointOf(o store.Observation) Point {
	flags := append([]string{}, o.Flags...)
	return Point{Period: o.Period, Value: o.Value, ValueText: o.ValueText, Flags: flags, Source: o.Source,
		Confidence: o.Confidence, Locator: o.Locator, Alternatives: []Alternative{}}
}

// harmonise adds to own, for each source and each period before 2016 that
// the 2016 district has no figure of its own for, the sum of its
// predecessors' figures when every predecessor has a value from that
// source. It returns, by source, the periods it could not sum and why.
func harmonise(region store.Region, district districts, own figures) map[string][]Omitted {
	omitted := map[string][]Omitted{}
	approx := false
	for _, p := range region.Predecessors {
		approx = approx || p.Approximate || p.Inferred
	}
	for src, regs := range district {
		for _, period := range periodsOf(regs) {
			per, _ := store.ParsePeriod(period)
			if per.Start() >= store.ReformDate {
				continue
			}
			if _, ok := own[src][period]; ok {
				// A figure published on 2016 boundaries is used as published.
				continue
			}
			p, missing := sum(region.Predecessors, regs, src, period, approx)
			if len(missing) > 0 {
				omitted[src] = append(omitted[src], Omitted{Period: period, Source: src,
					Reason: fmt.Sprintf("no value from %s for %s in %s: a partial sum would understate the district", src, period, strings.Join(missing, ", "))})
				continue
			}
			if own[src] == nil {
				own[src] = map[string]Point{}
			}
			own[src][period] = p
		}
	}
	return omitted
}

// periodsOf lists, in period order, every period any district has.
func periodsOf(regs map[string]map[string]store.Observation) []string {
	set := map[string]bool{}
	for _, byPeriod := range regs {
		for period := range byPeriod {
			set[period] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sortPeriods(out)
	return out
}

// sum adds up the predecessors' values for one source and period. It
// returns the predecessors without a value; the point is only meaningful
// when there are none.
func sum(preds []store.Succession, regs map[string]map[string]store.Observation, src, period string, approx bool) (Point, []string) {
	var total float64
	var missing, locs []string
	var comps []Component
	conf := "A"
	flags := []string{FlagHarmonised}
	for _, pre := range preds {
		o, ok := regs[pre.Region][period]
		if !ok || o.Value == nil {
			missing = append(missing, pre.Region)
			continue
		}
		total += *o.Value
		comps = append(comps, Component{Region: pre.Region, Value: *o.Value, Locator: o.Locator, Approximate: pre.Approximate, Inferred: pre.Inferred})
		locs = append(locs, pre.Region+": "+o.Locator)
		// The sum is only as good as its weakest part.
		if o.Confidence > conf {
			conf = o.Confidence
		}
		for _, f := range o.Flags {
			if !slices.Contains(flags, f) {
				flags = append(flags, f)
			}
		}
	}
	if approx && !slices.Contains(flags, store.FlagApproximate) {
		flags = append(flags, store.FlagApproximate)
	}
	return Point{Period: period, Value: &total, Flags: flags, Source: src, Confidence: conf,
		Locator: "sum of predecessor districts (" + strings.Join(locs, "; ") + ")", Components: comps, Alternatives: []Alternative{}}, missing
}

// rank lists every source with points in precedence order: confidence,
// then number of points, then id.
func rank(own figures) []Candidate {
	out := []Candidate{}
	for src, pts := range own {
		cand := Candidate{Source: src, Points: len(pts), Confidence: "Z"}
		for _, p := range pts {
			cand.Periods = append(cand.Periods, p.Period)
			if p.Confidence < cand.Confidence {
				cand.Confidence = p.Confidence
			}
		}
		sortPeriods(cand.Periods)
		out = append(out, cand)
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if a.Confidence != b.Confidence {
			return strings.Compare(a.Confidence, b.Confidence)
		}
		if a.Points != b.Points {
			return b.Points - a.Points
		}
		return strings.Compare(a.Source, b.Source)
	})
	return out
}

// choose sets the series' source: the requested one, else the first
// candidate; and marks the chosen candidate.
func choose(s *Series, requested string) {
	switch {
	case requested != "":
		s.Source, s.SourceChoice = requested, ChoiceRequested
	case len(s.Candidates) > 0:
		s.Source, s.SourceChoice = s.Candidates[0].Source, ChoicePrecedence
	default:
		s.SourceChoice = ChoicePrecedence
		s.Notes = append(s.Notes, "No source has a figure for this offence, region and measure: the series is empty. A gap is never a zero.")
	}
	for i := range s.Candidates {
		s.Candidates[i].Chosen = s.Candidates[i].Source == s.Source
	}
}

// sortedPoints lists a source's points in period order.
func sortedPoints(byPeriod map[string]Point) []Point {
	out := make([]Point, 0, len(byPeriod))
	for _, p := range byPeriod {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Point) int { return strings.Compare(periodKey(a.Period), periodKey(b.Period)) })
	return out
}

// changes flags small counts and sets each point's change from the
// previous period of the same kind in chosen, when that period has a
// value. Counts are small below small; a measure that is a rate has no
// small counts.
func changes(points []Point, chosen map[string]Point, small int, counts bool) {
	isSmall := func(v *float64) bool { return counts && v != nil && *v < float64(small) }
	for i := range points {
		p := &points[i]
		if isSmall(p.Value) {
			p.Flags = append(p.Flags, FlagSmallCount)
		}
		per, _ := store.ParsePeriod(p.Period)
		prev, ok := chosen[per.Previous().String()]
		if !ok || prev.Value == nil || p.Value == nil {
			continue
		}
		ch := &Change{From: prev.Period, Absolute: round(*p.Value-*prev.Value, 6), Unreliable: isSmall(p.Value) || isSmall(prev.Value)}
		if *prev.Value != 0 {
			r := round((*p.Value-*prev.Value) / *prev.Value, 6)
			ch.Relative = &r
		}
		p.Change, p.Unreliable = ch, ch.Unreliable
	}
}

// alternatives lists beside each point the other candidates' values for
// the same period, in precedence order, so a disagreement is shown rather
// than resolved silently.
func alternatives(points []Point, own figures, candidates []Candidate, chosen string) {
	for i := range points {
		p := &points[i]
		for _, cand := range candidates {
			if cand.Source == chosen {
				continue
			}
			if alt, ok := own[cand.Source][p.Period]; ok {
				p.Alternatives = append(p.Alternatives, Alternative{Source: alt.Source, Value: alt.Value, ValueText: alt.ValueText,
					Flags: alt.Flags, Confidence: alt.Confidence, Locator: alt.Locator})
			}
		}
	}
}

// cut keeps the points that start on or after from and end on or before to.
func cut(points []Point, from, to *store.Period) []Point {
	return slices.DeleteFunc(points, func(p Point) bool {
		per, _ := store.ParsePeriod(p.Period)
		return from != nil && per.Start() < from.Start() || to != nil && per.End() > to.End()
	})
}

// addRates sets the rate of every point from the population on 1 January
// of the point's year, or says why there is none.
func addRates(ctx context.Context, st store.Store, rel string, s *Series) error {
	pop, err := st.Population(ctx, rel, store.PopulationFilter{Regions: []string{s.Region}})
	if err != nil {
		return err
	}
	byDate := map[string]store.PopulationFigure{}
	for _, f := range pop {
		byDate[f.Date] = f
	}
	for i := range s.Points {
		p := &s.Points[i]
		p.rated = true
		per, _ := store.ParsePeriod(p.Period)
		date := fmt.Sprintf("%04d-01-01", per.Year)
		f, ok := byDate[date]
		switch {
		case per.Kind != store.PeriodYear:
			p.RateReason = "the period is part of a year; Krimstat gives rates for calendar years only"
		case p.Value == nil:
			p.RateReason = "the source published no number (" + p.ValueText + ")"
		case len(pop) == 0:
			p.RateReason = "Krimstat has no population figures for region " + s.Region
		case !ok || f.Value <= 0:
			p.RateReason = "no population figure for " + s.Region + " on " + date
		default:
			r := round(*p.Value/f.Value*float64(s.Per), 4)
			p.Rate = &r
			p.Denominator = &Denominator{Population: f.Value, Date: f.Date, Source: f.Source, Locator: f.Locator}
		}
	}
	return nil
}

// cited returns the sources of the points shown, their alternatives and
// their denominators, in the release's order.
func cited(ctx context.Context, st store.Store, rel string, s Series) ([]store.Source, error) {
	ids := map[string]bool{}
	for _, p := range s.Points {
		ids[p.Source] = true
		for _, a := range p.Alternatives {
			ids[a.Source] = true
		}
		if p.Denominator != nil {
			ids[p.Denominator.Source] = true
		}
	}
	out := []store.Source{}
	if len(ids) == 0 {
		return out, nil
	}
	all, err := st.Sources(ctx, rel)
	if err != nil {
		return nil, err
	}
	for _, src := range all {
		if ids[src.ID] {
			out = append(out, src)
		}
	}
	return out, nil
}

// periodKey is a period's sort key; an unparsable period sorts last.
func periodKey(s string) string {
	p, err := store.ParsePeriod(s)
	if err != nil {
		return "~" + s
	}
	return p.SortKey()
}

func sortPeriods(ps []string) {
	slices.SortFunc(ps, func(a, b string) int { return strings.Compare(periodKey(a), periodKey(b)) })
}

// round rounds v to n decimals, so that 0.1+0.2 reads 0.3 in the output.
func round(v float64, n int) float64 {
	f := math.Pow(10, float64(n))
	return math.Round(v*f) / f
}
