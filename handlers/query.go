package handlers

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/krimstat/krimstat/store"
)

// query reads a request's query string strictly: only the parameters a
// route declares are allowed, so a typo is an error rather than a filter
// silently ignored.
type query struct {
	values url.Values
}

// parseQuery checks that every parameter is one of allowed.
func parseQuery(raw string, allowed ...string) (query, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return query{}, store.InvalidParam("query", "malformed query string: %v", err)
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			return query{}, store.InvalidParam(name, "unknown parameter; this route takes %s", strings.Join(allowed, ", "))
		}
	}
	return query{values: v}, nil
}

// listParams are the parameters that take several values, repeated or
// comma-separated (region=NO,SE or region=NO&region=SE). Every other
// parameter takes one value.
var listParams = []string{"offence", "region", "measure", "source", "type", "sex", "age", "citizenship"}

// ListParams returns the names of the parameters that take lists. The
// response cache splits and sorts their values so that region=NO,SE and
// region=SE&region=NO share an entry; it learns the names from here.
func ListParams() []string { return slices.Clone(listParams) }

// list returns the values of a parameter that may be repeated or
// comma-separated (region=NO,SE or region=NO&region=SE), without blanks or
// repeats, sorted: every list is a set, so region=SE,NO and region=NO,SE
// are one request, with one cache key. Only the parameters of listParams
// are lists, so the cache key and the handlers cannot disagree about one,
// and no list may hold more than maxListValues values.
func (q query) list(name string) ([]string, error) {
	if !slices.Contains(listParams, name) {
		return nil, fmt.Errorf("query: %s is not a list parameter; add it to listParams", name)
	}
	var out []string
	for _, v := range q.values[name] {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				return nil, store.InvalidParam(name, "empty value")
			}
			out = append(out, part)
		}
	}
	// The request line bounds how many values arrive; the cap is on
	// distinct values, what the request means.
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxListValues {
		return nil, store.InvalidParam(name, "more than %d values; leave %s out to get every value", maxListValues, name)
	}
	return out, nil
}

// one returns the single value of a parameter, or "" when absent.
func (q query) one(name string) (string, error) {
	vs := q.values[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		if strings.TrimSpace(vs[0]) == "" {
			return "", store.InvalidParam(name, "empty value")
		}
		return strings.TrimSpace(vs[0]), nil
	}
	return "", store.InvalidParam(name, "given %d times; give it once", len(vs))
}

// period parses a period bound.
func (q query) period(name string) (*store.Period, error) {
	s, err := q.one(name)
	if err != nil || s == "" {
		return nil, err
	}
	p, err := store.ParsePeriod(s)
	if err != nil {
		return nil, store.InvalidParam(name, "%q is not a period: want YYYY, YYYY-H1, YYYY-T1, YYYY-Q1 or YYYY-MM", s)
	}
	return &p, nil
}

// date parses a YYYY-MM-DD parameter.
func (q query) date(name string) (string, error) {
	s, err := q.one(name)
	if err != nil || s == "" {
		return "", err
	}
	if _, err := time.Parse("2006-01-02", s); err != nil || len(s) != 10 {
		return "", store.InvalidParam(name, "%q is not a date: want YYYY-MM-DD", s)
	}
	return s, nil
}

// Limits of a page of observations.
const (
	defaultLimit = 100
	maxLimit     = 10000
)

// limit parses the page size.
func (q query) limit() (int, error) {
	s, err := q.one("limit")
	if err != nil {
		return 0, err
	}
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, store.InvalidParam("limit", "%q: want a whole number from 1 to %d", s, maxLimit)
	}
	return n, nil
}

// Representations a list endpoint can produce.
const (
	formatJSON     = "json"
	formatCSV      = "csv"
	formatJSONStat = "jsonstat"
	formatXLSX     = "xlsx"
	formatParquet  = "parquet"
)

// Media types of the binary file formats.
const (
	mediaXLSX    = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mediaParquet = "application/vnd.apache.parquet"
)

// format picks the representation: the format parameter wins, then the
// Accept header; JSON is the default. offered lists what the route serves.
func (q query) format(accept string, offered ...string) (string, error) {
	f, err := q.one("format")
	if err != nil {
		return "", err
	}
	if f != "" {
		if !slices.Contains(offered, f) {
			return "", store.InvalidParam("format", "%q: this route offers %s", f, strings.Join(offered, ", "))
		}
		return f, nil
	}
	return negotiate(accept, offered)
}

// mediaFormats maps media types to formats, in preference order.
var mediaFormats = []struct{ media, format string }{
	{"application/json", formatJSON},
	{"text/csv", formatCSV},
	{"application/json+stat", formatJSONStat},
	{"application/vnd.json-stat+json", formatJSONStat},
	{"application/json-stat+json", formatJSONStat},
	{mediaXLSX, formatXLSX},
	{mediaParquet, formatParquet},
}

// negotiate picks a format from an Accept header. An empty header, */* or an
// application/* range means JSON; a header naming only types the route
// cannot produce is an error.
func negotiate(accept string, offered []string) (string, error) {
	if strings.TrimSpace(accept) == "" {
		return formatJSON, nil
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		qv := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				qv = f
			}
		}
		if qv <= 0 {
			continue
		}
		var f string
		switch mt {
		case "*/*", "application/*":
			f = formatJSON
		case "text/*":
			f = formatCSV
		default:
			for _, m := range mediaFormats {
				if m.media == mt {
					f = m.format
					break
				}
			}
		}
		if f != "" && slices.Contains(offered, f) && qv > bestQ {
			best, bestQ = f, qv
		}
	}
	if best == "" {
		return "", fmt.Errorf("accept %q: this route offers %s: %w", accept, strings.Join(offered, ", "), errNotAcceptable)
	}
	return best, nil
}

// cursor is the opaque position in a list: the release it belongs to (so a
// walk through the pages never mixes releases) and the key of the last item.
type cursor struct {
	Release string `json:"r"`
	After   string `json:"a"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made by encode. Only encode's own spelling
// is accepted: a cursor that decodes from other bytes (padding, spaces,
// reordered or repeated keys, trailing data) would be another cache key
// for the same page.
func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 4096 {
		return c, store.InvalidParam("cursor", "not a cursor from links.next")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Release == "" || c.After == "" || c.encode() != s {
		return cursor{}, store.InvalidParam("cursor", "not a cursor from links.next")
	}
	return c, nil
}
