// Package httpcache is a response cache for GET and HEAD routes, as Gin
// middleware over a cache.Tiered. It keys responses by data release, path,
// canonical query, format and encoding; serves them with strong ETags,
// Cache-Control (for browsers and for shared caches in front), Last-Modified,
// Vary and surrogate keys naming the release and route; answers If-None-Match
// and If-Modified-Since with 304; and compresses large bodies with gzip once,
// when they are stored. The handlers below it write ordinary responses and
// never learn whether they were cached.
package httpcache

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/gin-gonic/gin"
	"github.com/krimstat/krimstat/cache"
	"github.com/redis/go-redis/v9"
)

// Config configures the cache tiers and the middleware. The zero value is not
// useful; start from DefaultConfig.
type Config struct {
	Enabled       bool          // serve through the cache at all (KRIMSTAT_CACHE)
	LocalEnabled  bool          // keep responses in process memory (KRIMSTAT_CACHE_LOCAL)
	LocalMaxBytes int64         // bound of the in-process tier (KRIMSTAT_CACHE_MB)
	TTL           time.Duration // life of an entry in either tier (KRIMSTAT_CACHE_TTL)
	RedisTimeout  time.Duration // deadline of one Redis call (KRIMSTAT_REDIS_TIMEOUT)
	RedisPrefix   string        // prefix of every Redis key
	MaxAge        time.Duration // max-age of Cache-Control, whole seconds (KRIMSTAT_MAX_AGE)
	CompressMin   int           // smallest body worth compressing, in bytes
	// MaxEntryBytes bounds one stored entry (head and body, compressed
	// where the client accepts gzip) in every tier; a larger response is
	// served but not stored (KRIMSTAT_CACHE_MAX_ENTRY_KB).
	MaxEntryBytes int
	// StreamAfter is the most of a computed body held in memory: a body
	// that grows past it is sent as it is written and not stored, so a
	// whole-file download never sits in memory. It is larger than
	// MaxEntryBytes because stored bodies are gzipped first.
	StreamAfter int
	// MemoBytes bounds each in-process memo (request to key, key to
	// decoded head) by the bytes of its entries.
	MemoBytes int64

	// SharedMaxAge is the s-maxage of Cache-Control: how long a shared
	// cache (a CDN, nginx) may serve a response without asking again,
	// which bounds how long it serves the previous release after a new
	// one is loaded. Whole seconds (KRIMSTAT_SHARED_MAX_AGE).
	SharedMaxAge time.Duration
	// StaleWhileRevalidate and StaleIfError are the RFC 5861 directives:
	// how long past its age a response may still be served while a cache
	// fetches the new one in the background, and while the API fails or
	// is unreachable. Whole seconds; zero leaves the directive out
	// (KRIMSTAT_STALE_WHILE_REVALIDATE, KRIMSTAT_STALE_IF_ERROR).
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration

	// RequestKey, when set, returns the part of the key that stands for
	// the request besides its path and release: its canonical query and
	// the format it negotiates, given the route's pattern (gin's FullPath)
	// and the current release; false means the request is not to be
	// cached. Handlers know what a request means; without RequestKey, the
	// query is canonicalised by CanonicalQuery and the format by Negotiate.
	// It may read the request's Host, path, query and the headers Accept,
	// Accept-Language and X-Forwarded-Proto, which the memo of keys is
	// keyed on; a key that reads anything else would be memoised wrongly.
	RequestKey func(r *http.Request, pattern, release string) (canonical, format string, ok bool)
	// Vary lists the request headers the key depends on, sent as Vary:
	// whatever RequestKey negotiates on must be in it.
	Vary string

	// ListParams names the query parameters whose values are lists, for
	// which region=NO,SE and region=NO&region=SE mean the same; nil treats
	// every parameter as one.
	ListParams []string

	// Revision is folded into every key and ETag. Set it to the build's
	// version, so that a release of the code that changes a representation
	// changes its ETag too.
	Revision string
}

