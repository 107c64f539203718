package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// harness holds the clients and what set-up learned about the server.
type harness struct {
	cfg      config
	attacker *http.Client
	good     *http.Client
	setupC   *http.Client

	// Learned by setup; empty when the server did not say, and the classes
	// that need them fall back to other spellings.
	release string
	regions []string
	cursor  string
}

func newHarness(cfg config) *harness {
	return &harness{
		cfg: cfg,
		// The attacker controls Accept-Encoding itself and counts bytes as
		// they come off the wire, so transparent decompression is off.
		attacker: clientFrom(cfg.attacker, cfg.conc, cfg.timeout, true),
		// The well-behaved client is an ordinary Go client: it asks for gzip.
		good:   clientFrom(cfg.good, 32, cfg.timeout, false),
		setupC: clientFrom(net.IPv4(127, 0, 1, 10), 4, cfg.timeout, true),
	}
}

func (h *harness) close() {
	for _, c := range []*http.Client{h.attacker, h.good, h.setupC} {
		c.CloseIdleConnections()
	}
}

// clientFrom returns an HTTP client whose connections start at ip, so the
// server sees (and rate-limits) it as its own client.
func clientFrom(ip net.IP, conns int, timeout time.Duration, raw bool) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  raw,
		},
		// A redirect would be a different request from the one measured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// req is one request of an attack: a path with its query, and headers.
type req struct {
	path   string
	header http.Header
}

// String shortens the request for the report.
func (q req) String() string {
	s := q.path
	if len(s) > 90 {
		s = s[:90] + fmt.Sprintf("… [%d bytes]", len(q.path))
	}
	var hs []string
	for k, v := range q.header {
		if n := len(strings.Join(v, ",")); n > 40 {
			hs = append(hs, fmt.Sprintf("%s: [%d bytes]", k, n))
		} else {
			hs = append(hs, k+": "+strings.Join(v, ","))
		}
	}
	slices.Sort(hs)
	if len(hs) > 3 {
		hs = append(hs[:2], fmt.Sprintf("+%d more headers", len(hs)-2))
	}
	if len(hs) > 0 {
		s += " (" + strings.Join(hs, "; ") + ")"
	}
	return s
}

// result is what one request came to.
type result struct {
	status string // the HTTP status code, or err or timeout
	code   int    // 0 without a response
	d      time.Duration
	bytes  int64
	xcache string
	retry  time.Duration // Retry-After of a 429
}

// send makes one request and reads the whole body; it never fails, it
// reports.
func send(ctx context.Context, c *http.Client, base string, q req) result {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, base+q.path, nil)
	if err != nil {
		return result{status: "err"}
	}
	for k, v := range q.header {
		r.Header[k] = v
	}
	start := time.Now()
	resp, err := c.Do(r)
	if err != nil {
		return result{status: errKind(err), d: time.Since(start)}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	res := result{status: strconv.Itoa(resp.StatusCode), code: resp.StatusCode, d: time.Since(start), bytes: n,
		xcache: resp.Header.Get("X-Cache")}
	if resp.StatusCode == http.StatusTooManyRequests {
		res.retry = time.Second
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
			res.retry = time.Duration(n) * time.Second
		}
	}
	if err != nil {
		res.status, res.code = errKind(err), 0
	}
	return res
}

// errKind names a failed request for the statuses column.
func errKind(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	return "err"
}

// tally counts what an attack sent and got; safe for concurrent use.
type tally struct {
	mu       sync.Mutex
	requests int
	statuses map[string]int
	bytes    int64
	slowest  time.Duration
	slowReq  string
	notes    []string
}

func newTally() *tally { return &tally{statuses: map[string]int{}} }

// add counts one request. Only answered requests compete for the slowest:
// a timeout measures the harness's patience, not the server's work.
func (t *tally) add(res result, q req) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	t.statuses[res.status]++
	t.bytes += res.bytes
	if res.code != 0 && res.d > t.slowest {
		t.slowest, t.slowReq = res.d, q.String()
	}
}

func (t *tally) note(format string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.notes = append(t.notes, fmt.Sprintf(format, a...))
}

