package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/krimstat/krimstat/handlers"
)

const (
	embedTarget        = "/embed/series?offence=sex-purchase&region=NO&measure=reported-persons"
	embedSeveralTarget = "/embed/series?offence=human-trafficking&region=SE,NO&measure=reported-offences"
	embedCompareTarget = "/embed/compare?offence=human-trafficking&measure=reported-offences&region=NO,SE,DK,FI,IS&period=2020"
)

// TestEmbedPage checks the embed page's headers and markup without a browser.
func TestEmbedPage(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", embedTarget)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("got %d %s, want 200 text/html", rec.Code, rec.Header().Get("Content-Type"))
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors *") {
		t.Errorf("Content-Security-Policy: got %q", csp)
	}
	body := rec.Body.String()
	for _, s := range []string{`<svg xmlns="http://www.w3.org/2000/svg"`, `role="img"`, `aria-labelledby="chart-title chart-desc"`,
		`<desc id="chart-desc">`, "2009: 334; 2010: 359", "<table>", `<th scope="row">2010</th><td class="n">359</td><td class="n">&#43;25 (&#43;7.5 %)</td>`,
		"Source: Stortinget (answer by the Minister of Justice)", "Licence: Stortinget (answer by the Minister of Justice): public record; cite the source.",
		`href="/v1/series?measure=reported-persons&amp;offence=sex-purchase&amp;region=NO"`} {
		if !strings.Contains(body, s) {
			t.Errorf("body: want it to contain %s\n%s", s, body)
		}
	}
	for _, s := range []string{"src=", "@import", "url("} {
		if strings.Contains(body, s) {
			t.Errorf("body contains %q: the page must load nothing", s)
		}
	}
	// One inline script, the height script, allowed by its hash and by
	// nothing else.
	scripts := regexp.MustCompile(`(?s)<script[^>]*>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	if len(scripts) != 1 || !strings.Contains(scripts[0][1], `postMessage({type:"krimstat:height"`) {
		t.Fatalf("scripts: got %q, want the height script alone", scripts)
	}
	sum := sha256.Sum256([]byte(scripts[0][1]))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; script-src "+hash) || strings.Count(csp, "script-src") != 1 {
		t.Errorf("Content-Security-Policy: got %q, want it to end in script-src %s", csp, hash)
	}

	// The oEmbed discovery link and the social card tags, with absolute
	// URLs on the origin the client asked (Host and X-Forwarded-Proto).
	rec = do(t, r, "GET", embedTarget+"&small=20&lang=nb", "X-Forwarded-Proto", "https")
	body = rec.Body.String()
	const title = "Kjøp av seksuelle tjenester, Norge: personer anmeldt"
	canonical := "measure=reported-persons&amp;offence=sex-purchase&amp;region=NO&amp;lang=nb"
	for _, s := range []string{
		`<link rel="alternate" type="application/json+oembed" href="https://example.com/oembed?url=` +
			url.QueryEscape("https://example.com/embed/series?measure=reported-persons&offence=sex-purchase&region=NO&lang=nb") +
			`&amp;format=json" title="` + title + `">`,
		`<meta property="og:type" content="website">`,
		`<meta property="og:title" content="` + title + `">`,
		`<meta property="og:description" content="Kilde: Stortinget (answer by the Minister of Justice), `,
		`<meta property="og:url" content="https://example.com/embed/series?` + canonical + `">`,
		`<meta property="og:image" content="https://example.com/v1/series.png?` + canonical + `">`,
		`<meta name="twitter:card" content="summary_large_image">`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("body: want it to contain %s\n%.1500s", s, body)
		}
	}
	// The image is the PNG of the same series.
	image := regexp.MustCompile(`<meta property="og:image" content="https://example.com([^"]+)"`).FindStringSubmatch(body)
	if len(image) != 2 {
		t.Fatal("no og:image")
	}
	if rec := do(t, r, "GET", html.UnescapeString(image[1])); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
		t.Errorf("og:image %s: got %d %s, want 200 image/png", image[1], rec.Code, rec.Header().Get("Content-Type"))
	}
	// The link leads to the page's oEmbed.
	link := regexp.MustCompile(`type="application/json\+oembed" href="([^"]+)"`).FindStringSubmatch(body)
	if len(link) != 2 {
		t.Fatal("no oEmbed link")
	}
	u, err := url.Parse(html.UnescapeString(link[1]))
	if err != nil {
		t.Fatal(err)
	}
	rec = do(t, r, "GET", u.RequestURI(), "X-Forwarded-Proto", "https")
	if got := decode[handlers.OEmbed](t, rec); rec.Code != 200 || got.Title != title {
		t.Errorf("oEmbed of the link: got %d %+v, want 200 titled %s", rec.Code, got, title)
	}
	rec = do(t, r, "GET", strings.Replace(embedTarget, "/embed/series", "/v1/series.svg", 1)+"&per=100000")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(rec.Body.String(), "2009: 6.9594; 2010: 7.3896") {
		t.Errorf("svg: got %d %s %.400s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	// Klassekampen has 2009, 2012, 2019 and 2021: four markers, no line across the gaps.
	rec = do(t, r, "GET", "/v1/series.svg?offence=sex-purchase&region=NO&measure=reported-persons&source=klassekampen-2023-01-04")
	if n := strings.Count(rec.Body.String(), "<circle"); n != 4 || strings.Contains(rec.Body.String(), "<path") {
		t.Errorf("gaps: got %d markers and a path %v, want 4 markers and no path", n, strings.Contains(rec.Body.String(), "<path"))
	}
}

// TestSourceAll draws every source of sex-purchase in Norway: Stortinget
// and Klassekampen each as its own line and markers, named in the legend
// and the table, never joined; the default single-source page says which
// periods Klassekampen holds that it does not show, with a link to the
// source=all view, which has no such note.
func TestSourceAll(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", embedTarget)
	body := rec.Body.String()
	for _, want := range []string{"Other sources hold figures not shown here (Klassekampen: 2012, 2019, 2021).",
		`<a href="/embed/series?measure=reported-persons&amp;offence=sex-purchase&amp;region=NO&amp;source=all">Show every source</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("single-source page: want %q in\n%s", want, body)
		}
	}
	if rec := do(t, r, "GET", embedTarget+"&lang=nb&theme=dark"); !strings.Contains(rec.Body.String(), "Andre kilder har tall som ikke vises her (Klassekampen: 2012, 2019, 2021).") ||
		!strings.Contains(rec.Body.String(), "source=all&amp;lang=nb&amp;theme=dark\">Vis alle kilder</a>") {
		t.Errorf("single-source page in nb, dark: want the note and a link keeping lang and theme:\n%s", rec.Body)
	}
	rec = do(t, r, "GET", embedTarget+"&source=all")
	body = rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("source=all: status %d: %s", rec.Code, body)
	}
	wide := wideChart(t, body)
	if n := strings.Count(wide, `<g class="series"`); n != 2 {
		t.Errorf("source=all: got %d lines, want 2 (Stortinget, Klassekampen)", n)
	}
	if n := strings.Count(wide, "<circle"); n != 6 {
		t.Errorf("source=all: got %d markers, want 6 (2 + 4)", n)
	}
	for _, want := range []string{">Stortinget</text>", ">Klassekampen</text>", `<th scope="col">Stortinget</th><th scope="col">Klassekampen</th>`,
		`<th scope="row">2009</th><td class="n">334</td><td class="n">355 (later-vintage)</td>`, `<th scope="row">2012</th><td class="n"></td><td class="n">`,
		"Download data (CSV)", `/v1/series?measure=reported-persons&amp;offence=sex-purchase&amp;region=NO&amp;format=csv`} {
		if !strings.Contains(body, want) {
			t.Errorf("source=all: want %q in\n%s", want, body)
		}
	}
	if strings.Contains(body, "Other sources hold") {
		t.Errorf("source=all: says other sources are not shown")
	}
	// Klassekampen's 2009 and 2012 are not adjacent: its line has no
	// segment; Stortinget's 2009-2010 has one. One path in all.
	svg := do(t, r, "GET", "/v1/series.svg?offence=sex-purchase&region=NO&measure=reported-persons&source=all").Body.String()
	if n := strings.Count(svg, "<path"); n != 1 || strings.Count(svg, `<g class="series"`) != 2 {
		t.Errorf("SVG source=all: got %d paths and %d lines, want 1 path, 2 lines", n, strings.Count(svg, `<g class="series"`))
	}
	if rec := do(t, r, "GET", "/v1/series.png?offence=sex-purchase&region=NO&measure=reported-persons&source=all&width=320&height=200"); rec.Code != http.StatusOK {
		t.Errorf("PNG source=all: got %d, want 200", rec.Code)
	}
}

// TestEmbedInBrowser loads the embed page in headless Chromium from the real
// router, checks that the chart and the source line render, and that a page
// of two regions draws two lines with a legend and a column each, that the
// pages make no request outside the server, and saves screenshots.
func TestEmbedInBrowser(t *testing.T) {
	chromium := "/usr/bin/chromium"
	if _, err := exec.LookPath(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found at %s (install it with apt-get install -y chromium): %v", chromium, err)
		}
		t.Skipf("chromium not found at %s; install it with apt-get install -y chromium to run the browser test", chromium)
	}
	r, _ := newRouter(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The test server also serves a host page that frames the embed page:
	// the README's snippet, as a newsroom would paste it.
	snippet := readmeSnippet(t)
	mux := http.NewServeMux()
	mux.Handle("/", r)
	mux.HandleFunc("/test/host", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, hostPage(snippet, "http://"+ln.Addr().String()))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	host := ln.Addr().String()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(800, 700),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// The first Run starts the browser; a timeout on it would stop the
	// browser, so the deadline goes on a child context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 180*time.Second)
	defer cancelTimeout()

	// Every request the browser makes, by the page it was loading: each
	// page of the matrix below must show its own request and no other
	// host.
	var mu sync.Mutex
	var requests []string
	page := "first pages"
	byPage := map[string][]string{}
	loading := func(label string) {
		mu.Lock()
		page = label
		mu.Unlock()
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			byPage[page] = append(byPage[page], e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+embedTarget),
		chromedp.WaitVisible(".chart-wide svg[role=img]"),
		chromedp.Sleep(300*time.Millisecond), // let any late request show
	); err != nil {
		t.Fatalf("load %s: %v", embedTarget, err)
	}
	markers, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('.chart-wide svg[role=img] circle').length"))
	if err != nil || markers != 2 {
		t.Errorf("chart markers: got %d (%v), want 2 (2009 and 2010)", markers, err)
	}
	lines, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('.chart-wide svg[role=img] path').length"))
	if err != nil || lines != 1 {
		t.Errorf("chart lines: got %d (%v), want 1", lines, err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("document.querySelector('.chart-wide svg[role=img]').getBoundingClientRect().width"))
	if err != nil || width < 300 {
		t.Errorf("chart width: got %v (%v), want it to fill the page", width, err)
	}
	source, err := chromedp.Run(ctx, chromedp.Text("figcaption.source"))
	if err != nil || !strings.Contains(source, "Stortinget (answer by the Minister of Justice)") {
		t.Errorf("source line: got %q (%v), want the publisher", source, err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('table tbody tr').length"))
	if err != nil || rows != 2 {
		t.Errorf("data table rows: got %d (%v), want 2", rows, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := saveScreenshot(t, "embed-series.png", png)
	t.Logf("screenshot: %s (%d bytes); chart markers %d, source line %q", shot, len(png), markers, source)

	// Two regions: a line, a legend entry and a table column each.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+embedSeveralTarget),
		chromedp.WaitVisible(".chart-wide svg[role=img]"),
		chromedp.Sleep(300*time.Millisecond),
	); err != nil {
		t.Fatalf("load %s: %v", embedSeveralTarget, err)
	}
	lines, err = chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('.chart-wide svg[role=img] g.series path').length"))
	if err != nil || lines != 2 {
		t.Errorf("two regions: got %d lines (%v), want 2", lines, err)
	}
	legend, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		"[...document.querySelectorAll('.chart-wide svg[role=img] > text')].map(e => e.textContent).filter(s => s === 'Norway' || s === 'Sweden')"))
	if err != nil || strings.Join(legend, ",") != "Norway,Sweden" {
		t.Errorf("two regions: got legend %v (%v), want Norway and Sweden", legend, err)
	}
	// Each legend entry is drawn inside the chart, not cut off by it.
	inside, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const svg = document.querySelector('.chart-wide svg[role=img]').getBoundingClientRect();
		return [...document.querySelectorAll('.chart-wide svg[role=img] > text')].every(e => {
			const r = e.getBoundingClientRect();
			return r.left >= svg.left && r.right <= svg.right && r.top >= svg.top && r.bottom <= svg.bottom;
		});
	})()`))
	if err != nil || !inside {
		t.Errorf("two regions: legend inside the chart: got %v (%v), want true", inside, err)
	}
	head, err := chromedp.Run(ctx, chromedp.Evaluate[[]string]("[...document.querySelectorAll('table thead th')].map(e => e.textContent)"))
	if err != nil || strings.Join(head, ",") != "Period,Norway,Sweden" {
		t.Errorf("two regions: got table head %v (%v), want Period, Norway, Sweden", head, err)
	}
	rows, err = chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('table tbody tr').length"))
	if err != nil || rows != 13 {
		t.Errorf("two regions: got %d table rows (%v), want 13 (2010 to 2022)", rows, err)
	}
	png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveScreenshot(t, "embed-series-two-regions.png", png)

	// Framed in the host page, the page posts its height and the host's
	// listener sizes the iframe to it: at every width, the frame is as high
	// as the page's document, which shows whole without a scroll bar. The
	// heights differ by width (at 320 pixels the page shows its narrow
	// chart and its lines wrap), so a fixed height would be wrong somewhere.
	settled := func(label string) framed {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Poll[framed](`(() => {
			const f = document.querySelector("iframe"), d = f.contentDocument && f.contentDocument.documentElement;
			const last = window.messages[window.messages.length - 1];
			if (!last || !d || !d.querySelector("svg[role=img]") || f.style.height === "") return null;
			const doc = Math.ceil(d.getBoundingClientRect().height);
			if (last.data.height !== doc || f.getBoundingClientRect().height !== doc) return null; // a message is on its way
			return {messages: window.messages, frame: f.getBoundingClientRect().height, frameWidth: f.getBoundingClientRect().width,
				scroll: d.scrollHeight, client: d.clientHeight};
		})()`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			t.Fatalf("%s: the frame did not take the page's height from a message: %v", label, err)
		}
		for _, m := range got.Messages {
			if m.Origin != srv.URL || m.Data.Type != "krimstat:height" || m.Data.Height <= 0 {
				t.Errorf("%s: got message %+v from %s, want krimstat:height from %s", label, m.Data, m.Origin, srv.URL)
			}
		}
		if got.Scroll > got.Client {
			t.Errorf("%s: the page scrolls %d in %d, want no scroll bar", label, got.Scroll, got.Client)
		}
		got.Height = got.Messages[len(got.Messages)-1].Data.Height
		return got
	}
	heights := map[int64]int{}
	for _, width := range []int64{320, 640, 1024} {
		if err := chromedp.Do(ctx,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(srv.URL+"/test/host"),
		); err != nil {
			t.Fatalf("host page at %d px: %v", width, err)
		}
		label := fmt.Sprintf("framed at %d px", width)
		got := settled(label)
		heights[width] = got.Height
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		saveScreenshot(t, fmt.Sprintf("embed-framed-%d.png", width), png)
		t.Logf("%s: the frame is %.0f wide, the page %d high (%d messages)", label, got.FrameWidth, got.Height, len(got.Messages))
	}
	if heights[320] == heights[640] || heights[640] == heights[1024] {
		t.Errorf("heights by width: got %v, want a different height at each width", heights)
	}
	// The window narrows from 1024 to 320 pixels: the page reflows and
	// posts its new height, and the frame shrinks to it.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 900)); err != nil {
		t.Fatal(err)
	}
	if got := settled("narrowed to 320 px"); got.Height != heights[320] || len(got.Messages) < 2 {
		t.Errorf("narrowed to 320 px: got height %d after %d messages, want %d after a second message", got.Height, len(got.Messages), heights[320])
	}

	// With scripts off the page still shows, at the iframe's fixed height.
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(640, 900),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return chromedp.Void{}, err
		},
		chromedp.Navigate(srv.URL+"/test/host"),
		chromedp.Sleep(300*time.Millisecond),
	); err != nil {
		t.Fatalf("host page without scripts: %v", err)
	}
	noScript, err := chromedp.Run(ctx, chromedp.Evaluate[framed](`(() => {
		const f = document.querySelector("iframe"), d = f.contentDocument.documentElement;
		return {messages: window.messages || [], frame: f.getBoundingClientRect().height,
			charts: d.querySelectorAll(".chart-wide svg[role=img]").length, rows: d.querySelectorAll("table tbody tr").length};
	})()`))
	if err != nil || noScript.Frame != 560 || noScript.Charts != 1 || noScript.Rows != 2 || len(noScript.Messages) != 0 {
		t.Errorf("without scripts: got %+v (%v), want the chart and table in a frame of the fixed 560 px, no message", noScript, err)
	}

	// At each width, in each theme and language, with the data table open,
	// for a line chart of two regions and a bar chart of the Nordic
	// countries: the page never scrolls sideways, the theme's background is
	// drawn, every value is in the table as the language writes it, no text
	// overlaps other text, and a screenshot is kept.
	pages := []struct {
		route, target string
		cells         string              // the table cells that hold values
		want          map[string][]string // the values by language
		anyOrder      bool                // the table is sorted by value
		themes        []string
	}{
		{"/embed/series", embedSeveralTarget, "table tbody td", seriesValues(t, r, embedSeveralTarget), false, nil},
		{"/embed/compare", embedCompareTarget, "table tbody td.n", compareValues(t, r, embedCompareTarget), true, nil},
	}
	// Each page must take every language and theme, checked here rather
	// than as a browser time-out.
	for i, pg := range pages {
		for _, q := range []string{"&lang=nb", "&lang=en", "&theme=dark"} {
			if rec := do(t, r, "GET", pg.target+q); rec.Code != http.StatusOK {
				t.Fatalf("%s%s: got %d, want 200: %s", pg.target, q, rec.Code, rec.Body)
			}
		}
		pages[i].themes = []string{"light", "dark"}
	}
	var matrix, texts []string
	for _, pg := range pages {
		for _, width := range []int64{320, 640, 1024} {
			for _, theme := range pg.themes {
				for _, lang := range []string{"nb", "en"} {
					query, shown := "&lang="+lang, theme
					if theme != "" {
						query = "&theme=" + theme + query
					} else {
						shown = "light" // the default
					}
					label := fmt.Sprintf("%s at %d px, %s, %s", pg.route, width, shown, lang)
					matrix = append(matrix, label)
					loading(label)
					if err := chromedp.Do(ctx,
						chromedp.EmulateViewport(width, 900),
						chromedp.Navigate(srv.URL+pg.target+query),
						chromedp.WaitVisible(chromedp.CSS("figcaption")),
					); err != nil {
						t.Fatalf("%s: %v", label, err)
					}
					got, err := chromedp.Run(ctx, chromedp.Evaluate[pageFit](`(() => {
						const details = document.querySelector("details");
						if (details) details.open = true;
						const d = document.documentElement;
						return {scrollWidth: d.scrollWidth, innerWidth: window.innerWidth,
							background: getComputedStyle(document.body).backgroundColor,
							chartBackground: getComputedStyle(document.querySelector("svg[role=img] > rect")).fill,
							cells: [...document.querySelectorAll(`+strconv.Quote(pg.cells)+`)].map(e => e.textContent).filter(s => s !== "")};
					})()`))
					if err != nil {
						t.Fatalf("%s: %v", label, err)
					}
					if got.ScrollWidth > got.InnerWidth {
						t.Errorf("%s: the page is %d wide in a window of %d, want no horizontal scroll", label, got.ScrollWidth, got.InnerWidth)
					}
					bg := map[string]string{"light": "rgb(255, 255, 255)", "dark": "rgb(21, 24, 28)"}[shown]
					if got.Background != bg || got.ChartBackground != bg {
						t.Errorf("%s: got background %s, chart %s, want %s", label, got.Background, got.ChartBackground, bg)
					}
					cells, want := got.Cells, pg.want[lang]
					if pg.anyOrder {
						cells, want = slices.Sorted(slices.Values(cells)), slices.Sorted(slices.Values(want))
					}
					if strings.Join(cells, "|") != strings.Join(want, "|") {
						t.Errorf("%s: table values got %q, want %q", label, cells, want)
					}
					// The table is open: its text counts too.
					over, err := chromedp.Run(ctx, chromedp.Evaluate[overlaps](overlapScript))
					if err != nil {
						t.Fatalf("%s: overlaps: %v", label, err)
					}
					if over.Texts < 10 {
						t.Errorf("%s: measured %d texts, want the chart's and the table's", label, over.Texts)
					}
					for _, o := range over.Overlaps {
						t.Errorf("%s: overlapping text: %v", label, o)
					}
					// A phone shows the narrow chart, whose text stays
					// readable (the wide one shrunk to 300 px had 6 px).
					if over.Smallest < 9 {
						t.Errorf("%s: the smallest chart text is %g px high, want 9 or more", label, over.Smallest)
					}
					texts = append(texts, fmt.Sprintf("%s: %d (smallest chart text %g px high)", label, over.Texts, over.Smallest))
					png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatalf("%s: screenshot: %v", label, err)
					}
					saveScreenshot(t, shotName(pg.route, width, shown, lang), png)
				}
			}
		}
	}
	loading("after the matrix")
	t.Logf("text-bearing elements measured for overlaps: %s", strings.Join(texts, "; "))
	// The overlap check sees an overlap: one chart label moved onto
	// another is reported.
	moved, err := chromedp.Run(ctx, chromedp.Evaluate[overlaps](`(() => {
		const [a, b] = document.querySelectorAll("svg[role=img] text");
		b.setAttribute("x", a.getAttribute("x"));
		b.setAttribute("y", a.getAttribute("y"));
		b.removeAttribute("transform");
		b.setAttribute("text-anchor", a.getAttribute("text-anchor") || "start");
		return `+overlapScript+`;
	})()`))
	if err != nil || len(moved.Overlaps) == 0 {
		t.Errorf("overlap check: two labels at one place: got %+v (%v), want an overlap", moved, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requests) == 0 {
		t.Fatal("no network request recorded: the listener saw nothing")
	}
	for _, raw := range requests {
		u, err := url.Parse(raw)
		if err != nil || u.Host != host {
			t.Errorf("request outside the test server: %s", raw)
		}
	}
	// Each page of the matrix was watched: its own document is among the
	// requests seen while it loaded.
	for _, label := range matrix {
		if len(byPage[label]) == 0 {
			t.Errorf("%s: no request recorded while it loaded, want at least the page itself", label)
		}
	}
	t.Logf("requests the page made: %v", requests)
}

