package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/internal/testenv"
)

// The lines of deploy/haproxy/krimstat.cfg that TestScaleOut rewrites, by
// the marker at their end.
const (
	markHAProxyLog     = "# test: log"
	markHAProxySocket  = "# test: stats socket"
	markHAProxyDrop    = "# test: drop"
	markHAProxyBind    = "# test: bind"
	markHAProxyServers = "# test: servers"
)

// replicaProcessEnv, set to 1, makes the test binary a replica of
// TestScaleOut (see TestScaleOutReplica).
const replicaProcessEnv = "KRIMSTAT_SCALEOUT_REPLICA"

// Settings of TestScaleOut's replicas and of its rate-limit check.
const (
	// scaleoutBurst and scaleoutRate are the per-client limit: five
	// requests, then one every 12 s, so that the check sees the burst
	// alone and a client counted on each replica would get three times it.
	scaleoutBurst = 5
	scaleoutRate  = "5/m"
	// switchBound is the issue's: every replica serves a new release
	// within 2 s of its load.
	switchBound = 2 * time.Second
	// eventWithin bounds each wait for something the test caused: a
	// replica marked down or up, a failover, a switch.
	eventWithin = 15 * time.Second
)

// TestScaleOutReplica is not a test: it is the process of one replica of
// TestScaleOut, which runs the test binary again with replicaProcessEnv set
// so that a replica is a process of its own, which can be SIGKILLed. It
// serves as `krimstat serve` would, from its environment, and exits.
func TestScaleOutReplica(t *testing.T) {
	if os.Getenv(replicaProcessEnv) != "1" {
		t.Skip("the process of a replica of TestScaleOut; run by it")
	}
	if err := run(context.Background(), []string{"krimstat", "serve"}, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "krimstat:", err)
		os.Exit(1)
	}
	// The test framework must not print PASS into the replica's log, nor
	// wait for anything else: this process is a server, not a test.
	os.Exit(0)
}

