package httpcache

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzCanonicalQuery checks that canonicalisation never panics, is
// idempotent, and ignores the order of parameters.
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{
		"region=NO&offence=x", "offence=x&region=NO", "region=NO,SE&region=DK", "from=2009&to=2010&limit=5",
		"a=%20b&a=c", "format=csv&region=NO", "=&&=x", "region=+NO+,+SE",
	} {
		f.Add(s)
	}
	isList := func(name string) bool { return name == "region" || name == "offence" }
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		c := CanonicalQuery(q, isList)
		q2, err := url.ParseQuery(c)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", c, raw, err)
		}
		if c2 := CanonicalQuery(q2, isList); c2 != c {
			t.Fatalf("not idempotent: %q -> %q -> %q", raw, c, c2)
		}
		// Reverse the order of the parameters, keeping each one's values.
		parts := strings.Split(raw, "&")
		slices.Reverse(parts)
		names := map[string]bool{}
		for _, p := range parts {
			n, _, _ := strings.Cut(p, "=")
			if d, err := url.QueryUnescape(n); err == nil {
				n = d
			}
			names[n] = true
		}
		if len(names) == len(parts) { // only when no name repeats, once decoded
			qr, err := url.ParseQuery(strings.Join(parts, "&"))
			if err == nil && CanonicalQuery(qr, isList) != c {
				t.Fatalf("order matters: %q and its reverse differ", raw)
			}
		}
	})
}
