package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

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
