package memory_test

import (
	"bytes"
	"testing"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// BenchmarkLoadBundled measures loading a release file: decoding,
// validating and indexing the bundled release's JSON.
func BenchmarkLoadBundled(b *testing.B) {
	for b.Loop() {
		ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
		if err != nil {
			b.Fatal(err)
		}
		if err := memory.New().Load(ds); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadSnapshot measures the server's start-up work with no
// configuration: loading the bundled release from its snapshot.
func BenchmarkLoadSnapshot(b *testing.B) {
	for b.Loop() {
		if err := memory.New().LoadSnapshot(data.Snapshot); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeDataset measures reading a release file: decoding and
// validating the bundled release's JSON, as serve -data and ingest do.
func BenchmarkDecodeDataset(b *testing.B) {
	for b.Loop() {
		if _, err := store.DecodeDataset(bytes.NewReader(data.Bundled)); err != nil {
			b.Fatal(err)
		}
	}
}
