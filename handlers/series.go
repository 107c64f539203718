package handlers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
)

// SeriesResponse is the response of GET /v1/series. Data is the series,
// or with several the first of them (series[0]). A request for one offence
// and one region has data and no series or periods, as before several
// series could be asked for; a request for several has all three, so a
// client that reads only data still gets the first series. (Data has no
// field comment on purpose: swag would turn its schema reference into an
// allOf, which some client generators read as a new type.)
type SeriesResponse struct {
	Data series.Series `json:"data"`
	// Series holds every series, data first, ordered by offence id and
	// then region id whatever order the request lists them in; present only
	// when the request names more than one offence or region.
	Series []series.Series `json:"series,omitempty"`
	// Periods lines the series up: every period any of them has a point
	// for, in period order (a year before its parts); present with series.
	// A series without a point for one of them has a gap there, never a zero.
	Periods []string   `json:"periods,omitempty" example:"2009,2010"`
	Links   Links      `json:"links"`
	Meta    SeriesMeta `json:"meta"`
} // @name SeriesResponse

// SeriesMeta describes a series response.
type SeriesMeta struct {
	Release  string `json:"release" example:"20250414-3da80bd7"`
	Released string `json:"released" example:"2025-04-14T00:00:00Z"`
	// Count is the number of points in the response: of data, or with
	// several series of all of them together.
	Count   int            `json:"count" example:"2"`
	Sources []store.Source `json:"sources"` // every source cited by any series: points, alternatives, denominators
	// Language is the language of names (lang or Accept-Language).
	Language string `json:"language" example:"nb"`
	// Names are the names of the series' offences, regions and measure.
	Names Names `json:"names"`
} // @name SeriesMeta

// all returns every series of the response, data first.
func (r SeriesResponse) all() []series.Series {
	if len(r.Series) > 0 {
		return r.Series
	}
	return []series.Series{r.Data}
}

// SeriesParams are the parameters of every series route (the JSON, SVG and
// embed routes, and cite for a series); the data route adds format and
// csv_dialect.
var SeriesParams = []string{"offence", "region", "measure", "source", "per", "harmonise", "from", "to", "small", "release"}

// The contracts of the series routes: the data route, and the chart and
// embed routes, which have one representation each.
var (
	seriesRoute = route{
		params:  slices.Concat(SeriesParams, []string{"format", "csv_dialect", "layout"}),
		formats: []string{formatJSON, formatCSV, formatJSONStat, formatXLSX},
	}
	seriesViewRoute = route{params: slices.Clone(SeriesParams), langs: chartLangs}
)

// parseSeriesSet reads the parameters of the series q asks for: one per
// offence and region (offences × regions, at most series.MaxSeries), of
// one measure, with the same options, ordered by offence id and then region
// id. The order is that of the sorted lists, not of the request: every
// list is a set, and region=SE,NO shares its cache entry with region=NO,SE.
func parseSeriesSet(q query) ([]series.Request, error) {
	offences, err := q.list("offence")
	if err != nil {
		return nil, err
	}
	if len(offences) == 0 {
		return nil, store.InvalidParam("offence", "a series takes at least one offence")
	}
	regions, err := q.list("region")
	if err != nil {
		return nil, err
	}
	if len(regions) == 0 {
		return nil, store.InvalidParam("region", "a series takes at least one region")
	}
	base, err := parseSeriesOptions(q)
	if err != nil {
		return nil, err
	}
	return series.Requests(base, offences, regions)
}

// parseSeriesOptions reads the parameters every series of a request
// shares: the one measure and the options.
func parseSeriesOptions(q query) (series.Request, error) {
	var r series.Request
	ms, err := q.list("measure")
	if err != nil {
		return r, err
	}
	if len(ms) != 1 {
		return r, store.InvalidParam("measure", "a series takes exactly one measure (got %d); several series never mix measures", len(ms))
	}
	r.Measure = ms[0]
	if r.Source, err = q.one("source"); err != nil {
		return r, err
	}
	if strings.Contains(r.Source, ",") {
		return r, store.InvalidParam("source", "a series takes one source")
	}
	per, err := q.one("per")
	if err != nil {
		return r, err
	}
	if per != "" {
		if per != strconv.Itoa(series.RatePer) {
			return r, store.InvalidParam("per", "%q: the only rate offered is per=%d", per, series.RatePer)
		}
		r.Per = series.RatePer
	}
	if r.Harmonise, err = q.one("harmonise"); err != nil {
		return r, err
	}
	if r.Harmonise != "" && r.Harmonise != series.Harmonise2016 {
		return r, store.InvalidParam("harmonise", "%q: the only harmonisation offered is harmonise=2016", r.Harmonise)
	}
	if r.From, err = q.period("from"); err != nil {
		return r, err
	}
	if r.To, err = q.period("to"); err != nil {
		return r, err
	}
	if r.From != nil && r.To != nil && r.From.Start() > r.To.End() {
		return r, store.InvalidParam("to", "%s is before from=%s", r.To, r.From)
	}
	r.Small = series.DefaultSmall
	s, err := q.one("small")
	if err != nil {
		return r, err
	}
	if s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1000000 {
			return r, store.InvalidParam("small", "%q: want a whole number from 0 to 1000000", s)
		}
		r.Small = n
	}
	return r, nil
}

