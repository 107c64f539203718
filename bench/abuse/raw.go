package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The raw classes hold sockets in ways net/http's client never would: they
// do not read, do not finish, or do nothing at all.

// count records a raw request's outcome; raw requests have no latency that
// competes for the slowest.
func (t *tally) count(status string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	t.statuses[status]++
}

// rawDialer dials from the attacker's address.
func (h *harness) rawDialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: h.cfg.attacker}, Timeout: 5 * time.Second}
}

// smallReceiveBuffer shrinks a socket's receive buffer before it connects,
// so that the window it advertises is small and an unread response stays
// in the server's memory instead of in this machine's kernel.
func smallReceiveBuffer(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	if err != nil {
		return err
	}
	return serr
}

// openAll opens up to n connections, 64 at a time, and runs start on each;
// it returns those that opened and started. Failures are counted.
func (h *harness) openAll(ctx context.Context, until time.Time, d *net.Dialer, n int, start func(i int, c net.Conn) error, t *tally) []net.Conn {
	var mu sync.Mutex
	var conns []net.Conn
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil || time.Now().After(until) {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := d.DialContext(ctx, "tcp", h.cfg.host)
			if err != nil {
				t.count(errKind(err))
				return
			}
			if err := start(i, c); err != nil {
				c.Close()
				t.count(errKind(err))
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	return conns
}

// slowReaders asks on many connections for large uncached bodies and reads
// none of them until the window closes; then it reads each status line (the
// start of what the server managed to send) and closes.
func (h *harness) slowReaders(ctx context.Context, until time.Time, t *tally) func() {
	d := h.rawDialer()
	d.Control = smallReceiveBuffer
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	reqs := make([]string, h.cfg.slowConns)
	for i := range reqs {
		q := wide(r, i)
		reqs[i] = "GET " + q.path + " HTTP/1.1\r\nHost: " + h.cfg.host + "\r\n\r\n"
	}
	conns := h.openAll(ctx, until, d, len(reqs), func(i int, c net.Conn) error {
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err := io.WriteString(c, reqs[i])
		return err
	}, t)
	t.note("%d of %d connections sent their request", len(conns), len(reqs))
	sleep(ctx, time.Until(until))
	return func() {
		var wg sync.WaitGroup
		deadline := time.Now().Add(2 * time.Second)
		for _, c := range conns {
			wg.Go(func() {
				defer c.Close()
				_ = c.SetReadDeadline(deadline)
				line, err := bufio.NewReaderSize(c, 256).ReadString('\n')
				t.count(statusOf(line, err))
			})
		}
		wg.Wait()
	}
}

// statusOf reads the code of an HTTP/1.1 status line; "none" when the
// server sent nothing, "closed" when it hung up.
func statusOf(line string, err error) string {
	if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
		return f[1]
	}
	if err == io.EOF {
		return "closed"
	}
	return "none"
}

// idleConns opens as many keep-alive connections as it can, each used once
// for a cheap request, and leaves them idle for the window.
func (h *harness) idleConns(ctx context.Context, until time.Time, t *tally) func() {
	conns := h.openAll(ctx, until, h.rawDialer(), h.cfg.idleConns, func(_ int, c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+h.cfg.host+"\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		t.count(strconv.Itoa(resp.StatusCode))
		if resp.Close {
			return errClosedByServer
		}
		return c.SetDeadline(time.Time{})
	}, t)
	t.note("%d of %d connections open and idle", len(conns), h.cfg.idleConns)
	sleep(ctx, time.Until(until))
	return func() {
		// A read that times out finds the connection still open; one that
		// returns at once finds it closed by the server.
		var open sync.WaitGroup
		var mu sync.Mutex
		still := 0
		for _, c := range conns {
			open.Go(func() {
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				_, err := c.Read(make([]byte, 1))
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					mu.Lock()
					still++
					mu.Unlock()
				}
			})
		}
		open.Wait()
		t.note("%d still open when the window closed", still)
	}
}

// errClosedByServer is a connection the server would not keep alive.
var errClosedByServer = errors.New("the server closed the connection")

// chunkedGet sends GETs that announce a chunked body and never send a
// chunk, and times how long the server takes to answer each.
func (h *harness) chunkedGet(ctx context.Context, until time.Time, t *tally) func() {
	d := h.rawDialer()
	var mu sync.Mutex
	var answers []time.Duration
	var wg sync.WaitGroup
	for range h.cfg.conc {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(until) {
				c, err := d.DialContext(ctx, "tcp", h.cfg.host)
				if err != nil {
					t.count(errKind(err))
					sleep(ctx, 100*time.Millisecond)
					continue
				}
				start := time.Now()
				_ = c.SetDeadline(start.Add(h.cfg.chunkWait))
				code, err := chunkedExchange(c, h.cfg.host)
				took := time.Since(start)
				c.Close()
				if err != nil {
					t.count(errKind(err))
					continue
				}
				t.count(strconv.Itoa(code))
				mu.Lock()
				answers = append(answers, took)
				mu.Unlock()
			}
		})
	}
	sleep(ctx, time.Until(until))
	return func() {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(answers) == 0 {
			t.note("no answer within %s", h.cfg.chunkWait)
			return
		}
		t.note("answered after %s ms at the median, %s ms at most (%d answers)",
			ms(percentile(answers, 50)), ms(percentile(answers, 100)), len(answers))
	}
}

func chunkedExchange(c net.Conn, host string) (int, error) {
	_, err := io.WriteString(c, "GET /v1/offences HTTP/1.1\r\nHost: "+host+"\r\nTransfer-Encoding: chunked\r\n\r\n")
	if err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
