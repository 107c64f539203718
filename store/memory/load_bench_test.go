package memory_test

import (
	"bytes"
	"testing"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// BenchmarkLoadBundled measures start-up work: decoding, validating and
// indexing the bundled release.
func BenchmarkLoadBundled(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
		if err != nil {
			b.Fatal(err)
		}
		if err := memory.New().Load(ds); err != nil {
			b.Fatal(err)
		}
	}
}