// flood runs the attacker's conc workers until the deadline, each sending
// the generator's requests back to back. Requests in flight at the deadline
// finish (each is bounded by the client's timeout), so their cost is part
// of the class.
func (h *harness) flood(ctx context.Context, until time.Time, gen func(*rand.Rand, int) req, t *tally) {
	var n atomic.Int64
	var wg sync.WaitGroup
	seed := uint64(time.Now().UnixNano())
	for w := range h.cfg.conc {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil && time.Now().Before(until) {
				q := gen(r, int(n.Add(1)-1))
				res := send(ctx, h.attacker, h.cfg.base, q)
				t.add(res, q)
				if h.cfg.obey && res.retry > 0 {
					sleep(ctx, min(res.retry, time.Until(until)))
				}
			}
		})
	}
	wg.Wait()
}

// goodPaths are what a typical page or script asks for.
var goodPaths = []string{
	"/v1/series?offence=sex-purchase&region=NO&measure=reported-persons",
	"/v1/observations?offence=sex-purchase&region=NO",
	"/v1/offences",
	"/v1/regions?type=police-district",
	"/embed/series?offence=sex-purchase&region=NO&measure=reported-persons",
}

// goodResult is what the well-behaved client saw in one window.
type goodResult struct {
	latencies []time.Duration
	failed    map[string]int // non-2xx/304 statuses and transport errors
}

// goodClient sends the typical requests at a fixed rate until the deadline.
// It is open-loop, each request on its own goroutine at its tick, so a slow
// server shows as latency rather than as fewer requests.
func (h *harness) goodClient(ctx context.Context, until time.Time) goodResult {
	g := goodResult{failed: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / h.cfg.goodRate)
	start := time.Now()
	for i := 0; ; i++ {
		// Requests keep to a schedule rather than a ticker, which would
		// drop ticks whenever this process is starved of CPU (it shares
		// the machine with the server): late requests go out late, none
		// are skipped.
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(until) || !sleep(ctx, time.Until(at)) {
			break
		}
		q := req{path: goodPaths[i%len(goodPaths)]}
		wg.Go(func() {
			res := send(ctx, h.good, h.cfg.base, q)
			mu.Lock()
			defer mu.Unlock()
			if res.code != 0 {
				g.latencies = append(g.latencies, res.d)
			}
			if res.code == 0 || (res.code >= 300 && res.code != http.StatusNotModified) {
				g.failed[res.status]++
			}
		})
	}
	wg.Wait()
	return g
}

// reachable checks that the server answers at all.
func (h *harness) reachable(ctx context.Context) error {
	res := send(ctx, h.setupC, h.cfg.base, req{path: "/healthz"})
	if res.code != http.StatusOK {
		return fmt.Errorf("cannot reach the server: GET %s/healthz: %s", h.cfg.base, res.status)
	}
	return nil
}

// setup learns the current release id, the region ids and a real cursor,
// which the key-flood and memo-flood classes re-spell. Failures leave the
// field empty; the classes then use the spellings they can.
func (h *harness) setup(ctx context.Context) {
	var rel struct {
		Meta struct{ Release string } `json:"meta"`
	}
	if h.getJSON(ctx, "/v1/releases", &rel) == nil {
		h.release = rel.Meta.Release
	}
	var regions struct {
		Data []struct{ ID string } `json:"data"`
	}
	if h.getJSON(ctx, "/v1/regions", &regions) == nil {
		for _, r := range regions.Data {
			h.regions = append(h.regions, r.ID)
		}
	}
	var obs struct {
		Links struct{ Next string } `json:"links"`
	}
	if h.getJSON(ctx, "/v1/observations?limit=1", &obs) == nil {
		if u, err := url.Parse(obs.Links.Next); err == nil {
			h.cursor = u.Query().Get("cursor")
		}
	}
}

func (h *harness) getJSON(ctx context.Context, path string, v any) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, h.cfg.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := h.setupC.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// hitPath is the warm request whose cached answer is the unit of cost.
const hitPath = "/v1/offences"

// hit is the cost of a cached answer.
type hit struct {
	median   time.Duration
	cpu      time.Duration // the server's CPU per request; negative when not measured
	n, ok    int
	xcache   map[string]int
	measured bool
}

