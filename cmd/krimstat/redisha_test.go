package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krimstat/krimstat/internal/testenv"
)

// replica is a server of the API as one replica of several behind a proxy
// on the loopback, which it trusts for X-Forwarded-For.
type replica struct {
	base   string
	client *http.Client
}

// haEnv is the environment of the replicas of these tests: the Redis at url
// for cache and limits, and limits small enough to see them bite (five
// requests a minute per client). The Redis timeout is ten times the default:
// what is shown is that the replicas share through every kind of Redis, and
// a busy test machine (the race detector, packages tested in parallel) would
// make calls time out now and then, each sending the limiter to its
// in-process fallback for a second.
func haEnv(url string) map[string]string {
	return map[string]string{
		"REDIS_URL":                url,
		"KRIMSTAT_REDIS_TIMEOUT":   "500ms",
		"KRIMSTAT_RATELIMIT":       "on",
		"KRIMSTAT_RATELIMIT_RATE":  "5/m",
		"KRIMSTAT_RATELIMIT_BURST": "5",
		"KRIMSTAT_TRUSTED_PROXIES": "127.0.0.1/32",
	}
}

// get asks the replica for path on behalf of the client at address from,
// and returns the status and the X-Cache header.
func (r replica) get(path, from string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, r.base+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-Forwarded-For", from)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, resp.Header.Get("X-Cache"), nil
}

// startReplicas starts n servers of the API with env and returns them with
// their logs.
func startReplicas(t *testing.T, n int, env map[string]string) ([]replica, []*syncBuffer) {
	t.Helper()
	var rs []replica
	var logs []*syncBuffer
	for range n {
		base, l, _ := startServe(t, env)
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		t.Cleanup(c.CloseIdleConnections)
		rs = append(rs, replica{base, c})
		logs = append(logs, l)
	}
	return rs, logs
}

// limitsShared reports whether a and b count a client's requests together:
// the client at from spends its five tokens on a, and b then refuses it.
// Where either decides in process (Redis away), b lets it through.
func limitsShared(t *testing.T, a, b replica, from string) bool {
	t.Helper()
	for i := range 5 {
		if code, _, err := a.get("/v1/offences", from); err != nil || code != http.StatusOK {
			t.Fatalf("request %d of %s on the first replica: got %d, %v; want 200", i, from, code, err)
		}
	}
	code, _, err := b.get("/v1/offences", from)
	if err != nil || (code != http.StatusOK && code != http.StatusTooManyRequests) {
		t.Fatalf("sixth request of %s on the second replica: got %d, %v; want 429 or 200", from, code, err)
	}
	return code == http.StatusTooManyRequests
}

// cacheShared reports whether a response a computes for path reaches b
// through Redis.
func cacheShared(t *testing.T, a, b replica, path, from string) bool {
	t.Helper()
	if code, _, err := a.get(path, from); err != nil || code != http.StatusOK {
		t.Fatalf("%s on the first replica: got %d, %v; want 200", path, code, err)
	}
	code, xcache, err := b.get(path, from)
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s on the second replica: got %d, %v; want 200", path, code, err)
	}
	return xcache == "HIT-REDIS"
}