// TestScaleOut runs three replicas of `krimstat serve` as processes on one
// PostgreSQL primary, reading from its streaming standby
// (DATABASE_READ_URL), and one Sentinel-managed Redis, behind Debian's
// HAProxy with deploy/haproxy/krimstat.cfg, all on the loopback, and puts
// them under wrk load (bench/scaleout.lua) through HAProxy in four phases:
//
//   - steady;
//   - replica killed: one replica is SIGKILLed a second in; HAProxy must
//     retry what it held elsewhere and take it out; it is then started
//     again and must be taken back in, all under load;
//   - release switched: a second release is loaded while each replica is
//     also asked directly every 20 ms; every replica must serve it within
//     2 s of the load, and no answer may mix releases (its header, body
//     and Surrogate-Key name one) nor a replica go back to the old one;
//   - Redis primary failed over: Sentinel's primary is SIGKILLed; no answer
//     may fail, and once the replica is promoted a client over its limit
//     must again be refused by every replica.
//
// Before the phases, a client's rate limit is shown to hold across the
// replicas: spending it through HAProxy, which spreads the requests, lets
// the burst through once and not three times.
//
// It logs a table, per phase: requests, non-2xx answers and socket
// errors, p99, and the time until every replica served the new release;
// KRIMSTAT_SCALEOUT_TSV=FILE also writes it as make-bench TSV rows
// (bench/scaleout.sh). KRIMSTAT_SCALEOUT_SECONDS (default 3) is the least
// length of a phase. Without haproxy, wrk, redis-sentinel or PostgreSQL it
// is skipped, except under CI=true, where it fails.
func TestScaleOut(t *testing.T) {
	haproxyBin := testenv.Sbin(t, "haproxy")
	wrkBin, err := exec.LookPath("wrk")
	if err != nil {
		testenv.Missing(t, "wrk (apt-get install -y wrk)")
	}
	phaseLength := scaleoutSeconds(t)
	script := filepath.Join(testenv.RepoRoot(t), "bench", "scaleout.lua")

	// A primary with a streaming replica, as operators run PostgreSQL: the
	// replicas read from the standby, and a new release reaches them
	// only once the standby has replayed it.
	pg := testenv.StartPostgresReplica(t)
	dbURL := pg.PrimaryURL
	loadBundled(t, dbURL)
	sentinel := testenv.StartSentinel(t)
	env := map[string]string{
		"DATABASE_URL":      dbURL,
		"DATABASE_READ_URL": pg.ReplicaURL,
		"REDIS_URL":         sentinel.URL,
		// As in deploy/haproxy/krimstat.cfg's header.
		"KRIMSTAT_TRUSTED_PROXIES":      "127.0.0.1/32",
		"KRIMSTAT_MAX_CONNS_PER_CLIENT": "0",
		"KRIMSTAT_RATELIMIT":            "on",
		"KRIMSTAT_RATELIMIT_RATE":       scaleoutRate,
		"KRIMSTAT_RATELIMIT_BURST":      strconv.Itoa(scaleoutBurst),
		// Ten times the default, as in haEnv: on a busy 2-core machine a
		// call now and then would time out and send the limiter to its
		// in-process fallback for a second, which the rate-limit checks
		// would take for limits not being shared.
		"KRIMSTAT_REDIS_TIMEOUT": "500ms",
	}
	var replicas [3]*replicaProcess
	var starting sync.WaitGroup
	errs := make([]error, len(replicas))
	for i := range replicas {
		name := fmt.Sprintf("krimstat%d", i+1)
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		starting.Go(func() { replicas[i], errs[i] = startReplicaProcess(t, name, addr, env) })
	}
	starting.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	lb := startHAProxy(t, haproxyBin, replicas[:])
	for _, r := range replicas {
		lb.waitStatus(t, r.name, "UP")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("HAProxy's log:\n%s", tail(lb.log.String(), 40))
			for _, r := range replicas {
				t.Logf("%s's log:\n%s", r.name, tail(r.log.String(), 20))
			}
		}
	})

	// One client's limit, through HAProxy and then on each replica: the
	// burst, and not once per replica.
	allowed, refusedBy := limitAcross(t, lb.base, replicas[:], "203.0.113.1")
	t.Logf("rate limit: a client let through %d requests through HAProxy before a 429 (burst %d, %s), then refused by %d of %d replicas",
		allowed, scaleoutBurst, scaleoutRate, refusedBy, len(replicas))
	if allowed < scaleoutBurst || allowed > scaleoutBurst+1 || refusedBy != len(replicas) {
		t.Errorf("a client's limit across replicas: got %d let through and refused by %d replicas, "+
			"want %d (the burst; %d with one refilled) and refused by all %d; limits counted per replica would let %d through",
			allowed, refusedBy, scaleoutBurst, scaleoutBurst+1, len(replicas), len(replicas)*scaleoutBurst)
	}

	// load runs wrk through HAProxy while during does what the phase is
	// about, for at least phaseLength, and returns the phase's figures.
	var phases []*phaseResult
	load := func(key, name string, during func(started time.Time) string) *phaseResult {
		t.Helper()
		before := lb.stats(t)
		l := startWrk(t, wrkBin, script, lb.base)
		note := during(l.started)
		if rest := phaseLength - time.Since(l.started); rest > 0 {
			time.Sleep(rest)
		}
		res := l.stop(t)
		after := lb.stats(t)
		p := &phaseResult{key: key, name: name, wrk: res, note: note, switched: -1,
			retries:      statDelta(before, after, "krimstat/BACKEND", "wretr"),
			redispatches: statDelta(before, after, "krimstat/BACKEND", "wredis"),
		}
		phases = append(phases, p)
		t.Logf("%s: %s; HAProxy retried %d, redispatched %d; %s", name, res.line, p.retries, p.redispatches, note)
		if res.mixed != 0 {
			t.Errorf("%s: %d answers named one release in X-Krimstat-Release and another in the body", name, res.mixed)
		}
		if res.requests == 0 {
			t.Errorf("%s: no requests answered", name)
		}
		return p
	}
	// at sleeps until d into the phase that started at started.
	at := func(started time.Time, d time.Duration) { time.Sleep(d - time.Since(started)) }

	// The caches filled first (the warm-up counts the targets asked for
	// too), so that steady is steady.
	prime := startWrk(t, wrkBin, script, lb.base)
	time.Sleep(time.Second)
	prime.stop(t)

	// Steady.
	steady := load("steady", "steady", func(time.Time) string { return "three replicas" })
	if steady.failed() != 0 {
		t.Errorf("steady: %d non-2xx answers and %d socket errors, want none", steady.wrk.non2xx, steady.wrk.socketErrors)
	}

	// A replica killed, then started again, under load.
	victim := replicas[1]
	var cut int
	killed := load("killed", "replica killed", func(started time.Time) string {
		at(started, time.Second)
		before := lb.stats(t)
		killedAt := time.Now()
		victim.kill()
		down := lb.waitStatus(t, victim.name, "DOWN").Sub(killedAt)
		restarted := time.Now()
		r, err := startReplicaProcess(t, victim.name, victim.addr, env)
		if err != nil {
			t.Fatal(err)
		}
		replicas[1] = r
		up := lb.waitStatus(t, victim.name, "UP").Sub(restarted)
		time.Sleep(500 * time.Millisecond) // with it back in the rotation
		cut = statDelta(before, lb.stats(t), "krimstat/"+victim.name, "srv_abrt")
		return fmt.Sprintf("%s SIGKILLed 1 s in, DOWN %.2f s after; started again, UP %.2f s after its start; %d answers cut off",
			victim.name, down.Seconds(), up.Seconds(), cut)
	})
	// HAProxy replays on another replica what the killed one held without
	// having answered (empty-response) and what it sent to the dead port
	// (conn-failure). What it cannot replay is an answer the replica had
	// begun to send when it died (srv_abrt): only those may fail. For these
	// small answers, written at once, none has been seen.
	if killed.failed() > cut {
		t.Errorf("replica killed: %d non-2xx answers and %d socket errors, want none beyond the %d answers the kill cut off (HAProxy retried %d, redispatched %d)",
			killed.wrk.non2xx, killed.wrk.socketErrors, cut, killed.retries, killed.redispatches)
	}

	// A second release, loaded under load.
	first := mustRelease(t, replicas[0].base())
	second := first + "-scaleout"
	var switchLag time.Duration
	switched := load("switch", "release switched", func(started time.Time) string {
		at(started, time.Second)
		var note string
		note, switchLag = switchRelease(t, dbURL, replicas[:], first, second)
		return note
	})
	switched.switched = switchLag
	if switched.failed() != 0 {
		t.Errorf("release switched: %d non-2xx answers and %d socket errors, want none", switched.wrk.non2xx, switched.wrk.socketErrors)
	}
	if switched.wrk.releases[second] == 0 {
		t.Errorf("release switched: no answer through HAProxy named %s: %v", second, switched.wrk.releases)
	}

	// Sentinel's primary killed under load.
	var limitsBack time.Duration
	failover := load("failover", "Redis primary failed over", func(started time.Time) string {
		at(started, time.Second)
		killedAt := time.Now()
		sentinel.Primary.Kill()
		promoted := pollFor(t, "Sentinel promotes the replica", func() bool {
			addr, err := sentinel.MasterAddr(t.Context())
			return err == nil && addr == sentinel.Replica.Addr
		}).Sub(killedAt)
		client := 10
		limitsBack = pollFor(t, "a client over its limit is refused by every replica again", func() bool {
			client++
			allowed, refusedBy := limitAcross(t, lb.base, replicas[:], fmt.Sprintf("203.0.113.%d", client))
			t.Logf("after the failover, 203.0.113.%d: %d let through, refused by %d", client, allowed, refusedBy)
			return allowed <= scaleoutBurst+1 && refusedBy == len(replicas)
		}).Sub(killedAt)
		time.Sleep(500 * time.Millisecond) // on the new primary
		return fmt.Sprintf("primary SIGKILLed 1 s in; Sentinel named the replica %.2f s after, "+
			"a client over its limit refused by every replica again %.2f s after", promoted.Seconds(), limitsBack.Seconds())
	})
	if failover.failed() != 0 {
		t.Errorf("Redis primary failed over: %d non-2xx answers and %d socket errors, want none", failover.wrk.non2xx, failover.wrk.socketErrors)
	}

	t.Logf("three replicas behind %s, wrk -t%d -c%d through it, phases of at least %s, %d CPUs:\n%s",
		lb.version, wrkThreads, wrkConnections, phaseLength, runtime.NumCPU(), phaseTable(phases))
	if path := os.Getenv("KRIMSTAT_SCALEOUT_TSV"); path != "" {
		tsv := phaseTSV(phases, lb.version, phaseLength, allowed, limitsBack)
		if err := os.WriteFile(path, []byte(tsv), 0o644); err != nil {
			t.Errorf("KRIMSTAT_SCALEOUT_TSV: %v", err)
		}
	}
}

