package httpcache_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/krimstat/krimstat/cache"
	"github.com/krimstat/krimstat/cache/httpcache"
)

func TestMain(m *testing.M) {
	// Gin's debug mode prints every route; the tests read better without.
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

var releaseTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// app is a small API behind the response cache whose handlers count their
// calls. Its release id can be changed to simulate loading new data.
type app struct {
	engine  *gin.Engine
	tier    *cache.Tiered
	calls   *atomic.Int64
	release atomic.Value // string
	delay   time.Duration
}

// observations is a body large enough to be compressed.
var observations = `{"data":[` + strings.Repeat(`{"offence":"sex-purchase","region":"NO","period":"2009","value":132},`, 60) + `{}]}`

func testConfig() httpcache.Config {
	cfg := httpcache.DefaultConfig()
	cfg.ListParams = []string{"offence", "region", "measure", "source"}
	cfg.Revision = "test"
	return cfg
}

func mustTier(tb testing.TB, cfg httpcache.Config) *cache.Tiered {
	tb.Helper()
	tier, err := httpcache.NewTiered(cfg, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tier.Close() })
	return tier
}

// newApp builds the router; calls may be shared between apps to count the
// computations of several processes.
func newApp(tb testing.TB, cfg httpcache.Config, tier *cache.Tiered, calls *atomic.Int64) *app {
	tb.Helper()
	if calls == nil {
		calls = new(atomic.Int64)
	}
	a := &app{tier: tier, calls: calls}
	a.release.Store("2024-01")
	release := func(context.Context) (string, time.Time, error) {
		return a.release.Load().(string), releaseTime, nil
	}
	r := gin.New()
	v1 := r.Group("/v1", httpcache.New(cfg, tier, release, nil))
	both := []string{http.MethodGet, http.MethodHead}
	v1.Match(both, "/observations", func(c *gin.Context) {
		a.calls.Add(1)
		time.Sleep(a.delay)
		c.Header("X-Krimstat-Release", a.release.Load().(string))
		c.Header("Link", `</v1/observations?cursor=2>; rel="next"`)
		c.Header("Set-Cookie", "session=per-request")
		if f, _ := httpcache.Negotiate(c.Request.URL.Query(), c.GetHeader("Accept")); f == "csv" {
			c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte("offence,region\nsex-purchase,NO\n"))
			return
		}
		c.Data(http.StatusOK, "application/json; charset=utf-8", []byte(observations))
	})
	v1.GET("/small", func(c *gin.Context) {
		a.calls.Add(1)
		c.String(http.StatusOK, "ok")
	})
	v1.GET("/missing", func(c *gin.Context) {
		a.calls.Add(1)
		time.Sleep(a.delay)
		c.Data(http.StatusNotFound, "application/problem+json", []byte(`{"status":404}`))
	})
	v1.GET("/private", func(c *gin.Context) {
		a.calls.Add(1)
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusOK, "fresh")
	})
	v1.POST("/observations", func(c *gin.Context) {
		a.calls.Add(1)
		c.String(http.StatusOK, "posted")
	})
	a.engine = r
	return a
}

func (a *app) do(tb testing.TB, method, target string, header ...string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	a.engine.ServeHTTP(w, req)
	return w
}

func TestRepeatedGetServedFromMemory(t *testing.T) {
	cfg := testConfig()
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	for i, want := range []string{httpcache.Miss, httpcache.HitLocal, httpcache.HitLocal} {
		w := a.do(t, http.MethodGet, "/v1/observations?offence=sex-purchase&region=NO")
		if w.Code != http.StatusOK || w.Body.String() != observations {
			t.Fatalf("request %d: got %d with %d bytes, want 200 with %d", i, w.Code, w.Body.Len(), len(observations))
		}
		if got := w.Header().Get("X-Cache"); got != want {
			t.Errorf("request %d X-Cache: got %q, want %q", i, got, want)
		}
		wantHeader := map[string]string{
			"Content-Type":       "application/json; charset=utf-8",
			"Content-Length":     strconv.Itoa(len(observations)),
			"Cache-Control":      "public, max-age=300, s-maxage=60, stale-while-revalidate=60, stale-if-error=86400",
			"Vary":               "Accept, Accept-Encoding",
			"Surrogate-Key":      "release-2024-01 route-v1-observations",
			"Cache-Tag":          "release-2024-01,route-v1-observations",
			"Last-Modified":      "Fri, 01 Mar 2024 12:00:00 GMT",
			"X-Krimstat-Release": "2024-01",
			"Link":               `</v1/observations?cursor=2>; rel="next"`,
			"Set-Cookie":         "",
			"Content-Encoding":   "",
		}
		for name, want := range wantHeader {
			if got := w.Header().Get(name); got != want {
				t.Errorf("request %d %s: got %q, want %q", i, name, got, want)
			}
		}
		if etag := w.Header().Get("ETag"); len(etag) != 34 || etag[0] != '"' {
			t.Errorf("request %d ETag: got %q, want a quoted 32-digit hex tag", i, etag)
		}
	}
	if got := a.calls.Load(); got != 1 {
		t.Errorf("handler calls: got %d, want 1", got)
	}
}

