package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/ratelimit"
	"github.com/krimstat/krimstat/store/postgres"
	"github.com/krimstat/krimstat/warmup"
)

// config is the whole configuration of serve, read from the environment in
// one place with its defaults.
type config struct {
	Addr            string
	LogLevel        slog.Level
	DatabaseURL     string
	RedisURL        string
	ShutdownTimeout time.Duration
	RequestTimeout  time.Duration
	Cache           httpcache.Config
	RateLimit       ratelimit.Config
	RateLimitOn     bool
	// MissBudget limits, per client, the requests the cache cannot answer
	// (on when RateLimitOn).
	MissBudget ratelimit.Config
	// Gate caps the requests in flight, per client and in all; MissGate
	// caps the responses being computed. A computation uses a core, so a
	// client that may run only one at a time cannot crowd out the others.
	Gate     ratelimit.GateConfig
	MissGate ratelimit.GateConfig

	// RateLimitRedisURL is the Redis the rate limiter shares its counts
	// through: REDIS_URL unless set apart, so that a cache filling its Redis
	// cannot take the limits down with it.
	RateLimitRedisURL string
	// PGStatementTimeout bounds every statement on the PostgreSQL pool;
	// zero leaves the server's setting.
	PGStatementTimeout time.Duration
	// DatabaseReadURLs are PostgreSQL hot standbys of DatabaseURL that
	// serve the reads; loads and NOTIFY stay on DatabaseURL.
	DatabaseReadURLs []string
	// ReplicaMaxLag bounds how long a new release waits for the read
	// replicas to replay it before it is served without the ones behind.
	ReplicaMaxLag time.Duration
	// MaxConnsPerClient and MaxConns cap the open connections of one client
	// address and of all clients; zero is no cap.
	MaxConnsPerClient int
	MaxConns          int
	// MetricsAddr is where /metrics is served, apart from the API; empty
	// serves no metrics.
	MetricsAddr string
	// RevisionSource says where Cache.Revision came from (see buildRevision).
	RevisionSource string
	// Warmup is how a replica moves to a new release: the most requested
	// targets are computed for it before it is served.
	Warmup warmup.Config
}

