// Command scale measures how Krimstat grows with the size of a release:
// synthetic releases of 1, 10 and 100 times the observations of the bundled
// release (storetest.Synthetic: offences × police districts × 25 years × 2
// measures; the release note and the one source say "synthetic", and no
// real figure is among them), each served
//
//   - from memory: "krimstat serve -data FILE", timed from exec to the first
//     200 from /readyz, with its VmRSS then and its peak (VmHWM);
//   - from PostgreSQL (unless -pg off): loaded into a database of its own
//     with store/postgres's Load (rows/s), then "krimstat serve" on it with
//     the response cache off, and a typical query (one offence, one
//     region: 50 rows), a wide one (ten regions: 10,000 rows) and a series
//     each asked for -d by -c clients (after a warm-up), which gives p50
//     and p99.
//
// It prints TSV rows (figure, value, ceiling or goal, note) on stdout, as
// bench/table.sh collects them, and its progress on stderr. Everything it
// starts it stops, and every file and database it makes it removes.
//
//	go run ./bench/scale                      1×, 10×, 100× (a few minutes)
//	go run ./bench/scale -factors 1,10 -pg off
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/krimstat/krimstat/bench/internal/harness"

	"github.com/jackc/pgx/v5"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/postgres"
	"github.com/krimstat/krimstat/store/storetest"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// config is everything the harness is told, read from flags in one place.
type config struct {
	factors      []int
	pg           string // PostgreSQL server URL without a database; empty skips PostgreSQL
	bin          string // a built krimstat; empty builds one
	duration     time.Duration
	warmup       time.Duration
	clients      int
	startTimeout time.Duration
}

func parseFlags(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(out)
	var c config
	factors := fs.String("factors", "1,10,100", "release sizes, as multiples of the bundled release's observations")
	pg := getenv("BENCH_PG")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432"
	}
	fs.StringVar(&c.pg, "pg", pg, `PostgreSQL server to create the databases on, without a database name (default $BENCH_PG or the local one); "off" skips PostgreSQL`)
	fs.StringVar(&c.bin, "bin", getenv("BENCH_KRIMSTAT"), "a built krimstat binary instead of building ./cmd/krimstat (default $BENCH_KRIMSTAT)")
	fs.DurationVar(&c.duration, "d", 5*time.Second, "how long each query is timed")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "how long each query runs before it is timed")
	fs.IntVar(&c.clients, "c", 4, "concurrent clients of each query")
	fs.DurationVar(&c.startTimeout, "start-timeout", 5*time.Minute, "how long a server may take to answer /readyz")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for f := range strings.SplitSeq(*factors, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return c, fmt.Errorf("-factors %q: want positive integers, comma-separated", *factors)
		}
		c.factors = append(c.factors, n)
	}
	if c.pg == "off" {
		c.pg = ""
	}
	if c.duration <= 0 || c.warmup < 0 || c.clients < 1 || c.startTimeout <= 0 {
		return c, errors.New("-d, -c and -start-timeout must be positive, -warmup not negative")
	}
	return c, nil
}

// The queries timed on PostgreSQL, with the rows each must answer.
var queries = []struct {
	name, path string
	rows       int // the observations of the page; 0 for a series
}{
	{"typical", "/v1/observations?offence=offence-000&region=REGION-000", 50},
	{"wide", "/v1/observations?limit=10000&region=" + regions(10), 10000},
	{"series", "/v1/series?offence=offence-000&region=REGION-000&measure=offences-reported", 0},
}

// regions lists the first n region ids of a synthetic release.
func regions(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("REGION-%03d", i)
	}
	return strings.Join(ids, ",")
}

// result is what one release size measured; a zero is not measured.
type result struct {
	factor, n    int
	fileMB       float64
	ready        time.Duration
	rssMB, hwmMB float64
	ingest       time.Duration
	p50, p99     map[string]time.Duration
	rps          map[string]float64
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args[1:], getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "scale: "+format+"\n", a...) }

	dir, err := os.MkdirTemp("", "krimstat-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := cfg.bin
	if bin == "" {
		bin = filepath.Join(dir, "krimstat")
		logf("building ./cmd/krimstat")
		if err := harness.Build(ctx, bin); err != nil {
			return err
		}
	}
	bundled, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		return fmt.Errorf("bundled release: %w", err)
	}
	base := len(bundled.Observations)
	bundled = nil

	var results []result
	for _, k := range cfg.factors {
		r, err := measure(ctx, cfg, bin, dir, k, base, logf)
		if err != nil {
			return fmt.Errorf("%d×: %w", k, err)
		}
		results = append(results, r)
	}
	report(stdout, cfg, base, results)
	return nil
}

