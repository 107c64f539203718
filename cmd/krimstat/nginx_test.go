package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/internal/testenv"
)

// The lines of deploy/nginx/krimstat.conf that a test or bench/edge.sh
// rewrites, by the marker at their end.
const (
	markCachePath = "# test: cache path"
	markUpstream  = "# test: upstream"
	markListen    = "# test: listen"
)

// edgeConf returns the deploy configuration with its cache in prefix, its
// upstream at upstream (host:port) and listening on listen (host:port). It
// fails the test when a marked line is missing, so the file and its tests
// cannot drift apart.
func edgeConf(t *testing.T, prefix, upstream, listen string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "deploy", "nginx", "krimstat.conf"))
	if err != nil {
		t.Fatal(err)
	}
	repl := map[string]string{
		markCachePath: "proxy_cache_path " + filepath.Join(prefix, "cache") +
			" levels=1:2 keys_zone=krimstat:10m max_size=100m inactive=1d use_temp_path=off;",
		markUpstream: "server " + upstream + " max_fails=0;",
		markListen:   "listen " + listen + ";",
	}
	lines := strings.Split(string(b), "\n")
	for mark, line := range repl {
		n := 0
		for i, l := range lines {
			// A comment that quotes the marker is not a marked line.
			if strings.HasSuffix(strings.TrimSpace(l), mark) && !strings.HasPrefix(strings.TrimSpace(l), "#") {
				lines[i] = line
				n++
			}
		}
		if n != 1 {
			t.Fatalf("deploy/nginx/krimstat.conf: %d lines marked %q, want 1", n, mark)
		}
	}
	return strings.Join(lines, "\n")
}

