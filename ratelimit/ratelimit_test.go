package ratelimit_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/krimstat/krimstat/ratelimit"
)

// newEngine routes /v1/ping through l the way handlers.Routes does, with a
// stand-in for handlers' request-id middleware.
func newEngine(l *ratelimit.Limiter) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(func(c *gin.Context) { c.Writer.Header()["X-Request-Id"] = []string{"req-" + c.GetHeader("X-Test-ID")} })
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	v1 := r.Group("/v1", l.Middleware())
	v1.GET("/ping", func(c *gin.Context) { c.String(http.StatusOK, "pong") })
	v1.GET("/export", func(c *gin.Context) { c.String(http.StatusOK, "csv") })
	return r
}

// newLimiter returns a Limiter closed when the test ends.
func newLimiter(t *testing.T, cfg ratelimit.Config, rdb redis.UniversalClient) *ratelimit.Limiter {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	l := ratelimit.New(cfg, rdb, nil)
	t.Cleanup(func() { l.Close() })
	return l
}

func get(h http.Handler, remote, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = remote
	r.Header.Set("X-Test-ID", "42")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var (
	policyRe    = regexp.MustCompile(`^"default";q=(\d+);w=(\d+)$`)
	rateLimitRe = regexp.MustCompile(`^"default";r=(\d+);t=(\d+)$`)
)

// rateLimitHeader returns r and t of the RateLimit header, failing the test
// when it is malformed.
func rateLimitHeader(t *testing.T, h http.Header) (r, reset int) {
	t.Helper()
	m := rateLimitRe.FindStringSubmatch(h.Get("RateLimit"))
	if m == nil {
		t.Fatalf("RateLimit: got %q, want \"default\";r=<n>;t=<n>", h.Get("RateLimit"))
	}
	r, _ = strconv.Atoi(m[1])
	reset, _ = strconv.Atoi(m[2])
	return r, reset
}

func TestMiddlewareHeaders(t *testing.T) {
	// 600 per minute with a burst of 100: a whole burst refills in 10 s.
	l := newLimiter(t, ratelimit.Config{}, nil)
	h := newEngine(l)
	for i := range 3 {
		w := get(h, "198.51.100.1:1000", "/v1/ping")
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: got status %d, want 200", i, w.Code)
		}
		if got, want := w.Header().Get("RateLimit-Policy"), `"default";q=100;w=10`; got != want {
			t.Errorf("RateLimit-Policy: got %q, want %q", got, want)
		}
		r, reset := rateLimitHeader(t, w.Header())
		if want := 99 - i; r != want {
			t.Errorf("request %d: got r=%d, want %d", i, r, want)
		}
		if reset < 1 || reset > 10 {
			t.Errorf("request %d: got t=%d, want 1..10", i, reset)
		}
	}
	w := get(h, "198.51.100.1:1000", "/healthz")
	if got := w.Header().Get("RateLimit"); got != "" {
		t.Errorf("route outside the group: got RateLimit %q, want none", got)
	}
}

func TestMiddlewareRefuses(t *testing.T) {
	l := newLimiter(t, ratelimit.Config{Rate: 1, Period: 3 * time.Second, Burst: 2}, nil)
	h := newEngine(l)
	for i := range 2 {
		if w := get(h, "198.51.100.1:1000", "/v1/ping"); w.Code != http.StatusOK {
			t.Fatalf("request %d: got status %d, want 200", i, w.Code)
		}
	}
	w := get(h, "198.51.100.1:1000", "/v1/ping?offence=sex-purchase&x=<b>")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: got status %d, want 429", w.Code)
	}
	checks := []struct{ header, want string }{
		{"Content-Type", "application/problem+json"},
		{"Retry-After", "3"},
		{"Cache-Control", "no-store"},
		{"RateLimit-Policy", `"default";q=2;w=6`},
	}
	for _, c := range checks {
		if got := w.Header().Get(c.header); got != c.want {
			t.Errorf("%s: got %q, want %q", c.header, got, c.want)
		}
	}
	if r, reset := rateLimitHeader(t, w.Header()); r != 0 || reset < 1 || reset > 6 {
		t.Errorf("RateLimit: got r=%d t=%d, want r=0 and t in 1..6", r, reset)
	}
	var p struct {
		Type      string `json:"type"`
		Title     string `json:"title"`
		Status    int    `json:"status"`
		Detail    string `json:"detail"`
		Instance  string `json:"instance"`
		RequestID string `json:"request_id"`
	}
	if !strings.Contains(w.Body.String(), "x=<b>") {
		t.Errorf("body: got %s, want HTML left unescaped", w.Body)
	}
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body: %v", err)
	}
	if p.Type != ratelimit.ProblemType || p.Title == "" || p.Status != 429 || p.Detail == "" ||
		p.Instance != "/v1/ping?offence=sex-purchase&x=<b>" || p.RequestID != "req-42" {
		t.Errorf("problem: got %+v", p)
	}
	// Another client is unaffected.
	if w := get(h, "198.51.100.2:1000", "/v1/ping"); w.Code != http.StatusOK {
		t.Errorf("other client: got status %d, want 200", w.Code)
	}
	st := l.Stats()
	if st.Allowed != 3 || st.Rejected != 1 || st.Fallbacks != 0 || st.RedisErrors != 0 {
		t.Errorf("Stats: got %+v, want 3 allowed, 1 rejected, no fallbacks or Redis errors", st)
	}
}