func TestEquivalentQueriesShareAnEntry(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{"parameter order", "/v1/observations?region=NO&offence=x", "/v1/observations?offence=x&region=NO"},
		{"comma list", "/v1/observations?region=NO,SE", "/v1/observations?region=NO&region=SE"},
		{"format parameter and Accept", "/v1/observations?format=json", "/v1/observations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			a := newApp(t, cfg, mustTier(t, cfg), nil)
			first := a.do(t, http.MethodGet, tt.a)
			second := a.do(t, http.MethodGet, tt.b)
			if got := second.Header().Get("X-Cache"); got != httpcache.HitLocal {
				t.Errorf("X-Cache of %s after %s: got %q, want %q", tt.b, tt.a, got, httpcache.HitLocal)
			}
			if first.Header().Get("ETag") != second.Header().Get("ETag") {
				t.Errorf("ETags differ: %s and %s", first.Header().Get("ETag"), second.Header().Get("ETag"))
			}
			if got := a.calls.Load(); got != 1 {
				t.Errorf("handler calls: got %d, want 1", got)
			}
		})
	}
}

func TestFormatsAreSeparateEntries(t *testing.T) {
	cfg := testConfig()
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	jsonResp := a.do(t, http.MethodGet, "/v1/observations")
	csvResp := a.do(t, http.MethodGet, "/v1/observations", "Accept", "text/csv")
	csvAgain := a.do(t, http.MethodGet, "/v1/observations?format=csv")
	if got := csvResp.Header().Get("Content-Type"); got != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type for Accept: text/csv: got %q, want text/csv", got)
	}
	if jsonResp.Header().Get("ETag") == csvResp.Header().Get("ETag") {
		t.Errorf("json and csv share ETag %s, want different tags", csvResp.Header().Get("ETag"))
	}
	if got := csvAgain.Header().Get("X-Cache"); got != httpcache.HitLocal {
		t.Errorf("X-Cache of format=csv after Accept: text/csv: got %q, want %q", got, httpcache.HitLocal)
	}
	if got := a.calls.Load(); got != 2 {
		t.Errorf("handler calls: got %d, want 2", got)
	}
}