// startNginx runs nginx in the foreground (daemon off) with the deploy
// configuration in front of upstream (host:port), in a prefix of the test's
// own, and returns its base URL. It is stopped when the test ends.
func startNginx(t *testing.T, upstream string) string {
	t.Helper()
	bin := testenv.Sbin(t, "nginx")
	prefix := t.TempDir()
	for _, d := range []string{"cache", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A free port may be taken between finding it and binding it: try again.
	for attempt := 1; ; attempt++ {
		base, taken := runNginx(t, bin, prefix, upstream)
		if !taken {
			return base
		}
		if attempt == 3 {
			t.Fatalf("nginx found its port taken %d times", attempt)
		}
	}
}

// runNginx starts nginx on a free port and waits until it listens. It
// returns false when the port was taken before nginx could bind it.
func runNginx(t *testing.T, bin, prefix, upstream string) (base string, taken bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	_ = ln.Close()
	site := filepath.Join(prefix, "krimstat.conf")
	if err := os.WriteFile(site, []byte(edgeConf(t, prefix, upstream, listen)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Workers run as nobody when the master is root, and the test's
	// directories are closed to nobody: keep them root here.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	errorLog := filepath.Join(prefix, "error.log")
	_ = os.Remove(errorLog)
	main := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[2]s warn;
%[3]s
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[4]s;
}
`, prefix, errorLog, user, site)
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd := exec.Command(bin, "-p", prefix, "-c", conf, "-e", errorLog)
	cmd.Stdout, cmd.Stderr = &out, &out
	// A process group of its own, so that its workers can be killed with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			logs, _ := os.ReadFile(errorLog)
			if bytes.Contains(logs, []byte("Address already in use")) {
				return "", true
			}
			t.Fatalf("nginx exited: %v\n%s%s", err, out.String(), logs)
		default:
		}
		if c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond); err == nil {
			_ = c.Close()
			t.Cleanup(stop)
			return "http://" + listen, false
		}
		if time.Now().After(deadline) {
			stop()
			logs, _ := os.ReadFile(errorLog)
			t.Fatalf("nginx did not listen on %s within 5s\n%s%s", listen, out.String(), logs)
		}
	}
}

// edgeGet sends a GET with the given header fields (name, value, ...) and
// returns the status and header; the body is read and dropped. Every
// request says Accept-Encoding itself, so Go's transport neither adds gzip
// nor decodes it.
func edgeGet(url string, header ...string) (int, http.Header, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, resp.Header, nil
}

// mustEdgeGet is edgeGet failing the test on a transport error.
func mustEdgeGet(t *testing.T, url string, header ...string) (int, http.Header) {
	t.Helper()
	status, h, err := edgeGet(url, header...)
	if err != nil {
		t.Fatal(err)
	}
	return status, h
}

// TestEdgeCache runs Debian's nginx with deploy/nginx/krimstat.conf in front
// of krimstat serve on PostgreSQL, with s-maxage 2 s, and checks that (a) a
// repeated request is a HIT at nginx, and misses are keyed on what the API
// varies on; (b) after a second release is loaded, nginx serves it at most
// s-maxage plus a request after the API does; (c) with the API stopped,
// nginx still answers 200 from its stale copy.
func TestEdgeCache(t *testing.T) {
	testenv.Sbin(t, "nginx")
	dbURL := testenv.PostgresURL(t)
	loadBundled(t, dbURL)
	// Short, so that the test is quick, but longer than a burst of requests
	// on a busy machine, so that "a repeat is a HIT" holds.
	const sMaxAge = 2 * time.Second
	api, _, stopAPI := startServe(t, map[string]string{
		"DATABASE_URL":                    dbURL,
		"KRIMSTAT_SHARED_MAX_AGE":         sMaxAge.String(),
		"KRIMSTAT_STALE_WHILE_REVALIDATE": "1s",
		"KRIMSTAT_STALE_IF_ERROR":         "60s",
		// nginx is one client with many connections.
		"KRIMSTAT_MAX_CONNS_PER_CLIENT": "0",
	})
	edge := startNginx(t, strings.TrimPrefix(api, "http://"))
	const target = "/v1/observations?offence=sex-purchase&region=NO"

	// (a) A miss, then hits, with the API's headers for shared caches.
	_, direct := mustEdgeGet(t, api+target)
	first := direct.Get("X-Krimstat-Release")
	if first == "" {
		t.Fatalf("no X-Krimstat-Release from the API: %v", direct)
	}
	wantHeader := map[string]string{
		"Cache-Control": "public, max-age=300, s-maxage=2, stale-while-revalidate=1, stale-if-error=60",
		"Surrogate-Key": "release-" + first + " route-v1-observations",
		"Cache-Tag":     "release-" + first + ",route-v1-observations",
		"Vary":          handlers.CacheVary,
	}
	var ids []string
	for i, want := range []string{"MISS", "HIT", "HIT"} {
		status, h := mustEdgeGet(t, edge+target)
		if status != http.StatusOK || h.Get("X-Cache-Status") != want {
			t.Fatalf("request %d through nginx: got %d %s, want 200 %s", i, status, h.Get("X-Cache-Status"), want)
		}
		for name, want := range wantHeader {
			if got := h.Get(name); got != want {
				t.Errorf("request %d %s: got %q, want %q", i, name, got, want)
			}
		}
		if got := h.Get("RateLimit"); got != "" {
			t.Errorf("request %d RateLimit: got %q, want none (it counts another client's requests)", i, got)
		}
		ids = append(ids, h.Get("X-Request-Id"))
	}
	if ids[1] == ids[2] || ids[1] == "" {
		t.Errorf("X-Request-Id of two hits: %q and %q, want one per request", ids[1], ids[2])
	}
	// The key holds the headers the API varies on, normalised where nginx
	// can: a new Accept-Encoding spelling of gzip is the same entry, no
	// gzip or another Accept-Language is another.
	for _, tt := range []struct {
		header    []string
		cache     string
		encoding  string
		described string
	}{
		{[]string{"Accept-Encoding", "gzip, deflate, br"}, "HIT", "gzip", "another spelling of gzip"},
		{[]string{"Accept-Encoding", "identity"}, "MISS", "", "no gzip"},
		{[]string{"Accept-Encoding", "identity"}, "HIT", "", "no gzip again"},
		{[]string{"Accept-Language", "nb"}, "MISS", "gzip", "another language"},
		{[]string{"Accept", "text/csv"}, "MISS", "gzip", "another Accept"},
	} {
		status, h := mustEdgeGet(t, edge+target, tt.header...)
		if status != http.StatusOK || h.Get("X-Cache-Status") != tt.cache || h.Get("Content-Encoding") != tt.encoding {
			t.Errorf("%s (%v): got %d %s encoding %q, want 200 %s encoding %q", tt.described, tt.header,
				status, h.Get("X-Cache-Status"), h.Get("Content-Encoding"), tt.cache, tt.encoding)
		}
	}
	// Concurrent misses of one key are collapsed: one goes to the API, the
	// others wait for its answer (proxy_cache_lock).
	statuses := make(chan string, 8)
	var burst sync.WaitGroup
	for range cap(statuses) {
		burst.Go(func() {
			status, h, err := edgeGet(edge + "/v1/observations?region=SE&limit=50")
			if err != nil || status != http.StatusOK {
				statuses <- fmt.Sprint(status, err)
				return
			}
			statuses <- h.Get("X-Cache-Status")
		})
	}
	burst.Wait()
	close(statuses)
	counts := map[string]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts["MISS"] != 1 || counts["HIT"] != cap(statuses)-1 {
		t.Errorf("%d concurrent requests of one key: got %v, want one MISS and the rest HIT", cap(statuses), counts)
	}
	// Answers that are never stored skip the cache (and its lock).
	for _, path := range []string{"/healthz", "/v1/cite?offence=sex-purchase"} {
		if status, h := mustEdgeGet(t, edge+path); status != http.StatusOK || h.Get("X-Cache-Status") != "BYPASS" {
			t.Errorf("%s through nginx: got %d %s, want 200 BYPASS", path, status, h.Get("X-Cache-Status"))
		}
	}
	if status, h := mustEdgeGet(t, edge+"/v1/regions/nope"); status != http.StatusNotFound || h.Get("X-Cache-Status") != "MISS" {
		t.Errorf("a 404 through nginx: got %d %s, want 404 MISS", status, h.Get("X-Cache-Status"))
	}
	if status, h := mustEdgeGet(t, edge+"/v1/regions/nope"); status != http.StatusNotFound || h.Get("X-Cache-Status") != "MISS" {
		t.Errorf("a 404 again: got %d %s, want 404 MISS (problems are no-store)", status, h.Get("X-Cache-Status"))
	}

	// (b) Load a second release while a client polls nginx and the API
	// every 50 ms; nginx must follow the API within s-maxage and a request.
	type sample struct {
		at       time.Time
		api, via string
		cache    string
		err      error
	}
	var (
		mu      sync.Mutex
		samples []sample
	)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			s := sample{at: time.Now()}
			var status int
			var h http.Header
			if status, h, s.err = edgeGet(api + target); s.err == nil {
				s.api = h.Get("X-Krimstat-Release")
			}
			if s.err == nil {
				if status, h, s.err = edgeGet(edge + target); s.err == nil {
					s.via, s.cache = h.Get("X-Krimstat-Release"), h.Get("X-Cache-Status")
				}
			}
			if s.err == nil && status != http.StatusOK {
				s.err = fmt.Errorf("status %d", status)
			}
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	// The second release is the bundled one under another id.
	base := filepath.Join(t.TempDir(), "second.json")
	second := first + "-edge"
	ds := bytes.Replace(data.Bundled, []byte(`{"id":"`+first+`"`), []byte(`{"id":"`+second+`"`), 1)
	if bytes.Equal(ds, data.Bundled) {
		t.Fatalf("the bundled release does not name itself %s", first)
	}
	if err := os.WriteFile(base, ds, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"krimstat", "ingest", "-base", base}, env(map[string]string{"DATABASE_URL": dbURL}), &out)
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("second ingest: %v\n%s", err, &out)
	}
	// Poll until nginx has switched, or for at most 10 s.
	var apiAt, edgeAt time.Time
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && edgeAt.IsZero(); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		for _, s := range samples {
			if s.err != nil {
				cancel()
				mu.Unlock()
				wg.Wait()
				t.Fatalf("a request during the load failed: %v", s.err)
			}
			if apiAt.IsZero() && s.api == second {
				apiAt = s.at
			}
			if !apiAt.IsZero() && edgeAt.IsZero() && s.via == second {
				edgeAt = s.at
			}
		}
		mu.Unlock()
	}
	cancel()
	wg.Wait()
	if apiAt.IsZero() || edgeAt.IsZero() {
		t.Fatalf("no switch within 10 s after the load: API at %v, nginx at %v (%d samples)", apiAt, edgeAt, len(samples))
	}
	// The entry may have been refreshed just before the API switched: it is
	// then served for s-maxage (nginx counts whole seconds, so up to a
	// second more), once more as STALE while it is refreshed, and the poll
	// that comes next sees the new release.
	lag := edgeAt.Sub(apiAt)
	if bound := sMaxAge + time.Second + 500*time.Millisecond; lag > bound {
		t.Errorf("nginx served release %s %s after the API did, want at most %s (s-maxage, nginx's second, a request)", second, lag, bound)
	}
	t.Logf("release %s: nginx followed the API after %s (s-maxage %s, %d samples)", second, lag.Round(time.Millisecond), sMaxAge, len(samples))
	if _, h := mustEdgeGet(t, edge+target); h.Get("Surrogate-Key") != "release-"+second+" route-v1-observations" {
		t.Errorf("Surrogate-Key after the switch: got %q, want release-%s route-v1-observations", h.Get("Surrogate-Key"), second)
	}

	// (c) The API stops: once the entry is past s-maxage, nginx answers
	// from its stale copy; what it never had is a 502.
	if err := stopAPI(); err != nil {
		t.Fatalf("stopping the API: %v", err)
	}
	if _, _, err := edgeGet(api + target); err == nil {
		t.Fatalf("the API still answers after it stopped")
	}
	// nginx counts lifetimes in whole seconds: the entry expires within
	// s-maxage and a second. Until then it is a HIT, then STALE.
	stale := 0
	for deadline := time.Now().Add(sMaxAge + 2*time.Second); stale < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		status, h := mustEdgeGet(t, edge+target)
		if status != http.StatusOK || h.Get("X-Krimstat-Release") != second {
			t.Fatalf("with the API down: got %d %s release %s, want 200 release %s",
				status, h.Get("X-Cache-Status"), h.Get("X-Krimstat-Release"), second)
		}
		if h.Get("X-Cache-Status") == "STALE" {
			stale++
		}
	}
	if stale < 2 {
		t.Errorf("with the API down: no STALE answer within %s", sMaxAge+2*time.Second)
	}
	if status, _ := mustEdgeGet(t, edge+"/v1/observations?region=SE"); status != http.StatusBadGateway {
		t.Errorf("an uncached request with the API down: got %d, want 502", status)
	}
}

// TestEdgeCacheConfigKeysVary: the nginx cache key holds every request
// header the API names in Vary, so that nginx, which is told to ignore Vary,
// never serves one variant for another.
func TestEdgeCacheConfigKeysVary(t *testing.T) {
	conf := edgeConf(t, t.TempDir(), "127.0.0.1:8080", "127.0.0.1:80")
	var key string
	for _, l := range strings.Split(conf, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "proxy_cache_key ") {
			key = l
		}
	}
	if key == "" {
		t.Fatal("deploy/nginx/krimstat.conf has no proxy_cache_key")
	}
	// The variable that stands for each header in the key.
	vars := map[string]string{
		"Accept":          "$http_accept|",
		"Accept-Encoding": "$krimstat_gzip",
		"Accept-Language": "$http_accept_language",
	}
	for _, name := range strings.Split(handlers.CacheVary, ",") {
		name = strings.TrimSpace(name)
		v, ok := vars[name]
		if !ok {
			t.Errorf("the API varies on %s, which deploy/nginx/krimstat.conf does not key on", name)
			continue
		}
		if !strings.Contains(key, v) {
			t.Errorf("proxy_cache_key %s: want %s in it for Vary: %s", key, v, name)
		}
	}
	for _, want := range []string{
		"proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;",
		"proxy_cache_background_update on;",
		"proxy_cache_lock on;",
		"proxy_ignore_headers Vary;",
	} {
		if !strings.Contains(stripComments(conf), want) {
			t.Errorf("deploy/nginx/krimstat.conf: no %q", want)
		}
	}
	// A lifetime set here would outlive the API's no-store and s-maxage.
	if strings.Contains(stripComments(conf), "proxy_cache_valid") {
		t.Errorf("deploy/nginx/krimstat.conf sets proxy_cache_valid; lifetimes come from the API's Cache-Control")
	}
}

// TestEdgeCacheSettings: the shared-cache directives are read from the
// environment, in whole seconds, and refused when malformed.
func TestEdgeCacheSettings(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cache.SharedMaxAge != time.Minute || c.Cache.StaleWhileRevalidate != time.Minute || c.Cache.StaleIfError != 24*time.Hour {
		t.Errorf("defaults: got s-maxage %s, stale-while-revalidate %s, stale-if-error %s, want 1m, 1m, 24h",
			c.Cache.SharedMaxAge, c.Cache.StaleWhileRevalidate, c.Cache.StaleIfError)
	}
	c, err = loadConfig(env(map[string]string{
		"KRIMSTAT_SHARED_MAX_AGE": "10s", "KRIMSTAT_STALE_WHILE_REVALIDATE": "0", "KRIMSTAT_STALE_IF_ERROR": "1h",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cache.SharedMaxAge != 10*time.Second || c.Cache.StaleWhileRevalidate != 0 || c.Cache.StaleIfError != time.Hour {
		t.Errorf("set: got s-maxage %s, stale-while-revalidate %s, stale-if-error %s, want 10s, 0s, 1h",
			c.Cache.SharedMaxAge, c.Cache.StaleWhileRevalidate, c.Cache.StaleIfError)
	}
	for name, v := range map[string]string{
		"KRIMSTAT_SHARED_MAX_AGE":         "60",
		"KRIMSTAT_STALE_WHILE_REVALIDATE": "-1s",
		"KRIMSTAT_STALE_IF_ERROR":         "soon",
	} {
		if _, err := loadConfig(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: got %v, want an error naming it", name, v, err)
		}
	}
}

// stripComments drops the comments of an nginx configuration.
func stripComments(conf string) string {
	lines := strings.Split(conf, "\n")
	for i, l := range lines {
		if j := strings.IndexByte(l, '#'); j >= 0 {
			lines[i] = l[:j]
		}
	}
	return strings.Join(lines, "\n")
}