// wrk's threads and connections in every phase: enough to keep three
// replicas busy on a 2-core machine that also runs wrk, HAProxy, Redis and
// PostgreSQL.
const (
	wrkThreads     = 2
	wrkConnections = 32
)

// scaleoutSeconds returns the least length of a phase of TestScaleOut:
// KRIMSTAT_SCALEOUT_SECONDS, or 3 s.
func scaleoutSeconds(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("KRIMSTAT_SCALEOUT_SECONDS")
	if v == "" {
		return 3 * time.Second
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 1 {
		t.Fatalf("KRIMSTAT_SCALEOUT_SECONDS=%q: want a number of seconds, at least 1", v)
	}
	return time.Duration(f * float64(time.Second))
}

// replicaProcess is one replica of TestScaleOut: the test binary serving
// as `krimstat serve` (see TestScaleOutReplica).
type replicaProcess struct {
	name, addr string
	cmd        *exec.Cmd
	exited     chan struct{}
	log        *syncBuffer
}

func (r *replicaProcess) base() string { return "http://" + r.addr }

// startReplicaProcess starts a replica named name on addr with the
// settings env (and nothing of the test's own environment that would
// configure it otherwise), waits until its /readyz answers 200, and stops
// it when the test ends. It may be called from any goroutine.
func startReplicaProcess(t *testing.T, name, addr string, env map[string]string) (*replicaProcess, error) {
	var environ []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || k == "REDIS_URL" || strings.HasPrefix(k, "KRIMSTAT_") {
			continue
		}
		environ = append(environ, kv)
	}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	environ = append(environ, "KRIMSTAT_ADDR="+addr, replicaProcessEnv+"=1")

	r := &replicaProcess{name: name, addr: addr, exited: make(chan struct{}), log: &syncBuffer{}}
	r.cmd = exec.Command(os.Args[0], "-test.run=^TestScaleOutReplica$", "-test.timeout=0")
	r.cmd.Env = environ
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting replica %s: %w", name, err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(r.stop)
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-r.exited:
			return nil, fmt.Errorf("replica %s on %s exited at start: %v\n%s", name, addr, r.cmd.ProcessState, r.log)
		default:
		}
		if resp, err := client.Get(r.base() + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("replica %s on %s: /readyz not 200 within 30 s\n%s", name, addr, r.log)
		}
	}
}

