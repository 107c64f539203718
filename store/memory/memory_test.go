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
