package memory_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// BenchmarkQueries measures typical queries on the bundled release: a
// series, the first page of everything, a page further on, and walking the
// whole release.
func BenchmarkQueries(b *testing.B) {
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		b.Fatal(err)
	}
	s := memory.New()
	if err := s.Load(ds); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rel := ds.Release.ID
	page, err := s.Observations(ctx, rel, store.ObservationFilter{Limit: 5000})
	if err != nil {
		b.Fatal(err)
	}
	tests := []struct {
		name string
		f    store.ObservationFilter
	}{
		{"series", store.ObservationFilter{Offences: []string{"sex-purchase"}, Regions: []string{"NO"}}},
		{"first-page", store.ObservationFilter{Limit: 100}},
		{"later-page", store.ObservationFilter{Limit: 100, After: page.Next}},
		{"region-years", store.ObservationFilter{Regions: []string{"SE"}, From: &store.Period{Year: 2015, Kind: store.PeriodYear}}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Observations(ctx, rel, tt.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("each-all", func(b *testing.B) {
		for b.Loop() {
			n := 0
			if err := s.EachObservation(ctx, rel, store.ObservationFilter{}, func(store.Observation) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
