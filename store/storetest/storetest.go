// Package storetest is the conformance suite that every store.Store
// implementation passes: the in-memory store, the PostgreSQL store and any
// store wrapping another. It loads two small handcrafted releases (Dataset1,
// Dataset2) and checks every method against what was loaded, with the
// filters and pagination computed independently from the datasets; and it
// streams a synthetic release of ten thousand observations, larger than any
// chunk a store is likely to read at a time, checking that EachObservation
// yields what Observations lists and stops when it must.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krimstat/krimstat/store"
)

// Opener returns a store holding releases, loaded in the given order, so
// that the last is current. It ends the test itself when it cannot, and
// releases what it opened with t.Cleanup.
type Opener func(t *testing.T, releases ...*store.Dataset) store.Store

// Run runs the conformance suite against the stores that open returns.
func Run(t *testing.T, open Opener) {
	t.Run("Empty", func(t *testing.T) { testEmpty(t, open(t)) })
	t.Run("OneRelease", func(t *testing.T) { testOneRelease(t, open(t, Dataset1())) })

	s := open(t, Dataset1(), Dataset2())
	t.Run("Releases", func(t *testing.T) { testReleases(t, s) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, s) })
	t.Run("Explicit", func(t *testing.T) { testExplicit(t, s) })
	t.Run("Revisions", func(t *testing.T) { testRevisions(t, s) })
	t.Run("EachStops", func(t *testing.T) { testEachStops(t, s, Release1) })
	// A release larger than any chunk or buffer an implementation is likely
	// to read at a time, so that a walk crosses their boundaries.
	t.Run("Stream", func(t *testing.T) { testStream(t, open(t, Synthetic(streamRelease, streamSize))) })
	// The older release must answer as fully as the current one.
	for _, d := range []*store.Dataset{Dataset1(), Dataset2()} {
		d.Sort()
		t.Run(d.Release.ID, func(t *testing.T) { Compare(t, s, d) })
	}
}

