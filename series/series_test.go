package series_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// The fixture: one offence, Norway with population figures, two 2002
// districts that became one 2016 district, a count and a rate measure,
// and three sources of different grades.
const (
	rel      = "test-1"
	offence  = "sex-purchase"
	count    = "reported-persons"
	rateOnly = "reported-offences-per-100k"
)

func v(f float64) *float64 { return &f }

// ob is a total observation.
func ob(region, period, measure, source string, value *float64, conf string) store.Observation {
	return store.Observation{Offence: offence, Region: region, Period: period, Measure: measure, Value: value,
		Flags: []string{}, Source: source, Confidence: conf, Locator: source + " " + region + " " + period}
}

// suppressed is a total published as "<5".
func suppressed(region, period, source string) store.Observation {
	o := ob(region, period, count, source, nil, "A")
	o.ValueText = "<5"
	return o
}

// newStore loads the fixture with the given observations.
func newStore(t *testing.T, obs ...store.Observation) store.Store {
	t.Helper()
	ds := &store.Dataset{
		Format:   store.DatasetFormat,
		Release:  store.Release{ID: rel, Created: "2025-01-01T00:00:00Z"},
		Offences: []store.Offence{{ID: offence, Classification: "krimstat"}},
		Regions: []store.Region{
			{ID: "NO", Type: store.RegionCountry},
			{ID: "pd2002-a", Type: store.RegionPoliceDistrict, ValidTo: "2015-12-31", Successors: []store.Succession{{Region: "pd2016-x", From: store.ReformDate}}},
			{ID: "pd2002-b", Type: store.RegionPoliceDistrict, ValidTo: "2015-12-31", Successors: []store.Succession{{Region: "pd2016-x", From: store.ReformDate}}},
			{ID: "pd2016-x", Type: store.RegionPoliceDistrict, ValidFrom: store.ReformDate, Predecessors: []store.Succession{
				{Region: "pd2002-a", From: store.ReformDate}, {Region: "pd2002-b", From: store.ReformDate}}},
			{ID: "pd2016-y", Type: store.RegionPoliceDistrict, ValidFrom: store.ReformDate, Predecessors: []store.Succession{
				{Region: "pd2002-a", From: store.ReformDate, Approximate: true}}},
		},
		Measures: []store.Measure{
			{ID: count, Unit: "persons"},
			{ID: rateOnly, Unit: "offences per 100,000 inhabitants"},
		},
		Sources: []store.Source{
			{ID: "a1", Publisher: "P", Title: "grade A, one"},
			{ID: "a2", Publisher: "P", Title: "grade A, two"},
			{ID: "b1", Publisher: "P", Title: "grade B"},
			{ID: store.PopulationSource, Publisher: "SSB", Title: "Population"},
		},
		Population: []store.PopulationFigure{
			{Region: "NO", Date: "2009-01-01", Value: 4799252, Source: store.PopulationSource, Locator: "2009"},
			{Region: "NO", Date: "2010-01-01", Value: 4858199, Source: store.PopulationSource, Locator: "2010"},
		},
		Observations: obs,
	}
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	return st
}

// req is a request for the count series of region with the default
// threshold.
func req(region string) series.Request {
	return series.Request{Offence: offence, Region: region, Measure: count, Small: series.DefaultSmall}
}

func build(t *testing.T, st store.Store, r series.Request) series.Series {
	t.Helper()
	s, err := series.Build(context.Background(), st, rel, r)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return s
}

func point(t *testing.T, s series.Series, period string) series.Point {
	t.Helper()
	for _, p := range s.Points {
		if p.Period == period {
			return p
		}
	}
	t.Fatalf("no point %s in %+v", period, s.Points)
	return series.Point{}
}

func periods(s series.Series) []string {
	var out []string
	for _, p := range s.Points {
		out = append(out, p.Period)
	}
	return out
}

