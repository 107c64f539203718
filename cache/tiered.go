package cache

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Tiered looks a key up in a local tier, then a Redis tier, then computes it,
// storing what it found or computed in the nearer tiers on the way back.
// Concurrent misses of one key share one Redis lookup and one computation per
// process. Either tier may be nil (disabled).
type Tiered struct {
	local Cache
	redis Cache
	ttl   time.Duration
	group singleflight.Group

	localHits     atomic.Uint64
	localMisses   atomic.Uint64
	redisHits     atomic.Uint64
	redisMisses   atomic.Uint64
	redisErrors   atomic.Uint64
	computes      atomic.Uint64
	computeErrors atomic.Uint64
	shared        atomic.Uint64
}

// Stats is a snapshot of a Tiered's counters since it was created.
type Stats struct {
	LocalHits     uint64 // lookups answered by the local tier
	LocalMisses   uint64 // lookups the local tier could not answer
	RedisHits     uint64 // lookups answered by Redis
	RedisMisses   uint64 // lookups Redis answered with "absent"
	RedisErrors   uint64 // Redis gets and sets that failed, timed out or were skipped
	Computes      uint64 // computations run
	ComputeErrors uint64 // computations that returned an error (nothing stored)
	Shared        uint64 // lookups whose miss was resolved together with concurrent ones, the resolving one included
}

// NewTiered returns a Tiered over local and redis (each may be nil) storing
// values for ttl.
func NewTiered(local, redis Cache, ttl time.Duration) *Tiered {
	return &Tiered{local: local, redis: redis, ttl: ttl}
}

type result struct {
	val []byte
	src Source
}

// Get returns the value of key and the tier that had it. On a miss of every
// tier it calls compute once for all concurrent callers of the same key (the
// first caller's compute runs, with its ctx) and stores the value in every
// tier. It returns compute's error, unwrapped, and stores nothing then; tier
// errors are counted and never returned. Returned slices must not be modified.
func (t *Tiered) Get(ctx context.Context, key string, compute func(context.Context) ([]byte, error)) ([]byte, Source, error) {
	if t.local != nil {
		if v, ok, _ := t.local.Get(ctx, key); ok {
			t.localHits.Add(1)
			return v, SourceLocal, nil
		}
		t.localMisses.Add(1)
	}
	v, err, shared := t.group.Do(key, func() (any, error) {
		return t.fill(ctx, key, compute)
	})
	if shared {
		t.shared.Add(1)
	}
	if err != nil {
		return nil, SourceCompute, err
	}
	r := v.(result)
	return r.val, r.src, nil
}

func (t *Tiered) fill(ctx context.Context, key string, compute func(context.Context) ([]byte, error)) (result, error) {
	if t.redis != nil {
		v, ok, err := t.redis.Get(ctx, key)
		switch {
		case err != nil:
			t.redisErrors.Add(1)
		case ok:
			t.redisHits.Add(1)
			t.setLocal(ctx, key, v)
			return result{v, SourceRedis}, nil
		default:
			t.redisMisses.Add(1)
		}
	}
	t.computes.Add(1)
	v, err := compute(ctx)
	if err != nil {
		t.computeErrors.Add(1)
		return result{}, err
	}
	t.setLocal(ctx, key, v)
	if t.redis != nil {
		if err := t.redis.Set(ctx, key, v, t.ttl); err != nil {
			t.redisErrors.Add(1)
		}
	}
	return result{v, SourceCompute}, nil
}

func (t *Tiered) setLocal(ctx context.Context, key string, v []byte) {
	if t.local != nil {
		// The only error is ErrTooLarge: the value is simply not kept.
		_ = t.local.Set(ctx, key, v, t.ttl)
	}
}

// Stats returns a snapshot of the counters.
func (t *Tiered) Stats() Stats {
	return Stats{
		LocalHits:     t.localHits.Load(),
		LocalMisses:   t.localMisses.Load(),
		RedisHits:     t.redisHits.Load(),
		RedisMisses:   t.redisMisses.Load(),
		RedisErrors:   t.redisErrors.Load(),
		Computes:      t.computes.Load(),
		ComputeErrors: t.computeErrors.Load(),
		Shared:        t.shared.Load(),
	}
}

// Close closes the tiers that hold resources of their own (the local tier's
// expiry goroutine). It does not close the Redis client, which the caller owns.
func (t *Tiered) Close() error {
	var errs []error
	for _, c := range []Cache{t.local, t.redis} {
		if cl, ok := c.(io.Closer); ok {
			errs = append(errs, cl.Close())
		}
	}
	return errors.Join(errs...)
}
