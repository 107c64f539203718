package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/store"
)

// These tests read what the package writes with readers no one here wrote:
// DuckDB, the Frictionless datapackage library and ExcelJS (see
// testdata/readers). Each must see every row of the bundled release, with
// the right numbers and names.

// spotRow is one figure of the spot check: persons reported for sex
// purchase in Norway, 2009 and 2010, which two sources give for 2009.
type spotRow struct {
	Period string  `json:"period"`
	Value  float64 `json:"value"`
	Source string  `json:"source"`
}

// spotWant is the spot check in (period, source) order: the bundled
// release's figures, as published.
var spotWant = []spotRow{
	{"2009", 355, "klassekampen-2023-01-04"},
	{"2009", 334, "stortinget-54169"},
	{"2010", 359, "stortinget-54169"},
}

// withValue counts the observations given as a number.
func withValue(obs []store.Observation) int {
	n := 0
	for _, o := range obs {
		if o.Value != nil {
			n++
		}
	}
	return n
}

func TestReadBundleWithDuckDB(t *testing.T) {
	st, ds := bundledStore(t)
	b, err := export.Bundle(context.Background(), st, export.Current)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := unzip(t, b)
	dir := writeFiles(t, files)
	out := runReader(t, "duckdb.mjs", filepath.Join(dir, "observations.parquet"), filepath.Join(dir, "observations.csv"))

	type fileResult struct {
		Rows      int               `json:"rows"`
		WithValue int               `json:"withValue"`
		Types     map[string]string `json:"types"`
		Spot      []struct {
			spotRow
			Offence     string `json:"offence_name"`
			Region      string `json:"region_name"`
			Measure     string `json:"measure_name"`
			SourceTitle string `json:"source_title"`
		} `json:"spot"`
	}
	var got map[string]fileResult
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, out)
	}
	for _, file := range []string{"parquet", "csv"} {
		r, ok := got[file]
		if !ok {
			t.Fatalf("duckdb read no %s file: %s", file, out)
		}
		if r.Rows != len(ds.Observations) {
			t.Errorf("%s: DuckDB sees %d rows, want %d", file, r.Rows, len(ds.Observations))
		}
		// A figure given as text is null, never zero.
		if want := withValue(ds.Observations); r.WithValue != want {
			t.Errorf("%s: DuckDB sees %d values, want %d (the rest null)", file, r.WithValue, want)
		}
		for col, want := range map[string]string{"value": "DOUBLE", "period_start": "DATE", "offence": "VARCHAR", "flags": "VARCHAR"} {
			if r.Types[col] != want {
				t.Errorf("%s: DuckDB reads %s as %s, want %s", file, col, r.Types[col], want)
			}
		}
		var spot []spotRow
		for _, s := range r.Spot {
			spot = append(spot, s.spotRow)
			if s.Offence != "Purchase of sexual services" || s.Region != "Norway" || s.Measure != "Persons reported" || s.SourceTitle == "" {
				t.Errorf("%s: names %q %q %q %q, want Purchase of sexual services, Norway, Persons reported and a source title",
					file, s.Offence, s.Region, s.Measure, s.SourceTitle)
			}
		}
		if !slices.Equal(spot, spotWant) {
			t.Errorf("%s: spot check %v, want %v", file, spot, spotWant)
		}
	}
}

// TestValidateBundleWithDatapackage validates the bundle of the bundled
// release, and of a small one with the awkward cases (quotes, a line break
// and a pipe in text, a zero, a suppressed figure, a breakdown, a missing
// Norwegian name, a self-reference), and reads every table with its schema.
func TestValidateBundleWithDatapackage(t *testing.T) {
	bundledSt, bundledDS := bundledStore(t)
	small := smallDataset()
	tests := []struct {
		name string
		st   store.Store
		ds   *store.Dataset
	}{
		{"bundled", bundledSt, bundledDS},
		{"small", newStore(t, small), small},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			validateBundle(t, tt.st, tt.ds)
		})
	}
}

