package warmup_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/storetest"
	"github.com/krimstat/krimstat/warmup"
)

// discard keeps only the headers, so that the benchmark measures the
// server side.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkHit is a local-tier hit through the router, with the cache as
// it is and behind a Switch (pinning the request and counting its target):
// the difference is what the Switch costs a request.
func BenchmarkHit(b *testing.B) {
	st := memory.New()
	if err := st.Load(storetest.Dataset1()); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	sw, err := warmup.New(b.Context(), warmup.DefaultConfig(), st, log)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		st   store.Store
		wrap func(gin.HandlerFunc) gin.HandlerFunc
	}{
		{"cache", st, func(h gin.HandlerFunc) gin.HandlerFunc { return h }},
		{"switch", sw.Store(), sw.Middleware},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := handlers.New(bc.st, log, openapi.JSON)
			cc := httpcache.DefaultConfig()
			cc.RequestKey, cc.Vary, cc.ListParams = h.CacheKey, handlers.CacheVary, handlers.ListParams()
			tier, err := httpcache.NewTiered(cc, nil, log)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { tier.Close() })
			release := func(ctx context.Context) (string, time.Time, error) {
				rel, err := bc.st.CurrentRelease(ctx)
				return rel.ID, time.Time{}, err
			}
			r := h.Routes(handlers.Options{Cache: bc.wrap(httpcache.New(cc, tier, release, log))})
			req := httptest.NewRequest(http.MethodGet, "/v1/observations?region=NO&offence=homicide", nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				r.ServeHTTP(w, req)
			}
			if got := w.h.Get("X-Cache"); got != httpcache.HitLocal {
				b.Fatalf("X-Cache: got %s, want %s", got, httpcache.HitLocal)
			}
		})
	}
}
