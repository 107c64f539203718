package data_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/store"
)

// TestSnapshotMatchesJSON checks that the snapshot the server loads holds
// the committed JSON release exactly: read back and encoded as JSON, it
// gives krimstat.json byte for byte, so the two cannot drift apart.
func TestSnapshotMatchesJSON(t *testing.T) {
	ds, err := data.Dataset()
	if err != nil {
		t.Fatalf("Dataset: %v (run: go generate ./data)", err)
	}
	var got bytes.Buffer
	if err := ds.Encode(&got); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got.Bytes(), data.Bundled) {
		return
	}
	gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(data.Bundled), "\n")
	for i := 0; i < len(gl) && i < len(wl); i++ {
		if gl[i] != wl[i] {
			t.Fatalf("data/krimstat.snap differs from data/krimstat.json at line %d:\n got  %.200s\n want %.200s\nrun: go generate ./data", i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("data/krimstat.snap differs from data/krimstat.json: %d lines, want %d; run: go generate ./data", len(gl), len(wl))
}

// TestBundledValidates checks the JSON release the snapshot is made from:
// the snapshot is loaded without validating it again.
func TestBundledValidates(t *testing.T) {
	if _, err := store.DecodeDataset(bytes.NewReader(data.Bundled)); err != nil {
		t.Fatal(err)
	}
}
