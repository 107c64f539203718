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
	}
}
