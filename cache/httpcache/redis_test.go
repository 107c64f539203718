package httpcache_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krimstat/krimstat/cache"
	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// mustRedisTier returns a tier on Redis at url (plus a local tier when cfg
// asks for one) and the tier's Redis client.
func mustRedisTier(tb testing.TB, cfg httpcache.Config, url string) (*cache.Tiered, *redis.Client) {
	tb.Helper()
	opt, err := cache.RedisOptions(url, cfg.RedisTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	client := redis.NewClient(opt)
	tb.Cleanup(func() { _ = client.Close() })
	tier, err := httpcache.NewTiered(cfg, client, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tier.Close() })
	return tier, client
}

func TestTwoProcessesShareRedis(t *testing.T) {
	url := testenv.RedisURL(t)
	cfg := testConfig()
	cfg.RedisTimeout = time.Second
	// Both "processes" write under one prefix of this test's own, which the
	// first client deletes at the end.
	_, probe := mustRedisTier(t, cfg, url)
	cfg.RedisPrefix = testenv.RedisPrefix(t, probe)

	var calls atomic.Int64 // the handler calls of both processes
	tierA, _ := mustRedisTier(t, cfg, url)
	tierB, _ := mustRedisTier(t, cfg, url)
	a := newApp(t, cfg, tierA, &calls)
	b := newApp(t, cfg, tierB, &calls)

	steps := []struct {
		name string
		app  *app
		want string
	}{
		{"first process computes", a, httpcache.Miss},
		{"second process reads Redis", b, httpcache.HitRedis},
		{"second process then has it in memory", b, httpcache.HitLocal},
		{"first process has it in memory", a, httpcache.HitLocal},
	}
	var etag string
	for _, s := range steps {
		w := s.app.do(t, http.MethodGet, "/v1/observations?region=NO&offence=sex-purchase", "Accept-Encoding", "gzip")
		if w.Code != http.StatusOK || w.Header().Get("X-Cache") != s.want {
			t.Errorf("%s: got %d %s, want 200 %s", s.name, w.Code, w.Header().Get("X-Cache"), s.want)
		}
		if etag == "" {
			etag = w.Header().Get("ETag")
		} else if got := w.Header().Get("ETag"); got != etag {
			t.Errorf("%s: ETag %s, want the first process's %s", s.name, got, etag)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("handler calls of both processes: got %d, want 1", got)
	}
	if got := tierB.Stats().Computes; got != 0 {
		t.Errorf("computations of the second process: got %d, want 0", got)
	}
}

// redisServer is a redis-server of the test's own on a port of its own.
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs redis-server and waits (at most five seconds) until it answers.
func (s *redisServer) start(t *testing.T) {
	t.Helper()
	const bin = "/usr/bin/redis-server"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v", bin, err)
		}
		t.Skipf("%s: %v", bin, err)
	}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(s.stop)
	client := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer client.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer: %v", s.port, err)
		}
	}
}

// stop kills the server, as a crash would.
func (s *redisServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func TestRedisKilledMidTest(t *testing.T) {
	srv := &redisServer{port: freePort(t)}
	srv.start(t)

	cfg := testConfig()
	cfg.LocalEnabled = false // every request goes to Redis
	cfg.RedisTimeout = 50 * time.Millisecond
	tier, _ := mustRedisTier(t, cfg, "redis://"+srv.addr()+"/0")
	a := newApp(t, cfg, tier, nil)

	const target = "/v1/observations?region=NO"
	get := func(phase string) string {
		t.Helper()
		start := time.Now()
		w := a.do(t, http.MethodGet, target)
		if elapsed := time.Since(start); elapsed > 250*time.Millisecond {
			t.Errorf("%s: request took %s, want under 250ms", phase, elapsed)
		}
		if w.Code != http.StatusOK || w.Body.String() != observations {
			t.Fatalf("%s: got %d with %d bytes, want 200 with the body", phase, w.Code, w.Body.Len())
		}
		return w.Header().Get("X-Cache")
	}

	if got := get("before"); got != httpcache.Miss {
		t.Errorf("first request: X-Cache %q, want MISS", got)
	}
	if got := get("before"); got != httpcache.HitRedis {
		t.Errorf("second request: X-Cache %q, want HIT-REDIS", got)
	}

	srv.stop()
	callsBefore := a.calls.Load()
	const down = 50
	for range down {
		if got := get("redis down"); got != httpcache.Miss {
			t.Errorf("Redis down: X-Cache %q, want MISS", got)
		}
	}
	if got := a.calls.Load() - callsBefore; got != down {
		t.Errorf("handler calls with Redis down: got %d, want %d", got, down)
	}
	if st := tier.Stats(); st.RedisErrors == 0 {
		t.Errorf("Stats with Redis down: got %+v, want Redis errors counted", st)
	}

	srv.start(t)
	// The tier pauses Redis for a second after failures and go-redis probes a
	// dead server once a second, so Redis is back within a few seconds.
	deadline := time.Now().Add(5 * time.Second)
	for get("restarted") != httpcache.HitRedis {
		if time.Now().After(deadline) {
			t.Fatalf("restarted Redis not used within 5s; stats %+v", tier.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
