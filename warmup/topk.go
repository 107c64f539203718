package warmup

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// TopK counts keys and keeps the most frequent ones in bounded memory: at
// most size keys, whatever the number of distinct keys added. It is the
// Space-Saving algorithm (Metwally et al., 2005): a key not yet counted
// takes the place of the least counted one when the table is full, starting
// from that one's count, so a frequent key is never lost and a count
// overestimates by at most the count it started from. Counts decay, halving
// every half-life, so the top follows what is asked now rather than what
// was asked since the start. It is safe for concurrent use.
type TopK struct {
	mu       sync.Mutex
	size     int
	halfLife time.Duration
	now      func() time.Time // time.Now; tests set it
	decayed  time.Time        // when the counts were last decayed
	index    map[string]*counter
	heap     []*counter // min-heap on n: heap[0] is the least counted key
}

type counter struct {
	key string
	n   float64
	at  int // index in heap
}

// NewTopK returns an empty TopK keeping at most size keys (at least 1)
// whose counts halve every halfLife; halfLife 0 means no decay.
func NewTopK(size int, halfLife time.Duration) *TopK {
	size = max(size, 1)
	return &TopK{
		size:     size,
		halfLife: halfLife,
		now:      time.Now,
		index:    make(map[string]*counter, size),
		heap:     make([]*counter, 0, size),
	}
}

// Add counts one occurrence of key. It takes bytes so that a caller can
// build the key in a buffer of its own: a key counted already costs no
// allocation, and a key kept is copied.
func (t *TopK) Add(key []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.decay()
	if c, ok := t.index[string(key)]; ok {
		c.n++
		t.down(c.at)
		return
	}
	if len(t.heap) < t.size {
		c := &counter{key: string(key), n: 1, at: len(t.heap)}
		t.heap = append(t.heap, c)
		t.index[c.key] = c
		t.up(c.at)
		return
	}
	// Evict the least counted key; the newcomer inherits its count.
	c := t.heap[0]
	delete(t.index, c.key)
	c.key = string(key)
	c.n++
	t.index[c.key] = c
	t.down(0)
}

// Top returns at most n keys, most counted first (ties in key order).
func (t *TopK) Top(n int) []string {
	t.mu.Lock()
	all := make([]counter, len(t.heap))
	for i, c := range t.heap {
		all[i] = *c
	}
	t.mu.Unlock()
	slices.SortFunc(all, func(a, b counter) int {
		if a.n != b.n {
			if a.n > b.n {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	n = min(max(n, 0), len(all))
	keys := make([]string, 0, n)
	for _, c := range all[:n] {
		keys = append(keys, c.key)
	}
	return keys
}

// Len returns the number of keys counted.
func (t *TopK) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.heap)
}

// count returns key's count, for tests.
func (t *TopK) count(key string) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.index[key]; ok {
		return c.n
	}
	return 0
}

// decay scales every count by the half-lives elapsed since the last decay.
// Scaling keeps the heap's order, so it needs no reordering. It runs at
// most once a tenth of a half-life, so Add stays cheap.
func (t *TopK) decay() {
	if t.halfLife <= 0 {
		return
	}
	now := t.now()
	if t.decayed.IsZero() {
		t.decayed = now
		return
	}
	elapsed := now.Sub(t.decayed)
	if elapsed < t.halfLife/10 {
		return
	}
	t.decayed = now
	f := math.Exp2(-float64(elapsed) / float64(t.halfLife))
	for _, c := range t.heap {
		c.n *= f
	}
}

func (t *TopK) less(i, j int) bool { return t.heap[i].n < t.heap[j].n }

func (t *TopK) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.heap[i].at, t.heap[j].at = i, j
}

func (t *TopK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

func (t *TopK) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(t.heap) {
			return
		}
		m := l
		if r := l + 1; r < len(t.heap) && t.less(r, l) {
			m = r
		}
		if !t.less(m, i) {
			return
		}
		t.swap(i, m)
		i = m
	}
}
