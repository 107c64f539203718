package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// newCompareRouter is the real router over the bundled release with the
// comparison routes registered as routes.go registers them, if routes.go
// does not already.
func newCompareRouter(t testing.TB) *gin.Engine {
	t.Helper()
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		t.Fatalf("decode bundled release: %v", err)
	}
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	h := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	r := h.Routes(Options{})
	have := map[string]bool{}
	for _, ri := range r.Routes() {
		have[ri.Path] = true
	}
	for _, rt := range []struct {
		path string
		rt   route
		fn   func(*gin.Context) error
	}{
		{"/v1/compare.svg", compareRoute, h.getCompareSVG},
		{"/v1/compare.png", comparePNGRoute, h.getComparePNG},
		{"/embed/compare", embedCompareRoute, h.embedCompare},
	} {
		if !have[rt.path] {
			h.get(&r.RouterGroup, rt.path, rt.rt, rt.fn)
		}
	}
	return r
}

// nordic is human trafficking in the Nordic countries: in 2020 Denmark's
// figure is suppressed (<5) and Iceland's a small count; in 2021 neither
// has a figure.
const nordic = "offence=human-trafficking&measure=reported-offences&region=NO,SE,DK,FI,IS"

// titles are the bars' tooltips in the order drawn.
var titles = regexp.MustCompile(`<g class="bar"><title>([^<]*)</title>`)

