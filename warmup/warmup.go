// Package warmup switches a replica from one data release to the next
// without a stampede of cache misses.
//
// The release id is part of every response-cache key, so when a new release
// becomes current every key changes at once. A Switch stands between the
// store and the API: the API reads the current release from the Switch's
// view of the store, which goes on naming the release being served while the
// store already names a newer one. On seeing the newer one, the Switch
// replays the most requested targets (counted in a bounded, decaying TopK)
// with the new release pinned, through the router and so into the cache
// tiers, for at most a time budget, and only then makes the new release
// current for this replica's requests. With Redis shared by replicas, a
// target one replica has warmed already is a Redis hit for the others.
//
// Each request reads the current release once, when it enters the cache
// middleware, and is pinned to it: the cache key, the handler and every
// link of the response name the same release, however the switch falls.
package warmup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/store"
)

// Config configures a Switch. Start from DefaultConfig.
type Config struct {
	// Enabled warms the most requested targets before a switch
	// (KRIMSTAT_WARMUP); off, a new release is served as soon as it is seen.
	Enabled bool
	// Keys is how many of the most requested targets are warmed
	// (KRIMSTAT_WARMUP_KEYS).
	Keys int
	// Timeout bounds a warm-up: when it runs out, the requests under way
	// are cancelled and the switch happens anyway (KRIMSTAT_WARMUP_TIMEOUT).
	Timeout time.Duration
	// Concurrency is how many warm-up requests run at once: few, since
	// they compete with live requests for the cores.
	Concurrency int
	// Track is how many distinct targets are counted, at least Keys.
	Track int
	// Sample is how many requests there are per request counted: a
	// sample finds the most requested targets as well, and keeps the
	// counting off most requests' path. 1 counts every request.
	Sample int
	// HalfLife is how long a request counts at full weight: counts halve
	// every HalfLife, so the top follows the traffic of the last minutes.
	HalfLife time.Duration
}

// DefaultConfig returns the defaults: warm the top 200 of 1024 targets
// counted in one request of eight, two at a time, for at most a second
// (so that replicas behind a load balancer serve a new release within two);
// counts halve every five minutes.
func DefaultConfig() Config {
	return Config{
		Enabled:     true,
		Keys:        200,
		Timeout:     time.Second,
		Concurrency: 2,
		Track:       1024,
		Sample:      8,
		HalfLife:    5 * time.Minute,
	}
}

// Validate returns an error naming the first setting out of range.
func (c Config) Validate() error {
	switch {
	case c.Keys <= 0:
		return fmt.Errorf("warmup: keys %d: must be positive", c.Keys)
	case c.Track < c.Keys:
		return fmt.Errorf("warmup: tracked targets %d: must be at least keys (%d)", c.Track, c.Keys)
	case c.Timeout <= 0:
		return fmt.Errorf("warmup: timeout %s: must be positive", c.Timeout)
	case c.Concurrency <= 0:
		return fmt.Errorf("warmup: concurrency %d: must be positive", c.Concurrency)
	case c.Sample <= 0:
		return fmt.Errorf("warmup: sample %d: must be positive", c.Sample)
	case c.HalfLife < 0:
		return fmt.Errorf("warmup: half-life %s: must not be negative", c.HalfLife)
	}
	return nil
}

// pollEvery is how often Run asks the store for its current release when no
// request has: an idle replica switches too.
const pollEvery = time.Second

// maxTarget bounds the targets counted, in bytes: a request that long is
// rarely repeated, and the TopK's memory stays bounded.
const maxTarget = 2048

// xCache is the response header the response cache sets on every response
// it served from or stored in a tier (package httpcache).
const xCache = "X-Cache"

// Switch holds the release a replica serves and moves it to the store's
// current release, warming the cache first. Build it with New, hand the
// API its Store and Middleware, and run Run.
type Switch struct {
	cfg    Config
	under  store.Store
	log    *slog.Logger
	top    *TopK
	served atomic.Pointer[store.Release] // never nil once New returns
	kick   chan struct{}                 // a newer release was seen
	mu     sync.Mutex                    // one Update at a time
}

