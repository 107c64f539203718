package httpcache

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return q
}

func TestCanonicalQueryEqual(t *testing.T) {
	lists := func(name string) bool { return slices.Contains([]string{"offence", "region"}, name) }
	tests := []struct {
		name   string
		a, b   string
		isList func(string) bool
	}{
		{"order of parameters", "region=NO&offence=x", "offence=x&region=NO", lists},
		{"comma list and repeats", "region=NO,SE", "region=NO&region=SE", lists},
		{"spaces around items", "region=NO,%20SE", "region=NO&region=SE", lists},
		{"mixed lists", "region=NO,SE&region=DK", "region=NO&region=SE,DK", lists},
		{"format left out", "region=NO&format=csv", "region=NO", lists},
		{"escaping", "offence=a%2Fb", "offence=a/b", lists},
		{"nil isList splits every parameter", "from=2009,2010", "from=2009&from=2010", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := CanonicalQuery(mustQuery(t, tt.a), tt.isList)
			b := CanonicalQuery(mustQuery(t, tt.b), tt.isList)
			if a != b {
				t.Errorf("CanonicalQuery(%q) = %q, CanonicalQuery(%q) = %q, want them equal", tt.a, a, tt.b, b)
			}
		})
	}
}

func TestCanonicalQueryDiffers(t *testing.T) {
	lists := func(name string) bool { return slices.Contains([]string{"offence", "region"}, name) }
	tests := []struct {
		name string
		a, b string
	}{
		{"order of list values matters", "region=NO,SE", "region=SE,NO"},
		{"scalar comma is not a list", "cursor=a,b", "cursor=a&cursor=b"},
		{"scalar repeat order", "cursor=a&cursor=b", "cursor=b&cursor=a"},
		{"empty value is kept", "region=", ""},
		{"empty list item is kept", "region=NO,", "region=NO"},
		{"case is kept", "region=no", "region=NO"},
		{"value cannot pose as a parameter", "offence=x%26region%3DNO", "offence=x&region=NO"},
		{"comma inside a scalar is escaped", "limit=1,0", "limit=10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := CanonicalQuery(mustQuery(t, tt.a), lists)
			b := CanonicalQuery(mustQuery(t, tt.b), lists)
			if a == b {
				t.Errorf("CanonicalQuery(%q) and CanonicalQuery(%q) are both %q, want them different", tt.a, tt.b, a)
			}
		})
	}
}

func TestCanonicalQueryForm(t *testing.T) {
	got := CanonicalQuery(mustQuery(t, "region=SE&offence=sex-purchase&region=NO,DK&limit=10&format=csv"),
		func(name string) bool { return name == "region" || name == "offence" })
	want := "limit=10&offence=sex-purchase&region=SE,NO,DK"
	if got != want {
		t.Errorf("CanonicalQuery: got %q, want %q", got, want)
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		query, accept string
		want          string
		ok            bool
	}{
		{"", "", "json", true},
		{"", "*/*", "json", true},
		{"", "text/csv", "csv", true},
		{"", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "accept=text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"", "application/json;q=0.5, text/csv", "accept=application/json;q=0.5,text/csv", true},
		{"", "text/csv;q=0, application/json", "accept=text/csv;q=0,application/json", true},
		{"", "application/vnd.json-stat+json", "jsonstat", true},
		{"", "image/svg+xml", "svg", true},
		{"", "image/png", "accept=image/png", true},
		{"format=csv", "application/json", "csv", true},
		{"format=jsonstat", "", "jsonstat", true},
		{"format=xml", "", "", false},
		{"format=CSV", "", "", false},
		{"format=csv&format=json", "", "", false},
	}
	for _, tt := range tests {
		got, ok := Negotiate(mustQuery(t, tt.query), tt.accept)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Negotiate(%q, %q): got %q, %v, want %q, %v", tt.query, tt.accept, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"gzip;q=0", false},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false},
		{"identity", false},
		{"br", false},
	}
	for _, tt := range tests {
		if got := AcceptsGzip(tt.header); got != tt.want {
			t.Errorf("AcceptsGzip(%q): got %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestKeyAndETag(t *testing.T) {
	base := Key("r1", "2024-01", "/v1/observations", "region=NO", "json", true)
	variants := []string{
		Key("r2", "2024-01", "/v1/observations", "region=NO", "json", true),
		Key("r1", "2024-02", "/v1/observations", "region=NO", "json", true),
		Key("r1", "2024-01", "/v1/regions", "region=NO", "json", true),
		Key("r1", "2024-01", "/v1/observations", "region=SE", "json", true),
		Key("r1", "2024-01", "/v1/observations", "region=NO", "csv", true),
		Key("r1", "2024-01", "/v1/observations", "region=NO", "json", false),
	}
	seen := map[string]bool{ETag(base): true}
	for _, k := range variants {
		if k == base {
			t.Errorf("Key %q equals the base key, want it different", k)
		}
		if seen[ETag(k)] {
			t.Errorf("ETag(%q) = %s repeats another key's tag", k, ETag(k))
		}
		seen[ETag(k)] = true
	}
	// The tag is a pure function of the key: the same in every process and
	// after every restart. This value pins it.
	if got, want := ETag("k"), `"8254c329a92850f6d539dd376f4816ee"`; got != want {
		t.Errorf("ETag(\"k\"): got %s, want %s", got, want)
	}
}

func TestMatchesETag(t *testing.T) {
	const etag = `"abc"`
	tests := []struct {
		header string
		want   bool
	}{
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`"x", "abc"`, true},
		{`"x",W/"abc" , "y"`, true},
		{`"abcd"`, false},
		{`abc`, false},
		{`"x"`, false},
	}
	for _, tt := range tests {
		if got := matchesETag(tt.header, etag); got != tt.want {
			t.Errorf("matchesETag(%q, %s): got %v, want %v", tt.header, etag, got, tt.want)
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	tests := []entry{
		{},
		{body: []byte("body")},
		{header: [][2]string{{"Content-Type", "text/csv"}, {"Link", "<a>"}, {"Link", "<b>"}}, body: []byte{0, 1, 2}},
	}
	for _, want := range tests {
		got, err := decodeEntry(want.encode())
		if err != nil {
			t.Fatalf("decodeEntry: %v", err)
		}
		if !slices.Equal(got.header, want.header) || string(got.body) != string(want.body) {
			t.Errorf("round trip: got %+v, want %+v", got, want)
		}
	}
	for _, b := range [][]byte{nil, {2}, {1, 5}, {1, 1, 200}} {
		if _, err := decodeEntry(b); err == nil {
			t.Errorf("decodeEntry(%v): got nil error, want one", b)
		}
	}
}

func TestNotModifiedSince(t *testing.T) {
	release := time.Date(2024, 3, 1, 12, 0, 0, 500, time.UTC)
	tests := []struct {
		ims  string
		want bool
	}{
		{"", false},
		{release.Format(http.TimeFormat), true},
		{release.Add(time.Hour).Format(http.TimeFormat), true},
		{release.Add(-time.Hour).Format(http.TimeFormat), false},
		{"yesterday", false},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if tt.ims != "" {
			r.Header.Set("If-Modified-Since", tt.ims)
		}
		if got := notModifiedSince(r, release); got != tt.want {
			t.Errorf("notModifiedSince(%q): got %v, want %v", tt.ims, got, tt.want)
		}
	}
}