func TestConditionalRequests(t *testing.T) {
	const target = "/v1/observations?region=NO"
	cfg := testConfig()
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	etag := a.do(t, http.MethodGet, target).Header().Get("ETag")
	lastModified := releaseTime.Format(http.TimeFormat)

	tests := []struct {
		name   string
		method string
		header []string
		want   int
	}{
		{"matching tag", http.MethodGet, []string{"If-None-Match", etag}, http.StatusNotModified},
		{"weak form of the tag", http.MethodGet, []string{"If-None-Match", "W/" + etag}, http.StatusNotModified},
		{"tag in a list", http.MethodGet, []string{"If-None-Match", `"other", ` + etag}, http.StatusNotModified},
		{"star", http.MethodGet, []string{"If-None-Match", "*"}, http.StatusNotModified},
		{"head with matching tag", http.MethodHead, []string{"If-None-Match", etag}, http.StatusNotModified},
		{"other tag", http.MethodGet, []string{"If-None-Match", `"other"`}, http.StatusOK},
		{"not modified since", http.MethodGet, []string{"If-Modified-Since", lastModified}, http.StatusNotModified},
		{"modified since", http.MethodGet, []string{"If-Modified-Since", releaseTime.Add(-time.Hour).Format(http.TimeFormat)}, http.StatusOK},
		{"If-None-Match wins over If-Modified-Since", http.MethodGet, []string{"If-None-Match", `"other"`, "If-Modified-Since", lastModified}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(t, tt.method, target, tt.header...)
			if w.Code != tt.want {
				t.Fatalf("status: got %d, want %d", w.Code, tt.want)
			}
			if tt.want != http.StatusNotModified {
				return
			}
			if w.Body.Len() != 0 {
				t.Errorf("304 body: got %d bytes, want none", w.Body.Len())
			}
			for name, want := range map[string]string{
				"ETag":           etag,
				"Cache-Control":  "public, max-age=300, s-maxage=60, stale-while-revalidate=60, stale-if-error=86400",
				"Vary":           "Accept, Accept-Encoding",
				"Content-Length": "",
				"Content-Type":   "",
			} {
				if got := w.Header().Get(name); got != want {
					t.Errorf("304 %s: got %q, want %q", name, got, want)
				}
			}
		})
	}
	if got := a.calls.Load(); got != 1 {
		t.Errorf("handler calls: got %d, want 1", got)
	}
}

// TestSharedCacheHeaders: Cache-Control carries the configured directives
// for shared caches, and stored responses name their release and route in
// Surrogate-Key and Cache-Tag.
func TestSharedCacheHeaders(t *testing.T) {
	for _, tt := range []struct {
		name                  string
		maxAge, shared        time.Duration
		whileRevalidate, errs time.Duration
		want                  string
	}{
		{"defaults", 300 * time.Second, time.Minute, time.Minute, 24 * time.Hour,
			"public, max-age=300, s-maxage=60, stale-while-revalidate=60, stale-if-error=86400"},
		{"whole seconds", 90 * time.Second, 1500 * time.Millisecond, 2 * time.Second, 10 * time.Second,
			"public, max-age=90, s-maxage=1, stale-while-revalidate=2, stale-if-error=10"},
		{"stale directives off", 300 * time.Second, 0, 0, 0, "public, max-age=300, s-maxage=0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxAge, cfg.SharedMaxAge, cfg.StaleWhileRevalidate, cfg.StaleIfError = tt.maxAge, tt.shared, tt.whileRevalidate, tt.errs
			a := newApp(t, cfg, mustTier(t, cfg), nil)
			for i, target := range []string{"/v1/small", "/v1/small"} {
				w := a.do(t, http.MethodGet, target)
				if got := w.Header().Get("Cache-Control"); got != tt.want {
					t.Errorf("request %d Cache-Control: got %q, want %q", i, got, tt.want)
				}
				// No release header from the handler: the request's release.
				if got, want := w.Header().Get("Surrogate-Key"), "release-2024-01 route-v1-small"; got != want {
					t.Errorf("request %d Surrogate-Key: got %q, want %q", i, got, want)
				}
			}
			etag := a.do(t, http.MethodGet, "/v1/small").Header().Get("ETag")
			if got := a.do(t, http.MethodGet, "/v1/small", "If-None-Match", etag).Header().Get("Cache-Control"); got != tt.want {
				t.Errorf("304 Cache-Control: got %q, want %q", got, tt.want)
			}
		})
	}
	cfg := testConfig()
	cfg.SharedMaxAge = -time.Second
	if err := cfg.Validate(); err == nil {
		t.Errorf("negative shared max age: got no error")
	}
	cfg = testConfig()
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	for _, target := range []string{"/v1/missing", "/v1/private"} {
		if w := a.do(t, http.MethodGet, target); w.Header().Get("Surrogate-Key") != "" || strings.Contains(w.Header().Get("Cache-Control"), "s-maxage") {
			t.Errorf("%s: got Surrogate-Key %q, Cache-Control %q, want neither from the cache", target,
				w.Header().Get("Surrogate-Key"), w.Header().Get("Cache-Control"))
		}
	}
}

