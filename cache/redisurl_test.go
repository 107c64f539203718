package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/krimstat/krimstat/cache"
	"github.com/krimstat/krimstat/internal/testenv"
)

func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		kind   cache.RedisKind
		addrs  []string
		master string
		// wantErr is a part of the error; empty means no error.
		wantErr string
	}{
		{"single", "redis://127.0.0.1:6379/0", cache.RedisSingle, []string{"127.0.0.1:6379"}, "", ""},
		{"single, TLS and a password", "rediss://:pw@cache.example:6380/2", cache.RedisSingle, []string{"cache.example:6380"}, "", ""},
		{"single, default port", "redis://cache", cache.RedisSingle, []string{"cache:6379"}, "", ""},
		{"single, a Unix socket", "unix:///run/redis/redis.sock?db=1", cache.RedisSingle, []string{"/run/redis/redis.sock"}, "", ""},
		{"single, a parameter", "redis://cache:6379/0?dial_timeout=1s", cache.RedisSingle, []string{"cache:6379"}, "", ""},
		{"sentinel", "redis://:pw@s1:26379?master_name=mymaster&addr=s2:26379&addr=s3:26379",
			cache.RedisSentinel, []string{"s1:26379", "s2:26379", "s3:26379"}, "mymaster", ""},
		{"sentinel, one address, a database", "redis://s1:26379/1?master_name=mymaster", cache.RedisSentinel, []string{"s1:26379"}, "mymaster", ""},
		{"sentinel, TLS, the primary's password", "rediss://s1:26379?master_name=m&password=pw&addr=s2:26379",
			cache.RedisSentinel, []string{"s1:26379", "s2:26379"}, "m", ""},
		{"cluster", "redis://node1:7000?addr=node2:7001&addr=node3:7002", cache.RedisCluster,
			[]string{"node1:7000", "node2:7001", "node3:7002"}, "", ""},
		{"cluster, TLS, database 0", "rediss://u:pw@node1:7000/0?addr=node2:7001", cache.RedisCluster,
			[]string{"node1:7000", "node2:7001"}, "", ""},

		{"no scheme", "cache:6379", "", nil, "", "scheme"},
		{"empty", "", "", nil, "", "scheme"},
		{"http", "http://cache:6379", "", nil, "", "scheme"},
		{"sentinel over http", "http://s1:26379?master_name=m", "", nil, "", "scheme"},
		{"cluster over http", "http://n1:7000?addr=n2:7001", "", nil, "", "scheme"},
		{"unknown parameter", "redis://cache:6379?pool=3", "", nil, "", "pool"},
		{"unknown sentinel parameter", "redis://s1:26379?master_name=m&pool=3", "", nil, "", "pool"},
		{"unknown cluster parameter", "redis://n1:7000?addr=n2:7001&pool=3", "", nil, "", "pool"},
		{"empty master name", "redis://s1:26379?master_name=&addr=s2:26379", "", nil, "", "master_name"},
		{"sentinel address without a port", "redis://s1:26379?master_name=m&addr=s2", "", nil, "", "s2"},
		{"cluster address without a port", "redis://n1:7000?addr=n2", "", nil, "", "n2"},
		{"cluster database", "redis://n1:7000/3?addr=n2:7001", "", nil, "", "database 0"},
		{"database not a number", "redis://cache:6379/x", "", nil, "", "database"},
		{"bad escape", "redis://:hunter2@cache:6379/%zz", "", nil, "", "escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cache.ParseRedisURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRedisURL(%q): got %+v, %v; want an error with %q", tt.url, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("ParseRedisURL(%q): the error shows the password: %v", tt.url, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRedisURL(%q): %v", tt.url, err)
			}
			if got.Kind != tt.kind || !slices.Equal(got.Addrs, tt.addrs) || got.Master != tt.master {
				t.Errorf("ParseRedisURL(%q): got %s %v %q, want %s %v %q", tt.url, got.Kind, got.Addrs, got.Master, tt.kind, tt.addrs, tt.master)
			}
		})
	}
}