// measure generates the release of k times base observations and measures
// it from memory and from PostgreSQL.
func measure(ctx context.Context, cfg config, bin, dir string, k, base int, logf func(string, ...any)) (result, error) {
	r := result{factor: k, p50: map[string]time.Duration{}, p99: map[string]time.Duration{}, rps: map[string]float64{}}
	id := fmt.Sprintf("synthetic-%dx", k)
	start := time.Now()
	ds := storetest.Synthetic(id, k*base)
	ds.Release.Note = "synthetic: generated by bench/scale (storetest.Synthetic), not real figures"
	r.n = len(ds.Observations)
	logf("%d×: %d synthetic observations generated in %s", k, r.n, since(start))

	var db string
	if cfg.pg != "" {
		var err error
		db = fmt.Sprintf("krimstat_scale_%d_%dx", os.Getpid(), k)
		if err := createDB(ctx, cfg.pg, db); err != nil {
			return r, err
		}
		defer dropDB(cfg.pg, db, logf)
		if r.ingest, err = load(ctx, dbURL(cfg.pg, db), ds); err != nil {
			return r, err
		}
		logf("%d×: loaded into PostgreSQL in %s (%.0f rows/s)", k, r.ingest.Round(time.Millisecond), float64(r.n)/r.ingest.Seconds())
	}

	file := filepath.Join(dir, id+".json")
	size, err := writeRelease(file, ds)
	if err != nil {
		return r, err
	}
	defer os.Remove(file)
	r.fileMB = float64(size) / (1 << 20)
	// The harness's copy is garbage now: it should not crowd the server.
	ds = nil
	runtime.GC()
	debug.FreeOSMemory()

	srv, err := startServer(ctx, bin, cfg.startTimeout, []string{"serve", "-data", file}, nil)
	if err != nil {
		return r, err
	}
	r.ready = srv.ready
	r.rssMB, r.hwmMB = procMB(srv.pid, "VmRSS:"), procMB(srv.pid, "VmHWM:")
	srv.stop()
	logf("%d×: memory store ready in %s, RSS %.0f MB (peak %.0f MB), release file %.0f MB", k, r.ready.Round(time.Millisecond), r.rssMB, r.hwmMB, r.fileMB)

	if cfg.pg == "" {
		return r, nil
	}
	srv, err = startServer(ctx, bin, cfg.startTimeout, []string{"serve"}, []string{"DATABASE_URL=" + dbURL(cfg.pg, db), "KRIMSTAT_CACHE=off"})
	if err != nil {
		return r, err
	}
	defer srv.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients, DisableCompression: true}}
	for _, q := range queries {
		if err := check(ctx, client, srv.base+q.path, q.rows); err != nil {
			return r, err
		}
		if _, err := hammer(ctx, client, srv.base+q.path, cfg.clients, cfg.warmup); err != nil {
			return r, err
		}
		lat, err := hammer(ctx, client, srv.base+q.path, cfg.clients, cfg.duration)
		if err != nil {
			return r, err
		}
		r.p50[q.name], r.p99[q.name] = percentile(lat, 50), percentile(lat, 99)
		r.rps[q.name] = float64(len(lat)) / cfg.duration.Seconds()
		logf("%d×: PostgreSQL %s: p50 %s, p99 %s, %.0f req/s", k, q.name, r.p50[q.name], r.p99[q.name], r.rps[q.name])
	}
	return r, nil
}

// report prints the TSV rows of every size.
func report(w io.Writer, cfg config, base int, results []result) {
	fmt.Fprintf(w, "figure\tvalue\tceiling-or-goal\tnote\n")
	row := func(figure, value, goal, note string) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", figure, value, goal, note)
	}
	first := results[0]
	for _, r := range results {
		growth := float64(r.n) / float64(first.n)
		name := fmt.Sprintf("scale_%dx_", r.factor)
		linear := func(v float64, f string) string {
			if r.factor == first.factor {
				return ""
			}
			return "<=" + fmt.Sprintf(f, v*growth)
		}
		note := fmt.Sprintf("%d synthetic observations (%.1f× the %d of %d×)", r.n, growth, first.n, first.factor)
		if r.factor == first.factor {
			note = fmt.Sprintf("%d synthetic observations, the bundled release has %d", r.n, base)
		}
		row(name+"mem_ready_s", fmt.Sprintf("%.2f", r.ready.Seconds()), linear(first.ready.Seconds(), "%.2f"),
			"serve -data FILE, exec to /readyz 200; "+note+"; goal: at most linear")
		row(name+"mem_rss_mb", fmt.Sprintf("%.0f", r.rssMB), linear(first.rssMB, "%.0f"),
			fmt.Sprintf("VmRSS at ready (peak VmHWM %.0f MB, release file %.0f MB); goal: at most linear", r.hwmMB, r.fileMB))
		if cfg.pg == "" {
			continue
		}
		row(name+"pg_ingest_rows_s", fmt.Sprintf("%.0f", float64(r.n)/r.ingest.Seconds()), "",
			fmt.Sprintf("store/postgres Load (COPY, indexes, ANALYZE, one transaction) in %s", r.ingest.Round(time.Millisecond)))
		for _, q := range queries {
			goal := ""
			if q.name == "typical" && r.factor != first.factor {
				goal = fmt.Sprintf("<=%.2f", 2*ms(first.p50[q.name]))
			}
			row(name+"pg_"+q.name+"_p50_ms", fmt.Sprintf("%.2f", ms(r.p50[q.name])), goal,
				fmt.Sprintf("GET %s, KRIMSTAT_CACHE=off, %d clients for %s: %.0f req/s", q.path, cfg.clients, cfg.duration, r.rps[q.name]))
			row(name+"pg_"+q.name+"_p99_ms", fmt.Sprintf("%.2f", ms(r.p99[q.name])), "", "")
		}
	}
	if len(results) > 1 && cfg.pg != "" {
		last := results[len(results)-1]
		row(fmt.Sprintf("scale_typical_p50_%dx_over_%dx", last.factor, first.factor),
			fmt.Sprintf("%.2f", ms(last.p50["typical"])/ms(first.p50["typical"])), "<=2", "PostgreSQL typical query p50, largest release over smallest")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load loads ds into a freshly migrated database at url and returns how
// long Load took.
func load(ctx context.Context, url string, ds *store.Dataset) (time.Duration, error) {
	st, err := postgres.Open(ctx, url)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := st.Load(ctx, ds); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func dbURL(server, db string) string { return server + "/" + db + "?sslmode=disable" }

func createDB(ctx context.Context, server, db string) error {
	conn, err := pgx.Connect(ctx, dbURL(server, "postgres"))
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s (-pg off to skip it): %w", server, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
	return err
}

func dropDB(server, db string, logf func(string, ...any)) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL(server, "postgres"))
	if err == nil {
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
	}
	if err != nil {
		logf("drop database %s: %v", db, err)
	}
}

