package handlers

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/chart"
	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
)

// CompareParams are the parameters of the comparison routes: one offence,
// measure and period across several regions.
var CompareParams = []string{"offence", "region", "measure", "source", "per", "period", "small", "release"}

// The contracts of the comparison routes: the SVG, the PNG (with the
// image's size) and the embed page, keyed on the origin its absolute URLs
// (oEmbed link, og: tags) name.
var (
	compareRoute      = route{params: slices.Clone(CompareParams), langs: chartLangs}
	comparePNGRoute   = route{params: slices.Concat(CompareParams, pngParams), langs: chartLangs}
	embedCompareRoute = route{params: slices.Concat(CompareParams, []string{"theme"}), origin: true, langs: chartLangs}
)

// maxCompareRegions bounds the regions of one comparison: enough for the
// police districts of any year or the Nordic countries with their
// counties, few enough that every bar keeps a readable row.
const maxCompareRegions = 40

// compareWords are the comparison's texts in one language; the embed
// page's shared texts are in words.
type compareWords struct {
	Title, BarChart, Region, NoFigure, NoRate, SmallMark          string
	Suppressed, Gap, Small, NoRateNote, NoFigures, OutlineNotZero string
}

// compareWordsOf holds the comparison's texts by language; TestCompareWords
// fails on an empty one.
var compareWordsOf = map[string]compareWords{
	langEN: {
		Title:    "%s: %s, %s", // offence, measure, period
		BarChart: "Bar chart of %s (%s) in %s across %d regions, largest first; regions without a number last. ",
		Region:   "Region", NoFigure: "no figure", NoRate: "no rate", SmallMark: "*",
		Suppressed:     "The source published no number for %s.",
		Gap:            "No figure for %s in %s.",
		Small:          "* Small count (below %d) for %s: a difference from it says little.",
		NoRateNote:     "No rate for %s: Krimstat has no population figure to divide by.",
		NoFigures:      "No figures",
		OutlineNotZero: "Regions without a number are drawn as an empty outline, not as zero.",
	},
	langNB: {
		Title:    "%s: %s, %s",
		BarChart: "Stolpediagram over %s (%s) i %s for %d områder, størst først; områder uten tall sist. ",
		Region:   "Område", NoFigure: "ingen tall", NoRate: "ingen rate", SmallMark: "*",
		Suppressed:     "Kilden publiserte ikke noe tall for %s.",
		Gap:            "Ingen tall for %s i %s.",
		Small:          "* Lite tall (under %d) for %s: en forskjell fra det sier lite.",
		NoRateNote:     "Ingen rate for %s: Krimstat har ikke folketall å dele på.",
		NoFigures:      "Ingen tall",
		OutlineNotZero: "Områder uten tall er tegnet som en tom ramme, ikke som null.",
	},
	langNN: {
		Title:    "%s: %s, %s",
		BarChart: "Stolpediagram over %s (%s) i %s for %d område, størst først; område utan tal sist. ",
		Region:   "Område", NoFigure: "ingen tal", NoRate: "ingen rate", SmallMark: "*",
		Suppressed:     "Kjelda publiserte ikkje noko tal for %s.",
		Gap:            "Ingen tal for %s i %s.",
		Small:          "* Lite tal (under %d) for %s: ein skilnad frå det seier lite.",
		NoRateNote:     "Ingen rate for %s: Krimstat har ikkje folketal å dele på.",
		NoFigures:      "Ingen tal",
		OutlineNotZero: "Område utan tal er teikna som ei tom ramme, ikkje som null.",
	},
}

// compareView is one period of one offence and measure across regions,
// with the names a chart shows. It keeps the series it was built from in
// a seriesView, whose source and licence lines it shares.
type compareView struct {
	seriesView
	period string
	cw     compareWords
	bars   []compareBar // in the order of the series
}

// compareBar is a region's value in the period, and why it has none.
type compareBar struct {
	chart.Bar
	point *series.Point // nil: no point for the period (a gap)
}

