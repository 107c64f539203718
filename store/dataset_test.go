package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func tiny() *Dataset {
	v := 334.0
	return &Dataset{
		Format:   DatasetFormat,
		Release:  Release{ID: "r1", Created: "2025-01-01T00:00:00Z"},
		Offences: []Offence{{ID: "sex-purchase", Classification: "krimstat"}},
		Regions:  []Region{{ID: "NO", Type: RegionCountry}},
		Measures: []Measure{{ID: "reported-persons", Unit: "persons"}},
		Sources:  []Source{{ID: "s", Publisher: "p", Title: "t", URL: "https://x", Licence: "l"}},
		Observations: []Observation{{Offence: "sex-purchase", Region: "NO", Period: "2009", Measure: "reported-persons",
			Value: &v, Flags: []string{}, Source: "s", Confidence: "A", Locator: "answer text"}},
	}
}

func TestDatasetRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := tiny().Encode(&buf); err != nil {
		t.Fatal(err)
	}
	ds, err := DecodeDataset(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, buf.String())
	}
	var again bytes.Buffer
	if err := ds.Encode(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("re-encoding differs:\n%s\n%s", buf.String(), again.String())
	}
}

// TestDatasetRevisionsRoundTrip: a release's change summary and an
// observation's revision survive encoding, and a file written before they
// existed decodes with neither.
func TestDatasetRevisionsRoundTrip(t *testing.T) {
	d := tiny()
	old := 300.0
	d.Release.Changes = &ChangeSummary{Since: "r0", ChangeCounts: ChangeCounts{Revised: 1},
		Sources: []SourceChanges{{Source: "s", ChangeCounts: ChangeCounts{Revised: 1}}}}
	d.Observations[0].Flags = []string{FlagRevised}
	d.Observations[0].Revision = &Revision{Release: "r0", Value: &old}
	var buf bytes.Buffer
	if err := d.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"changes":{"since":"r0","added":0,"removed":0,"revised":1,"metadata_revised":0,"unchanged":0,"sources":[{"source":"s","added":0,"removed":0,"revised":1,"metadata_revised":0,"unchanged":0}]}`,
		`"revision":{"release":"r0","value":300}`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("encoded: got\n%s\nwant it to contain %s", buf.String(), want)
		}
	}
	got, err := DecodeDataset(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Release.Changes == nil || got.Release.Changes.Revised != 1 || got.Observations[0].Revision == nil ||
		*got.Observations[0].Revision.Value != 300 {
		t.Errorf("decoded: got changes %+v, revision %+v; want both back", got.Release.Changes, got.Observations[0].Revision)
	}

	buf.Reset()
	if err := tiny().Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "revision") || strings.Contains(buf.String(), "changes") {
		t.Errorf("a release without revisions: got %s, want neither revision nor changes", buf.String())
	}
	older := `{"format":"krimstat-dataset/1","release":{"id":"r1","created":"2025-01-01T00:00:00Z","current":false},
"offences":[],"regions":[],"measures":[],"sources":[],"population":[],"observations":[]}`
	if _, err := DecodeDataset(strings.NewReader(older)); err != nil {
		t.Errorf("a file of the format before changes and revisions: got %v, want it decoded", err)
	}
}

func TestDatasetValidate(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(d *Dataset)
		want   string
	}{
		{"unknown offence", func(d *Dataset) { d.Observations[0].Offence = "x" }, `unknown offence "x"`},
		{"unknown flag", func(d *Dataset) { d.Observations[0].Flags = []string{"guess"} }, `unknown flag "guess"`},
		{"value and text", func(d *Dataset) { d.Observations[0].ValueText = "<5" }, "exactly one of value and value_text"},
		{"neither value nor text", func(d *Dataset) { d.Observations[0].Value = nil }, "exactly one of value and value_text"},
		{"duplicate", func(d *Dataset) { d.Observations = append(d.Observations, d.Observations[0]) }, "same key as observations[0]"},
		{"bad period", func(d *Dataset) { d.Observations[0].Period = "2009-T9" }, "period"},
		{"no locator", func(d *Dataset) { d.Observations[0].Locator = "" }, "locator is empty"},
		{"bad format", func(d *Dataset) { d.Format = "v0" }, "format"},
		{"bad region type", func(d *Dataset) { d.Regions[0].Type = "city" }, "unknown type"},
		{"changes since itself", func(d *Dataset) { d.Release.Changes = &ChangeSummary{Since: "r1"} }, "changes.since"},
		{"changes since nothing", func(d *Dataset) { d.Release.Changes = &ChangeSummary{} }, "changes.since"},
		{"revision without flag", func(d *Dataset) { d.Observations[0].Revision = &Revision{Release: "r0", ValueText: "<5"} }, "without the revised flag"},
		{"revision without release", func(d *Dataset) {
			d.Observations[0].Flags = []string{FlagRevised}
			d.Observations[0].Revision = &Revision{ValueText: "<5"}
		}, "revision: release is empty"},
		{"revision without value", func(d *Dataset) {
			d.Observations[0].Flags = []string{FlagRevised}
			d.Observations[0].Revision = &Revision{Release: "r0"}
		}, "revision: exactly one of value and value_text"},
	}
	for _, tt := range tests {
		d := tiny()
		tt.break_(d)
		err := d.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid containing %q", tt.name, err, tt.want)
		}
	}
}

// FuzzDecodeDataset checks that the bundled-format reader never panics and
// that whatever it accepts is valid and re-encodes stably.
func FuzzDecodeDataset(f *testing.F) {
	var buf bytes.Buffer
	_ = tiny().Encode(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"krimstat-dataset/1"}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ds, err := DecodeDataset(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
		var out bytes.Buffer
		if err := ds.Encode(&out); err != nil {
			t.Fatal(err)
		}
	})
}