func TestPrecedence(t *testing.T) {
	st := newStore(t,
		ob("NO", "2009", count, "b1", v(355), "B"), ob("NO", "2010", count, "b1", v(360), "B"), ob("NO", "2011", count, "b1", v(370), "B"),
		ob("NO", "2009", count, "a2", v(334), "A"), ob("NO", "2010", count, "a2", v(359), "A"),
		ob("NO", "2009", count, "a1", v(330), "A"),
	)
	tests := []struct {
		name       string
		source     string
		wantSource string
		wantChoice string
		wantOrder  []string
	}{
		// A before B although B has more points; then more points (a2
		// before a1); then id.
		{"precedence", "", "a2", series.ChoicePrecedence, []string{"a2", "a1", "b1"}},
		{"requested", "b1", "b1", series.ChoiceRequested, []string{"a2", "a1", "b1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req("NO")
			r.Source = tt.source
			s := build(t, st, r)
			if s.Source != tt.wantSource || s.SourceChoice != tt.wantChoice {
				t.Errorf("source: got %s (%s), want %s (%s)", s.Source, s.SourceChoice, tt.wantSource, tt.wantChoice)
			}
			var order []string
			for _, c := range s.Candidates {
				order = append(order, c.Source)
				if c.Chosen != (c.Source == tt.wantSource) {
					t.Errorf("candidate %s chosen: got %v", c.Source, c.Chosen)
				}
			}
			if !reflect.DeepEqual(order, tt.wantOrder) {
				t.Errorf("candidates: got %v, want %v", order, tt.wantOrder)
			}
			// Every point comes from the chosen source; the others are alternatives.
			for _, p := range s.Points {
				if p.Source != tt.wantSource {
					t.Errorf("%s: source got %s, want %s", p.Period, p.Source, tt.wantSource)
				}
			}
		})
	}
	p09 := point(t, build(t, st, req("NO")), "2009")
	var alts []string
	for _, a := range p09.Alternatives {
		alts = append(alts, a.Source)
	}
	if want := []string{"a1", "b1"}; !reflect.DeepEqual(alts, want) {
		t.Errorf("2009 alternatives: got %v, want %v in precedence order", alts, want)
	}
}

func TestChangeOnlyFromTheSameKindOfPeriod(t *testing.T) {
	st := newStore(t,
		ob("NO", "2013", count, "a1", v(100), "A"),
		ob("NO", "2014-T1", count, "a1", v(40), "A"),
		ob("NO", "2014-T2", count, "a1", v(50), "A"),
		ob("NO", "2014", count, "a1", v(150), "A"),
		ob("NO", "2016", count, "a1", v(90), "A"),  // 2015 is a gap
		ob("NO", "2015", count, "b1", v(120), "B"), // another source's 2015 does not bridge it
	)
	s := build(t, st, req("NO"))
	tests := []struct {
		period   string
		wantFrom string // "" for no change
		wantAbs  float64
	}{
		{"2013", "", 0},
		{"2014-T1", "", 0}, // never from a year to a part of a year
		{"2014-T2", "2014-T1", 10},
		{"2014", "2013", 50},
		{"2016", "", 0}, // never across a gap or across sources
	}
	for _, tt := range tests {
		p := point(t, s, tt.period)
		switch {
		case tt.wantFrom == "" && p.Change != nil:
			t.Errorf("%s: got change %+v, want none", tt.period, p.Change)
		case tt.wantFrom != "" && (p.Change == nil || p.Change.From != tt.wantFrom || p.Change.Absolute != tt.wantAbs):
			t.Errorf("%s: got change %+v, want from %s by %v", tt.period, p.Change, tt.wantFrom, tt.wantAbs)
		}
	}
	if ch := point(t, s, "2014").Change; ch.Relative == nil || *ch.Relative != 0.5 {
		t.Errorf("2014 relative change: got %v, want 0.5", ch.Relative)
	}
}

func TestSmallCounts(t *testing.T) {
	st := newStore(t,
		ob("NO", "2009", count, "a1", v(5), "A"), ob("NO", "2010", count, "a1", v(30), "A"), ob("NO", "2011", count, "a1", v(40), "A"),
		ob("NO", "2009", rateOnly, "a1", v(5), "A"), ob("NO", "2010", rateOnly, "a1", v(6), "A"),
	)
	s := build(t, st, req("NO"))
	if p := point(t, s, "2009"); !slices.Contains(p.Flags, series.FlagSmallCount) {
		t.Errorf("2009 (5): flags got %v, want small-count", p.Flags)
	}
	if p := point(t, s, "2010"); slices.Contains(p.Flags, series.FlagSmallCount) || !p.Unreliable || !p.Change.Unreliable {
		t.Errorf("2010 (30 from 5): got flags %v unreliable %v, want no small-count flag but an unreliable change", p.Flags, p.Unreliable)
	}
	if p := point(t, s, "2011"); p.Unreliable || p.Change.Unreliable {
		t.Errorf("2011 (40 from 30): got unreliable, want reliable")
	}
	// A threshold of 0 flags nothing.
	r := req("NO")
	r.Small = 0
	if p := point(t, build(t, st, r), "2010"); p.Unreliable {
		t.Errorf("small=0: 2010 got unreliable, want reliable")
	}
	// A rate is not a count: no small-count flags whatever its value.
	r = req("NO")
	r.Measure = rateOnly
	for _, p := range build(t, st, r).Points {
		if slices.Contains(p.Flags, series.FlagSmallCount) || p.Unreliable {
			t.Errorf("rate %s: got flags %v unreliable %v, want neither", p.Period, p.Flags, p.Unreliable)
		}
	}
}