// writeRelease writes ds as a release file at path and returns its size.
func writeRelease(path string, ds *store.Dataset) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := ds.Encode(w); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}

// check asks for url once and checks that it answers 200 and, for a page of
// observations (rows > 0), that the page holds rows observations.
func check(ctx context.Context, client *http.Client, url string, rows int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	if rows == 0 {
		return nil
	}
	var page struct {
		Meta struct {
			Count int `json:"count"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &page); err != nil || page.Meta.Count != rows {
		return fmt.Errorf("GET %s: got %d observations (%v), want %d", url, page.Meta.Count, err, rows)
	}
	return nil
}

// hammer asks for url from clients goroutines for d and returns every
// request's latency. A response other than 200 is an error.
func hammer(ctx context.Context, client *http.Client, url string, clients int, d time.Duration) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	var first error
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			defer func() {
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				start := time.Now()
				err := get(ctx, client, url)
				if ctx.Err() != nil {
					return // cut off by the deadline: not a measurement
				}
				if err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(start))
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("GET %s: no request finished within %s", url, d)
	}
	slices.Sort(all)
	return all, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func get(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// percentile returns the p% latency of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := min(len(sorted)*p/100, len(sorted)-1)
	return sorted[i]
}

// server is a krimstat serve started by the harness.
type server struct {
	cmd   *exec.Cmd
	base  string
	pid   int
	ready time.Duration // from exec to the first 200 from /readyz
	done  chan struct{}
	log   *os.File
}

// startServer starts bin with args and env on a free port of 127.0.0.1,
// the rate limit and every per-client cap off, and returns once /readyz
// answers 200.
func startServer(ctx context.Context, bin string, timeout time.Duration, args, env []string) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	log, err := os.CreateTemp("", "krimstat-scale-serve-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(harness.CleanEnv(os.Environ()), "KRIMSTAT_ADDR="+addr, "KRIMSTAT_LOG_LEVEL=warn", "GIN_MODE=release",
		"KRIMSTAT_RATELIMIT=off", "KRIMSTAT_MAX_CONNS_PER_CLIENT=0", "KRIMSTAT_INFLIGHT_PER_CLIENT=100000",
		"KRIMSTAT_INFLIGHT=100000", "KRIMSTAT_COMPUTE_PER_CLIENT=100000", "KRIMSTAT_COMPUTE=100000")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr, pid: cmd.Process.Pid, done: make(chan struct{}), log: log}
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx, timeout); err != nil {
		s.stop()
		b, _ := os.ReadFile(log.Name())
		return nil, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, b)
	}
	s.ready = time.Since(start)
	return s, nil
}

// waitReady polls /readyz every 10 ms until it answers 200.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if err := get(ctx, client, s.base+"/readyz"); err == nil {
			return nil
		}
		select {
		case <-s.done:
			return errors.New("the server exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready within %s: %w", timeout, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop asks the server to shut down, kills it after a grace period, and
// removes its log.
func (s *server) stop() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.log.Close()
	os.Remove(s.log.Name())
}

// procMB returns a field of /proc/PID/status in kB as MB (2^20 bytes), or
// 0 when it cannot be read.
func procMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }
