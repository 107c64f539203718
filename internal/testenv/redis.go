// Package testenv finds the external services that integration tests run
// against, skipping the tests where a service is absent, except under CI=true,
// where an absent service fails them.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisURL is used when REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// RedisURL returns REDIS_URL, or DefaultRedisURL, after checking that a Redis
// answers there. When none does, it fails the test under CI=true and skips it
// otherwise.
func RedisURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = DefaultRedisURL
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("REDIS_URL %q: %v", url, err)
	}
	// One attempt is enough to tell whether a Redis is there.
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	client := redis.NewClient(opt)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		msg := "no Redis at " + url + " (" + err.Error() + "); start one with " +
			`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no, or set REDIS_URL`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// RedisPrefix returns a key prefix of the test's own and deletes every key
// under it when the test ends (see DeleteRedisKeys). Register client's Close
// with t.Cleanup before calling it: cleanups run last first.
func RedisPrefix(t testing.TB, client redis.UniversalClient) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", ":", " ", "_", "*", "_", "?", "_", "[", "_", "]", "_").Replace(t.Name())
	prefix := "test:" + name + ":" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := DeleteRedisKeys(ctx, client, prefix+"*"); err != nil {
			t.Errorf("deleting the keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

// DeleteRedisKeys deletes every key matching pattern, walking them with SCAN
// (never KEYS). On a cluster it walks every primary, since SCAN covers one
// node, and sends one DEL per key, pipelined, since a DEL of several keys
// must keep to one slot.
func DeleteRedisKeys(ctx context.Context, client redis.UniversalClient, pattern string) error {
	del := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 100).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil || len(keys) == 0 {
			return err
		}
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, k)
			}
			return nil
		})
		return err
	}
	if cluster, ok := client.(*redis.ClusterClient); ok {
		return cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return del(ctx, node) })
	}
	return del(ctx, client)
}

// StartRedis runs a redis-server of the test's own on a free loopback
// port, with no persistence and the extra arguments given (say
// "--maxmemory", "2mb"), and returns its address. The server is killed
// when the test ends. Without a redis-server binary the test is skipped,
// except under CI=true, where it fails.
func StartRedis(t testing.TB, args ...string) string {
	t.Helper()
	return startRedis(t, "redis-server", FreePort(t), args...).Addr
}

// RedisServer is a redis-server or redis-sentinel process of a test's own.
type RedisServer struct {
	Addr string // host:port on the loopback
	cmd  *exec.Cmd
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
// Killing it again does nothing.
func (s *RedisServer) Kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// FreePort returns a TCP port free on the loopback a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRedis runs the binary bin (redis-server or redis-sentinel) on port,
// with no persistence, in a temporary directory and with the extra arguments
// given, killed when the test ends, and waits until the port answers. A missing binary skips the test,
// or fails it under CI=true. The first of args may be a configuration file.
func startRedis(t testing.TB, bin string, port int, args ...string) *RedisServer {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		Missing(t, bin+" ("+err.Error()+")")
	}
	var conf []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		conf, args = args[:1], args[1:]
	}
	// A directory of its own: a replica writes the primary's snapshot to
	// disk even without persistence, and a cluster node its nodes.conf.
	cmd := exec.Command(path, append(append(conf, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", t.TempDir()), args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	s := &RedisServer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	t.Cleanup(s.Kill)
	// Wait for the port with plain dials: go-redis logs every failed one.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s did not answer: %v", bin, s.Addr, err)
		}
	}
}