// DefaultConfig returns the defaults: everything on, 64 MiB in process, one
// hour in the tiers, 50 ms per Redis call, five minutes for browsers, one
// minute for shared caches (plus a minute stale while they refresh, a day
// stale while the API is down), compression from 1 KiB, entries up to
// 512 KiB, 8 MiB per memo.
func DefaultConfig() Config {
	return Config{
		Enabled:       true,
		LocalEnabled:  true,
		LocalMaxBytes: 64 << 20,
		TTL:           time.Hour,
		RedisTimeout:  50 * time.Millisecond,
		RedisPrefix:   "krimstat:http:",
		MaxAge:        300 * time.Second,
		SharedMaxAge:  60 * time.Second,
		CompressMin:   1024,
		MaxEntryBytes: 512 << 10,
		Vary:          "Accept, Accept-Encoding",
		StreamAfter:   4 << 20,
		MemoBytes:     8 << 20,

		StaleWhileRevalidate: 60 * time.Second,
		StaleIfError:         24 * time.Hour,
	}
}

// Validate returns an error naming the first setting out of range.
func (c Config) Validate() error {
	switch {
	case c.LocalEnabled && c.LocalMaxBytes <= 0:
		return fmt.Errorf("httpcache: local size %d: must be positive", c.LocalMaxBytes)
	case c.TTL <= 0:
		return fmt.Errorf("httpcache: ttl %s: must be positive", c.TTL)
	case c.RedisTimeout <= 0:
		return fmt.Errorf("httpcache: redis timeout %s: must be positive", c.RedisTimeout)
	case c.MaxAge < 0:
		return fmt.Errorf("httpcache: max age %s: must not be negative", c.MaxAge)
	case c.SharedMaxAge < 0:
		return fmt.Errorf("httpcache: shared max age %s: must not be negative", c.SharedMaxAge)
	case c.StaleWhileRevalidate < 0:
		return fmt.Errorf("httpcache: stale-while-revalidate %s: must not be negative", c.StaleWhileRevalidate)
	case c.StaleIfError < 0:
		return fmt.Errorf("httpcache: stale-if-error %s: must not be negative", c.StaleIfError)
	case c.CompressMin < 0:
		return fmt.Errorf("httpcache: compression threshold %d: must not be negative", c.CompressMin)
	case c.MaxEntryBytes <= 0:
		return fmt.Errorf("httpcache: max entry size %d: must be positive", c.MaxEntryBytes)
	case c.StreamAfter <= 0:
		return fmt.Errorf("httpcache: stream threshold %d: must be positive", c.StreamAfter)
	case c.MemoBytes <= 0:
		return fmt.Errorf("httpcache: memo size %d: must be positive", c.MemoBytes)
	}
	return nil
}

// NewTiered builds the tiers cfg asks for: a local one when LocalEnabled, a
// Redis one on client (a single server, Sentinel or Cluster) when client is
// not nil. The caller closes the result, and client after it. It returns an
// error for an invalid cfg.
func NewTiered(cfg Config, client redis.UniversalClient, logger *slog.Logger) (*cache.Tiered, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var local, shared cache.Cache
	if cfg.LocalEnabled {
		l, err := cache.NewLocal(cfg.LocalMaxBytes, cfg.TTL)
		if err != nil {
			return nil, err
		}
		local = l
	}
	if client != nil {
		shared = cache.NewRedis(client, cfg.RedisPrefix, cfg.RedisTimeout, logger)
	}
	return cache.NewTiered(local, shared, cfg.TTL), nil
}

// ReleaseFunc returns the id and publication time of the data release that a
// request is served from. It runs on every request, so it must be cheap (an
// in-memory read). A zero time omits Last-Modified.
type ReleaseFunc func(ctx context.Context) (id string, modified time.Time, err error)

// Values of the X-Cache response header: the tier that answered, or a 304
// decided from the ETag alone without looking anything up.
const (
	HitLocal = "HIT-LOCAL"
	HitRedis = "HIT-REDIS"
	Miss     = "MISS"
	HitETag  = "HIT-ETAG"
)

// errUncacheable ends a computation whose response is not to be stored.
var errUncacheable = errors.New("httpcache: response not cacheable")

