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

// SeriesResponse is the response of GET /v1/series.
type SeriesResponse struct {
	Data  series.Series `json:"data"`
	Links Links         `json:"links"`
	Meta  SeriesMeta    `json:"meta"`
} // @name SeriesResponse

// SeriesMeta describes a series response.
type SeriesMeta struct {
	Release  string         `json:"release" example:"20250414-3da80bd7"`
	Released string         `json:"released" example:"2025-04-14T00:00:00Z"`
	Count    int            `json:"count" example:"2"`
	Sources  []store.Source `json:"sources"` // every source cited: points, alternatives, denominators
} // @name SeriesMeta

// SeriesParams are the parameters of every series route (the JSON, SVG and
// embed routes, and cite for a series); the data route adds format and
// csv_dialect.
var SeriesParams = []string{"offence", "region", "measure", "source", "per", "harmonise", "from", "to", "small", "release"}

// The contracts of the series routes: the data route, and the chart and
// embed routes, which have one representation each.
var (
	seriesRoute = route{
		params:  slices.Concat(SeriesParams, []string{"format", "csv_dialect"}),
		formats: []string{formatJSON, formatCSV, formatJSONStat},
	}
	seriesViewRoute = route{params: slices.Clone(SeriesParams)}
)

// parseSeries reads the series parameters of q.
func parseSeries(q query) (series.Request, error) {
	var r series.Request
	for _, p := range []struct {
		name string
		dst  *string
	}{{"offence", &r.Offence}, {"region", &r.Region}, {"measure", &r.Measure}} {
		vs, err := q.list(p.name)
		if err != nil {
			return r, err
		}
		if len(vs) != 1 {
			return r, store.InvalidParam(p.name, "a series takes exactly one %s (got %d)", p.name, len(vs))
		}
		*p.dst = vs[0]
	}
	var err error
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
//	@Summary		One time series with change, rates and alternatives
//	@Description	One offence, region and measure, totals only, values from one source: the caller's `source`, else by precedence (confidence A before B, then the source with the most points, then id; `candidates` lists them in that order). Each point has the change from the previous period of the same kind (absent when that period has no value; never across measures or from a part of a year to a year), flagged `unreliable` (and the point `small-count`) when either count is below `small` (default 20). Other sources' values for the same period are in `alternatives`.
//	@Description	`per=100000` adds `rate` = value / population × 100000 with the `denominator` (Statistics Norway table 07459, population on 1 January of the point's year). Where no population exists (police districts, parts of a year, suppressed values) rate is null with `rate_reason`; nothing is estimated. Measures that are already rates reject `per`.
//	@Description	`harmonise=2016` on a district of 2016 (`pd2016-*`) adds, for periods before 2016 without a figure of its own, the sum of its predecessors' figures (see /v1/regions/{id}) when every predecessor has a value from the same source; otherwise the point is listed in `omitted` with the reason. Sums are flagged `harmonised-2016`, and `approximate` where a succession is approximate or inferred.
//	@Description	`format=jsonstat` (or Accept: application/json+stat) returns the chosen points as a JSON-stat 2.0 dataset (served as application/json); `format=csv` a CSV (`csv_dialect=excel-no` for Norwegian Excel).
//	@Tags			data
//	@ID				getSeries
//	@Produce		json
//	@Produce		text/csv
//	@Param			offence		query		string	true	"Offence id"	example(sex-purchase)
//	@Param			region		query		string	true	"Region id"	example(NO)
//	@Param			measure		query		string	true	"Measure id"	example(reported-persons)
//	@Param			source		query		string	false	"Source id (default: by precedence)"
//	@Param			per			query		int		false	"Add a rate per this many inhabitants"	Enums(100000)
//	@Param			harmonise	query		string	false	"Express pre-2016 district figures on the districts of 2016"	Enums(2016)
//	@Param			from		query		string	false	"First period"	example(2009)
//	@Param			to			query		string	false	"Last period"	example(2010)
//	@Param			small		query		int		false	"Counts below this are small (change unreliable)"	minimum(0)	default(20)
//	@Param			format		query		string	false	"Representation (default json)"	Enums(json, csv, jsonstat)
//	@Param			csv_dialect	query		string	false	"CSV dialect (default rfc4180)"	Enums(rfc4180, excel-no)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Success		200			{object}	SeriesResponse
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/series [get]
func (h *Handler) getSeries(c *gin.Context) error {
	q, err := seriesRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	req, err := parseSeries(q)
	if err != nil {
		return err
	}
	format, dialect, err := seriesRoute.representation(q, c.GetHeader("Accept"))
	if err != nil {
		return err
	}
	if format == formatJSONStat && req.Per != 0 {
		return store.InvalidParam("per", "rates are not part of the JSON-stat output; ask for JSON or CSV")
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return err
	}
	res, err := h.buildSeries(c.Request.Context(), rel, req)
	if err != nil {
		return err
	}
	self, err := selfLink(c, seriesRoute, rel.ID)
	if err != nil {
		return err
	}
	res.Links = Links{Self: self}
	switch format {
	case formatCSV:
		t := seriesTable(res.Data)
		t.dialect = dialect
		writeCSV(c, t)
		return nil
	case formatJSONStat:
		s := res.Data
		return h.writeJSONStat(c, s.Observations(), s.Sources, rel, link(self, "", formatParam(seriesRoute, format)),
			fmt.Sprintf("%s, %s, %s (%s)", s.Offence, s.Region, s.Measure, s.Source), s.Notes)
	}
	writeJSON(c, res)
	return nil
}

// buildSeries builds the series req asks for from release rel, with the
// response's meta.
func (h *Handler) buildSeries(ctx context.Context, rel store.Release, req series.Request) (SeriesResponse, error) {
	s, err := series.Build(ctx, h.store, rel.ID, req)
	if err != nil {
		return SeriesResponse{}, err
	}
	return SeriesResponse{Data: s, Meta: SeriesMeta{Release: rel.ID, Released: rel.Created, Count: len(s.Points), Sources: s.Sources}}, nil
}

// seriesColumns is the CSV header of a series.
var seriesColumns = []string{
	"offence", "region", "measure", "period", "value", "value_text", "flags", "source", "confidence", "locator",
	"change_from", "change_absolute", "change_relative", "unreliable",
	"rate_per", "rate", "rate_reason", "population", "population_date", "population_source",
}

// seriesTable renders a series as CSV rows.
func seriesTable(s series.Series) table {
	t := table{
		name:    fileName("krimstat-series", s.Offence, s.Region, s.Measure, s.Source),
		header:  seriesColumns,
		numeric: []string{"value", "change_absolute", "change_relative", "rate", "population"},
	}
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
		t.rows = append(t.rows, row)
	}
	return t
}
