package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krimstat/krimstat/internal/testenv"
)

// proxy forwards TCP connections to a target and can be cut and restored,
// standing in for a database server that goes down and comes back.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// stop closes the listener and every open connection: the server is gone.
func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// start listens again on the same address: the server is back.
func (p *proxy) start() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// TestPostgresDown: with the database unreachable, cached responses are
// still served, uncached requests get 503 problem+json with Retry-After, and
// the API recovers by itself when the database is back.
func TestPostgresDown(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	loadBundled(t, dbURL)
	p := newProxy(t, "127.0.0.1:5432")
	proxied := strings.Replace(dbURL, "127.0.0.1:5432", p.addr, 1)
	if proxied == dbURL {
		t.Skipf("DATABASE_URL %q does not point at 127.0.0.1:5432", dbURL)
	}
	base, _, _ := startServe(t, map[string]string{"DATABASE_URL": proxied})

	cached := base + "/v1/observations?offence=sex-purchase&region=NO"
	uncached := base + "/v1/observations?offence=human-trafficking&region=NO"
	for i := 0; i < 2; i++ {
		if _, status := fetch(t, cached); status != 200 {
			t.Fatalf("warm-up: got %d", status)
		}
	}

	p.stop()
	time.Sleep(1500 * time.Millisecond) // past the store's trust in its cached release

	if body, status := fetch(t, cached); status != 200 {
		t.Errorf("cached route with the database down: got %d %s, want 200", status, body)
	}
	resp, err := http.Get(uncached)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("uncached route with the database down: got %d %q Retry-After %q: %s; want 503 problem+json with Retry-After",
			resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), body)
	}
	if strings.Contains(string(body), "5432") || strings.Contains(string(body), p.addr) {
		t.Errorf("problem body leaks connection details: %s", body)
	}

	p.start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, status := fetch(t, uncached); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no recovery within 15 s of the database coming back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
