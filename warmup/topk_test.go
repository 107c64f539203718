package warmup

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestTopKBounded: however many distinct keys are added, at most size are
// kept, and keys added far more often than the rest survive the churn.
func TestTopKBounded(t *testing.T) {
	top := NewTopK(16, 0)
	hot := []string{"hot-a", "hot-b", "hot-c"}
	for i := range 10000 {
		top.Add(fmt.Appendf(nil, "cold-%d", i))
		if i%10 == 0 {
			for _, k := range hot {
				top.Add([]byte(k))
			}
		}
	}
	if got := top.Len(); got != 16 {
		t.Errorf("keys kept: got %d, want 16", got)
	}
	got := top.Top(3)
	slices.Sort(got)
	if !slices.Equal(got, hot) {
		t.Errorf("top 3: got %v, want %v", got, hot)
	}
}

// TestTopKOrder: Top lists the most counted keys first, ties in key order,
// and at most n of them.
func TestTopKOrder(t *testing.T) {
	top := NewTopK(10, 0)
	for k, n := range map[string]int{"a": 3, "b": 5, "c": 1, "d": 5, "e": 2} {
		for range n {
			top.Add([]byte(k))
		}
	}
	tests := []struct {
		n    int
		want []string
	}{
		{-1, []string{}},
		{0, []string{}},
		{2, []string{"b", "d"}},
		{4, []string{"b", "d", "a", "e"}},
		{100, []string{"b", "d", "a", "e", "c"}},
	}
	for _, tt := range tests {
		if got := top.Top(tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("Top(%d): got %v, want %v", tt.n, got, tt.want)
		}
	}
}

// TestTopKEviction: a new key takes the least counted one's place and
// inherits its count, so it is not evicted again at once.
func TestTopKEviction(t *testing.T) {
	top := NewTopK(2, 0)
	for range 3 {
		top.Add([]byte("a"))
	}
	top.Add([]byte("b"))
	top.Add([]byte("c")) // evicts b (1), counts 2
	if got := top.Top(2); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("after eviction: got %v, want [a c]", got)
	}
	if got := top.count("c"); got != 2 {
		t.Errorf("count of c: got %v, want 2 (b's 1 and its own)", got)
	}
	if got := top.count("b"); got != 0 {
		t.Errorf("count of b: got %v, want 0 (evicted)", got)
	}
}

// TestTopKDecay: counts halve every half-life, so a key asked often long
// ago falls behind one asked less often now.
func TestTopKDecay(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	top := NewTopK(8, time.Minute)
	top.now = func() time.Time { return now }
	for range 100 {
		top.Add([]byte("old"))
	}
	now = now.Add(3 * time.Minute)
	for range 20 {
		top.Add([]byte("new"))
	}
	if got := top.count("old"); got != 12.5 {
		t.Errorf("count of old after three half-lives: got %v, want 12.5", got)
	}
	if got := top.count("new"); got != 20 {
		t.Errorf("count of new: got %v, want 20", got)
	}
	if got := top.Top(2); !slices.Equal(got, []string{"new", "old"}) {
		t.Errorf("top: got %v, want [new old]", got)
	}
	// Within a tenth of a half-life nothing decays.
	now = now.Add(time.Minute / 20)
	top.Add([]byte("new"))
	if got := top.count("new"); got != 21 {
		t.Errorf("count of new a moment later: got %v, want 21", got)
	}
}

// TestTopKNoDecay: a half-life of zero keeps counts as they are.
func TestTopKNoDecay(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	top := NewTopK(8, 0)
	top.now = func() time.Time { return now }
	top.Add([]byte("a"))
	now = now.Add(24 * time.Hour)
	top.Add([]byte("a"))
	if got := top.count("a"); got != 2 {
		t.Errorf("count: got %v, want 2", got)
	}
}

// TestTopKConcurrent adds from many goroutines (run with -race): every
// occurrence of a key that is never evicted is counted.
func TestTopKConcurrent(t *testing.T) {
	top := NewTopK(4, time.Hour)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 1000 {
				top.Add(fmt.Appendf(nil, "k%d", g%4))
			}
		})
	}
	wg.Wait()
	for k := range 4 {
		// Under a one-hour half-life a fast test sees no decay, or a
		// sliver of it.
		if got := top.count(fmt.Sprintf("k%d", k)); got < 1999 || got > 2000 {
			t.Errorf("count of k%d: got %v, want 2000", k, got)
		}
	}
}

// TestTarget: a request's target makes a request with the same key inputs.
func TestTarget(t *testing.T) {
	r, err := requestOf(t.Context(), "1\x00api.example\x00https\x00text/csv\x00nb\x00/v1/observations?region=NO,SE&b=%2F")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(appendTarget(nil, r)); got != "1\x00api.example\x00https\x00text/csv\x00nb\x00/v1/observations?region=NO,SE&b=%2F" {
		t.Errorf("round trip: got %q", got)
	}
	if r.Method != "GET" || r.Host != "api.example" || r.URL.Path != "/v1/observations" || r.Header.Get("Accept-Encoding") != "gzip" {
		t.Errorf("request: got %s %s %s, Accept-Encoding %q", r.Method, r.Host, r.URL, r.Header.Get("Accept-Encoding"))
	}
	if _, err := requestOf(t.Context(), "nonsense"); err == nil {
		t.Errorf("malformed target: got no error")
	}
}