type middleware struct {
	cfg     Config
	tier    *cache.Tiered
	release ReleaseFunc
	logger  *slog.Logger
	isList  func(string) bool

	// Header values that are the same on every response, built once.
	cacheControl []string
	vary         []string
	lastModified atomic.Pointer[stamp] // of the latest release seen

	// keys memoises the cache key and ETag of a request by what they are
	// computed from (release, Host, X-Forwarded-Proto, path, raw query,
	// Accept, Accept-Language, gzip), so a repeated
	// request skips parsing, canonicalising and hashing. It holds only
	// requests whose response was served from or stored in a tier, is
	// bounded by bytes, and a miss only costs the computation it saves.
	keys *otter.Cache[string, requestKey]
	// heads memoises decoded entry heads by cache key; see head.
	heads *otter.Cache[string, *head]
}

// requestKey is a request's cache key and ETag.
type requestKey struct {
	key, etag string
	// etagHeader is etag as a header value, built once with the key so
	// that a hit adds it without allocating; it is shared and read-only.
	etagHeader []string
}

// memoOverhead approximates the bytes an entry costs a memo beyond its
// strings (map slot, pointers, headers of the strings and slices).
const memoOverhead = 128

// stamp is a release time with its Last-Modified value, formatted once.
type stamp struct {
	t time.Time
	v []string
}

// New returns middleware that serves GET and HEAD requests through tier;
// other methods pass through untouched. release names the data release of each
// request; when it fails, or the query is malformed or names an unknown
// format, the request is served uncached. With cfg.Enabled false, or a nil
// tier, the middleware does nothing.
//
// Put it on the group of cacheable routes (not on /healthz or /readyz), after
// recovery and request-id middleware. A route that answers HEAD must run the
// same handler as its GET, since both share entries. Only 200 responses are
// stored, with the headers Content-Type, Content-Disposition,
// Content-Encoding, Content-Language, Link and X-Krimstat-*, plus the
// Surrogate-Key and Cache-Tag fields it adds; a handler can opt out of
// storage with "Cache-Control: no-store".
func New(cfg Config, tier *cache.Tiered, release ReleaseFunc, logger *slog.Logger) gin.HandlerFunc {
	if !cfg.Enabled || tier == nil {
		return func(c *gin.Context) { c.Next() }
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &middleware{
		cfg:          cfg,
		tier:         tier,
		release:      release,
		logger:       logger,
		cacheControl: []string{CacheControl(cfg)},
		vary:         []string{cfg.Vary},
	}
	if cfg.ListParams != nil {
		lists := slices.Clone(cfg.ListParams)
		m.isList = func(name string) bool { return slices.Contains(lists, name) }
	}
	if memo, err := otter.New(&otter.Options[string, requestKey]{
		MaximumWeight: uint64(cfg.MemoBytes),
		Weigher: func(memo string, rk requestKey) uint32 {
			return uint32(min(len(memo)+len(rk.key)+len(rk.etag)+memoOverhead, math.MaxUint32))
		},
	}); err == nil {
		m.keys = memo
	}
	if memo, err := otter.New(&otter.Options[string, *head]{
		MaximumWeight: uint64(cfg.MemoBytes),
		Weigher:       func(key string, hd *head) uint32 { return uint32(min(len(key)+hd.weight(), math.MaxUint32)) },
	}); err == nil {
		m.heads = memo
	}
	return m.serve
}

func (m *middleware) serve(c *gin.Context) {
	r := c.Request
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.Next()
		return
	}
	ctx := r.Context()
	releaseID, modified, err := m.release(ctx)
	if err != nil {
		m.logger.WarnContext(ctx, "response cache bypassed: no release", "err", err)
		c.Next()
		return
	}
	gz := AcceptsGzip(r.Header.Get("Accept-Encoding"))
	rk, memo, ok := m.requestKey(c, releaseID, gz)
	if !ok {
		c.Next()
		return
	}
	key, etag := rk.key, rk.etag
	etagHeader := rk.etagHeader

	// A listed tag proves the client holds this very key's 200 response, and
	// a key's response never changes: answer without looking anything up.
	inm := r.Header.Get("If-None-Match")
	if inm != "" && !isStar(inm) && matchesETag(inm, etag) {
		m.notModified(c, etagHeader, modified, HitETag)
		return
	}

	var captured *capture
	val, src, err := m.tier.Get(ctx, key, func(ctx context.Context) ([]byte, error) {
		captured = m.run(c)
		if captured.streamed || captured.status != http.StatusOK || noStore(captured.header) {
			return nil, errUncacheable
		}
		val := m.entryOf(captured, gz, surrogateKeys(captured.header, releaseID, c.FullPath())...).encode()
		if len(val) > m.cfg.MaxEntryBytes {
			return nil, errUncacheable
		}
		return val, nil
	})
	if err != nil {
		if captured != nil {
			m.replay(c, captured)
			return
		}
		// Another request computed this key and got a response that is
		// not shared (an error, say): compute this one afresh.
		c.Next()
		return
	}
	hd, body, err := m.head(key, val)
	if err != nil {
		m.logger.ErrorContext(ctx, "response cache entry unreadable", "key", key, "err", err)
		c.Next()
		return
	}
	if memo != "" {
		m.keys.Set(memo, rk)
	}

	xcache := Miss
	switch src {
	case cache.SourceLocal:
		xcache = HitLocal
	case cache.SourceRedis:
		xcache = HitRedis
	}
	if (inm != "" && isStar(inm)) || (inm == "" && notModifiedSince(r, modified)) {
		m.notModified(c, etagHeader, modified, xcache)
		return
	}
	h := c.Writer.Header()
	for i, name := range hd.names {
		if len(h[name]) == 0 {
			h[name] = hd.values[i] // shared and read-only: net/http only reads it
		} else {
			h[name] = append(h[name], hd.values[i]...)
		}
	}
	h["Content-Length"] = hd.contentLength
	m.validators(h, etagHeader, modified, xcache)
	c.Status(http.StatusOK)
	if r.Method == http.MethodHead {
		c.Writer.WriteHeaderNow()
	} else {
		writeBody(c, body)
	}
	c.Abort()
}

