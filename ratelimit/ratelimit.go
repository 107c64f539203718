// Package ratelimit limits requests per client address for the public API.
//
// Limits are shared by every replica through Redis with GCRA (the generic
// cell rate algorithm of github.com/go-redis/redis_rate). When Redis fails or
// is slower than Config.RedisTimeout, each replica decides alone with an
// in-process token bucket per client until Redis answers again, so a Redis
// outage loosens the limits by the number of replicas but never fails or
// slows a request beyond the timeout.
//
// Responses carry the RateLimit-Policy and RateLimit headers of
// draft-ietf-httpapi-ratelimit-headers; a client over its limit gets 429
// application/problem+json with Retry-After.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/krimstat/krimstat/problem"
)

// Config sets the limits. New fills zero fields with the defaults below;
// Validate rejects values that cannot be meant.
type Config struct {
	// Rate is the sustained number of requests a client may make per Period
	// (default 600).
	Rate int
	// Period is the interval Rate is counted over (default one minute).
	Period time.Duration
	// Burst is the number of requests a client may make at once after
	// being idle (default 100).
	Burst int
	// TrustedProxies are the peers whose X-Forwarded-For is believed. Empty
	// means the TCP peer is always the client.
	TrustedProxies []netip.Prefix
	// IPv6PrefixLen groups IPv6 clients by network, since one subscriber
	// usually holds a whole /64 (default 64; 128 limits each address).
	IPv6PrefixLen int
	// RedisTimeout bounds each Redis call (default 50 ms).
	RedisTimeout time.Duration
	// RedisBackoff is how long the limiter decides locally after a Redis
	// failure before it tries Redis again (default one second), so a Redis
	// that hangs costs one timeout per backoff, not one per request.
	RedisBackoff time.Duration
	// Name names the policy in the RateLimit headers (default "default").
	// Two limiters on one route (requests, and uncached requests) add one
	// policy each to the headers.
	Name string
	// What names what is counted, in the 429 detail (default "requests").
	What string
	// Prefix starts every Redis key (default "krimstat:ratelimit:");
	// redis_rate puts "rate:" before it.
	Prefix string
	// Exempt, when set, lets the requests it returns true for pass without
	// a token and without headers.
	Exempt func(*http.Request) bool
	// MaxLocalKeys bounds the in-process limiter's map (default 100000).
	MaxLocalKeys int
	// SweepInterval is how often idle in-process buckets are dropped
	// (default one minute).
	SweepInterval time.Duration
}

// Defaults of Config, chosen for a keyless public API: ten requests a second
// sustained with room for a page that fires a hundred requests at once.
const (
	DefaultRate          = 600
	DefaultPeriod        = time.Minute
	DefaultBurst         = 100
	DefaultIPv6PrefixLen = 64
	DefaultRedisTimeout  = 50 * time.Millisecond
	DefaultRedisBackoff  = time.Second
	DefaultPrefix        = "krimstat:ratelimit:"
	DefaultMaxLocalKeys  = 100_000
	DefaultSweepInterval = time.Minute
)

// Validate reports the first field that is negative or out of range.
func (c Config) Validate() error {
	switch {
	case c.Rate < 0:
		return fmt.Errorf("ratelimit: rate %d: want a positive number", c.Rate)
	case c.Period < 0:
		return fmt.Errorf("ratelimit: period %s: want a positive duration", c.Period)
	case c.Burst < 0:
		return fmt.Errorf("ratelimit: burst %d: want a positive number", c.Burst)
	case c.IPv6PrefixLen < 0 || c.IPv6PrefixLen > 128:
		return fmt.Errorf("ratelimit: IPv6 prefix length %d: want 1 to 128", c.IPv6PrefixLen)
	case c.RedisTimeout < 0 || c.RedisBackoff < 0 || c.SweepInterval < 0:
		return errors.New("ratelimit: durations must not be negative")
	case c.MaxLocalKeys < 0:
		return fmt.Errorf("ratelimit: max local keys %d: want a positive number", c.MaxLocalKeys)
	}
	return nil
}