// compareView parses the comparison query q and builds the view, in the
// language q's lang names, else acceptLanguage's. It sets the response's
// language header.
func (h *Handler) compareView(c *gin.Context, q query, acceptLanguage string) (compareView, error) {
	offences, err := q.list("offence")
	if err != nil {
		return compareView{}, err
	}
	if len(offences) != 1 {
		return compareView{}, store.InvalidParam("offence", "a comparison takes exactly one offence (got %d)", len(offences))
	}
	regions, err := q.list("region")
	if err != nil {
		return compareView{}, err
	}
	if len(regions) == 0 {
		return compareView{}, store.InvalidParam("region", "a comparison takes at least one region")
	}
	if len(regions) > maxCompareRegions {
		return compareView{}, store.InvalidParam("region", "%d regions: a comparison takes at most %d", len(regions), maxCompareRegions)
	}
	period, err := q.period("period")
	if err != nil {
		return compareView{}, err
	}
	if period == nil {
		return compareView{}, store.InvalidParam("period", "a comparison takes one period, such as period=2020")
	}
	// The shared options: from and to are not parameters of this route,
	// so they are set here to the one period.
	base, err := parseSeriesOptions(q)
	if err != nil {
		return compareView{}, err
	}
	base.From, base.To = period, period
	reqs := make([]series.Request, 0, len(regions))
	for _, r := range regions {
		req := base
		req.Offence, req.Region = offences[0], r
		reqs = append(reqs, req)
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return compareView{}, err
	}
	ctx := c.Request.Context()
	set, err := series.BuildSet(ctx, h.store, rel.ID, reqs)
	if err != nil {
		return compareView{}, err
	}
	values := maps.Clone(q.values)
	for _, p := range pngParams {
		values.Del(p)
	}
	canon, err := compareRoute.canonical(values, rel.ID)
	if err != nil {
		return compareView{}, err
	}
	lang, err := compareRoute.language(q, acceptLanguage)
	if err != nil {
		return compareView{}, err
	}
	c.Header("Content-Language", lang)
	query := link("", canon, langParam(lang))
	res := SeriesResponse{Data: set.Series[0], Series: set.Series, Periods: set.Periods,
		Meta: SeriesMeta{Release: rel.ID, Released: rel.Created, Sources: set.Sources, Language: lang}}
	v := compareView{
		seriesView: seriesView{res: res, all: set.Series, unit: wordsOf[lang].unit(res.Data.Unit), query: query, lang: lang, w: wordsOf[lang],
			apiQuery: apiQuery(canon, period.String(), len(regions), lang, ""),
			csvQuery: apiQuery(canon, period.String(), len(regions), lang, "csv")},
		period: period.String(),
		cw:     compareWordsOf[lang],
	}
	if res.Data.Per != 0 {
		v.unit = v.w.unit(res.Data.Unit) + v.w.PerInhabitants
	}
	if err := h.names(ctx, rel.ID, &v.seriesView); err != nil {
		return compareView{}, err
	}
	for i, s := range set.Series {
		v.bars = append(v.bars, v.bar(s, v.labels[i]))
	}
	return v, nil
}

// apiQuery is the API query of a comparison's figures, from its canonical
// query: GET /v1/series for the series the bars are read from, or, for
// more regions than one series request takes, GET /v1/observations (every
// source's figures); in the view's language. Period becomes from and to.
func apiQuery(canon, period string, regions int, lang, format string) string {
	path, keep := "/v1/series", []string{"offence", "region", "measure", "source", "per", "small", "release"}
	if regions > series.MaxSeries {
		path, keep = "/v1/observations", []string{"offence", "region", "measure", "source", "release"}
	}
	parts := []string{"from=" + url.QueryEscape(period), "to=" + url.QueryEscape(period)}
	if format != "" {
		parts = append(parts, "format="+format)
	}
	for part := range strings.SplitSeq(canon, "&") {
		name, _, _ := strings.Cut(part, "=")
		if slices.Contains(keep, name) {
			parts = append(parts, part)
		}
	}
	slices.Sort(parts)
	// Nynorsk asks a data route for Bokmål, its names' language.
	return link(path, strings.Join(parts, "&"), langParam(lang))
}

// bar is the series' value in the period: the rate when rates were asked
// for, else the value; without a number, the text the source printed or
// why there is none, never zero.
func (v compareView) bar(s series.Series, label string) compareBar {
	b := compareBar{Bar: chart.Bar{Label: label}}
	i := slices.IndexFunc(s.Points, func(p series.Point) bool { return p.Period == v.period })
	if i < 0 {
		b.Text = v.cw.NoFigure
		return b
	}
	p := s.Points[i]
	b.point = &p
	switch {
	case p.Value == nil:
		b.Text = cmp.Or(p.ValueText, v.cw.NoFigure)
	case s.Per != 0 && p.Rate == nil:
		b.Text = v.cw.NoRate
	case s.Per != 0:
		b.Value = p.Rate
	default:
		b.Value = p.Value
	}
	if b.Value != nil && slices.Contains(p.Flags, series.FlagSmallCount) {
		b.Small, b.Text = true, v.cw.SmallMark
	}
	return b
}

