package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/chart"
	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
)

// embedCSP is the Content Security Policy of the embed page and the SVG:
// nothing may be fetched (no scripts, fonts, images or connections), inline
// styles and data: images are allowed, and any site may frame the page.
const embedCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors *; base-uri 'none'; form-action 'none'"

// seriesView is the series of a request with the names a chart shows.
type seriesView struct {
	res SeriesResponse
	all []series.Series // every series, data first
	// labels name each series in the legend, the table and the
	// description: its region, its offence, or both, whichever vary.
	labels []string
	// offences and regions are the names of the series' offences and
	// regions, each once, in the order of the series.
	offences, regions []string
	measure, unit     string
	apiQuery          string // the /v1/series query the chart shows
	csvQuery          string // apiQuery as CSV
	// query is the canonical query, with lang unless English, as
	// "?…" ("" when empty): apiQuery's, for the other views of the series.
	query string
	lang  string // the language of names and texts
	w     words  // the texts in lang
	// sourceAll marks a view of source=all: a series per source with
	// points, each its own line.
	sourceAll bool
	// allQuery is the canonical query of the source=all view of the same
	// series, with lang, as "?…".
	allQuery string
	from, to *store.Period // the periods asked for, to say what others hold
	theme    string        // the embed page's theme (light unless asked)
	// publishers are the release's sources' publishers by id, for
	// sources the response does not cite (others).
	publishers map[string]string
}

// sourceAll is the value of source that draws every source with points
// as its own series (on the chart and embed routes only).
const sourceAll = "all"

// bySource makes a request per source with points of each series built
// for reqs (a series without any keeps its request), in precedence order,
// for source=all. It returns a *store.ParamError naming source when that
// makes more than series.MaxSeries series.
func bySource(built []series.Series, reqs []series.Request) ([]series.Request, error) {
	var out []series.Request
	for i, s := range built {
		if len(s.Candidates) == 0 {
			out = append(out, reqs[i])
			continue
		}
		for _, cand := range s.Candidates {
			r := reqs[i]
			r.Source = cand.Source
			out = append(out, r)
		}
	}
	if len(out) > series.MaxSeries {
		return nil, store.InvalidParam("source", "source=all makes %d series (a series per source): at most %d; ask for fewer offences or regions", len(out), series.MaxSeries)
	}
	return out, nil
}

// seriesViewFor parses the request's series query, without a theme (the
// SVG's), and builds the series with names.
func (h *Handler) seriesViewFor(c *gin.Context) (seriesView, error) {
	// The SVG has one look: theme, which seriesView takes for embed
	// pages, is refused here.
	if _, err := seriesViewRoute.query(c.Request.URL.RawQuery); err != nil {
		return seriesView{}, err
	}
	return h.seriesView(c, c.Request.URL.RawQuery, c.GetHeader("Accept-Language"))
}

// seriesView parses the series query raw and builds the series with names,
// in the language raw's lang parameter names, else acceptLanguage's. It
// sets the response's release and language headers.
func (h *Handler) seriesView(c *gin.Context, raw, acceptLanguage string) (seriesView, error) {
	// raw may be an embed page's query (for the page itself and for
	// oEmbed), so theme is read, and left out of the series' query.
	q, err := embedSeriesRoute.query(raw)
	if err != nil {
		return seriesView{}, err
	}
	theme, err := themeOf(q)
	if err != nil {
		return seriesView{}, err
	}
	q.values.Del("theme")
	reqs, err := parseSeriesSet(q)
	if err != nil {
		return seriesView{}, err
	}
	all := reqs[0].Source == sourceAll
	if all {
		for i := range reqs {
			reqs[i].Source = ""
		}
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return seriesView{}, err
	}
	ctx := c.Request.Context()
	res, err := h.buildSeries(ctx, rel, reqs)
	if err != nil {
		return seriesView{}, err
	}
	if all {
		// Build once by precedence to learn each series' sources, then
		// once per source.
		if reqs, err = bySource(res.all(), reqs); err != nil {
			return seriesView{}, err
		}
		if res, err = h.buildSeries(ctx, rel, reqs); err != nil {
			return seriesView{}, err
		}
	}
	canon, err := seriesViewRoute.canonical(q.values, rel.ID)
	if err != nil {
		return seriesView{}, err
	}
	// The data route has no source=all: the API and CSV links of such a
	// view ask for the series by precedence, whose JSON lists every
	// source's values (candidates, alternatives).
	withAll, without := cloneValues(q.values), cloneValues(q.values)
	withAll.Set("source", sourceAll)
	without.Del("source")
	canonAll, err := seriesViewRoute.canonical(withAll, rel.ID)
	if err != nil {
		return seriesView{}, err
	}
	data := canon
	if all {
		if data, err = seriesViewRoute.canonical(without, rel.ID); err != nil {
			return seriesView{}, err
		}
	}
	lang, err := seriesViewRoute.language(q, acceptLanguage)
	if err != nil {
		return seriesView{}, err
	}
	c.Header("Content-Language", lang)
	query := link("", canon, langParam(lang))
	v := seriesView{res: res, all: res.all(), unit: wordsOf[lang].unit(res.Data.Unit), apiQuery: "/v1/series" + link("", data, langParam(lang)), query: query,
		csvQuery: "/v1/series" + link("", data, "format=csv", langParam(lang)), lang: lang,
		w: wordsOf[lang], theme: theme, sourceAll: all, allQuery: link("", canonAll, langParam(lang)), from: reqs[0].From, to: reqs[0].To}
	if res.Data.Per != 0 {
		v.unit = v.w.unit(res.Data.Unit) + v.w.PerInhabitants
	}
	if err := h.names(ctx, rel.ID, &v); err != nil {
		return seriesView{}, err
	}
	return v, nil
}