// WithDefaults returns c with its zero fields set to the defaults, as New
// applies them: the limits in effect, for logging them.
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	if c.Period <= 0 {
		c.Period = DefaultPeriod
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.IPv6PrefixLen <= 0 || c.IPv6PrefixLen > 128 {
		c.IPv6PrefixLen = DefaultIPv6PrefixLen
	}
	if c.RedisTimeout <= 0 {
		c.RedisTimeout = DefaultRedisTimeout
	}
	if c.RedisBackoff <= 0 {
		c.RedisBackoff = DefaultRedisBackoff
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Name == "" {
		c.Name = "default"
	}
	if c.What == "" {
		c.What = "requests"
	}
	if c.MaxLocalKeys <= 0 {
		c.MaxLocalKeys = DefaultMaxLocalKeys
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	return c
}

// Stats is a snapshot of a Limiter's counters since it was created.
type Stats struct {
	// Allowed and Rejected count the decisions, wherever they were made.
	Allowed, Rejected uint64
	// Fallbacks counts the decisions made in-process although Redis is
	// configured: after a Redis error or during the backoff that follows.
	Fallbacks uint64
	// RedisErrors counts the failed Redis calls, timeouts included.
	RedisErrors uint64
	// LocalKeys is the number of clients the in-process limiter tracks.
	LocalKeys int
	// Degraded is true while the limiter decides locally because Redis
	// failed.
	Degraded bool
}

// Limiter limits requests per client. Its methods are safe for concurrent
// use. Call Close to stop its sweeper.
type Limiter struct {
	cfg  Config
	log  *slog.Logger
	gcra *redis_rate.Limiter // nil without Redis
	// guard is true when the Redis client ignores context deadlines
	// (go-redis's default), so each call must be raced against its deadline.
	guard  bool
	limit  redis_rate.Limit
	local  *local
	policy string // the RateLimit-Policy header, the same on every response
	// policyHeader is policy as a header value (shared, read-only), and
	// quotedName the start of every RateLimit header value: both are built
	// once, as they are sent on every response.
	policyHeader []string
	quotedName   string
	window       int // seconds to refill a whole burst

	// refused holds, per client, until when Redis last said it has no
	// token (unix nanoseconds). A client that keeps asking while refused is
	// answered in process, without a Redis call per request: no token can
	// appear in Redis before then, in any replica.
	refusedMu sync.Mutex
	refused   map[string]int64

	allowed, rejected, fallbacks, redisErrors atomic.Uint64
	retryRedisAt                              atomic.Int64 // unix nanoseconds; 0 while Redis is healthy
	lastLog                                   atomic.Int64 // unix nanoseconds of the last fallback log line

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// logEvery spaces the fallback log lines so an outage under load does not
// flood the log; the counters carry the numbers in between.
const logEvery = 10 * time.Second

// New returns a Limiter that shares its limits through rdb, or keeps them in
// process when rdb is nil. rdb may be a single server, a Sentinel failover
// client or a cluster client: each decision is one script on one key, so
// every client's bucket lives in one cluster slot. It starts a goroutine
// that sweeps idle clients out of memory; Close stops it. Zero fields of cfg
// take their defaults.
func New(cfg Config, rdb redis.UniversalClient, log *slog.Logger) *Limiter {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	perSec := float64(cfg.Rate) / cfg.Period.Seconds()
	refill := float64(cfg.Burst) / perSec
	l := &Limiter{
		cfg:     cfg,
		log:     log,
		limit:   redis_rate.Limit{Rate: cfg.Rate, Period: cfg.Period, Burst: cfg.Burst},
		local:   newLocal(rate.Limit(perSec), cfg.Burst, cfg.MaxLocalKeys, seconds(refill)),
		window:  max(1, int(math.Ceil(refill))),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		refused: map[string]int64{},
	}
	// The policy is stated as "Burst requests per the time a whole burst
	// takes to refill", which is the same rate as Rate per Period and keeps
	// r (at most Burst) comparable with q.
	l.policy = strconv.Quote(cfg.Name) + ";q=" + strconv.Itoa(cfg.Burst) + ";w=" + strconv.Itoa(l.window)
	l.policyHeader = []string{l.policy}
	l.quotedName = strconv.Quote(cfg.Name)
	if rdb != nil {
		l.gcra = redis_rate.NewLimiter(rdb)
		l.guard = !honoursDeadlines(rdb)
	}
	go l.sweep()
	return l
}

// honoursDeadlines reports whether rdb was built with ContextTimeoutEnabled.
// A client whose options cannot be read is taken not to.
func honoursDeadlines(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// Close stops the sweeper. It does not close the Redis client, which the
// caller owns. It always returns nil.
func (l *Limiter) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
	})
	return nil
}

func (l *Limiter) sweep() {
	defer close(l.done)
	t := time.NewTicker(l.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case now := <-t.C:
			l.local.sweep(now)
			l.sweepRefused(now)
		}
	}
}

