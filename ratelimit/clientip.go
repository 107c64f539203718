package ratelimit

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ClientIP returns the address of the client behind r. It is the TCP peer
// (r.RemoteAddr) unless the peer is one of the trusted proxies; then it is the
// right-most address of the X-Forwarded-For chain that is not itself a
// trusted proxy. Addresses left of that one were written by the client or by
// proxies we cannot vouch for, so they are never believed. When the chain
// runs out or holds garbage, the last address we could vouch for is used.
// The result is unmapped (::ffff:1.2.3.4 becomes 1.2.3.4) and has no zone;
// ok is false when RemoteAddr is not an address at all.
func ClientIP(r *http.Request, trusted []netip.Prefix) (addr netip.Addr, ok bool) {
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if !isTrusted(peer, trusted) {
		return peer, true
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	// Header lines are one list in order (RFC 9110, 5.3): walk them, and the
	// entries within each, from the right.
	for i := len(values) - 1; i >= 0; i-- {
		parts := strings.Split(values[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			hop, ok := parseHost(strings.TrimSpace(parts[j]))
			if !ok {
				return client, true
			}
			client = hop
			if !isTrusted(hop, trusted) {
				return client, true
			}
		}
	}
	return client, true
}

// parseHost reads an address with or without a port, as found in RemoteAddr
// and, from some proxies, in X-Forwarded-For.
func parseHost(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParsePrefixes reads a comma- or space-separated list of CIDRs or single
// addresses, as an operator writes it in an environment variable
// ("10.0.0.0/8, 192.168.1.7, fd00::/8"). A bare address is its own /32 or
// /128.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ParseRate reads a rate as an operator writes it: "600/m", "10/s",
// "36000/h" or with any duration after the slash ("100/10s").
func ParseRate(s string) (n int, per time.Duration, err error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("rate %q: want requests/period such as 600/m", s)
	}
	n, err = strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("rate %q: want a positive number of requests", s)
	}
	switch unit = strings.TrimSpace(unit); unit {
	case "s":
		per = time.Second
	case "m", "min":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		per, err = time.ParseDuration(unit)
		if err != nil || per <= 0 {
			return 0, 0, fmt.Errorf("rate %q: want a period of s, m, h or a duration such as 10s", s)
		}
	}
	return n, per, nil
}