// TestNewClientBounded: every kind of client gets the cache's settings: the
// deadline bounds each call, no retry, timeouts as short as a call.
func TestNewClientBounded(t *testing.T) {
	const timeout = 70 * time.Millisecond
	tests := []struct {
		url      string
		wantType string
	}{
		{"redis://127.0.0.1:1/0?read_timeout=5s&max_retries=3", "*redis.Client"},
		{"redis://127.0.0.1:1?master_name=m&addr=127.0.0.1:2&read_timeout=5s&max_retries=3", "*redis.Client"},
		{"redis://127.0.0.1:1?master_name=m&route_randomly=true", "*redis.ClusterClient"},
		{"redis://127.0.0.1:1?addr=127.0.0.1:2&read_timeout=5s&max_retries=3", "*redis.ClusterClient"},
	}
	for _, tt := range tests {
		target, err := cache.ParseRedisURL(tt.url)
		if err != nil {
			t.Fatalf("ParseRedisURL(%q): %v", tt.url, err)
		}
		client := target.NewClient(timeout)
		if got := fmt.Sprintf("%T", client); got != tt.wantType {
			t.Errorf("%s client of %q: got %s, want %s", target.Kind, tt.url, got, tt.wantType)
		}
		type settings struct {
			ctx, retries                bool
			dial, read, write, poolWait time.Duration
		}
		var got settings
		switch c := client.(type) {
		case *redis.Client:
			o := c.Options()
			got = settings{o.ContextTimeoutEnabled, o.MaxRetries > 0, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout}
		case *redis.ClusterClient:
			o := c.Options()
			got = settings{o.ContextTimeoutEnabled, o.MaxRetries > 0, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout}
		}
		// go-redis stores "no retry" as 0 or -1, depending on the client.
		if want := (settings{true, false, timeout, timeout, timeout, timeout}); got != want {
			t.Errorf("%s client of %q: got %+v, want %+v", target.Kind, tt.url, got, want)
		}
		_ = client.Close()
	}
}

// TestRedisKinds: the Redis tier, its write watch and the memory check work
// alike on a single server, on Sentinel's primary and on a three-master
// cluster, where the keys land on every master.
func TestRedisKinds(t *testing.T) {
	for _, kind := range []string{"single", "sentinel", "cluster"} {
		t.Run(kind, func(t *testing.T) {
			url := testenv.StartRedisURL(t, kind)
			target, err := cache.ParseRedisURL(url)
			if err != nil {
				t.Fatal(err)
			}
			if string(target.Kind) != kind {
				t.Fatalf("kind of %s: got %s, want %s", url, target.Kind, kind)
			}
			client := target.NewClient(time.Second)
			t.Cleanup(func() { _ = client.Close() })
			ctx := context.Background()
			w := cache.WatchWrites(client, time.Minute)
			r := cache.NewRedis(client, "t:", time.Second, slog.New(slog.DiscardHandler))

			const n = 60
			for i := range n {
				if err := r.Set(ctx, fmt.Sprint("k", i), []byte(fmt.Sprint("v", i)), time.Minute); err != nil {
					t.Fatalf("Set k%d: %v", i, err)
				}
			}
			for i := range n {
				got, ok, err := r.Get(ctx, fmt.Sprint("k", i))
				if !ok || err != nil || !bytes.Equal(got, []byte(fmt.Sprint("v", i))) {
					t.Fatalf("Get k%d: got %q, %v, %v; want v%d", i, got, ok, err, i)
				}
			}
			if _, ok, err := r.Get(ctx, "absent"); ok || err != nil {
				t.Errorf("Get of an absent key: got %v, %v; want a miss without error", ok, err)
			}
			if st := r.Stats(); st != (cache.RedisStats{}) {
				t.Errorf("Stats: got %+v, want no failure", st)
			}
			if err := w.Healthy(ctx); err != nil {
				t.Errorf("Healthy: %v", err)
			}

			// Two processes, in effect, share what one computed.
			first := cache.NewTiered(mustLocal(t, 1<<20), r, time.Hour)
			second := cache.NewTiered(mustLocal(t, 1<<20), cache.NewRedis(client, "t:", time.Second, nil), time.Hour)
			c := &counter{val: []byte("shared")}
			for i, s := range []struct {
				tier *cache.Tiered
				want cache.Source
			}{{first, cache.SourceCompute}, {second, cache.SourceRedis}} {
				if got, src, err := s.tier.Get(ctx, "shared", c.compute); err != nil || string(got) != "shared" || src != s.want {
					t.Errorf("step %d: got %q, %s, %v; want \"shared\", %s", i, got, src, err, s.want)
				}
			}

			mems, err := cache.ReadRedisMemory(ctx, client)
			wantMems := 1
			if kind == "cluster" {
				wantMems = 3
			}
			if err != nil || len(mems) != wantMems {
				t.Fatalf("ReadRedisMemory: got %+v, %v; want %d", mems, err, wantMems)
			}
			for _, m := range mems {
				if (m.Node != "") != (kind == "cluster") || m.Policy != "noeviction" || len(m.Warnings()) != 2 {
					t.Errorf("ReadRedisMemory: got %+v, want the defaults, a node only on a cluster", m)
				}
			}

			if cluster, ok := client.(*redis.ClusterClient); ok {
				var mu sync.Mutex
				var sizes []int64
				err := cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
					n, err := node.DBSize(ctx).Result()
					mu.Lock()
					sizes = append(sizes, n)
					mu.Unlock()
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range sizes {
					if n == 0 {
						t.Errorf("keys per master: got %v, want some on each", sizes)
					}
				}
			}
		})
	}
}
