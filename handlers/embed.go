package handlers

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
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

// seriesView is a series with the names a chart shows.
type seriesView struct {
	res                   SeriesResponse
	offence, region, unit string
	measure               string
	apiQuery              string // the /v1/series query the chart shows
}

// seriesViewFor parses a series query and builds the series with names.
func (h *Handler) seriesViewFor(c *gin.Context) (seriesView, error) {
	q, err := seriesViewRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return seriesView{}, err
	}
	req, err := parseSeries(q)
	if err != nil {
		return seriesView{}, err
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return seriesView{}, err
	}
	ctx := c.Request.Context()
	res, err := h.buildSeries(ctx, rel, req)
	if err != nil {
		return seriesView{}, err
	}
	canon, err := seriesViewRoute.canonical(q.values, rel.ID)
	if err != nil {
		return seriesView{}, err
	}
	v := seriesView{res: res, unit: res.Data.Unit, apiQuery: link("/v1/series", canon)}
	if res.Data.Per != 0 {
		v.unit = res.Data.Unit + " per 100,000 inhabitants"
	}
	if err := h.names(ctx, rel.ID, &v); err != nil {
		return seriesView{}, err
	}
	return v, nil
}

// names fills in the English names of the series' offence, region and measure.
func (h *Handler) names(ctx context.Context, rel string, v *seriesView) error {
	s := v.res.Data
	o, err := h.store.Offence(ctx, rel, s.Offence)
	if err != nil {
		return err
	}
	r, err := h.store.Region(ctx, rel, s.Region)
	if err != nil {
		return err
	}
	ms, err := h.store.Measures(ctx, rel)
	if err != nil {
		return err
	}
	m, err := store.FindMeasure(ms, s.Measure)
	if err != nil {
		return err
	}
	v.offence, v.region, v.measure = o.Name.EN, r.Name.EN, m.Name.EN
	return nil
}

// title is the chart's heading.
func (v seriesView) title() string {
	return fmt.Sprintf("%s, %s: %s", v.offence, v.region, strings.ToLower(v.measure))
}

// sourceLine names the chosen source and the release.
func (v seriesView) sourceLine() string {
	s := v.res.Data
	if s.Source == "" {
		return "Source: none (no figures). Data: Krimstat release " + v.res.Meta.Release + "."
	}
	src := v.source(s.Source)
	line := fmt.Sprintf("Source: %s, “%s”", src.Publisher, src.Title)
	if src.Published != "" {
		line += " (" + src.Published + ")"
	}
	if s.Per != 0 {
		for _, p := range s.Points {
			if p.Denominator != nil {
				line += fmt.Sprintf("; population: %s", v.source(p.Denominator.Source).Publisher)
				break
			}
		}
	}
	return line + ". Compiled by Krimstat, release " + v.res.Meta.Release + "."
}

// licenceLine states the licences of the sources shown.
func (v seriesView) licenceLine() string {
	var ls []string
	for _, src := range v.res.Meta.Sources {
		if src.ID == v.res.Data.Source || v.res.Data.Per != 0 && src.ID == store.PopulationSource {
			ls = append(ls, src.Publisher+": "+src.Licence)
		}
	}
	if len(ls) == 0 {
		return ""
	}
	return "Licence: " + strings.Join(ls, "; ") + "."
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
			return nil, "n/a"
		}
		return p.Rate, ""
	}
	return p.Value, p.ValueText
}