func TestNewReleaseChangesEntryAndTag(t *testing.T) {
	cfg := testConfig()
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	old := a.do(t, http.MethodGet, "/v1/observations")
	a.release.Store("2024-02")
	w := a.do(t, http.MethodGet, "/v1/observations", "If-None-Match", old.Header().Get("ETag"))
	if w.Code != http.StatusOK || w.Header().Get("X-Cache") != httpcache.Miss {
		t.Errorf("old tag after a new release: got %d %s, want 200 MISS", w.Code, w.Header().Get("X-Cache"))
	}
	if got := w.Header().Get("X-Krimstat-Release"); got != "2024-02" {
		t.Errorf("X-Krimstat-Release: got %q, want 2024-02", got)
	}
	if got := a.calls.Load(); got != 2 {
		t.Errorf("handler calls: got %d, want 2", got)
	}
}

func TestGzip(t *testing.T) {
	cfg := testConfig()
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	for i, want := range []string{httpcache.Miss, httpcache.HitLocal} {
		w := a.do(t, http.MethodGet, "/v1/observations", "Accept-Encoding", "gzip, deflate, br")
		if got := w.Header().Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("request %d Content-Encoding: got %q, want gzip", i, got)
		}
		if got := w.Header().Get("X-Cache"); got != want {
			t.Errorf("request %d X-Cache: got %q, want %q", i, got, want)
		}
		if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
			t.Errorf("request %d Content-Length: got %s, want %s", i, got, want)
		}
		if w.Body.Len() >= len(observations)/2 {
			t.Errorf("request %d compressed body: got %d bytes, want well under %d", i, w.Body.Len(), len(observations))
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil || string(body) != observations {
			t.Errorf("request %d decompressed: got %d bytes, %v, want the %d bytes of the body", i, len(body), err, len(observations))
		}
	}
	plain := a.do(t, http.MethodGet, "/v1/observations")
	zipped := a.do(t, http.MethodGet, "/v1/observations", "Accept-Encoding", "gzip")
	if plain.Header().Get("ETag") == zipped.Header().Get("ETag") {
		t.Errorf("identity and gzip share ETag %s, want different tags", plain.Header().Get("ETag"))
	}
	small := a.do(t, http.MethodGet, "/v1/small", "Accept-Encoding", "gzip")
	if got := small.Header().Get("Content-Encoding"); got != "" || small.Body.String() != "ok" {
		t.Errorf("small body: got encoding %q and %q, want none and \"ok\"", got, small.Body.String())
	}
}

func TestUncachedResponses(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
		want   int
	}{
		{"error", http.MethodGet, "/v1/missing", http.StatusNotFound},
		{"no-store", http.MethodGet, "/v1/private", http.StatusOK},
		{"POST", http.MethodPost, "/v1/observations", http.StatusOK},
		{"unknown format", http.MethodGet, "/v1/small?format=xml", http.StatusOK},
		{"malformed query", http.MethodGet, "/v1/small?a=%zz", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			a := newApp(t, cfg, mustTier(t, cfg), nil)
			for range 3 {
				w := a.do(t, tt.method, tt.target)
				if w.Code != tt.want {
					t.Errorf("status: got %d, want %d", w.Code, tt.want)
				}
				if got := w.Header().Get("X-Cache"); got == httpcache.HitLocal {
					t.Errorf("X-Cache: got %q, want no hit", got)
				}
			}
			if got := a.calls.Load(); got != 3 {
				t.Errorf("handler calls: got %d, want 3", got)
			}
		})
	}
}

func TestErrorBodyPassesThrough(t *testing.T) {
	cfg := testConfig()
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	w := a.do(t, http.MethodGet, "/v1/missing")
	if w.Body.String() != `{"status":404}` || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("404: got %q as %q, want the handler's problem", w.Body.String(), w.Header().Get("Content-Type"))
	}
	if got := w.Header().Get("ETag"); got != "" {
		t.Errorf("404 ETag: got %q, want none", got)
	}
}

