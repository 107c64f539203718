package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// class is one kind of attack. An HTTP class describes its requests (gen,
// given a random source and the request's number) and the harness sends
// them; a raw class drives its own sockets until the deadline and returns
// what to do once the server has been read (close what it holds).
type class struct {
	name string
	what string
	gen  func(r *rand.Rand, n int) req
	raw  func(ctx context.Context, until time.Time, t *tally) (cleanup func())
}

// classes lists the attacks in the order they run. The generators read
// what setup learned when they are called, not when they are made.
func (h *harness) classes() []class {
	return []class{
		{name: "long-lists", what: fmt.Sprintf("GET /v1/observations?format=csv with a citizenship= or region= list of distinct random 5-letter values filling a %d-byte request line", h.cfg.line),
			gen: h.longList(h.cfg.line)},
		{name: "long-lists-max", what: fmt.Sprintf("as long-lists, with a %d-byte request line, the most the server's header limit lets through", h.cfg.maxLine),
			gen: h.longList(h.cfg.maxLine)},
		{name: "key-flood", what: "new spellings of one wide query (limit=0…010000, from=+…2003, region= permuted with a duplicate, release=<current>), " +
			"a new Accept text per request (~230 chars, cacheable, and ~310, uncacheable), links.next cursors re-spelt (whitespace, key order, duplicate keys, key case, trailing bytes)",
			gen: h.keyFlood},
		{name: "memo-flood", what: "unique long requests for the request-to-key memo: an unknown 6 KB parameter (400), region= permutations with an Accept padded by 6 KB of whitespace, /v1/offences with such an Accept",
			gen: h.memoFlood},
		{name: "wide", what: "GET /v1/observations?limit=10000 as json, csv and jsonstat, with and without gzip, random from/to (year or month) so each is uncached",
			gen: wide},
		{name: "long-accept", what: "the same wide request every time with a valid Accept of ~310 chars, which makes it uncacheable",
			gen: longAccept},
		{name: "cite", what: "GET /v1/cite for every region, the same request every time (citations are never cached)",
			gen: h.cite},
		{name: "big-headers", what: "GET /v1/offences (cached) with 100 random headers, ~14 KB",
			gen: bigHeaders},
		{name: "slow-readers", what: fmt.Sprintf("%d connections (4 KB receive buffer) each send one uncached wide request and never read the answer; held for the window, then closed", h.cfg.slowConns),
			raw: h.slowReaders},
		{name: "swagger", what: "the Swagger UI page, its JS and CSS and /swagger/doc.json, as fast as possible (Accept-Encoding: gzip)",
			gen: swagger},
		{name: "readyz", what: "GET /readyz as fast as possible",
			gen: func(*rand.Rand, int) req { return req{path: "/readyz"} }},
		{name: "idle-conns", what: fmt.Sprintf("up to %d keep-alive connections, each after one GET /healthz, left idle for the window", h.cfg.idleConns),
			raw: h.idleConns},
		{name: "chunked-get", what: fmt.Sprintf("%d connections at a time send GET /v1/offences with Transfer-Encoding: chunked and never a chunk; each waits up to %s for the answer", h.cfg.conc, h.cfg.chunkWait),
			raw: h.chunkedGet},
	}
}

