package main

import (
	"testing"
	"time"
)

// TestWarmupSettings reads the warm-up settings and rejects bad ones.
func TestWarmupSettings(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(config) bool
	}{
		{"defaults", nil, func(c config) bool {
			return c.Warmup.Enabled && c.Warmup.Keys == 200 && c.Warmup.Timeout == time.Second && c.Warmup.Track >= 4*c.Warmup.Keys
		}},
		{"off", map[string]string{"KRIMSTAT_WARMUP": "off"}, func(c config) bool { return !c.Warmup.Enabled }},
		{"more keys, counted four times over", map[string]string{"KRIMSTAT_WARMUP_KEYS": "500", "KRIMSTAT_WARMUP_TIMEOUT": "2s"},
			func(c config) bool {
				return c.Warmup.Keys == 500 && c.Warmup.Track == 2000 && c.Warmup.Timeout == 2*time.Second
			}},
		{"concurrency", map[string]string{"KRIMSTAT_WARMUP_CONCURRENCY": "1"}, func(c config) bool { return c.Warmup.Concurrency == 1 }},
	}
	for _, tt := range tests {
		c, err := loadConfig(env(tt.env))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.check(c) {
			t.Errorf("%s: got %+v", tt.name, c.Warmup)
		}
	}
	for _, e := range []map[string]string{
		{"KRIMSTAT_WARMUP": "maybe"},
		{"KRIMSTAT_WARMUP_KEYS": "0"},
		{"KRIMSTAT_WARMUP_TIMEOUT": "0s"},
		{"KRIMSTAT_WARMUP_TIMEOUT": "soon"},
		{"KRIMSTAT_WARMUP_CONCURRENCY": "0"},
	} {
		if _, err := loadConfig(env(e)); err == nil {
			t.Errorf("%v: got no error, want one", e)
		}
	}
}
