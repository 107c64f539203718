package httpcache

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// formats maps the values of the format query parameter to the media types
// that select them in an Accept header. The first media type of each is the
// one a handler is expected to answer with.
var formats = []struct {
	name  string
	types []string
}{
	{"json", []string{"application/json"}},
	{"csv", []string{"text/csv"}},
	{"jsonstat", []string{"application/vnd.json-stat+json", "application/json-stat+json", "application/json+stat"}},
	{"xlsx", []string{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
	{"parquet", []string{"application/vnd.apache.parquet"}},
	{"html", []string{"text/html"}},
	{"svg", []string{"image/svg+xml"}},
}

// defaultFormat answers requests that state no preference.
const defaultFormat = "json"

// Negotiate returns the part of the cache key that stands for the
// representation a request asks for: the format query parameter when present
// (one of json, csv, jsonstat, html, svg), else the Accept header itself,
// normalised. Keying on the header rather than on a guess at the handler's
// negotiation keeps the rule simple and always safe: two requests share an
// entry only when they ask for the same thing in the same words, so a cached
// JSON body can never answer a request the handler would have refused (406)
// or answered as CSV. Common headers (none, */*, application/json) share the
// json entry. It returns false for an unknown or repeated format parameter,
// which the handler must reject; such requests are not cached.
func Negotiate(query url.Values, accept string) (string, bool) {
	if fs, ok := query["format"]; ok {
		if len(fs) != 1 {
			return "", false
		}
		for _, f := range formats {
			if f.name == fs[0] {
				return f.name, true
			}
		}
		return "", false
	}
	a := strings.ToLower(strings.Join(strings.Fields(accept), ""))
	switch a {
	case "", "*/*", "application/json", "application/json,*/*":
		return defaultFormat, true
	}
	for _, f := range formats {
		if slices.Contains(f.types, a) {
			return f.name, true
		}
	}
	if len(a) > 256 {
		return "", false
	}
	return "accept=" + a, true
}

// AcceptsGzip reports whether an Accept-Encoding header value allows a gzip
// response (RFC 9110 section 12.5.3): gzip or x-gzip listed with a non-zero
// quality, or * with one when gzip is not listed.
func AcceptsGzip(acceptEncoding string) bool {
	star := false
	for part := range strings.SplitSeq(acceptEncoding, ",") {
		coding, q := parseQ(part)
		switch coding {
		case "gzip", "x-gzip":
			return q > 0
		case "*":
			star = q > 0
		}
	}
	return star
}

// parseQ splits one element of an Accept or Accept-Encoding list into its
// lower-cased value and its quality (1 when absent, 0 when malformed).
func parseQ(part string) (string, float64) {
	value, params, _ := strings.Cut(part, ";")
	value = strings.ToLower(strings.TrimSpace(value))
	q := 1.0
	for p := range strings.SplitSeq(params, ";") {
		name, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 1 {
			f = 0
		}
		q = f
	}
	return value, q
}

// CanonicalQuery returns one spelling of a query for all spellings a handler
// treats alike: parameters sorted by name; the values of list parameters
// (isList reports them; nil means every parameter is a list) split on commas,
// trimmed, and joined with commas in the order given, so that region=NO,SE,
// region=NO&region=SE and region=NO&region=+SE are one query; the values of
// other parameters kept as given, repeated and in order. Names and values are
// escaped, so the result is unambiguous. The format parameter is left out:
// the negotiated format is a separate part of the key.
//
// Values are not sorted, because the order of some parameters matters, and
// empty values are kept, because a handler may reject them.
func CanonicalQuery(query url.Values, isList func(name string) bool) string {
	names := make([]string, 0, len(query))
	for name := range query {
		if name != "format" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		en := url.QueryEscape(name)
		if isList == nil || isList(name) {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(en)
			b.WriteByte('=')
			first := true
			for _, v := range query[name] {
				for item := range strings.SplitSeq(v, ",") {
					if !first {
						b.WriteByte(',')
					}
					first = false
					b.WriteString(url.QueryEscape(strings.TrimSpace(item)))
				}
			}
			continue
		}
		for _, v := range query[name] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(en)
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// Key returns the cache key of a response: the revision of the code, the data
// release, the escaped path, the canonical query, the format and whether the
// client accepts gzip. Every part is escaped or a fixed token, so two requests
// share a key only if they agree on every part.
func Key(revision, release, escapedPath, canonicalQuery, format string, gzip bool) string {
	enc := "identity"
	if gzip {
		enc = "gzip"
	}
	var b strings.Builder
	b.Grow(len(revision) + len(release) + len(escapedPath) + len(canonicalQuery) + len(format) + 32)
	for _, part := range [...]string{
		url.QueryEscape(revision), url.QueryEscape(release), escapedPath, canonicalQuery, format, enc,
	} {
		b.WriteString(part)
		b.WriteByte('|')
	}
	return b.String()
}

// ETag returns the strong entity tag of the response cached under key: a
// quoted hex SHA-256 prefix of the key. It depends on nothing but the key, so
// every process computes the same tag, before or without the response.
func ETag(key string) string {
	sum := sha256.Sum256([]byte(key))
	var b [34]byte
	b[0] = '"'
	hex.Encode(b[1:33], sum[:16])
	b[33] = '"'
	return string(b[:])
}

// matchesETag reports whether an If-None-Match value lists etag, comparing
// weakly (RFC 9110 section 13.1.2: a W/ prefix on either side is ignored).
// The * form is not handled here.
func matchesETag(ifNoneMatch, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for tag := range strings.SplitSeq(ifNoneMatch, ",") {
		if strings.TrimPrefix(strings.TrimSpace(tag), "W/") == etag {
			return true
		}
	}
	return false
}

// isStar reports whether an If-None-Match value is the * form.
func isStar(ifNoneMatch string) bool {
	return strings.TrimSpace(ifNoneMatch) == "*"
}