// TestDatapackageRejectsBrokenBundles checks that the validation above can
// fail: a bundle whose observations break their schema is refused.
func TestDatapackageRejectsBrokenBundles(t *testing.T) {
	ds := smallDataset()
	b, err := export.Bundle(context.Background(), newStore(t, ds), export.Current)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := unzip(t, b)
	lines := strings.SplitAfter(string(good["observations.csv"]), "\n")
	tests := []struct {
		name string
		edit func(lines []string) []string
		want string
	}{
		{"unknown region", func(l []string) []string {
			l[1] = strings.Replace(l[1], ",NO,Norway,", ",XX,Nowhere,", 1)
			return l
		}, "Foreign key"},
		{"text as a number", func(l []string) []string {
			l[1] = strings.Replace(l[1], ",334,", ",many,", 1)
			return l
		}, "is not type"},
		{"repeated row", func(l []string) []string {
			return slices.Insert(l, 2, l[1])
		}, "unique constraint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := maps.Clone(good)
			files["observations.csv"] = []byte(strings.Join(tt.edit(slices.Clone(lines)), ""))
			path := filepath.Join(t.TempDir(), "broken.zip")
			if err := os.WriteFile(path, zipFiles(t, files), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _, err := readerOutput(t, "datapackage.js", path)
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("broken bundle: exit %v, output %s; want a failure naming %q", err, out, tt.want)
			}
		})
	}
}

