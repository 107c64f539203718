package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/krimstat/krimstat/internal/testenv"
)

// logEntry returns the first log line of logs whose msg is msg and whose
// fields include every key=value of match, decoded; nil if there is none.
func logEntry(logs string, msg string, match map[string]string) map[string]any {
	for _, line := range strings.Split(logs, "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil || e["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range match {
			if fmt.Sprint(e[k]) != v {
				ok = false
			}
		}
		if ok {
			return e
		}
	}
	return nil
}

// TestMetricsListener: /metrics is not on the API's address; with
// KRIMSTAT_METRICS_ADDR it is served there, and shut down with the API.
func TestMetricsListener(t *testing.T) {
	base, logs, _ := startServe(t, nil)
	if body, status := fetch(t, base+"/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics on the API address by default: got %d %.100s, want 404", status, body)
	}
	if e := logEntry(logs.String(), "metrics listening", nil); e != nil {
		t.Errorf("a metrics listener by default: %v", e)
	}

	base, logs, stop := startServe(t, map[string]string{"KRIMSTAT_METRICS_ADDR": "127.0.0.1:0"})
	e := logEntry(logs.String(), "metrics listening", nil)
	if e == nil {
		t.Fatalf("no metrics listener with KRIMSTAT_METRICS_ADDR:\n%s", logs)
	}
	metricsURL := fmt.Sprintf("http://%s/metrics", e["addr"])
	if _, status := fetch(t, base+"/v1/offences"); status != http.StatusOK {
		t.Fatalf("/v1/offences: got %d", status)
	}
	body, status := fetch(t, metricsURL)
	for _, want := range []string{`krimstat_http_requests_total{`, `krimstat_connections_open `, `krimstat_connections_refused_total{cap="client"} 0`} {
		if status != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: got %d without %q:\n%.2000s", metricsURL, status, want, body)
		}
	}
	if _, status := fetch(t, base+"/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics on the API address with a metrics listener: got %d, want 404", status)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprint(e["addr"]), time.Second); err == nil {
		c.Close()
		t.Errorf("metrics listener still open after shutdown")
	}
}

// TestStartupLog: the start-up log states the limits in force (not the
// zero fields of an unset configuration), the build revision, and no
// password.
func TestStartupLog(t *testing.T) {
	_, logs, _ := startServe(t, map[string]string{
		"KRIMSTAT_RATELIMIT": "on",
		// Nothing listens there: the server starts without Redis.
		"REDIS_URL": "redis://:hunter2@127.0.0.1:1/0",
	})
	out := logs.String()
	if e := logEntry(out, "rate limit", map[string]string{"rate": "600", "period": "1m0s", "burst": "100"}); e == nil {
		t.Errorf("no rate limit line with the defaults in force:\n%s", out)
	}
	if e := logEntry(out, "starting", nil); e == nil || !strings.HasPrefix(fmt.Sprint(e["revision"]), representationVersion+"-") {
		t.Errorf("starting line without a revision: %v", e)
	}
	if strings.Contains(out, "hunter") {
		t.Errorf("the log shows a password:\n%s", out)
	}
}

// TestStatementTimeoutAnswers503: a query that outlasts
// KRIMSTAT_PG_STATEMENT_TIMEOUT (it waits on a lock another session holds)
// is answered 503 problem+json within about the timeout, never 500.
func TestStatementTimeoutAnswers503(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	loadBundled(t, dbURL)
	base, _, _ := startServe(t, map[string]string{"DATABASE_URL": dbURL, "KRIMSTAT_PG_STATEMENT_TIMEOUT": "200ms"})

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE observations IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.Get(base + "/v1/observations?region=NO&citizenship=total")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("answer took %s with a 200ms statement timeout", took)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("query past the statement timeout: got %d %q %s, want 503 problem+json",
			resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// startRedisServer runs a redis-server of the test's own on a free port with
// the extra arguments given, killed when the test ends, and returns its URL
// and a plain client on it. Without the binary the test is skipped, except
// under CI=true, where it fails.
func startRedisServer(t *testing.T, args ...string) (string, *redis.Client) {
	t.Helper()
	addr := testenv.StartRedis(t, args...)
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	return "redis://" + addr + "/0", client
}

// TestRedisFull: the cache's Redis fills up (here: its maxmemory is set below
// what it holds, with noeviction). /readyz then reports it unavailable,
// although it answers PING, while the rate limiter, on a Redis of its own,
// goes on sharing its counts there without falling back. The start-up log
// warns about both Redis settings that let this happen.
func TestRedisFull(t *testing.T) {
	cacheURL, cacheRedis := startRedisServer(t, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
	limitURL, limitRedis := startRedisServer(t) // unbounded, noeviction: the defaults
	base, logs, _ := startServe(t, map[string]string{
		"REDIS_URL":                    cacheURL,
		"KRIMSTAT_RATELIMIT_REDIS_URL": limitURL,
		"KRIMSTAT_RATELIMIT":           "on",
		"KRIMSTAT_METRICS_ADDR":        "127.0.0.1:0",
	})
	out := logs.String()
	for _, want := range []struct{ use, text string }{{"cache", "noeviction"}, {"ratelimit", "maxmemory is 0"}, {"ratelimit", "noeviction"}} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, `"redis":"`+want.use+`"`) && strings.Contains(line, want.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no start-up warning %q for the %s Redis:\n%s", want.text, want.use, out)
		}
	}
	readyz := func() map[string]any {
		t.Helper()
		body, status := fetch(t, base+"/readyz")
		var h map[string]any
		if status != http.StatusOK || json.Unmarshal(body, &h) != nil {
			t.Fatalf("/readyz: got %d %s", status, body)
		}
		return h
	}
	if h := readyz(); h["status"] != "ready" {
		t.Fatalf("/readyz before Redis is full: got %v, want ready", h)
	}

	ctx := context.Background()
	if err := cacheRedis.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := cacheRedis.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING of the full Redis: %v", err)
	}
	// Responses not cached yet: storing them is refused.
	for i := range 3 {
		resp, err := http.Get(fmt.Sprintf("%s/v1/observations?region=NO&limit=%d", base, 100+i))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit") == "" {
			t.Fatalf("request %d with the cache's Redis full: got %d, RateLimit %q; want 200 with a limit",
				i, resp.StatusCode, resp.Header.Get("RateLimit"))
		}
	}
	// Readiness results may be reused for a second.
	var h map[string]any
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if h = readyz(); h["status"] == "degraded" {
			break
		}
	}
	checks, _ := h["checks"].(map[string]any)
	if h["status"] != "degraded" || checks["redis"] != "unavailable" || checks["redis_ratelimit"] != "ok" {
		t.Errorf("/readyz with the cache's Redis full: got %v, want degraded, redis unavailable, redis_ratelimit ok", h)
	}

	if n, err := limitRedis.DBSize(ctx).Result(); err != nil || n == 0 {
		t.Errorf("keys in the rate limiter's Redis: got %d, %v; want its counts", n, err)
	}
	e := logEntry(out, "metrics listening", nil)
	if e == nil {
		t.Fatal("no metrics listener")
	}
	body, _ := fetch(t, fmt.Sprintf("http://%s/metrics", e["addr"]))
	for _, want := range []string{"krimstat_ratelimit_fallbacks_total 0", `krimstat_redis_refused_writes_total{component="cache"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics: no %q", want)
		}
	}
	if strings.Contains(string(body), `krimstat_redis_refused_writes_total{component="cache"} 0`) {
		t.Errorf("metrics: no refused write counted for the cache's Redis")
	}
}
