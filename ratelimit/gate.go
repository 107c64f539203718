package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/problem"
)

// GateConfig caps the requests in flight. A request holds its place until
// its response is written, so the caps also bound what slow readers can
// pin: a client that never reads its responses holds at most PerClient of
// them.
type GateConfig struct {
	// PerClient caps one client's requests in flight (default 8); a
	// request beyond it waits up to a second for a place, then gets 429.
	PerClient int
	// Total caps all requests in flight (default 256); beyond it every
	// client gets 503.
	Total int
	// What names what is counted, in refusals (default "requests in
	// flight"); a gate after the cache counts "uncached requests being
	// computed".
	What string
	// TrustedProxies and IPv6PrefixLen identify clients as the Limiter does.
	TrustedProxies []netip.Prefix
	IPv6PrefixLen  int
}

// Defaults of GateConfig.
const (
	DefaultGatePerClient = 8
	DefaultGateTotal     = 256
)

// Problem type URIs of the gate's refusals.
const (
	ProblemTooManyInFlight = problem.TypeBase + "too-many-in-flight"
	ProblemOverloaded      = problem.TypeBase + "overloaded"
)

// WithDefaults returns c with zero fields set to the defaults.
func (c GateConfig) WithDefaults() GateConfig {
	if c.PerClient <= 0 {
		c.PerClient = DefaultGatePerClient
	}
	if c.Total <= 0 {
		c.Total = DefaultGateTotal
	}
	if c.IPv6PrefixLen <= 0 || c.IPv6PrefixLen > 128 {
		c.IPv6PrefixLen = DefaultIPv6PrefixLen
	}
	if c.What == "" {
		c.What = "requests in flight"
	}
	return c
}

// Gate counts requests in flight, per client and in all. Its map holds
// only clients with requests in flight or waiting, so its size is bounded
// by the connections the server accepts.
type Gate struct {
	cfg   GateConfig
	mu    sync.Mutex
	total int
	by    map[string]*slots
}

// slots are one client's places: a semaphore of PerClient, and the number
// of requests holding or waiting for one.
type slots struct {
	sem   chan struct{}
	users int
}

// gateWait is how long a request waits for one of its client's places
// before it is refused. A page that fires a burst of requests is served in
// turn instead of refused, and a client that floods waits instead of
// spinning: each of its connections gets at most one answer per wait.
const gateWait = time.Second

// NewGate returns a gate with cfg's caps.
func NewGate(cfg GateConfig) *Gate {
	cfg = cfg.WithDefaults()
	return &Gate{cfg: cfg, by: map[string]*slots{}}
}

// InFlight returns the number of requests in flight.
func (g *Gate) InFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// enter takes a place for client, waiting up to gateWait for one of the
// client's; it returns the status to refuse with, or 0 when admitted.
func (g *Gate) enter(ctx context.Context, client string) (*slots, int) {
	g.mu.Lock()
	if g.total >= g.cfg.Total {
		g.mu.Unlock()
		return nil, http.StatusServiceUnavailable
	}
	s := g.by[client]
	if s == nil {
		s = &slots{sem: make(chan struct{}, g.cfg.PerClient)}
		g.by[client] = s
	}
	s.users++
	g.mu.Unlock()

	select {
	case s.sem <- struct{}{}:
	default:
		t := time.NewTimer(gateWait)
		defer t.Stop()
		select {
		case s.sem <- struct{}{}:
		case <-t.C:
			g.release(client, s, false)
			return nil, http.StatusTooManyRequests
		case <-ctx.Done():
			g.release(client, s, false)
			return nil, http.StatusTooManyRequests
		}
	}
	g.mu.Lock()
	g.total++
	g.mu.Unlock()
	return s, 0
}

// release gives up a client's claim on s, and its place when it held one.
func (g *Gate) release(client string, s *slots, held bool) {
	if held {
		<-s.sem
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if held {
		g.total--
	}
	if s.users--; s.users == 0 {
		delete(g.by, client)
	}
}

// Middleware admits a request when the server has room and its client has
// a place (waiting up to a second for one), and holds the place until the
// rest of the chain has written the response. Refusals are problems with
// Retry-After: 1, since a place frees as soon as a response is written.
func (g *Gate) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		client := clientKey(c.Request, g.cfg.TrustedProxies, g.cfg.IPv6PrefixLen)
		s, status := g.enter(c.Request.Context(), client)
		if status == 0 {
			defer g.release(client, s, true)
			c.Next()
			return
		}
		p := problem.Problem{
			Type:      ProblemTooManyInFlight,
			Title:     "Too many requests in flight",
			Status:    status,
			Detail:    fmt.Sprintf("this client has %d %s, the most allowed; wait for an answer before asking again", g.cfg.PerClient, g.cfg.What),
			Instance:  c.Request.URL.RequestURI(),
			RequestID: problem.RequestID(c.Writer.Header()),
		}
		if status == http.StatusServiceUnavailable {
			p.Type, p.Title = ProblemOverloaded, "Server busy"
			p.Detail = fmt.Sprintf("the server has %d %s, the most it takes; retry in a second", g.cfg.Total, g.cfg.What)
		}
		c.Writer.Header().Set("Retry-After", strconv.Itoa(1))
		problem.Write(c.Writer, p)
		c.Abort()
	}
}
