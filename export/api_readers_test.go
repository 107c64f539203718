package export_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/store"
)

// TestAPIFilesWithReaders asks the API for one selection (every figure for
// Norway, names in Norwegian) in each file format and reads each file with
// a reader no one here wrote: DuckDB the CSV and the Parquet file, ExcelJS
// the workbook, the JSON-stat Toolkit the JSON-stat dataset. Each must see
// every row of the selection, the right numbers and the Norwegian names.
func TestAPIFilesWithReaders(t *testing.T) {
	st, ds := bundledStore(t)
	srv := httptest.NewServer(handlers.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), openapi.JSON).Routes(handlers.Options{}))
	t.Cleanup(srv.Close)
	var sel []store.Observation
	for _, o := range ds.Observations {
		if o.Region == "NO" {
			sel = append(sel, o)
		}
	}
	dir := t.TempDir()
	get := func(format string, filter ...string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + "/v1/observations?region=NO&lang=nb&format=" + format + strings.Join(filter, ""))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("format=%s: status %d: %s", format, resp.StatusCode, b)
		}
		path := filepath.Join(dir, "observations."+format)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// The JSON-stat Toolkit expands a dataset to every combination of its
	// categories, so its selection is the totals (no breakdown by sex, age
	// or citizenship), which keeps that product small.
	csvPath, parquetPath, xlsxPath := get("csv"), get("parquet"), get("xlsx")
	jsonstatPath := get("jsonstat", "&sex=total&age=total&citizenship=total")
	totals, err := st.Observations(context.Background(), ds.Release.ID, store.ObservationFilter{
		Regions: []string{"NO"}, Sex: []string{"total"}, Age: []string{"total"}, Citizenship: []string{"total"}})
	if err != nil {
		t.Fatal(err)
	}

	type spot struct {
		spotRow
		Offence string `json:"offence_name"`
		Region  string `json:"region_name"`
	}
	var duck map[string]struct {
		Rows      int    `json:"rows"`
		WithValue int    `json:"withValue"`
		Spot      []spot `json:"spot"`
	}
	if err := json.Unmarshal(runReader(t, "duckdb.mjs", parquetPath, csvPath), &duck); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"parquet", "csv"} {
		got := duck[file]
		if got.Rows != len(sel) || got.WithValue != withValue(sel) {
			t.Errorf("DuckDB, %s: %d rows (%d with a value), want %d (%d)", file, got.Rows, got.WithValue, len(sel), withValue(sel))
		}
		var rows []spotRow
		for _, s := range got.Spot {
			rows = append(rows, s.spotRow)
			if s.Offence != "Kjøp av seksuelle tjenester" || s.Region != "Norge" {
				t.Errorf("DuckDB, %s: names %q %q, want the Norwegian names", file, s.Offence, s.Region)
			}
		}
		if !slices.Equal(rows, spotWant) {
			t.Errorf("DuckDB, %s: spot check %v, want %v", file, rows, spotWant)
		}
	}

	var xl struct {
		Sheets []string `json:"sheets"`
		Rows   int      `json:"rows"`
	}
	if err := json.Unmarshal(runReader(t, "exceljs.js", xlsxPath), &xl); err != nil {
		t.Fatal(err)
	}
	if xl.Rows != len(sel) || !slices.Equal(xl.Sheets, []string{"data", "kilder", "merknader"}) {
		t.Errorf("ExcelJS: %d rows in sheets %v, want %d in data, kilder, merknader", xl.Rows, xl.Sheets, len(sel))
	}

	var js struct {
		Values  int       `json:"values"`
		Offence string    `json:"offence"`
		Region  string    `json:"region"`
		Spot    []spotRow `json:"spot"`
	}
	if err := json.Unmarshal(runReader(t, "jsonstat.js", jsonstatPath), &js); err != nil {
		t.Fatal(err)
	}
	if js.Values != withValue(totals.Observations) || js.Offence != "Kjøp av seksuelle tjenester" || js.Region != "Norge" || !slices.Equal(js.Spot, spotWant) {
		t.Errorf("JSON-stat Toolkit: %d values, %q, %q, spot %v; want %d, the Norwegian names and %v",
			js.Values, js.Offence, js.Region, js.Spot, withValue(totals.Observations), spotWant)
	}
}

// TestWideXLSXWithExcelJS asks for two series as a wide workbook, for a
// chart in a spreadsheet: ExcelJS sees one row per period, one column per
// region with numbers as numbers, and a gap as an empty cell.
func TestWideXLSXWithExcelJS(t *testing.T) {
	st, _ := bundledStore(t)
	srv := httptest.NewServer(handlers.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), openapi.JSON).Routes(handlers.Options{}))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/v1/series?offence=human-trafficking&region=NO,SE&measure=reported-offences&from=2019&to=2022&format=xlsx&layout=wide&lang=nb")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	path := filepath.Join(t.TempDir(), "wide.xlsx")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Frozen bool       `json:"frozen"`
		Header []string   `json:"header"`
		Rows   [][][2]any `json:"rows"`
	}
	if err := json.Unmarshal(runReader(t, "table.js", path), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Frozen || !slices.Equal(got.Header[:3], []string{"period", "Norge", "Sverige"}) {
		t.Fatalf("header %v frozen %v, want period, Norge, Sverige, frozen", got.Header, got.Frozen)
	}
	if len(got.Rows) != 4 {
		t.Fatalf("rows: got %d, want one per year 2019-2022", len(got.Rows))
	}
	for _, row := range got.Rows {
		for _, cell := range row[1:3] {
			if cell[0] != nil && cell[1] != "Number" {
				t.Errorf("period %v: cell %v is %v, want a number", row[0][0], cell[0], cell[1])
			}
		}
	}
}