// pageFit is what an embed page reports of its width, colours and table.
type pageFit struct {
	ScrollWidth     int      `json:"scrollWidth"`
	InnerWidth      int      `json:"innerWidth"`
	Background      string   `json:"background"`
	ChartBackground string   `json:"chartBackground"`
	Cells           []string `json:"cells"`
}

// seriesValues are the values of the several series of an embed page's
// query, read from /v1/series, row by row (period order) and series by
// series, as the table writes them in nb and en: with Norwegian digit
// groups and decimal commas, and each point's flags.
// flagNames are flags as a page in lang shows them: in English their ids,
// in Bokmål the words a reader understands, written here apart from the
// code under test; a flag this list does not know fails the test.
func flagNames(t *testing.T, lang string, flags []string) []string {
	t.Helper()
	if lang == "en" {
		return flags
	}
	nb := map[string]string{"small-count": "lite tall", "suppressed": "skjult av kilden", "partial-year": "del av år",
		"approximate": "omtrentlig", "inconsistent-in-source": "motstridende i kilden"}
	out := make([]string, len(flags))
	for i, f := range flags {
		if out[i] = nb[f]; out[i] == "" {
			t.Fatalf("flag %q: the test has no Bokmål text for it", f)
		}
	}
	return out
}

func seriesValues(t *testing.T, r http.Handler, target string) map[string][]string {
	t.Helper()
	res := decode[handlers.SeriesResponse](t, do(t, r, "GET", strings.Replace(target, "/embed/series", "/v1/series", 1)))
	out := map[string][]string{}
	for _, period := range res.Periods {
		for _, s := range res.Series {
			for _, p := range s.Points {
				if p.Period != period {
					continue
				}
				for _, lang := range []string{"nb", "en"} {
					text := p.ValueText
					if p.Value != nil {
						text = strconv.FormatFloat(*p.Value, 'f', -1, 64)
						if lang == "nb" {
							text = norwegian(text)
						}
					}
					if len(p.Flags) > 0 {
						text += " (" + strings.Join(flagNames(t, lang, p.Flags), ", ") + ")"
					}
					out[lang] = append(out[lang], text)
				}
			}
		}
	}
	if len(out["en"]) == 0 {
		t.Fatalf("%s: no values", target)
	}
	return out
}