// metricValue returns the value of the sample named name (with its labels)
// in a Prometheus text exposition.
func metricValue(t *testing.T, body []byte, name string) float64 {
	t.Helper()
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("%s: %q: %v", name, v, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in the metrics:\n%s", name, body)
	return 0
}

// TestRedisKindsServe: two replicas on one Redis, a single server, Sentinel
// or a cluster, log its kind and addresses at start, share the responses
// one computed and count a client's requests together.
func TestRedisKindsServe(t *testing.T) {
	for _, kind := range []string{"single", "sentinel", "cluster"} {
		t.Run(kind, func(t *testing.T) {
			url := testenv.StartRedisURL(t, kind)
			rs, logs := startReplicas(t, 2, haEnv(url))
			out := logs[0].String()
			e := logEntry(out, "redis configured", map[string]string{"redis": "cache", "kind": kind})
			if e == nil {
				t.Fatalf("no start-up line of the %s Redis:\n%s", kind, out)
			}
			if addrs, _ := e["addrs"].([]any); (kind == "single") != (len(addrs) == 1) {
				t.Errorf("addresses logged for the %s Redis: got %v", kind, e["addrs"])
			}
			if kind == "sentinel" && e["master_name"] != "krimstat" {
				t.Errorf("master name logged: got %v, want krimstat", e["master_name"])
			}
			if strings.Contains(out, "redis unreachable") {
				t.Errorf("the %s Redis unreachable at start:\n%s", kind, out)
			}
			if !cacheShared(t, rs[0], rs[1], "/v1/observations?region=NO&limit=7", "203.0.113.1") {
				t.Errorf("a response computed on one replica: not a Redis hit on the other")
			}
			if !limitsShared(t, rs[0], rs[1], "203.0.113.2") {
				t.Errorf("a client's requests on two replicas: not counted together")
			}
		})
	}
}

// TestSentinelFailover kills Sentinel's primary (SIGKILL) while two replicas
// of the API answer a stream of requests on cached routes, cached already or
// not. Not one request may fail: the local tier and the store answer while
// Redis is away. Once Sentinel has promoted the replica, the responses are
// shared through Redis again and the limits are counted there again.
func TestSentinelFailover(t *testing.T) {
	s := testenv.StartSentinel(t)
	env := haEnv(s.URL)
	env["KRIMSTAT_METRICS_ADDR"] = "127.0.0.1:0"
	rs, logs := startReplicas(t, 2, env)
	a, b := rs[0], rs[1]
	if !cacheShared(t, a, b, "/v1/observations?region=NO&limit=3", "203.0.113.1") || !limitsShared(t, a, b, "203.0.113.2") {
		t.Fatal("before the failover: the replicas do not share cache and limits through Sentinel's primary")
	}

	// Each request comes from a client of its own, so that no limit bites:
	// what is measured is the service, not the limits.
	var clientSeq atomic.Uint32
	nextClient := func() string {
		n := clientSeq.Add(1)
		return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
	}
	warm := []string{"/v1/offences", "/v1/regions", "/v1/measures", "/v1/observations?region=NO&limit=20"}
	for _, p := range warm {
		for _, r := range rs {
			if code, _, err := r.get(p, nextClient()); err != nil || code != http.StatusOK {
				t.Fatalf("warming %s: got %d, %v", p, code, err)
			}
		}
	}

	var (
		requests, failed atomic.Int64
		mu               sync.Mutex
		failures         []string
		sources          = map[string]int{}
		fresh            atomic.Int64
		stop             = make(chan struct{})
		wg               sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			r := rs[w%2]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Every fourth request asks for a response no one has
				// computed yet (until the pages run out, at 10000): a
				// miss, computed and offered to Redis.
				path := warm[i%len(warm)]
				if i%4 == 3 {
					path = fmt.Sprintf("/v1/observations?region=NO&limit=%d", 100+fresh.Add(1)%9900)
				}
				code, xcache, err := r.get(path, nextClient())
				requests.Add(1)
				mu.Lock()
				sources[xcache]++
				if err != nil || code != http.StatusOK {
					failed.Add(1)
					if len(failures) < 10 {
						failures = append(failures, fmt.Sprintf("%s: %d %v", path, code, err))
					}
				}
				mu.Unlock()
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)

	time.Sleep(time.Second)
	before := requests.Load()
	killed := time.Now()
	s.Primary.Kill()

	// Generous waits, each from the step before: a failover takes a few
	// seconds on a busy machine, and the replicas then have to notice it.
	poll := func(what string, ok func() bool) time.Duration {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if ok() {
				return time.Since(killed)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 15 s", what)
			}
		}
	}
	failover := poll("Sentinel promotes the replica", func() bool {
		addr, err := s.MasterAddr(t.Context())
		return err == nil && addr == s.Replica.Addr
	})
	seq := 0
	limits := poll("the limits are counted in Redis again", func() bool {
		seq++
		return limitsShared(t, a, b, fmt.Sprintf("203.0.113.%d", 10+seq))
	})
	cached := poll("responses are shared through Redis again", func() bool {
		seq++
		return cacheShared(t, a, b, fmt.Sprintf("/v1/observations?region=SE&limit=%d", seq), nextClient())
	})
	time.Sleep(500 * time.Millisecond) // a little load on the new primary
	stopLoad()

	// The replicas felt the outage: Redis calls failed and limits were
	// decided in process meanwhile.
	var cacheErrs, fallbacks float64
	for _, l := range logs {
		e := logEntry(l.String(), "metrics listening", nil)
		if e == nil {
			t.Fatal("no metrics listener")
		}
		body, _ := fetch(t, fmt.Sprintf("http://%s/metrics", e["addr"]))
		cacheErrs += metricValue(t, body, `krimstat_redis_errors_total{component="cache"}`)
		fallbacks += metricValue(t, body, "krimstat_ratelimit_fallbacks_total")
	}

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d requests (%d before the kill), %d failed; X-Cache %v; Sentinel named the new primary %s after the kill, "+
		"limits shared again after %s, responses after %s; %.0f cache Redis errors, %.0f limits decided in process",
		requests.Load(), before, failed.Load(), sources, failover.Round(time.Millisecond),
		limits.Round(time.Millisecond), cached.Round(time.Millisecond), cacheErrs, fallbacks)
	if cacheErrs == 0 || fallbacks == 0 {
		t.Errorf("Redis errors of the cache %.0f, limits decided in process %.0f: want both, or the kill went unnoticed", cacheErrs, fallbacks)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("requests failed during the failover: got %d of %d, want 0: %s", n, requests.Load(), strings.Join(failures, "; "))
	}
	if requests.Load() <= before || sources["MISS"] == 0 || sources["HIT-LOCAL"] == 0 {
		t.Errorf("load: got %d requests (%d before the kill), X-Cache %v; want requests during the failover, hits and misses",
			requests.Load(), before, sources)
	}
}

// TestBadRedisURL: a Redis URL that cannot be meant stops serve at start,
// naming the variable and not the password.
func TestBadRedisURL(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"REDIS_URL", "redis://:hunter2@node1:7000/3?addr=node2:7001", "database 0"},
		{"REDIS_URL", "redis://:hunter2@s1:26379?master_name=m&pool=3", "pool"},
		{"REDIS_URL", "redis://:hunter2@cache:6379/%zz", "escape"},
		{"KRIMSTAT_RATELIMIT_REDIS_URL", "redis://:hunter2@s1:26379?master_name=", "master_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.want, func(t *testing.T) {
			env := map[string]string{"KRIMSTAT_ADDR": "127.0.0.1:0", tt.name: tt.value}
			var logs syncBuffer
			err := run(t.Context(), []string{"krimstat", "serve"}, func(k string) string { return env[k] }, &logs)
			if err == nil || !strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve with %s=%s: got %v, want an error naming %s and %q", tt.name, tt.value, err, tt.name, tt.want)
			}
			if strings.Contains(err.Error()+logs.String(), "hunter2") {
				t.Errorf("the error or the log shows the password: %v\n%s", err, logs.String())
			}
		})
	}
}
