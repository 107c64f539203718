// Package cache holds byte caches behind one small interface: an in-process
// tier bounded by bytes (Local), a shared tier on Redis (Redis), and their
// composition with the computation they stand in front of (Tiered).
//
// A cache never decides correctness: a miss, an error or a disabled tier only
// means the value is computed again. Redis errors therefore surface as misses
// with an error, so that callers fall through to the next tier.
package cache

import (
	"context"
	"time"
)

// Cache stores byte values under string keys for a limited time.
//
// Get reports whether key was found. A non-nil error means the tier could not
// answer (a timeout, a closed connection); the value is then absent and the
// caller should treat the call as a miss. Returned slices are shared with the
// cache and must not be modified.
//
// Set stores val under key for ttl; a ttl of zero or less means the tier's
// default. An error means the value was not stored.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// Source names the tier that answered a Tiered lookup.
type Source int

// The tiers, from nearest to farthest.
const (
	SourceCompute Source = iota
	SourceLocal
	SourceRedis
)

// String returns the tier's name as used in logs and the X-Cache header.
func (s Source) String() string {
	switch s {
	case SourceLocal:
		return "local"
	case SourceRedis:
		return "redis"
	default:
		return "compute"
	}
}