// compareValues are the values of a compare page's regions in its period,
// read from /v1/series, as the table writes them in nb and en (what the
// source printed where it gave no number); flags are in a cell of their
// own.
func compareValues(t *testing.T, r http.Handler, target string) map[string][]string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	period := q.Get("period")
	q.Del("period")
	q.Set("from", period)
	q.Set("to", period)
	res := decode[handlers.SeriesResponse](t, do(t, r, "GET", "/v1/series?"+q.Encode()))
	out := map[string][]string{}
	for _, s := range res.Series {
		for _, p := range s.Points {
			if p.Period != period {
				continue
			}
			for _, lang := range []string{"nb", "en"} {
				text := p.ValueText
				if p.Value != nil {
					text = strconv.FormatFloat(*p.Value, 'f', -1, 64)
					if lang == "nb" {
						text = norwegian(text)
					}
				}
				out[lang] = append(out[lang], text)
			}
		}
	}
	if len(out["en"]) != len(strings.Split(q.Get("region"), ",")) {
		t.Fatalf("%s: got values %q, want one a region", target, out["en"])
	}
	return out
}

// norwegian writes a number as Go writes it (1234.5) as Norwegian does
// (1 234,5 with a no-break space).
func norwegian(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString("," + frac)
	}
	return b.String()
}

