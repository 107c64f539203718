package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/maypok86/otter/v2"
)

// entryOverhead approximates the bytes an entry costs beyond its key and value
// (the otter node, the slice headers), so that many tiny entries still count.
const entryOverhead = 96

// Local is an in-process Cache bounded by the total size of its keys and
// values. Eviction and expiry are otter's; Local only weighs entries by bytes.
type Local struct {
	c        *otter.Cache[string, localValue]
	ttl      time.Duration
	maxEntry int64
}

type localValue struct {
	b   []byte
	ttl time.Duration
}

var _ Cache = (*Local)(nil)

// NewLocal returns a Local holding at most about maxBytes of keys and values,
// each entry living ttl unless Set is given another ttl. It returns an error
// when maxBytes or ttl is not positive.
func NewLocal(maxBytes int64, ttl time.Duration) (*Local, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("cache: local size %d: must be positive", maxBytes)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("cache: local ttl %s: must be positive", ttl)
	}
	c, err := otter.New(&otter.Options[string, localValue]{
		MaximumWeight: uint64(maxBytes),
		Weigher: func(key string, v localValue) uint32 {
			return uint32(min(weight(key, v.b), math.MaxUint32))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, localValue]) time.Duration {
			return e.Value.ttl
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("cache: local: %w", err)
	}
	// An entry larger than an eighth of the cache would push out many useful
	// ones to make room; such responses are computed every time instead.
	return &Local{c: c, ttl: ttl, maxEntry: max(maxBytes/8, 1)}, nil
}

func weight(key string, val []byte) int64 {
	return int64(len(key)) + int64(len(val)) + entryOverhead
}

// Get returns the value stored under key. It never returns an error.
func (l *Local) Get(_ context.Context, key string) ([]byte, bool, error) {
	v, ok := l.c.GetIfPresent(key)
	return v.b, ok, nil
}

// Set stores val under key for ttl (the Local's default when ttl <= 0).
// It returns ErrTooLarge, storing nothing, for an entry weighing more than an
// eighth of the cache.
func (l *Local) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	if weight(key, val) > l.maxEntry {
		return ErrTooLarge
	}
	if ttl <= 0 || ttl > l.ttl {
		ttl = l.ttl
	}
	l.c.Set(key, localValue{b: val, ttl: ttl})
	return nil
}

// Bytes returns the weighed size of the entries currently held.
func (l *Local) Bytes() int64 {
	return int64(l.c.WeightedSize())
}

// Close stops the goroutine that expires entries. The Local must not be used
// afterwards.
func (l *Local) Close() error {
	l.c.StopAllGoroutines()
	l.c.InvalidateAll()
	return nil
}

// ErrTooLarge is returned by Set for a value that a tier will not hold.
var ErrTooLarge = errors.New("cache: value too large")