func TestCompareSVG(t *testing.T) {
	r := newCompareRouter(t)
	tests := []struct {
		name   string
		target string
		lang   string
		bars   []string // the bars' tooltips, in the order drawn
		notes  []string // in the description
	}{
		{"counts, suppressed and small", "/v1/compare.svg?" + nordic + "&period=2020", "en",
			[]string{"Sweden: 196", "Finland: 111", "Norway: 39", "Iceland: 17 *", "Denmark: &lt;5"},
			[]string{"The source published no number for Denmark (&lt;5).", "drawn as an empty outline, not as zero",
				"* Small count (below 20) for Iceland"}},
		{"gaps", "/v1/compare.svg?" + nordic + "&period=2021", "en",
			[]string{"Sweden: 140", "Finland: 129", "Norway: 29", "Denmark: no figure", "Iceland: no figure"},
			[]string{"No figure for Denmark and Iceland in 2021."}},
		{"rates where a population exists", "/v1/compare.svg?" + nordic + "&period=2020&per=100000", "en",
			[]string{"Norway: 0.73", "Denmark: &lt;5", "Finland: no rate", "Iceland: no rate", "Sweden: no rate"},
			[]string{"No rate for Finland, Iceland and Sweden", "The source published no number for Denmark (&lt;5)."}},
		{"Norwegian", "/v1/compare.svg?" + nordic + "&period=2020&per=100000&lang=nb", "nb",
			[]string{"Norge: 0,73", "Danmark: &lt;5", "Finland: ingen rate", "Island: ingen rate", "Sverige: ingen rate"},
			[]string{"Kilden publiserte ikke noe tall for Danmark (&lt;5).", "ikke som null"}},
		{"one region", "/v1/compare.svg?offence=human-trafficking&measure=reported-offences&region=NO&period=2020", "en",
			[]string{"Norway: 39"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(r, tt.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200\n%s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "image/svg+xml" {
				t.Errorf("Content-Type: got %q, want image/svg+xml", got)
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != embedCSP {
				t.Errorf("Content-Security-Policy: got %q, want %q", got, embedCSP)
			}
			if got := rec.Header().Get("Content-Language"); got != tt.lang {
				t.Errorf("Content-Language: got %q, want %q", got, tt.lang)
			}
			body := rec.Body.String()
			var got []string
			for _, m := range titles.FindAllStringSubmatch(body, -1) {
				got = append(got, m[1])
			}
			if strings.Join(got, "|") != strings.Join(tt.bars, "|") {
				t.Errorf("bars: got %q, want %q", got, tt.bars)
			}
			desc := body[strings.Index(body, "<desc"):strings.Index(body, "</desc>")]
			for _, n := range tt.notes {
				if !strings.Contains(desc, n) {
					t.Errorf("description: got %q, want it to hold %q", desc, n)
				}
			}
			if strings.Contains(body, `width="0"`) {
				t.Errorf("got a bar of width 0, want outlines for bars without a number")
			}
		})
	}
}

func TestEmbedCompare(t *testing.T) {
	r := newCompareRouter(t)
	rec := serve(r, "/embed/compare?"+nordic+"&period=2020")
	if rec.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200\n%s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != embedPageCSP {
		t.Errorf("Content-Security-Policy: got %q, want %q", got, embedPageCSP)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want text/html", got)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`<html lang="en" data-theme="light">`,
		"<h1>Human trafficking: reported offences, 2020</h1>",
		`<span class="notes">The source published no number for Denmark (&lt;5).`,
		"Source: UNODC",
		"Licence: ",
		`<a href="/v1/series?from=2020&amp;measure=reported-offences&amp;offence=human-trafficking&amp;region=DK%2CFI%2CIS%2CNO%2CSE&amp;to=2020"`,
		"<svg ",
		`<th scope="col">Region</th>`,
		// The table in the order drawn, Denmark's cell what the source printed.
		`<tr><th scope="row">Sweden</th><td class="n">196</td><td></td></tr>`,
		`<tr><th scope="row">Iceland</th><td class="n">17</td><td>small-count</td></tr>`,
		`<tr><th scope="row">Denmark</th><td class="n">&lt;5</td><td>suppressed</td></tr>`,
		// Feed readers find the releases and their changes.
		`<link rel="alternate" type="application/atom+xml" href="http://example.com/v1/releases.atom"`,
		// The reader's download: the same figures as CSV.
		`<a href="/v1/series?format=csv&amp;from=2020&amp;measure=reported-offences&amp;offence=human-trafficking&amp;region=DK%2CFI%2CIS%2CNO%2CSE&amp;to=2020" download>Download data (CSV)</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page: got no %q in\n%s", want, body)
		}
	}
	// The theme is the page's look only: the data links stay as they
	// were, the page's own URL keeps it.
	dark := serve(r, "/embed/compare?"+nordic+"&period=2020&theme=dark").Body.String()
	for _, want := range []string{`data-theme="dark"`, `&amp;theme=dark`, `<a href="/v1/series?format=csv&amp;from=2020&amp;measure=reported-offences&amp;offence=human-trafficking&amp;region=DK%2CFI%2CIS%2CNO%2CSE&amp;to=2020" download>`} {
		if !strings.Contains(dark, want) {
			t.Errorf("dark page: got no %q in\n%s", want, dark)
		}
	}
	// One inline script, the series page's height script, allowed by its
	// hash and by nothing else.
	scripts := regexp.MustCompile(`(?s)<script[^>]*>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	if len(scripts) != 1 || scripts[0][1] != heightScript {
		t.Fatalf("scripts: got %q, want the height script alone", scripts)
	}
	sum := sha256.Sum256([]byte(scripts[0][1]))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, embedCSP+";") ||
		!strings.HasSuffix(csp, "; script-src "+hash) || strings.Count(csp, "script-src") != 1 {
		t.Errorf("Content-Security-Policy: got %q, want embedCSP ending in script-src %s", csp, hash)
	}
	for _, s := range []string{"src=", "@import", "url("} {
		if strings.Contains(body, s) {
			t.Errorf("page contains %q: it must load nothing", s)
		}
	}
	if strings.Index(body, `scope="row">Sweden`) > strings.Index(body, `scope="row">Denmark`) {
		t.Errorf("table: got Denmark before Sweden, want largest first and no figure last")
	}

	nb := serve(r, "/embed/compare?"+nordic+"&period=2020&lang=nb")
	if nb.Code != http.StatusOK {
		t.Fatalf("nb: status got %d, want 200\n%s", nb.Code, nb.Body)
	}
	for _, want := range []string{`<html lang="nb" data-theme="light">`, `<th scope="col">Område</th>`, "Kilde: ", "Kilden publiserte ikke noe tall for Danmark"} {
		if !strings.Contains(nb.Body.String(), want) {
			t.Errorf("nb page: got no %q", want)
		}
	}
}

func TestComparePNG(t *testing.T) {
	r := newCompareRouter(t)
	for _, tt := range []struct {
		target string
		want   image.Point
	}{
		{"/v1/compare.png?" + nordic + "&period=2020", image.Pt(1200, 630)},
		{"/v1/compare.png?" + nordic + "&period=2020&width=640&height=360&scale=2&lang=nb", image.Pt(1280, 720)},
	} {
		rec := serve(r, tt.target)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status got %d, want 200\n%s", tt.target, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Content-Type"); got != "image/png" {
			t.Errorf("Content-Type: got %q, want image/png", got)
		}
		img, err := png.Decode(rec.Body)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got := img.Bounds().Size(); got != tt.want {
			t.Errorf("%s: size got %v, want %v", tt.target, got, tt.want)
		}
	}
}

func TestCompareRefused(t *testing.T) {
	r := newCompareRouter(t)
	many := make([]string, 41)
	for i := range many {
		many[i] = "R" + string(rune('A'+i/26)) + string(rune('A'+i%26))
	}
	tests := []struct {
		target string
		status int
		param  string
	}{
		{"/v1/compare.svg?" + nordic, 400, "period"},
		{"/v1/compare.svg?" + nordic + "&period=20x0", 400, "period"},
		{"/v1/compare.svg?" + nordic + "&period=2020&period=2021", 400, "period"},
		{"/v1/compare.svg?offence=human-trafficking,sex-purchase&measure=reported-offences&region=NO&period=2020", 400, "offence"},
		{"/v1/compare.svg?measure=reported-offences&region=NO&period=2020", 400, "offence"},
		{"/v1/compare.svg?offence=human-trafficking&measure=reported-offences&period=2020", 400, "region"},
		{"/v1/compare.svg?offence=human-trafficking&measure=reported-offences&period=2020&region=" + strings.Join(many, ","), 400, "region"},
		{"/v1/compare.svg?offence=human-trafficking&measure=reported-offences,reported-persons&region=NO&period=2020", 400, "measure"},
		{"/v1/compare.svg?" + nordic + "&period=2020&per=1000", 400, "per"},
		{"/v1/compare.svg?" + nordic + "&period=2020&from=2019", 400, "from"},
		{"/v1/compare.svg?" + nordic + "&period=2020&width=640", 400, "width"},
		{"/v1/compare.svg?" + nordic + "&period=2020&lang=de", 400, "lang"},
		{"/v1/compare.svg?" + nordic + ",nowhere&period=2020", 400, "region"},
		{"/v1/compare.png?" + nordic + "&period=2020&scale=3", 400, "scale"},
		{"/embed/compare?" + nordic + "&period=2020&harmonise=2016", 400, "harmonise"},
		{"/embed/compare?" + nordic + "&period=2020&release=nope", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := serve(r, tt.target)
			if rec.Code != tt.status {
				t.Fatalf("status: got %d, want %d\n%s", rec.Code, tt.status, rec.Body)
			}
			var p problem.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("problem: %v\n%s", err, rec.Body)
			}
			if p.Parameter != tt.param {
				t.Errorf("parameter: got %q, want %q (%s)", p.Parameter, tt.param, p.Detail)
			}
		})
	}
}

// TestCompareWords fails when a comparison text is missing in a language
// the charts offer.
func TestCompareWords(t *testing.T) {
	for _, l := range chartLangs {
		w, ok := compareWordsOf[l]
		if !ok {
			t.Errorf("%s: got no compare words, want them", l)
			continue
		}
		for _, s := range []string{w.Title, w.BarChart, w.Region, w.NoFigure, w.NoRate, w.SmallMark, w.Suppressed,
			w.Gap, w.Small, w.NoRateNote, w.NoFigures, w.OutlineNotZero} {
			if s == "" {
				t.Errorf("%s: got an empty compare word, want every one filled: %+v", l, w)
			}
		}
	}
}
