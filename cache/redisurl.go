package cache

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisKind is how the Redis a URL names is deployed.
type RedisKind string

// The kinds of Redis a URL can name.
const (
	RedisSingle   RedisKind = "single"   // one server, perhaps behind a proxy or a managed endpoint
	RedisSentinel RedisKind = "sentinel" // a primary that Sentinel watches and replaces by a replica when it fails
	RedisCluster  RedisKind = "cluster"  // Redis Cluster: the keys are spread over several primaries
)

// RedisTarget is a parsed Redis URL: the kind of deployment, where it is, and
// the options go-redis's own parser read from it.
type RedisTarget struct {
	Kind RedisKind
	// Addrs are the server (single), the Sentinels (sentinel) or the nodes
	// the client learns the cluster from (cluster).
	Addrs []string
	// Master is the name Sentinel knows the primary by; empty for the
	// other kinds.
	Master string

	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// ParseRedisURL parses a redis:// or rediss:// URL in one of three forms,
// each read by go-redis's own parser:
//
//   - with a master_name parameter, Sentinel (redis.ParseFailoverURL):
//     redis://[user:pass@]sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379,
//     where the user part authenticates to the Sentinels and username and
//     password parameters to the primary;
//   - with addr parameters and no master_name, Cluster
//     (redis.ParseClusterURL): redis://[user:pass@]node1:7000?addr=node2:7001&addr=node3:7002;
//   - otherwise a single server (redis.ParseURL):
//     redis://[user:pass@]host:6379/0.
//
// It returns an error for a malformed URL, an unknown parameter, or a
// database number on a cluster, which has only database 0. The error does
// not repeat the URL, which may hold a password.
func ParseRedisURL(rawURL string) (RedisTarget, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password included.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return RedisTarget{}, fmt.Errorf("cache: redis url: %w", err)
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		opt, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return RedisTarget{}, fmt.Errorf("cache: redis sentinel url: %w", err)
		}
		if opt.MasterName == "" {
			return RedisTarget{}, errors.New("cache: redis sentinel url: master_name is empty")
		}
		return RedisTarget{Kind: RedisSentinel, Addrs: slices.Clone(opt.SentinelAddrs), Master: opt.MasterName, failover: opt}, nil
	case q.Has("addr"):
		// ParseClusterURL ignores the path: a database number there would
		// be dropped without a word, and a cluster only has database 0.
		if p := u.Path; p != "" && p != "/" && p != "/0" {
			return RedisTarget{}, fmt.Errorf("cache: redis cluster url: path %q: a cluster has only database 0", p)
		}
		opt, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return RedisTarget{}, fmt.Errorf("cache: redis cluster url: %w", err)
		}
		return RedisTarget{Kind: RedisCluster, Addrs: slices.Clone(opt.Addrs), cluster: opt}, nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return RedisTarget{}, fmt.Errorf("cache: redis url: %w", err)
	}
	return RedisTarget{Kind: RedisSingle, Addrs: []string{opt.Addr}, single: opt}, nil
}

// NewClient returns a client on t fit for a cache and a rate limiter,
// whatever its kind: the context deadline bounds every call, nothing is
// retried, dials and pool waits are as short as a call, and connections skip
// the identity and maintenance-notification handshakes. A cluster client
// still follows MOVED and ASK redirections, within the deadline. The caller
// closes the client. t must come from ParseRedisURL.
func (t RedisTarget) NewClient(timeout time.Duration) redis.UniversalClient {
	timeout = max(timeout, time.Millisecond)
	switch t.Kind {
	case RedisSentinel:
		opt := *t.failover
		opt.SentinelAddrs = slices.Clone(opt.SentinelAddrs)
		opt.ContextTimeoutEnabled = true
		opt.MaxRetries = -1
		opt.DialTimeout = timeout
		opt.DialerRetries = 1
		opt.ReadTimeout = timeout
		opt.WriteTimeout = timeout
		opt.PoolTimeout = timeout
		opt.DisableIdentity = true
		// NewFailoverClient panics on these two; go-redis's universal
		// client routes them to a failover cluster client instead.
		if opt.RouteByLatency || opt.RouteRandomly {
			return redis.NewFailoverClusterClient(&opt)
		}
		return redis.NewFailoverClient(&opt)
	case RedisCluster:
		opt := *t.cluster
		opt.Addrs = slices.Clone(opt.Addrs)
		opt.ContextTimeoutEnabled = true
		opt.MaxRetries = -1
		opt.DialTimeout = timeout
		opt.DialerRetries = 1
		opt.ReadTimeout = timeout
		opt.WriteTimeout = timeout
		opt.PoolTimeout = timeout
		opt.DisableIdentity = true
		opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		return redis.NewClusterClient(&opt)
	}
	opt := *t.single
	boundOptions(&opt, timeout)
	return redis.NewClient(&opt)
}

// RedisOptions parses a single-server redis:// or rediss:// URL into client
// options with the settings NewClient gives every kind. It returns an error
// for a malformed URL.
func RedisOptions(url string, timeout time.Duration) (*redis.Options, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cache: redis url: %w", err)
	}
	boundOptions(opt, max(timeout, time.Millisecond))
	return opt, nil
}

// boundOptions gives a single-server client the settings NewClient describes.
func boundOptions(opt *redis.Options, timeout time.Duration) {
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1
	opt.DialTimeout = timeout
	opt.DialerRetries = 1
	opt.ReadTimeout = timeout
	opt.WriteTimeout = timeout
	opt.PoolTimeout = timeout
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}