// Compare checks that release d.Release.ID of s answers every read method
// exactly as the dataset d says it should: every list and item equal to what
// was loaded, and every filter, region filter and page equal to one computed
// from d with the filters' Match methods. d must be sorted (Dataset.Sort).
// The filters used name the handcrafted datasets' ids, and match little or
// nothing in other datasets; Compare checks the full lists either way.
func Compare(t *testing.T, s store.Store, d *store.Dataset) {
	ctx := context.Background()
	rel := d.Release.ID

	t.Run("Metadata", func(t *testing.T) {
		got, err := s.Offences(ctx, rel)
		check(t, "Offences", got, err, d.Offences)
		for _, o := range d.Offences {
			got, err := s.Offence(ctx, rel, o.ID)
			check(t, "Offence "+o.ID, got, err, o)
		}
		regions, err := s.Regions(ctx, rel, store.RegionFilter{})
		check(t, "Regions", regions, err, d.Regions)
		for _, r := range d.Regions {
			got, err := s.Region(ctx, rel, r.ID)
			check(t, "Region "+r.ID, got, err, r)
		}
		measures, err := s.Measures(ctx, rel)
		check(t, "Measures", measures, err, d.Measures)
		sources, err := s.Sources(ctx, rel)
		check(t, "Sources", sources, err, d.Sources)
		for _, src := range d.Sources {
			got, err := s.Source(ctx, rel, src.ID)
			check(t, "Source "+src.ID, got, err, src)
		}
	})

	t.Run("Regions", func(t *testing.T) {
		for _, f := range []store.RegionFilter{
			{Types: []string{store.RegionPoliceDistrict}},
			{Types: []string{store.RegionCountry, store.RegionCountryPart}},
			{Types: []string{"continent"}},
			{ValidOn: "2001-12-31"},
			{ValidOn: "2002-01-01"},
			{ValidOn: "2016-12-31"},
			{ValidOn: "2017-01-01"},
			{ValidOn: "2020-02-01"},
			{Types: []string{store.RegionPoliceDistrict}, ValidOn: "2017-01-01"},
			{Types: []string{"\x00"}},
			{Types: []string{store.RegionCountry, "\xff"}},
			{ValidOn: "2016-12-31\x00"},
			{ValidOn: "2017-01-01\xff"},
		} {
			want := []store.Region{}
			for _, r := range d.Regions {
				if f.Match(r) {
					want = append(want, r)
				}
			}
			got, err := s.Regions(ctx, rel, f)
			check(t, fmt.Sprintf("Regions(%+v)", f), got, err, want)
		}
	})

	t.Run("Observations", func(t *testing.T) {
		all, err := s.Observations(ctx, rel, store.ObservationFilter{})
		if err != nil {
			t.Fatalf("Observations: %v", err)
		}
		for i := 1; i < len(all.Observations); i++ {
			if a, b := all.Observations[i-1].Key(), all.Observations[i].Key(); a >= b {
				t.Errorf("observation %d: key %q after %q: got keys out of order, want strictly increasing", i, b, a)
			}
		}
		for _, f := range observationFilters(d) {
			got, err := s.Observations(ctx, rel, f)
			check(t, "Observations("+describe(f)+")", got, err, wantPage(d, f))
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		for _, f := range []store.ObservationFilter{
			{},
			{Offences: []string{"human-trafficking"}},
			{Sex: []string{"total"}, From: year(2013)},
		} {
			want := wantPage(d, f).Observations
			for _, limit := range []int{1, 2, 3, 7, len(want) - 1, len(want), len(want) + 1} {
				if limit < 1 {
					continue
				}
				walk(t, s, rel, f, limit, want)
			}
		}
	})

	t.Run("EachObservation", func(t *testing.T) {
		fs := observationFilters(d)
		for _, f := range []store.ObservationFilter{{Offences: []string{"human-trafficking"}}, {Sex: []string{"total"}, From: year(2013)}} {
			for _, limit := range []int{1, 2, 3, 7, 100} {
				f.Limit = limit
				fs = append(fs, f)
			}
		}
		for _, f := range fs {
			want := wantPage(d, f).Observations
			checkEach(t, s, rel, f, want)
			if f.After == "" && f.Limit == 0 {
				n, err := s.CountObservations(ctx, rel, f)
				if err == nil && n != wantPage(d, f).Total {
					t.Errorf("CountObservations(%s): got %d, want the Total %d", describe(f), n, wantPage(d, f).Total)
				}
			}
		}
	})

	t.Run("Population", func(t *testing.T) {
		for _, f := range []store.PopulationFilter{
			{},
			{Regions: []string{"NO"}},
			{Regions: []string{"NO", oslo}},
			{Regions: []string{"DK"}},
			{From: "2014-01-01"},
			{To: "2013-12-31"},
			{From: "2013-01-01", To: "2013-01-01"},
			{Regions: []string{"NO"}, From: "2013-06-01"},
			{Regions: []string{"NO\x00"}},
			{From: "2014-01-01\x00"},
			{To: "2013-12-31\xff"},
		} {
			want := []store.PopulationFigure{}
			for _, p := range d.Population {
				if (len(f.Regions) == 0 || slices.Contains(f.Regions, p.Region)) &&
					(f.From == "" || p.Date >= f.From) && (f.To == "" || p.Date <= f.To) {
					want = append(want, p)
				}
			}
			got, err := s.Population(ctx, rel, f)
			check(t, fmt.Sprintf("Population(%+v)", f), got, err, want)
		}
	})
}

// Equivalent checks that got answers every read method for release exactly
// as want does, with filters taken from want's own data (its first offences,
// regions, measures, sources and periods), and compares the full observation
// list item by item. It is for checking a store against the in-memory store
// on a dataset the suite did not write, such as the bundled one.
func Equivalent(t *testing.T, want, got store.Store, release string) {
	ctx := context.Background()
	same := func(what string, g any, gerr error, w any, werr error) {
		t.Helper()
		if werr != nil {
			t.Fatalf("%s of the reference store: %v", what, werr)
		}
		check(t, what, g, gerr, w)
	}

	wr, werr := want.Release(ctx, release)
	gr, gerr := got.Release(ctx, release)
	same("Release", gr, gerr, wr, werr)
	wc, werr := want.CurrentRelease(ctx)
	gc, gerr := got.CurrentRelease(ctx)
	same("CurrentRelease", gc, gerr, wc, werr)

	offences, err := want.Offences(ctx, release)
	g, gerr := got.Offences(ctx, release)
	same("Offences", g, gerr, offences, err)
	for _, o := range offences {
		g, gerr := got.Offence(ctx, release, o.ID)
		same("Offence "+o.ID, g, gerr, o, nil)
	}
	regions, err := want.Regions(ctx, release, store.RegionFilter{})
	gregions, gerr := got.Regions(ctx, release, store.RegionFilter{})
	same("Regions", gregions, gerr, regions, err)
	for _, r := range regions {
		g, gerr := got.Region(ctx, release, r.ID)
		same("Region "+r.ID, g, gerr, r, nil)
	}
	for _, f := range []store.RegionFilter{
		{Types: []string{store.RegionPoliceDistrict}},
		{Types: []string{store.RegionCountry}},
		{ValidOn: "2016-12-31"},
		{Types: []string{store.RegionPoliceDistrict}, ValidOn: "2017-01-01"},
	} {
		w, werr := want.Regions(ctx, release, f)
		g, gerr := got.Regions(ctx, release, f)
		same(fmt.Sprintf("Regions(%+v)", f), g, gerr, w, werr)
	}
	measures, err := want.Measures(ctx, release)
	gm, gerr := got.Measures(ctx, release)
	same("Measures", gm, gerr, measures, err)
	sources, err := want.Sources(ctx, release)
	gs, gerr := got.Sources(ctx, release)
	same("Sources", gs, gerr, sources, err)
	for _, src := range sources {
		g, gerr := got.Source(ctx, release, src.ID)
		same("Source "+src.ID, g, gerr, src, nil)
	}

	all, err := want.Observations(ctx, release, store.ObservationFilter{})
	if err != nil {
		t.Fatalf("Observations of the reference store: %v", err)
	}
	gall, err := got.Observations(ctx, release, store.ObservationFilter{})
	if err != nil {
		t.Fatalf("Observations: %v", err)
	}
	if len(gall.Observations) != len(all.Observations) || gall.Total != all.Total {
		t.Errorf("Observations: got %d (Total %d), want %d (Total %d)",
			len(gall.Observations), gall.Total, len(all.Observations), all.Total)
	}
	for i := range min(len(all.Observations), len(gall.Observations)) {
		equal(t, fmt.Sprintf("observation %d", i), gall.Observations[i], all.Observations[i])
	}

	// Filters on values the data hold: the first and last of each dimension,
	// a span of periods, and breakdown totals.
	var fs []store.ObservationFilter
	if n := len(all.Observations); n > 0 {
		first, last := all.Observations[0], all.Observations[n-1]
		mid := all.Observations[n/2]
		fs = append(fs,
			store.ObservationFilter{Offences: []string{first.Offence}},
			store.ObservationFilter{Offences: []string{mid.Offence}, Regions: []string{mid.Region}},
			store.ObservationFilter{Offences: []string{first.Offence, last.Offence}, Regions: []string{last.Region}},
			store.ObservationFilter{Regions: []string{mid.Region}, Measures: []string{mid.Measure}},
			store.ObservationFilter{Sources: []string{mid.Source}, Sex: []string{"total"}, Age: []string{"total"}},
			store.ObservationFilter{Sex: []string{"female", "male"}},
			store.ObservationFilter{Citizenship: []string{"total"}, Limit: 10},
			store.ObservationFilter{After: mid.Key(), Limit: 25},
		)
		if p, err := store.ParsePeriod(mid.Period); err == nil {
			from, to := p, store.Period{Year: p.Year + 2, Kind: store.PeriodYear}
			fs = append(fs,
				store.ObservationFilter{From: &from},
				store.ObservationFilter{From: &from, To: &to, Offences: []string{mid.Offence}},
				store.ObservationFilter{To: &p},
			)
		}
	}
	for _, f := range fs {
		w, werr := want.Observations(ctx, release, f)
		g, gerr := got.Observations(ctx, release, f)
		same("Observations("+describe(f)+")", g, gerr, w, werr)
		// Walking the pages yields the same figures in both; a few pages
		// each are enough.
		if f.Limit == 0 && f.After == "" {
			walk(t, got, release, f, max(7, len(w.Observations)/5), w.Observations)
		}
		if werr == nil {
			checkEach(t, got, release, f, selection(t, want, release, f))
		}
	}
	checkEach(t, got, release, store.ObservationFilter{}, all.Observations)

	pop, err := want.Population(ctx, release, store.PopulationFilter{})
	gp, gerr := got.Population(ctx, release, store.PopulationFilter{})
	same("Population", gp, gerr, pop, err)
	if len(pop) > 0 {
		p := pop[len(pop)/2]
		for _, f := range []store.PopulationFilter{
			{Regions: []string{p.Region}},
			{From: p.Date},
			{Regions: []string{p.Region}, To: p.Date},
		} {
			w, werr := want.Population(ctx, release, f)
			g, gerr := got.Population(ctx, release, f)
			same(fmt.Sprintf("Population(%+v)", f), g, gerr, w, werr)
		}
	}
}

// walk reads every page of f at limit and checks that the pages together
// are want, each match exactly once and in order, with Next and Total right.
func walk(t *testing.T, s store.Store, rel string, f store.ObservationFilter, limit int, want []store.Observation) {
	t.Helper()
	f.Limit = limit
	var got []store.Observation
	for pages := 0; ; pages++ {
		if pages > len(want)+1 {
			t.Errorf("%s limit %d: got more than %d pages, want at most %d", describe(f), limit, pages, len(want)+1)
			return
		}
		page, err := s.Observations(context.Background(), rel, f)
		if err != nil {
			t.Errorf("%s limit %d after %q: %v", describe(f), limit, f.After, err)
			return
		}
		if page.Total != len(want) {
			t.Errorf("%s limit %d page %d: got Total %d, want %d", describe(f), limit, pages, page.Total, len(want))
		}
		got = append(got, page.Observations...)
		if page.Next == "" {
			if len(page.Observations) > limit {
				t.Errorf("%s limit %d: got a last page of %d, want at most %d", describe(f), limit, len(page.Observations), limit)
			}
			break
		}
		if len(page.Observations) != limit {
			t.Errorf("%s limit %d page %d: got %d observations on a page that is not the last, want %d",
				describe(f), limit, pages, len(page.Observations), limit)
			return
		}
		if last := page.Observations[len(page.Observations)-1].Key(); page.Next != last {
			t.Errorf("%s limit %d page %d: got Next %q, want the last key %q", describe(f), limit, pages, page.Next, last)
			return
		}
		f.After = page.Next
	}
	equal(t, fmt.Sprintf("%s walked with limit %d", describe(f), limit), got, want)
}

// checkEach checks that EachObservation yields want, the observations f
// selects, in order and each once, and that CountObservations counts them.
func checkEach(t *testing.T, s store.Store, rel string, f store.ObservationFilter, want []store.Observation) {
	t.Helper()
	got := []store.Observation{}
	err := s.EachObservation(context.Background(), rel, f, func(o store.Observation) error {
		got = append(got, o)
		return nil
	})
	check(t, "EachObservation("+describe(f)+")", got, err, want)
	n, err := s.CountObservations(context.Background(), rel, f)
	if err != nil {
		t.Errorf("CountObservations(%s): %v", describe(f), err)
	} else if n != len(want) {
		t.Errorf("CountObservations(%s): got %d, want %d", describe(f), n, len(want))
	}
}

// selection is what s's Observations selects for f without a limit, cut
// at f.Limit: what EachObservation must yield.
func selection(t *testing.T, s store.Store, rel string, f store.ObservationFilter) []store.Observation {
	t.Helper()
	limit := f.Limit
	f.Limit = 0
	page, err := s.Observations(context.Background(), rel, f)
	if err != nil {
		t.Fatalf("Observations(%s): %v", describe(f), err)
	}
	if limit > 0 && len(page.Observations) > limit {
		return page.Observations[:limit]
	}
	return page.Observations
}

// wantPage is the page of d that f selects, computed the simplest way.
func wantPage(d *store.Dataset, f store.ObservationFilter) store.ObservationPage {
	page := store.ObservationPage{Observations: []store.Observation{}}
	for _, o := range d.Observations {
		if !f.Match(o) {
			continue
		}
		page.Total++
		if f.After != "" && o.Key() <= f.After {
			continue
		}
		if f.Limit > 0 && len(page.Observations) == f.Limit {
			if page.Next == "" {
				page.Next = page.Observations[f.Limit-1].Key()
			}
			continue
		}
		page.Observations = append(page.Observations, o)
	}
	return page
}

// observationFilters lists the filters checked against the reference: each
// field alone, with several values, with values that match nothing, and
// combined; period bounds around the partial year 2013-T1; and After and
// Limit at and between keys.
func observationFilters(d *store.Dataset) []store.ObservationFilter {
	fs := []store.ObservationFilter{
		{},
		{Offences: []string{"human-trafficking"}},
		{Offences: []string{"human-trafficking/aggravated", "homicide"}},
		{Offences: []string{"no-such-offence"}},
		{Regions: []string{oslo}},
		{Regions: []string{"NO", "SE"}},
		{Regions: []string{asker, sorVest}},
		{Measures: []string{"rate-per-100k"}},
		{Measures: []string{"offences-reported"}},
		{Sources: []string{"unodc-cts"}},
		{Sources: []string{"ssb-08484", "eurostat-crim_off_cat"}},
		{Sex: []string{"total"}},
		{Sex: []string{"female"}},
		{Sex: []string{"female", "male"}},
		{Sex: []string{"total", "female"}},
		{Sex: []string{""}},
		{Age: []string{"0-17"}},
		{Age: []string{"total"}},
		{Age: []string{"unknown", "0-17"}},
		{Citizenship: []string{"Nigeria"}},
		{Citizenship: []string{"total"}},
		{Sex: []string{"female"}, Age: []string{"0-17"}},
		{From: year(2013)},
		{To: year(2013)},
		{From: year(2013), To: year(2013)},
		{From: part(2013, store.PeriodTertial, 1), To: part(2013, store.PeriodTertial, 1)},
		{From: part(2013, store.PeriodTertial, 2)},
		{To: part(2013, store.PeriodTertial, 1)},
		{From: part(2014, store.PeriodHalf, 2)},
		{From: part(2014, store.PeriodMonth, 7), To: part(2014, store.PeriodMonth, 12)},
		{From: part(2015, store.PeriodQuarter, 1), To: part(2015, store.PeriodQuarter, 1)},
		{From: part(2015, store.PeriodMonth, 3)},
		{To: year(2011)},
		{Offences: []string{"human-trafficking"}, Regions: []string{"NO"}, Measures: []string{"offences-reported"},
			Sources: []string{"ssb-08484"}, Sex: []string{"total"}, Age: []string{"total"}, Citizenship: []string{"total"},
			From: year(2013), To: year(2014)},
		{Offences: []string{"pimping"}, Regions: []string{asker}},
		{Limit: 1},
		{Limit: 5, Regions: []string{"NO"}},
		{After: "~"},
		{After: "a"},
		{After: "human-trafficking"},
		{After: "human-trafficking\x1f"},
		// Values PostgreSQL cannot hold as text, as a client may send them.
		{Offences: []string{"homicide\x00"}},
		{Offences: []string{"homicide", "\xff"}},
		{Regions: []string{"\x00"}, Sex: []string{"\xfftotal"}},
		{After: "\x00"},
		{After: "human-trafficking\xff"},
		{After: "human-trafficking\x1fNO\x00"},
	}
	// After at and between existing keys of the release.
	keys := make([]string, len(d.Observations))
	for i, o := range d.Observations {
		keys[i] = o.Key()
	}
	for _, i := range []int{0, len(keys) / 3, len(keys) / 2, len(keys) - 1} {
		if i < 0 || i >= len(keys) {
			continue
		}
		fs = append(fs,
			store.ObservationFilter{After: keys[i]},
			store.ObservationFilter{After: keys[i] + "\x00"},
			store.ObservationFilter{After: keys[i], Limit: 4},
			store.ObservationFilter{After: keys[i], Limit: 4, Offences: []string{"homicide"}},
		)
	}
	return fs
}

// testExplicit checks a few answers written out by hand, so that the suite
// does not only trust ObservationFilter.Match.
func testExplicit(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := store.ObservationFilter{
		Offences: []string{"human-trafficking"}, Regions: []string{"NO"}, Measures: []string{"offences-reported"},
		Sex: []string{"total"}, Age: []string{"total"}, Citizenship: []string{"total"},
	}
	tests := []struct {
		name    string
		release string
		f       func(f store.ObservationFilter) store.ObservationFilter
		periods string
		values  string
	}{
		{"2013-T1 lies inside 2013", Release1, func(f store.ObservationFilter) store.ObservationFilter {
			f.From, f.To = year(2013), year(2013)
			return f
		}, "2013 2013-T1", "112 7"},
		{"2013 does not lie inside 2013-T1", Release1, func(f store.ObservationFilter) store.ObservationFilter {
			f.From, f.To = part(2013, store.PeriodTertial, 1), part(2013, store.PeriodTertial, 1)
			return f
		}, "2013-T1", "7"},
		{"From 2013-T2 excludes 2013-T1 and 2013", Release1, func(f store.ObservationFilter) store.ObservationFilter {
			f.From = part(2013, store.PeriodTertial, 2)
			return f
		}, "2014 2014-H2", "113 21"},
		{"every period in Key order", Release1, func(f store.ObservationFilter) store.ObservationFilter {
			return f
		}, "2012 2013 2013-T1 2014 2014-H2", "111 112 7 113 21"},
		{"the revised release", Release2, func(f store.ObservationFilter) store.ObservationFilter {
			return f
		}, "2012 2013 2013-T1 2014 2014-H2 2015", "1111 1112 7 1113 21 1114"},
		{"female", Release1, func(store.ObservationFilter) store.ObservationFilter {
			return store.ObservationFilter{Sex: []string{"female"}}
		}, "2013 2013", "30 6"},
		{"suppressed", Release1, func(store.ObservationFilter) store.ObservationFilter {
			return store.ObservationFilter{Offences: []string{"pimping"}, Regions: []string{asker}, To: year(2013)}
		}, "2013", "<5"},
	}
	for _, tt := range tests {
		page, err := s.Observations(ctx, tt.release, tt.f(base))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var periods, values []string
		for _, o := range page.Observations {
			periods = append(periods, o.Period)
			if o.Value == nil {
				values = append(values, o.ValueText)
			} else {
				values = append(values, fmt.Sprint(*o.Value))
			}
			if !strings.HasPrefix(o.Locator, releaseTag(tt.release)) {
				t.Errorf("%s: got locator %q, want one of release %s", tt.name, o.Locator, tt.release)
			}
		}
		if got := strings.Join(periods, " "); got != tt.periods {
			t.Errorf("%s: got periods %q, want %q", tt.name, got, tt.periods)
		}
		if got := strings.Join(values, " "); got != tt.values {
			t.Errorf("%s: got values %q, want %q", tt.name, got, tt.values)
		}
		if page.Total != len(page.Observations) {
			t.Errorf("%s: got Total %d, want %d", tt.name, page.Total, len(page.Observations))
		}
	}

	// The suppressed figure keeps its text and has no value.
	page, err := s.Observations(ctx, Release1, store.ObservationFilter{Regions: []string{asker}, Sex: []string{"total"}})
	if err != nil {
		t.Fatalf("Observations: %v", err)
	}
	if len(page.Observations) != 2 {
		t.Fatalf("observations of %s: got %d, want 2", asker, len(page.Observations))
	}
	o := page.Observations[0]
	if o.Value != nil || o.ValueText != "<5" || len(o.Flags) != 1 || o.Flags[0] != store.FlagSuppressed {
		t.Errorf("suppressed figure: got value %v, text %q, flags %q; want nil, \"<5\", [suppressed]", o.Value, o.ValueText, o.Flags)
	}
}

// testRevisions checks by name what Compare checks in bulk: a release's
// change summary and the revisions of its observations come back as loaded,
// through every read method, and a release or figure without them has none.
func testRevisions(t *testing.T, s store.Store) {
	ctx := context.Background()
	rel, err := s.Release(ctx, Release2)
	check(t, "Release "+Release2+" changes", func() any {
		if rel.Changes == nil {
			return nil
		}
		return *rel.Changes
	}(), err, *Changes2())
	if rel, err := s.Release(ctx, Release1); err != nil || rel.Changes != nil {
		t.Errorf("Release %s: got changes %+v, %v; want none", Release1, rel.Changes, err)
	}
	f := store.ObservationFilter{Offences: []string{"pimping"}, Regions: []string{asker, oslo}, Sex: []string{"total"}}
	want := map[string]string{
		Release1 + " " + oslo + " 2012":  "",
		Release1 + " " + asker + " 2014": "",
		Release2 + " " + oslo + " 2012":  Release1 + " 21 revised",
		Release2 + " " + oslo + " 2015":  "",
		Release2 + " " + asker + " 2014": "2023-12-01 <5 revised",
	}
	for _, id := range []string{Release1, Release2} {
		seen := map[string]string{}
		var each []store.Observation
		err := s.EachObservation(ctx, id, f, func(o store.Observation) error {
			each = append(each, o)
			got := ""
			if r := o.Revision; r != nil {
				got = r.Release + " " + r.ValueText
				if r.Value != nil {
					got = r.Release + " " + fmt.Sprint(*r.Value)
				}
				if slices.Contains(o.Flags, store.FlagRevised) {
					got += " revised"
				}
			}
			seen[id+" "+o.Region+" "+o.Period] = got
			return nil
		})
		if err != nil {
			t.Fatalf("EachObservation %s: %v", id, err)
		}
		page, err := s.Observations(ctx, id, f)
		if err != nil {
			t.Fatalf("Observations %s: %v", id, err)
		}
		equal(t, "EachObservation against Observations of "+id, each, page.Observations)
		for k, w := range want {
			if got, ok := seen[k]; strings.HasPrefix(k, id+" ") && (!ok || got != w) {
				t.Errorf("revision of %s: got %q (present %v), want %q", k, got, ok, w)
			}
		}
	}
}

// testEachStops checks that EachObservation on release rel ends where it
// must: at the first error of fn, returned as is, and when its context is
// cancelled or past its deadline, before or during the walk. Stops beyond
// the size of the release are skipped.
func testEachStops(t *testing.T, s store.Store, rel string) {
	total, err := s.CountObservations(context.Background(), rel, store.ObservationFilter{})
	if err != nil {
		t.Fatalf("CountObservations: %v", err)
	}
	errStop := errors.New("the client went away")
	for _, at := range []int{1, 3, 300} {
		if at >= total {
			continue
		}
		calls := 0
		err := s.EachObservation(context.Background(), rel, store.ObservationFilter{}, func(store.Observation) error {
			calls++
			if calls == at {
				return fmt.Errorf("write row %d: %w", calls, errStop)
			}
			return nil
		})
		if !errors.Is(err, errStop) {
			t.Errorf("fn failing at call %d: got error %v, want fn's error", at, err)
		}
		if calls != at {
			t.Errorf("fn failing at call %d: got %d calls, want %d", at, calls, at)
		}
	}

	ended := []struct {
		name string
		ctx  func() context.Context
		want error
	}{
		{"cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
		{"past its deadline", func() context.Context {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, e := range ended {
		calls := 0
		err := s.EachObservation(e.ctx(), rel, store.ObservationFilter{}, func(store.Observation) error {
			calls++
			return nil
		})
		if !errors.Is(err, e.want) || calls != 0 {
			t.Errorf("a context %s before the walk: got error %v after %d calls, want %v and none", e.name, err, calls, e.want)
		}
	}
	for _, at := range []int{1, 300} {
		if at >= total {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		err := s.EachObservation(ctx, rel, store.ObservationFilter{}, func(store.Observation) error {
			calls++
			if calls == at {
				cancel()
			}
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) || calls >= total {
			t.Errorf("a context cancelled at call %d: got error %v after %d of %d calls, want context.Canceled before the end",
				at, err, calls, total)
		}
	}
}

// streamRelease is the id of the synthetic release of streamSize
// observations that the suite streams.
const (
	streamRelease = "synthetic"
	streamSize    = 10000
)

// testStream checks EachObservation and CountObservations on a release of
// streamSize observations against Observations, with limits and starting
// points at and around the powers of two a chunked reader might use.
func testStream(t *testing.T, s store.Store) {
	ctx := context.Background()
	all := selection(t, s, streamRelease, store.ObservationFilter{})
	if len(all) < streamSize {
		t.Fatalf("Observations: got %d, want at least %d", len(all), streamSize)
	}
	from, to := store.Period{Year: 2010, Kind: store.PeriodYear}, store.Period{Year: 2015, Kind: store.PeriodYear}
	fs := []store.ObservationFilter{
		{},
		{Offences: []string{"offence-003"}},
		{Offences: []string{"offence-007", "offence-001"}, Regions: []string{"REGION-009", "REGION-002"}},
		{Measures: []string{"rate-per-100k"}},
		{Regions: []string{"REGION-004"}, Measures: []string{"offences-reported"}},
		{From: &from, To: &to},
		{Sex: []string{"total"}, Sources: []string{"synthetic"}},
		{After: all[len(all)-1].Key()},
		{After: all[len(all)/2].Key(), Measures: []string{"rate-per-100k"}},
	}
	for _, n := range []int{255, 256, 257, 767, 768, 769, 4095, 4096, 4097} {
		fs = append(fs,
			store.ObservationFilter{Limit: n},
			store.ObservationFilter{After: all[n].Key()},
			store.ObservationFilter{After: all[n].Key(), Limit: 1024},
			store.ObservationFilter{After: all[n].Key(), Limit: n},
		)
	}
	for _, f := range fs {
		checkEach(t, s, streamRelease, f, selection(t, s, streamRelease, f))
	}
	n, err := s.CountObservations(ctx, streamRelease, store.ObservationFilter{Limit: len(all) + 1})
	if err != nil || n != len(all) {
		t.Errorf("CountObservations with a limit above the selection: got %d, %v; want %d", n, err, len(all))
	}
	testEachStops(t, s, streamRelease)
}

// releaseTag is the Locator prefix of the handcrafted releases.
func releaseTag(id string) string {
	if id == Release2 {
		return "r2 "
	}
	return "r1 "
}

func testEmpty(t *testing.T, s store.Store) {
	ctx := context.Background()
	if rel, err := s.CurrentRelease(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CurrentRelease of an empty store: got %+v, %v; want ErrNotFound", rel, err)
	}
	rels, err := s.Releases(ctx)
	if err != nil || len(rels) != 0 {
		t.Errorf("Releases of an empty store: got %+v, %v; want none", rels, err)
	}
	if _, err := s.Offences(ctx, Release1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Offences of an empty store: got %v, want ErrNotFound", err)
	}
}

func testOneRelease(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := Dataset1().Release
	want.Current = true
	got, err := s.CurrentRelease(ctx)
	check(t, "CurrentRelease", got, err, want)
	rels, err := s.Releases(ctx)
	check(t, "Releases", rels, err, []store.Release{want})
	if _, err := s.Offences(ctx, Release2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Offences of a release not loaded: got %v, want ErrNotFound", err)
	}
}

func testReleases(t *testing.T, s store.Store) {
	ctx := context.Background()
	r1, r2 := Dataset1().Release, Dataset2().Release
	r2.Current = true
	got, err := s.CurrentRelease(ctx)
	check(t, "CurrentRelease", got, err, r2)
	if err == nil && !got.Current {
		t.Errorf("CurrentRelease: got Current false, want true")
	}
	rels, err := s.Releases(ctx)
	check(t, "Releases (newest first)", rels, err, []store.Release{r2, r1})
	rel, err := s.Release(ctx, Release1)
	check(t, "Release "+Release1, rel, err, r1)
	rel, err = s.Release(ctx, Release2)
	check(t, "Release "+Release2, rel, err, r2)
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	const bad = "no-such-release"
	calls := []struct {
		name string
		call func() error
	}{
		{"Release", func() error { _, err := s.Release(ctx, bad); return err }},
		{"Offences", func() error { _, err := s.Offences(ctx, bad); return err }},
		{"Offence of an unknown release", func() error { _, err := s.Offence(ctx, bad, "homicide"); return err }},
		{"Offence", func() error { _, err := s.Offence(ctx, Release1, "no-such-offence"); return err }},
		{"Offence of the other release", func() error { _, err := s.Offence(ctx, Release2, "HOMICIDE"); return err }},
		{"Regions", func() error { _, err := s.Regions(ctx, bad, store.RegionFilter{}); return err }},
		{"Region of an unknown release", func() error { _, err := s.Region(ctx, bad, "NO"); return err }},
		{"Region", func() error { _, err := s.Region(ctx, Release1, "DK"); return err }},
		{"Measures", func() error { _, err := s.Measures(ctx, bad); return err }},
		{"Sources", func() error { _, err := s.Sources(ctx, bad); return err }},
		{"Source of an unknown release", func() error { _, err := s.Source(ctx, bad, "ssb-08484"); return err }},
		{"Source", func() error { _, err := s.Source(ctx, Release1, "no-such-source"); return err }},
		{"Observations", func() error { _, err := s.Observations(ctx, bad, store.ObservationFilter{}); return err }},
		{"Observations with a filter", func() error {
			_, err := s.Observations(ctx, bad, store.ObservationFilter{Offences: []string{"homicide"}, Limit: 1})
			return err
		}},
		{"EachObservation", func() error {
			return s.EachObservation(ctx, bad, store.ObservationFilter{}, func(store.Observation) error {
				return errors.New("fn called for an unknown release")
			})
		}},
		{"EachObservation of a release id with a NUL", func() error {
			return s.EachObservation(ctx, Release1+"\x00", store.ObservationFilter{Limit: 1}, func(store.Observation) error {
				return errors.New("fn called for an unknown release")
			})
		}},
		{"CountObservations", func() error { _, err := s.CountObservations(ctx, bad, store.ObservationFilter{}); return err }},
		{"CountObservations with a filter", func() error {
			_, err := s.CountObservations(ctx, bad, store.ObservationFilter{Regions: []string{"NO"}, After: "a", Limit: 3})
			return err
		}},
		{"CountObservations of a release id that is not UTF-8", func() error {
			_, err := s.CountObservations(ctx, "\xff", store.ObservationFilter{})
			return err
		}},
		{"Population", func() error { _, err := s.Population(ctx, bad, store.PopulationFilter{}); return err }},
		{"empty release id", func() error { _, err := s.Offences(ctx, ""); return err }},
		{"release id with a NUL", func() error { _, err := s.Release(ctx, Release1+"\x00"); return err }},
		{"release id that is not UTF-8", func() error { _, err := s.Offences(ctx, "\xff"); return err }},
		{"offence id with a NUL", func() error { _, err := s.Offence(ctx, Release1, "homicide\x00"); return err }},
		{"region id that is not UTF-8", func() error { _, err := s.Region(ctx, Release1, "NO\xff"); return err }},
		{"source id with a NUL", func() error { _, err := s.Source(ctx, Release1, "\x00"); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: got error %v, want ErrNotFound", c.name, err)
		}
	}
}

// check reports err, or a difference between got and want.
func check(t *testing.T, what string, got any, err error, want any) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	equal(t, what, got, want)
}

// equal compares got and want by their JSON encodings, which is what the API
// serves: a nil and an empty omitempty field are the same, a nil and an empty
// Flags or Observations are not. It reports the first line that differs.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := json.MarshalIndent(want, "", " ")
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if bytes.Equal(g, w) {
		return
	}
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var a, b string
		if i < len(gl) {
			a = gl[i]
		}
		if i < len(wl) {
			b = wl[i]
		}
		if a != b {
			t.Errorf("%s: line %d of the JSON: got %s, want %s", what, i+1, strings.TrimSpace(a), strings.TrimSpace(b))
			return
		}
	}
}

// year and part build the periods of the filters.
func year(y int) *store.Period { return &store.Period{Year: y, Kind: store.PeriodYear} }

func part(y int, kind string, i int) *store.Period {
	return &store.Period{Year: y, Kind: kind, Index: i}
}

// describe prints a filter compactly for failure messages.
func describe(f store.ObservationFilter) string {
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s=%q", name, v))
		}
	}
	add("offences", f.Offences)
	add("regions", f.Regions)
	add("measures", f.Measures)
	add("sources", f.Sources)
	add("sex", f.Sex)
	add("age", f.Age)
	add("citizenship", f.Citizenship)
	if f.From != nil {
		parts = append(parts, "from="+f.From.String())
	}
	if f.To != nil {
		parts = append(parts, "to="+f.To.String())
	}
	if f.After != "" {
		parts = append(parts, fmt.Sprintf("after=%q", f.After))
	}
	if f.Limit != 0 {
		parts = append(parts, fmt.Sprintf("limit=%d", f.Limit))
	}
	return strings.Join(parts, " ")
}