// New returns a Switch serving st's current release. It returns an error
// for an invalid cfg or when st has no current release.
func New(ctx context.Context, cfg Config, st store.Store, log *slog.Logger) (*Switch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rel, err := st.CurrentRelease(ctx)
	if err != nil {
		return nil, fmt.Errorf("warmup: %w", err)
	}
	s := &Switch{cfg: cfg, under: st, log: log, top: NewTopK(cfg.Track, cfg.HalfLife), kick: make(chan struct{}, 1)}
	s.served.Store(&rel)
	return s, nil
}

// pinKey is the context key of the release a request is pinned to.
type pinKey struct{}

// pinned returns the release ctx is pinned to, if any.
func pinned(ctx context.Context) (*store.Release, bool) {
	rel, ok := ctx.Value(pinKey{}).(*store.Release)
	return rel, ok
}

// current returns the release to serve: the one the request is pinned to,
// else the one this replica serves. Seeing the store name another one
// wakes Run.
func (s *Switch) current(ctx context.Context) *store.Release {
	if rel, ok := pinned(ctx); ok {
		return rel
	}
	cur := s.served.Load()
	if u, err := s.under.CurrentRelease(ctx); err == nil && u.ID != cur.ID {
		select {
		case s.kick <- struct{}{}:
		default: // Run is awake already
		}
	}
	return cur
}

// Served returns the id of the release this replica serves.
func (s *Switch) Served() string { return s.served.Load().ID }

// Store returns st as the API must see it: its current release is the one
// the request is pinned to, or else the one this replica serves.
func (s *Switch) Store() store.Store { return view{s.under, s} }

// view is a store whose current release is the Switch's.
type view struct {
	store.Store
	s *Switch
}

var _ store.Store = view{}

// CurrentRelease implements store.Store. It never fails: the Switch always
// knows a release.
func (v view) CurrentRelease(ctx context.Context) (store.Release, error) {
	return *v.s.current(ctx), nil
}

// Releases implements store.Store, marking current the release served.
func (v view) Releases(ctx context.Context) ([]store.Release, error) {
	rs, err := v.Store.Releases(ctx)
	if err != nil {
		return nil, err
	}
	cur := v.s.current(ctx).ID
	rs = slices.Clone(rs)
	for i := range rs {
		rs[i].Current = rs[i].ID == cur
	}
	return rs, nil
}

// Release implements store.Store, marking current the release served.
func (v view) Release(ctx context.Context, id string) (store.Release, error) {
	rel, err := v.Store.Release(ctx, id)
	if err != nil {
		return rel, err
	}
	rel.Current = rel.ID == v.s.current(ctx).ID
	return rel, nil
}

// Middleware wraps the response cache's middleware: it pins each request
// to the release served when it arrives, and counts a sample of the
// targets the cache served or stored, which are the ones worth warming.
// Warm-up requests arrive pinned and are not counted.
func (s *Switch) Middleware(cache gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		if _, ok := pinned(ctx); ok {
			cache(c)
			return
		}
		c.Request = c.Request.WithContext(context.WithValue(ctx, pinKey{}, s.current(ctx)))
		cache(c)
		if (s.cfg.Sample == 1 || rand.Uint32()%uint32(s.cfg.Sample) == 0) && len(c.Writer.Header()[xCache]) > 0 {
			var buf [512]byte
			if t := appendTarget(buf[:0], c.Request); len(t) <= maxTarget {
				s.top.Add(t)
			}
		}
	}
}

// appendTarget appends to b what the cache key of r is computed from
// (package httpcache: gzip, Host, X-Forwarded-Proto, Accept,
// Accept-Language, path and query), so that requestOf can make the same
// request again. HEAD shares GET's entries, so the method is left out.
func appendTarget(b []byte, r *http.Request) []byte {
	gz := byte('0')
	if httpcache.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		gz = '1'
	}
	b = append(b, gz, 0)
	for _, v := range []string{r.Host, r.Header.Get("X-Forwarded-Proto"), r.Header.Get("Accept"), r.Header.Get("Accept-Language")} {
		b = append(append(b, v...), 0)
	}
	b = append(b, r.URL.EscapedPath()...)
	if r.URL.RawQuery != "" {
		b = append(append(b, '?'), r.URL.RawQuery...)
	}
	return b
}

