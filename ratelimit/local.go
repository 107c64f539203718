package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// local is the in-process limiter used without Redis or while Redis fails:
// one token bucket per key, in a map bounded by maxKeys. A bucket left alone
// for idle (the time it takes to refill completely) is full again, so
// dropping it loses nothing; sweep does that periodically.
type local struct {
	limit   rate.Limit
	burst   int
	idle    time.Duration
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time // of evictLocked, so a flood of new keys does not sweep on every one
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time // guarded by local.mu
}

func newLocal(limit rate.Limit, burst, maxKeys int, idle time.Duration) *local {
	return &local{
		limit:   limit,
		burst:   burst,
		idle:    idle,
		maxKeys: maxKeys,
		buckets: make(map[string]*bucket),
	}
}

// allow takes one token for key at now and reports the decision in the same
// terms as the Redis limiter.
func (l *local) allow(key string, now time.Time) decision {
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evictLocked(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.last = now
	l.mu.Unlock()

	allowed := b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	perSec := float64(l.limit)
	d := decision{
		allowed:   allowed,
		remaining: int(math.Max(0, math.Floor(tokens))),
		reset:     seconds((float64(l.burst) - tokens) / perSec),
	}
	if !allowed {
		d.retryAfter = seconds((1 - tokens) / perSec)
	}
	return d
}

// evictLocked makes room for one more key: idle buckets go first, and when
// every bucket is busy an arbitrary one goes, which at worst hands that
// client a fresh burst. The bound matters more than fairness to one client
// under a flood of distinct addresses.
func (l *local) evictLocked(now time.Time) {
	if now.Sub(l.lastSweep) >= time.Second {
		l.lastSweep = now
		if l.sweepLocked(now) > 0 {
			return
		}
	}
	for k := range l.buckets {
		delete(l.buckets, k)
		return
	}
}

// sweep drops the buckets idle for longer than l.idle.
func (l *local) sweep(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sweepLocked(now)
}

func (l *local) sweepLocked(now time.Time) int {
	n := 0
	for k, b := range l.buckets {
		if now.Sub(b.last) > l.idle {
			delete(l.buckets, k)
			n++
		}
	}
	return n
}

func (l *local) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