func TestHarmonise(t *testing.T) {
	st := newStore(t,
		ob("pd2002-a", "2013", count, "a1", v(30), "A"), // b has none for 2013
		ob("pd2002-a", "2014", count, "a1", v(10), "A"), ob("pd2002-b", "2014", count, "a1", v(15), "B"),
		ob("pd2002-a", "2015", count, "a1", v(1), "A"), ob("pd2002-b", "2015", count, "a1", v(2), "A"),
		ob("pd2016-x", "2015", count, "a1", v(50), "A"), // published on 2016 boundaries
		ob("pd2016-x", "2016", count, "a1", v(40), "A"),
		ob("pd2002-b", "2013", count, "b1", v(7), "B"), // a1's 2013 for a does not complete b1's sum
	)
	r := req("pd2016-x")
	r.Harmonise = series.Harmonise2016
	s := build(t, st, r)
	if got, want := periods(s), []string{"2014", "2015", "2016"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("periods: got %v, want %v", got, want)
	}
	p14 := point(t, s, "2014")
	if *p14.Value != 25 || !slices.Contains(p14.Flags, series.FlagHarmonised) || len(p14.Components) != 2 || p14.Confidence != "B" {
		t.Errorf("2014: got %v flags %v confidence %s components %d, want the sum 25, harmonised, grade B (its weakest part), 2 components",
			*p14.Value, p14.Flags, p14.Confidence, len(p14.Components))
	}
	if slices.Contains(p14.Flags, store.FlagApproximate) {
		t.Errorf("2014: got approximate, want exact (no succession is approximate)")
	}
	if p15 := point(t, s, "2015"); *p15.Value != 50 || slices.Contains(p15.Flags, series.FlagHarmonised) {
		t.Errorf("2015: got %v flags %v, want the published 50, not the sum 3", *p15.Value, p15.Flags)
	}
	var omitted []string
	for _, o := range s.Omitted {
		omitted = append(omitted, o.Period+" "+o.Source)
		if !strings.Contains(o.Reason, "pd2002-b") {
			t.Errorf("omitted %s: reason %q does not name the missing district", o.Period, o.Reason)
		}
	}
	if want := []string{"2013 a1"}; !reflect.DeepEqual(omitted, want) {
		t.Errorf("omitted: got %v, want %v", omitted, want)
	}
	if len(s.Mapping) != 2 {
		t.Errorf("mapping: got %+v, want the two predecessors", s.Mapping)
	}

	// Without harmonise only the district's own figures.
	if got, want := periods(build(t, st, req("pd2016-x"))), []string{"2015", "2016"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unharmonised: got %v, want %v", got, want)
	}
	// An approximate succession makes every sum approximate.
	r = req("pd2016-y")
	r.Harmonise = series.Harmonise2016
	if p := point(t, build(t, st, r), "2014"); !slices.Contains(p.Flags, store.FlagApproximate) {
		t.Errorf("pd2016-y 2014: flags got %v, want approximate", p.Flags)
	}
}

