package main

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// limitListener caps the connections the server holds open: per client and
// in all. A connection beyond either cap is closed (with a reset) as soon as
// it is accepted, before a byte of it is read, so that one client cannot take
// the file descriptors and idle sockets that the others need, and a flood of
// them costs the server no more than the accept.
//
// The client is the TCP peer: an IPv4 address, or the IPv6 network of
// v6Bits bits, since one subscriber usually holds a whole /64. Behind a load
// balancer or reverse proxy every connection comes from the proxy, so there
// the per-client cap must be off (0) or above what the proxy itself opens.
type limitListener struct {
	net.Listener
	perClient int // 0: no cap per client
	total     int // 0: no cap in all
	v6Bits    int
	log       *slog.Logger

	mu   sync.Mutex
	open map[netip.Addr]int
	n    int

	refusedClient atomic.Uint64
	refusedTotal  atomic.Uint64
	lastLog       atomic.Int64 // unix nanoseconds
}

// limitLogEvery spaces the log lines about refused connections: a flood would
// otherwise log once per connection. The counters carry the numbers.
const limitLogEvery = 10 * time.Second

// newLimitListener wraps ln with the caps; a cap of 0 is no cap.
func newLimitListener(ln net.Listener, perClient, total, v6Bits int, log *slog.Logger) *limitListener {
	return &limitListener{
		Listener:  ln,
		perClient: perClient,
		total:     total,
		v6Bits:    v6Bits,
		log:       log,
		open:      map[netip.Addr]int{},
	}
}

// Accept returns the next connection within the caps, closing those beyond.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := l.client(c.RemoteAddr())
		if reason := l.acquire(client); reason != "" {
			l.refuse(c, client, reason)
			continue
		}
		return &limitConn{Conn: c, release: func() { l.release(client) }}, nil
	}
}

// client returns the key a connection from addr counts against, or the zero
// Addr (counted in the total only) for a peer that is not an IP address.
func (l *limitListener) client(addr net.Addr) netip.Addr {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	a := tcp.AddrPort().Addr().Unmap()
	if a.Is6() && l.v6Bits > 0 && l.v6Bits < 128 {
		p, _ := a.Prefix(l.v6Bits)
		return p.Addr()
	}
	return a
}

// acquire counts a new connection of client, or returns why it may not open.
func (l *limitListener) acquire(client netip.Addr) (refused string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total > 0 && l.n >= l.total {
		return "total"
	}
	if l.perClient > 0 && client.IsValid() {
		if l.open[client] >= l.perClient {
			return "client"
		}
		l.open[client]++
	}
	l.n++
	return ""
}

func (l *limitListener) release(client netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.perClient > 0 && client.IsValid() {
		if l.open[client] <= 1 {
			delete(l.open, client)
		} else {
			l.open[client]--
		}
	}
}

// refuse closes c at once. A zero linger sends a reset and frees the socket
// without a TIME_WAIT on this side.
func (l *limitListener) refuse(c net.Conn, client netip.Addr, reason string) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	if reason == "total" {
		l.refusedTotal.Add(1)
	} else {
		l.refusedClient.Add(1)
	}
	now := time.Now().UnixNano()
	if last := l.lastLog.Load(); now-last >= int64(limitLogEvery) && l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn("connection refused: over the connection cap", "cap", reason, "client", client.String(),
			"max_per_client", l.perClient, "max_total", l.total,
			"refused_per_client", l.refusedClient.Load(), "refused_over_total", l.refusedTotal.Load())
	}
}

// Open returns the number of connections open now.
func (l *limitListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// limitConn gives its slot back when it is closed, once however often
// Close is called.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes the connection, as net/http does with a
// *net.TCPConn after an error reply, so that the client reads the reply
// before the connection goes.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
