package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
)

// route is the contract of one read route: the query parameters it takes
// and the representations it offers. Its handler reads the query with it,
// and the response cache keys a request with it (CacheKey), so the two
// cannot disagree about what a request means.
type route struct {
	params []string
	// formats are the representations the route negotiates, its default
	// first; none means one fixed representation (HTML, SVG, one JSON item).
	formats []string
	// origin marks a route whose responses name the origin the client
	// used (absolute URLs built from Host and X-Forwarded-Proto): the
	// response cache keys them on it, so one client's Host is never
	// served to another.
	origin bool
	// langs are the languages the route answers in (nil: langs, those of
	// the release's names); chart and embed routes offer chartLangs.
	langs []string

	// deprecated, when not zero, is the day the route was deprecated, and
	// sunset, when not zero, the day it stops answering; successor is the
	// path of the route that replaces it, if one does. Every response of a
	// deprecated route says so in headers (see deprecationHeaders), its
	// errors too, and the release feed announces it. Its handler's
	// annotations carry @Deprecated, so the OpenAPI document says it too.
	// STABILITY.md is the policy: at least twelve months from one day to
	// the other.
	deprecated, sunset time.Time
	successor          string
	// stamp holds the deprecation headers, built once when the route is
	// registered.
	stamp http.Header
}

// stabilityPolicy is the API's stability and deprecation policy, which
// every deprecated route links to.
const stabilityPolicy = "https://github.com/krimstat/krimstat/blob/main/STABILITY.md"

// day is the start of a date in UTC, for the dates of a route's contract.
func day(year int, month time.Month, d int) time.Time {
	return time.Date(year, month, d, 0, 0, 0, 0, time.UTC)
}

// deprecationHeaders returns the headers that every response of a
// deprecated route carries, or nil for a route that is not deprecated:
// Deprecation as an RFC 9745 structured date (@ and Unix seconds), Sunset
// as an RFC 8594 HTTP date, and links to the policy (rel="deprecation",
// and rel="sunset" with a sunset) and to the successor
// (rel="successor-version").
func (rt route) deprecationHeaders() http.Header {
	if rt.deprecated.IsZero() {
		return nil
	}
	h := http.Header{}
	h["Deprecation"] = []string{"@" + strconv.FormatInt(rt.deprecated.Unix(), 10)}
	links := []string{"<" + stabilityPolicy + `>; rel="deprecation"; type="text/html"`}
	if !rt.sunset.IsZero() {
		h["Sunset"] = []string{rt.sunset.UTC().Format(http.TimeFormat)}
		links = append(links, "<"+stabilityPolicy+`>; rel="sunset"; type="text/html"`)
	}
	if rt.successor != "" {
		links = append(links, "<"+rt.successor+`>; rel="successor-version"`)
	}
	h["Link"] = links
	return h
}

// language picks the language of a response on rt.
func (rt route) language(q query, acceptLanguage string) (string, error) {
	if rt.langs == nil {
		return q.language(acceptLanguage)
	}
	return q.languageIn(acceptLanguage, rt.langs)
}

// listRoute is a metadata list: its own parameters plus format,
// csv_dialect and release, as JSON or CSV.
func listRoute(params ...string) route {
	return route{params: append(params, "format", "csv_dialect", "release"), formats: []string{formatJSON, formatCSV}}
}

// query reads the request's query strictly against the route's parameters
// and lang, which every route takes, and checks lang.
func (rt route) query(raw string) (query, error) {
	q, err := parseQuery(raw, slices.Concat(rt.params, []string{"lang"})...)
	if err != nil {
		return q, err
	}
	if _, err := q.language(""); err != nil {
		return q, err
	}
	return q, nil
}

// representation negotiates the route's format and reads the CSV dialect.
func (rt route) representation(q query, accept string) (format, dialect string, err error) {
	return q.representation(accept, rt.formats...)
}

// Limits on what one request may ask for. A request line is far shorter
// than the header limit, and a list longer than any release's set of ids
// can only be an attempt to make a request expensive.
const (
	// maxRequestLine bounds the request target (path and query), in bytes.
	maxRequestLine = 2048
	// maxListValues bounds the values of one list parameter.
	maxListValues = 100
)