// names fills in the names, in the view's language, of the series'
// offences, regions and measure, and each series' label.
func (h *Handler) names(ctx context.Context, rel string, v *seriesView) error {
	offence, region := map[string]string{}, map[string]string{}
	for _, s := range v.all {
		if _, ok := offence[s.Offence]; !ok {
			o, err := h.store.Offence(ctx, rel, s.Offence)
			if err != nil {
				return err
			}
			offence[s.Offence] = text(o.Name, v.lang)
			v.offences = append(v.offences, offence[s.Offence])
		}
		if _, ok := region[s.Region]; !ok {
			r, err := h.store.Region(ctx, rel, s.Region)
			if err != nil {
				return err
			}
			region[s.Region] = text(r.Name, v.lang)
			v.regions = append(v.regions, region[s.Region])
		}
	}
	ms, err := h.store.Measures(ctx, rel)
	if err != nil {
		return err
	}
	m, err := store.FindMeasure(ms, v.res.Data.Measure)
	if err != nil {
		return err
	}
	v.measure = text(m.Name, v.lang)
	srcs, err := h.store.Sources(ctx, rel)
	if err != nil {
		return err
	}
	v.publishers = map[string]string{}
	for _, s := range srcs {
		v.publishers[s.ID] = s.Publisher
	}
	for _, s := range v.all {
		var label string
		switch {
		case len(offence) > 1 && len(region) > 1:
			label = offence[s.Offence] + ", " + region[s.Region]
		case len(offence) > 1:
			label = offence[s.Offence]
		default:
			label = region[s.Region]
		}
		// With source=all the source tells the lines apart: named alone
		// for one offence and region, after the series otherwise.
		if v.sourceAll && s.Source != "" {
			if len(offence) == 1 && len(region) == 1 {
				label = v.publisher(s.Source)
			} else {
				label += " (" + v.publisher(s.Source) + ")"
			}
		}
		v.labels = append(v.labels, label)
	}
	return nil
}

// publisher is a source's publisher without its parenthesis, short enough
// for a legend: "Stortinget (answer by the Minister of Justice)" is
// Stortinget.
func (v seriesView) publisher(id string) string {
	p := v.source(id).Publisher
	if full, ok := v.publishers[id]; ok {
		p = full
	}
	p, _, _ = strings.Cut(p, " (")
	return p
}