// kill ends the replica with SIGKILL, as a crash would, and waits for it.
func (r *replicaProcess) kill() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
}

// stop asks the replica to shut down (SIGTERM), and kills it if it has not
// within 10 s. Stopping it again does nothing.
func (r *replicaProcess) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		r.kill()
	}
}

// haproxyProcess is HAProxy in the foreground with the deploy
// configuration.
type haproxyProcess struct {
	base    string // http://127.0.0.1:port
	sock    string // the runtime API's socket
	version string // "HAProxy 2.6.12"
	log     *syncBuffer
}

// haproxyConf returns deploy/haproxy/krimstat.cfg with its runtime API on
// sock, its log on stdout, listening on listen (host:port), in front of
// servers, and without the lines a test cannot use (chroot, user, group).
// It fails the test when a marked line is missing, so that the file and
// its test cannot drift apart.
func haproxyConf(t *testing.T, sock, listen string, servers []*replicaProcess) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "deploy", "haproxy", "krimstat.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range servers {
		lines = append(lines, "    server "+s.name+" "+s.addr)
	}
	repl := map[string]string{
		markHAProxyLog:     "    log stdout format raw local0",
		markHAProxySocket:  "    stats socket " + sock + " mode 600 level admin",
		markHAProxyDrop:    "",
		markHAProxyBind:    "    bind " + listen,
		markHAProxyServers: strings.Join(lines, "\n"),
	}
	// How many lines each marker marks.
	want := map[string]int{markHAProxyLog: 1, markHAProxySocket: 1, markHAProxyDrop: 3, markHAProxyBind: 1, markHAProxyServers: 3}
	found := map[string]int{}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(l)
		mark := ""
		for m := range repl {
			// A comment that quotes the marker is not a marked line.
			if strings.HasSuffix(trimmed, m) && !strings.HasPrefix(trimmed, "#") {
				mark = m
			}
		}
		if mark == "" {
			out = append(out, l)
			continue
		}
		// The first line of a marker stands for all of them.
		if found[mark]++; found[mark] == 1 && repl[mark] != "" {
			out = append(out, repl[mark])
		}
	}
	for m, n := range want {
		if found[m] != n {
			t.Fatalf("deploy/haproxy/krimstat.cfg: %d lines marked %q, want %d", found[m], m, n)
		}
	}
	return strings.Join(out, "\n")
}