// loadConfig reads the environment. A malformed value is an error at start,
// never a silent default.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Addr:            ":8080",
		LogLevel:        slog.LevelInfo,
		DatabaseURL:     getenv("DATABASE_URL"),
		RedisURL:        getenv("REDIS_URL"),
		ShutdownTimeout: 15 * time.Second,
		RequestTimeout:  30 * time.Second,
		Cache:           httpcache.DefaultConfig(),
		Warmup:          warmup.DefaultConfig(),

		ReplicaMaxLag:      postgres.DefaultMaxReplicaLag,
		RateLimitRedisURL:  getenv("REDIS_URL"),
		PGStatementTimeout: 5 * time.Second,
		MaxConnsPerClient:  64,
		MaxConns:           4096,
		MetricsAddr:        getenv("KRIMSTAT_METRICS_ADDR"),
		MissBudget: ratelimit.Config{
			Name: "misses", What: "uncached requests", Prefix: "krimstat:misses:",
			Rate: 60, Period: time.Minute, Burst: 30,
		},
		Gate:     ratelimit.GateConfig{PerClient: ratelimit.DefaultGatePerClient, Total: ratelimit.DefaultGateTotal},
		MissGate: ratelimit.GateConfig{PerClient: 1, Total: 64, What: "uncached requests being computed"},
	}
	// Only these parameters take comma-separated lists; the cache splits
	// them so that region=NO,SE and region=NO&region=SE share an entry.
	c.Cache.ListParams = handlers.ListParams()
	// A new binary may render the same data differently: the revision is
	// part of every cache key and ETag.
	c.Cache.Revision, c.RevisionSource = buildRevision()
	readURLs, err := splitDatabaseURLs(getenv("DATABASE_READ_URL"))
	if err != nil {
		return c, fmt.Errorf("DATABASE_READ_URL: %w", err)
	}
	c.DatabaseReadURLs = readURLs
	if len(c.DatabaseReadURLs) > 0 && c.DatabaseURL == "" {
		return c, errors.New("DATABASE_READ_URL needs DATABASE_URL: releases are loaded, and announced, on the primary")
	}
	if v := getenv("KRIMSTAT_RATELIMIT_REDIS_URL"); v != "" {
		c.RateLimitRedisURL = v
	}
	if v := getenv("KRIMSTAT_ADDR"); v != "" {
		c.Addr = v
	}
	if v := getenv("KRIMSTAT_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, fmt.Errorf("KRIMSTAT_LOG_LEVEL=%q: want debug, info, warn or error", v)
		}
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"KRIMSTAT_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout},
		{"KRIMSTAT_REQUEST_TIMEOUT", &c.RequestTimeout},
		{"KRIMSTAT_CACHE_TTL", &c.Cache.TTL},
		{"KRIMSTAT_REDIS_TIMEOUT", &c.Cache.RedisTimeout},
		{"KRIMSTAT_MAX_AGE", &c.Cache.MaxAge},
		{"KRIMSTAT_SHARED_MAX_AGE", &c.Cache.SharedMaxAge},
		{"KRIMSTAT_STALE_WHILE_REVALIDATE", &c.Cache.StaleWhileRevalidate},
		{"KRIMSTAT_STALE_IF_ERROR", &c.Cache.StaleIfError},
		{"KRIMSTAT_PG_STATEMENT_TIMEOUT", &c.PGStatementTimeout},
		{"KRIMSTAT_REPLICA_MAX_LAG", &c.ReplicaMaxLag},
		{"KRIMSTAT_WARMUP_TIMEOUT", &c.Warmup.Timeout},
	}
	for _, d := range durations {
		if err := parseDuration(getenv, d.name, d.dst); err != nil {
			return c, err
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{"KRIMSTAT_CACHE", &c.Cache.Enabled},
		{"KRIMSTAT_CACHE_LOCAL", &c.Cache.LocalEnabled},
		{"KRIMSTAT_WARMUP", &c.Warmup.Enabled},
	} {
		if err := parseBool(getenv, b.name, b.dst); err != nil {
			return c, err
		}
	}
	mb := c.Cache.LocalMaxBytes >> 20
	if err := parseInt(getenv, "KRIMSTAT_CACHE_MB", &mb); err != nil {
		return c, err
	}
	c.Cache.LocalMaxBytes = mb << 20
	kb := int64(c.Cache.MaxEntryBytes >> 10)
	if err := parseInt(getenv, "KRIMSTAT_CACHE_MAX_ENTRY_KB", &kb); err != nil {
		return c, err
	}
	c.Cache.MaxEntryBytes = int(kb << 10)
	for _, n := range []struct {
		name string
		dst  *int
	}{
		{"KRIMSTAT_MAX_CONNS_PER_CLIENT", &c.MaxConnsPerClient},
		{"KRIMSTAT_MAX_CONNS", &c.MaxConns},
		{"KRIMSTAT_INFLIGHT_PER_CLIENT", &c.Gate.PerClient},
		{"KRIMSTAT_INFLIGHT", &c.Gate.Total},
		{"KRIMSTAT_COMPUTE_PER_CLIENT", &c.MissGate.PerClient},
		{"KRIMSTAT_COMPUTE", &c.MissGate.Total},
		{"KRIMSTAT_MISS_BURST", &c.MissBudget.Burst},
		{"KRIMSTAT_WARMUP_KEYS", &c.Warmup.Keys},
		{"KRIMSTAT_WARMUP_CONCURRENCY", &c.Warmup.Concurrency},
	} {
		v := int64(*n.dst)
		if err := parseInt(getenv, n.name, &v); err != nil {
			return c, err
		}
		*n.dst = int(v)
	}
	// Port 0 picks a free port for each listener, so only a fixed port can
	// clash.
	if _, port, _ := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr == c.Addr && port != "0" {
		return c, fmt.Errorf("KRIMSTAT_METRICS_ADDR=%q: want an address apart from KRIMSTAT_ADDR", c.MetricsAddr)
	}
	if err := c.Cache.Validate(); err != nil {
		return c, fmt.Errorf("cache configuration: %w", err)
	}
	// Counting four times the targets warmed keeps the top reliable.
	c.Warmup.Track = max(c.Warmup.Track, 4*c.Warmup.Keys)
	if err := c.Warmup.Validate(); err != nil {
		return c, fmt.Errorf("KRIMSTAT_WARMUP_KEYS, KRIMSTAT_WARMUP_TIMEOUT, KRIMSTAT_WARMUP_CONCURRENCY: %w", err)
	}

	c.RateLimitOn = true
	if err := parseBool(getenv, "KRIMSTAT_RATELIMIT", &c.RateLimitOn); err != nil {
		return c, err
	}
	if v := getenv("KRIMSTAT_RATELIMIT_RATE"); v != "" {
		n, per, err := ratelimit.ParseRate(v)
		if err != nil {
			return c, fmt.Errorf("KRIMSTAT_RATELIMIT_RATE=%q: %w", v, err)
		}
		c.RateLimit.Rate, c.RateLimit.Period = n, per
	}
	burst := int64(c.RateLimit.Burst)
	if err := parseInt(getenv, "KRIMSTAT_RATELIMIT_BURST", &burst); err != nil {
		return c, err
	}
	c.RateLimit.Burst = int(burst)
	if v := getenv("KRIMSTAT_TRUSTED_PROXIES"); v != "" {
		p, err := ratelimit.ParsePrefixes(v)
		if err != nil {
			return c, fmt.Errorf("KRIMSTAT_TRUSTED_PROXIES=%q: %w", v, err)
		}
		c.RateLimit.TrustedProxies = p
	}
	c.RateLimit.RedisTimeout = c.Cache.RedisTimeout
	if err := c.RateLimit.Validate(); err != nil {
		return c, err
	}
	if v := getenv("KRIMSTAT_MISS_RATE"); v != "" {
		n, per, err := ratelimit.ParseRate(v)
		if err != nil {
			return c, fmt.Errorf("KRIMSTAT_MISS_RATE=%q: %w", v, err)
		}
		c.MissBudget.Rate, c.MissBudget.Period = n, per
	}
	// Clients are told apart the same way by every layer.
	c.MissBudget.TrustedProxies, c.MissBudget.IPv6PrefixLen = c.RateLimit.TrustedProxies, c.RateLimit.IPv6PrefixLen
	c.MissBudget.RedisTimeout = c.RateLimit.RedisTimeout
	c.Gate.TrustedProxies, c.Gate.IPv6PrefixLen = c.RateLimit.TrustedProxies, c.RateLimit.IPv6PrefixLen
	c.MissGate.TrustedProxies, c.MissGate.IPv6PrefixLen = c.RateLimit.TrustedProxies, c.RateLimit.IPv6PrefixLen
	if err := c.MissBudget.Validate(); err != nil {
		return c, fmt.Errorf("miss budget: %w", err)
	}
	if c.Gate.PerClient <= 0 || c.Gate.Total <= 0 || c.MissGate.PerClient <= 0 || c.MissGate.Total <= 0 {
		return c, fmt.Errorf("KRIMSTAT_INFLIGHT_PER_CLIENT, KRIMSTAT_INFLIGHT, KRIMSTAT_COMPUTE_PER_CLIENT and KRIMSTAT_COMPUTE: want positive numbers")
	}
	return c, nil
}

