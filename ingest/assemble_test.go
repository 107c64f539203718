package ingest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/store"
)

// A two-cell JSON-stat dataset and its mapping onto ids of the bundled
// release, under a source of its own.
const (
	testJSONStat = `{"version": "2.0", "class": "dataset", "label": "test",
  "id": ["iccs", "geo", "time"], "size": [1, 1, 2],
  "dimension": {
    "iccs": {"category": {"index": ["ICCS0301"]}},
    "geo": {"category": {"index": ["NO"]}},
    "time": {"category": {"index": ["2020", "2021"]}}
  },
  "value": [3, 4]}`
	testMapping = `{
  "source": {"id": "test-jsonstat", "publisher": "Eurostat", "title": "Test table", "url": "https://example.org/test",
    "table_id": "test", "kind": "official", "licence": "CC BY 4.0"},
  "confidence": "A",
  "offence": {"dimension": "iccs", "codes": {"ICCS0301": "iccs/0301"}},
  "region": {"dimension": "geo", "codes": {"NO": "NO"}},
  "period": {"dimension": "time", "format": "eurostat"},
  "measure": {"fixed": "reported-offences"},
  "status": {}
}`
)

// mustBundled builds the bundled release from the reference data and returns
// it encoded, as data.Bundled holds it.
func mustBundled(t *testing.T) (*store.Dataset, []byte) {
	t.Helper()
	ds, err := Build(testenv.ReferenceData(t))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var b bytes.Buffer
	if err := ds.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return ds, b.Bytes()
}

func mustWrite(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAssembleWithoutNewInputsKeepsBase(t *testing.T) {
	base, bundled := mustBundled(t)
	ds, err := Assemble(context.Background(), Inputs{Bundled: bundled})
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	if ds.Release.ID != base.Release.ID || len(ds.Observations) != len(base.Observations) {
		t.Errorf("got release %s with %d observations, want %s with %d", ds.Release.ID, len(ds.Observations), base.Release.ID, len(base.Observations))
	}
}

func TestAssembleReplacesEurostat(t *testing.T) {
	base, bundled := mustBundled(t)
	tsv := filepath.Join(testenv.ReferenceData(t), "eurostat", "crim_off_cat.tsv")
	ds, err := Assemble(context.Background(), Inputs{Bundled: bundled, EurostatTSV: tsv})
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	// The same extract again replaces the Eurostat figures by themselves.
	if len(ds.Observations) != len(base.Observations) {
		t.Errorf("observations: got %d, want %d", len(ds.Observations), len(base.Observations))
	}
	if want := "Built by krimstat ingest from crim_off_cat.tsv."; ds.Release.Note != want {
		t.Errorf("note: got %q, want %q", ds.Release.Note, want)
	}
	files := ds.Release.Files
	if len(files) != len(base.Release.Files)+1 || files[len(files)-1].Path != "crim_off_cat.tsv" {
		t.Errorf("files: got %v, want the base's %d and then crim_off_cat.tsv", files, len(base.Release.Files))
	}
}

func TestAssembleAddsJSONStat(t *testing.T) {
	base, bundled := mustBundled(t)
	dir := t.TempDir()
	mapping := mustWrite(t, dir, "mapping.json", testMapping)
	file := mustWrite(t, dir, "table.json", testJSONStat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(testJSONStat))
	}))
	defer srv.Close()

	tests := []struct {
		name          string
		in            Inputs
		wantFile      string
		wantRetrieved string
	}{
		{"file", Inputs{JSONStatFile: file}, file, ""},
		{"url", Inputs{JSONStatURL: srv.URL, FetchTimeout: time.Minute}, srv.URL, time.Now().UTC().Format("2006-01-02")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Bundled, in.Mapping = bundled, mapping
			ds, err := Assemble(context.Background(), in)
			if err != nil {
				t.Fatalf("Assemble: %v", err)
			}
			if got, want := len(ds.Observations), len(base.Observations)+2; got != want {
				t.Errorf("observations: got %d, want %d", got, want)
			}
			if got := ds.Release.Files[len(ds.Release.Files)-1].Path; got != tt.wantFile {
				t.Errorf("last file: got %q, want %q", got, tt.wantFile)
			}
			if got := ds.Release.Counts["observations:test-jsonstat"]; got != 2 {
				t.Errorf("observations of test-jsonstat: got %d, want 2", got)
			}
			for _, s := range ds.Sources {
				if s.ID == "test-jsonstat" && s.Retrieved != tt.wantRetrieved {
					t.Errorf("retrieved: got %q, want %q", s.Retrieved, tt.wantRetrieved)
				}
			}
		})
	}
}

func TestAssembleRejectsContradictions(t *testing.T) {
	tests := []struct {
		name string
		in   Inputs
	}{
		{"reference and eurostat", Inputs{Reference: "ref", EurostatTSV: "a.tsv"}},
		{"reference and base", Inputs{Reference: "ref", BaseFile: "base.json"}},
		{"dataset without mapping", Inputs{JSONStatFile: "t.json"}},
		{"mapping without dataset", Inputs{Mapping: "m.json"}},
		{"file and URL", Inputs{JSONStatFile: "t.json", JSONStatURL: "https://example.org", Mapping: "m.json"}},
		{"no base", Inputs{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Assemble(context.Background(), tt.in)
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("got %v, want an error wrapping store.ErrInvalid", err)
			}
		})
	}
}

func TestAssembleBadEurostatNamesFile(t *testing.T) {
	_, bundled := mustBundled(t)
	tsv := mustWrite(t, t.TempDir(), "bad.tsv", "freq,iccs,unit,geo\\TIME_PERIOD\t2008 \nA,ICCS0101,NR,NO\t12x \n")
	_, err := Assemble(context.Background(), Inputs{Bundled: bundled, EurostatTSV: tsv})
	if err == nil || !strings.Contains(err.Error(), "bad.tsv:2: column 2") {
		t.Errorf("got %v, want an error naming bad.tsv:2: column 2", err)
	}
}