func TestRates(t *testing.T) {
	st := newStore(t,
		ob("NO", "2009", count, "a1", v(334), "A"),
		ob("NO", "2010", count, "a1", v(359), "A"),
		ob("NO", "2010-T1", count, "a1", v(100), "A"),
		ob("NO", "2011", count, "a1", v(300), "A"), // no population for 2011
		suppressed("NO", "2008", "a1"),
		ob("pd2016-x", "2016", count, "a1", v(40), "A"),
	)
	r := req("NO")
	r.Per = series.RatePer
	s := build(t, st, r)
	tests := []struct {
		period     string
		wantRate   float64 // 0 for none
		wantReason string
	}{
		{"2009", 6.9594, ""},
		{"2010", 7.3896, ""},
		{"2010-T1", 0, "part of a year"},
		{"2011", 0, "no population figure for NO on 2011-01-01"},
		{"2008", 0, "published no number"},
	}
	for _, tt := range tests {
		p := point(t, s, tt.period)
		if tt.wantRate != 0 {
			if p.Rate == nil || *p.Rate != tt.wantRate || p.Denominator == nil || p.Denominator.Source != store.PopulationSource {
				t.Errorf("%s: got rate %v denominator %+v, want %v from %s", tt.period, p.Rate, p.Denominator, tt.wantRate, store.PopulationSource)
			}
			continue
		}
		if p.Rate != nil || !strings.Contains(p.RateReason, tt.wantReason) {
			t.Errorf("%s: got rate %v reason %q, want none because %q", tt.period, p.Rate, p.RateReason, tt.wantReason)
		}
	}
	if !slices.ContainsFunc(s.Sources, func(src store.Source) bool { return src.ID == store.PopulationSource }) {
		t.Errorf("sources: got %+v, want the population source cited", s.Sources)
	}
	// A region without population figures says so.
	r = req("pd2016-x")
	r.Per = series.RatePer
	if p := point(t, build(t, st, r), "2016"); p.Rate != nil || !strings.Contains(p.RateReason, "no population figures for region pd2016-x") {
		t.Errorf("district: got rate %v reason %q, want none", p.Rate, p.RateReason)
	}
	// Without per, no rates and no population source.
	s = build(t, st, req("NO"))
	if p := point(t, s, "2009"); p.Rate != nil || p.Denominator != nil {
		t.Errorf("without per: got rate %v, want none", p.Rate)
	}
	if slices.ContainsFunc(s.Sources, func(src store.Source) bool { return src.ID == store.PopulationSource }) {
		t.Errorf("without per: population source cited")
	}
}

func TestCutKeepsChange(t *testing.T) {
	st := newStore(t, ob("NO", "2009", count, "a1", v(334), "A"), ob("NO", "2010", count, "a1", v(359), "A"), ob("NO", "2011", count, "a1", v(360), "A"))
	r := req("NO")
	from, _ := store.ParsePeriod("2010")
	to, _ := store.ParsePeriod("2010")
	r.From, r.To = &from, &to
	s := build(t, st, r)
	if got := periods(s); !reflect.DeepEqual(got, []string{"2010"}) {
		t.Fatalf("periods: got %v, want [2010]", got)
	}
	if ch := s.Points[0].Change; ch == nil || ch.From != "2009" || ch.Absolute != 25 {
		t.Errorf("2010 change: got %+v, want +25 from 2009 (computed before the cut)", ch)
	}
}

func TestEmptySeries(t *testing.T) {
	s := build(t, newStore(t), req("NO"))
	if len(s.Points) != 0 || s.Source != "" || len(s.Candidates) != 0 || len(s.Notes) == 0 || len(s.Sources) != 0 {
		t.Errorf("got %+v, want no points, no source and a note saying a gap is never a zero", s)
	}
}

func TestInvalidRequests(t *testing.T) {
	st := newStore(t, ob("NO", "2009", count, "a1", v(334), "A"))
	tests := []struct {
		name      string
		edit      func(*series.Request)
		wantParam string
	}{
		{"unknown offence", func(r *series.Request) { r.Offence = "theft" }, "offence"},
		{"unknown region", func(r *series.Request) { r.Region = "XX" }, "region"},
		{"unknown measure", func(r *series.Request) { r.Measure = "victims" }, "measure"},
		{"unknown source", func(r *series.Request) { r.Source = "nobody" }, "source"},
		{"rate of a rate", func(r *series.Request) { r.Measure, r.Per = rateOnly, series.RatePer }, "per"},
		{"harmonise a country", func(r *series.Request) { r.Harmonise = series.Harmonise2016 }, "harmonise"},
		{"harmonise a 2002 district", func(r *series.Request) { r.Region, r.Harmonise = "pd2002-a", series.Harmonise2016 }, "harmonise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req("NO")
			tt.edit(&r)
			_, err := series.Build(context.Background(), st, rel, r)
			var pe *store.ParamError
			if !errors.As(err, &pe) || pe.Param != tt.wantParam || !errors.Is(err, store.ErrInvalid) {
				t.Errorf("got %v, want an invalid-parameter error naming %s", err, tt.wantParam)
			}
		})
	}
	if _, err := series.Build(context.Background(), st, "no-such-release", req("NO")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown release: got %v, want ErrNotFound", err)
	}
}