// requestOf returns a GET of target with ctx.
func requestOf(ctx context.Context, target string) (*http.Request, error) {
	f := strings.SplitN(target, "\x00", 6)
	if len(f) != 6 {
		return nil, errors.New("warmup: malformed target")
	}
	u, err := url.ParseRequestURI(f[5])
	if err != nil {
		return nil, fmt.Errorf("warmup: target: %w", err)
	}
	h := http.Header{}
	for _, kv := range [][2]string{{"X-Forwarded-Proto", f[2]}, {"Accept", f[3]}, {"Accept-Language", f[4]}} {
		if kv[1] != "" {
			h[kv[0]] = []string{kv[1]}
		}
	}
	if f[0] == "1" {
		h["Accept-Encoding"] = []string{"gzip"}
	}
	r := &http.Request{
		Method: http.MethodGet, URL: u, RequestURI: f[5], Host: f[1], Header: h,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RemoteAddr: "127.0.0.1:0",
	}
	return r.WithContext(ctx), nil
}

// Report tells what a switch did.
type Report struct {
	From, To string
	Targets  int           // targets replayed (the top Keys counted)
	Warmed   int           // of which the cache served or stored
	TimedOut bool          // the budget ran out before the warm-up ended
	Took     time.Duration // from the start of the warm-up to the switch
}

// Update switches to the store's current release if it is not the one
// served, warming the cache through warm first unless the Switch is
// disabled or warm is nil; it reports false when there was nothing to do.
// It returns the store's error when the store cannot name its current
// release. The warm-up lasts at most the Timeout, less if ctx ends.
func (s *Switch) Update(ctx context.Context, warm http.Handler) (Report, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.under.CurrentRelease(ctx)
	if err != nil {
		return Report{}, false, fmt.Errorf("warmup: %w", err)
	}
	cur := s.served.Load()
	if u.ID == cur.ID {
		return Report{}, false, nil
	}
	start := time.Now()
	rep := Report{From: cur.ID, To: u.ID}
	if s.cfg.Enabled && warm != nil {
		s.warm(ctx, warm, &u, &rep)
	}
	s.served.Store(&u)
	rep.Took = time.Since(start)
	return rep, true, nil
}

// warm replays the top targets with rel pinned, Concurrency at a time,
// until they are done or the budget runs out.
func (s *Switch) warm(ctx context.Context, h http.Handler, rel *store.Release, rep *Report) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	targets := s.top.Top(s.cfg.Keys)
	rep.Targets = len(targets)
	pin := context.WithValue(ctx, pinKey{}, rel)
	var next, warmed atomic.Int64
	var wg sync.WaitGroup
	for range min(s.cfg.Concurrency, len(targets)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(targets) {
					return
				}
				r, err := requestOf(pin, targets[i])
				if err != nil {
					continue
				}
				w := &sink{header: http.Header{}}
				h.ServeHTTP(w, r)
				if len(w.header[xCache]) > 0 {
					warmed.Add(1)
				}
			}
		})
	}
	// Cancelled by the budget, the requests under way end soon: the
	// store's calls and the handlers' loops watch ctx.
	wg.Wait()
	rep.Warmed = int(warmed.Load())
	rep.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// Run keeps the replica on the store's current release until ctx ends:
// woken by a request that saw a newer one, or every second, it calls
// Update, warming through warm (the API's router without its limits:
// warm-up requests must not spend any client's budget).
func (s *Switch) Run(ctx context.Context, warm http.Handler) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick.C:
		}
		// A release may have come during the warm-up: go on until the
		// replica serves the store's current one.
		for ctx.Err() == nil {
			rep, switched, err := s.Update(ctx, warm)
			if err != nil {
				// Logged at 1, 2, 4, 8, ... failures in a row, so that
				// an outage does not flood the log.
				failures++
				if failures&(failures-1) == 0 {
					s.log.Warn("release switch: reading the current release", "err", err, "failures", failures)
				}
				break
			}
			failures = 0
			if !switched {
				break
			}
			s.log.Info("release switched", "from", rep.From, "to", rep.To, "warmup", s.cfg.Enabled,
				"targets", rep.Targets, "warmed", rep.Warmed, "timed_out", rep.TimedOut, "took", rep.Took.String())
		}
	}
}

// sink is a ResponseWriter that keeps the header and drops the body: a
// warm-up request is made for its side effect on the cache.
type sink struct {
	header http.Header
}

func (w *sink) Header() http.Header         { return w.header }
func (w *sink) Write(b []byte) (int, error) { return len(b), nil }
func (w *sink) WriteHeader(int)             {}