// getSeries godoc
//
//	@Summary		Time series with change, rates and alternatives
//	@Description	One offence, region and measure, totals only, values from one source: the caller's `source`, else by precedence (confidence A before B, then the source with the most points, then id; `candidates` lists them in that order). Each point has the change from the previous period of the same kind (absent when that period has no value; never across measures or from a part of a year to a year), flagged `unreliable` (and the point `small-count`) when either count is below `small` (default 20). Other sources' values for the same period are in `alternatives`.
//	@Description	`per=100000` adds `rate` = value / population × 100000 with the `denominator` (Statistics Norway table 07459, population on 1 January of the point's year). Where no population exists (police districts, parts of a year, suppressed values) rate is null with `rate_reason`; nothing is estimated. Measures that are already rates reject `per`.
//	@Description	`harmonise=2016` on a district of 2016 (`pd2016-*`) adds, for periods before 2016 without a figure of its own, the sum of its predecessors' figures (see /v1/regions/{id}) when every predecessor has a value from the same source; otherwise the point is listed in `omitted` with the reason. Sums are flagged `harmonised-2016`, and `approximate` where a succession is approximate or inferred.
//	@Description	Several series: `offence` and `region` may each list several ids (comma-separated or repeated), up to 12 series in all (offences × regions; more is a 400 naming the longer list); `measure` is always one. Each series is built as if asked for alone, with its own source, change, rates and harmonisation (a parameter that does not apply to one of them is a 400). The series are ordered by offence id, then region id, whatever order the request lists them in. `data` is then the first series, unchanged in shape, and the response adds `series` (every series, `data` first) and `periods` (every period any series has, in period order, to line them up; a series without a point there has a gap, never a zero). Without several series, neither field is present. `meta.count` counts the points of all series and `meta.sources` cites every series' sources.
//	@Description	`format=jsonstat` (or Accept: application/json+stat) returns the chosen points as a JSON-stat 2.0 dataset (served as application/json), with several series as one dataset whose offence and region dimensions hold them all; `format=csv` a CSV (`csv_dialect=excel-no` for Norwegian Excel) with one row per point, series after series.
//	@Tags			data
//	@ID				getSeries
//	@Produce		json
//	@Produce		text/csv
//	@Produce		application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
//	@Param			offence		query		string	true	"Offence id, or several (comma-separated): one series each"	example(sex-purchase)
//	@Param			region		query		string	true	"Region id, or several (comma-separated): one series each"	example(NO)
//	@Param			measure		query		string	true	"Measure id (one)"	example(reported-persons)
//	@Param			source		query		string	false	"Source id (default: by precedence)"
//	@Param			per			query		int		false	"Add a rate per this many inhabitants"	Enums(100000)
//	@Param			harmonise	query		string	false	"Express pre-2016 district figures on the districts of 2016"	Enums(2016)
//	@Param			from		query		string	false	"First period"	example(2009)
//	@Param			to			query		string	false	"Last period"	example(2010)
//	@Param			small		query		int		false	"Counts below this are small (change unreliable)"	minimum(0)	default(20)
//	@Param			format		query		string	false	"Representation (default json)"	Enums(json, csv, jsonstat, xlsx)
//	@Param			csv_dialect	query		string	false	"CSV dialect (default rfc4180)"	Enums(rfc4180, excel-no)
//	@Param			layout		query		string	false	"CSV layout: long (default) or wide (one row per period, one column per series)"	Enums(long, wide)
//	@Param			lang		query		string	false	"Language of names (CSV name columns, JSON-stat labels): en (default) or nb; without it, Accept-Language"	Enums(en, nb)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Success		200			{object}	SeriesResponse
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/series [get]
func (h *Handler) getSeries(c *gin.Context) error {
	q, err := seriesRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	reqs, err := parseSeriesSet(q)
	if err != nil {
		return err
	}
	format, dialect, err := seriesRoute.representation(q, c.GetHeader("Accept"))
	if err != nil {
		return err
	}
	if format == formatJSONStat && reqs[0].Per != 0 {
		return store.InvalidParam("per", "rates are not part of the JSON-stat output; ask for JSON or CSV")
	}
	lang, err := q.language(c.GetHeader("Accept-Language"))
	if err != nil {
		return err
	}
	layout, err := layoutOf(q, format)
	if err != nil {
		return err
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return err
	}
	res, err := h.buildSeries(c.Request.Context(), rel, reqs)
	if err != nil {
		return err
	}
	cat, err := h.catalogue(c.Request.Context(), rel.ID)
	if err != nil {
		return err
	}
	c.Header("Content-Language", lang)
	self, err := selfLink(c, seriesRoute, rel.ID)
	if err != nil {
		return err
	}
	res.Links = Links{Self: self}
	res.Meta.Language, res.Meta.Names = lang, seriesNames(res.all(), cat.labels[lang])
	switch format {
	case formatCSV, formatXLSX:
		t := seriesTable(res.all(), cat.labels[lang])
		if layout == layoutWide {
			var obs []store.Observation
			for _, s := range res.all() {
				obs = append(obs, s.Observations()...)
			}
			wide := wideTable(obs, cat.labels[lang])
			wide.name = fileName(t.name, "wide")
			t = wide
		}
		t.dialect = dialect
		return writeTable(c, t, format)
	case formatJSONStat:
		var obs []store.Observation
		var notes []string
		for _, s := range res.all() {
			obs = append(obs, s.Observations()...)
			notes = appendNew(notes, s.Notes...)
		}
		return h.writeJSONStat(c, obs, res.Meta.Sources, rel, link(self, "", formatParam(seriesRoute, format)),
			jsonStatLabel(res.all()), notes)
	}
	writeJSON(c, res)
	return nil
}