// startHAProxy runs HAProxy in the foreground (-db) with the deploy
// configuration in front of servers, on a free port, and waits until its
// runtime API answers. It is stopped when the test ends.
func startHAProxy(t *testing.T, bin string, servers []*replicaProcess) *haproxyProcess {
	t.Helper()
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -v: %v\n%s", err, out)
	}
	version := "HAProxy"
	if f := strings.Fields(string(out)); len(f) >= 3 && f[1] == "version" {
		version += " " + strings.SplitN(f[2], "-", 2)[0]
	}
	dir := t.TempDir()
	// A free port may be taken between finding it and binding it: try again.
	for attempt := 1; ; attempt++ {
		h := &haproxyProcess{sock: filepath.Join(dir, "admin.sock"), version: version, log: &syncBuffer{}}
		if !runHAProxy(t, bin, h, dir, servers) {
			return h
		}
		if attempt == 3 {
			t.Fatalf("haproxy found its port taken %d times", attempt)
		}
	}
}

// runHAProxy starts HAProxy for h on a free port and waits until its
// runtime API answers. It returns true when the port was taken before
// HAProxy could bind it.
func runHAProxy(t *testing.T, bin string, h *haproxyProcess, dir string, servers []*replicaProcess) (taken bool) {
	t.Helper()
	listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	h.base = "http://" + listen
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConf(t, h.sock, listen, servers)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cmd.Stdout, cmd.Stderr = h.log, h.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting haproxy: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			if strings.Contains(h.log.String(), "cannot bind socket") {
				return true
			}
			t.Fatalf("haproxy exited: %v\n%s", cmd.ProcessState, h.log)
		default:
		}
		if _, err := h.command("show info"); err == nil {
			t.Cleanup(stop)
			return false
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("haproxy's runtime API did not answer within 10 s\n%s", h.log)
		}
	}
}

// command sends one command to HAProxy's runtime API and returns its
// answer.
func (h *haproxyProcess) command(cmd string) (string, error) {
	c, err := net.DialTimeout("unix", h.sock, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// stats returns HAProxy's "show stat", by "proxy/server" and column.
func (h *haproxyProcess) stats(t *testing.T) map[string]map[string]string {
	t.Helper()
	out, err := h.command("show stat")
	if err != nil {
		t.Fatalf("haproxy show stat: %v", err)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("haproxy show stat: %v\n%s", err, out)
	}
	stats := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, col := range recs[0] {
			if i < len(rec) {
				row[col] = rec[i]
			}
		}
		stats[row["pxname"]+"/"+row["svname"]] = row
	}
	return stats
}

// statDelta returns how much the counter col of row grew from before to
// after.
func statDelta(before, after map[string]map[string]string, row, col string) int {
	a, _ := strconv.Atoi(after[row][col])
	b, _ := strconv.Atoi(before[row][col])
	return a - b
}

// waitStatus waits until HAProxy says the server is in state (UP after a
// passed check, or DOWN) and returns when it saw it.
func (h *haproxyProcess) waitStatus(t *testing.T, server, state string) time.Time {
	t.Helper()
	var row map[string]string
	for deadline := time.Now().Add(eventWithin); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		row = h.stats(t)["krimstat/"+server]
		// A server is UP at HAProxy's start before any check: UP counts
		// once a check has passed.
		if row["status"] == state && (state != "UP" || row["check_status"] == "L7OK") {
			return time.Now()
		}
	}
	t.Fatalf("HAProxy: %s not %s within %s: status %q, check %q %q", server, state, eventWithin,
		row["status"], row["check_status"], row["check_desc"])
	return time.Time{}
}

// wrkLoad is wrk running bench/scaleout.lua until it is stopped.
type wrkLoad struct {
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{}
	started time.Time
}

// startWrk starts wrk against base, to run until stop (it is killed when
// the test ends).
func startWrk(t *testing.T, bin, script, base string) *wrkLoad {
	t.Helper()
	l := &wrkLoad{out: &syncBuffer{}, exited: make(chan struct{})}
	l.cmd = exec.Command(bin, fmt.Sprintf("-t%d", wrkThreads), fmt.Sprintf("-c%d", wrkConnections),
		"-d10m", "--timeout", "5s", "--latency", "-s", script, base)
	l.cmd.Stdout, l.cmd.Stderr = l.out, l.out
	if err := l.cmd.Start(); err != nil {
		t.Fatalf("starting wrk: %v", err)
	}
	l.started = time.Now()
	go func() {
		_ = l.cmd.Wait()
		close(l.exited)
	}()
	t.Cleanup(func() {
		_ = l.cmd.Process.Kill()
		<-l.exited
	})
	return l
}

