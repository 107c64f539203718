// Command stream measures a whole-file download (issue 11): how fast a large
// selection streams as CSV and how much the server's memory grows while it
// does. By default it generates a synthetic release of -n observations
// (storetest.Synthetic; its release note says "synthetic"), writes it as a
// release file, builds ./cmd/krimstat and starts "krimstat serve -data FILE"
// on a free port of 127.0.0.1 with the rate limit and the response cache
// off, waits for /readyz, and downloads -path once while it samples the
// server's resident memory (VmRSS in /proc/PID/status) every -every. It
// prints the rows received (lines - 1), bytes, time to first byte, total
// time, rows/s, and RSS before, at the peak during the download, and the
// growth; then stops the server.
//
//	scripts/stream.sh                          1,000,000 observations
//	go run ./bench/stream -n 200000
//	go run ./bench/stream -url http://127.0.0.1:8080 -pid "$(pgrep -n krimstat)"
//
// With -url it measures a server that is already running instead, and RSS
// only when -pid names its process. The rows are counted as lines, which is
// exact for the synthetic release (no field holds a line break).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/krimstat/krimstat/bench/internal/harness"

	"github.com/krimstat/krimstat/store/storetest"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
}

// config is everything the harness is told, read from flags in one place.
type config struct {
	n            int           // observations of the synthetic release
	base         string        // a running server's URL; empty starts one
	pid          int           // the running server's process, for RSS; 0 is none
	path         string        // what to download
	bin          string        // a built krimstat to start; empty builds one
	every        time.Duration // RSS sampling interval
	settle       time.Duration // wait after /readyz before the first RSS reading
	startTimeout time.Duration // how long the server may take to load the release
	gogc         string        // GOGC of the started server; empty is Go's default
}

func parseFlags(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var c config
	fs.IntVar(&c.n, "n", 1_000_000, "observations of the synthetic release (rounded down to a multiple of 1000, at least 1000)")
	fs.StringVar(&c.base, "url", getenv("KRIMSTAT_URL"), "measure the server at this URL instead of starting one (default $KRIMSTAT_URL)")
	fs.IntVar(&c.pid, "pid", 0, "with -url: the server's process id, for RSS (0: not measured)")
	fs.StringVar(&c.path, "path", "/v1/observations?format=csv", "the request path and query to download")
	fs.StringVar(&c.bin, "bin", "", "a built krimstat binary to start instead of building ./cmd/krimstat")
	fs.DurationVar(&c.every, "every", 50*time.Millisecond, "RSS sampling interval during the download")
	fs.DurationVar(&c.settle, "settle", 2*time.Second, "wait after /readyz before reading RSS, so that start-up's garbage is collected")
	fs.DurationVar(&c.startTimeout, "start-timeout", 5*time.Minute, "how long the server may take to load the release and answer /readyz")
	fs.StringVar(&c.gogc, "gogc", "", "GOGC of the started server (default Go's, 100); a low value shows growth that garbage headroom hides")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.base != "" {
		u, err := url.Parse(c.base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("-url %q: want http://host:port", c.base)
		}
		c.base = strings.TrimRight(c.base, "/")
	} else if c.pid != 0 {
		return c, errors.New("-pid needs -url: a server this harness starts is measured without it")
	}
	if c.n < 1 || c.every <= 0 || c.settle < 0 || c.startTimeout <= 0 {
		return c, errors.New("-n, -every and -start-timeout must be positive, -settle not negative")
	}
	if !strings.HasPrefix(c.path, "/") {
		return c, fmt.Errorf("-path %q: want a path starting with /", c.path)
	}
	return c, nil
}

