package main

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/ratelimit"
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
	}
	// Only these parameters take comma-separated lists; the cache splits
	// them so that region=NO,SE and region=NO&region=SE share an entry.
	c.Cache.ListParams = handlers.ListParams()
	// A new binary may render the same data differently: the revision is
	// part of every cache key and ETag.
	c.Cache.Revision = buildRevision()
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
	if err := c.Cache.Validate(); err != nil {
		return c, fmt.Errorf("cache configuration: %w", err)
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
	return c, nil
}

// representationVersion is bumped by hand whenever a change alters the bytes
// of a response for unchanged data, so that cached entries and ETags of the
// old representation are not served by the new binary.
const representationVersion = "r1"

// buildRevision identifies the binary's output: the representation version
// plus the VCS revision when the build recorded one.
func buildRevision() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return representationVersion + "-" + s.Value
			}
		}
	}
	return representationVersion
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

// masked hides the password of a connection URL for logging.
func masked(url string) string {
	if url == "" {
		return ""
	}
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return "***"
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return url
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return url
	}
	return scheme + "://" + user + ":***@" + rest[at+1:]
}
