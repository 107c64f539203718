package memory_test

import (
	"testing"

	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, releases ...*store.Dataset) store.Store {
		s := memory.New()
		for _, d := range releases {
			if err := s.Load(d); err != nil {
				t.Fatalf("load %s: %v", d.Release.ID, err)
			}
		}
		return s
	})
}

// TestRepeatedFilterValues: a value named twice selects what naming it once
// does, each observation once (the candidates are looked up per distinct
// value).
func TestRepeatedFilterValues(t *testing.T) {
	s := memory.New()
	if err := s.Load(storetest.Dataset1()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	o := storetest.Dataset1().Observations[0]
	tests := []struct {
		once, twice store.ObservationFilter
	}{
		{store.ObservationFilter{Regions: []string{o.Region}}, store.ObservationFilter{Regions: []string{o.Region, o.Region}}},
		{store.ObservationFilter{Offences: []string{o.Offence}}, store.ObservationFilter{Offences: []string{o.Offence, o.Offence, o.Offence}}},
		{store.ObservationFilter{Sources: []string{o.Source}, Limit: 2}, store.ObservationFilter{Sources: []string{o.Source, o.Source}, Limit: 2}},
	}
	for _, tt := range tests {
		want, err := s.Observations(ctx, storetest.Release1, tt.once)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Observations(ctx, storetest.Release1, tt.twice)
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != want.Total || len(got.Observations) != len(want.Observations) || got.Next != want.Next {
			t.Errorf("%+v: got total %d, %d observations, next %q; want %d, %d, %q", tt.twice,
				got.Total, len(got.Observations), got.Next, want.Total, len(want.Observations), want.Next)
		}
		n := 0
		if err := s.EachObservation(ctx, storetest.Release1, tt.twice, func(store.Observation) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != len(want.Observations) {
			t.Errorf("EachObservation(%+v): got %d observations, want %d", tt.twice, n, len(want.Observations))
		}
		if c, err := s.CountObservations(ctx, storetest.Release1, tt.twice); err != nil || c != len(want.Observations) {
			t.Errorf("CountObservations(%+v): got %d, %v; want %d", tt.twice, c, err, len(want.Observations))
		}
	}
}

// TestEachObservationAllocations: walking a selection allocates the same
// few objects (the compiled filter, the merge of its index lists) whatever
// the size of the release and of the selection, so a whole-release download
// holds no copy of either.
func TestEachObservationAllocations(t *testing.T) {
	s := memory.New()
	for _, d := range []*store.Dataset{storetest.Synthetic("small", 10000), storetest.Synthetic("big", 100000)} {
		if err := s.Load(d); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	walk := func(rel string, f store.ObservationFilter) (n int, allocs float64) {
		allocs = testing.AllocsPerRun(3, func() {
			n = 0
			err := s.EachObservation(ctx, rel, f, func(store.Observation) error { n++; return nil })
			if err != nil {
				t.Fatal(err)
			}
		})
		return n, allocs
	}
	for _, f := range []store.ObservationFilter{
		{},
		{Offences: []string{"offence-003"}},
		{Offences: []string{"offence-003", "offence-011", "offence-017"}, Measures: []string{"rate-per-100k"}},
		{Sources: []string{"synthetic", "other"}, Sex: []string{"total"}},
	} {
		small, smallAllocs := walk("small", f)
		big, bigAllocs := walk("big", f)
		if big < 5*small || bigAllocs > smallAllocs {
			t.Errorf("EachObservation(%+v): got %.0f allocations for %d observations, %.0f for %d; want no more for more",
				f, bigAllocs, big, smallAllocs, small)
		}
	}
}