// canonical returns the one spelling of a valid query that every spelling
// with the same meaning shares: parameters sorted by name; list values
// de-duplicated and sorted (they are sets); numbers and periods in their
// normal form; csv_dialect=rfc4180, small=20, theme=light and release=<current> left
// out, since they are the defaults; format left out, since the negotiated format is
// keyed on its own. Names and values are escaped. It returns an error for a
// query the handler would refuse, so that no such query gets a key.
func (rt route) canonical(values url.Values, current string) (string, error) {
	q := query{values: values}
	names := make([]string, 0, len(values))
	for name := range values {
		if !slices.Contains(rt.params, name) && name != "lang" {
			return "", store.InvalidParam(name, "unknown parameter")
		}
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	add := func(name, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	for _, name := range names {
		if slices.Contains(listParams, name) {
			vs, err := q.list(name)
			if err != nil {
				return "", err
			}
			add(name, strings.Join(vs, ","))
			continue
		}
		v, err := q.one(name)
		if err != nil {
			return "", err
		}
		switch name {
		case "format", "lang":
			// Keyed as negotiated, apart from the query.
			continue
		case "release":
			if v == current {
				continue
			}
		case "csv_dialect":
			if v == csvRFC4180 {
				continue
			}
		case "layout":
			if v == layoutLong {
				continue
			}
		case "theme":
			if _, err := themeOf(q); err != nil {
				return "", err
			}
			if v == themeLight {
				continue
			}
		case "limit", "small", "per", "width", "height", "scale", "maxwidth", "maxheight":
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", store.InvalidParam(name, "%q: want a whole number", v)
			}
			if name == "small" && n == series.DefaultSmall {
				continue
			}
			v = strconv.Itoa(n)
		case "from", "to", "period":
			p, err := q.period(name)
			if err != nil {
				return "", err
			}
			v = p.String()
		}
		add(name, v)
	}
	return b.String(), nil
}

// link is a path with a canonical query and, when not empty, more
// parameters (already canonical) appended.
func link(path, canonical string, more ...string) string {
	parts := slices.DeleteFunc(append([]string{canonical}, more...), func(s string) bool { return s == "" })
	if len(parts) == 0 {
		return path
	}
	return path + "?" + strings.Join(parts, "&")
}

// formatParam is the format parameter that asks for format on rt, or ""
// for the route's default format.
func formatParam(rt route, format string) string {
	if len(rt.formats) == 0 || format == rt.formats[0] {
		return ""
	}
	return "format=" + format
}

// CacheVary lists the request headers CacheKey negotiates on, for the
// cache's Vary header.
const CacheVary = "Accept, Accept-Encoding, Accept-Language"

// CacheKey returns what the response cache keys a request on besides its
// path and release: the canonical query, and the negotiated format and
// language, and for a route that names it the request's origin. route
// is the route's pattern (gin's FullPath) and current the release the
// request is served from. It returns false for a request that no route
// would answer with 200 as it is spelt (an unknown parameter, a malformed
// value, a format the route does not offer): such a request is not cached,
// and its handler answers it with a problem.
func (h *Handler) CacheKey(r *http.Request, pattern, current string) (canonical, format string, ok bool) {
	v, found := h.routes.Load(pattern)
	if !found {
		return "", "", false
	}
	rt := v.(route)
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", "", false
	}
	if canonical, err = rt.canonical(values, current); err != nil {
		return "", "", false
	}
	q := query{values: values}
	lang, err := rt.language(q, r.Header.Get("Accept-Language"))
	if err != nil {
		return "", "", false
	}
	format = "-"
	if len(rt.formats) > 0 {
		if format, err = q.format(r.Header.Get("Accept"), rt.formats...); err != nil {
			return "", "", false
		}
	}
	format += ";lang=" + lang
	if rt.origin {
		format += ";origin=" + requestScheme(r) + "://" + r.Host
	}
	return canonical, format, true
}

// stampDeprecation puts the deprecation headers of the request's route, if
// it is deprecated, on whatever response leaves: the handler's, a problem,
// a 304 or a cached answer. The headers are added as the response's header
// is sent rather than at the start, so that the response cache, which
// copies the headers a handler set, never stores them: a cached answer
// then gets them once, not twice.
func (h *Handler) stampDeprecation(c *gin.Context) {
	v, ok := h.routes.Load(c.FullPath())
	if !ok || v.(route).stamp == nil {
		c.Next()
		return
	}
	w := &stampWriter{ResponseWriter: c.Writer, stamp: v.(route).stamp}
	c.Writer = w
	c.Next()
	// A response that wrote nothing has its header sent by gin after the
	// chain, past the writer.
	w.apply()
}

// stampWriter adds headers to a response just before its header is sent.
type stampWriter struct {
	gin.ResponseWriter
	stamp http.Header
	done  bool
}

// apply adds the headers, once, unless the header is gone already.
func (w *stampWriter) apply() {
	if w.done || w.ResponseWriter.Written() {
		return
	}
	w.done = true
	h := w.ResponseWriter.Header()
	for name, values := range w.stamp {
		// Clipped: a value may be a slice shared with the response cache,
		// which an append must not write into.
		h[name] = append(slices.Clip(h[name]), values...)
	}
}

func (w *stampWriter) WriteHeaderNow() {
	w.apply()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *stampWriter) Write(b []byte) (int, error) {
	w.apply()
	return w.ResponseWriter.Write(b)
}

func (w *stampWriter) WriteString(s string) (int, error) {
	w.apply()
	return w.ResponseWriter.WriteString(s)
}

func (w *stampWriter) Flush() {
	w.apply()
	w.ResponseWriter.Flush()
}

// Unwrap lets http.ResponseController reach the connection, for write
// deadlines.
func (w *stampWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