// splitDatabaseURLs splits a list of PostgreSQL URLs separated by commas
// or white space. A comma followed by anything but the start of another
// postgres:// or postgresql:// URL belongs to the URL before it, as in a
// multi-host URL (postgres://a:5432,b:5432/db). A value with no URL at all
// is one key=value connection string, spaces and all. A URL that does not
// parse is an error that does not quote it, since it may hold a password.
func splitDatabaseURLs(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if !strings.Contains(v, "://") {
		return []string{v}, nil
	}
	isURL := func(s string) bool {
		return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
	}
	var out []string
	for _, field := range strings.Fields(v) {
		// Only a comma within a field continues a URL: what follows a
		// space starts a new one.
		inField := false
		for part := range strings.SplitSeq(field, ",") {
			switch {
			case part == "":
			case inField && !isURL(part):
				out[len(out)-1] += "," + part
			default:
				out = append(out, part)
				inField = true
			}
		}
	}
	for i, u := range out {
		if !isURL(u) {
			return nil, fmt.Errorf("URL %d (%s): want postgres:// URLs separated by commas or spaces", i+1, masked(u))
		}
		if _, err := url.Parse(u); err != nil {
			return nil, fmt.Errorf("URL %d: does not parse", i+1)
		}
	}
	return out, nil
}

func parseDuration(getenv func(string) string, name string, dst *time.Duration) error {
	v := getenv(name)
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("%s=%q: want a duration such as 30s", name, v)
	}
	*dst = d
	return nil
}

func parseBool(getenv func(string) string, name string, dst *bool) error {
	v := strings.ToLower(getenv(name))
	switch v {
	case "":
	case "on", "true", "1", "yes":
		*dst = true
	case "off", "false", "0", "no":
		*dst = false
	default:
		return fmt.Errorf("%s=%q: want on or off", name, v)
	}
	return nil
}

func parseInt(getenv func(string) string, name string, dst *int64) error {
	v := getenv(name)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%s=%q: want a whole number", name, v)
	}
	*dst = n
	return nil
}

// masked returns a connection URL (postgres://, redis://) or a PostgreSQL
// key=value string fit for the log: the password of the user part and the
// value of every parameter whose name speaks of a secret (password=,
// sslpassword=, token=, ...) are replaced by "xxxxx". A URL that does not
// parse is hidden whole, since where its password is cannot be told.
func masked(s string) string {
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		return maskKeywords(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "xxxxx"
	}
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			k, _, _ := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(k); err != nil || secretName(name) {
				params[i] = k + "=xxxxx"
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	return u.Redacted()
}

// maskKeywords hides the secret values of a key=value connection string,
// whose values may be quoted ('a b', with \' and \\ escapes).
func maskKeywords(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		// Copy up to the next '=' and the key before it.
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			b.WriteString(s[i:])
			break
		}
		key := strings.TrimSpace(s[i : i+eq])
		b.WriteString(s[i : i+eq+1])
		i += eq + 1
		for i < len(s) && isSpace(s[i]) {
			b.WriteByte(s[i])
			i++
		}
		// The value runs to an unescaped closing quote, or to an
		// unescaped space.
		start := i
		if i < len(s) && s[i] == '\'' {
			for i++; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			i = min(i+1, len(s))
		} else {
			for ; i < len(s) && !isSpace(s[i]); i++ {
				if s[i] == '\\' {
					i++
				}
			}
			i = min(i, len(s))
		}
		if secretName(key) {
			b.WriteString("xxxxx")
		} else {
			b.WriteString(s[start:i])
		}
	}
	return b.String()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// secretName reports whether a connection parameter's name says that its
// value is a secret.
func secretName(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"pass", "secret", "token", "key", "auth"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
