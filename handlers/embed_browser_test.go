package handlers_test

import (
	"context"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	embedTarget        = "/embed/series?offence=sex-purchase&region=NO&measure=reported-persons"
	embedSeveralTarget = "/embed/series?offence=human-trafficking&region=SE,NO&measure=reported-offences"
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
	for _, s := range []string{"<script", "src=", "@import", "url("} {
		if strings.Contains(body, s) {
			t.Errorf("body contains %q: the page must load nothing", s)
		}
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
	srv := httptest.NewUnstartedServer(r)
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+embedTarget),
		chromedp.WaitVisible("svg[role=img]"),
		chromedp.Sleep(300*time.Millisecond), // let any late request show
	); err != nil {
		t.Fatalf("load %s: %v", embedTarget, err)
	}
	markers, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('svg[role=img] circle').length"))
	if err != nil || markers != 2 {
		t.Errorf("chart markers: got %d (%v), want 2 (2009 and 2010)", markers, err)
	}
	lines, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('svg[role=img] path').length"))
	if err != nil || lines != 1 {
		t.Errorf("chart lines: got %d (%v), want 1", lines, err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("document.querySelector('svg[role=img]').getBoundingClientRect().width"))
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
	shot := filepath.Join(t.TempDir(), "embed-series.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes); chart markers %d, source line %q", shot, len(png), markers, source)
	// KRIMSTAT_SCREENSHOT_DIR keeps a copy for a human to look at.
	if dir := os.Getenv("KRIMSTAT_SCREENSHOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "embed-series.png"), png, 0o644)
	}

	// Two regions: a line, a legend entry and a table column each.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+embedSeveralTarget),
		chromedp.WaitVisible("svg[role=img]"),
		chromedp.Sleep(300*time.Millisecond),
	); err != nil {
		t.Fatalf("load %s: %v", embedSeveralTarget, err)
	}
	lines, err = chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('svg[role=img] g.series path').length"))
	if err != nil || lines != 2 {
		t.Errorf("two regions: got %d lines (%v), want 2", lines, err)
	}
	legend, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		"[...document.querySelectorAll('svg[role=img] > text')].map(e => e.textContent).filter(s => s === 'Norway' || s === 'Sweden')"))
	if err != nil || strings.Join(legend, ",") != "Norway,Sweden" {
		t.Errorf("two regions: got legend %v (%v), want Norway and Sweden", legend, err)
	}
	// Each legend entry is drawn inside the chart, not cut off by it.
	inside, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const svg = document.querySelector('svg[role=img]').getBoundingClientRect();
		return [...document.querySelectorAll('svg[role=img] > text')].every(e => {
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
	if dir := os.Getenv("KRIMSTAT_SCREENSHOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "embed-series-two-regions.png"), png, 0o644)
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
	t.Logf("requests the page made: %v", requests)
}
