package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestLimitListener opens real TCP connections, from 127.0.0.1 and
// 127.0.0.2 (both loopback on Linux), one after the other, and checks which
// the listener hands to the server and which it closes at once; then that a
// closed connection frees its slot, once however often it is closed.
func TestLimitListener(t *testing.T) {
	tests := []struct {
		name             string
		perClient, total int
		from             []string // source address of each connection, in order
		want             []bool   // whether each is accepted
	}{
		{"no caps", 0, 0,
			[]string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"}, []bool{true, true, true, true}},
		{"per client", 2, 0,
			[]string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2", "127.0.0.2"},
			[]bool{true, true, false, true, true, false}},
		{"in all", 0, 3,
			[]string{"127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.2"}, []bool{true, true, true, false}},
		{"both", 2, 3,
			[]string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"},
			[]bool{true, true, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			lim := newLimitListener(ln, tt.perClient, tt.total, 64, slog.New(slog.DiscardHandler))
			t.Cleanup(func() { _ = lim.Close() })
			accepted := make(chan net.Conn, len(tt.from))
			go func() {
				for {
					c, err := lim.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			var server []net.Conn
			t.Cleanup(func() {
				for _, c := range server {
					_ = c.Close()
				}
			})
			for i, from := range tt.from {
				c := dialFrom(t, from, ln.Addr().String())
				got := isAccepted(t, c, accepted)
				if got.conn != nil {
					server = append(server, got.conn)
				}
				if got.ok != tt.want[i] {
					t.Fatalf("connection %d from %s: got accepted %v, want %v", i, from, got.ok, tt.want[i])
				}
			}
			if got, want := lim.Open(), len(server); got != want {
				t.Errorf("Open: got %d, want %d", got, want)
			}
			if tt.perClient == 0 && tt.total == 0 {
				return
			}
			// A closed connection gives its slot back, once: closing it
			// again must not free a second one.
			first := server[0]
			from := first.RemoteAddr().(*net.TCPAddr).IP.String()
			_ = first.Close()
			_ = first.Close()
			server = server[1:]
			c := dialFrom(t, from, ln.Addr().String())
			if got := isAccepted(t, c, accepted); !got.ok {
				t.Fatalf("a connection from %s after one of its own closed: refused, want accepted", from)
			} else {
				server = append(server, got.conn)
			}
			c = dialFrom(t, from, ln.Addr().String())
			if got := isAccepted(t, c, accepted); got.ok {
				server = append(server, got.conn)
				t.Fatalf("a second connection from %s after one closed twice: accepted, want refused", from)
			}
		})
	}
}

// dialFrom opens a TCP connection from the local address from to addr. It
// returns nil when the connection was reset while it was being opened: the
// listener refused it so fast.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type acceptance struct {
	ok   bool
	conn net.Conn // the server's side, when accepted
}

// isAccepted waits until the listener hands out client's connection or the
// server closes it: a refused connection reads EOF or a reset at once, if it
// was opened at all (client is nil if not).
func isAccepted(t *testing.T, client net.Conn, accepted <-chan net.Conn) acceptance {
	t.Helper()
	if client == nil {
		select {
		case c := <-accepted:
			t.Fatalf("accepted %s although the client saw a reset", c.RemoteAddr())
		case <-time.After(50 * time.Millisecond):
		}
		return acceptance{}
	}
	closed := make(chan error, 1)
	go func() {
		_ = client.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err := client.Read(make([]byte, 1))
		closed <- err
	}()
	select {
	case c := <-accepted:
		if c.RemoteAddr().String() != client.LocalAddr().String() {
			t.Fatalf("accepted %s, want %s", c.RemoteAddr(), client.LocalAddr())
		}
		return acceptance{ok: true, conn: c}
	case err := <-closed:
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("connection neither accepted nor closed within 3s")
		}
		if !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("refused connection: read got %v, want EOF or a reset", err)
		}
		return acceptance{}
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func TestLimitListenerClientKey(t *testing.T) {
	lim := newLimitListener(nil, 1, 0, 64, slog.New(slog.DiscardHandler))
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 1}, "2001:db8:1:2::"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::1"), Port: 1}, "2001:db8:1:2::"},
		{&net.UnixAddr{Name: "/tmp/s", Net: "unix"}, "invalid IP"},
	}
	for _, tt := range tests {
		if got := lim.client(tt.addr).String(); got != tt.want {
			t.Errorf("client(%s): got %s, want %s", tt.addr, got, tt.want)
		}
	}
	if lim.client(tests[2].addr) != lim.client(tests[3].addr) {
		t.Error("two addresses of one /64: got two clients, want one")
	}
	if lim.client(tests[0].addr) != netip.MustParseAddr("192.0.2.7") {
		t.Error("IPv4 client: got another key")
	}
}