func TestHead(t *testing.T) {
	cfg := testConfig()
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	head := a.do(t, http.MethodHead, "/v1/observations")
	if head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD: got %d with %d bytes, want 200 with none", head.Code, head.Body.Len())
	}
	if got, want := head.Header().Get("Content-Length"), strconv.Itoa(len(observations)); got != want {
		t.Errorf("HEAD Content-Length: got %s, want %s", got, want)
	}
	get := a.do(t, http.MethodGet, "/v1/observations")
	if get.Header().Get("X-Cache") != httpcache.HitLocal || get.Body.String() != observations {
		t.Errorf("GET after HEAD: got %s with %d bytes, want HIT-LOCAL with %d", get.Header().Get("X-Cache"), get.Body.Len(), len(observations))
	}
	if head.Header().Get("ETag") != get.Header().Get("ETag") {
		t.Errorf("HEAD and GET ETags differ: %s, %s", head.Header().Get("ETag"), get.Header().Get("ETag"))
	}
	headAgain := a.do(t, http.MethodHead, "/v1/observations")
	if headAgain.Header().Get("X-Cache") != httpcache.HitLocal || headAgain.Body.Len() != 0 {
		t.Errorf("HEAD hit: got %s with %d bytes, want HIT-LOCAL with none", headAgain.Header().Get("X-Cache"), headAgain.Body.Len())
	}
	if got := a.calls.Load(); got != 1 {
		t.Errorf("handler calls: got %d, want 1", got)
	}
}

func TestDisabled(t *testing.T) {
	cfg := testConfig()
	cfg.Enabled = false
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	for range 3 {
		if w := a.do(t, http.MethodGet, "/v1/observations"); w.Header().Get("X-Cache") != "" || w.Body.String() != observations {
			t.Errorf("disabled cache: got X-Cache %q, want none and the body", w.Header().Get("X-Cache"))
		}
	}
	if got := a.calls.Load(); got != 3 {
		t.Errorf("handler calls: got %d, want 3", got)
	}
}

func TestLocalTierOffComputesEachTime(t *testing.T) {
	cfg := testConfig()
	cfg.LocalEnabled = false
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	etags := map[string]bool{}
	for range 3 {
		w := a.do(t, http.MethodGet, "/v1/observations")
		if w.Header().Get("X-Cache") != httpcache.Miss {
			t.Errorf("X-Cache without tiers: got %q, want MISS", w.Header().Get("X-Cache"))
		}
		etags[w.Header().Get("ETag")] = true
	}
	if len(etags) != 1 {
		t.Errorf("ETags of one request computed three times: got %d tags, want 1", len(etags))
	}
}

func TestConcurrentMisses(t *testing.T) {
	tests := []struct {
		target string
		want   int
		calls  int64
	}{
		// One computation serves every concurrent request.
		{"/v1/observations", http.StatusOK, 1},
		// An error is not shared: each request computes its own.
		{"/v1/missing", http.StatusNotFound, 20},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			cfg := testConfig()
			a := newApp(t, cfg, mustTier(t, cfg), nil)
			a.delay = 50 * time.Millisecond
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if w := a.do(t, http.MethodGet, tt.target); w.Code != tt.want {
						t.Errorf("status: got %d, want %d", w.Code, tt.want)
					}
				})
			}
			wg.Wait()
			if got := a.calls.Load(); got != tt.calls {
				t.Errorf("handler calls: got %d, want %d", got, tt.calls)
			}
		})
	}
}

func TestReleaseErrorBypasses(t *testing.T) {
	cfg := testConfig()
	var calls atomic.Int64
	r := gin.New()
	r.GET("/v1/small", httpcache.New(cfg, mustTier(t, cfg), func(context.Context) (string, time.Time, error) {
		return "", time.Time{}, context.DeadlineExceeded
	}, nil), func(c *gin.Context) {
		calls.Add(1)
		c.String(http.StatusOK, "ok")
	})
	for range 2 {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/small", nil))
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), []byte("ok")) {
			t.Errorf("got %d %q, want 200 \"ok\"", w.Code, w.Body.String())
		}
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("handler calls: got %d, want 2", got)
	}
}

