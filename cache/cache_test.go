package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krimstat/krimstat/cache"
	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/redis/go-redis/v9"
)

func mustLocal(tb testing.TB, maxBytes int64) *cache.Local {
	tb.Helper()
	l, err := cache.NewLocal(maxBytes, time.Hour)
	if err != nil {
		tb.Fatalf("NewLocal: %v", err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	return l
}

// mustRedis returns a Redis tier on the test Redis under a key prefix of the
// test's own, and its client.
func mustRedis(tb testing.TB, timeout time.Duration) (*cache.Redis, *redis.Client) {
	tb.Helper()
	opt, err := cache.RedisOptions(testenv.RedisURL(tb), timeout)
	if err != nil {
		tb.Fatal(err)
	}
	client := redis.NewClient(opt)
	tb.Cleanup(func() { _ = client.Close() })
	prefix := testenv.RedisPrefix(tb, client)
	return cache.NewRedis(client, prefix, timeout, slog.New(slog.DiscardHandler)), client
}

func TestNewLocalRejects(t *testing.T) {
	tests := []struct {
		maxBytes int64
		ttl      time.Duration
	}{
		{0, time.Hour},
		{-1, time.Hour},
		{1 << 20, 0},
	}
	for _, tt := range tests {
		if _, err := cache.NewLocal(tt.maxBytes, tt.ttl); err == nil {
			t.Errorf("NewLocal(%d, %s): got nil error, want one", tt.maxBytes, tt.ttl)
		}
	}
}

func TestLocalGetSet(t *testing.T) {
	ctx := context.Background()
	l := mustLocal(t, 1<<20)
	if _, ok, err := l.Get(ctx, "a"); ok || err != nil {
		t.Fatalf("Get of absent key: got ok=%v err=%v, want false, nil", ok, err)
	}
	if err := l.Set(ctx, "a", []byte("alpha"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, ok, err := l.Get(ctx, "a")
	if !ok || err != nil || string(got) != "alpha" {
		t.Errorf("Get: got %q, %v, %v, want \"alpha\", true, nil", got, ok, err)
	}
	if err := l.Set(ctx, "big", make([]byte, 1<<20), 0); !errors.Is(err, cache.ErrTooLarge) {
		t.Errorf("Set of a value as large as the cache: got %v, want ErrTooLarge", err)
	}
}

func TestLocalExpires(t *testing.T) {
	ctx := context.Background()
	l := mustLocal(t, 1<<20)
	if err := l.Set(ctx, "a", []byte("alpha"), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond)
	if _, ok, _ := l.Get(ctx, "a"); ok {
		t.Errorf("Get after the ttl: got a hit, want a miss")
	}
}

func TestLocalBoundedByBytes(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 256 << 10
	l := mustLocal(t, maxBytes)
	val := make([]byte, 4<<10)
	for i := range 1000 { // 4 MiB offered to a 256 KiB cache
		if err := l.Set(ctx, fmt.Sprint("k", i), val, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Eviction may run just after the writes; give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for l.Bytes() > maxBytes && time.Now().Before(deadline) {
		_, _, _ = l.Get(ctx, "k0")
		time.Sleep(10 * time.Millisecond)
	}
	if got := l.Bytes(); got > maxBytes {
		t.Errorf("Bytes after overfilling: got %d, want at most %d", got, maxBytes)
	}
}

// counter is a compute function that counts its calls.
type counter struct {
	calls atomic.Int64
	val   []byte
	err   error
	delay time.Duration
}

func (c *counter) compute(context.Context) ([]byte, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	return c.val, c.err
}

func TestTieredLocalOnly(t *testing.T) {
	ctx := context.Background()
	tier := cache.NewTiered(mustLocal(t, 1<<20), nil, time.Hour)
	c := &counter{val: []byte("v")}
	wantSources := []cache.Source{cache.SourceCompute, cache.SourceLocal, cache.SourceLocal}
	for i, want := range wantSources {
		got, src, err := tier.Get(ctx, "k", c.compute)
		if err != nil || string(got) != "v" || src != want {
			t.Errorf("Get %d: got %q, %s, %v, want \"v\", %s, nil", i, got, src, err, want)
		}
	}
	if got := c.calls.Load(); got != 1 {
		t.Errorf("computations: got %d, want 1", got)
	}
	want := cache.Stats{LocalHits: 2, LocalMisses: 1, Computes: 1}
	if got := tier.Stats(); got != want {
		t.Errorf("Stats: got %+v, want %+v", got, want)
	}
}

func TestTieredNoTiers(t *testing.T) {
	tier := cache.NewTiered(nil, nil, time.Hour)
	c := &counter{val: []byte("v")}
	for range 3 {
		if _, src, err := tier.Get(context.Background(), "k", c.compute); err != nil || src != cache.SourceCompute {
			t.Fatalf("Get: got %s, %v, want compute, nil", src, err)
		}
	}
	if got := c.calls.Load(); got != 3 {
		t.Errorf("computations without tiers: got %d, want 3", got)
	}
}

func TestTieredComputeErrorNotStored(t *testing.T) {
	ctx := context.Background()
	tier := cache.NewTiered(mustLocal(t, 1<<20), nil, time.Hour)
	boom := errors.New("boom")
	c := &counter{err: boom}
	for range 2 {
		if _, _, err := tier.Get(ctx, "k", c.compute); !errors.Is(err, boom) {
			t.Fatalf("Get: got error %v, want %v", err, boom)
		}
	}
	if got := c.calls.Load(); got != 2 {
		t.Errorf("computations of a failing value: got %d, want 2", got)
	}
	if got := tier.Stats().ComputeErrors; got != 2 {
		t.Errorf("ComputeErrors: got %d, want 2", got)
	}
}

func TestTieredSingleFlight(t *testing.T) {
	tier := cache.NewTiered(mustLocal(t, 1<<20), nil, time.Hour)
	c := &counter{val: []byte("v"), delay: 100 * time.Millisecond}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if got, _, err := tier.Get(context.Background(), "k", c.compute); err != nil || string(got) != "v" {
				t.Errorf("Get: got %q, %v, want \"v\", nil", got, err)
			}
		})
	}
	wg.Wait()
	if got := c.calls.Load(); got != 1 {
		t.Errorf("computations for 50 concurrent misses: got %d, want 1", got)
	}
}

func TestTieredRedis(t *testing.T) {
	ctx := context.Background()
	r, _ := mustRedis(t, time.Second)
	first := cache.NewTiered(mustLocal(t, 1<<20), r, time.Hour)
	second := cache.NewTiered(mustLocal(t, 1<<20), r, time.Hour) // another process, in effect
	c := &counter{val: []byte("shared")}

	steps := []struct {
		tier *cache.Tiered
		want cache.Source
	}{
		{first, cache.SourceCompute},
		{first, cache.SourceLocal},
		{second, cache.SourceRedis},
		{second, cache.SourceLocal},
	}
	for i, s := range steps {
		got, src, err := s.tier.Get(ctx, "k", c.compute)
		if err != nil || string(got) != "shared" || src != s.want {
			t.Errorf("step %d: got %q, %s, %v, want \"shared\", %s, nil", i, got, src, err, s.want)
		}
	}
	if got := c.calls.Load(); got != 1 {
		t.Errorf("computations across two tiers sharing Redis: got %d, want 1", got)
	}
	if got, want := second.Stats(), (cache.Stats{LocalHits: 1, LocalMisses: 1, RedisHits: 1}); got != want {
		t.Errorf("second Stats: got %+v, want %+v", got, want)
	}
}

func TestRedisGetSet(t *testing.T) {
	ctx := context.Background()
	r, _ := mustRedis(t, time.Second)
	if _, ok, err := r.Get(ctx, "absent"); ok || err != nil {
		t.Errorf("Get of absent key: got ok=%v err=%v, want false, nil", ok, err)
	}
	val := bytes.Repeat([]byte{0, 1, 2, 255}, 1000)
	if err := r.Set(ctx, "k", val, time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, ok, err := r.Get(ctx, "k")
	if !ok || err != nil || !bytes.Equal(got, val) {
		t.Errorf("Get: got %d bytes, %v, %v, want %d bytes, true, nil", len(got), ok, err, len(val))
	}
	if err := r.Set(ctx, "k", val, 0); err == nil {
		t.Errorf("Set without ttl: got nil error, want one")
	}
	if got := r.Stats(); got != (cache.RedisStats{}) {
		t.Errorf("Stats: got %+v, want zero", got)
	}
}

// closedAddr returns a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestRedisDownIsAMiss(t *testing.T) {
	ctx := context.Background()
	opt, err := cache.RedisOptions("redis://"+closedAddr(t)+"/0", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	r := cache.NewRedis(client, "test:", 50*time.Millisecond, slog.New(slog.DiscardHandler))
	tier := cache.NewTiered(nil, r, time.Hour)
	c := &counter{val: []byte("v")}

	const calls = 20
	start := time.Now()
	for i := range calls {
		got, src, err := tier.Get(ctx, "k", c.compute)
		if err != nil || string(got) != "v" || src != cache.SourceCompute {
			t.Fatalf("Get %d with Redis down: got %q, %s, %v, want \"v\", compute, nil", i, got, src, err)
		}
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("%d lookups with Redis down took %s, want well under 1s", calls, elapsed)
	}
	st := r.Stats()
	if st.Errors == 0 || st.Skipped == 0 {
		t.Errorf("Redis stats: got %+v, want errors and skipped calls counted", st)
	}
	if got, want := tier.Stats().RedisErrors, uint64(2*calls); got != want {
		t.Errorf("tier RedisErrors: got %d, want %d (a get and a set per lookup)", got, want)
	}
	if _, ok, err := r.Get(ctx, "k"); ok || !errors.Is(err, cache.ErrUnavailable) {
		t.Errorf("Get while paused: got ok=%v err=%v, want false, ErrUnavailable", ok, err)
	}
}
