package store

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestValidateSameKey checks that Validate reports two observations as the
// same exactly when their Keys are equal, which it decides without
// building the Keys: periods are compared parsed, and fields holding the
// separator of Key (which may make one Key of two different field lists)
// are compared by Key.
func TestValidateSameKey(t *testing.T) {
	tests := []struct {
		name  string
		a, b  func(*Observation)
		flags []string
	}{
		{"identical", func(*Observation) {}, func(*Observation) {}, nil},
		{"another year", func(*Observation) {}, func(o *Observation) { o.Period = "2010" }, nil},
		{"a part of the year", func(*Observation) {}, func(o *Observation) { o.Period = "2009-T1" }, nil},
		{"two unreadable periods", func(o *Observation) { o.Period = "x" }, func(o *Observation) { o.Period = "y" }, nil},
		{"another breakdown", func(*Observation) {}, func(o *Observation) { o.Breakdown.Sex = "female" }, nil},
		{"another source", func(*Observation) {}, func(o *Observation) { o.Source = "s2" }, nil},
		{"the same value otherwise", func(*Observation) {}, func(o *Observation) { o.Locator = "elsewhere" }, nil},
		{"separator moved between fields",
			func(o *Observation) { o.Breakdown.Sex, o.Breakdown.Age = "a"+keySep+"b", "c" },
			func(o *Observation) { o.Breakdown.Sex, o.Breakdown.Age = "a", "b"+keySep+"c" }, nil},
		{"separator in one only",
			func(o *Observation) { o.Breakdown.Sex = "a" + keySep },
			func(o *Observation) { o.Breakdown.Sex = "a" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tiny()
			d.Sources = append(d.Sources, Source{ID: "s2", Publisher: "p", Title: "t", URL: "https://x", Licence: "l"})
			b := d.Observations[0]
			tt.a(&d.Observations[0])
			tt.b(&b)
			d.Observations = append(d.Observations, b)
			want := d.Observations[0].Key() == d.Observations[1].Key()
			err := d.Validate()
			got := err != nil && strings.Contains(err.Error(), "same key as observations[0]")
			if got != want {
				t.Errorf("got error %v; want a same-key error: %v", err, want)
			}
		})
	}
}

// TestDecodeDatasetReaders checks that a release reads the same from any
// reader, whether it tells its length (bytes.Reader, a file) or not.
func TestDecodeDatasetReaders(t *testing.T) {
	var buf bytes.Buffer
	if err := tiny().Encode(&buf); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/r.json"
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		r    interface{ Read([]byte) (int, error) }
	}{
		{"bytes.Reader", bytes.NewReader(buf.Bytes())},
		{"strings.Reader", strings.NewReader(buf.String())},
		{"file", f},
		{"no length", struct{ *strings.Reader }{strings.NewReader(buf.String())}},
		{"one byte at a time", oneByte{strings.NewReader(buf.String())}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := DecodeDataset(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			var again bytes.Buffer
			if err := ds.Encode(&again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), buf.Bytes()) {
				t.Errorf("got\n%s\nwant\n%s", again.String(), buf.String())
			}
		})
	}
	if _, err := DecodeDataset(failing{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("a reader that fails: got %v, want its error", err)
	}
}

type oneByte struct{ r *strings.Reader }

func (o oneByte) Read(p []byte) (int, error) { return o.r.Read(p[:min(1, len(p))]) }

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