// head is the decoded header part of a stored entry, ready to be put into a
// response: header values grouped by name, the Content-Length value, and
// where the body starts in the encoded entry.
type head struct {
	names         []string
	values        [][]string
	contentLength []string
	off, size     int
}

// weight approximates the bytes a head holds, for the memo's bound.
func (hd *head) weight() int {
	n := memoOverhead
	for i, name := range hd.names {
		n += len(name) + 32
		for _, v := range hd.values[i] {
			n += len(v) + 16
		}
	}
	return n
}

// head returns the decoded head of the entry val stored under key and its
// body. An entry never changes once stored under a key (the key names the
// release and the code revision), so the decoded head is memoised by key;
// the body always comes from val, so the tiers stay the only holders of
// bodies.
func (m *middleware) head(key string, val []byte) (*head, []byte, error) {
	if m.heads != nil {
		if hd, ok := m.heads.GetIfPresent(key); ok && hd.size == len(val) && hd.off <= len(val) {
			return hd, val[hd.off:], nil
		}
	}
	e, err := decodeEntry(val)
	if err != nil {
		return nil, nil, err
	}
	hd := &head{
		contentLength: []string{strconv.Itoa(len(e.body))},
		off:           len(val) - len(e.body),
		size:          len(val),
	}
	for _, kv := range e.header {
		if n := len(hd.names); n > 0 && hd.names[n-1] == kv[0] {
			hd.values[n-1] = append(hd.values[n-1], kv[1])
			continue
		}
		hd.names = append(hd.names, kv[0])
		hd.values = append(hd.values, []string{kv[1]})
	}
	if m.heads != nil {
		m.heads.Set(key, hd)
	}
	return hd, e.body, nil
}

