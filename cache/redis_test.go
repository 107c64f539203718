package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/krimstat/krimstat/cache"
	"github.com/krimstat/krimstat/internal/testenv"
)

// startRedis runs a redis-server of the test's own on a free port, with no
// persistence and the extra arguments given, and returns a client on it
// built as the service builds its own. The server is killed when the test
// ends. Without a redis-server binary the test is skipped, except under
// CI=true, where it fails.
func startRedis(t *testing.T, args ...string) *redis.Client {
	t.Helper()
	addr := testenv.StartRedis(t, args...)
	opt, err := cache.RedisOptions("redis://"+addr+"/0", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis-server on %s: %v", addr, err)
	}
	return client
}

// TestRedisFullRefusesWrites fills a Redis bounded at 2 MB that does not
// evict. The tier notices the refusal (counted, an ErrWritesRefused), keeps
// reading and stops sending writes for a moment; the watch on its client
// reports Redis unhealthy although PING still answers, for refusals of the
// tier and of a script (as the rate limiter's) alike, until its window has
// passed without one.
func TestRedisFullRefusesWrites(t *testing.T) {
	client := startRedis(t, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
	const window = 300 * time.Millisecond
	w := cache.WatchWrites(client, window)
	ctx := context.Background()
	r := cache.NewRedis(client, "t:", time.Second, slog.New(slog.DiscardHandler))
	if err := w.Healthy(ctx); err != nil {
		t.Fatalf("Healthy on an empty Redis: %v", err)
	}

	val := make([]byte, 64<<10)
	var err error
	stored := 0
	for ; stored < 200; stored++ {
		if err = r.Set(ctx, fmt.Sprint("k", stored), val, time.Minute); err != nil {
			break
		}
	}
	if !errors.Is(err, cache.ErrWritesRefused) {
		t.Fatalf("Set into a full Redis after %d values: got %v, want ErrWritesRefused", stored, err)
	}
	if st := r.Stats(); st.Refused != 1 || st.Errors != 1 {
		t.Errorf("Stats after the refusal: got %+v, want Refused 1, Errors 1", st)
	}
	if got, ok, err := r.Get(ctx, "k0"); !ok || err != nil || len(got) != len(val) {
		t.Errorf("Get from a full Redis: got %d bytes, %v, %v; want the value", len(got), ok, err)
	}
	if err := r.Set(ctx, "small", []byte("x"), time.Minute); !errors.Is(err, cache.ErrWritesRefused) {
		t.Errorf("Set just after a refusal: got %v, want ErrWritesRefused", err)
	}
	if st := r.Stats(); st.Refused != 1 || st.Skipped != 1 {
		t.Errorf("Stats after a skipped Set: got %+v, want Refused 1, Skipped 1 (not sent)", st)
	}
	if err := w.Healthy(ctx); !errors.Is(err, cache.ErrWritesRefused) {
		t.Errorf("Healthy after a refused write: got %v, want ErrWritesRefused", err)
	}
	if err := client.Ping(ctx).Err(); err != nil {
		t.Errorf("PING of the full Redis: got %v; want an answer (PING alone cannot tell)", err)
	}

	time.Sleep(window)
	if err := w.Healthy(ctx); err != nil {
		t.Errorf("Healthy a window after the last refusal: %v", err)
	}
	script := redis.NewScript(`return redis.call("SET", KEYS[1], ARGV[1])`)
	if err := script.Run(ctx, client, []string{"rate:x"}, val).Err(); !redis.IsOOMError(err) {
		t.Fatalf("a writing script on the full Redis: got %v, want an OOM reply", err)
	}
	if err := w.Healthy(ctx); !errors.Is(err, cache.ErrWritesRefused) {
		t.Errorf("Healthy after a refused script: got %v, want ErrWritesRefused", err)
	}
	if got := w.Refused(); got != 2 {
		t.Errorf("Refused: got %d, want 2 (the tier's Set and the script)", got)
	}

	if err := client.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the tier's pause after a refusal, and more than the window
	if err := r.Set(ctx, "k", val, time.Minute); err != nil {
		t.Errorf("Set once Redis has room again: %v", err)
	}
	if err := w.Healthy(ctx); err != nil {
		t.Errorf("Healthy once Redis has room again: %v", err)
	}
}

func TestRedisHealthyDown(t *testing.T) {
	opt, err := cache.RedisOptions("redis://"+closedAddr(t)+"/0", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	w := cache.WatchWrites(client, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err = w.Healthy(ctx)
	if err == nil || errors.Is(err, cache.ErrWritesRefused) {
		t.Errorf("Healthy with Redis down: got %v, want an error other than ErrWritesRefused", err)
	}
}

func TestReadRedisMemory(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     cache.RedisMemory
		warnings int
		wantErr  bool
	}{
		{"defaults", nil, cache.RedisMemory{MaxBytes: 0, Policy: "noeviction"}, 2, false},
		{"bounded, no eviction", []string{"--maxmemory", "64mb", "--maxmemory-policy", "noeviction"},
			cache.RedisMemory{MaxBytes: 64 << 20, Policy: "noeviction"}, 1, false},
		{"unbounded, evicting", []string{"--maxmemory-policy", "allkeys-lru"},
			cache.RedisMemory{MaxBytes: 0, Policy: "allkeys-lru"}, 1, false},
		{"bounded, evicting", []string{"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"},
			cache.RedisMemory{MaxBytes: 64 << 20, Policy: "allkeys-lru"}, 0, false},
		{"CONFIG disabled", []string{"--rename-command", "CONFIG", ""}, cache.RedisMemory{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := startRedis(t, tt.args...)
			all, err := cache.ReadRedisMemory(context.Background(), client)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ReadRedisMemory: got error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(all) != 1 || all[0] != tt.want {
				t.Fatalf("ReadRedisMemory: got %+v, want [%+v]", all, tt.want)
			}
			if w := all[0].Warnings(); len(w) != tt.warnings {
				t.Errorf("Warnings: got %q, want %d", w, tt.warnings)
			}
		})
	}
}
