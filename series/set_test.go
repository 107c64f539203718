package series_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
)

func TestRequests(t *testing.T) {
	base := series.Request{Measure: count, Per: series.RatePer, Small: 7}
	got, err := series.Requests(base, []string{"o1", "o2"}, []string{"NO", "pd2016-x", "SE"})
	if err != nil {
		t.Fatalf("Requests: %v", err)
	}
	var pairs []string
	for _, r := range got {
		pairs = append(pairs, r.Offence+"/"+r.Region)
		if r.Measure != count || r.Per != series.RatePer || r.Small != 7 {
			t.Errorf("%s/%s: got %+v, want base's measure, per and small", r.Offence, r.Region, r)
		}
	}
	if want := []string{"o1/NO", "o1/pd2016-x", "o1/SE", "o2/NO", "o2/pd2016-x", "o2/SE"}; !reflect.DeepEqual(pairs, want) {
		t.Errorf("order: got %v, want %v (offence by offence, regions in the order given)", pairs, want)
	}

	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a' + i))
		}
		return out
	}
	tests := []struct {
		name              string
		offences, regions []string
		wantParam         string // "" for no error
	}{
		{"one", many(1), many(1), ""},
		{"twelve regions", many(1), many(series.MaxSeries), ""},
		{"3 × 4", many(3), many(4), ""},
		{"thirteen regions", many(1), many(series.MaxSeries + 1), "region"},
		{"thirteen offences", many(series.MaxSeries + 1), many(1), "offence"},
		{"4 × 4", many(4), many(4), "region"},
		{"5 × 3", many(5), many(3), "offence"},
		{"no offence", nil, many(1), "offence"},
		{"no region", many(1), nil, "region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := series.Requests(base, tt.offences, tt.regions)
			if tt.wantParam == "" {
				if err != nil || len(got) != len(tt.offences)*len(tt.regions) {
					t.Errorf("got %d requests (%v), want %d", len(got), err, len(tt.offences)*len(tt.regions))
				}
				return
			}
			var pe *store.ParamError
			if !errors.As(err, &pe) || pe.Param != tt.wantParam || !errors.Is(err, store.ErrInvalid) {
				t.Errorf("got %v, want an invalid-parameter error naming %s", err, tt.wantParam)
			}
		})
	}
}

func TestBuildSet(t *testing.T) {
	st := newStore(t,
		ob("NO", "2009", count, "a1", v(334), "A"), ob("NO", "2010", count, "a1", v(359), "A"),
		ob("NO", "2009", count, "b1", v(355), "B"),
		ob("pd2016-x", "2016", count, "b1", v(40), "B"), suppressed("pd2016-x", "2017", "b1"),
		ob("pd2016-x", "2010-T1", count, "b1", v(4), "B"),
	)
	reqs, err := series.Requests(series.Request{Measure: count, Small: series.DefaultSmall, Per: series.RatePer},
		[]string{offence}, []string{"NO", "pd2016-x"})
	if err != nil {
		t.Fatal(err)
	}
	set, err := series.BuildSet(context.Background(), st, rel, reqs)
	if err != nil {
		t.Fatalf("BuildSet: %v", err)
	}
	if len(set.Series) != 2 || set.Series[0].Region != "NO" || set.Series[1].Region != "pd2016-x" {
		t.Fatalf("series: got %+v, want NO then pd2016-x", set.Series)
	}
	// Each series is built on its own: its own source by precedence, its
	// own rates (none for a district), exactly as Build builds it alone.
	for i, r := range reqs {
		if want := build(t, st, r); !reflect.DeepEqual(set.Series[i], want) {
			t.Errorf("series %d: got %+v, want what Build returns alone, %+v", i, set.Series[i], want)
		}
	}
	if set.Series[0].Source != "a1" || set.Series[1].Source != "b1" {
		t.Errorf("sources chosen: got %s and %s, want a1 and b1", set.Series[0].Source, set.Series[1].Source)
	}
	if want := []string{"2009", "2010", "2010-T1", "2016", "2017"}; !reflect.DeepEqual(set.Periods, want) {
		t.Errorf("periods: got %v, want %v (the union in period order, a year before its parts)", set.Periods, want)
	}
	var ids []string
	for _, s := range set.Sources {
		ids = append(ids, s.ID)
	}
	// In the release's order: a1, b1, then the population (NO's rates).
	if want := []string{"a1", "b1", store.PopulationSource}; !reflect.DeepEqual(ids, want) {
		t.Errorf("sources: got %v, want %v", ids, want)
	}

	// One series: the set is that series, with its own sources.
	one, err := series.BuildSet(context.Background(), st, rel, reqs[:1])
	if err != nil || len(one.Series) != 1 || !reflect.DeepEqual(one.Sources, one.Series[0].Sources) ||
		!reflect.DeepEqual(one.Periods, []string{"2009", "2010"}) {
		t.Errorf("one series: got %+v (%v), want NO alone with its sources and periods", one, err)
	}

	// A rule that fails for one series fails the set, naming the parameter.
	for i := range reqs {
		reqs[i].Per, reqs[i].Harmonise = 0, series.Harmonise2016
	}
	_, err = series.BuildSet(context.Background(), st, rel, reqs)
	var pe *store.ParamError
	if !errors.As(err, &pe) || pe.Param != "harmonise" {
		t.Errorf("harmonise on NO and pd2016-x: got %v, want an error naming harmonise", err)
	}
	if _, err := series.BuildSet(context.Background(), st, rel, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no requests: got %v, want ErrInvalid", err)
	}
}

func TestPeriods(t *testing.T) {
	mk := func(periods ...string) series.Series {
		s := series.Series{}
		for _, p := range periods {
			s.Points = append(s.Points, series.Point{Period: p})
		}
		return s
	}
	tests := []struct {
		name string
		ss   []series.Series
		want []string
	}{
		{"none", nil, []string{}},
		{"empty series", []series.Series{mk(), mk()}, []string{}},
		{"overlapping", []series.Series{mk("2010", "2012"), mk("2009", "2010", "2011")}, []string{"2009", "2010", "2011", "2012"}},
		{"kinds", []series.Series{mk("2014", "2013-T3"), mk("2013", "2014-T1")}, []string{"2013", "2013-T3", "2014", "2014-T1"}}, // a year before its parts
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := series.Periods(tt.ss); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