func TestMiddlewareExempt(t *testing.T) {
	l := newLimiter(t, ratelimit.Config{Rate: 1, Period: time.Hour, Burst: 1,
		Exempt: func(r *http.Request) bool { return r.URL.Path == "/v1/export" }}, nil)
	h := newEngine(l)
	for i := range 5 {
		w := get(h, "198.51.100.1:1000", "/v1/export")
		if w.Code != http.StatusOK || w.Header().Get("RateLimit") != "" {
			t.Fatalf("exempt request %d: got status %d and RateLimit %q, want 200 and none",
				i, w.Code, w.Header().Get("RateLimit"))
		}
	}
	if w := get(h, "198.51.100.1:1000", "/v1/ping"); w.Code != http.StatusOK {
		t.Errorf("first counted request: got %d, want 200", w.Code)
	}
	if w := get(h, "198.51.100.1:1000", "/v1/ping"); w.Code != http.StatusTooManyRequests {
		t.Errorf("second counted request: got %d, want 429", w.Code)
	}
}

func TestMiddlewareTrustedProxy(t *testing.T) {
	proxies, _ := ratelimit.ParsePrefixes("10.0.0.0/8")
	l := newLimiter(t, ratelimit.Config{Rate: 1, Period: time.Hour, Burst: 1, TrustedProxies: proxies}, nil)
	h := newEngine(l)
	send := func(remote, xff string) int {
		r := httptest.NewRequest("GET", "/v1/ping", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	// Two clients behind the same proxy have a bucket each.
	for _, c := range []struct {
		remote, xff string
		want        int
	}{
		{"10.0.0.1:1", "198.51.100.1", 200},
		{"10.0.0.1:1", "198.51.100.2", 200},
		{"10.0.0.1:1", "198.51.100.1", 429},
		// A client that forges the header cannot escape its bucket.
		{"198.51.100.1:1", "203.0.113.77", 429},
	} {
		if got := send(c.remote, c.xff); got != c.want {
			t.Errorf("peer %s XFF %s: got %d, want %d", c.remote, c.xff, got, c.want)
		}
	}
}

// acceptanceConfig is tight enough to trip within a test: ten a second, a
// burst of five.
var acceptanceConfig = ratelimit.Config{Rate: 10, Period: time.Second, Burst: 5}

// TestTwoClients is the acceptance test: one client over its limit gets 429
// with the headers while a second at a modest rate sees only 200s.
func TestTwoClients(t *testing.T) {
	l := newLimiter(t, acceptanceConfig, nil)
	h := newEngine(l)
	var greedy, modest []int
	for i := range 40 {
		greedy = append(greedy, get(h, "127.0.0.2:1234", "/v1/ping").Code)
		if i%8 == 0 { // five a second at most, against a limit of ten
			modest = append(modest, get(h, "127.0.0.3:1234", "/v1/ping").Code)
		}
		time.Sleep(25 * time.Millisecond)
	}
	checkTwoClients(t, greedy, modest)
}

func checkTwoClients(t *testing.T, greedy, modest []int) {
	t.Helper()
	count := func(codes []int, code int) int {
		n := 0
		for _, c := range codes {
			if c == code {
				n++
			}
		}
		return n
	}
	if n := count(greedy, 429); n == 0 || n+count(greedy, 200) != len(greedy) {
		t.Errorf("greedy client: got %v, want 200s and some 429s only", greedy)
	}
	if n := count(modest, 200); n != len(modest) {
		t.Errorf("modest client: got %v, want only 200s", modest)
	}
}

// TestTwoClientsOverTCP repeats the acceptance test through a real server,
// each client dialling from its own loopback address.
func TestTwoClientsOverTCP(t *testing.T) {
	l := newLimiter(t, acceptanceConfig, nil)
	srv := httptest.NewServer(newEngine(l))
	t.Cleanup(srv.Close)
	greedyClient, modestClient := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
	var greedy, modest []int
	var refused *http.Response
	for i := range 40 {
		res := fetch(t, greedyClient, srv.URL+"/v1/ping")
		greedy = append(greedy, res.StatusCode)
		if res.StatusCode == http.StatusTooManyRequests && refused == nil {
			refused = res
		}
		if i%8 == 0 {
			modest = append(modest, fetch(t, modestClient, srv.URL+"/v1/ping").StatusCode)
		}
		time.Sleep(25 * time.Millisecond)
	}
	checkTwoClients(t, greedy, modest)
	if refused == nil {
		return
	}
	ra, err := strconv.Atoi(refused.Header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Errorf("Retry-After: got %q, want whole seconds >= 1", refused.Header.Get("Retry-After"))
	}
	if got := refused.Header.Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("Content-Type: got %q, want application/problem+json", got)
	}
	if m := policyRe.FindStringSubmatch(refused.Header.Get("RateLimit-Policy")); m == nil || m[1] != "5" {
		t.Errorf("RateLimit-Policy: got %q, want q=5", refused.Header.Get("RateLimit-Policy"))
	}
	if r, _ := rateLimitHeader(t, refused.Header); r != 0 {
		t.Errorf("RateLimit on 429: got r=%d, want 0", r)
	}
}

// clientFrom returns an HTTP client whose connections leave from ip.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// fetch GETs url and returns the response with its body read and closed.
func fetch(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}