// longList fills a request line of about line bytes with distinct values of
// one list parameter: citizenship (taken as given) or region (checked
// against the release only after the list is read).
func (h *harness) longList(line int) func(*rand.Rand, int) req {
	return func(r *rand.Rand, n int) req {
		prefix := "/v1/observations?format=csv&citizenship="
		if n%2 == 1 {
			prefix = "/v1/observations?format=csv&region="
		}
		var b strings.Builder
		b.WriteString(prefix)
		seen := map[string]bool{}
		// "GET " and " HTTP/1.1" complete the request line.
		for b.Len()+len("GET  HTTP/1.1")+6 <= line {
			v := word(r, 5)
			if seen[v] {
				continue
			}
			seen[v] = true
			if b.Len() > len(prefix) {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
		return req{path: b.String()}
	}
}

// widePath asks for every observation in one page: the largest body.
const widePath = "/v1/observations?limit=10000"

// keyFlood spells one wide query anew on every request, so that a cache
// keyed on the spelling stores a new multi-megabyte entry each time.
func (h *harness) keyFlood(r *rand.Rand, n int) req {
	switch n % 4 {
	case 1:
		// Under 256 characters once normalised: a cache key of its own.
		return req{path: widePath, header: hdr("Accept", "application/json, application/x-"+word(r, 200)+";q=0.1")}
	case 2:
		// Over 256: never cached, so recomputed on every request.
		return req{path: widePath, header: hdr("Accept", "application/json, application/x-"+word(r, 280)+";q=0.1")}
	case 3:
		if c, ok := respell(h.cursor, r); ok {
			return req{path: "/v1/observations?cursor=" + c + "&limit=10000"}
		}
	}
	var b strings.Builder
	b.WriteString("/v1/observations?limit=" + strings.Repeat("0", 1+r.IntN(64)) + "10000")
	if r.IntN(2) == 0 {
		// A + is a space, which the handler trims.
		b.WriteString("&from=" + strings.Repeat("+", r.IntN(32)) + "2003" + strings.Repeat("+", r.IntN(32)))
	}
	if h.release != "" && r.IntN(2) == 0 {
		b.WriteString("&release=" + h.release)
	}
	if len(h.regions) > 0 && r.IntN(2) == 0 {
		regs := shuffled(r, h.regions)
		regs = append(regs, regs[r.IntN(len(regs))])
		b.WriteString("&region=" + strings.Join(regs, ","))
	}
	return req{path: b.String()}
}

// respell decodes a links.next cursor and encodes the same position in
// another JSON spelling the server's decoder accepts.
func respell(cur string, r *rand.Rand) (string, bool) {
	if cur == "" {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return "", false
	}
	var c map[string]string
	if json.Unmarshal(b, &c) != nil || c["r"] == "" || c["a"] == "" {
		return "", false
	}
	rv, _ := json.Marshal(c["r"])
	av, _ := json.Marshal(c["a"])
	ws := func() string {
		var s strings.Builder
		for range r.IntN(9) {
			s.WriteByte(" \t\n\r"[r.IntN(4)])
		}
		return s.String()
	}
	var s string
	switch r.IntN(5) {
	case 0: // whitespace
		s = "{" + ws() + `"r"` + ws() + ":" + ws() + string(rv) + ws() + "," + ws() + `"a"` + ws() + ":" + string(av) + ws() + "}"
	case 1: // key order
		s = "{" + ws() + `"a":` + string(av) + "," + ws() + `"r":` + string(rv) + ws() + "}" + ws()
	case 2: // duplicate keys: the last one wins
		s = `{"r":"` + word(r, 8) + `","a":"` + word(r, 8) + `",` + ws() + `"r":` + string(rv) + `,"a":` + string(av) + "}"
	case 3: // trailing bytes after the object
		s = `{"r":` + string(rv) + `,"a":` + string(av) + "}" + ws() + word(r, 1+r.IntN(40))
	default: // key case
		s = "{" + ws() + `"R":` + string(rv) + "," + ws() + `"A":` + string(av) + ws() + "}"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s)), true
}

// memoFlood sends requests that are all different as text, the memo's key,
// though many mean the same query.
func (h *harness) memoFlood(r *rand.Rand, n int) req {
	// Whitespace inside the header survives the server's trimming and the
	// cache's normalisation ignores it: one cache key, many memo keys.
	accept := hdr("Accept", "application/json,"+blanks(r, 6000)+"*/*")
	switch n % 3 {
	case 0:
		return req{path: "/v1/observations?offence=sex-purchase&x" + word(r, 8) + "=" + word(r, 6000)}
	case 1:
		if len(h.regions) > 0 {
			return req{path: "/v1/observations?offence=sex-purchase&region=" + strings.Join(shuffled(r, h.regions), ","), header: accept}
		}
	}
	return req{path: "/v1/offences", header: accept}
}

// wide asks for every observation, in a representation and a period range
// chosen at random, so that almost every request misses the cache.
func wide(r *rand.Rand, _ int) req {
	format := []string{"json", "csv", "jsonstat"}[r.IntN(3)]
	q := widePath + "&format=" + format + "&from=" + period(r, 2003) + "&to=" + period(r, 2014)
	if r.IntN(2) == 0 {
		return req{path: q, header: hdr("Accept-Encoding", "gzip")}
	}
	return req{path: q}
}

// longAccept names JSON among padding types, past the length the cache
// keys.
func longAccept(*rand.Rand, int) req {
	return req{path: widePath, header: hdr("Accept", "application/json, "+strings.Repeat("application/x-padding;q=0.1, ", 10)+"*/*;q=0.1")}
}

func (h *harness) cite(*rand.Rand, int) req {
	if len(h.regions) == 0 {
		return req{path: "/v1/cite?offence=sex-purchase"}
	}
	return req{path: "/v1/cite?region=" + strings.Join(h.regions, ",")}
}

func bigHeaders(r *rand.Rand, _ int) req {
	hd := http.Header{}
	for i := range 100 {
		hd.Set(fmt.Sprintf("X-Pad-%03d", i), word(r, 130))
	}
	return req{path: "/v1/offences", header: hd}
}

// swaggerPaths are what a browser loads for the Swagger UI, and the spec
// the UI's default configuration asks for.
var swaggerPaths = []string{
	"/swagger/index.html",
	"/swagger/swagger-ui-bundle.js",
	"/swagger/swagger-ui.css",
	"/swagger/swagger-ui-standalone-preset.js",
	"/swagger/doc.json",
}

func swagger(_ *rand.Rand, n int) req {
	return req{path: swaggerPaths[n%len(swaggerPaths)], header: hdr("Accept-Encoding", "gzip")}
}

func hdr(name, value string) http.Header { return http.Header{name: {value}} }

// word returns n random lower-case letters.
func word(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// blanks returns n random spaces and tabs.
func blanks(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = " \t"[r.IntN(2)]
	}
	return string(b)
}

func shuffled(r *rand.Rand, s []string) []string {
	out := slices.Clone(s)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// period returns a year from first to first+9, or a month of it.
func period(r *rand.Rand, first int) string {
	y := first + r.IntN(10)
	if m := r.IntN(13); m > 0 {
		return fmt.Sprintf("%d-%02d", y, m)
	}
	return strconv.Itoa(y)
}