func validateBundle(t *testing.T, st store.Store, ds *store.Dataset) {
	b, err := export.Bundle(context.Background(), st, export.Current)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "krimstat.zip")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runReader(t, "datapackage.js", path)
	var got struct {
		Valid     bool     `json:"valid"`
		Errors    []string `json:"errors"`
		Profile   string   `json:"profile"`
		Name      string   `json:"name"`
		Version   string   `json:"version"`
		Resources map[string]struct {
			Valid   bool     `json:"valid"`
			Tabular bool     `json:"tabular"`
			Errors  []string `json:"errors"`
			Rows    int      `json:"rows"`
			Fields  []string `json:"fields"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("datapackage output: %v\n%s", err, out)
	}
	if !got.Valid || len(got.Errors) > 0 {
		t.Fatalf("datapackage: valid %v, errors %q", got.Valid, got.Errors)
	}
	if got.Name != "krimstat" || got.Version != ds.Release.ID || got.Profile != "data-package" {
		t.Errorf("package name %q version %q profile %q, want krimstat %q data-package", got.Name, got.Version, got.Profile, ds.Release.ID)
	}
	tables := []struct {
		resource string
		rows     int
	}{
		{"observations", len(ds.Observations)},
		{"offences", len(ds.Offences)},
		{"regions", len(ds.Regions)},
		{"measures", len(ds.Measures)},
		{"sources", len(ds.Sources)},
		{"population", len(ds.Population)},
	}
	for _, tt := range tables {
		r, ok := got.Resources[tt.resource]
		if !ok {
			t.Errorf("resource %s missing", tt.resource)
			continue
		}
		if !r.Valid || !r.Tabular || len(r.Errors) > 0 {
			t.Errorf("resource %s: valid %v tabular %v errors %q", tt.resource, r.Valid, r.Tabular, r.Errors)
		}
		if r.Rows != tt.rows {
			t.Errorf("resource %s: read %d rows, want %d", tt.resource, r.Rows, tt.rows)
		}
	}
	if r := got.Resources["observations"]; !slices.Equal(r.Fields, export.Columns) {
		t.Errorf("observations fields %q, want %q", r.Fields, export.Columns)
	}
	if r, ok := got.Resources["observations-parquet"]; !ok || !r.Valid || r.Tabular {
		t.Errorf("resource observations-parquet: present %v valid %v tabular %v, want a valid non-tabular resource", ok, r.Valid, r.Tabular)
	}
}

func TestReadXLSXWithExcelJS(t *testing.T) {
	st, ds := bundledStore(t)
	suppressed := len(ds.Observations) - withValue(ds.Observations)
	tests := []struct {
		lang                     string
		sheets                   []string
		offence, region, measure string
	}{
		{export.EN, []string{"data", "sources", "notes"}, "Purchase of sexual services", "Norway", "Persons reported"},
		{export.NB, []string{"data", "kilder", "merknader"}, "Kjøp av seksuelle tjenester", "Norge", "Personer anmeldt"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			ctx := context.Background()
			n, err := export.NewNames(ctx, st, export.Current, tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := export.WriteXLSX(&buf, n, export.Rows(ctx, st, n, store.ObservationFilter{}), "https://example.org/v1/observations?format=xlsx"); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "krimstat.xlsx")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out := runReader(t, "exceljs.js", path)
			var got struct {
				Sheets           []string       `json:"sheets"`
				Header           []string       `json:"header"`
				Frozen           bool           `json:"frozen"`
				Rows             int            `json:"rows"`
				ValueTypes       map[string]int `json:"valueTypes"`
				PeriodTypes      map[string]int `json:"periodTypes"`
				PeriodStartTypes map[string]int `json:"periodStartTypes"`
				SourceRows       int            `json:"sourceRows"`
				Notes            []string       `json:"notes"`
				Spot             []struct {
					spotRow
					PeriodStart string `json:"periodStart"`
					Offence     string `json:"offence_name"`
					Region      string `json:"region_name"`
					Measure     string `json:"measure_name"`
				} `json:"spot"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("exceljs output: %v\n%s", err, out)
			}
			if !slices.Equal(got.Sheets, tt.sheets) {
				t.Errorf("sheets %q, want %q", got.Sheets, tt.sheets)
			}
			if !slices.Equal(got.Header, export.Columns) || !got.Frozen {
				t.Errorf("header %q frozen %v, want %q frozen", got.Header, got.Frozen, export.Columns)
			}
			if got.Rows != len(ds.Observations) {
				t.Errorf("ExcelJS sees %d data rows, want %d", got.Rows, len(ds.Observations))
			}
			// Numbers are numbers; a figure given as text leaves its cell empty.
			if want := map[string]int{"Number": withValue(ds.Observations), "Null": suppressed}; !maps.Equal(got.ValueTypes, want) {
				t.Errorf("value cells %v, want %v", got.ValueTypes, want)
			}
			if want := map[string]int{"String": len(ds.Observations)}; !maps.Equal(got.PeriodTypes, want) {
				t.Errorf("period cells %v, want %v (text)", got.PeriodTypes, want)
			}
			if want := map[string]int{"Date": len(ds.Observations)}; !maps.Equal(got.PeriodStartTypes, want) {
				t.Errorf("period_start cells %v, want %v (dates)", got.PeriodStartTypes, want)
			}
			if got.SourceRows != len(ds.Sources)-1 {
				// Every source but the population's gives observations.
				t.Errorf("sources sheet: %d rows, want %d", got.SourceRows, len(ds.Sources)-1)
			}
			var spot []spotRow
			for _, s := range got.Spot {
				spot = append(spot, s.spotRow)
				if s.Offence != tt.offence || s.Region != tt.region || s.Measure != tt.measure || s.PeriodStart != s.Period+"-01-01" {
					t.Errorf("names %q %q %q period_start %q, want %q %q %q %s-01-01", s.Offence, s.Region, s.Measure, s.PeriodStart, tt.offence, tt.region, tt.measure, s.Period)
				}
			}
			if !slices.Equal(spot, spotWant) {
				t.Errorf("spot check %v, want %v", spot, spotWant)
			}
			notes := strings.Join(got.Notes, "\n")
			for _, want := range []string{ds.Release.ID, "example.org/v1/observations", "suppressed", "provisional", "partial-year", "break-in-series", "approximate", "<5", "value_text"} {
				if !strings.Contains(notes, want) {
					t.Errorf("notes sheet does not mention %q", want)
				}
			}
		})
	}
}
