package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
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

// refusedPause is how long Set stores nothing after Redis refused a write:
// a full Redis refuses every large write, and sending it whole responses only
// to have them refused costs both sides.
const refusedPause = time.Second

var (
	// ErrUnavailable is returned without contacting Redis while it is
	// paused after repeated failures.
	ErrUnavailable = errors.New("cache: redis paused after repeated failures")
	// ErrWritesRefused means Redis answers but does not store: it is out of
	// memory under maxmemory-policy noeviction (an OOM reply), a read-only
	// replica, or stops writes after failed snapshots.
	ErrWritesRefused = errors.New("cache: redis refuses writes")
)

// Redis is a Cache on a Redis server, shared by every process that uses the
// same server and key prefix. Each call has its own short deadline; every
// failure is logged (at most once per logEvery, with a count of the ones left
// out), counted, and returned as a miss with an error.
//
// A write that Redis refuses while it answers (see ErrWritesRefused) is
// counted apart: it does not pause reads, which still work, but for a second
// Set stores nothing. A WriteWatch on the client reports it to readiness.
//
// Redis only uses GET and SET with an expiry: no KEYS, SCAN or FLUSH*, so
// invalidation is by key (the callers put a data release id in it) and TTL.
// Every command names one key, so a Redis Cluster needs no hash tags.
type Redis struct {
	client  redis.UniversalClient
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

	refused     atomic.Uint64
	lastRefused atomic.Int64 // unix nanoseconds
}

var _ Cache = (*Redis)(nil)

// RedisStats counts the failures of a Redis tier since it was created.
type RedisStats struct {
	Errors   uint64 // calls that failed, timeouts included
	Timeouts uint64 // calls that ran out of their deadline
	Skipped  uint64 // calls not made because Redis was paused or refusing writes
	Refused  uint64 // writes Redis answered with a refusal (out of memory, read-only); also in Errors
}

// NewRedis returns a Redis tier on client storing keys under prefix, giving
// each call timeout (at least a millisecond). client may be a single server,
// a Sentinel failover client or a cluster client: the tier sends only
// single-key commands. The caller owns client and closes it. Build client
// with RedisTarget.NewClient so that go-redis neither retries nor waits
// longer than the deadline.
func NewRedis(client redis.UniversalClient, prefix string, timeout time.Duration, logger *slog.Logger) *Redis {
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
// paused, and one wrapping ErrWritesRefused when Redis refuses the write or
// refused one within the last second.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("cache: redis set %q: ttl %s: must be positive", key, ttl)
	}
	ctx = context.WithoutCancel(ctx)
	if err := r.ready(ctx); err != nil {
		return err
	}
	if last := r.lastRefused.Load(); last != 0 && time.Now().UnixNano()-last < int64(refusedPause) {
		r.skipped.Add(1)
		return ErrWritesRefused
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.client.Set(cctx, r.prefix+key, val, ttl).Err(); err != nil {
		if refusal(err) {
			return r.refusedWrite("set", err)
		}
		return r.failed(ctx, "set", err)
	}
	r.succeeded()
	return nil
}

// refusal reports whether err is Redis declining a write while it answers:
// OOM (maxmemory reached under noeviction), READONLY (a replica) or MISCONF
// (snapshots failing with stop-writes-on-bgsave-error).
func refusal(err error) bool {
	return redis.IsOOMError(err) || redis.HasErrorPrefix(err, "READONLY") || redis.HasErrorPrefix(err, "MISCONF")
}

// refusedWrite counts and logs a refused write and returns it wrapped in
// ErrWritesRefused. Redis answered, so the failure streak ends: reads go on.
func (r *Redis) refusedWrite(op string, err error) error {
	r.succeeded()
	r.errors.Add(1)
	n := r.refused.Add(1)
	r.lastRefused.Store(time.Now().UnixNano())
	err = fmt.Errorf("cache: redis %s: %w: %w", op, ErrWritesRefused, err)
	r.logLimited("redis refuses writes: nothing new is shared until it stores again (maxmemory reached with maxmemory-policy noeviction?)",
		"err", err, "refused_total", n)
	return err
}

