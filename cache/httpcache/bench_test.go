package httpcache_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/internal/testenv"
)

// discard is a ResponseWriter that keeps only the headers, so that the
// benchmarks measure the server side and not a recorder's copying.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// serve runs req through engine b.N times, failing on another status than want.
func serve(b *testing.B, engine *gin.Engine, req *http.Request, want int) {
	b.Helper()
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		engine.ServeHTTP(w, req)
		if w.code != want {
			b.Fatalf("status: got %d, want %d", w.code, want)
		}
	}
}

const benchTarget = "/v1/observations?offence=sex-purchase&region=NO"

// BenchmarkCeiling is the handler alone returning the same bytes: the
// reference the cached path is compared with.
func BenchmarkCeiling(b *testing.B) {
	r := gin.New()
	body := []byte(observations)
	r.GET("/v1/observations", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	})
	serve(b, r, httptest.NewRequest(http.MethodGet, benchTarget, nil), http.StatusOK)
}

func BenchmarkHitLocal(b *testing.B) {
	cfg := testConfig()
	a := newApp(b, cfg, mustTier(b, cfg), nil)
	a.do(b, http.MethodGet, benchTarget)
	serve(b, a.engine, httptest.NewRequest(http.MethodGet, benchTarget, nil), http.StatusOK)
}

func BenchmarkHitLocalGzip(b *testing.B) {
	cfg := testConfig()
	a := newApp(b, cfg, mustTier(b, cfg), nil)
	req := httptest.NewRequest(http.MethodGet, benchTarget, nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	req.Header.Set("Accept", "application/json")
	serve(b, a.engine, req, http.StatusOK)
}

func BenchmarkNotModified(b *testing.B) {
	cfg := testConfig()
	a := newApp(b, cfg, mustTier(b, cfg), nil)
	etag := a.do(b, http.MethodGet, benchTarget).Header().Get("ETag")
	req := httptest.NewRequest(http.MethodGet, benchTarget, nil)
	req.Header.Set("If-None-Match", etag)
	serve(b, a.engine, req, http.StatusNotModified)
}

func BenchmarkHitRedis(b *testing.B) {
	url := testenv.RedisURL(b)
	cfg := testConfig()
	cfg.LocalEnabled = false
	_, probe := mustRedisTier(b, cfg, url)
	cfg.RedisPrefix = testenv.RedisPrefix(b, probe)
	tier, _ := mustRedisTier(b, cfg, url)
	a := newApp(b, cfg, tier, nil)
	a.do(b, http.MethodGet, benchTarget)
	serve(b, a.engine, httptest.NewRequest(http.MethodGet, benchTarget, nil), http.StatusOK)
}

func BenchmarkUncached(b *testing.B) {
	cfg := testConfig()
	cfg.Enabled = false
	a := newApp(b, cfg, nil, nil)
	serve(b, a.engine, httptest.NewRequest(http.MethodGet, benchTarget, nil), http.StatusOK)
}

func BenchmarkKey(b *testing.B) {
	u, _ := url.Parse(benchTarget)
	isList := func(name string) bool { return name == "offence" || name == "region" }
	b.ReportAllocs()
	for b.Loop() {
		q, _ := url.ParseQuery(u.RawQuery)
		f, _ := httpcache.Negotiate(q, "application/json")
		_ = httpcache.ETag(httpcache.Key("rev", "2024-01", u.EscapedPath(), httpcache.CanonicalQuery(q, isList), f, true))
	}
}
