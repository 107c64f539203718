package ratelimit_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/krimstat/krimstat/cache"
	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/ratelimit"
)

// redisClient connects to the shared test Redis and returns the client and
// a key prefix of the test's own. redis_rate puts "rate:" before every key,
// so the keys are cleaned up under that too.
func redisClient(t *testing.T) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	prefix := testenv.RedisPrefix(t, rdb)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := testenv.DeleteRedisKeys(ctx, rdb, "rate:"+prefix+"*"); err != nil {
			t.Errorf("deleting the limiter's keys: %v", err)
		}
	})
	return rdb, prefix
}

// TestSharedOnEveryKind: two Limiters, as two replicas, share one client's
// tokens through a single Redis, through Sentinel's primary and through a
// three-master cluster, where the clients' buckets spread over the masters.
func TestSharedOnEveryKind(t *testing.T) {
	for _, kind := range []string{"single", "sentinel", "cluster"} {
		t.Run(kind, func(t *testing.T) {
			target, err := cache.ParseRedisURL(testenv.StartRedisURL(t, kind))
			if err != nil {
				t.Fatal(err)
			}
			rdb := target.NewClient(time.Second)
			t.Cleanup(func() { rdb.Close() })
			cfg := ratelimit.Config{Rate: 3, Period: time.Minute, Burst: 3, RedisTimeout: time.Second}
			a, b := newLimiter(t, cfg, rdb), newLimiter(t, cfg, rdb)
			ha, hb := newEngine(a), newEngine(b)
			const clients = 12
			for c := range clients {
				remote := fmt.Sprintf("198.51.100.%d:1000", c+1)
				var codes []int
				for i := range 5 {
					h := ha
					if i%2 == 1 {
						h = hb
					}
					codes = append(codes, get(h, remote, "/v1/ping").Code)
				}
				if want := []int{200, 200, 200, 429, 429}; !slices.Equal(codes, want) {
					t.Fatalf("client %s alternating replicas: got %v, want %v", remote, codes, want)
				}
			}
			for _, l := range []*ratelimit.Limiter{a, b} {
				if st := l.Stats(); st.Fallbacks != 0 || st.RedisErrors != 0 {
					t.Errorf("Stats: got %+v, want every decision made in Redis", st)
				}
			}
			if cluster, ok := rdb.(*redis.ClusterClient); ok {
				var mu sync.Mutex
				var sizes []int64
				err := cluster.ForEachMaster(context.Background(), func(ctx context.Context, node *redis.Client) error {
					n, err := node.DBSize(ctx).Result()
					mu.Lock()
					sizes = append(sizes, n)
					mu.Unlock()
					return err
				})
				if err != nil || len(sizes) != 3 || slices.Contains(sizes, 0) {
					t.Errorf("buckets per master: got %v, %v; want some on each of 3", sizes, err)
				}
			}
		})
	}
}

// TestSharedAcrossReplicas shows two Limiters on one Redis, as two replicas
// would be, spending one client's tokens together.
func TestSharedAcrossReplicas(t *testing.T) {
	rdb, prefix := redisClient(t)
	cfg := ratelimit.Config{Rate: 6, Period: time.Minute, Burst: 6, Prefix: prefix, RedisTimeout: time.Second}
	a, b := newEngine(newLimiter(t, cfg, rdb)), newEngine(newLimiter(t, cfg, rdb))
	var codes []int
	for i := range 8 {
		h := a
		if i%2 == 1 {
			h = b
		}
		w := get(h, "198.51.100.1:1000", "/v1/ping")
		codes = append(codes, w.Code)
		if w.Code == http.StatusOK {
			if r, _ := rateLimitHeader(t, w.Header()); r != 5-i {
				t.Errorf("request %d: got r=%d, want %d", i, r, 5-i)
			}
		}
	}
	want := []int{200, 200, 200, 200, 200, 200, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("alternating replicas: got %v, want %v", codes, want)
		}
	}
	// The bucket lives in Redis, under the configured prefix.
	n, err := rdb.Exists(context.Background(), "rate:"+prefix+"198.51.100.1").Result()
	if err != nil || n != 1 {
		t.Errorf("Redis key: got %d, %v; want it to exist", n, err)
	}
	// Another client on the same replicas has its own bucket.
	if w := get(b, "198.51.100.2:1000", "/v1/ping"); w.Code != http.StatusOK {
		t.Errorf("other client: got %d, want 200", w.Code)
	}
}

// redisServer is a redis-server of the test's own, which it may stop,
// freeze and restart.
type redisServer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

const redisBinary = "/usr/bin/redis-server"