// Stats returns the tier's failure counts.
func (r *Redis) Stats() RedisStats {
	return RedisStats{
		Errors:   r.errors.Load(),
		Timeouts: r.timeouts.Load(),
		Skipped:  r.skipped.Load(),
		Refused:  r.refused.Load(),
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
	if r.fails.Add(1) >= breakAfter {
		r.pauseUntil.Store(time.Now().UnixNano() + int64(breakFor))
	}
	r.logLimited("redis cache unavailable, serving from the next tier",
		"err", err, "timeout", timeout, "errors_total", r.errors.Load())
	return err
}

// logLimited logs a warning at most once per logEvery, counting the ones it
// leaves out.
func (r *Redis) logLimited(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := r.lastLog.Load()
	if now-last < int64(logEvery) || !r.lastLog.CompareAndSwap(last, now) {
		r.unlogged.Add(1)
		return
	}
	r.logger.Warn(msg, append(args, "unlogged_since_last", r.unlogged.Swap(0))...)
}

// WriteWatch follows one Redis client for writes the server refuses, whoever
// makes them: the cache tiers and a rate limiter built on the client. On a
// cluster client it sees the refusals of every node. It is
// what readiness asks about Redis, since a full Redis answers PING as gladly
// as ever while it refuses every write that would add to it.
type WriteWatch struct {
	client  redis.UniversalClient
	window  time.Duration
	refused atomic.Uint64
	last    atomic.Int64 // unix nanoseconds of the latest refusal
}

var _ redis.Hook = (*WriteWatch)(nil)

// WatchWrites returns a WriteWatch on client, installed as a go-redis hook,
// that reports a refused write for window after it. Call it once per client,
// before the client is shared.
func WatchWrites(client redis.UniversalClient, window time.Duration) *WriteWatch {
	w := &WriteWatch{client: client, window: window}
	client.AddHook(w)
	return w
}

// Healthy returns an error wrapping ErrWritesRefused when Redis refused a
// write on the client within the watch's window, and otherwise PING's error,
// if any.
func (w *WriteWatch) Healthy(ctx context.Context) error {
	if last := w.last.Load(); last != 0 {
		if ago := time.Since(time.Unix(0, last)); ago < w.window {
			return fmt.Errorf("%w: the last refusal %s ago, %d since start", ErrWritesRefused,
				ago.Round(time.Millisecond), w.refused.Load())
		}
	}
	if err := w.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache: redis ping: %w", err)
	}
	return nil
}

// Refused returns how many commands on the client Redis refused as writes.
func (w *WriteWatch) Refused() uint64 { return w.refused.Load() }

func (w *WriteWatch) note(err error) {
	if err != nil && refusal(err) {
		w.refused.Add(1)
		w.last.Store(time.Now().UnixNano())
	}
}

// DialHook implements redis.Hook; dials are not watched.
func (w *WriteWatch) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (w *WriteWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		w.note(err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (w *WriteWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			w.note(c.Err())
		}
		return err
	}
}

// RedisMemory is how a Redis server bounds its memory, as CONFIG GET reports
// it.
type RedisMemory struct {
	// Node is the cluster primary the settings are of; empty for a single
	// server or Sentinel's primary, the only one there is.
	Node     string
	MaxBytes int64  // maxmemory; 0 means no bound
	Policy   string // maxmemory-policy
}

// ReadRedisMemory asks the servers behind client for their maxmemory and
// maxmemory-policy: the server, Sentinel's current primary, or on a cluster
// every primary, each of which stores its share of the keys and can fill up
// alone. It returns an error when a server does not answer or refuses
// CONFIG, as managed services and ACLs often do.
func ReadRedisMemory(ctx context.Context, client redis.UniversalClient) ([]RedisMemory, error) {
	cluster, ok := client.(*redis.ClusterClient)
	if !ok {
		m, err := readMemory(ctx, client)
		if err != nil {
			return nil, err
		}
		return []RedisMemory{m}, nil
	}
	var mu sync.Mutex
	var all []RedisMemory
	err := cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		m, err := readMemory(ctx, node)
		if err != nil {
			return fmt.Errorf("%s: %w", node.Options().Addr, err)
		}
		m.Node = node.Options().Addr
		mu.Lock()
		all = append(all, m)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b RedisMemory) int { return strings.Compare(a.Node, b.Node) })
	return all, nil
}

func readMemory(ctx context.Context, client redis.Cmdable) (RedisMemory, error) {
	cfg, err := client.ConfigGet(ctx, "maxmemory*").Result()
	if err != nil {
		return RedisMemory{}, fmt.Errorf("cache: redis config get: %w", err)
	}
	limit, ok := cfg["maxmemory"]
	policy, ok2 := cfg["maxmemory-policy"]
	if !ok || !ok2 {
		return RedisMemory{}, fmt.Errorf("cache: redis config get: no maxmemory or maxmemory-policy in %v", cfg)
	}
	n, err := strconv.ParseInt(limit, 10, 64)
	if err != nil {
		return RedisMemory{}, fmt.Errorf("cache: redis config get: maxmemory %q: %w", limit, err)
	}
	return RedisMemory{MaxBytes: n, Policy: policy}, nil
}

// Warnings says, one sentence each, how m lets Redis fail the service: no
// bound at all, or a bound at which writes are refused instead of old keys
// evicted. It returns nil for a bounded Redis that evicts.
func (m RedisMemory) Warnings() []string {
	var w []string
	if m.MaxBytes == 0 {
		w = append(w, "maxmemory is 0: Redis grows without bound until the host runs out of memory; set maxmemory")
	}
	if m.Policy == "noeviction" {
		w = append(w, "maxmemory-policy is noeviction: a full Redis refuses every write, so the cache stops sharing "+
			"new responses and a rate limiter on it falls back to per-process limits; use allkeys-lru")
	}
	return w
}