// framed is what the host page reports of its iframe.
type framed struct {
	Messages []struct {
		Origin string `json:"origin"`
		Data   struct {
			Type   string `json:"type"`
			Height int    `json:"height"`
		} `json:"data"`
	} `json:"messages"`
	Frame, FrameWidth    float64
	Scroll, Client       int
	Charts, Rows, Height int
}

// readmeSnippet is the host page snippet of the README's "Embeddable
// charts": the listener and the iframe.
func readmeSnippet(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "## Embeddable charts")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, block := range regexp.MustCompile("(?s)```html\n(.*?)```").FindAllStringSubmatch(section, -1) {
		if strings.Contains(block[1], "krimstat:height") {
			return block[1]
		}
	}
	t.Fatal("README.md, Embeddable charts: no html block with the krimstat:height listener")
	return ""
}

// hostPage is an article framing the embed page with the README's snippet
// on the given origin, and a script that records the messages it gets.
func hostPage(snippet, origin string) string {
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>An article</title>
<script>window.messages = []; window.addEventListener("message", e => window.messages.push({origin: e.origin, data: e.data}));</script>
</head><body style="margin:0"><p style="margin:8px">Some text of the article.</p>
` + strings.ReplaceAll(snippet, "https://YOUR-KRIMSTAT-HOST", origin) + `
<p style="margin:8px">More text.</p></body></html>
`
}