// wrkResult is what bench/scaleout.lua counted.
type wrkResult struct {
	line                                           string
	requests, non2xx, socketErrors, mixed, unnamed int
	p50, p99, max                                  time.Duration
	releases                                       map[string]int
}

// stop ends wrk as Ctrl-C would (it then prints its figures) and returns
// them.
func (l *wrkLoad) stop(t *testing.T) wrkResult {
	t.Helper()
	_ = l.cmd.Process.Signal(os.Interrupt)
	select {
	case <-l.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("wrk did not stop within 10 s of SIGINT\n%s", l.out)
	}
	var res wrkResult
	for line := range strings.Lines(l.out.String()) {
		rest, ok := strings.CutPrefix(line, "scaleout.lua: ")
		if !ok {
			continue
		}
		res.line = strings.TrimSpace(rest)
		for _, f := range strings.Fields(rest) {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.Atoi(v)
			switch k {
			case "requests":
				res.requests = n
			case "non2xx":
				res.non2xx = n
			case "socket_errors":
				res.socketErrors = n
			case "mixed":
				res.mixed = n
			case "unnamed":
				res.unnamed = n
			case "p50":
				res.p50 = time.Duration(n) * time.Microsecond
			case "p99":
				res.p99 = time.Duration(n) * time.Microsecond
			case "max":
				res.max = time.Duration(n) * time.Microsecond
			case "releases":
				res.releases = map[string]int{}
				for _, r := range strings.Split(v, ",") {
					if id, count, ok := strings.Cut(r, "="); ok {
						res.releases[id], _ = strconv.Atoi(count)
					}
				}
			}
		}
	}
	if res.line == "" {
		t.Fatalf("wrk printed no scaleout.lua line: %v\n%s", l.cmd.ProcessState, l.out)
	}
	return res
}

// phaseResult is one row of TestScaleOut's table.
type phaseResult struct {
	key, name string
	wrk       wrkResult
	// switched is how long after the load of a new release every replica
	// served it; negative when the phase loads none.
	switched              time.Duration
	retries, redispatches int
	note                  string
}

// failed counts the requests that did not get a 2xx answer.
func (p *phaseResult) failed() int { return p.wrk.non2xx + p.wrk.socketErrors }

// phaseTable lays the phases out as a table.
func phaseTable(phases []*phaseResult) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "phase\trequests\tnon-2xx+errors\tp99\tnew release on every replica\tHAProxy retries/redispatches\tnote")
	for _, p := range phases {
		switched := "-"
		if p.switched >= 0 {
			switched = fmt.Sprintf("%.2f s", p.switched.Seconds())
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.2f ms\t%s\t%d/%d\t%s\n", p.name, p.wrk.requests, p.failed(),
			float64(p.wrk.p99)/float64(time.Millisecond), switched, p.retries, p.redispatches, p.note)
	}
	_ = w.Flush()
	return b.String()
}