// title is the chart's heading: offence, measure and period.
func (v compareView) title() string {
	return fmt.Sprintf(v.cw.Title, v.andList(v.offences), strings.ToLower(v.measure), v.period)
}

// notes explain every bar drawn without a number, and small counts.
func (v compareView) notes() string {
	var suppressed, gaps, small, noRate []string
	for _, b := range v.bars {
		switch {
		case b.point == nil:
			gaps = append(gaps, b.Label)
		case b.point.Value == nil:
			suppressed = append(suppressed, fmt.Sprintf("%s (%s)", b.Label, b.Text))
		case b.Value == nil:
			noRate = append(noRate, b.Label)
		case b.Small:
			small = append(small, b.Label)
		}
	}
	var out []string
	if len(suppressed) > 0 {
		out = append(out, fmt.Sprintf(v.cw.Suppressed, v.andList(suppressed)))
	}
	if len(gaps) > 0 {
		out = append(out, fmt.Sprintf(v.cw.Gap, v.andList(gaps), v.period))
	}
	if len(noRate) > 0 {
		out = append(out, fmt.Sprintf(v.cw.NoRateNote, v.andList(noRate)))
	}
	if len(suppressed)+len(gaps)+len(noRate) > 0 {
		out = append(out, v.cw.OutlineNotZero)
	}
	if len(small) > 0 {
		out = append(out, fmt.Sprintf(v.cw.Small, v.all[0].SmallCount, v.andList(small)))
	}
	return strings.Join(out, " ")
}

// chart is the comparison as a bar chart, its description listing every
// value in the order drawn.
func (v compareView) chart() chart.Bars {
	c := chart.Bars{Title: v.title(), Unit: v.unit, NoData: v.cw.NoFigures, Width: 640}
	if v.lang != langEN {
		c.Number = v.w.number
	}
	for _, b := range v.bars {
		c.Bars = append(c.Bars, b.Bar)
	}
	c.Desc = fmt.Sprintf(v.cw.BarChart, strings.ToLower(v.measure), v.unit, v.period, len(v.bars)) +
		v.sourceLine() + " " + v.w.Values + chart.BarsText(c) + "."
	if n := v.notes(); n != "" {
		c.Desc += " " + n
	}
	return c
}

// table is the embed page's data table: a row per region, in the order
// drawn, with its value (or what stands instead) and flags.
func (v compareView) table() []embedRow {
	byLabel := map[string]compareBar{}
	for _, b := range v.bars {
		byLabel[b.Label] = b
	}
	var rows []embedRow
	for _, b := range v.chart().Sorted() {
		cb := byLabel[b.Label]
		shown := cb.Text
		if cb.Value != nil {
			shown = v.w.number(*cb.Value)
		}
		var flags string
		if cb.point != nil {
			flags = v.w.flags(cb.point.Flags)
		}
		rows = append(rows, embedRow{Period: b.Label, Cells: []embedCell{{Text: shown, Num: true}, {Text: flags}}})
	}
	return rows
}

// compareQuery reads the request's query with rt and builds its view.
func (h *Handler) compareQuery(c *gin.Context, rt route) (compareView, error) {
	q, err := rt.query(c.Request.URL.RawQuery)
	if err != nil {
		return compareView{}, err
	}
	// The embed page's theme is its look only: read, then left out of
	// the comparison's query and its links to data.
	theme := themeLight
	if slices.Contains(rt.params, "theme") {
		if theme, err = themeOf(q); err != nil {
			return compareView{}, err
		}
		q.values.Del("theme")
	}
	v, err := h.compareView(c, q, c.GetHeader("Accept-Language"))
	v.theme = theme
	return v, err
}

