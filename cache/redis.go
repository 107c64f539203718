package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// After breakAfter consecutive failures Redis is not asked again for
// breakFor: when it is down or hanging, requests then pay nothing for it
// instead of one timeout each. The first call after the pause probes it.
const (
	breakAfter = 3
	breakFor   = time.Second
)

// logEvery bounds the error logs of one Redis tier: an outage under load
// would otherwise log once per request.
const logEvery = 10 * time.Second

// ErrUnavailable is returned without contacting Redis while it is paused
// after repeated failures.
var ErrUnavailable = errors.New("cache: redis paused after repeated failures")

// Redis is a Cache on a Redis server, shared by every process that uses the
// same server and key prefix. Each call has its own short deadline; every
// failure is logged (at most once per logEvery, with a count of the ones left
// out), counted, and returned as a miss with an error.
//
// Redis only uses GET and SET with an expiry: no KEYS, SCAN or FLUSH*, so
// invalidation is by key (the callers put a data release id in it) and TTL.
type Redis struct {
	client  *redis.Client
	prefix  string
	timeout time.Duration
	logger  *slog.Logger

	errors     atomic.Uint64
	timeouts   atomic.Uint64
	skipped    atomic.Uint64
	fails      atomic.Int32
	pauseUntil atomic.Int64 // unix nanoseconds
	lastLog    atomic.Int64 // unix nanoseconds
	unlogged   atomic.Uint64
}

var _ Cache = (*Redis)(nil)

// RedisStats counts the failures of a Redis tier since it was created.
type RedisStats struct {
	Errors   uint64 // calls that failed, timeouts included
	Timeouts uint64 // calls that ran out of their deadline
	Skipped  uint64 // calls not made because Redis was paused
}

// NewRedis returns a Redis tier on client storing keys under prefix, giving
// each call timeout (at least a millisecond). The caller owns client and
// closes it. Build client from RedisOptions so that go-redis neither retries
// nor waits longer than the deadline.
func NewRedis(client *redis.Client, prefix string, timeout time.Duration, logger *slog.Logger) *Redis {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Redis{
		client:  client,
		prefix:  prefix,
		timeout: max(timeout, time.Millisecond),
		logger:  logger,
	}
}

// RedisOptions parses a redis:// or rediss:// URL into client options fit
// for a cache: the context deadline bounds every call, nothing is retried,
// dials and pool waits are as short as a call, and connections skip the
// identity and maintenance-notification handshakes. It returns an error for a
// malformed URL.
func RedisOptions(url string, timeout time.Duration) (*redis.Options, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cache: redis url: %w", err)
	}
	timeout = max(timeout, time.Millisecond)
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1
	opt.DialTimeout = timeout
	opt.DialerRetries = 1
	opt.ReadTimeout = timeout
	opt.WriteTimeout = timeout
	opt.PoolTimeout = timeout
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opt, nil
}

// Get returns the value stored under key. It returns an error, with a miss,
// when Redis fails, times out or is paused.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := r.ready(ctx); err != nil {
		return nil, false, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	b, err := r.client.Get(cctx, r.prefix+key).Bytes()
	switch {
	case err == nil:
		r.succeeded()
		return b, true, nil
	case errors.Is(err, redis.Nil):
		r.succeeded()
		return nil, false, nil
	default:
		return nil, false, r.failed(ctx, "get", err)
	}
}

// Set stores val under key for ttl; Redis keeps a value without expiry when
// ttl <= 0, so such a call stores nothing and returns an error. The write is
// not cancelled with ctx: a value computed for a client that went away is
// still worth sharing. It returns an error when Redis fails, times out or is
// paused.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("cache: redis set %q: ttl %s: must be positive", key, ttl)
	}
	ctx = context.WithoutCancel(ctx)
	if err := r.ready(ctx); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.client.Set(cctx, r.prefix+key, val, ttl).Err(); err != nil {
		return r.failed(ctx, "set", err)
	}
	r.succeeded()
	return nil
}

// Stats returns the tier's failure counts.
func (r *Redis) Stats() RedisStats {
	return RedisStats{
		Errors:   r.errors.Load(),
		Timeouts: r.timeouts.Load(),
		Skipped:  r.skipped.Load(),
	}
}

// ready returns an error when the call should not reach Redis: the caller has
// gone, or Redis is paused.
func (r *Redis) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if until := r.pauseUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		r.skipped.Add(1)
		return ErrUnavailable
	}
	return nil
}

func (r *Redis) succeeded() {
	// Reading first keeps the hot path free of writes to shared memory.
	if r.fails.Load() != 0 {
		r.fails.Store(0)
	}
	if r.pauseUntil.Load() != 0 {
		r.pauseUntil.Store(0)
	}
}

// failed counts and logs err, pausing Redis after breakAfter failures in a
// row, and returns err wrapped. A failure caused by the caller's own context
// ending says nothing about Redis and is neither counted nor logged.
func (r *Redis) failed(ctx context.Context, op string, err error) error {
	err = fmt.Errorf("cache: redis %s: %w", op, err)
	if ctx.Err() != nil {
		return err
	}
	r.errors.Add(1)
	timeout := errors.Is(err, context.DeadlineExceeded)
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		timeout = true
	}
	if timeout {
		r.timeouts.Add(1)
	}
	now := time.Now().UnixNano()
	if r.fails.Add(1) >= breakAfter {
		r.pauseUntil.Store(now + int64(breakFor))
	}
	last := r.lastLog.Load()
	if now-last < int64(logEvery) || !r.lastLog.CompareAndSwap(last, now) {
		r.unlogged.Add(1)
		return err
	}
	r.logger.Warn("redis cache unavailable, serving from the next tier",
		"err", err, "timeout", timeout, "unlogged_since_last", r.unlogged.Swap(0),
		"errors_total", r.errors.Load())
	return err
}