// phaseTSV returns the phases as make-bench rows
// (figure<TAB>value<TAB>ceiling-or-goal<TAB>note; bench/table.sh).
func phaseTSV(phases []*phaseResult, version string, phaseLength time.Duration, allowed int, limitsBack time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "figure\tvalue\tceiling-or-goal\tnote\n")
	for _, p := range phases {
		fig := "scaleout_" + p.key
		fmt.Fprintf(&b, "%s_requests\t%d\t\t%s: wrk -t%d -c%d with bench/scaleout.lua through %s to 3 replicas, %.0f s or more, %d CPUs; %s\n",
			fig, p.wrk.requests, p.name, wrkThreads, wrkConnections, version, phaseLength.Seconds(), runtime.NumCPU(), p.note)
		fmt.Fprintf(&b, "%s_failed\t%d\t<=0\t%s: non-2xx answers (%d) and socket errors (%d); HAProxy retried %d, redispatched %d\n",
			fig, p.failed(), p.name, p.wrk.non2xx, p.wrk.socketErrors, p.retries, p.redispatches)
		fmt.Fprintf(&b, "%s_p99_ms\t%.2f\t\t%s: p99 through HAProxy (p50 %.2f ms, max %.2f ms)\n",
			fig, float64(p.wrk.p99)/float64(time.Millisecond), p.name,
			float64(p.wrk.p50)/float64(time.Millisecond), float64(p.wrk.max)/float64(time.Millisecond))
		if p.switched >= 0 {
			fmt.Fprintf(&b, "scaleout_switch_seconds\t%.2f\t<=%.0f\tfrom the return of krimstat ingest (after its commit) until every replica, asked directly every 20 ms, served the new release\n",
				p.switched.Seconds(), switchBound.Seconds())
		}
	}
	fmt.Fprintf(&b, "scaleout_ratelimit_allowed\t%d\t<=%d\tone client's requests let through HAProxy to 3 replicas before a 429 (burst %d, %s); limits counted per replica would let %d through\n",
		allowed, scaleoutBurst+1, scaleoutBurst, scaleoutRate, 3*scaleoutBurst)
	fmt.Fprintf(&b, "scaleout_failover_limits_seconds\t%.2f\t\tfrom the kill of Sentinel's primary until a client over its limit was refused by every replica again\n",
		limitsBack.Seconds())
	return b.String()
}

// getFrom asks url on behalf of the client at from (X-Forwarded-For, which
// the replicas believe of the loopback) and returns the status, header and
// body.
func getFrom(url, from string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("X-Forwarded-For", from)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, err
}

// limitAcross has the client at from ask through HAProxy (at edge) until
// it is refused, at most three times its burst, then every replica directly
// at once, and returns how many requests HAProxy let through and how many
// replicas refused the client after. Asking again once refused is held
// back (the limiter's tarpit, a second): hence one refusal through HAProxy
// and the replicas asked in parallel.
func limitAcross(t *testing.T, edge string, replicas []*replicaProcess, from string) (allowed, refusedBy int) {
	t.Helper()
	for i := range 3 * scaleoutBurst {
		status, _, _, err := getFrom(edge+"/v1/offences", from)
		if err != nil || (status != http.StatusOK && status != http.StatusTooManyRequests) {
			t.Fatalf("request %d of %s through HAProxy: got %d, %v; want 200 or 429", i, from, status, err)
		}
		if status == http.StatusTooManyRequests {
			break
		}
		allowed++
	}
	statuses := make([]int, len(replicas))
	errs := make([]error, len(replicas))
	var wg sync.WaitGroup
	for i, r := range replicas {
		wg.Go(func() { statuses[i], _, _, errs[i] = getFrom(r.base()+"/v1/offences", from) })
	}
	wg.Wait()
	for i, r := range replicas {
		if errs[i] != nil || (statuses[i] != http.StatusOK && statuses[i] != http.StatusTooManyRequests) {
			t.Fatalf("%s asked directly for %s: got %d, %v; want 429 or 200", r.name, from, statuses[i], errs[i])
		}
		if statuses[i] == http.StatusTooManyRequests {
			refusedBy++
		}
	}
	return allowed, refusedBy
}

// pollFor waits until ok, for at most eventWithin, and returns when it
// held.
func pollFor(t *testing.T, what string, ok func() bool) time.Time {
	t.Helper()
	for deadline := time.Now().Add(eventWithin); ; time.Sleep(100 * time.Millisecond) {
		if ok() {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, eventWithin)
		}
	}
}

// mustRelease returns the release the server at base serves.
func mustRelease(t *testing.T, base string) string {
	t.Helper()
	status, h, _, err := getFrom(base+"/v1/offences", "192.0.2.1")
	if err != nil || status != http.StatusOK || h.Get("X-Krimstat-Release") == "" {
		t.Fatalf("%s/v1/offences: got %d %v, release %q; want 200 and a release", base, status, err, h.Get("X-Krimstat-Release"))
	}
	return h.Get("X-Krimstat-Release")
}

// bodyRelease finds the release a body names: "release":"..." (of meta,
// or of the body itself).
var bodyRelease = regexp.MustCompile(`"release":"([^"]*)"`)

// releaseSample is one answer of a replica asked directly during a switch.
type releaseSample struct {
	answered                time.Time
	header, body, surrogate string
	status                  int
	err                     error
}

