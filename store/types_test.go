package store

import (
	"fmt"
	"testing"
	"time"
)

func TestObservationMatcher(t *testing.T) {
	o := Observation{Offence: "sex-purchase", Region: "NO", Period: "2013-T2", Measure: "reported-persons",
		Breakdown: Breakdown{Sex: "female", Citizenship: "Nigeria"}, Source: "s"}
	period := func(s string) *Period {
		p, err := ParsePeriod(s)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	tests := []struct {
		name string
		f    ObservationFilter
		want bool
	}{
		{"empty filter", ObservationFilter{}, true},
		{"offence named", ObservationFilter{Offences: []string{"x", "sex-purchase"}}, true},
		{"offence not named", ObservationFilter{Offences: []string{"x"}}, false},
		{"region repeated", ObservationFilter{Regions: []string{"NO", "NO"}}, true},
		{"measure not named", ObservationFilter{Measures: []string{"reported-offences"}}, false},
		{"source named", ObservationFilter{Sources: []string{"s"}}, true},
		{"sex named", ObservationFilter{Sex: []string{"male", "female"}}, true},
		{"sex total asked, female held", ObservationFilter{Sex: []string{"total"}}, false},
		{"age total asked, total held", ObservationFilter{Age: []string{"total"}}, true},
		{"age empty value asked", ObservationFilter{Age: []string{""}}, false},
		{"citizenship named", ObservationFilter{Citizenship: []string{"Nigeria"}}, true},
		{"citizenship total asked", ObservationFilter{Citizenship: []string{"total"}}, false},
		{"from the year", ObservationFilter{From: period("2013")}, true},
		{"from after", ObservationFilter{From: period("2013-T3")}, false},
		{"to the tertial", ObservationFilter{To: period("2013-T2")}, true},
		{"to before", ObservationFilter{To: period("2013-Q1")}, false},
		{"fields are combined with AND", ObservationFilter{Regions: []string{"NO"}, Sources: []string{"t"}}, false},
	}
	for _, tt := range tests {
		if got := tt.f.Matcher().Match(o); got != tt.want {
			t.Errorf("%s: Matcher().Match: got %v, want %v", tt.name, got, tt.want)
		}
		if got := tt.f.Match(o); got != tt.want {
			t.Errorf("%s: Match: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if !(ObservationMatcher{}).Match(o) {
		t.Error("zero ObservationMatcher: got false, want a match")
	}
}

func TestRegionMatcher(t *testing.T) {
	r := Region{ID: "pd-oslo", Type: "police-district", ValidFrom: "2016-01-01"}
	tests := []struct {
		f    RegionFilter
		want bool
	}{
		{RegionFilter{}, true},
		{RegionFilter{Types: []string{"country", "police-district"}}, true},
		{RegionFilter{Types: []string{"country"}}, false},
		{RegionFilter{ValidOn: "2020-01-01"}, true},
		{RegionFilter{ValidOn: "2015-12-31"}, false},
		{RegionFilter{Types: []string{"police-district"}, ValidOn: "2015-12-31"}, false},
	}
	for _, tt := range tests {
		if got := tt.f.Matcher().Match(r); got != tt.want {
			t.Errorf("%+v: Matcher().Match: got %v, want %v", tt.f, got, tt.want)
		}
		if got := tt.f.Match(r); got != tt.want {
			t.Errorf("%+v: Match: got %v, want %v", tt.f, got, tt.want)
		}
	}
}

// TestMatcherCostIndependentOfListLength: a compiled filter naming 10,000
// values tests an observation about as fast as one naming a single value. A
// linear scan would be thousands of times slower; the bound leaves room for
// a noisy machine and the cost of hashing.
func TestMatcherCostIndependentOfListLength(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	o := Observation{Offence: "sex-purchase", Region: "NO", Period: "2013", Breakdown: Breakdown{Citizenship: "Nigeria"}}
	long := make([]string, 10_000)
	for i := range long {
		long[i] = fmt.Sprintf("c%05d", i)
	}
	// The fastest of a few rounds, so that a pause of the machine does not
	// count.
	perMatch := func(values []string) time.Duration {
		m := ObservationFilter{Regions: values, Citizenship: values}.Matcher()
		const n = 20_000
		best := time.Duration(1<<63 - 1)
		for range 5 {
			start := time.Now()
			for range n {
				m.Match(o)
			}
			best = min(best, time.Since(start)/n)
		}
		return best
	}
	short, longCost := perMatch(long[:1]), perMatch(long)
	if longCost > 20*short+100*time.Nanosecond {
		t.Errorf("a match against 10,000 values: got %s, against one value %s; want about the same", longCost, short)
	}
}