// buildSeries builds the series reqs ask for from release rel, with the
// response's meta; series and periods are set only for several series.
// seriesNames picks the names of the series' ids.
func seriesNames(ss []series.Series, l labels) Names {
	n := Names{Offence: map[string]string{}, Region: map[string]string{}, Measure: map[string]string{}, Unit: map[string]string{}}
	for _, s := range ss {
		n.Offence[s.Offence], n.Region[s.Region] = l.offence[s.Offence], l.region[s.Region]
		n.Measure[s.Measure], n.Unit[s.Measure] = l.measure[s.Measure], l.unit[s.Measure]
	}
	return n
}

func (h *Handler) buildSeries(ctx context.Context, rel store.Release, reqs []series.Request) (SeriesResponse, error) {
	set, err := series.BuildSet(ctx, h.store, rel.ID, reqs)
	if err != nil {
		return SeriesResponse{}, err
	}
	res := SeriesResponse{Data: set.Series[0], Meta: SeriesMeta{Release: rel.ID, Released: rel.Created, Sources: set.Sources}}
	if len(set.Series) > 1 {
		res.Series, res.Periods = set.Series, set.Periods
	}
	for _, s := range set.Series {
		res.Meta.Count += len(s.Points)
	}
	return res, nil
}

// jsonStatLabel names the dataset of a series response: offence, region,
// measure and source of one series; the offences, regions and measure of
// several.
func jsonStatLabel(ss []series.Series) string {
	s := ss[0]
	if len(ss) == 1 {
		return fmt.Sprintf("%s, %s, %s (%s)", s.Offence, s.Region, s.Measure, s.Source)
	}
	var offences, regions []string
	for _, s := range ss {
		offences, regions = appendNew(offences, s.Offence), appendNew(regions, s.Region)
	}
	return fmt.Sprintf("%s, %s, %s (%d series)", strings.Join(offences, " "), strings.Join(regions, " "), s.Measure, len(ss))
}

// appendNew appends to list the values it does not hold yet, in order.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// seriesColumns is the CSV header of a series.
var seriesColumns = []string{
	"offence", "region", "measure", "period", "value", "value_text", "flags", "source", "confidence", "locator",
	"change_from", "change_absolute", "change_relative", "unreliable",
	"rate_per", "rate", "rate_reason", "population", "population_date", "population_source",
	// Names in the request's language, after the columns files had
	// before, so that readers by position keep working.
	"offence_name", "region_name", "measure_name", "unit",
}

// seriesTable renders series as CSV rows: one per point, series after
// series, in the long layout whose offence and region columns tell the
// series apart.
func seriesTable(ss []series.Series, l labels) table {
	t := table{
		header:  seriesColumns,
		numeric: []string{"value", "change_absolute", "change_relative", "rate", "population"},
	}
	if s := ss[0]; len(ss) == 1 {
		t.name = fileName("krimstat-series", s.Offence, s.Region, s.Measure, s.Source)
	} else {
		var offences, regions []string
		for _, s := range ss {
			offences, regions = appendNew(offences, s.Offence), appendNew(regions, s.Region)
		}
		t.name = fileName(slices.Concat([]string{"krimstat-series"}, offences, regions, []string{s.Measure})...)
	}
	for _, s := range ss {
		for _, row := range seriesRows(s) {
			t.rows = append(t.rows, append(row, l.offence[s.Offence], l.region[s.Region], l.measure[s.Measure], l.unit[s.Measure]))
		}
	}
	return t
}

// seriesRows are the CSV rows of one series' points.
func seriesRows(s series.Series) [][]string {
	var rows [][]string
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	for _, p := range s.Points {
		row := []string{s.Offence, s.Region, s.Measure, p.Period, num(p.Value), p.ValueText, strings.Join(p.Flags, ";"),
			p.Source, p.Confidence, p.Locator, "", "", "", strconv.FormatBool(p.Unreliable), "", "", p.RateReason, "", "", ""}
		if ch := p.Change; ch != nil {
			row[10], row[11], row[12] = ch.From, num(&ch.Absolute), num(ch.Relative)
		}
		if s.Per != 0 {
			row[14], row[15] = strconv.Itoa(s.Per), num(p.Rate)
		}
		if d := p.Denominator; d != nil {
			row[17], row[18], row[19] = num(&d.Population), d.Date, d.Source
		}
		rows = append(rows, row)
	}
	return rows
}
