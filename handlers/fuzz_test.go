package handlers

import (
	"errors"
	"testing"

	"github.com/krimstat/krimstat/store"
)

// FuzzParseQuery checks that query parsing and filter reading never panic
// and fail only with parameter errors.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"offence=sex-purchase&region=NO,SE&from=2009&to=2010-T1&limit=10",
		"region=&from=x", "%zz", "limit=99999999999999999999", "cursor=eyJyIjoiYSIsImEiOiJiIn0",
		"sex=total,female&age=0-17&citizenship=Romania", "format=csv&format=json",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw, "offence", "region", "measure", "source", "from", "to",
			"sex", "age", "citizenship", "limit", "cursor", "format", "release")
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("parseQuery(%q): %v is not a parameter error", raw, err)
			}
			return
		}
		f, cur, err := observationFilter(q)
		if err != nil {
			var pe *store.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("observationFilter(%q): %v is not a parameter error", raw, err)
			}
			return
		}
		if f.Limit < 1 || f.Limit > maxLimit {
			t.Fatalf("limit %d out of range", f.Limit)
		}
		if cur != nil && (cur.Release == "" || cur.After == "") {
			t.Fatalf("accepted an empty cursor %+v", cur)
		}
		if _, err := q.format("", formatJSON, formatCSV); err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("format: %v", err)
		}
	})
}

// FuzzCursor checks that any string either decodes to a cursor that
// re-encodes to exactly that string (one spelling per cursor, so one cache
// key per page) or is rejected as a bad parameter.
func FuzzCursor(f *testing.F) {
	f.Add(cursor{Release: "20250414-3da80bd7", After: "sex-purchase\x1fNO"}.encode())
	f.Add("garbage")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("decodeCursor(%q): %v", s, err)
			}
			return
		}
		if c.encode() != s {
			t.Fatalf("decodeCursor accepted %q, another spelling of %q", s, c.encode())
		}
		again, err := decodeCursor(c.encode())
		if err != nil || again != c {
			t.Fatalf("cursor %+v does not round-trip: %+v, %v", c, again, err)
		}
	})
}

// FuzzNegotiate checks that content negotiation never panics and only
// fails with 406.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "text/csv", "application/json;q=0.5, text/csv;q=0.9", "*/*", "image/png", ";;;q=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got, err := negotiate(accept, []string{formatJSON, formatCSV})
		if err != nil {
			if !errors.Is(err, errNotAcceptable) {
				t.Fatalf("negotiate(%q): %v", accept, err)
			}
			return
		}
		if got != formatJSON && got != formatCSV {
			t.Fatalf("negotiate(%q) = %q, not offered", accept, got)
		}
	})
}