// Stats returns a snapshot of the counters.
func (l *Limiter) Stats() Stats {
	return Stats{
		Allowed:     l.allowed.Load(),
		Rejected:    l.rejected.Load(),
		Fallbacks:   l.fallbacks.Load(),
		RedisErrors: l.redisErrors.Load(),
		LocalKeys:   l.local.len(),
		Degraded:    l.retryRedisAt.Load() != 0,
	}
}

// decision is the outcome of taking one token.
type decision struct {
	allowed    bool
	remaining  int
	reset      time.Duration // until the client's bucket is full again
	retryAfter time.Duration // until the next request would be allowed, when refused
	// again is set when the client was refused before and asks again
	// before its Retry-After: it ignores the header.
	again bool
}

// tarpit is the longest a refusal of a client that ignores Retry-After is
// held back: such a client then gets at most one answer per connection
// and tarpit, instead of as many as it can send.
const tarpit = time.Second

// Key returns the bucket a request counts against: its client's IPv4
// address, or its client's IPv6 network of Config.IPv6PrefixLen bits.
func (l *Limiter) Key(r *http.Request) string {
	return clientKey(r, l.cfg.TrustedProxies, l.cfg.IPv6PrefixLen)
}

// clientKey names the client of r: its IPv4 address, or its IPv6 network
// of v6Len bits, behind the trusted proxies.
func clientKey(r *http.Request, trusted []netip.Prefix, v6Len int) string {
	a, ok := ClientIP(r, trusted)
	if !ok {
		// Not reachable through net/http, whose RemoteAddr is always an
		// address; such requests share one bucket rather than going free.
		return "unknown"
	}
	if a.Is6() && v6Len < 128 {
		p, _ := a.Prefix(v6Len)
		return p.String()
	}
	return a.String()
}

// take spends one token of key, in Redis when it is configured and healthy,
// else in process.
func (l *Limiter) take(ctx context.Context, key string) decision {
	now := time.Now()
	if l.gcra == nil {
		return l.local.allow(key, now)
	}
	if at := l.retryRedisAt.Load(); at != 0 && now.UnixNano() < at {
		l.fallbacks.Add(1)
		return l.local.allow(key, now)
	}
	if d, ok := l.stillRefused(key, now); ok {
		return d
	}
	// The client going away must not count as a Redis failure, so only the
	// timeout bounds the call.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.RedisTimeout)
	defer cancel()
	res, err := l.allowRedis(ctx, key)
	if err != nil {
		l.redisErrors.Add(1)
		l.fallbacks.Add(1)
		l.retryRedisAt.Store(time.Now().Add(l.cfg.RedisBackoff).UnixNano())
		l.logFallback(ctx, err)
		return l.local.allow(key, now)
	}
	if l.retryRedisAt.Swap(0) != 0 {
		l.log.InfoContext(ctx, "rate limiter: Redis answers again; limits are shared")
	}
	d := decision{
		allowed:   res.Allowed > 0,
		remaining: res.Remaining,
		reset:     res.ResetAfter,
	}
	if !d.allowed {
		d.retryAfter = res.RetryAfter
		l.remember(key, now.Add(res.RetryAfter))
	}
	return d
}

// stillRefused answers for key in process while Redis's last refusal of it
// holds.
func (l *Limiter) stillRefused(key string, now time.Time) (decision, bool) {
	l.refusedMu.Lock()
	until, ok := l.refused[key]
	l.refusedMu.Unlock()
	if !ok || now.UnixNano() >= until {
		return decision{}, false
	}
	wait := time.Duration(until - now.UnixNano())
	return decision{allowed: false, reset: wait, retryAfter: wait, again: true}, true
}

