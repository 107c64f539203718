package handlers_test

import (
	"encoding/json"
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/problem"
)

// oembedTarget is the oEmbed request for the URL of an embed page.
func oembedTarget(page string, more ...string) string {
	return "/oembed?" + strings.Join(append([]string{"url=" + url.QueryEscape(page)}, more...), "&")
}

// TestOEmbed asks for the oEmbed of embed page URLs, good and bad. The
// test requests' Host is example.com.
func TestOEmbed(t *testing.T) {
	r, _ := newRouter(t)
	const page = "http://example.com" + embedTarget
	src := `src="http://example.com/embed/series?measure=reported-persons&amp;offence=sex-purchase&amp;region=NO"`
	tests := []struct {
		name          string
		target        string
		header        []string
		want          int
		width, height int
		html          string // in the iframe, when 200
		title         string
		param         string // the problem's parameter, when 400
	}{
		{"embed page", oembedTarget(page), nil, 200, 640, 550, src, "Purchase of sexual services, Norway: persons reported", ""},
		{"format json", oembedTarget(page, "format=json"), nil, 200, 640, 550, src, "", ""},
		{"maxwidth narrows", oembedTarget(page, "maxwidth=320"), nil, 200, 320, 430, `width="320" height="430"`, "", ""},
		{"maxwidth over the default", oembedTarget(page, "maxwidth=2000"), nil, 200, 640, 550, `width="640" height="550"`, "", ""},
		{"maxheight bounds", oembedTarget(page, "maxwidth=480", "maxheight=300"), nil, 200, 480, 300, `width="480" height="300"`, "", ""},
		{"spelling of the page URL", oembedTarget("http://EXAMPLE.com/embed/series?region=NO&measure=reported-persons&offence=sex-purchase&small=20"), nil, 200, 640, 550, src, "", ""},
		{"https behind a proxy", oembedTarget("https://example.com" + embedTarget), []string{"X-Forwarded-Proto", "https"}, 200, 640, 550, `src="https://example.com/embed/series?`, "", ""},
		{"lang of the page", oembedTarget(page + "&lang=nb"), nil, 200, 640, 550, `region=NO&amp;lang=nb"`, "Kjøp av seksuelle tjenester, Norge: personer anmeldt", ""},
		{"lang of the request", oembedTarget(page), []string{"Accept-Language", "nb"}, 200, 640, 550, `lang=nb"`, "Kjøp av seksuelle tjenester, Norge: personer anmeldt", ""},
		{"six series", oembedTarget("http://example.com/embed/series?offence=sex-purchase,human-trafficking&region=NO,SE,DK&measure=reported-offences"), nil, 200, 640, 670, `height="670"`, "", ""},
		{"another host", oembedTarget("http://krimstat.example.org" + embedTarget), nil, 404, 0, 0, "", "", ""},
		{"another port", oembedTarget("http://example.com:8080" + embedTarget), nil, 404, 0, 0, "", "", ""},
		{"not an embed page", oembedTarget("http://example.com/v1/series?offence=sex-purchase&region=NO&measure=reported-persons"), nil, 404, 0, 0, "", "", ""},
		{"embed page that does not exist", oembedTarget("http://example.com/embed/map?region=NO"), nil, 404, 0, 0, "", "", ""},
		{"unknown offence", oembedTarget("http://example.com/embed/series?offence=nope&region=NO&measure=reported-persons"), nil, 400, 0, 0, "", "", "url"},
		{"unknown release", oembedTarget(page + "&release=nope"), nil, 404, 0, 0, "", "", ""},
		{"format xml", oembedTarget(page, "format=xml"), nil, 501, 0, 0, "", "", ""},
		{"format yaml", oembedTarget(page, "format=yaml"), nil, 501, 0, 0, "", "", ""},
		{"maxwidth not a number", oembedTarget(page, "maxwidth=wide"), nil, 400, 0, 0, "", "", "maxwidth"},
		{"maxwidth zero", oembedTarget(page, "maxwidth=0"), nil, 400, 0, 0, "", "", "maxwidth"},
		{"maxheight negative", oembedTarget(page, "maxheight=-1"), nil, 400, 0, 0, "", "", "maxheight"},
		{"maxwidth twice", oembedTarget(page, "maxwidth=300", "maxwidth=400"), nil, 400, 0, 0, "", "", "maxwidth"},
		{"no url", "/oembed?format=json", nil, 400, 0, 0, "", "", "url"},
		{"relative url", oembedTarget(embedTarget), nil, 400, 0, 0, "", "", "url"},
		{"bad query in the url", oembedTarget(page + "&from=x"), nil, 400, 0, 0, "", "", "url"},
		{"unknown parameter in the url", oembedTarget(page + "&colour=red"), nil, 400, 0, 0, "", "", "url"},
		{"unknown parameter", oembedTarget(page, "callback=f"), nil, 400, 0, 0, "", "", "callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, r, "GET", tt.target, tt.header...)
			if rec.Code != tt.want {
				t.Fatalf("status: got %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want != 200 {
				if ct := rec.Header().Get("Content-Type"); ct != problem.MediaType {
					t.Errorf("Content-Type: got %q, want %s", ct, problem.MediaType)
				}
				p := decode[problem.Problem](t, rec)
				if p.Status != tt.want || p.Parameter != tt.param {
					t.Errorf("problem: got status %d parameter %q, want %d %q: %s", p.Status, p.Parameter, tt.want, tt.param, rec.Body)
				}
				if tt.want == 501 && (p.Type != problem.TypeBase+"format-not-implemented" || !strings.Contains(p.Detail, "json")) {
					t.Errorf("problem: got type %s detail %q, want format-not-implemented saying json", p.Type, p.Detail)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type: got %q, want application/json; charset=utf-8", ct)
			}
			got := decode[handlers.OEmbed](t, rec)
			scheme := "http"
			if strings.Contains(tt.name, "https") {
				scheme = "https"
			}
			if got.Version != "1.0" || got.Type != "rich" || got.ProviderName != "Krimstat" || got.ProviderURL != scheme+"://example.com" || got.CacheAge != 86400 {
				t.Errorf("got %+v, want version 1.0, type rich, provider Krimstat at %s://example.com, cache_age 86400", got, scheme)
			}
			if got.Width != tt.width || got.Height != tt.height {
				t.Errorf("size: got %d×%d, want %d×%d", got.Width, got.Height, tt.width, tt.height)
			}
			if !strings.HasPrefix(got.HTML, "<iframe ") || !strings.HasSuffix(got.HTML, "></iframe>") || !strings.Contains(got.HTML, tt.html) ||
				!strings.Contains(got.HTML, ` style="border:0;width:100%" `) || !strings.Contains(got.HTML, ` loading="lazy"`) ||
				!strings.Contains(got.HTML, ` title="`+got.Title+`"`) {
				t.Errorf("html: got %s, want an iframe with %s, the title, border:0;width:100%% and lazy loading", got.HTML, tt.html)
			}
			if tt.title != "" && got.Title != tt.title {
				t.Errorf("title: got %q, want %q", got.Title, tt.title)
			}
		})
	}
}

// TestOEmbedShape checks the members of an oEmbed answer: oEmbed 1.0's
// names, nothing else, and the type each has in the spec.
func TestOEmbedShape(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", oembedTarget("http://example.com"+embedTarget, "format=json"))
	if rec.Code != 200 {
		t.Fatalf("status: got %d, want 200: %s", rec.Code, rec.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"version": "string", "type": "string", "provider_name": "string", "provider_url": "string",
		"title": "string", "html": "string", "width": "number", "height": "number", "cache_age": "number"}
	for name, v := range got {
		kind := map[bool]string{true: "string", false: "number"}[isString(v)]
		if want[name] != kind {
			t.Errorf("%s: got a %s, want %q", name, kind, want[name])
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: missing", name)
		}
	}
	// The html is JSON, not HTML-escaped JSON: a consumer inserts it as it is.
	if !strings.Contains(rec.Body.String(), `"html":"<iframe src=\"http://example.com/embed/series?`) {
		t.Errorf("body: got %s, want the iframe unescaped", rec.Body)
	}
}

func isString(v any) bool { _, ok := v.(string); return ok }

// TestOEmbedThroughCache sends oEmbed and embed requests through the
// response cache: format=xml is never answered from the entry of
// format=json, and no client's Host is served to another.
func TestOEmbedThroughCache(t *testing.T) {
	r := edgeRouter(t, 1000)
	const page = "http://example.com" + embedTarget
	for i, tt := range []struct {
		target string
		want   int
	}{
		{oembedTarget(page, "format=json"), 200},
		{oembedTarget(page, "format=json"), 200},
		{oembedTarget(page), 200},
		{oembedTarget(page, "format=xml"), 501},
		{oembedTarget(page, "format=xml"), 501},
	} {
		if rec := do(t, r, "GET", tt.target); rec.Code != tt.want {
			t.Errorf("request %d, %s: got %d, want %d (X-Cache %s)", i, tt.target, rec.Code, tt.want, rec.Header().Get("X-Cache"))
		}
	}

	// The same URL asked of another host is not an embed page of it.
	serve := func(host, target string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", target, nil)
		req.Host = host
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}
	for _, host := range []string{"example.com", "evil.example", "example.com", "evil.example"} {
		want := map[string]int{"example.com": 200, "evil.example": 404}[host]
		if rec := serve(host, oembedTarget(page)); rec.Code != want {
			t.Errorf("oEmbed asked of %s: got %d, want %d", host, rec.Code, want)
		}
	}
	// Each client's embed page names the origin it asked: the Host and
	// X-Forwarded-Proto of one are never served to another, and a page
	// asked again of an origin is answered from the cache.
	cached := map[string]bool{}
	for _, c := range []struct{ host, proto, want string }{
		{"example.com", "https", "https://example.com"},
		{"evil.example", "", "http://evil.example"},
		{"example.com", "https", "https://example.com"},
		{"example.com", "", "http://example.com"},
		{"evil.example", "https", "https://evil.example"},
	} {
		rec := serve(c.host, embedTarget, "X-Forwarded-Proto", c.proto)
		if rec.Code != 200 {
			t.Fatalf("embed page asked of %s: got %d, want 200", c.host, rec.Code)
		}
		var origins []string
		for _, m := range absoluteURL.FindAllStringSubmatch(rec.Body.String(), -1) {
			if m[1] != "http://www.w3.org" {
				origins = append(origins, m[1])
			}
		}
		if len(origins) != 5 || slices.ContainsFunc(origins, func(o string) bool { return o != c.want && o != url.QueryEscape(c.want) }) {
			t.Errorf("embed page asked of %s with X-Forwarded-Proto %q: got absolute URLs on %v, want 5 on %s (the page, its oEmbed, its feed, its image; X-Cache %s)",
				c.host, c.proto, origins, c.want, rec.Header().Get("X-Cache"))
		}
		if cached[c.want] && rec.Header().Get("X-Cache") != httpcache.HitLocal {
			t.Errorf("embed page asked again of %s: got X-Cache %q, want %s", c.want, rec.Header().Get("X-Cache"), httpcache.HitLocal)
		}
		cached[c.want] = true
	}
}

// absoluteURL matches the origin of an absolute URL, plain or
// query-escaped.
var absoluteURL = regexp.MustCompile(`(https?(?:://|%3A%2F%2F)[a-z0-9.:-]+)(?:/|%2F)`)

// TestOEmbedKeepsTheme pastes a dark embed page: the iframe stays dark.
func TestOEmbedKeepsTheme(t *testing.T) {
	r, _ := newRouter(t)
	page := "http://example.com/embed/series?offence=sex-purchase&region=NO&measure=reported-persons&theme=dark"
	rec := do(t, r, "GET", "/oembed?url="+url.QueryEscape(page))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if o := decode[handlers.OEmbed](t, rec); !strings.Contains(o.HTML, "theme=dark") {
		t.Errorf("html: got %s, want the iframe to keep theme=dark", o.HTML)
	}
}

// compareTarget is the embed page of human trafficking in the Nordic
// countries in 2020.
const compareTarget = "/embed/compare?offence=human-trafficking&measure=reported-offences&region=NO,SE,DK,FI,IS&period=2020"

// compareCanonical is compareTarget's canonical query.
const compareCanonical = "measure=reported-offences&offence=human-trafficking&period=2020&region=DK%2CFI%2CIS%2CNO%2CSE"

// TestOEmbedCompare asks for the oEmbed of comparison pages: the iframe is
// the page with its canonical query, titled as the comparison.
func TestOEmbedCompare(t *testing.T) {
	r, _ := newRouter(t)
	const page = "http://example.com" + compareTarget
	src := `src="http://example.com/embed/compare?` + strings.ReplaceAll(compareCanonical, "&", "&amp;") + `"`
	for _, tt := range []struct {
		name, target  string
		header        []string
		want          int
		width, height int
		html, title   string
		param         string
	}{
		{"comparison", oembedTarget(page), nil, 200, 640, 402, src, "Human trafficking: reported offences, 2020", ""},
		{"maxwidth narrows", oembedTarget(page, "maxwidth=320"), nil, 200, 320, 391, `width="320" height="391"`, "Human trafficking: reported offences, 2020", ""},
		{"maxheight bounds", oembedTarget(page, "maxheight=300"), nil, 200, 640, 300, `height="300"`, "", ""},
		{"lang of the page", oembedTarget(page + "&lang=nb"), nil, 200, 640, 402, `region=DK%2CFI%2CIS%2CNO%2CSE&amp;lang=nb"`, "Menneskehandel: anmeldte lovbrudd, 2020", ""},
		{"lang of the request", oembedTarget(page), []string{"Accept-Language", "nb"}, 200, 640, 402, `&amp;lang=nb"`, "Menneskehandel: anmeldte lovbrudd, 2020", ""},
		{"https behind a proxy", oembedTarget("https://example.com" + compareTarget), []string{"X-Forwarded-Proto", "https"}, 200, 640, 402, `src="https://example.com/embed/compare?`, "", ""},
		{"another host", oembedTarget("http://evil.example" + compareTarget), nil, 404, 0, 0, "", "", ""},
		{"no period", oembedTarget("http://example.com/embed/compare?offence=human-trafficking&measure=reported-offences&region=NO"), nil, 400, 0, 0, "", "", "url"},
		{"theme: the page has none", oembedTarget(page + "&theme=dark"), nil, 400, 0, 0, "", "", "url"},
		{"a series parameter", oembedTarget(page + "&from=2019"), nil, 400, 0, 0, "", "", "url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, r, "GET", tt.target, tt.header...)
			if rec.Code != tt.want {
				t.Fatalf("status: got %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want != 200 {
				if p := decode[problem.Problem](t, rec); p.Status != tt.want || p.Parameter != tt.param {
					t.Errorf("problem: got status %d parameter %q, want %d %q: %s", p.Status, p.Parameter, tt.want, tt.param, rec.Body)
				}
				return
			}
			got := decode[handlers.OEmbed](t, rec)
			if got.Version != "1.0" || got.Type != "rich" || got.ProviderName != "Krimstat" || got.CacheAge != 86400 {
				t.Errorf("got %+v, want version 1.0, type rich, provider Krimstat, cache_age 86400", got)
			}
			if got.Width != tt.width || got.Height != tt.height {
				t.Errorf("size: got %d×%d, want %d×%d", got.Width, got.Height, tt.width, tt.height)
			}
			if !strings.HasPrefix(got.HTML, "<iframe ") || !strings.Contains(got.HTML, tt.html) ||
				!strings.Contains(got.HTML, ` title="`+got.Title+`"`) || !strings.Contains(got.HTML, "/embed/compare?") {
				t.Errorf("html: got %s, want an iframe of /embed/compare with %s and the title", got.HTML, tt.html)
			}
			if tt.title != "" && got.Title != tt.title {
				t.Errorf("title: got %q, want %q", got.Title, tt.title)
			}
		})
	}
}

// TestEmbedCompareHead checks the comparison page's oEmbed discovery link
// and social card tags: absolute URLs on the origin the client asked,
// the image the PNG of the same comparison, the link the page's oEmbed.
func TestEmbedCompareHead(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", compareTarget+"&small=20&lang=nb", "X-Forwarded-Proto", "https")
	if rec.Code != 200 {
		t.Fatalf("status: got %d, want 200: %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	const title = "Menneskehandel: anmeldte lovbrudd, 2020"
	canonical := strings.ReplaceAll(compareCanonical, "&", "&amp;") + "&amp;lang=nb"
	for _, s := range []string{
		`<link rel="alternate" type="application/json+oembed" href="https://example.com/oembed?url=` +
			url.QueryEscape("https://example.com/embed/compare?"+compareCanonical+"&lang=nb") +
			`&amp;format=json" title="` + title + `">`,
		`<meta property="og:type" content="website">`,
		`<meta property="og:title" content="` + title + `">`,
		`<meta property="og:description" content="Kilde: UNODC`,
		`<meta property="og:url" content="https://example.com/embed/compare?` + canonical + `">`,
		`<meta property="og:image" content="https://example.com/v1/compare.png?` + canonical + `">`,
		`<meta name="twitter:card" content="summary_large_image">`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("body: want it to contain %s\n%.2000s", s, body)
		}
	}
	image := regexp.MustCompile(`<meta property="og:image" content="https://example.com([^"]+)"`).FindStringSubmatch(body)
	if len(image) != 2 {
		t.Fatal("no og:image")
	}
	if rec := do(t, r, "GET", html.UnescapeString(image[1])); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
		t.Errorf("og:image %s: got %d %s, want 200 image/png", image[1], rec.Code, rec.Header().Get("Content-Type"))
	}
	link := regexp.MustCompile(`type="application/json\+oembed" href="([^"]+)"`).FindStringSubmatch(body)
	if len(link) != 2 {
		t.Fatal("no oEmbed link")
	}
	u, err := url.Parse(html.UnescapeString(link[1]))
	if err != nil {
		t.Fatal(err)
	}
	rec = do(t, r, "GET", u.RequestURI(), "X-Forwarded-Proto", "https")
	if got := decode[handlers.OEmbed](t, rec); rec.Code != 200 || got.Title != title ||
		!strings.Contains(got.HTML, `src="https://example.com/embed/compare?`+canonical+`"`) {
		t.Errorf("oEmbed of the link: got %d %+v, want 200 titled %s, the iframe the page", rec.Code, got, title)
	}
}

// TestEmbedCompareThroughCache asks for the comparison page through the
// response cache from several origins: each client's page names the
// origin it asked, and a page asked again of an origin is a cache hit.
func TestEmbedCompareThroughCache(t *testing.T) {
	r := edgeRouter(t, 1000)
	cached := map[string]bool{}
	for _, c := range []struct{ host, proto, want string }{
		{"example.com", "https", "https://example.com"},
		{"evil.example", "", "http://evil.example"},
		{"example.com", "https", "https://example.com"},
		{"example.com", "", "http://example.com"},
		{"evil.example", "https", "https://evil.example"},
		{"evil.example", "", "http://evil.example"},
	} {
		req := httptest.NewRequest("GET", compareTarget, nil)
		req.Host = c.host
		if c.proto != "" {
			req.Header.Set("X-Forwarded-Proto", c.proto)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("comparison page asked of %s: got %d, want 200", c.host, rec.Code)
		}
		var origins []string
		for _, m := range absoluteURL.FindAllStringSubmatch(rec.Body.String(), -1) {
			if m[1] != "http://www.w3.org" {
				origins = append(origins, m[1])
			}
		}
		if len(origins) != 5 || slices.ContainsFunc(origins, func(o string) bool { return o != c.want && o != url.QueryEscape(c.want) }) {
			t.Errorf("comparison page asked of %s with X-Forwarded-Proto %q: got absolute URLs on %v, want 5 on %s (the page, its oEmbed, its feed, its image; X-Cache %s)",
				c.host, c.proto, origins, c.want, rec.Header().Get("X-Cache"))
		}
		if cached[c.want] && rec.Header().Get("X-Cache") != httpcache.HitLocal {
			t.Errorf("comparison page asked again of %s: got X-Cache %q, want %s", c.want, rec.Header().Get("X-Cache"), httpcache.HitLocal)
		}
		cached[c.want] = true
	}
}
