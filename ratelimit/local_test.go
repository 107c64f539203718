package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

func TestLocalBucket(t *testing.T) {
	// Two requests a second, burst of three: refilling a whole burst takes 1.5 s.
	l := newLocal(2, 3, 10, 1500*time.Millisecond)
	t0 := time.Date(2025, 4, 14, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		at        time.Duration
		allowed   bool
		remaining int
		retry     time.Duration
	}{
		{0, true, 2, 0},
		{0, true, 1, 0},
		{0, true, 0, 0},
		{0, false, 0, 500 * time.Millisecond},
		{250 * time.Millisecond, false, 0, 250 * time.Millisecond},
		{500 * time.Millisecond, true, 0, 0},
		{1500 * time.Millisecond, true, 1, 0},
	}
	for i, s := range steps {
		d := l.allow("a", t0.Add(s.at))
		if d.allowed != s.allowed || d.remaining != s.remaining || d.retryAfter.Round(time.Millisecond) != s.retry {
			t.Errorf("step %d at %s: got allowed %v remaining %d retry %s, want %v %d %s",
				i, s.at, d.allowed, d.remaining, d.retryAfter, s.allowed, s.remaining, s.retry)
		}
	}
	if d := l.allow("b", t0); !d.allowed || d.remaining != 2 {
		t.Errorf("other key: got allowed %v remaining %d, want true 2", d.allowed, d.remaining)
	}
}

func TestLocalBoundAndSweep(t *testing.T) {
	l := newLocal(1, 1, 5, time.Second)
	t0 := time.Date(2025, 4, 14, 12, 0, 0, 0, time.UTC)
	for i := range 50 {
		l.allow("k"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Millisecond))
		if n := l.len(); n > 5 {
			t.Fatalf("after %d keys: got %d buckets, want at most 5", i+1, n)
		}
	}
	if n := l.sweep(t0.Add(time.Second)); n != 0 {
		t.Errorf("sweep before idle: got %d dropped, want 0", n)
	}
	if n := l.sweep(t0.Add(2 * time.Second)); n != 5 {
		t.Errorf("sweep after idle: got %d dropped, want 5", n)
	}
	if n := l.len(); n != 0 {
		t.Errorf("after sweep: got %d buckets, want 0", n)
	}
}

func TestCloseStopsSweeper(t *testing.T) {
	l := New(Config{SweepInterval: time.Millisecond}, nil, nil)
	l.local.allow("a", time.Now().Add(-time.Hour))
	deadline := time.Now().Add(2 * time.Second)
	for l.local.len() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := l.local.len(); n != 0 {
		t.Errorf("sweeper: got %d buckets left, want 0", n)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