// run measures one download and prints the report. Everything it starts
// (the server) it stops, and everything it writes (the release file, the
// binary) it removes.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseFlags(args[1:], getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	r := report{out: stdout, path: cfg.path, pid: cfg.pid, expected: -1}
	base := cfg.base
	if base == "" {
		dir, err := os.MkdirTemp("", "krimstat-stream-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		srv, err := startServer(ctx, cfg, dir, &r)
		if err != nil {
			return err
		}
		defer srv.stop()
		base, r.pid = srv.base, srv.pid
	}
	r.every = cfg.every
	if r.pid != 0 && cfg.base == "" {
		if cfg.settle > 0 {
			r.line("settle", "%s after /readyz", cfg.settle)
			select {
			case <-time.After(cfg.settle):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if r.pid != 0 {
		r.rssBefore = procRSS(r.pid)
	}
	err = download(ctx, base+cfg.path, cfg.every, &r)
	r.print()
	return err
}

// server is a krimstat serve started by the harness.
type server struct {
	cmd  *exec.Cmd
	base string
	pid  int
	log  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// startServer writes the synthetic release into dir, builds krimstat
// unless given one, and starts it on a free port of 127.0.0.1, returning
// once /readyz answers 200.
func startServer(ctx context.Context, cfg config, dir string, r *report) (*server, error) {
	file := filepath.Join(dir, "synthetic.json")
	start := time.Now()
	n, size, err := writeRelease(file, cfg.n)
	if err != nil {
		return nil, err
	}
	r.expected = n
	r.line("release", "%d observations, synthetic (storetest.Synthetic), %s release file written in %s",
		n, mb(size), since(start))

	bin := cfg.bin
	if bin == "" {
		bin = filepath.Join(dir, "krimstat")
		start := time.Now()
		if err := harness.Build(ctx, bin); err != nil {
			return nil, err
		}
		r.line("build", "./cmd/krimstat in %s", since(start))
	}

	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "-data", file)
	cmd.Env = append(harness.CleanEnv(os.Environ()),
		"KRIMSTAT_ADDR="+addr, "KRIMSTAT_RATELIMIT=off", "KRIMSTAT_CACHE=off", "KRIMSTAT_LOG_LEVEL=warn")
	if cfg.gogc != "" {
		cmd.Env = append(cmd.Env, "GOGC="+cfg.gogc)
	}
	cmd.Stdout, cmd.Stderr = log, log
	start = time.Now()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, pid: cmd.Process.Pid, log: log, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	if err := s.ready(ctx, cfg.startTimeout); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n%s", err, tail(log.Name(), 20))
	}
	env := "KRIMSTAT_RATELIMIT=off KRIMSTAT_CACHE=off KRIMSTAT_LOG_LEVEL=warn"
	if cfg.gogc != "" {
		env += " GOGC=" + cfg.gogc
	}
	r.line("server", "pid %d at %s (%s serve -data FILE), ready in %s", s.pid, s.base, env, since(start))
	return s, nil
}

// writeRelease writes a synthetic release of about n observations to path
// in the release file format that "serve -data" reads, and returns how many
// observations it holds and the file's size.
func writeRelease(path string, n int) (int, int64, error) {
	count, err := encodeSynthetic(path, n)
	// The harness's own heap of the release, garbage now, should not crowd
	// the server that is measured next.
	debug.FreeOSMemory()
	if err != nil {
		return 0, 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	return count, st.Size(), nil
}

func encodeSynthetic(path string, n int) (int, error) {
	ds := storetest.Synthetic("synthetic", n)
	if err := ds.Validate(); err != nil {
		return 0, fmt.Errorf("synthetic release: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := ds.Encode(f); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return len(ds.Observations), f.Close()
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ready waits until /readyz answers 200, the process exits, or timeout.
func (s *server) ready(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("the server exited before it was ready: %v", s.err)
		case <-ctx.Done():
			return fmt.Errorf("the server was not ready within %s: %w", timeout, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks the server to shut down, and kills it after a grace period.
func (s *server) stop() {
	defer s.log.Close()
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// download GETs rawURL once, counting lines and bytes as they arrive while
// a sampler reads the server's RSS every interval, and records what it saw
// in r. A download that breaks off is an error, reported with what arrived.
func download(ctx context.Context, rawURL string, every time.Duration, r *report) error {
	r.url = rawURL
	var first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	// Asking for gzip would have Go decompress the body and hide its size
	// on the wire; the sizes reported are the CSV's.
	req.Header.Set("Accept-Encoding", "identity")

	sampler := startSampler(r.pid, every)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.peak, r.samples = sampler.stop()
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	r.status, r.contentType, r.link = resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Link")
	var lines int64
	last := byte('\n')
	buf := make([]byte, 256<<10)
	var readErr error
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			r.bytes += int64(n)
			lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
			last = buf[n-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("reading the body after %d bytes: %w", r.bytes, err)
			break
		}
	}
	r.total = time.Since(start)
	r.peak, r.samples = sampler.stop()
	if !first.IsZero() {
		r.ttfb = first.Sub(start)
	}
	if last != '\n' {
		lines++ // a last line without its line break
	}
	r.rows = max(lines-1, 0)
	if r.pid != 0 {
		r.rssAfter = procRSS(r.pid)
	}
	if readErr != nil {
		return readErr
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	return nil
}

// sampler reads a process's RSS every interval until stopped.
type sampler struct {
	quit chan struct{}
	wg   sync.WaitGroup
	peak int64
	n    int
}

func startSampler(pid int, every time.Duration) *sampler {
	s := &sampler{quit: make(chan struct{}), peak: -1}
	if pid == 0 {
		return s
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if rss := procRSS(pid); rss >= 0 {
				s.peak = max(s.peak, rss)
				s.n++
			}
			select {
			case <-s.quit:
				if rss := procRSS(pid); rss >= 0 {
					s.peak = max(s.peak, rss)
					s.n++
				}
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling, takes a last sample, and returns the highest RSS
// seen (-1 when none) and how many samples were taken.
func (s *sampler) stop() (int64, int) {
	close(s.quit)
	s.wg.Wait()
	return s.peak, s.n
}

// procRSS returns the resident set size of process pid in bytes, or -1
// when it cannot be read (no such process, or no /proc).
func procRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// report is what one run measured; -1 marks what was not.
type report struct {
	out                 io.Writer
	path, url           string
	pid                 int
	expected            int
	status, contentType string
	link                string
	rows, bytes         int64
	ttfb, total         time.Duration
	rssBefore, rssAfter int64
	peak                int64
	samples             int
	every               time.Duration
}

// line prints one labelled line of the report as the run goes.
func (r *report) line(label, format string, a ...any) {
	fmt.Fprintf(r.out, "%-16s %s\n", label, fmt.Sprintf(format, a...))
}

func (r *report) print() {
	if r.url == "" {
		return
	}
	r.line("request", "GET %s", r.url)
	if r.status != "" {
		r.line("response", "%s, %s", r.status, r.contentType)
	}
	if r.link != "" {
		r.line("link", "%s", r.link)
	}
	rows := strconv.FormatInt(r.rows, 10)
	if r.expected >= 0 {
		rows += fmt.Sprintf(" of the %d in the release", r.expected)
		if int64(r.expected) != r.rows {
			rows += " (the response is not the whole selection)"
		}
	}
	r.line("rows received", "%s", rows)
	r.line("bytes", "%d (%s)", r.bytes, mb(r.bytes))
	r.line("first byte", "%s", r.ttfb.Round(time.Microsecond))
	r.line("total time", "%s", r.total.Round(time.Millisecond))
	if r.total > 0 {
		r.line("rows/s", "%.0f", float64(r.rows)/r.total.Seconds())
		r.line("MB/s", "%.1f", float64(r.bytes)/(1<<20)/r.total.Seconds())
	}
	if r.pid == 0 {
		r.line("RSS", "not measured (no -pid)")
		return
	}
	r.line("RSS before", "%s (pid %d)", reading(r.rssBefore), r.pid)
	r.line("RSS peak during", "%s (%d samples, every %s)", reading(r.peak), r.samples, r.every)
	if r.rssBefore >= 0 && r.peak >= 0 {
		r.line("RSS growth", "%s", mb(r.peak-r.rssBefore))
	}
	r.line("RSS after", "%s", reading(r.rssAfter))
}

// mb formats a byte count in MiB (2^20 bytes).
func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

// reading formats a memory reading, or "n/a" for one that could not be read.
func reading(b int64) string {
	if b < 0 {
		return "n/a"
	}
	return mb(b)
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }

// tail returns the last n lines of the file at path, for an error message.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "server log:\n" + strings.Join(lines, "\n")
}
