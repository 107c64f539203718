package handlers_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/ratelimit"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// edgeRouter is the real router with the public edge as serve wires it:
// the gate, a request limit, the response cache keyed by the handlers, and
// a budget of uncached requests (burst misses).
func edgeRouter(t testing.TB, misses int) *gin.Engine {
	t.Helper()
	ds, err := bundled()
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := handlers.New(st, log, openapi.JSON)
	cfg := httpcache.DefaultConfig()
	cfg.RequestKey, cfg.Vary = h.CacheKey, handlers.CacheVary
	tier, err := httpcache.NewTiered(cfg, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tier.Close() })
	release := func(ctx context.Context) (string, time.Time, error) {
		rel, err := st.CurrentRelease(ctx)
		return rel.ID, time.Time{}, err
	}
	limiter := ratelimit.New(ratelimit.Config{Rate: 100000, Burst: 100000}, nil, log)
	budget := ratelimit.New(ratelimit.Config{Name: "misses", What: "uncached requests", Prefix: "misses:", Rate: misses, Burst: misses, Period: time.Hour}, nil, log)
	t.Cleanup(func() { limiter.Close(); budget.Close() })
	return h.Routes(handlers.Options{
		Gate:       ratelimit.NewGate(ratelimit.GateConfig{}).Middleware(),
		RateLimit:  limiter.Middleware(),
		Cache:      httpcache.New(cfg, tier, release, log),
		MissGate:   ratelimit.NewGate(ratelimit.GateConfig{PerClient: 2, Total: 64}).Middleware(),
		MissBudget: budget.Middleware(),
	})
}

// TestHostileRequests is the corpus of requests a hostile client sends:
// each is refused before it costs anything, with a problem.
func TestHostileRequests(t *testing.T) {
	r := edgeRouter(t, 1000)
	many := func(n int) string {
		vs := make([]string, n)
		for i := range vs {
			vs[i] = "c" + strings.Repeat("x", 4-len(itoa(i))) + itoa(i)
		}
		return strings.Join(vs, ",")
	}
	cur := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name   string
		target string
		header []string
		body   bool
		want   int
		param  string
	}{
		{"request line of 3,000 values", "/v1/observations?citizenship=" + many(3000), nil, false, http.StatusRequestURITooLong, ""},
		{"list over its cap", "/v1/observations?citizenship=" + many(101), nil, false, http.StatusBadRequest, "citizenship"},
		{"citizenship not in the release", "/v1/observations?citizenship=Atlantis", nil, false, http.StatusBadRequest, "citizenship"},
		{"unknown parameter", "/v1/observations?regoin=NO", nil, false, http.StatusBadRequest, "regoin"},
		{"repeated single parameter", "/v1/observations?limit=1&limit=2", nil, false, http.StatusBadRequest, "limit"},
		{"cursor with a trailing byte", "/v1/observations?cursor=" + cur([]byte(`{"r":"x","a":"y"} `)), nil, false, http.StatusBadRequest, "cursor"},
		{"cursor with keys swapped", "/v1/observations?cursor=" + cur([]byte(`{"a":"y","r":"x"}`)), nil, false, http.StatusBadRequest, "cursor"},
		{"cursor with a repeated key", "/v1/observations?cursor=" + cur([]byte(`{"r":"x","r":"x","a":"y"}`)), nil, false, http.StatusBadRequest, "cursor"},
		{"cursor padded", "/v1/observations?cursor=" + base64.URLEncoding.EncodeToString([]byte(`{"r":"x","a":"y"}`)), nil, false, http.StatusBadRequest, "cursor"},
		{"Accept of 300 bytes of junk", "/v1/offences", []string{"Accept", strings.Repeat("x/y;", 75)}, false, http.StatusNotAcceptable, ""},
		{"GET with a body", "/v1/offences", []string{"Content-Length", "5"}, true, http.StatusRequestEntityTooLarge, ""},
		{"swagger doc.json", "/swagger/doc.json", nil, false, http.StatusNotFound, ""},
		{"series of two measures", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons,reported-offences", nil, false, http.StatusBadRequest, "measure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.body {
				req = httptest.NewRequest(http.MethodGet, tt.target, strings.NewReader("hello"))
			}
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status: got %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != problem.MediaType {
				t.Errorf("Content-Type: got %q, want %s", ct, problem.MediaType)
			}
			p := decode[problem.Problem](t, rec)
			if p.Status != tt.want || p.Parameter != tt.param {
				t.Errorf("problem: got status %d parameter %q, want %d %q", p.Status, p.Parameter, tt.want, tt.param)
			}
			if rec.Header().Get("X-Cache") == httpcache.HitLocal {
				t.Errorf("a refused request was answered from the cache")
			}
		})
	}
}

