package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/openapi"
)

// BenchmarkCachedHit measures a response served from the local cache tier
// through the whole router, as make bench reports it.
func BenchmarkCachedHit(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, _ := loadConfig(func(string) string { return "" })
	st, _, err := openStore(b.Context(), cfg, "", log)
	if err != nil {
		b.Fatal(err)
	}
	tier, _ := httpcache.NewTiered(cfg.Cache, nil, log)
	r := handlers.New(st, log, openapi.JSON).Routes(handlers.Options{Cache: httpcache.New(cfg.Cache, tier, releaseFunc(st), log)})
	req := httptest.NewRequest("GET", "/v1/observations?offence=sex-purchase&region=NO", nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
	}
}

// BenchmarkServedHit is a cached hit through the router exactly as serve
// wires it (gate, rate limit, metrics, warm-up switch, cache), beside
// BenchmarkBareGin, a Gin engine serving the same bytes: the in-process
// part of the ratio bench/load.sh measures over the network.
func BenchmarkServedHit(b *testing.B) {
	h, path, _ := servedRouter(b)
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = "192.0.2.1:1234"
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

func BenchmarkBareGin(b *testing.B) {
	_, path, body := servedRouter(b)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.NoRoute(func(c *gin.Context) { c.Data(http.StatusOK, "application/json; charset=utf-8", body) })
	req := httptest.NewRequest("GET", path, nil)
	b.ReportAllocs()
	for b.Loop() {
		r.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkBareGinSameHeaders is BenchmarkBareGin sending every header of
// the served hit too: what is left between it and BenchmarkServedHit is
// Krimstat's own work (middleware, cache lookup), not the size of its
// answer.
func BenchmarkBareGinSameHeaders(b *testing.B) {
	h, path, body := servedRouter(b)
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	head := rec.Header().Clone()
	head.Del("Content-Type")
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.NoRoute(func(c *gin.Context) {
		h := c.Writer.Header()
		for name, values := range head {
			h[name] = values
		}
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	})
	b.ReportAllocs()
	for b.Loop() {
		r.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// servedRouter returns serve's router on the embedded release with the
// default configuration plus metrics, the path benchmarked and its body.
func servedRouter(b *testing.B) (http.Handler, string, []byte) {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"KRIMSTAT_RATELIMIT_RATE": "1000000/s", "KRIMSTAT_RATELIMIT_BURST": "1000000"}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	st, closeStore, err := openStore(b.Context(), cfg, "", log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(closeStore)
	var cl closers
	b.Cleanup(cl.close)
	w, err := wire(b.Context(), cfg, st, log, &cl)
	if err != nil {
		b.Fatal(err)
	}
	m, err := newMetrics(st, w.tier, w.rl, nil, w.cacheWatch, w.rlWatch)
	if err != nil {
		b.Fatal(err)
	}
	w.opts.Metrics = m.Middleware()
	h := w.h.Routes(w.opts)
	const path = "/v1/observations?offence=sex-purchase&region=NO"
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = "192.0.2.1:1234"
	var rec *httptest.ResponseRecorder
	for range 2 {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
	if rec.Code != http.StatusOK || rec.Header().Get("X-Cache") == "" {
		b.Fatalf("warming %s: %d %v", path, rec.Code, rec.Header())
	}
	b.Logf("%d headers, %d bytes", len(rec.Header()), rec.Body.Len())
	return h, path, rec.Body.Bytes()
}