// remember records that key has no token until then. The map is bounded
// like the in-process limiter; past the bound, refusals are simply asked
// of Redis again.
func (l *Limiter) remember(key string, until time.Time) {
	l.refusedMu.Lock()
	defer l.refusedMu.Unlock()
	if len(l.refused) < l.cfg.MaxLocalKeys {
		l.refused[key] = until.UnixNano()
	}
}

// sweepRefused drops refusals that have run out.
func (l *Limiter) sweepRefused(now time.Time) {
	l.refusedMu.Lock()
	defer l.refusedMu.Unlock()
	for key, until := range l.refused {
		if now.UnixNano() >= until {
			delete(l.refused, key)
		}
	}
}

// allowRedis asks Redis for one token of key within ctx's deadline. A
// go-redis client without ContextTimeoutEnabled blocks for its own read
// timeout (3 s by default) on a Redis that hangs, so the call then runs
// aside and is abandoned at the deadline; it ends by itself on the client's
// timeouts.
func (l *Limiter) allowRedis(ctx context.Context, key string) (*redis_rate.Result, error) {
	if !l.guard {
		return l.gcra.Allow(ctx, l.cfg.Prefix+key, l.limit)
	}
	type answer struct {
		res *redis_rate.Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := l.gcra.Allow(ctx, l.cfg.Prefix+key, l.limit)
		ch <- answer{res, err}
	}()
	select {
	case a := <-ch:
		return a.res, a.err
	case <-ctx.Done():
		return nil, fmt.Errorf("redis: %w", ctx.Err())
	}
}

func (l *Limiter) logFallback(ctx context.Context, err error) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(logEvery) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.log.WarnContext(ctx, "rate limiter: Redis failed; limiting in process", "err", err,
		"redis_errors", l.redisErrors.Load(), "fallbacks", l.fallbacks.Load(), "retry_in", l.cfg.RedisBackoff.String())
}

// Middleware limits the requests that pass through it. Allowed requests get
// the RateLimit headers and go on; refused ones end with 429.
func (l *Limiter) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		if l.cfg.Exempt != nil && l.cfg.Exempt(c.Request) {
			c.Next()
			return
		}
		d := l.take(c.Request.Context(), l.Key(c.Request))
		h := c.Writer.Header()
		addHeader(h, "Ratelimit-Policy", l.policyHeader)
		var b strings.Builder
		b.Grow(len(l.quotedName) + 24)
		b.WriteString(l.quotedName)
		b.WriteString(";r=")
		b.WriteString(strconv.Itoa(d.remaining))
		b.WriteString(";t=")
		b.WriteString(strconv.Itoa(ceilSeconds(d.reset)))
		addHeader(h, "Ratelimit", []string{b.String()})
		if d.allowed {
			l.allowed.Add(1)
			c.Next()
			return
		}
		l.rejected.Add(1)
		if d.again {
			hold(c.Request.Context(), min(d.retryAfter, tarpit))
		}
		l.refuse(c, max(1, ceilSeconds(d.retryAfter)))
	}
}

// addHeader adds the values v under name, as Header.Add does, but with
// name already canonical: canonicalising "RateLimit" costs an allocation on
// every request. v may be shared: a slice of one value has no room to
// append into, so adding to it copies.
func addHeader(h http.Header, name string, v []string) {
	if len(h[name]) == 0 {
		h[name] = v
		return
	}
	h[name] = append(h[name], v...)
}

// hold waits for d or until ctx ends.
func hold(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ProblemType is the type URI of the 429 problem.
const ProblemType = problem.TypeBase + "rate-limited"

func (l *Limiter) refuse(c *gin.Context, retry int) {
	c.Writer.Header().Set("Retry-After", strconv.Itoa(retry))
	problem.Write(c.Writer, problem.Problem{
		Type:   ProblemType,
		Title:  "Too many requests",
		Status: http.StatusTooManyRequests,
		Detail: fmt.Sprintf("this client made more than %d %s in %d s (%d per %s sustained); retry in %d s",
			l.cfg.Burst, l.cfg.What, l.window, l.cfg.Rate, periodText(l.cfg.Period), retry),
		Instance:  c.Request.URL.RequestURI(),
		RequestID: problem.RequestID(c.Writer.Header()),
	})
	c.Abort()
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

// periodText writes a period the way a person reads it: "minute", "10 s".
func periodText(d time.Duration) string {
	switch d {
	case time.Second:
		return "second"
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	}
	return d.String()
}
