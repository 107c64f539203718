package jsonstat

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/krimstat/krimstat/store"
)

// FuzzDecode feeds arbitrary bytes to Decode. It must never panic; what it
// accepts must be self-consistent, must map (or fail to map) without
// panicking, and a dataset that ToObservations reads must survive another
// Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, pattern := range []string{"*.json", "bad/*.json"} {
		files, err := filepath.Glob(filepath.Join(testdata, pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	var enc bytes.Buffer
	if err := Encode(&enc, testObservations(), testMeta()); err != nil {
		f.Fatal(err)
	}
	f.Add(enc.Bytes())
	maps := []Mapping{
		mustLoadMapping(f, filepath.Join(mappings, "ssb-05300-example.json")),
		mustLoadMapping(f, filepath.Join(testdata, "eurostat-test-mapping.json")),
		mustLoadMapping(f, filepath.Join(testdata, "bad-mapping.json")),
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data, maps) })
}

// checkDecode is the body of FuzzDecode.
func checkDecode(t *testing.T, data []byte, maps []Mapping) {
	ds, err := Decode(bytes.NewReader(data), "fuzz.json")
	if err != nil {
		return
	}
	if len(ds.ID) != len(ds.Size) || len(ds.Dimension) != len(ds.ID) {
		t.Fatalf("accepted an inconsistent dataset: id %v size %v", ds.ID, ds.Size)
	}
	n := 1
	for i, id := range ds.ID {
		if got := len(ds.Dimension[id].Codes); got != ds.Size[i] {
			t.Fatalf("dimension %s has %d codes, size %d", id, got, ds.Size[i])
		}
		n *= ds.Size[i]
	}
	if n != ds.Len() {
		t.Fatalf("Len() = %d, want %d", ds.Len(), n)
	}
	cells := 0
	for c := range ds.Cells() {
		if c.Index < 0 || c.Index >= ds.Len() || len(c.Codes) != len(ds.ID) {
			t.Fatalf("bad cell %+v", c)
		}
		if cells++; cells > 10000 {
			break
		}
	}
	for _, m := range maps {
		Map(ds, m)
	}
	obs, err := ToObservations(ds)
	if err != nil {
		return
	}
	var meta EncodeMeta
	seen := map[string]bool{}
	for _, o := range obs {
		if !seen[o.Source] {
			seen[o.Source] = true
			meta.Sources = append(meta.Sources, store.Source{ID: o.Source})
		}
	}
	var buf bytes.Buffer
	if err := Encode(&buf, obs, meta); err != nil {
		// Decoded cells can be what Encode refuses (a period that does
		// not parse, two codes that both mean the total).
		return
	}
	ds2, err := Decode(&buf, "again.json")
	if err != nil {
		t.Fatalf("Decode of Encode's output: %v\n%s", err, buf.Bytes())
	}
	obs2, err := ToObservations(ds2)
	if err != nil {
		t.Fatalf("ToObservations of Encode's output: %v", err)
	}
	if !reflect.DeepEqual(obs, obs2) {
		t.Fatalf("round trip differs:\n%+v\n%+v", obs, obs2)
	}
}
