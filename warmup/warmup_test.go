package warmup_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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

// api is the real router over a memory store holding storetest's first
// release, with the response cache behind a Switch, as serve wires it.
type api struct {
	st     *memory.Store
	sw     *warmup.Switch
	router http.Handler // what clients reach
	warm   http.Handler // what the warm-up replays through
}

func newAPI(t *testing.T, cfg warmup.Config) api {
	t.Helper()
	cfg.Sample = 1 // count every request, so that the top is known
	st := memory.New()
	if err := st.Load(storetest.Dataset1()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	sw, err := warmup.New(t.Context(), cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	view := sw.Store()
	h := handlers.New(view, log, openapi.JSON)
	cc := httpcache.DefaultConfig()
	cc.RequestKey, cc.Vary, cc.ListParams = h.CacheKey, handlers.CacheVary, handlers.ListParams()
	tier, err := httpcache.NewTiered(cc, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tier.Close() })
	release := func(ctx context.Context) (string, time.Time, error) {
		rel, err := view.CurrentRelease(ctx)
		return rel.ID, time.Time{}, err
	}
	mw := sw.Middleware(httpcache.New(cc, tier, release, log))
	return api{
		st:     st,
		sw:     sw,
		router: h.Routes(handlers.Options{Cache: mw}),
		warm:   h.Routes(handlers.Options{Cache: mw}),
	}
}

// get sends a GET with header pairs and returns the response, the
// release its header names, and the release its body names.
func (a api) get(t *testing.T, target string, header ...string) (*httptest.ResponseRecorder, string, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	a.router.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("%s: got %d %s, want 200", target, w.Code, w.Body)
	}
	var body struct {
		Meta struct {
			Release string `json:"release"`
		} `json:"meta"`
	}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && w.Header().Get("Content-Encoding") == "" {
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
	}
	return w, w.Header().Get("X-Krimstat-Release"), body.Meta.Release
}

// request is one of the targets the tests ask for, with its headers.
type request struct {
	target string
	header []string
}

// hot are targets asked for often, most asked first; cold is asked once.
var (
	hot = []request{
		{"/v1/observations?region=NO&offence=homicide", nil},
		{"/v1/offences", nil},
		{"/v1/observations?region=NO,SE&format=csv", nil},
		{"/v1/regions?type=country", []string{"Accept-Encoding", "gzip"}},
		{"/v1/releases", nil},
	}
	cold = request{"/v1/measures", nil}
)

// ask sends each hot target a different number of times (the first most),
// and cold once.
func (a api) ask(t *testing.T) {
	t.Helper()
	for i, r := range hot {
		for range 2 * (len(hot) - i) {
			a.get(t, r.target, r.header...)
		}
	}
	a.get(t, cold.target, cold.header...)
}