// requestKey returns the request's cache key and ETag, from the memo when
// the same request was seen before. When it was not, it also returns the
// memo key to remember it under once the response is known to be shared
// (a response that is an error is never remembered). It returns false for
// a request that is not to be cached (a malformed query, an unknown
// format).
func (m *middleware) requestKey(c *gin.Context, releaseID string, gz bool) (requestKey, string, bool) {
	r := c.Request
	accept := r.Header.Get("Accept")
	var memo string
	if m.keys != nil {
		enc := "0"
		if gz {
			enc = "1"
		}
		memo = releaseID + "\x00" + r.Host + "\x00" + r.Header.Get("X-Forwarded-Proto") + "\x00" + r.URL.EscapedPath() +
			"\x00" + r.URL.RawQuery + "\x00" + accept + "\x00" + r.Header.Get("Accept-Language") + "\x00" + enc
		if rk, ok := m.keys.GetIfPresent(memo); ok {
			return rk, "", true
		}
	}
	var canonical, format string
	if m.cfg.RequestKey != nil {
		var ok bool
		if canonical, format, ok = m.cfg.RequestKey(r, c.FullPath(), releaseID); !ok {
			return requestKey{}, "", false
		}
	} else {
		query, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return requestKey{}, "", false
		}
		var ok bool
		if format, ok = Negotiate(query, accept); !ok {
			return requestKey{}, "", false
		}
		canonical = CanonicalQuery(query, m.isList)
	}
	key := Key(m.cfg.Revision, releaseID, r.URL.EscapedPath(), canonical, format, gz)
	etag := ETag(key)
	return requestKey{key: key, etag: etag, etagHeader: []string{etag}}, memo, true
}

// run runs the rest of the chain into a capture, restoring the real writer
// even when a handler panics.
func (m *middleware) run(c *gin.Context) *capture {
	w := c.Writer
	cw := newCapture(w, m.cfg.StreamAfter)
	c.Writer = cw
	defer func() { c.Writer = w }()
	c.Next()
	return cw
}

// entryOf turns a captured 200 response, with the extra header fields given,
// into an entry, gzipping its body when the client accepts it, it is large
// enough, and the handler did not encode it already.
func (m *middleware) entryOf(w *capture, gz bool, extra ...[2]string) entry {
	e := entry{header: extra}
	for name, values := range w.header {
		if keptHeader(name) {
			for _, v := range values {
				e.header = append(e.header, [2]string{name, v})
			}
		}
	}
	// Sorted fields make the encoding, and so the Redis value, one per response.
	slices.SortStableFunc(e.header, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	e.body = w.body.Bytes()
	if !gz || len(e.body) < m.cfg.CompressMin || w.header.Get("Content-Encoding") != "" {
		return e
	}
	var buf bytes.Buffer
	buf.Grow(len(e.body) / 4)
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(e.body) // A bytes.Buffer does not fail.
	_ = zw.Close()
	if buf.Len() >= len(e.body) {
		return e
	}
	e.body = buf.Bytes()
	e.header = append(e.header, [2]string{"Content-Encoding", "gzip"})
	slices.SortStableFunc(e.header, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return e
}

// Surrogate-key headers of stored responses, with which a shared cache in
// front can purge every response of a release or of a route at once:
// Surrogate-Key for Fastly and others (space-separated keys), Cache-Tag for
// Cloudflare (comma-separated).
const (
	SurrogateKeyHeader = "Surrogate-Key"
	CacheTagHeader     = "Cache-Tag"
)

// surrogateKeys returns the surrogate-key fields of a response of the route
// pattern: "release-<id> route-<name>", where id is the release the handler
// named in X-Krimstat-Release, else current (the release of the request),
// and name is the pattern's path with its separators and wildcards as
// hyphens ("/v1/offences/*id" is "v1-offences-id"). They are computed once,
// when the response is stored, and replayed with it.
func surrogateKeys(h http.Header, current, pattern string) [][2]string {
	release := h.Get("X-Krimstat-Release")
	if release == "" {
		release = current
	}
	keys := []string{"release-" + tagSafe(release)}
	if name := routeName(pattern); name != "" {
		keys = append(keys, "route-"+name)
	}
	return [][2]string{
		{SurrogateKeyHeader, strings.Join(keys, " ")},
		{CacheTagHeader, strings.Join(keys, ",")},
	}
}

// routeName names a route pattern for a surrogate key: its segments joined
// by hyphens, wildcards and dots included.
func routeName(pattern string) string {
	return strings.Join(strings.FieldsFunc(pattern, func(r rune) bool {
		return r == '/' || r == ':' || r == '*' || r == '.'
	}), "-")
}

// tagSafe replaces the characters a surrogate key or cache tag cannot hold
// (space, comma, control characters, non-ASCII) with hyphens. Release ids
// are plain already; this keeps an odd one from splitting into two keys.
func tagSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == ',' || r == '"' || r > '~' {
			return '-'
		}
		return r
	}, s)
}