// switchRelease loads release second (the bundled one, first, under
// another id) while each replica is asked directly every 20 ms. It checks
// that every replica serves second within switchBound of the load's
// return, that no answer names two releases (X-Krimstat-Release, the body,
// Surrogate-Key) and that no replica serves first again once it served
// second. It returns a note and the time until the last replica served
// second.
func switchRelease(t *testing.T, dbURL string, replicas []*replicaProcess, first, second string) (string, time.Duration) {
	t.Helper()
	ds := bytes.Replace(data.Bundled, []byte(`{"id":"`+first+`"`), []byte(`{"id":"`+second+`"`), 1)
	if bytes.Equal(ds, data.Bundled) {
		t.Fatalf("the bundled release does not name itself %s", first)
	}
	path := filepath.Join(t.TempDir(), "second.json")
	if err := os.WriteFile(path, ds, 0o644); err != nil {
		t.Fatal(err)
	}

	const target = "/v1/observations?offence=sex-purchase&region=NO"
	var (
		mu      sync.Mutex
		samples = make([][]releaseSample, len(replicas))
		seq     atomic.Uint32
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, r := range replicas {
		wg.Go(func() {
			for ctx.Err() == nil {
				// A client of its own each time: the limits must not bite.
				n := seq.Add(1)
				from := fmt.Sprintf("172.%d.%d.%d", 16+n>>16&15, n>>8&255, n&255)
				var s releaseSample
				var h http.Header
				var body []byte
				s.status, h, body, s.err = getFrom(r.base()+target, from)
				s.answered = time.Now()
				if s.err == nil {
					s.header = h.Get("X-Krimstat-Release")
					if m := bodyRelease.FindSubmatch(body); m != nil {
						s.body = string(m[1])
					}
					key, _, _ := strings.Cut(h.Get("Surrogate-Key"), " ")
					s.surrogate = strings.TrimPrefix(key, "release-")
				}
				mu.Lock()
				samples[i] = append(samples[i], s)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	stopPolling := sync.OnceFunc(func() { cancel(); wg.Wait() })
	defer stopPolling()
	time.Sleep(200 * time.Millisecond)

	loadStart := time.Now()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"krimstat", "ingest", "-base", path}, env(map[string]string{"DATABASE_URL": dbURL}), &out); err != nil {
		t.Fatalf("loading release %s: %v\n%s", second, err, &out)
	}
	loaded := time.Now()

	// firstNew returns when each replica first answered with second.
	firstNew := func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		at := make([]time.Time, len(replicas))
		for i, ss := range samples {
			for _, s := range ss {
				if s.err == nil && s.header == second {
					at[i] = s.answered
					break
				}
			}
		}
		return at
	}
	allNew := func() bool {
		for _, a := range firstNew() {
			if a.IsZero() {
				return false
			}
		}
		return true
	}
	pollFor(t, "every replica serves release "+second, allNew)
	time.Sleep(300 * time.Millisecond) // none goes back
	stopPolling()

	var lag time.Duration
	var lags []string
	for i, a := range firstNew() {
		// A replica may answer with the new release before ingest has
		// returned (it commits, then exits): that is no lag at all.
		d := max(a.Sub(loaded), 0)
		lag = max(lag, d)
		lags = append(lags, fmt.Sprintf("%s %.2f s", replicas[i].name, d.Seconds()))
	}
	n := 0
	for i, ss := range samples {
		sawNew := false
		for _, s := range ss {
			n++
			switch {
			case s.err != nil || s.status != http.StatusOK:
				t.Errorf("%s asked directly during the switch: got %d, %v; want 200", replicas[i].name, s.status, s.err)
			case s.header != s.body || s.header != s.surrogate:
				t.Errorf("%s mixed releases in one answer: X-Krimstat-Release %q, body %q, Surrogate-Key %q",
					replicas[i].name, s.header, s.body, s.surrogate)
			case s.header != first && s.header != second:
				t.Errorf("%s served release %q, want %s or %s", replicas[i].name, s.header, first, second)
			case s.header == second:
				sawNew = true
			case sawNew:
				t.Errorf("%s served %s again after it had served %s", replicas[i].name, first, second)
			}
		}
	}
	if lag > switchBound {
		t.Errorf("release %s: the last replica served it %s after the load, want at most %s (%s)", second, lag, switchBound, strings.Join(lags, ", "))
	}
	return fmt.Sprintf("ingest of %s took %.2f s; served by each replica after its return: %s (%d answers asked directly every 20 ms)",
		second, loaded.Sub(loadStart).Seconds(), strings.Join(lags, ", "), n), lag
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
