package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
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
	}
	for _, d := range durations {
		if err := parseDuration(getenv, d.name, d.dst); err != nil {
			return c, err
		}
	}
	return c, nil
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
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + ":***@" + rest[at+1:]
}