// CacheControl returns the Cache-Control value of cached responses:
// public, max-age for browsers, s-maxage for shared caches, then
// stale-while-revalidate and stale-if-error when they are not zero.
func CacheControl(cfg Config) string {
	v := "public, max-age=" + strconv.Itoa(int(cfg.MaxAge/time.Second)) +
		", s-maxage=" + strconv.Itoa(int(cfg.SharedMaxAge/time.Second))
	if s := int(cfg.StaleWhileRevalidate / time.Second); s > 0 {
		v += ", stale-while-revalidate=" + strconv.Itoa(s)
	}
	if s := int(cfg.StaleIfError / time.Second); s > 0 {
		v += ", stale-if-error=" + strconv.Itoa(s)
	}
	return v
}

// replay sends a captured response that was not stored as the handler wrote
// it; a streamed one has been sent already.
func (m *middleware) replay(c *gin.Context, w *capture) {
	if w.streamed {
		c.Abort()
		return
	}
	h := c.Writer.Header()
	for name, values := range w.header {
		h[name] = values
	}
	c.Status(w.status)
	if c.Request.Method == http.MethodHead || !w.written {
		c.Writer.WriteHeaderNow()
	} else {
		writeBody(c, w.body.Bytes())
	}
	c.Abort()
}

// xcacheHeaders are the values of X-Cache, built once: a hit then sets its
// headers without allocating. net/http only reads them.
var xcacheHeaders = map[string][]string{HitLocal: {HitLocal}, HitRedis: {HitRedis}, Miss: {Miss}, HitETag: {HitETag}}

func (m *middleware) validators(h http.Header, etag []string, modified time.Time, xcache string) {
	h["Etag"] = etag
	h["Cache-Control"] = m.cacheControl
	h["Vary"] = m.vary
	if !modified.IsZero() {
		s := m.lastModified.Load()
		if s == nil || !s.t.Equal(modified) {
			s = &stamp{t: modified, v: []string{modified.UTC().Format(http.TimeFormat)}}
			m.lastModified.Store(s)
		}
		h["Last-Modified"] = s.v
	}
	h["X-Cache"] = xcacheHeaders[xcache]
}

func (m *middleware) notModified(c *gin.Context, etag []string, modified time.Time, xcache string) {
	m.validators(c.Writer.Header(), etag, modified, xcache)
	c.Status(http.StatusNotModified)
	c.Writer.WriteHeaderNow()
	c.Abort()
}

// notModifiedSince reports whether If-Modified-Since holds a date at or after
// the release's. RFC 9110 section 13.1.3 has it evaluated only without
// If-None-Match, which the caller checks.
func notModifiedSince(r *http.Request, modified time.Time) bool {
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || modified.IsZero() {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	return !modified.Truncate(time.Second).After(t)
}

func noStore(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			if d = strings.ToLower(strings.TrimSpace(d)); d == "no-store" || d == "private" {
				return true
			}
		}
	}
	return false
}

// Write deadlines of a response body: a grace period plus the time the
// body takes at minReadRate, at most maxWriteTime.
const (
	writeGrace   = 5 * time.Second
	minReadRate  = 32 << 10 // bytes per second
	maxWriteTime = 30 * time.Second
	smallBody    = 16 << 10
)

// writeBody writes a response body under a deadline that grows with its
// size, so a client that does not read holds the connection, and the body
// it pins, for seconds rather than the server's whole write timeout. A
// writer that cannot take deadlines (a test recorder) writes without one.
//
// A body of at most smallBody bytes goes into the socket's send buffer
// at once whether or not the client reads, so it is written without a
// deadline of its own (the server's write timeout still bounds it): moving
// the connection's timer costs a cached hit more than anything else here.
func writeBody(c *gin.Context, body []byte) {
	if len(body) <= smallBody {
		_, _ = c.Writer.Write(body)
		return
	}
	d := min(writeGrace+time.Duration(len(body))*time.Second/minReadRate, maxWriteTime)
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(d))
	_, _ = c.Writer.Write(body)
}