// others says which periods sources other than a series' chosen one hold
// that the chart does not show (within from and to), "" when none or
// when every source is drawn.
func (v seriesView) others() string {
	if v.sourceAll {
		return ""
	}
	var parts []string
	for i, s := range v.all {
		shown := map[string]bool{}
		for _, p := range s.Points {
			shown[p.Period] = true
		}
		for _, cand := range s.Candidates {
			if cand.Source == s.Source {
				continue
			}
			var periods []string
			for _, period := range cand.Periods {
				per, err := store.ParsePeriod(period)
				if err != nil || shown[period] || v.from != nil && per.Start() < v.from.Start() || v.to != nil && per.End() > v.to.End() {
					continue
				}
				periods = append(periods, period)
			}
			if len(periods) == 0 {
				continue
			}
			part := v.publisher(cand.Source) + ": " + strings.Join(periods, ", ")
			if v.several() {
				part = v.labels[i] + ", " + part
			}
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf(v.w.OtherSources, strings.Join(parts, "; "))
}

// cloneValues copies a query's values, so that a copy can be changed.
func cloneValues(vs url.Values) url.Values {
	out := url.Values{}
	for k, v := range vs {
		out[k] = slices.Clone(v)
	}
	return out
}

// several reports whether the view shows more than one series.
func (v seriesView) several() bool { return len(v.all) > 1 }

// title is the chart's heading.
func (v seriesView) title() string {
	return fmt.Sprintf("%s, %s: %s", v.andList(v.offences), v.andList(v.regions), strings.ToLower(v.measure))
}

// andList joins names as prose: "a", "a and b", "a, b and c".
func (v seriesView) andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + v.w.And + names[len(names)-1]
}

// notes are the series' notes, each once; with several series a note that
// not all of them share names the series it belongs to.
func (v seriesView) notes() string {
	var order []string
	of := map[string][]string{}
	for i, s := range v.all {
		for _, n := range s.Notes {
			if _, ok := of[n]; !ok {
				order = append(order, n)
			}
			of[n] = append(of[n], v.labels[i])
		}
	}
	var out []string
	for _, n := range order {
		if len(of[n]) < len(v.all) {
			n = v.andList(of[n]) + ": " + n
		}
		out = append(out, n)
	}
	return strings.Join(out, " ")
}

// sourceLine names the chosen sources and the release. With several
// series, each source names the series it was chosen for, unless it was
// chosen for all of them.
func (v seriesView) sourceLine() string {
	var chosen []string         // the chosen sources, each once
	by := map[string][]string{} // the labels of the series each source was chosen for
	var empty []string          // the labels of the series without a source
	for i, s := range v.all {
		if s.Source == "" {
			empty = append(empty, v.labels[i])
			continue
		}
		if _, ok := by[s.Source]; !ok {
			chosen = append(chosen, s.Source)
		}
		by[s.Source] = append(by[s.Source], v.labels[i])
	}
	if len(chosen) == 0 {
		return fmt.Sprintf(v.w.NoSource, v.res.Meta.Release)
	}
	var parts []string
	for _, id := range chosen {
		src := v.source(id)
		part := fmt.Sprintf("%s, “%s”", src.Publisher, src.Title)
		if src.Published != "" {
			part += " (" + src.Published + ")"
		}
		if len(by[id]) < len(v.all) && !v.sourceAll {
			part += v.w.For + v.andList(by[id])
		}
		parts = append(parts, part)
	}
	line := v.w.Source
	if len(chosen) > 1 {
		line = v.w.Sources
	}
	line += strings.Join(parts, "; ")
	if len(empty) > 0 {
		line += v.w.NoFigures + v.andList(empty)
	}
	if v.res.Data.Per != 0 {
		if d := v.denominator(); d != nil {
			line += fmt.Sprintf(v.w.Population, v.source(d.Source).Publisher)
		}
	}
	return line + fmt.Sprintf(v.w.Compiled, v.res.Meta.Release)
}

// denominator is the first population figure any point divides by.
func (v seriesView) denominator() *series.Denominator {
	for _, s := range v.all {
		for _, p := range s.Points {
			if p.Denominator != nil {
				return p.Denominator
			}
		}
	}
	return nil
}

// licenceLine states the licences of the sources shown.
func (v seriesView) licenceLine() string {
	var ls []string
	for _, src := range v.res.Meta.Sources {
		shown := v.res.Data.Per != 0 && src.ID == store.PopulationSource
		for _, s := range v.all {
			shown = shown || src.ID == s.Source
		}
		if shown {
			ls = append(ls, src.Publisher+": "+src.Licence)
		}
	}
	if len(ls) == 0 {
		return ""
	}
	return v.w.Licence + strings.Join(ls, "; ") + "."
}

func (v seriesView) source(id string) store.Source {
	for _, s := range v.res.Meta.Sources {
		if s.ID == id {
			return s
		}
	}
	return store.Source{ID: id, Publisher: id}
}

// plotted is the value a point shows: the rate when rates were asked for.
func (v seriesView) plotted(p series.Point) (*float64, string) {
	if v.res.Data.Per != 0 {
		if p.Rate == nil {
			return nil, v.w.NA
		}
		return p.Rate, ""
	}
	return p.Value, p.ValueText
}

// shown is what a table cell or a description says of a point: the
// number, or what the source printed instead.
func (v seriesView) shown(p series.Point) string {
	val, text := v.plotted(p)
	if val == nil {
		return text
	}
	return v.w.number(*val)
}

// chart draws the series: for each series, calendar years as one line and
// each kind of part of a year as its own dashed line, since a tertial is
// not comparable with a year. Points are joined only to the period just
// before them. One series' lines are labelled by kind of period; several
// series' lines by series (and kind, for parts of years).
func (v seriesView) chart() chart.Chart {
	c := chart.Chart{Title: v.title(), Unit: v.unit, Width: 640, Height: 360}
	if v.lang != langEN {
		c.Number = v.w.number
	}
	if v.several() {
		c.NoData = v.w.NoFiguresSeries
	}
	for i, s := range v.all {
		for _, l := range v.lines(s) {
			if v.several() {
				if l.Label == v.w.periodLabel(store.PeriodYear) {
					l.Label = v.labels[i]
				} else {
					l.Label = v.labels[i] + ", " + l.Label
				}
			}
			c.Lines = append(c.Lines, l)
		}
	}
	values := func(s series.Series) string {
		var parts []string
		for _, p := range s.Points {
			parts = append(parts, p.Period+": "+v.shown(p))
		}
		return strings.Join(parts, "; ")
	}
	c.Desc = fmt.Sprintf(v.w.LineChart, strings.ToLower(v.measure), v.unit) + v.sourceLine() + " "
	if v.several() {
		c.Desc = fmt.Sprintf(v.w.LineCharts, strings.ToLower(v.measure), v.unit, len(v.all)) + v.sourceLine() + " "
	}
	switch {
	case v.res.Meta.Count == 0:
		c.Desc += v.w.NoFiguresShort
	case !v.several():
		c.Desc += v.w.Values + values(v.res.Data) + "." + v.w.Gaps
	default:
		var parts []string
		for i, s := range v.all {
			if len(s.Points) == 0 {
				parts = append(parts, v.labels[i]+v.w.NoneFor)
				continue
			}
			parts = append(parts, v.labels[i]+": "+values(s)+".")
		}
		c.Desc += v.w.ValuesBySeries + strings.Join(parts, " ") + v.w.Gaps
	}
	if o := v.others(); o != "" {
		c.Desc += " " + o
	}
	return c
}

// lines are one series' lines, calendar years first, labelled by kind of
// period.
func (v seriesView) lines(s series.Series) []chart.Line {
	kinds := map[string]*chart.Line{}
	var order []string
	for _, p := range s.Points {
		per, err := store.ParsePeriod(p.Period)
		if err != nil {
			continue
		}
		l, ok := kinds[per.Kind]
		if !ok {
			l = &chart.Line{Label: v.w.periodLabel(per.Kind), Dashed: per.Kind != store.PeriodYear}
			kinds[per.Kind] = l
			order = append(order, per.Kind)
		}
		val, text := v.plotted(p)
		joined := len(l.Points) > 0 && l.Points[len(l.Points)-1].Label == per.Previous().String()
		l.Points = append(l.Points, chart.Point{X: midYear(per), Label: p.Period, Value: val, Text: text, Joined: joined})
	}
	slices.SortFunc(order, func(a, b string) int {
		if a == store.PeriodYear {
			return -1
		}
		if b == store.PeriodYear {
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make([]chart.Line, 0, len(order))
	for _, k := range order {
		out = append(out, *kinds[k])
	}
	return out
}

// midYear places a period in the middle of its span, in years.
func midYear(p store.Period) float64 {
	months := map[string]float64{store.PeriodYear: 12, store.PeriodHalf: 6, store.PeriodTertial: 4, store.PeriodQuarter: 3, store.PeriodMonth: 1}[p.Kind]
	first := 0.0
	if p.Kind != store.PeriodYear {
		first = float64(p.Index-1) * months
	}
	return float64(p.Year) + (first+months/2)/12
}

// getSeriesSVG godoc
//
//	@Summary		A series as an SVG chart
//	@Description	The series of GET /v1/series (same parameters) drawn as a static, script-free SVG line chart: calendar years as one line, parts of years as separate dashed lines, gaps left as gaps, y axis from zero; with per=100000 the rates are drawn. With several offences or regions (up to 12 series), each series is its own line (own colour), named in a legend below the chart. The SVG has a title and a description listing every value.
//	@Tags			embed
//	@ID				getSeriesSVG
//	@Produce		image/svg+xml
//	@Param			offence		query		string	true	"Offence id, or several (comma-separated): one line each"	example(sex-purchase)
//	@Param			region		query		string	true	"Region id, or several (comma-separated): one line each"	example(NO)
//	@Param			measure		query		string	true	"Measure id (one)"	example(reported-persons)
//	@Param			source		query		string	false	"Source id (default: by precedence), or all: each source with points its own line, named in the legend (never joined); a single-source chart notes the periods other sources hold"
//	@Param			per			query		int		false	"Draw rates per this many inhabitants"	Enums(100000)
//	@Param			harmonise	query		string	false	"Express pre-2016 district figures on the districts of 2016"	Enums(2016)
//	@Param			from		query		string	false	"First period"
//	@Param			to			query		string	false	"Last period"
//	@Param			small		query		int		false	"Counts below this are small"	minimum(0)	default(20)
//	@Param			lang		query		string	false	"Language of the texts and numbers: en (default), nb or nn (Nynorsk texts, Bokmål names: the release has no Nynorsk names); without it, Accept-Language"	Enums(en, nb, nn)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Success		200			{string}	string	"SVG document"
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/series.svg [get]
func (h *Handler) getSeriesSVG(c *gin.Context) error {
	v, err := h.seriesViewFor(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := chart.SVG(&buf, v.chart()); err != nil {
		return err
	}
	c.Header("Content-Security-Policy", embedCSP)
	c.Data(http.StatusOK, "image/svg+xml", buf.Bytes())
	return nil
}

// heightScript tells the page's parent its height, on load and whenever it
// changes (a narrower frame wraps more lines, the data table opens), so
// that a host page can size the iframe to fit (README, "Embeddable
// charts"). It measures the document's box, not its scrollHeight, which
// never falls below the frame's height and so could not let the frame
// shrink. It posts nothing when the page is not framed, and reads and sends
// nothing else. Without it the page works at the iframe's fixed height.
const heightScript = `(function(){if(window.parent===window)return;` +
	`var d=document.documentElement,last=-1;` +
	`function post(){var h=Math.ceil(d.getBoundingClientRect().height);` +
	`if(h!==last){last=h;window.parent.postMessage({type:"krimstat:height",height:h},"*")}}` +
	`window.addEventListener("load",post);` +
	`if(typeof ResizeObserver==="function")new ResizeObserver(post).observe(d);` +
	`else window.addEventListener("resize",post)})();`

// embedSeriesRoute is the contract of GET /embed/series: the series
// view's, keyed on the origin its absolute URLs name.
var embedSeriesRoute = route{params: slices.Concat(seriesViewRoute.params, []string{"theme"}), origin: true, langs: chartLangs}

// withTheme adds theme to a link to an embed page, unless it is the
// default.
func withTheme(href, theme string) string {
	if theme == themeLight {
		return href
	}
	if strings.Contains(href, "?") {
		return href + "&theme=" + theme
	}
	return href + "?theme=" + theme
}

// themeOf reads the theme parameter; absent, light.
func themeOf(q query) (string, error) {
	t, err := q.one("theme")
	if err != nil || t == "" {
		return themeLight, err
	}
	if !slices.Contains(embedThemes, t) {
		return "", store.InvalidParam("theme", "%q: want light, dark or auto", t)
	}
	return t, nil
}

// embedPageCSP is the embed page's Content Security Policy: embedCSP, and
// the height script allowed by its hash, so no other script can run.
var embedPageCSP = embedCSP + "; script-src '" + scriptHash(heightScript) + "'"

// scriptHash is a CSP hash source of an inline script's text.
func scriptHash(script string) string {
	sum := sha256.Sum256([]byte(script))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// embedHead is the head every embed page shares: its title, the oEmbed
// discovery link, the feed of releases and their changes, and the social
// card tags (absolute URLs, for consumers, feed readers and crawlers,
// which browsers do not fetch). The page's data names Title, OEmbed, Feed,
// Source, URL and Image.
const embedHead = `<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} – Krimstat</title>
<link rel="alternate" type="application/json+oembed" href="{{.OEmbed}}" title="{{.Title}}">
<link rel="alternate" type="application/atom+xml" href="{{.Feed}}" title="Krimstat releases and changes">
<meta property="og:type" content="website">
<meta property="og:site_name" content="Krimstat">
<meta property="og:title" content="{{.Title}}">
<meta property="og:description" content="{{.Source}}">
<meta property="og:url" content="{{.URL}}">
<meta property="og:image" content="{{.Image}}">
<meta name="twitter:card" content="summary_large_image">
`

// embedTop opens every embed page: the document, its head (embedHead), the
// style both pages share (the theme's colours in CSS, the switch between
// the wide and the narrow chart), and the title. The page's data names
// what embedHead names, and W, Theme, CSS and NarrowCSS.
const embedTop = `<!doctype html>
<html lang="{{.W.HTMLLang}}" data-theme="{{.Theme}}">
<head>
` + embedHead + `<style>
{{.CSS}}body{margin:0;padding:12px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.1em;margin:0 0 2px}
.sub{margin:0 0 8px;color:var(--muted)}
figure{margin:0}
svg{display:block;max-width:100%;height:auto}
{{.NarrowCSS}}
figcaption,.meta{font-size:.85em;color:var(--muted);margin-top:6px}
details{margin-top:8px;font-size:.9em}
table{border-collapse:collapse;margin-top:4px}
th,td{padding:2px 8px;border-bottom:1px solid var(--rule);text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
a{color:var(--link)}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
`

// embedPage is the HTML of GET /embed/series. Everything is inline: the
// page makes no request of its own (the oEmbed link and the og: image are
// for consumers and crawlers, which browsers do not fetch). The height
// script is written into the template as it is hashed.
var embedPage = template.Must(template.New("embed").Parse(embedTop + `<p class="sub">{{.Unit}}{{if .Notes}} · {{.Notes}}{{end}}</p>
{{if .Others}}<p class="sub others">{{.Others}} <a href="{{.AllURL}}">{{.W.AllSources}}</a></p>
{{end}}
<figure>
{{.SVG}}
<figcaption class="source">{{.Source}}</figcaption>
</figure>
<p class="meta">{{.Licence}} <a href="{{.APIQuery}}" target="_blank" rel="noopener">{{.W.DataAPI}}</a> · <a href="{{.CSVQuery}}" download>{{.W.DownloadCSV}}</a></p>
<details>
<summary>{{.W.DataTable}}</summary>
<table>
<caption>{{.Title}} ({{.Unit}}){{if .Several}}{{.W.EmptyCell}}{{end}}</caption>
<thead><tr><th scope="col">{{.W.Period}}</th>{{range .Head}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Period}}</th>{{range .Cells}}<td{{if .Num}} class="n"{{end}}>{{.Text}}</td>{{end}}</tr>
{{else}}<tr><td colspan="{{$.Span}}">{{if $.Several}}{{$.W.NoFiguresThese}}{{else}}{{$.W.NoFiguresThis}}{{end}}</td></tr>
{{end}}</tbody>
</table>
</details>
<script>` + heightScript + `</script>
</body>
</html>
`))

// Themes of the embed page: light (the default, as embeds were before
// there was a choice), dark, and auto, which follows the reader's
// prefers-color-scheme.
const (
	themeLight = "light"
	themeDark  = "dark"
	themeAuto  = "auto"
)

// embedThemes are the values of theme, the default first.
var embedThemes = []string{themeLight, themeDark, themeAuto}

// palette is the colours of one theme: the page's background and text,
// quieter text, links, table rules and the chart's axis line, and the
// chart's lines. Every text colour has a contrast of at least 4.5:1 on the
// background and every line colour at least 3:1 (WCAG AA for text and for
// graphics); TestThemeContrast computes them.
type palette struct {
	bg, fg, muted, link, rule, axis string
	series                          []string
}

// palettes are the light and dark palettes. The light one is the chart's
// own, so a light page looks as the SVG does alone.
var palettes = map[string]palette{
	themeLight: {bg: "#ffffff", fg: "#222222", muted: "#555555", link: "#1b5e9f", rule: "#dddddd", axis: "#999999",
		series: chart.Palette()},
	themeDark: {bg: "#15181c", fg: "#e8eaed", muted: "#b3b9c0", link: "#8ec5ff", rule: "#3b4149", axis: "#7d8590",
		series: []string{"#6fb3ff", "#ffa15c", "#7fd48a", "#d7a6ff", "#ff8c85", "#4fd3e0",
			"#cfae9f", "#f58fb6", "#b4c3cc", "#d6e35e", "#a3acff", "#e6e6e6"}},
}

// vars are the palette as CSS custom properties.
func (p palette) vars() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--bg:%s;--fg:%s;--muted:%s;--link:%s;--rule:%s;--axis:%s", p.bg, p.fg, p.muted, p.link, p.rule, p.axis)
	for i, c := range p.series {
		fmt.Fprintf(&b, ";--s%d:%s", i+1, c)
	}
	return b.String()
}

// themeCSS styles the page and its inline SVG from the palettes' custom
// properties: light by default, dark for data-theme=dark, and for
// data-theme=auto dark when the reader prefers it. CSS rules win over the
// SVG's presentation attributes, so the chart follows the theme without
// the SVG changing: its background rect, axes (the first two groups),
// texts, and each line's group (from the third group on) and legend swatch
// by their order, the order the chart gives lines its palette.
func themeCSS() string {
	light, dark := palettes[themeLight], palettes[themeDark]
	var b strings.Builder
	fmt.Fprintf(&b, ":root{%s;color-scheme:light}\n", light.vars())
	fmt.Fprintf(&b, "html[data-theme=dark]{%s;color-scheme:dark}\n", dark.vars())
	fmt.Fprintf(&b, "@media (prefers-color-scheme:dark){html[data-theme=auto]{%s;color-scheme:dark}}\n", dark.vars())
	b.WriteString("svg>rect:first-of-type{fill:var(--bg)}svg>text{fill:var(--fg)}" +
		"svg .x-axis,svg .y-axis{fill:var(--muted)}svg .y-axis{stroke:var(--rule)}svg .x-axis{stroke:var(--axis)}\n")
	n := len(light.series)
	for i := range n {
		fmt.Fprintf(&b, "svg>g.series:nth-of-type(%dn+%d){stroke:var(--s%d);fill:var(--s%d)}svg>line:nth-of-type(%dn+%d){stroke:var(--s%d)}\n",
			n, i+3, i+1, i+1, n, i+1, i+1)
	}
	// Bar charts (package chart's BarsSVG): the grid, the zero line, the
	// texts of each bar, its outline when it has no number, and the bars
	// in the first and, highlighted, the second colour of the lines.
	b.WriteString("svg .grid{stroke:var(--rule)}svg>line.zero{stroke:var(--axis)}svg g.bar>text{fill:var(--fg)}" +
		"svg g.bar>rect[fill=none]{stroke:var(--axis)}svg g.bar>rect:not([fill=none]){fill:var(--s1)}" +
		"svg g.bar>rect[fill=\"" + chart.Palette()[1] + "\"]{fill:var(--s2)}\n")
	return b.String()
}

// A chart drawn 640 units wide and shrunk into a phone's 300 pixels has
// text 6 pixels high. So embed pages carry the chart twice, drawn
// narrowWidth wide as well, and show that one in windows narrower than
// 520 pixels, where its text stays at least 9 pixels high. Both SVGs are
// the same figures; the hidden one is out of the accessibility tree
// (display:none), and the table below serves screen readers.
const (
	narrowWidth  = 320
	narrowHeight = 280 // a line chart's; a bar chart's follows its bars
)

// narrowCSS switches between the wide and the narrow chart.
const narrowCSS = template.CSS(".chart-narrow{display:none}@media (max-width:519px){.chart-wide{display:none}.chart-narrow{display:block}}")

// twoCharts draws a chart at 640 and at narrowWidth units wide with draw,
// each with its own id prefix (ids must be unique in a page), into the
// two elements narrowCSS switches between.
func twoCharts(draw func(w io.Writer, width int, id string) error) (template.HTML, error) {
	var b bytes.Buffer
	b.WriteString(`<div class="chart-wide">`)
	if err := draw(&b, 640, "chart"); err != nil {
		return "", err
	}
	b.WriteString(`</div><div class="chart-narrow">`)
	if err := draw(&b, narrowWidth, "chart-narrow"); err != nil {
		return "", err
	}
	b.WriteString(`</div>`)
	// The SVGs come from package chart, which escapes every text it writes.
	return template.HTML(b.String()), nil
}

// embedCSS is themeCSS, written once.
var embedCSS = template.CSS(themeCSS())

// embedRow is a row of the embed page's table: a period and its cells.
type embedRow struct {
	Period string
	Cells  []embedCell
}

// embedCell is a cell of the table; Num right-aligns a number.
type embedCell struct {
	Text string
	Num  bool
}

// table is the embed page's data table: for one series a row per point
// with its value, change and flags; for several a row per period of any
// series with one value column per series (flags beside the value), a
// cell left empty where a series has no point.
func (v seriesView) table() (head []string, rows []embedRow) {
	if !v.several() {
		for _, p := range v.res.Data.Points {
			var change string
			if ch := p.Change; ch != nil && v.res.Data.Per == 0 {
				change = v.w.signed(ch.Absolute)
				if ch.Relative != nil {
					change += " (" + v.w.percent(*ch.Relative) + ")"
				}
				if ch.Unreliable {
					change += v.w.SmallCounts
				}
			}
			rows = append(rows, embedRow{Period: p.Period, Cells: []embedCell{
				{Text: v.shown(p), Num: true}, {Text: change, Num: true}, {Text: v.w.flags(p.Flags)}}})
		}
		return []string{v.w.Value, v.w.Change, v.w.Flags}, rows
	}
	at := make([]map[string]series.Point, len(v.all))
	for i, s := range v.all {
		at[i] = map[string]series.Point{}
		for _, p := range s.Points {
			at[i][p.Period] = p
		}
	}
	for _, period := range v.res.Periods {
		r := embedRow{Period: period}
		for i := range v.all {
			var text string
			if p, ok := at[i][period]; ok {
				text = v.shown(p)
				if len(p.Flags) > 0 {
					text += " (" + v.w.flags(p.Flags) + ")"
				}
			}
			r.Cells = append(r.Cells, embedCell{Text: text, Num: true})
		}
		rows = append(rows, r)
	}
	return v.labels, rows
}

// embedSeries godoc
//
//	@Summary		A series as an embeddable HTML chart
//	@Description	A self-contained, responsive HTML page for an iframe: the chart of GET /v1/series.svg inline, the title, unit, source line and licence, a link back to the API query, and the data as a table (with several series, a row per period and one value column per series, empty where a series has no figure). It loads nothing (Content-Security-Policy default-src 'none') and may be framed by any site. Same parameters as GET /v1/series, several offences and regions included.
//	@Tags			embed
//	@ID				embedSeries
//	@Produce		html
//	@Param			offence		query		string	true	"Offence id, or several (comma-separated): one line each"	example(sex-purchase)
//	@Param			region		query		string	true	"Region id, or several (comma-separated): one line each"	example(NO)
//	@Param			measure		query		string	true	"Measure id (one)"	example(reported-persons)
//	@Param			source		query		string	false	"Source id (default: by precedence), or all: each source with points its own line, named in the legend (never joined); a single-source chart notes the periods other sources hold"
//	@Param			per			query		int		false	"Show rates per this many inhabitants"	Enums(100000)
//	@Param			harmonise	query		string	false	"Express pre-2016 district figures on the districts of 2016"	Enums(2016)
//	@Param			from		query		string	false	"First period"
//	@Param			to			query		string	false	"Last period"
//	@Param			small		query		int		false	"Counts below this are small"	minimum(0)	default(20)
//	@Param			lang		query		string	false	"Language of the texts and numbers: en (default), nb or nn (Nynorsk texts, Bokmål names: the release has no Nynorsk names); without it, Accept-Language"	Enums(en, nb, nn)
//	@Param			theme		query		string	false	"Colours: light (default), dark, or auto (follows the reader's prefers-color-scheme); WCAG AA contrast in both"	Enums(light, dark, auto)	default(light)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Success		200			{string}	string	"HTML page"
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/embed/series [get]
func (h *Handler) embedSeries(c *gin.Context) error {
	v, err := h.seriesView(c, c.Request.URL.RawQuery, c.GetHeader("Accept-Language"))
	if err != nil {
		return err
	}
	theme := v.theme
	svg, err := twoCharts(func(w io.Writer, width int, id string) error {
		c := v.chart()
		c.ID = id
		if width != c.Width {
			c.Width, c.Height = width, narrowHeight
		}
		return chart.SVG(w, c)
	})
	if err != nil {
		return err
	}
	head, rows := v.table()
	// Consumers and crawlers need absolute URLs: the page's own, with the
	// canonical query; its oEmbed answer; its PNG for social cards.
	base := origin(c)
	self := base + withTheme("/embed/series"+v.query, theme)
	var page bytes.Buffer
	err = embedPage.Execute(&page, map[string]any{
		"Title": v.title(), "Unit": v.unit, "Notes": v.notes(),
		"SVG":    svg,
		"Source": v.sourceLine(), "Licence": v.licenceLine(), "APIQuery": v.apiQuery, "CSVQuery": v.csvQuery,
		"Several": v.several(), "Theme": theme, "Others": v.others(), "AllURL": withTheme("/embed/series"+v.allQuery, theme), "CSS": embedCSS, "NarrowCSS": narrowCSS, "Head": head, "Rows": rows, "Span": len(head) + 1, "W": v.w,
		"URL": self, "OEmbed": base + "/oembed?url=" + url.QueryEscape(self) + "&format=json", "Feed": base + feedPath,
		"Image": base + "/v1/series.png" + v.query,
	})
	if err != nil {
		return err
	}
	c.Header("Content-Security-Policy", embedPageCSP)
	c.Data(http.StatusOK, "text/html; charset=utf-8", page.Bytes())
	return nil
}