// TestOneKeyPerMeaning sends spellings of one request and checks that they
// share one cache entry: the first is computed, every other is a hit with
// the same ETag, and the body's links name the canonical query.
func TestOneKeyPerMeaning(t *testing.T) {
	r := edgeRouter(t, 1000)
	rel := bundledRelease(t)
	groups := []struct {
		name      string
		spellings [][]string // target, then header name/value pairs
		wantSelf  string
	}{
		{"observations", [][]string{
			{"/v1/observations?offence=sex-purchase&region=NO&limit=100"},
			{"/v1/observations?region=NO,NO&offence=sex-purchase&limit=0100"},
			{"/v1/observations?region=NO&region=NO&offence=+sex-purchase&limit=%2B100"},
			{"/v1/observations?offence=sex-purchase&region=NO&limit=100&release=" + rel},
			{"/v1/observations?offence=sex-purchase&region=NO&limit=100&format=json"},
			{"/v1/observations?offence=sex-purchase&region=NO&limit=100", "Accept", "application/json;q=0.9, text/csv;q=0.1"},
			{"/v1/observations?offence=sex-purchase&region=NO&limit=100", "Accept", "*/*"},
		}, "/v1/observations?limit=100&offence=sex-purchase&region=NO"},
		{"series", [][]string{
			{"/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&from=2009"},
			{"/v1/series?measure=reported-persons&region=NO&offence=sex-purchase&from=+2009&small=020"},
			{"/v1/series?offence=sex-purchase,sex-purchase&region=NO&measure=reported-persons&from=2009&small=20"},
		}, ""},
		{"regions as CSV", [][]string{
			{"/v1/regions?type=country,police-district&format=csv"},
			{"/v1/regions?type=police-district&type=country&csv_dialect=rfc4180", "Accept", "text/csv"},
		}, ""},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			var etag string
			for i, sp := range g.spellings {
				rec := do(t, r, "GET", sp[0], sp[1:]...)
				if rec.Code != http.StatusOK {
					t.Fatalf("%s: status %d: %s", sp[0], rec.Code, rec.Body)
				}
				xc := rec.Header().Get("X-Cache")
				switch {
				case i == 0:
					etag = rec.Header().Get("ETag")
					if xc != httpcache.Miss {
						t.Errorf("%s: X-Cache got %s, want %s", sp[0], xc, httpcache.Miss)
					}
				case rec.Header().Get("ETag") != etag || xc != httpcache.HitLocal:
					t.Errorf("%s: ETag %s X-Cache %s, want %s from the local tier", sp, rec.Header().Get("ETag"), xc, etag)
				}
				if g.wantSelf != "" {
					if self := decode[observationList](t, rec).Links.Self; self != g.wantSelf {
						t.Errorf("%s: links.self got %s, want %s", sp[0], self, g.wantSelf)
					}
				}
			}
		})
	}
	// A request the route cannot answer as spelt shares no entry with one
	// it can: the 406 stays a 406 after the JSON is cached.
	if rec := do(t, r, "GET", "/v1/offences"); rec.Code != http.StatusOK {
		t.Fatalf("offences: %d", rec.Code)
	}
	for range 2 {
		if rec := do(t, r, "GET", "/v1/offences", "Accept", "application/json+stat"); rec.Code != http.StatusNotAcceptable {
			t.Errorf("offences as JSON-stat: got %d, want 406 every time", rec.Code)
		}
	}
}

// TestMissBudget spends a client's budget of uncached requests: cached
// answers go on, a new computation gets 429 with the misses policy.
func TestMissBudget(t *testing.T) {
	r := edgeRouter(t, 3)
	for i := range 3 {
		if rec := do(t, r, "GET", "/v1/observations?offence=sex-purchase&limit="+itoa(i+1)); rec.Code != http.StatusOK {
			t.Fatalf("miss %d: got %d", i, rec.Code)
		}
	}
	rec := do(t, r, "GET", "/v1/observations?offence=sex-purchase&limit=4")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("fourth miss: got %d, want 429", rec.Code)
	}
	if got := rec.Header().Values("RateLimit-Policy"); len(got) != 2 || !strings.HasPrefix(got[1], `"misses";q=3`) {
		t.Errorf("RateLimit-Policy: got %q, want the default and the misses policy", got)
	}
	p := decode[problem.Problem](t, rec)
	if p.Type != ratelimit.ProblemType || !strings.Contains(p.Detail, "uncached requests") {
		t.Errorf("problem: got %+v, want a rate-limit problem about uncached requests", p)
	}
	if rec := do(t, r, "GET", "/v1/observations?offence=sex-purchase&limit=01"); rec.Code != http.StatusOK || rec.Header().Get("X-Cache") != httpcache.HitLocal {
		t.Errorf("cached request after the budget: got %d %s, want 200 from the cache", rec.Code, rec.Header().Get("X-Cache"))
	}
}

// TestDownloadNameBounded filters by every region: the CSV's file name
// stays short.
func TestDownloadNameBounded(t *testing.T) {
	r, st := newRouter(t)
	regs, err := st.Regions(context.Background(), bundledRelease(t), store.RegionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, 100)
	for _, reg := range regs {
		if len(ids) < 100 {
			ids = append(ids, reg.ID)
		}
	}
	rec := do(t, r, "GET", "/v1/observations?format=csv&region="+url.QueryEscape(strings.Join(ids, ",")))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if cd := rec.Header().Get("Content-Disposition"); len(cd) > 200 {
		t.Errorf("Content-Disposition: got %d bytes, want at most 200: %s", len(cd), cd)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
