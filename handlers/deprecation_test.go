package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/storetest"
)

// TestDeprecatedRoute: every response of a deprecated route carries its
// Deprecation, Sunset and Link headers exactly once, whether the handler,
// the response cache, a refusal or a revalidation answers it, and the
// release feed announces it. No public route is deprecated, so the test
// registers one of its own through the same code path: a second, older
// path for the list of sources, with /v1/sources as its successor.
func TestDeprecatedRoute(t *testing.T) {
	st := memory.New()
	if err := st.Load(storetest.Dataset1()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := New(st, log, openapi.JSON)
	cfg := httpcache.DefaultConfig()
	cfg.RequestKey, cfg.Vary = h.CacheKey, CacheVary
	tier, err := httpcache.NewTiered(cfg, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tier.Close() })
	cache := httpcache.New(cfg, tier, func(ctx context.Context) (string, time.Time, error) {
		rel, err := st.CurrentRelease(ctx)
		return rel.ID, time.Time{}, err
	}, log)
	r := h.Routes(Options{Cache: cache})
	old := sourcesRoute
	old.deprecated, old.sunset, old.successor = day(2026, time.January, 1), day(2027, time.January, 1), "/v1/sources"
	h.get(r.Group("/v1", cache), "/source-list", old, h.listSources)

	want := http.Header{
		"Deprecation": {"@1767225600"},
		"Sunset":      {"Fri, 01 Jan 2027 00:00:00 GMT"},
		"Link": {
			`<https://github.com/krimstat/krimstat/blob/main/STABILITY.md>; rel="deprecation"; type="text/html"`,
			`<https://github.com/krimstat/krimstat/blob/main/STABILITY.md>; rel="sunset"; type="text/html"`,
			`</v1/sources>; rel="successor-version"`,
		},
	}
	send := func(method, target string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}
	first := send("GET", "/v1/source-list")
	etag := first.Header().Get("ETag")
	tests := []struct {
		name   string
		method string
		target string
		header []string
		status int
		xcache string
	}{
		{"computed", "GET", "/v1/source-list?format=csv", nil, 200, httpcache.Miss},
		{"cached", "GET", "/v1/source-list", nil, 200, httpcache.HitLocal},
		{"head", "HEAD", "/v1/source-list", nil, 200, httpcache.HitLocal},
		{"revalidated", "GET", "/v1/source-list", []string{"If-None-Match", etag}, 304, httpcache.HitETag},
		{"refused", "GET", "/v1/source-list?bogus=1", nil, 400, ""},
		{"unknown release", "GET", "/v1/source-list?release=nope", nil, 404, ""},
		{"method not allowed", "POST", "/v1/source-list", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(tt.method, tt.target, tt.header...)
			if rec.Code != tt.status || rec.Header().Get("X-Cache") != tt.xcache {
				t.Fatalf("got %d X-Cache %q, want %d %q: %s", rec.Code, rec.Header().Get("X-Cache"), tt.status, tt.xcache, rec.Body)
			}
			if tt.status == 405 {
				// Gin answers 405 for the path, not the route: it has no
				// route to name.
				return
			}
			for name, values := range want {
				if got := rec.Header().Values(name); !slices.Equal(got, values) {
					t.Errorf("%s: got %q, want %q", name, got, values)
				}
			}
		})
	}

	// A browser client may read them: CORS exposes both headers.
	cors := send("GET", "/v1/source-list", "Origin", "https://example.org")
	if exposed := cors.Header().Get("Access-Control-Expose-Headers"); !strings.Contains(exposed, "Deprecation") || !strings.Contains(exposed, "Sunset") {
		t.Errorf("Access-Control-Expose-Headers: got %q, want Deprecation and Sunset", exposed)
	}

	// A route that is not deprecated says nothing of the kind.
	rec := send("GET", "/v1/sources")
	for name := range want {
		if got := rec.Header().Values(name); len(got) > 0 {
			t.Errorf("/v1/sources %s: got %q, want none", name, got)
		}
	}

	// The feed announces the deprecation.
	feed := send("GET", "/v1/releases.atom").Body.String()
	for _, s := range []string{
		"<id>tag:krimstat.no,2025:deprecation/v1/source-list</id>",
		"<title>Deprecated: GET /v1/source-list</title>",
		"<updated>2026-01-01T00:00:00Z</updated>",
		"<summary>GET /v1/source-list is deprecated since 2026-01-01 and stops answering on 2027-01-01. Use /v1/sources instead.</summary>",
		`<link href="http://example.com/v1/sources" rel="successor-version"></link>`,
	} {
		if !strings.Contains(feed, s) {
			t.Errorf("feed: got %s, want it to contain %s", feed, s)
		}
	}
}

// TestDeprecatedDocumented: a route is deprecated in its contract exactly
// when its operation is deprecated in the OpenAPI document (swag's
// @Deprecated), so that the headers and the documentation agree.
func TestDeprecatedDocumented(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Deprecated bool `json:"deprecated"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapi.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	h := New(memory.New(), slog.New(slog.DiscardHandler), openapi.JSON)
	h.Routes(Options{})
	seen := 0
	h.routes.Range(func(k, v any) bool {
		path := k.(string)
		// Gin's :id and *id are OpenAPI's {id}.
		parts := strings.Split(path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		op, ok := doc.Paths[strings.Join(parts, "/")]["get"]
		if !ok {
			return true // not documented: the Swagger UI's files
		}
		seen++
		if deprecated := !v.(route).deprecated.IsZero(); deprecated != op.Deprecated {
			t.Errorf("%s: deprecated in its contract %v, in the OpenAPI document %v", path, deprecated, op.Deprecated)
		}
		return true
	})
	if seen < 10 {
		t.Errorf("matched %d routes with the OpenAPI document, want them all", seen)
	}
}
