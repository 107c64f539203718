package handlers

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// respell writes a query another way with the same meaning: parameters in
// reverse order, list values reversed, repeated, split over repeated
// parameters and padded with spaces, numbers with a leading zero and a
// plus, periods with a leading space, and the defaults spelt out.
func respell(v url.Values, current string) string {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	slices.Reverse(names)
	var parts []string
	add := func(name, value string) { parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(value)) }
	for _, name := range names {
		vs := v[name]
		switch {
		case slices.Contains(listParams, name):
			var items []string
			for _, s := range vs {
				items = append(items, strings.Split(s, ",")...)
			}
			slices.Reverse(items)
			for i, it := range items {
				add(name, " "+it+" ")
				if i == 0 {
					add(name, it)
				}
			}
		case name == "limit" || name == "small" || name == "per":
			n, _ := strconv.Atoi(strings.TrimSpace(vs[0]))
			add(name, "+0"+strconv.Itoa(n))
		case name == "from" || name == "to":
			add(name, " "+vs[0])
		default:
			add(name, vs[0])
		}
	}
	if _, ok := v["release"]; !ok {
		add("release", current)
	}
	if _, ok := v["csv_dialect"]; !ok {
		add("csv_dialect", csvRFC4180)
	}
	return strings.Join(parts, "&")
}

// FuzzCanonicalKey checks the cache key's query: every query with a
// canonical form keeps it when canonicalised again, and every other
// spelling of the same request maps to the same form.
func FuzzCanonicalKey(f *testing.F) {
	for _, s := range []string{
		"offence=sex-purchase&region=NO,SE&from=2009&to=2010-T1&limit=10",
		"region=SE,NO,NO&limit=0100&from=+2009&release=r1",
		"sex=total,female&age=0-17&citizenship=Romania&csv_dialect=excel-no",
		"cursor=eyJyIjoiYSIsImEiOiJiIn0&format=csv",
		"region=&from=x", "%zz", "limit=99999999999999999999",
	} {
		f.Add(s)
	}
	const current = "r1"
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		canon, err := observationsRoute.canonical(v, current)
		if err != nil {
			return
		}
		again, err := url.ParseQuery(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, raw, err)
		}
		if c2, err := observationsRoute.canonical(again, current); err != nil || c2 != canon {
			t.Fatalf("canonical of %q is %q, and of that %q (%v)", raw, canon, c2, err)
		}
		other := respell(again, current)
		ov, err := url.ParseQuery(other)
		if err != nil {
			t.Fatalf("respelt %q does not parse: %v", other, err)
		}
		if c3, err := observationsRoute.canonical(ov, current); err != nil || c3 != canon {
			t.Fatalf("%q and its respelling %q: canonical %q and %q (%v)", raw, other, canon, c3, err)
		}
	})
}