func (h hit) String() string {
	if !h.measured {
		return "not measured"
	}
	var xs []string
	for k, v := range h.xcache {
		xs = append(xs, fmt.Sprintf("%s:%d", orDash(k), v))
	}
	slices.Sort(xs)
	s := fmt.Sprintf("%s ms (median of %d × GET %s; %d answered 200; X-Cache %s)",
		ms(h.median), h.n, hitPath, h.ok, strings.Join(xs, " "))
	if h.cpu >= 0 {
		s += fmt.Sprintf("; server CPU %s ms per request", msFine(h.cpu))
	}
	return s
}

// cachedHit times 200 repeats of a warm request. They come from four
// addresses of 50 each so that none runs out of its burst and measures a 429.
func (h *harness) cachedHit(ctx context.Context, m *meter) hit {
	out := hit{xcache: map[string]int{}, cpu: -1}
	send(ctx, h.setupC, h.cfg.base, req{path: hitPath})
	var ds []time.Duration
	before := m.read(ctx).cpu
	for a := range 4 {
		c := clientFrom(net.IPv4(127, 0, 1, byte(1+a)), 1, h.cfg.timeout, true)
		// The connection is opened outside the measurement: a cached hit on
		// a kept-alive connection is what the unit means.
		send(ctx, c, h.cfg.base, req{path: "/healthz"})
		for range 50 {
			res := send(ctx, c, h.cfg.base, req{path: hitPath})
			out.n++
			if res.code == http.StatusOK {
				out.ok++
				ds = append(ds, res.d)
			}
			out.xcache[res.xcache]++
		}
		c.CloseIdleConnections()
	}
	// /proc counts CPU in 10 ms ticks: over 200 requests that is 0.05 ms
	// each, coarse but the right order.
	if after := m.read(ctx).cpu; before >= 0 && after >= 0 && out.n > 0 {
		out.cpu = (after - before) / time.Duration(out.n)
	}
	if len(ds) > 0 {
		out.median, out.measured = percentile(ds, 50), true
	}
	return out
}

// probed is what one class's requests cost when sent alone.
type probed struct {
	times   []time.Duration // wall time of each, at the client
	cpu     time.Duration   // the server's CPU over all of them; negative when not measured
	slowest time.Duration
	req     string // the slowest request
	status  string // and its status
}

// median is the typical cost of the class's requests.
func (p probed) median() time.Duration { return percentile(slices.Clone(p.times), 50) }

// cpuPer is the server's mean CPU per request, or -1. /proc counts in
// 10 ms ticks, so one request alone reads as 0, 10 or 20 ms; the mean over
// several is the better figure.
func (p probed) cpuPer() time.Duration {
	if p.cpu < 0 || len(p.times) == 0 {
		return -1
	}
	return p.cpu / time.Duration(len(p.times))
}

// probeSlowest sends each HTTP class's requests alone, one at a time, from
// an address of its own, and keeps those not served from the cache: the
// cost of one request without the attack's queueing.
func (h *harness) probeSlowest(ctx context.Context, m *meter, classes []class, rows []row) {
	for i, c := range classes {
		if c.gen == nil || h.cfg.probes == 0 {
			continue
		}
		ri := slices.IndexFunc(rows, func(r row) bool { return r.name == c.name })
		if ri < 0 {
			continue
		}
		cl := clientFrom(net.IPv4(127, 0, 2, byte(1+i%250)), 1, h.cfg.timeout, true)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
		p := probed{}
		// Fresh spellings: generators that number their requests start
		// far beyond what the attack used.
		for k := 0; len(p.times) < h.cfg.probes && k < 4*h.cfg.probes && ctx.Err() == nil; k++ {
			q := c.gen(rng, 1_000_000+k)
			before := m.read(ctx).cpu
			res := send(ctx, cl, h.cfg.base, q)
			after := m.read(ctx).cpu
			if strings.HasPrefix(res.xcache, "HIT") || res.code == 0 || res.code == http.StatusTooManyRequests {
				continue
			}
			p.times = append(p.times, res.d)
			if before < 0 || after < 0 || p.cpu < 0 {
				p.cpu = -1
			} else {
				p.cpu += after - before
			}
			if res.d > p.slowest {
				p.slowest, p.req, p.status = res.d, q.String(), res.status
			}
		}
		rows[ri].probe = p
		cl.CloseIdleConnections()
	}
}

// percentile returns the nearest-rank p-th percentile of ds (sorted here).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds))*p/100+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}