// chart draws the series: calendar years as one line and each kind of part
// of a year as its own dashed line, since a tertial is not comparable with
// a year. Points are joined only to the period just before them.
func (v seriesView) chart() chart.Chart {
	kinds := map[string]*chart.Line{}
	var order []string
	label := map[string]string{
		store.PeriodYear: "calendar year", store.PeriodHalf: "half year", store.PeriodTertial: "January-April etc. (tertial)",
		store.PeriodQuarter: "quarter", store.PeriodMonth: "month",
	}
	for _, p := range v.res.Data.Points {
		per, err := store.ParsePeriod(p.Period)
		if err != nil {
			continue
		}
		l, ok := kinds[per.Kind]
		if !ok {
			l = &chart.Line{Label: label[per.Kind], Dashed: per.Kind != store.PeriodYear}
			kinds[per.Kind] = l
			order = append(order, per.Kind)
		}
		val, text := v.plotted(p)
		joined := len(l.Points) > 0 && l.Points[len(l.Points)-1].Label == per.Previous().String()
		l.Points = append(l.Points, chart.Point{X: midYear(per), Label: p.Period, Value: val, Text: text, Joined: joined})
	}
	c := chart.Chart{Title: v.title(), Unit: v.unit, Width: 640, Height: 360}
	slices.SortFunc(order, func(a, b string) int {
		if a == store.PeriodYear {
			return -1
		}
		if b == store.PeriodYear {
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, k := range order {
		c.Lines = append(c.Lines, *kinds[k])
	}
	var parts []string
	for _, p := range v.res.Data.Points {
		val, text := v.plotted(p)
		if val == nil {
			parts = append(parts, p.Period+": "+text)
		} else {
			parts = append(parts, p.Period+": "+formatNumber(*val))
		}
	}
	c.Desc = fmt.Sprintf("Line chart of %s (%s). %s ", strings.ToLower(v.measure), v.unit, v.sourceLine())
	if len(parts) == 0 {
		c.Desc += "No figures."
	} else {
		c.Desc += "Values: " + strings.Join(parts, "; ") + ". Missing periods are gaps, not zeros."
	}
	return c
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

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// getSeriesSVG godoc
//
//	@Summary		A series as an SVG chart
//	@Description	The series of GET /v1/series (same parameters) drawn as a static, script-free SVG line chart: calendar years as one line, parts of years as separate dashed lines, gaps left as gaps, y axis from zero; with per=100000 the rates are drawn. The SVG has a title and a description listing every value.
//	@Tags			embed
//	@ID				getSeriesSVG
//	@Produce		image/svg+xml
//	@Param			offence		query		string	true	"Offence id"	example(sex-purchase)
//	@Param			region		query		string	true	"Region id"	example(NO)
//	@Param			measure		query		string	true	"Measure id"	example(reported-persons)
//	@Param			source		query		string	false	"Source id (default: by precedence)"
//	@Param			per			query		int		false	"Draw rates per this many inhabitants"	Enums(100000)
//	@Param			harmonise	query		string	false	"Express pre-2016 district figures on the districts of 2016"	Enums(2016)
//	@Param			from		query		string	false	"First period"
//	@Param			to			query		string	false	"Last period"
//	@Param			small		query		int		false	"Counts below this are small"	minimum(0)	default(20)
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

// embedPage is the HTML of GET /embed/series. Everything is inline: the
// page makes no request of its own.
var embedPage = template.Must(template.New("embed").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} – Krimstat</title>
<style>
body{margin:0;padding:12px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;background:#fff}
h1{font-size:1.1em;margin:0 0 2px}
.sub{margin:0 0 8px;color:#555}
figure{margin:0}
svg{display:block;max-width:100%;height:auto}
figcaption,.meta{font-size:.85em;color:#444;margin-top:6px}
details{margin-top:8px;font-size:.9em}
table{border-collapse:collapse;margin-top:4px}
th,td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
a{color:#1b5e9f}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sub">{{.Unit}}{{if .Notes}} · {{.Notes}}{{end}}</p>
<figure>
{{.SVG}}
<figcaption class="source">{{.Source}}</figcaption>
</figure>
<p class="meta">{{.Licence}} <a href="{{.APIQuery}}" target="_blank" rel="noopener">Data and provenance (API)</a></p>
<details>
<summary>Data table</summary>
<table>
<caption>{{.Title}} ({{.Unit}})</caption>
<thead><tr><th scope="col">Period</th><th scope="col">Value</th><th scope="col">Change</th><th scope="col">Flags</th></tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Period}}</th><td class="n">{{.Value}}</td><td class="n">{{.Change}}</td><td>{{.Flags}}</td></tr>
{{else}}<tr><td colspan="4">No figures for this series.</td></tr>
{{end}}</tbody>
</table>
</details>
</body>
</html>
`))

type embedRow struct{ Period, Value, Change, Flags string }

// embedSeries godoc
//
//	@Summary		A series as an embeddable HTML chart
//	@Description	A self-contained, responsive HTML page for an iframe: the chart of GET /v1/series.svg inline, the title, unit, source line and licence, a link back to the API query, and the data as a table. It loads nothing (Content-Security-Policy default-src 'none') and may be framed by any site. Same parameters as GET /v1/series.
//	@Tags			embed
//	@ID				embedSeries
//	@Produce		html
//	@Param			offence		query		string	true	"Offence id"	example(sex-purchase)
//	@Param			region		query		string	true	"Region id"	example(NO)
//	@Param			measure		query		string	true	"Measure id"	example(reported-persons)
//	@Param			source		query		string	false	"Source id (default: by precedence)"
//	@Param			per			query		int		false	"Show rates per this many inhabitants"	Enums(100000)
//	@Param			harmonise	query		string	false	"Express pre-2016 district figures on the districts of 2016"	Enums(2016)
//	@Param			from		query		string	false	"First period"
//	@Param			to			query		string	false	"Last period"
//	@Param			small		query		int		false	"Counts below this are small"	minimum(0)	default(20)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Success		200			{string}	string	"HTML page"
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/embed/series [get]
func (h *Handler) embedSeries(c *gin.Context) error {
	v, err := h.seriesViewFor(c)
	if err != nil {
		return err
	}
	var svg bytes.Buffer
	if err := chart.SVG(&svg, v.chart()); err != nil {
		return err
	}
	var rows []embedRow
	for _, p := range v.res.Data.Points {
		val, text := v.plotted(p)
		r := embedRow{Period: p.Period, Value: text, Flags: strings.Join(p.Flags, ", ")}
		if val != nil {
			r.Value = formatNumber(*val)
		}
		if ch := p.Change; ch != nil && v.res.Data.Per == 0 {
			r.Change = fmt.Sprintf("%+g", ch.Absolute)
			if ch.Relative != nil {
				r.Change += fmt.Sprintf(" (%+.1f %%)", *ch.Relative*100)
			}
			if ch.Unreliable {
				r.Change += " (small counts)"
			}
		}
		rows = append(rows, r)
	}
	api := v.apiQuery
	var page bytes.Buffer
	err = embedPage.Execute(&page, map[string]any{
		"Title": v.title(), "Unit": v.unit, "Notes": strings.Join(v.res.Data.Notes, " "),
		// The SVG comes from package chart, which escapes every text it writes.
		"SVG":    template.HTML(svg.String()),
		"Source": v.sourceLine(), "Licence": v.licenceLine(), "APIQuery": api, "Rows": rows,
	})
	if err != nil {
		return err
	}
	c.Header("Content-Security-Policy", embedCSP)
	c.Data(http.StatusOK, "text/html; charset=utf-8", page.Bytes())
	return nil
}
