package ratelimit_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/krimstat/krimstat/ratelimit"
)

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := ratelimit.ParsePrefixes(s)
	if err != nil {
		t.Fatalf("ParsePrefixes(%q): %v", s, err)
	}
	return p
}

func TestClientIP(t *testing.T) {
	proxies := "10.0.0.0/8, 192.168.1.7, fd00::/8"
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted string
		want    string
	}{
		{"no proxies", "203.0.113.9:5000", nil, "", "203.0.113.9"},
		{"no proxies ignores XFF", "203.0.113.9:5000", []string{"198.51.100.1"}, "", "203.0.113.9"},
		{"untrusted peer spoofing XFF", "203.0.113.9:5000", []string{"10.1.2.3, 198.51.100.1"}, proxies, "203.0.113.9"},
		{"trusted proxy, one hop", "10.0.0.5:443", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"trusted proxy, client-supplied junk on the left", "10.0.0.5:443", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"chain of trusted proxies", "10.0.0.5:443", []string{"6.6.6.6, 198.51.100.1, 192.168.1.7, 10.9.9.9"}, proxies, "198.51.100.1"},
		{"chain over several header lines", "10.0.0.5:443", []string{"6.6.6.6, 198.51.100.1", "192.168.1.7"}, proxies, "198.51.100.1"},
		{"all hops trusted", "10.0.0.5:443", []string{"10.1.1.1, 10.2.2.2"}, proxies, "10.1.1.1"},
		{"trusted proxy without XFF", "10.0.0.5:443", nil, proxies, "10.0.0.5"},
		{"garbage hop stops the walk", "10.0.0.5:443", []string{"198.51.100.1, bogus, 10.3.3.3"}, proxies, "10.3.3.3"},
		{"empty hop stops the walk", "10.0.0.5:443", []string{"198.51.100.1,"}, proxies, "10.0.0.5"},
		{"hop with port", "10.0.0.5:443", []string{"198.51.100.1:4711"}, proxies, "198.51.100.1"},
		{"IPv6 peer", "[2001:db8::1]:5000", nil, "", "2001:db8::1"},
		{"IPv6 peer with zone", "[fe80::1%eth0]:5000", nil, "", "fe80::1"},
		{"IPv4-mapped IPv6 peer", "[::ffff:203.0.113.9]:5000", nil, "", "203.0.113.9"},
		{"IPv6 trusted proxy, IPv6 client", "[fd00::2]:443", []string{"2001:db8:1::7"}, proxies, "2001:db8:1::7"},
		{"IPv6 hop in brackets with port", "[fd00::2]:443", []string{"[2001:db8:1::7]:4711"}, proxies, "2001:db8:1::7"},
		{"IPv6 untrusted peer spoofing", "[2001:db8::1]:5000", []string{"10.0.0.1"}, proxies, "2001:db8::1"},
		{"single trusted address", "192.168.1.7:80", []string{"198.51.100.2"}, proxies, "198.51.100.2"},
		{"neighbour of a single trusted address", "192.168.1.8:80", []string{"198.51.100.2"}, proxies, "192.168.1.8"},
		{"loopback peer", "127.0.0.2:1234", nil, "", "127.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/regions", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, ok := ratelimit.ClientIP(r, mustPrefixes(t, tt.trusted))
			if !ok {
				t.Fatalf("ClientIP(%q): got not ok, want %s", tt.remote, tt.want)
			}
			if got.String() != tt.want {
				t.Errorf("ClientIP(%q, XFF %q): got %s, want %s", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestClientIPBadRemoteAddr(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "pipe"
	if got, ok := ratelimit.ClientIP(r, nil); ok {
		t.Errorf("ClientIP(%q): got %s, want not ok", r.RemoteAddr, got)
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		name   string
		prefix int
		remote string
		want   string
	}{
		{"IPv4", 0, "198.51.100.1:1", "198.51.100.1"},
		{"IPv6 grouped by /64", 0, "[2001:db8:1:2:3:4:5:6]:1", "2001:db8:1:2::/64"},
		{"IPv6 grouped by /56", 56, "[2001:db8:1:2ff:3:4:5:6]:1", "2001:db8:1:200::/56"},
		{"IPv6 per address", 128, "[2001:db8:1:2:3:4:5:6]:1", "2001:db8:1:2:3:4:5:6"},
		{"unparseable peer", 0, "pipe", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ratelimit.New(ratelimit.Config{IPv6PrefixLen: tt.prefix}, nil, nil)
			defer l.Close()
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if got := l.Key(r); got != tt.want {
				t.Errorf("Key(%q): got %q, want %q", tt.remote, got, tt.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	got := mustPrefixes(t, " 10.1.2.3/8,192.168.0.1 ::ffff:172.16.0.1\tfd00::/8 ")
	want := []string{"10.0.0.0/8", "192.168.0.1/32", "172.16.0.1/32", "fd00::/8"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d: got %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8,nope"} {
		if _, err := ratelimit.ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q): got no error, want one", bad)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		per  time.Duration
		fail bool
	}{
		{"600/m", 600, time.Minute, false},
		{"10/s", 10, time.Second, false},
		{" 36000 / h ", 36000, time.Hour, false},
		{"100/10s", 100, 10 * time.Second, false},
		{"600", 0, 0, true},
		{"0/m", 0, 0, true},
		{"-5/m", 0, 0, true},
		{"5/fortnight", 0, 0, true},
		{"5/-1s", 0, 0, true},
	}
	for _, tt := range tests {
		n, per, err := ratelimit.ParseRate(tt.in)
		if (err != nil) != tt.fail {
			t.Errorf("ParseRate(%q): got error %v, want failure %v", tt.in, err, tt.fail)
			continue
		}
		if n != tt.n || per != tt.per {
			t.Errorf("ParseRate(%q): got %d/%s, want %d/%s", tt.in, n, per, tt.n, tt.per)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := (ratelimit.Config{}).Validate(); err != nil {
		t.Errorf("zero Config: got %v, want nil", err)
	}
	bad := []ratelimit.Config{
		{Rate: -1}, {Burst: -1}, {Period: -time.Second}, {IPv6PrefixLen: 129},
		{RedisTimeout: -1}, {MaxLocalKeys: -1},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v): got nil, want an error", c)
		}
	}
}
