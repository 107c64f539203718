package handlers_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/storetest"
)

// TestFilesAreWhole reads a selection as JSON pages and as files: a CSV or
// JSON-stat without limit holds every row of the selection, with limit a
// page, in both CSV dialects.
func TestFilesAreWhole(t *testing.T) {
	r, _ := newRouter(t)
	const sel = "/v1/observations?region=NO"
	total := decode[observationList](t, do(t, r, "GET", sel)).Meta.Total
	if total <= 100 {
		t.Fatalf("selection of %d rows: want more than one page (100) to test with", total)
	}
	tests := []struct {
		name, target string
		wantRows     int
	}{
		{"csv", sel + "&format=csv", total},
		{"csv excel-no", sel + "&format=csv&csv_dialect=excel-no", total},
		{"csv by Accept", sel, total},
		{"csv with limit", sel + "&format=csv&limit=7", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			if tt.name == "csv by Accept" {
				header = []string{"Accept", "text/csv"}
			}
			rec := do(t, r, "GET", tt.target, header...)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			body := bytes.TrimPrefix(rec.Body.Bytes(), []byte("\ufeff"))
			cr := csv.NewReader(bytes.NewReader(body))
			if strings.Contains(tt.target, "excel-no") {
				cr.Comma = ';'
			}
			rows, err := cr.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if got := len(rows) - 1; got != tt.wantRows {
				t.Errorf("rows: got %d, want %d", got, tt.wantRows)
			}
			if rec.Header().Get("Link") != "" && tt.wantRows == total {
				t.Errorf("a whole file has a next link: %s", rec.Header().Get("Link"))
			}
		})
	}
	rec := do(t, r, "GET", sel+"&format=jsonstat")
	var ds struct {
		Extension struct {
			Krimstat struct {
				Cells map[string]json.RawMessage `json:"cells"`
			} `json:"krimstat"`
		} `json:"extension"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ds); err != nil {
		t.Fatal(err)
	}
	if got := len(ds.Extension.Krimstat.Cells); got != total {
		t.Errorf("JSON-stat cells: got %d, want %d (the whole selection)", got, total)
	}
}

// TestWideLayout pivots a selection: one row per period, one column per
// source (the dimension that varies), the flags and sources beside.
func TestWideLayout(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", "/v1/observations?offence=sex-purchase&region=NO&measure=reported-persons&format=csv&layout=wide")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	rows, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, want := range []string{"period", "stortinget-54169", "klassekampen-2023-01-04", "flags", "sources"} {
		if _, ok := col[want]; !ok {
			t.Fatalf("header %v: want a %s column", rows[0], want)
		}
	}
	by := map[string][]string{}
	for _, row := range rows[1:] {
		by[row[0]] = row
	}
	if got := by["2009"]; got == nil || got[col["stortinget-54169"]] != "334" || got[col["klassekampen-2023-01-04"]] != "355" {
		t.Errorf("2009: got %v, want 334 (Stortinget) and 355 (Klassekampen)", got)
	}
	if got := by["2010"]; got == nil || got[col["klassekampen-2023-01-04"]] != "" {
		t.Errorf("2010: got %v, want a gap for Klassekampen", got)
	}
	if rec := do(t, r, "GET", "/v1/observations?offence=sex-purchase&layout=wide"); rec.Code != http.StatusBadRequest {
		t.Errorf("layout=wide as JSON: got %d, want 400", rec.Code)
	}
}

// TestSelectionTooLarge asks a synthetic release (flagged synthetic, never
// served) for more rows than a JSON-stat file holds: the request is
// refused with a problem naming the release download, not cut.
func TestSelectionTooLarge(t *testing.T) {
	st := memory.New()
	ds := storetest.Synthetic("synthetic-1", 120_000)
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	r := handlers.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), openapi.JSON).Routes(handlers.Options{})
	rec := do(t, r, "GET", "/v1/observations?format=jsonstat")
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status: got %d, want 400", rec.Code)
	}
	p := decode[problem.Problem](t, rec)
	if !strings.HasSuffix(p.Type, "/selection-too-large") || !strings.Contains(p.Detail, "/v1/releases/synthetic-1/download") {
		t.Errorf("problem: got %+v, want selection-too-large naming the download", p)
	}
	// The same selection as a CSV is within its bound and whole.
	rec = do(t, r, "GET", "/v1/observations?format=csv")
	if n := bytes.Count(rec.Body.Bytes(), []byte("\n")) - 1; rec.Code != http.StatusOK || n != len(ds.Observations) {
		t.Errorf("CSV: got %d with %d rows, want 200 with %d", rec.Code, n, len(ds.Observations))
	}
}
