package handlers_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// bundled decodes the embedded release once; tests share it read-only.
var bundled = sync.OnceValues(func() (*store.Dataset, error) {
	return store.DecodeDataset(bytes.NewReader(data.Bundled))
})

// newRouter returns the real router over an in-memory store holding the
// bundled release.
func newRouter(t testing.TB) (*gin.Engine, *memory.Store) {
	t.Helper()
	ds, err := bundled()
	if err != nil {
		t.Fatalf("decode bundled release: %v", err)
	}
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return handlers.New(st, log, openapi.JSON).Routes(handlers.Options{}), st
}

// bundledRelease is the id of the bundled release, which changes whenever
// the reference data do.
func bundledRelease(t testing.TB) string {
	t.Helper()
	ds, err := bundled()
	if err != nil {
		t.Fatalf("decode bundled release: %v", err)
	}
	return ds.Release.ID
}

func do(t testing.TB, r http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	return rec
}

type observationList struct {
	Data  []store.Observation `json:"data"`
	Links struct {
		Self string `json:"self"`
		Next string `json:"next"`
	} `json:"links"`
	Meta struct {
		Release string         `json:"release"`
		Count   int            `json:"count"`
		Total   int            `json:"total"`
		Sources []store.Source `json:"sources"`
	} `json:"meta"`
}

func decode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v\n%s", rec.Header().Get("Content-Type"), err, rec.Body.String())
	}
	return v
}