// getCompareSVG godoc
//
//	@Summary		One period across regions as an SVG bar chart
//	@Description	One offence and measure in one period across up to 40 regions (the police districts, the Nordic countries), as a static, script-free SVG bar chart sorted largest first, x axis from zero. Each region's value is its series point for the period under the series rules (GET /v1/series: source by precedence, flags, rates); with per=100000 the rates are drawn. A region without a number (suppressed such as "<5", no figure for the period, or no population to form a rate) is listed last as an empty dashed outline holding the reason, never as a zero-length bar; small counts are drawn lighter and marked *. The SVG has a title and a description listing every value.
//	@Tags			embed
//	@ID				getCompareSVG
//	@Produce		image/svg+xml
//	@Param			offence		query		string	true	"Offence id (one)"	example(human-trafficking)
//	@Param			region		query		string	true	"Region ids (comma-separated), up to 40"	example(NO,SE,DK,FI,IS)
//	@Param			measure		query		string	true	"Measure id (one)"	example(reported-offences)
//	@Param			period		query		string	true	"The period"	example(2020)
//	@Param			source		query		string	false	"Source id (default: by precedence, per region)"
//	@Param			per			query		int		false	"Draw rates per this many inhabitants"	Enums(100000)
//	@Param			small		query		int		false	"Counts below this are small"	minimum(0)	default(20)
//	@Param			lang		query		string	false	"Language of the texts and names: en (default) or nb; without it, Accept-Language"	Enums(en, nb)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Success		200			{string}	string	"SVG document"
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/compare.svg [get]
func (h *Handler) getCompareSVG(c *gin.Context) error {
	v, err := h.compareQuery(c, compareRoute)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := chart.BarsSVG(&buf, v.chart()); err != nil {
		return err
	}
	c.Header("Content-Security-Policy", embedCSP)
	c.Data(http.StatusOK, "image/svg+xml", buf.Bytes())
	return nil
}

// getComparePNG godoc
//
//	@Summary		One period across regions as a PNG bar chart
//	@Description	The chart of GET /v1/compare.svg (same parameters) as a PNG image with the title at the top and the source line and the notes (what stands instead of a number, and why) at the bottom. By default a 1200 × 630 card; width and height set another size in CSS pixels, and scale=2 doubles the pixels each way.
//	@Tags			embed
//	@ID				getComparePNG
//	@Produce		png
//	@Param			offence		query		string	true	"Offence id (one)"	example(human-trafficking)
//	@Param			region		query		string	true	"Region ids (comma-separated), up to 40"	example(NO,SE,DK,FI,IS)
//	@Param			measure		query		string	true	"Measure id (one)"	example(reported-offences)
//	@Param			period		query		string	true	"The period"	example(2020)
//	@Param			source		query		string	false	"Source id (default: by precedence, per region)"
//	@Param			per			query		int		false	"Draw rates per this many inhabitants"	Enums(100000)
//	@Param			small		query		int		false	"Counts below this are small"	minimum(0)	default(20)
//	@Param			width		query		int		false	"Image width in CSS pixels"	minimum(320)	maximum(2400)	default(1200)
//	@Param			height		query		int		false	"Image height in CSS pixels"	minimum(200)	maximum(1600)	default(630)
//	@Param			scale		query		int		false	"Device pixels per CSS pixel"	Enums(1, 2)	default(1)
//	@Param			lang		query		string	false	"Language of the texts and names: en (default) or nb; without it, Accept-Language"	Enums(en, nb)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Success		200			{file}		binary	"PNG image"
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/compare.png [get]
func (h *Handler) getComparePNG(c *gin.Context) error {
	q, err := comparePNGRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	opt, err := pngOptions(q)
	if err != nil {
		return err
	}
	v, err := h.compareView(c, q, c.GetHeader("Accept-Language"))
	if err != nil {
		return err
	}
	// The source first: it must travel with the image, and a footer too
	// long for the image loses its end.
	opt.Footer = strings.TrimSpace(v.sourceLine() + " " + v.notes())
	var buf bytes.Buffer
	if err := chart.BarsPNG(&buf, v.chart(), opt); err != nil {
		return err
	}
	c.Data(http.StatusOK, "image/png", buf.Bytes())
	return nil
}