func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	if _, err := os.Stat(redisBinary); err != nil {
		t.Skipf("no %s: %v", redisBinary, err)
	}
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	cmd := exec.Command(redisBinary, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &redisServer{t: t, port: port, cmd: cmd}
	t.Cleanup(s.kill)
	rdb := redis.NewClient(&redis.Options{Addr: s.addr()})
	defer rdb.Close()
	for range 100 {
		if rdb.Ping(context.Background()).Err() == nil {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server on port %d did not answer within 2 s", port)
	return nil
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// kill ends the server, thawing it first in case it is stopped.
func (s *redisServer) kill() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// timedGet is get with its duration.
func timedGet(h http.Handler, remote string) (int, time.Duration) {
	start := time.Now()
	w := get(h, remote, "/v1/ping")
	return w.Code, time.Since(start)
}

// TestFallback kills and freezes Redis under a Limiter: requests keep being
// limited in process, none fails, and none waits longer than the Redis
// timeout; when Redis comes back, the limits are shared again.
func TestFallback(t *testing.T) {
	// go-redis ignores context deadlines unless told otherwise; the limiter
	// must keep its timeout either way.
	clients := []struct {
		name string
		opt  func(addr string) *redis.Options
	}{
		{"default options", func(addr string) *redis.Options { return &redis.Options{Addr: addr} }},
		{"deadline options", func(addr string) *redis.Options {
			return &redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1,
				DialTimeout: 50 * time.Millisecond, PoolTimeout: 50 * time.Millisecond}
		}},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { testFallback(t, c.opt) })
	}
}

func testFallback(t *testing.T, opt func(addr string) *redis.Options) {
	srv := startRedis(t, 0)
	rdb := redis.NewClient(opt(srv.addr()))
	t.Cleanup(func() { rdb.Close() })
	const timeout = 50 * time.Millisecond
	// Slack for a loaded test machine; a request that waited on a dead Redis
	// without a timeout would take seconds.
	const slack = 150 * time.Millisecond
	l := newLimiter(t, ratelimit.Config{Rate: 5, Period: time.Minute, Burst: 5,
		RedisTimeout: timeout, RedisBackoff: 200 * time.Millisecond}, rdb)
	h := newEngine(l)

	for i := range 3 {
		if code, _ := timedGet(h, "198.51.100.1:1"); code != http.StatusOK {
			t.Fatalf("with Redis, request %d: got %d, want 200", i, code)
		}
	}
	if st := l.Stats(); st.Fallbacks != 0 || st.Degraded {
		t.Fatalf("with Redis: got %+v, want no fallbacks", st)
	}

	phases := []struct {
		name   string
		client string // a client of the phase's own, whose local bucket starts full
		fault  func()
	}{
		{"killed", "198.51.100.8:1", srv.kill},
		{"frozen", "198.51.100.9:1", func() {
			srv = startRedis(t, srv.port)
			waitShared(t, l, h)
			_ = srv.cmd.Process.Signal(syscall.SIGSTOP)
		}},
	}
	for _, p := range phases {
		p.fault()
		before := l.Stats()
		var codes []int
		for range 12 {
			code, took := timedGet(h, p.client)
			codes = append(codes, code)
			if took > timeout+slack {
				t.Errorf("Redis %s: a request took %s, want at most %s", p.name, took, timeout+slack)
			}
			time.Sleep(30 * time.Millisecond) // spans a few backoffs, so Redis is tried again
		}
		after := l.Stats()
		ok, refused := 0, 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				refused++
			default:
				t.Errorf("Redis %s: got status %d, want only 200 and 429", p.name, c)
			}
		}
		// The in-process bucket starts full: five pass, the rest wait.
		if ok != 5 || refused != 7 {
			t.Errorf("Redis %s: got %d allowed and %d refused (%v), want 5 and 7", p.name, ok, refused, codes)
		}
		if after.Fallbacks-before.Fallbacks != 12 || after.RedisErrors == before.RedisErrors || !after.Degraded {
			t.Errorf("Redis %s: got stats %+v after %+v, want 12 more fallbacks, more Redis errors, degraded", p.name, after, before)
		}
	}
	_ = srv.cmd.Process.Signal(syscall.SIGCONT)
	waitShared(t, l, h)
}

// waitShared sends requests until the limiter uses Redis again, failing
// after five seconds, the recovery time the API promises.
func waitShared(t *testing.T, l *ratelimit.Limiter, h http.Handler) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := timedGet(h, "198.51.100.200:1"); code >= 500 {
			t.Fatalf("recovering: got status %d", code)
		}
		if !l.Stats().Degraded {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Redis back: limiter still degraded after 5 s (%+v)", l.Stats())
}

// countHook counts the commands a Redis client sends.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRefusalAnsweredInProcess sends a refused client's requests again: once
// Redis has said no, the refusals until Retry-After cost no Redis call, so
// a client that ignores 429 cannot make each of its requests a round trip.
func TestRefusalAnsweredInProcess(t *testing.T) {
	rdb, prefix := redisClient(t)
	hook := &countHook{}
	rdb.AddHook(hook)
	cfg := ratelimit.Config{Rate: 2, Period: time.Hour, Burst: 2, Prefix: prefix, RedisTimeout: time.Second}
	h := newEngine(newLimiter(t, cfg, rdb))
	// Two tokens, then the refusal that Redis decides.
	for range 3 {
		get(h, "198.51.100.7:1000", "/v1/ping")
	}
	before := hook.n.Load()
	// Each of these is also held back up to a second (the tarpit).
	for range 3 {
		w := get(h, "198.51.100.7:1000", "/v1/ping")
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
			t.Fatalf("refused client: got %d Retry-After %q, want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
		}
	}
	if n := hook.n.Load() - before; n != 0 {
		t.Errorf("Redis commands for 3 refusals: got %d, want 0", n)
	}
	// Another client still asks Redis.
	if w := get(h, "198.51.100.8:1000", "/v1/ping"); w.Code != http.StatusOK || hook.n.Load() == before {
		t.Errorf("other client: got %d, want 200 decided by Redis", w.Code)
	}
}