// TestMaxEntryBytes serves a response larger than the entry bound without
// storing it: every request computes it again, and the tiers stay small.
func TestMaxEntryBytes(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEntryBytes = 512 // the observations body is larger, the small one fits
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	for range 2 {
		if w := a.do(t, http.MethodGet, "/v1/observations"); w.Code != http.StatusOK || w.Body.String() != observations || w.Header().Get("X-Cache") == httpcache.HitLocal {
			t.Fatalf("large body: got %d %s, want it computed and whole", w.Code, w.Header().Get("X-Cache"))
		}
	}
	a.do(t, http.MethodGet, "/v1/small")
	if w := a.do(t, http.MethodGet, "/v1/small"); w.Header().Get("X-Cache") != httpcache.HitLocal {
		t.Errorf("small body: X-Cache got %s, want %s", w.Header().Get("X-Cache"), httpcache.HitLocal)
	}
	if got := a.calls.Load(); got != 3 {
		t.Errorf("computations: got %d, want 3 (the large body twice, the small once)", got)
	}
}

// TestRequestKey keys requests by what the configured function says they
// mean, and leaves uncached what it refuses.
func TestRequestKey(t *testing.T) {
	cfg := testConfig()
	cfg.RequestKey = func(r *http.Request, pattern, release string) (string, string, bool) {
		if pattern != "/v1/observations" || release != "2024-01" {
			t.Errorf("RequestKey got pattern %q release %q", pattern, release)
		}
		q := r.URL.Query().Get("q")
		// Case does not matter to this route; "bad" is refused.
		return strings.ToLower(q), "json", q != "bad"
	}
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	tests := []struct {
		target, wantCache string
	}{
		{"/v1/observations?q=abc", httpcache.Miss},
		{"/v1/observations?q=ABC", httpcache.HitLocal},
		{"/v1/observations?q=bad", ""},
		{"/v1/observations?q=bad", ""},
	}
	for _, tt := range tests {
		if got := a.do(t, http.MethodGet, tt.target).Header().Get("X-Cache"); got != tt.wantCache {
			t.Errorf("%s: X-Cache got %q, want %q", tt.target, got, tt.wantCache)
		}
	}
}

// TestRequestKeyHeaders keys requests of one query by the headers and host
// the configured function reads: the memo of keys must not answer one with
// the key of another.
func TestRequestKeyHeaders(t *testing.T) {
	cfg := testConfig()
	cfg.RequestKey = func(r *http.Request, pattern, release string) (string, string, bool) {
		return r.URL.RawQuery, "json;lang=" + r.Header.Get("Accept-Language") + ";origin=" + r.Header.Get("X-Forwarded-Proto") + "://" + r.Host, true
	}
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	tests := []struct {
		host      string
		header    []string
		wantCache string
	}{
		{"a.example", nil, httpcache.Miss},
		{"a.example", nil, httpcache.HitLocal},
		{"a.example", []string{"Accept-Language", "nb"}, httpcache.Miss},
		{"b.example", nil, httpcache.Miss},
		{"b.example", []string{"X-Forwarded-Proto", "https"}, httpcache.Miss},
		{"b.example", []string{"X-Forwarded-Proto", "https"}, httpcache.HitLocal},
		{"a.example", []string{"Accept-Language", "nb"}, httpcache.HitLocal},
	}
	for i, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/v1/observations?q=abc", nil)
		req.Host = tt.host
		for j := 0; j+1 < len(tt.header); j += 2 {
			req.Header.Set(tt.header[j], tt.header[j+1])
		}
		rec := httptest.NewRecorder()
		a.engine.ServeHTTP(rec, req)
		if got := rec.Header().Get("X-Cache"); got != tt.wantCache {
			t.Errorf("request %d, %s %v: X-Cache got %q, want %q", i, tt.host, tt.header, got, tt.wantCache)
		}
	}
}

// TestStreamAfter computes a body larger than StreamAfter: it is sent whole
// as it is written, and not stored, so the next request computes it again.
func TestStreamAfter(t *testing.T) {
	cfg := testConfig()
	cfg.StreamAfter = 256
	a := newApp(t, cfg, mustTier(t, cfg), nil)
	for range 2 {
		w := a.do(t, http.MethodGet, "/v1/observations")
		if w.Code != http.StatusOK || w.Body.String() != observations || w.Header().Get("X-Krimstat-Release") == "" {
			t.Fatalf("streamed body: got %d, %d bytes, release header %q; want 200, the whole body and its headers",
				w.Code, w.Body.Len(), w.Header().Get("X-Krimstat-Release"))
		}
	}
	if got := a.calls.Load(); got != 2 {
		t.Errorf("computations: got %d, want 2 (a streamed body is not stored)", got)
	}
}