// comparePage is the HTML of GET /embed/compare: the series page's layout,
// its oEmbed discovery link and social card tags (absolute URLs, for
// consumers and crawlers, which browsers do not fetch) and its height
// script, written into the template as it is hashed (embedPageCSP).
var comparePage = template.Must(template.New("compare").Parse(embedTop + `<p class="sub">{{.Unit}}{{if .Notes}} · <span class="notes">{{.Notes}}</span>{{end}}</p>
<figure>
{{.SVG}}
<figcaption class="source">{{.Source}}</figcaption>
</figure>
<p class="meta">{{.Licence}} <a href="{{.APIQuery}}" target="_blank" rel="noopener">{{.W.DataAPI}}</a> · <a href="{{.CSVQuery}}" download>{{.W.DownloadCSV}}</a></p>
<details>
<summary>{{.W.DataTable}}</summary>
<table>
<caption>{{.Title}} ({{.Unit}})</caption>
<thead><tr><th scope="col">{{.CW.Region}}</th><th scope="col">{{.W.Value}}</th><th scope="col">{{.W.Flags}}</th></tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Period}}</th>{{range .Cells}}<td{{if .Num}} class="n"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
</details>
<script>` + heightScript + `</script>
</body>
</html>
`))

// embedCompare godoc
//
//	@Summary		One period across regions as an embeddable HTML chart
//	@Description	A self-contained, responsive HTML page for an iframe: the chart of GET /v1/compare.svg inline, the title, unit, the notes that explain every region drawn without a number, the source line and licence, a link to the same figures in GET /v1/series and one to download them as CSV, and a table of every region's value. In its head, the oEmbed discovery link (GET /oembed) and og:/twitter: tags whose image is GET /v1/compare.png of the same query, as absolute URLs on the origin asked. It loads nothing (Content-Security-Policy default-src 'none'); its one script, allowed by its hash, tells a framing page its height. It may be framed by any site. Same parameters as GET /v1/compare.svg.
//	@Tags			embed
//	@ID				embedCompare
//	@Produce		html
//	@Param			offence		query		string	true	"Offence id (one)"	example(human-trafficking)
//	@Param			region		query		string	true	"Region ids (comma-separated), up to 40"	example(NO,SE,DK,FI,IS)
//	@Param			measure		query		string	true	"Measure id (one)"	example(reported-offences)
//	@Param			period		query		string	true	"The period"	example(2020)
//	@Param			source		query		string	false	"Source id (default: by precedence, per region)"
//	@Param			per			query		int		false	"Show rates per this many inhabitants"	Enums(100000)
//	@Param			small		query		int		false	"Counts below this are small"	minimum(0)	default(20)
//	@Param			lang		query		string	false	"Language of the texts and names: en (default) or nb; without it, Accept-Language"	Enums(en, nb)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Param			theme		query		string	false	"Colours: light (default), dark, or auto (follows the reader's prefers-color-scheme); WCAG AA contrast in both"	Enums(light, dark, auto)	default(light)
//	@Success		200			{string}	string	"HTML page"
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/embed/compare [get]
func (h *Handler) embedCompare(c *gin.Context) error {
	v, err := h.compareQuery(c, embedCompareRoute)
	if err != nil {
		return err
	}
	svg, err := twoCharts(func(w io.Writer, width int, id string) error {
		c := v.chart()
		c.ID, c.Width = id, width
		return chart.BarsSVG(w, c)
	})
	if err != nil {
		return err
	}
	// Consumers and crawlers need absolute URLs: the page's own, with the
	// canonical query; its oEmbed answer; its PNG for social cards.
	base := origin(c)
	self := base + withTheme(embedComparePath+v.query, v.theme)
	var page bytes.Buffer
	err = comparePage.Execute(&page, map[string]any{
		"Title": v.title(), "Unit": v.unit, "Notes": v.notes(),
		"SVG":    svg,
		"Source": v.sourceLine(), "Licence": v.licenceLine(), "APIQuery": v.apiQuery, "CSVQuery": v.csvQuery,
		"Rows": v.table(), "W": v.w, "CW": v.cw, "Theme": v.theme, "CSS": embedCSS, "NarrowCSS": narrowCSS,
		"URL": self, "OEmbed": base + "/oembed?url=" + url.QueryEscape(self) + "&format=json", "Feed": base + feedPath,
		"Image": base + "/v1/compare.png" + v.query,
	})
	if err != nil {
		return err
	}
	c.Header("Content-Security-Policy", embedPageCSP)
	c.Data(http.StatusOK, "text/html; charset=utf-8", page.Bytes())
	return nil
}