// TestSwitchWarmsTopTargets: a new release in the store is not served
// before the Switch's update; the update replays the most requested
// targets with the new release, so that right after the switch they are
// hits that name the new release, while a target outside the top is
// computed.
func TestSwitchWarmsTopTargets(t *testing.T) {
	cfg := warmup.DefaultConfig()
	cfg.Keys = len(hot)
	a := newAPI(t, cfg)
	a.ask(t)

	if err := a.st.Load(storetest.Dataset2()); err != nil {
		t.Fatal(err)
	}
	// The store names the new release; the replica serves the old one
	// until the switch.
	for _, r := range hot {
		w, header, body := a.get(t, r.target, r.header...)
		if header != storetest.Release1 || (body != "" && body != storetest.Release1) {
			t.Errorf("%s before the switch: got release %s (body %s), want %s", r.target, header, body, storetest.Release1)
		}
		if got := w.Header().Get("X-Cache"); got != httpcache.HitLocal {
			t.Errorf("%s before the switch: got X-Cache %s, want %s", r.target, got, httpcache.HitLocal)
		}
	}

	rep, switched, err := a.sw.Update(t.Context(), a.warm)
	if err != nil || !switched {
		t.Fatalf("update: got %v, %v; want a switch", switched, err)
	}
	if rep.From != storetest.Release1 || rep.To != storetest.Release2 || rep.Targets != len(hot) || rep.Warmed != len(hot) || rep.TimedOut {
		t.Errorf("report: got %+v, want %d targets warmed from %s to %s", rep, len(hot), storetest.Release1, storetest.Release2)
	}
	if got := a.sw.Served(); got != storetest.Release2 {
		t.Errorf("served: got %s, want %s", got, storetest.Release2)
	}
	for _, r := range hot {
		w, header, body := a.get(t, r.target, r.header...)
		if got := w.Header().Get("X-Cache"); got != httpcache.HitLocal {
			t.Errorf("%s after the switch: got X-Cache %s, want %s", r.target, got, httpcache.HitLocal)
		}
		if header != storetest.Release2 || (body != "" && body != storetest.Release2) {
			t.Errorf("%s after the switch: got release %s (body %s), want %s", r.target, header, body, storetest.Release2)
		}
	}
	w, header, _ := a.get(t, cold.target, cold.header...)
	if got := w.Header().Get("X-Cache"); got != httpcache.Miss || header != storetest.Release2 {
		t.Errorf("%s after the switch: got X-Cache %s, release %s; want %s, %s", cold.target, got, header, httpcache.Miss, storetest.Release2)
	}
	// The release list marks the served release current.
	w, _, _ = a.get(t, "/v1/releases")
	var list struct {
		Data []store.Release `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list.Data) != 2 || !list.Data[0].Current || list.Data[1].Current {
		t.Errorf("/v1/releases after the switch: got %s, want %s current only", w.Body, storetest.Release2)
	}

	if _, switched, err := a.sw.Update(t.Context(), a.warm); switched || err != nil {
		t.Errorf("second update: got %v, %v; want nothing to do", switched, err)
	}
}

// TestSwitchWarmsOnlyKeys: no more than Keys targets are warmed, the most
// requested ones.
func TestSwitchWarmsOnlyKeys(t *testing.T) {
	cfg := warmup.DefaultConfig()
	cfg.Keys = 2
	a := newAPI(t, cfg)
	a.ask(t)
	if err := a.st.Load(storetest.Dataset2()); err != nil {
		t.Fatal(err)
	}
	rep, _, err := a.sw.Update(t.Context(), a.warm)
	if err != nil || rep.Targets != 2 || rep.Warmed != 2 {
		t.Fatalf("update: got %+v, %v; want 2 targets warmed", rep, err)
	}
	for i, r := range hot {
		want := httpcache.Miss
		if i < 2 {
			want = httpcache.HitLocal
		}
		if w, _, _ := a.get(t, r.target, r.header...); w.Header().Get("X-Cache") != want {
			t.Errorf("%s: got X-Cache %s, want %s", r.target, w.Header().Get("X-Cache"), want)
		}
	}
}

// TestSwitchWithoutWarmup: disabled, the switch happens at the update and
// the first requests of the new release are computed.
func TestSwitchWithoutWarmup(t *testing.T) {
	cfg := warmup.DefaultConfig()
	cfg.Enabled = false
	a := newAPI(t, cfg)
	a.ask(t)
	if err := a.st.Load(storetest.Dataset2()); err != nil {
		t.Fatal(err)
	}
	rep, switched, err := a.sw.Update(t.Context(), a.warm)
	if err != nil || !switched || rep.Targets != 0 {
		t.Fatalf("update: got %+v, %v, %v; want a switch without warm-up", rep, switched, err)
	}
	w, header, _ := a.get(t, hot[0].target)
	if got := w.Header().Get("X-Cache"); got != httpcache.Miss || header != storetest.Release2 {
		t.Errorf("after the switch: got X-Cache %s, release %s; want %s, %s", got, header, httpcache.Miss, storetest.Release2)
	}
}

// TestSwitchBudget: a warm-up that outlasts its budget is cut short and the
// switch happens anyway.
func TestSwitchBudget(t *testing.T) {
	cfg := warmup.DefaultConfig()
	cfg.Timeout = time.Millisecond
	a := newAPI(t, cfg)
	a.ask(t)
	if err := a.st.Load(storetest.Dataset2()); err != nil {
		t.Fatal(err)
	}
	// A handler that answers only when its request is cancelled.
	stuck := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	rep, switched, err := a.sw.Update(t.Context(), stuck)
	if err != nil || !switched || !rep.TimedOut || rep.Warmed != 0 {
		t.Fatalf("update: got %+v, %v, %v; want a switch after the budget ran out", rep, switched, err)
	}
	if _, header, _ := a.get(t, hot[0].target); header != storetest.Release2 {
		t.Errorf("after the switch: got release %s, want %s", header, storetest.Release2)
	}
}

// TestRequestPinned: a request reads one release however the switch falls
// while it runs.
func TestRequestPinned(t *testing.T) {
	st := memory.New()
	if err := st.Load(storetest.Dataset1()); err != nil {
		t.Fatal(err)
	}
	cfg := warmup.DefaultConfig()
	cfg.Enabled = false
	sw, err := warmup.New(t.Context(), cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	view := sw.Store()
	var before, after string
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/", sw.Middleware(func(c *gin.Context) { c.Next() }), func(c *gin.Context) {
		rel, _ := view.CurrentRelease(c.Request.Context())
		before = rel.ID
		if err := st.Load(storetest.Dataset2()); err != nil {
			t.Error(err)
		}
		if _, switched, err := sw.Update(context.Background(), nil); !switched || err != nil {
			t.Errorf("update: got %v, %v; want a switch", switched, err)
		}
		rel, _ = view.CurrentRelease(c.Request.Context())
		after = rel.ID
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if before != storetest.Release1 || after != storetest.Release1 {
		t.Errorf("release read by the request before and after the switch: got %s and %s, want %s twice", before, after, storetest.Release1)
	}
	if rel, _ := view.CurrentRelease(context.Background()); rel.ID != storetest.Release2 {
		t.Errorf("release of the next request: got %s, want %s", rel.ID, storetest.Release2)
	}
}

// TestConfigValidate rejects settings out of range.
func TestConfigValidate(t *testing.T) {
	if err := warmup.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, change := range map[string]func(*warmup.Config){
		"keys":        func(c *warmup.Config) { c.Keys = 0 },
		"track":       func(c *warmup.Config) { c.Track = c.Keys - 1 },
		"timeout":     func(c *warmup.Config) { c.Timeout = 0 },
		"concurrency": func(c *warmup.Config) { c.Concurrency = 0 },
		"half-life":   func(c *warmup.Config) { c.HalfLife = -time.Second },
		"sample":      func(c *warmup.Config) { c.Sample = 0 },
	} {
		c := warmup.DefaultConfig()
		change(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s out of range: got no error", name)
		}
	}
}