// TestSexPurchase2009To2010 is the acceptance query of the core issue: both
// sources' 2009 figures and the 2010 figure, each with its source.
func TestSexPurchase2009To2010(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", "/v1/observations?offence=sex-purchase&region=NO&measure=reported-persons&from=2009&to=2010")
	if rec.Code != 200 {
		t.Fatalf("status: got %d, want 200: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("content type: got %q, want application/json; charset=utf-8", ct)
	}
	got := decode[observationList](t, rec)
	want := map[string]float64{
		"2009 stortinget-54169":        334,
		"2009 klassekampen-2023-01-04": 355,
		"2010 stortinget-54169":        359,
	}
	if len(got.Data) != len(want) {
		t.Fatalf("observations: got %d, want %d: %+v", len(got.Data), len(want), got.Data)
	}
	for _, o := range got.Data {
		w, ok := want[o.Period+" "+o.Source]
		if !ok || o.Value == nil || *o.Value != w {
			t.Errorf("%s %s: got %v, want %v", o.Period, o.Source, o.Value, w)
		}
		if o.Locator == "" || o.Confidence == "" {
			t.Errorf("%s %s: locator %q confidence %q, want both set", o.Period, o.Source, o.Locator, o.Confidence)
		}
	}
	if len(got.Meta.Sources) != 2 {
		t.Errorf("meta.sources: got %d, want 2", len(got.Meta.Sources))
	}
}

func TestRoutes(t *testing.T) {
	r, _ := newRouter(t)
	tests := []struct {
		name        string
		target      string
		header      []string
		status      int
		contentType string
		body        []string // substrings the body must contain
		param       string   // for 400s: the parameter the problem names
	}{
		{"offences", "/v1/offences", nil, 200, "application/json; charset=utf-8", []string{`"id":"sex-purchase"`, `"§ 316"`, `"id":"iccs/0302"`}, ""},
		{"offence by id", "/v1/offences/sex-purchase", nil, 200, "application/json; charset=utf-8", []string{`"Kjøp av seksuelle tjenester"`}, ""},
		{"offence id with slash", "/v1/offences/human-trafficking/aggravated", nil, 200, "application/json; charset=utf-8", []string{`"parent":"human-trafficking"`}, ""},
		{"unknown offence", "/v1/offences/sex-buying", nil, 404, "application/problem+json", []string{`"status":404`, `"type":"https://krimstat.no/problems/not-found"`}, ""},
		{"regions", "/v1/regions", nil, 200, "application/json; charset=utf-8", []string{`"id":"pd2002-oslo"`, `"id":"pd2016-oslo"`, `"id":"NO"`}, ""},
		{"regions by type and date", "/v1/regions?type=police-district&valid_on=2015-06-30", nil, 200, "application/json; charset=utf-8", []string{`"count":27`}, ""},
		{"regions after reform", "/v1/regions?type=police-district&valid_on=2016-01-01", nil, 200, "application/json; charset=utf-8", []string{`"count":12`}, ""},
		{"region with predecessors", "/v1/regions/pd2016-trondelag", nil, 200, "application/json; charset=utf-8", []string{`"region":"pd2002-sor-trondelag"`, `"inferred":true`}, ""},
		{"unknown region", "/v1/regions/XX", nil, 404, "application/problem+json", nil, ""},
		{"bad region type", "/v1/regions?type=city", nil, 400, "application/problem+json", nil, "type"},
		{"bad valid_on", "/v1/regions?valid_on=2016-13-01", nil, 400, "application/problem+json", nil, "valid_on"},
		{"measures", "/v1/measures", nil, 200, "application/json; charset=utf-8", []string{`"id":"reported-persons"`, `"unit":"persons"`}, ""},
		{"sources", "/v1/sources", nil, 200, "application/json; charset=utf-8", []string{`"id":"unodc-glotip-2025"`, `"table_id":"crim_off_cat"`}, ""},
		{"source by id", "/v1/sources/stortinget-54169", nil, 200, "application/json; charset=utf-8", []string{`"published":"2012-06-22"`}, ""},
		{"unknown source", "/v1/sources/nobody", nil, 404, "application/problem+json", nil, ""},
		{"population", "/v1/population?region=NO&from=2009&to=2010", nil, 200, "application/json; charset=utf-8", []string{`"date":"2009-01-01"`, `"date":"2010-01-01"`, `"count":2`}, ""},
		{"releases", "/v1/releases", nil, 200, "application/json; charset=utf-8", []string{`"current":true`, `"sha256"`}, ""},
		{"unknown release", "/v1/releases/nope", nil, 404, "application/problem+json", nil, ""},
		{"release param unknown", "/v1/offences?release=nope", nil, 404, "application/problem+json", nil, ""},
		{"suppressed value", "/v1/observations?region=NO&measure=persons-convicted&from=2020&to=2020&offence=human-trafficking&sex=total&age=total&citizenship=total", nil, 200, "application/json; charset=utf-8", []string{`"value":null,"value_text":"<5","flags":["suppressed"]`}, ""},
		{"csv by format", "/v1/observations?offence=sex-purchase&format=csv", nil, 200, "text/csv; charset=utf-8; header=present", []string{"offence,region,period,measure", "sex-purchase,NO,2009,reported-persons"}, ""},
		{"csv by accept", "/v1/offences", []string{"Accept", "text/csv"}, 200, "text/csv; charset=utf-8; header=present", []string{"id,parent,classification"}, ""},
		{"not acceptable", "/v1/offences", []string{"Accept", "image/png"}, 406, "application/problem+json", nil, ""},
		{"bad from", "/v1/observations?from=20x9", nil, 400, "application/problem+json", []string{`"parameter":"from"`}, "from"},
		{"to before from", "/v1/observations?from=2010&to=2009", nil, 400, "application/problem+json", nil, "to"},
		{"limit zero", "/v1/observations?limit=0", nil, 400, "application/problem+json", nil, "limit"},
		{"limit too big", "/v1/observations?limit=10001", nil, 400, "application/problem+json", nil, "limit"},
		{"unknown format", "/v1/observations?format=xml", nil, 400, "application/problem+json", nil, "format"},
		{"unknown parameter", "/v1/observations?country=NO", nil, 400, "application/problem+json", nil, "country"},
		{"unknown filter value", "/v1/observations?offence=sex-buying", nil, 400, "application/problem+json", []string{"/v1/offences"}, "offence"},
		{"bad cursor", "/v1/observations?cursor=garbage", nil, 400, "application/problem+json", nil, "cursor"},
		{"bad sex", "/v1/observations?sex=f", nil, 400, "application/problem+json", nil, "sex"},
		{"repeated single", "/v1/observations?from=2009&from=2010", nil, 400, "application/problem+json", nil, "from"},
		{"unknown route", "/v2/observations", nil, 404, "application/problem+json", []string{"route-not-found"}, ""},
		{"healthz", "/healthz", nil, 200, "application/json; charset=utf-8", []string{`"ok"`}, ""},
		{"readyz", "/readyz", nil, 200, "application/json; charset=utf-8", []string{`"ready"`}, ""},
		{"openapi", "/openapi.json", nil, 200, "application/json; charset=utf-8", nil, ""},
		{"swagger ui", "/swagger/index.html", nil, 200, "text/html; charset=utf-8", nil, ""},
		// The UI's assets, read from the executable's embedded files.
		{"swagger ui script", "/swagger/swagger-ui-bundle.js", nil, 200, "application/javascript", nil, ""},
		{"swagger ui style", "/swagger/swagger-ui.css", nil, 200, "text/css; charset=utf-8", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, r, "GET", tt.target, tt.header...)
			if rec.Code != tt.status {
				t.Fatalf("status: got %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tt.contentType {
				t.Errorf("content type: got %q, want %q", ct, tt.contentType)
			}
			for _, s := range tt.body {
				if !strings.Contains(rec.Body.String(), s) {
					t.Errorf("body: got %.300s, want it to contain %s", rec.Body, s)
				}
			}
			if tt.status >= 400 {
				p := decode[problem.Problem](t, rec)
				if p.Status != tt.status || p.Title == "" || p.Detail == "" || !strings.HasPrefix(p.Type, "https://") {
					t.Errorf("problem: got %+v, want status %d with type, title and detail", p, tt.status)
				}
				if p.Parameter != tt.param {
					t.Errorf("problem parameter: got %q, want %q", p.Parameter, tt.param)
				}
				if p.RequestID == "" || p.RequestID != rec.Header().Get("X-Request-ID") {
					t.Errorf("problem request id: got %q, header %q", p.RequestID, rec.Header().Get("X-Request-ID"))
				}
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "POST", "/v1/offences")
	if rec.Code != 405 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST: got %d %s, want 405 problem+json", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestHead(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "HEAD", "/v1/offences")
	if rec.Code != 200 {
		t.Errorf("HEAD: got %d, want 200", rec.Code)
	}
}

// TestPagination walks every page of a large query and checks that each
// observation comes exactly once, in order, and that the cursor pins the
// release.
func TestPagination(t *testing.T) {
	r, st := newRouter(t)
	ds, _ := bundled()
	target := "/v1/observations?region=NO&limit=250"
	var keys []string
	pages := 0
	for target != "" {
		rec := do(t, r, "GET", target)
		if rec.Code != 200 {
			t.Fatalf("%s: got %d: %s", target, rec.Code, rec.Body)
		}
		page := decode[observationList](t, rec)
		for _, o := range page.Data {
			keys = append(keys, o.Key())
		}
		if rec.Header().Get("X-Krimstat-Release") != ds.Release.ID {
			t.Fatalf("release header: got %q, want %q", rec.Header().Get("X-Krimstat-Release"), ds.Release.ID)
		}
		target = page.Links.Next
		pages++
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
	}
	want := 0
	for _, o := range ds.Observations {
		if o.Region == "NO" {
			want++
		}
	}
	if len(keys) != want {
		t.Fatalf("observations over all pages: got %d, want %d", len(keys), want)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Fatalf("order broken at %d: %q then %q", i, keys[i-1], keys[i])
		}
	}
	_ = st
}

// TestEveryFigureReachable checks that each Norwegian figure can be found
// through the API with its source, and that the number of observations per
// source served equals the release's own count.
func TestEveryFigureReachable(t *testing.T) {
	r, _ := newRouter(t)
	ds, _ := bundled()
	for _, o := range ds.Observations {
		if o.Source == "eurostat-crim-off-cat" || o.Source == "unodc-glotip-2025" {
			continue
		}
		target := "/v1/observations?offence=" + o.Offence + "&region=" + o.Region + "&measure=" + o.Measure +
			"&from=" + o.Period + "&to=" + o.Period + "&source=" + o.Source
		rec := do(t, r, "GET", target)
		got := decode[observationList](t, rec)
		if len(got.Data) != 1 || got.Data[0].Value == nil || *got.Data[0].Value != *o.Value {
			t.Errorf("%s: got %+v, want one observation of %v", target, got.Data, *o.Value)
		}
	}
	for src, want := range ds.Release.Counts {
		id, ok := strings.CutPrefix(src, "observations:")
		if !ok {
			continue
		}
		rec := do(t, r, "GET", "/v1/observations?limit=1&source="+id)
		if got := decode[observationList](t, rec).Meta.Total; got != want {
			t.Errorf("source %s: got total %d, want %d", id, got, want)
		}
	}
}

func TestCSVIsRFC4180(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", "/v1/observations?region=NO&measure=detected-victims&format=csv&limit=10000")
	if !strings.Contains(rec.Body.String(), "\r\n") {
		t.Error("CSV lines do not end in CRLF")
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v", err)
	}
	if rows[0][0] != "offence" || len(rows) < 2 {
		t.Fatalf("CSV: got header %v and %d rows", rows[0], len(rows))
	}
	for _, row := range rows[1:] {
		if row[8] == "" && row[9] != "<5" {
			t.Errorf("row %v: empty value without value_text", row)
		}
	}
}

func TestCORS(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", "/v1/offences", "Origin", "https://news.example")
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("GET Access-Control-Allow-Origin: got %q, want *", got)
	}
	rec = do(t, r, "OPTIONS", "/v1/observations", "Origin", "https://news.example", "Access-Control-Request-Method", "GET")
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "*" || rec.Header().Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight: got %d %v, want 204 with CORS headers", rec.Code, rec.Header())
	}
}

func TestCSVExcelDialectOnEveryList(t *testing.T) {
	r, _ := newRouter(t)
	for _, target := range []string{"/v1/offences", "/v1/regions", "/v1/measures", "/v1/sources", "/v1/population", "/v1/observations?region=NO&measure=reported-offences-per-100k"} {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		rec := do(t, r, "GET", target+sep+"format=csv&csv_dialect=excel-no")
		if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "\ufeff") || !strings.Contains(strings.SplitN(rec.Body.String(), "\n", 2)[0], ";") {
			t.Errorf("%s excel-no: got %d %.80q, want 200, a BOM and ';' separators", target, rec.Code, rec.Body.String())
		}
	}
}

// TestCiteIsNotShared: a citation carries the client's Host and today's
// date, so it must never be stored by a shared cache.
func TestCiteIsNotShared(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", "/v1/cite?offence=sex-purchase&region=NO&measure=reported-persons")
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("cite: got %d Cache-Control %q, want 200 no-store", rec.Code, rec.Header().Get("Cache-Control"))
	}
}
