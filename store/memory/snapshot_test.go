package memory_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/storetest"
)

// mustSnapshot returns ds as a snapshot.
func mustSnapshot(tb testing.TB, ds *store.Dataset) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := memory.EncodeSnapshot(&buf, ds); err != nil {
		tb.Fatalf("EncodeSnapshot %s: %v", ds.Release.ID, err)
	}
	return buf.String()
}

// TestSnapshotConformance runs the conformance suite on releases loaded from
// snapshots, the way the server loads the bundled release.
func TestSnapshotConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, releases ...*store.Dataset) store.Store {
		s := memory.New()
		for _, d := range releases {
			if err := s.LoadSnapshot(mustSnapshot(t, d)); err != nil {
				t.Fatalf("load snapshot %s: %v", d.Release.ID, err)
			}
		}
		return s
	})
}

// oddities is a release with what a snapshot must keep apart: nil and empty
// flags, a value of zero and none, negative and fractional values,
// revisions with and without a value, and every breakdown field.
func oddities() *store.Dataset {
	d := storetest.Dataset2()
	zero, neg := 0.0, -1.5
	o := d.Observations
	o[0].Flags = nil
	o[1].Flags = []string{}
	o[2].Value = &zero
	o[3].Value = &neg
	o[4].Breakdown = store.Breakdown{Sex: "female", Age: "0-17", Citizenship: "Norway", RepatriationCountry: "Sweden"}
	return d
}

// TestSnapshotRoundTrip checks that a snapshot reads back as the release it
// was written from, sorted, down to nil and empty lists.
func TestSnapshotRoundTrip(t *testing.T) {
	for _, ds := range []*store.Dataset{storetest.Dataset1(), storetest.Dataset2(), oddities(), storetest.Synthetic("synthetic", 5000)} {
		t.Run(ds.Release.ID, func(t *testing.T) {
			got, err := memory.DecodeSnapshot(mustSnapshot(t, ds))
			if err != nil {
				t.Fatal(err)
			}
			ds.Sort()
			// Lists are compared as the release file writes them, where a
			// nil list and an empty one are both []; observations exactly.
			var g, w bytes.Buffer
			if err := got.Encode(&g); err != nil {
				t.Fatal(err)
			}
			if err := ds.Encode(&w); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(g.Bytes(), w.Bytes()) {
				t.Errorf("got a release whose JSON differs from that of the one written")
			}
			if !reflect.DeepEqual(got.Observations, ds.Observations) {
				t.Errorf("got observations differing from those written")
			}
		})
	}
}

// TestSnapshotCarriesEveryField fails when an observation gains a field
// that the snapshot does not write: the field would be lost without a
// sound from every release the server loads from a snapshot.
func TestSnapshotCarriesEveryField(t *testing.T) {
	tests := []struct {
		typ  reflect.Type
		want []string
	}{
		{reflect.TypeFor[store.Observation](), []string{"Offence", "Region", "Period", "Measure", "Breakdown", "Value", "ValueText", "Flags", "Source", "Confidence", "Locator", "Revision"}},
		{reflect.TypeFor[store.Breakdown](), []string{"Sex", "Age", "Citizenship", "RepatriationCountry"}},
		{reflect.TypeFor[store.Revision](), []string{"Release", "Value", "ValueText"}},
	}
	for _, tt := range tests {
		var got []string
		for f := range tt.typ.Fields() {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got fields %v, want %v; teach store/memory's table and snapshot the new field, and change SnapshotFormat", tt.typ, got, tt.want)
		}
	}
}

// withChecksum returns snap with its checksum made to match its body, so
// that a damaged body reaches the decoder's own checks.
func withChecksum(snap string) string {
	head := len(memory.SnapshotFormat)
	if len(snap) < head+sha256.Size {
		return snap
	}
	sum := sha256.Sum256([]byte(snap[head+sha256.Size:]))
	return snap[:head] + string(sum[:]) + snap[head+sha256.Size:]
}

// TestSnapshotDamaged checks that a damaged snapshot is an error wrapping
// store.ErrInvalid, whether its checksum catches the damage or not.
func TestSnapshotDamaged(t *testing.T) {
	good := mustSnapshot(t, storetest.Dataset2())
	head := len(memory.SnapshotFormat) + sha256.Size
	flip := func(s string, i int) string { b := []byte(s); b[i] ^= 0x40; return string(b) }
	tests := []struct {
		name string
		snap string
	}{
		{"empty", ""},
		{"JSON", string(data.Bundled[:200])},
		{"other format", strings.Replace(good, "/1\n", "/2\n", 1)},
		{"header only", good[:head]},
		{"truncated", good[:len(good)-1]},
		{"truncated, checksum matching", withChecksum(good[:len(good)-1])},
		{"trailing byte, checksum matching", withChecksum(good + "\x00")},
		{"byte flipped in the release", flip(good, head+10)},
		{"byte flipped in the release, checksum matching", withChecksum(flip(good, head+10))},
		{"byte flipped in the rows", flip(good, len(good)-3)},
		{"byte flipped in the checksum", flip(good, head-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := memory.DecodeSnapshot(tt.snap); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("DecodeSnapshot: got %v, want an error wrapping store.ErrInvalid", err)
			}
			if err := memory.New().LoadSnapshot(tt.snap); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("LoadSnapshot: got %v, want an error wrapping store.ErrInvalid", err)
			}
		})
	}
}

// TestSnapshotRefusesInvalid: a release that does not validate is never
// written, since loading a snapshot does not validate it again.
func TestSnapshotRefusesInvalid(t *testing.T) {
	ds := storetest.Dataset1()
	ds.Observations[0].Offence = "no-such-offence"
	var buf bytes.Buffer
	if err := memory.EncodeSnapshot(&buf, ds); !errors.Is(err, store.ErrInvalid) || buf.Len() != 0 {
		t.Errorf("EncodeSnapshot: got %v and %d bytes, want an error wrapping store.ErrInvalid and none", err, buf.Len())
	}
}

// TestSnapshotReloaded: loading a release id twice is refused, from a
// snapshot as from a dataset.
func TestSnapshotReloaded(t *testing.T) {
	s := memory.New()
	if err := s.Load(storetest.Dataset1()); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadSnapshot(mustSnapshot(t, storetest.Dataset1())); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("LoadSnapshot: got %v, want an error wrapping store.ErrInvalid", err)
	}
}

// TestBundledSnapshotEquivalent checks the bundled release as the server
// loads it (from data.Snapshot) against the same release loaded from its
// JSON, through every read method.
func TestBundledSnapshotEquivalent(t *testing.T) {
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		t.Fatal(err)
	}
	want := memory.New()
	if err := want.Load(ds); err != nil {
		t.Fatal(err)
	}
	got := memory.New()
	if err := got.LoadSnapshot(data.Snapshot); err != nil {
		t.Fatal(err)
	}
	storetest.Equivalent(t, want, got, ds.Release.ID)
}

// FuzzDecodeSnapshot checks that reading a snapshot never panics, whether
// the checksum stops the damage or the decoder must.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(mustSnapshot(f, storetest.Dataset1()))
	f.Add(mustSnapshot(f, oddities()))
	f.Fuzz(func(t *testing.T, snap string) {
		for _, s := range []string{snap, withChecksum(snap)} {
			ds, err := memory.DecodeSnapshot(s)
			if err != nil {
				if !errors.Is(err, store.ErrInvalid) {
					t.Errorf("got %v, want an error wrapping store.ErrInvalid", err)
				}
				continue
			}
			// Whatever decodes serves every read without a panic.
			st := memory.New()
			if err := st.LoadSnapshot(s); err != nil {
				t.Fatalf("LoadSnapshot after DecodeSnapshot succeeded: %v", err)
			}
			if _, err := st.Observations(t.Context(), ds.Release.ID, store.ObservationFilter{Limit: 3}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
