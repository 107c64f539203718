package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/ingest/jsonstat"
	"github.com/krimstat/krimstat/store"
)

// Series flags: set by the series route on a point, never stored.
const (
	// flagSmallCount marks a count below the small-count threshold: a
	// change from or to it says little.
	flagSmallCount = "small-count"
	// flagHarmonised marks a sum of pre-2016 district figures expressed on
	// a district of 2016.
	flagHarmonised = "harmonised-2016"
)

// Series parameters.
const (
	defaultSmall  = 20
	ratePer       = 100000
	harmonise2016 = "2016"
	// reformDate is the first day of the 12 police districts.
	reformDate = "2016-01-01"
)

// precedenceRule is the documented order in which the series route picks
// its one source when the caller names none.
const precedenceRule = "the caller's source; else confidence A before B before C, then the source with the most points in the series, then the source id"

// Series is one time series: one offence, region and measure, totals only,
// values from one source.
type Series struct {
	Offence      string             `json:"offence" example:"sex-purchase"`
	Region       string             `json:"region" example:"NO"`
	Measure      string             `json:"measure" example:"reported-persons"`
	Unit         string             `json:"unit" example:"persons"`
	Source       string             `json:"source" example:"stortinget-54169"`  // the chosen source; empty when no source has a point
	SourceChoice string             `json:"source_choice" example:"precedence"` // "requested" or "precedence"
	Precedence   string             `json:"precedence"`                         // the rule used when the caller names no source
	SmallCount   int                `json:"small_count" example:"20"`           // counts below this are flagged small-count
	Per          int                `json:"per,omitempty" example:"100000"`     // set when rates were asked for
	RateBasis    string             `json:"rate_basis,omitempty"`               // which population figure a rate uses
	Harmonise    string             `json:"harmonise,omitempty" example:"2016"` // set when pre-2016 districts were summed
	Points       []Point            `json:"points"`                             // in period order; a gap is an absent point
	Candidates   []SeriesCandidate  `json:"candidates"`                         // every source with points, in precedence order
	Omitted      []OmittedPoint     `json:"omitted,omitempty"`                  // harmonised points that could not be formed, with why
	Mapping      []store.Succession `json:"mapping,omitempty"`                  // the predecessors summed for harmonise=2016
	Notes        []string           `json:"notes"`
} // @name Series

// Point is one period of a series.
type Point struct {
	Period     string   `json:"period" example:"2010"`
	Value      *float64 `json:"value" extensions:"x-nullable" example:"359"`
	ValueText  string   `json:"value_text,omitempty" example:"<5"`
	Flags      []string `json:"flags"`
	Source     string   `json:"source" example:"stortinget-54169"`
	Confidence string   `json:"confidence" example:"A"`
	Locator    string   `json:"locator"`
	// Change from the previous period of the same kind, absent when that
	// period has no value in this series.
	Change *Change `json:"change,omitempty"`
	// Unreliable is set when this or the previous count is below small_count.
	Unreliable bool `json:"unreliable,omitempty"`
	// Rate per `per` inhabitants, with per=100000; null with rate_reason
	// when no denominator exists.
	Rate        *float64     `json:"rate,omitempty" extensions:"x-nullable" example:"7.3"`
	RateReason  string       `json:"rate_reason,omitempty"`
	Denominator *Denominator `json:"denominator,omitempty"`
	// Components are the district figures a harmonised point sums.
	Components []Component `json:"components,omitempty"`
	// Alternatives are the other sources' values for the same period.
	Alternatives []Alternative `json:"alternatives"`

	rated bool // rates were asked for: rate is written, as null if absent
} // @name SeriesPoint

// MarshalJSON writes rate as an explicit null when rates were asked for and
// none exists, and leaves it out otherwise.
func (p Point) MarshalJSON() ([]byte, error) {
	type plain Point
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plain(p)); err != nil {
		return nil, err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	if p.rated && p.Rate == nil {
		b = append(b[:len(b)-1], `,"rate":null}`...)
	}
	return b, nil
}

// Change is the difference from the previous period of the same kind.
type Change struct {
	From       string   `json:"from" example:"2009"`
	Absolute   float64  `json:"absolute" example:"25"`
	Relative   *float64 `json:"relative" extensions:"x-nullable" example:"0.0749"` // a fraction; null when the previous value is 0
	Unreliable bool     `json:"unreliable"`                                        // either count is below small_count
} // @name Change

// Denominator is the population figure a rate divides by.
type Denominator struct {
	Population float64 `json:"population" example:"4858199"`
	Date       string  `json:"date" example:"2010-01-01"`
	Source     string  `json:"source" example:"ssb-07459"`
	Locator    string  `json:"locator"`
} // @name Denominator

// Component is one district figure summed into a harmonised point.
type Component struct {
	Region      string  `json:"region" example:"pd2002-sor-trondelag"`
	Value       float64 `json:"value"`
	Locator     string  `json:"locator"`
	Approximate bool    `json:"approximate"`
	Inferred    bool    `json:"inferred"`
} // @name Component

// Alternative is another source's value for a point of the series.
type Alternative struct {
	Source     string   `json:"source" example:"klassekampen-2023-01-04"`
	Value      *float64 `json:"value" extensions:"x-nullable" example:"355"`
	ValueText  string   `json:"value_text,omitempty"`
	Flags      []string `json:"flags"`
	Confidence string   `json:"confidence" example:"B"`
	Locator    string   `json:"locator"`
} // @name Alternative

// SeriesCandidate is a source that has points for the series.
type SeriesCandidate struct {
	Source     string   `json:"source" example:"stortinget-54169"`
	Confidence string   `json:"confidence" example:"A"` // the best grade among its points
	Points     int      `json:"points" example:"2"`
	Periods    []string `json:"periods"`
	Chosen     bool     `json:"chosen"`
} // @name SeriesCandidate

// OmittedPoint is a harmonised point that could not be formed.
type OmittedPoint struct {
	Period string `json:"period" example:"2014"`
	Source string `json:"source"`
	Reason string `json:"reason"`
} // @name OmittedPoint

// SeriesResponse is the response of GET /v1/series.
type SeriesResponse struct {
	Data  Series     `json:"data"`
	Links Links      `json:"links"`
	Meta  SeriesMeta `json:"meta"`
} // @name SeriesResponse

// SeriesMeta describes a series response.
type SeriesMeta struct {
	Release  string         `json:"release" example:"20250414-3da80bd7"`
	Released string         `json:"released" example:"2025-04-14T00:00:00Z"`
	Count    int            `json:"count" example:"2"`
	Sources  []store.Source `json:"sources"` // every source cited: points, alternatives, denominators
} // @name SeriesMeta

// seriesParams are the parameters of every series route; the data route
// adds format and csv_dialect.
var seriesParams = []string{"offence", "region", "measure", "source", "per", "harmonise", "from", "to", "small", "release"}

// seriesRequest is a parsed series query.
type seriesRequest struct {
	offence, region, measure, source string
	per                              int
	harmonise                        string
	from, to                         *store.Period
	small                            int
}

// parseSeries reads the series parameters of q.
func parseSeries(q query) (seriesRequest, error) {
	var r seriesRequest
	for _, p := range []struct {
		name string
		dst  *string
	}{{"offence", &r.offence}, {"region", &r.region}, {"measure", &r.measure}} {
		vs, err := q.list(p.name)
		if err != nil {
			return r, err
		}
		if len(vs) != 1 {
			return r, badParam(p.name, "a series takes exactly one %s (got %d)", p.name, len(vs))
		}
		*p.dst = vs[0]
	}
	var err error
	if r.source, err = q.one("source"); err != nil {
		return r, err
	}
	if strings.Contains(r.source, ",") {
		return r, badParam("source", "a series takes one source")
	}
	per, err := q.one("per")
	if err != nil {
		return r, err
	}
	if per != "" {
		if per != strconv.Itoa(ratePer) {
			return r, badParam("per", "%q: the only rate offered is per=%d", per, ratePer)
		}
		r.per = ratePer
	}
	if r.harmonise, err = q.one("harmonise"); err != nil {
		return r, err
	}
	if r.harmonise != "" && r.harmonise != harmonise2016 {
		return r, badParam("harmonise", "%q: the only harmonisation offered is harmonise=2016", r.harmonise)
	}
	if r.from, err = q.period("from"); err != nil {
		return r, err
	}
	if r.to, err = q.period("to"); err != nil {
		return r, err
	}
	if r.from != nil && r.to != nil && r.from.Start() > r.to.End() {
		return r, badParam("to", "%s is before from=%s", r.to, r.from)
	}
	r.small = defaultSmall
	s, err := q.one("small")
	if err != nil {
		return r, err
	}
	if s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1000000 {
			return r, badParam("small", "%q: want a whole number from 0 to 1000000", s)
		}
		r.small = n
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
//	@Failure		400,404,406,500,503	{object}	Problem
//	@Router			/v1/series [get]
func (h *Handler) getSeries(c *gin.Context) {
	q, err := parseQuery(c.Request.URL.RawQuery, append(slices.Clone(seriesParams), "format", "csv_dialect")...)
	if err != nil {
		h.fail(c, err)
		return
	}
	req, err := parseSeries(q)
	if err != nil {
		h.fail(c, err)
		return
	}
	format, dialect, err := q.representation(c.GetHeader("Accept"), formatJSON, formatCSV, formatJSONStat)
	if err != nil {
		h.fail(c, err)
		return
	}
	if format == formatJSONStat && req.per != 0 {
		h.fail(c, badParam("per", "rates are not part of the JSON-stat output; ask for JSON or CSV"))
		return
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		h.fail(c, err)
		return
	}
	res, err := h.series(c.Request.Context(), rel, req)
	if err != nil {
		h.fail(c, err)
		return
	}
	res.Links = Links{Self: selfLink(c)}
	switch format {
	case formatCSV:
		t := seriesTable(res)
		t.dialect = dialect
		writeCSV(c, t)
	case formatJSONStat:
		h.writeJSONStat(c, seriesObservations(res.Data), res.Meta.Sources, rel,
			fmt.Sprintf("%s, %s, %s (%s)", res.Data.Offence, res.Data.Region, res.Data.Measure, res.Data.Source), res.Data.Notes)
	default:
		writeJSON(c, res)
	}
}

// series builds the series a request asks for from release rel.
func (h *Handler) series(ctx context.Context, rel store.Release, req seriesRequest) (SeriesResponse, error) {
	cat, err := h.catalogue(ctx, rel.ID)
	if err != nil {
		return SeriesResponse{}, err
	}
	for _, chk := range []struct {
		param, id string
		valid     map[string]bool
		list      string
	}{
		{"offence", req.offence, cat.offences, "/v1/offences"},
		{"region", req.region, cat.regions, "/v1/regions"},
		{"measure", req.measure, cat.measures, "/v1/measures"},
	} {
		if err := knownIDs(chk.param, []string{chk.id}, chk.valid, chk.list); err != nil {
			return SeriesResponse{}, err
		}
	}
	if req.source != "" {
		if err := knownIDs("source", []string{req.source}, cat.sources, "/v1/sources"); err != nil {
			return SeriesResponse{}, err
		}
	}
	measures, err := h.store.Measures(ctx, rel.ID)
	if err != nil {
		return SeriesResponse{}, err
	}
	var measure store.Measure
	for _, m := range measures {
		if m.ID == req.measure {
			measure = m
		}
	}
	isRate := strings.Contains(measure.Unit, "per ")
	if req.per != 0 && isRate {
		return SeriesResponse{}, badParam("per", "measure %s is already a rate (%s)", measure.ID, measure.Unit)
	}
	region, err := h.store.Region(ctx, rel.ID, req.region)
	if err != nil {
		return SeriesResponse{}, err
	}
	if req.harmonise != "" && (!strings.HasPrefix(region.ID, "pd2016-") || len(region.Predecessors) == 0) {
		return SeriesResponse{}, badParam("harmonise", "harmonise=2016 applies to the police districts of 2016 (pd2016-*), not %s", region.ID)
	}

	// Every total for the region (and, to harmonise, its predecessors).
	regions := []string{region.ID}
	if req.harmonise != "" {
		for _, p := range region.Predecessors {
			regions = append(regions, p.Region)
		}
	}
	page, err := h.store.Observations(ctx, rel.ID, store.ObservationFilter{
		Offences: []string{req.offence}, Regions: regions, Measures: []string{req.measure},
		Sex: []string{"total"}, Age: []string{"total"}, Citizenship: []string{"total"},
	})
	if err != nil {
		return SeriesResponse{}, err
	}
	// bySource[source][period] is the point a source has for the region.
	bySource := map[string]map[string]Point{}
	// district[source][region][period] holds predecessors' figures.
	district := map[string]map[string]map[string]store.Observation{}
	for _, o := range page.Observations {
		if !o.Breakdown.IsTotal() {
			continue
		}
		if o.Region != region.ID {
			if district[o.Source] == nil {
				district[o.Source] = map[string]map[string]store.Observation{}
			}
			if district[o.Source][o.Region] == nil {
				district[o.Source][o.Region] = map[string]store.Observation{}
			}
			district[o.Source][o.Region][o.Period] = o
			continue
		}
		if bySource[o.Source] == nil {
			bySource[o.Source] = map[string]Point{}
		}
		bySource[o.Source][o.Period] = pointOf(o)
	}

	s := Series{
		Offence: req.offence, Region: req.region, Measure: req.measure, Unit: measure.Unit,
		Precedence: precedenceRule, SmallCount: req.small, Per: req.per, Harmonise: req.harmonise,
		Points: []Point{}, Candidates: []SeriesCandidate{}, Notes: []string{},
	}
	omitted := map[string][]OmittedPoint{}
	if req.harmonise != "" {
		s.Mapping = region.Predecessors
		omitted = harmonise(region, district, bySource)
		s.Notes = append(s.Notes, "Points before 2016 without a figure of their own are sums of the predecessor districts' figures from one source (flag "+
			flagHarmonised+"); a sum is flagged approximate where municipalities moved across the new lines or the succession is inferred.")
	}

	// Precedence: confidence, then number of points, then id.
	for src, pts := range bySource {
		cand := SeriesCandidate{Source: src, Points: len(pts), Confidence: "Z"}
		for _, p := range pts {
			cand.Periods = append(cand.Periods, p.Period)
			if p.Confidence < cand.Confidence {
				cand.Confidence = p.Confidence
			}
		}
		sortPeriods(cand.Periods)
		s.Candidates = append(s.Candidates, cand)
	}
	slices.SortFunc(s.Candidates, func(a, b SeriesCandidate) int {
		if a.Confidence != b.Confidence {
			return strings.Compare(a.Confidence, b.Confidence)
		}
		if a.Points != b.Points {
			return b.Points - a.Points
		}
		return strings.Compare(a.Source, b.Source)
	})
	switch {
	case req.source != "":
		s.Source, s.SourceChoice = req.source, "requested"
	case len(s.Candidates) > 0:
		s.Source, s.SourceChoice = s.Candidates[0].Source, "precedence"
	default:
		s.SourceChoice = "precedence"
		s.Notes = append(s.Notes, "No source has a figure for this offence, region and measure: the series is empty. A gap is never a zero.")
	}
	for i := range s.Candidates {
		s.Candidates[i].Chosen = s.Candidates[i].Source == s.Source
	}
	s.Omitted = omitted[s.Source]

	chosen := bySource[s.Source]
	for _, p := range chosen {
		s.Points = append(s.Points, p)
	}
	slices.SortFunc(s.Points, func(a, b Point) int { return strings.Compare(periodKey(a.Period), periodKey(b.Period)) })

	// Change, small counts and alternatives, on the whole series before
	// from/to cut it, so the first point shown still has its change.
	countLike := !isRate
	for i := range s.Points {
		p := &s.Points[i]
		per, _ := store.ParsePeriod(p.Period)
		small := func(v *float64) bool { return countLike && v != nil && *v < float64(req.small) }
		if small(p.Value) {
			p.Flags = append(p.Flags, flagSmallCount)
		}
		if prev, ok := chosen[per.Previous().String()]; ok && prev.Value != nil && p.Value != nil {
			ch := &Change{From: prev.Period, Absolute: round(*p.Value-*prev.Value, 6), Unreliable: small(p.Value) || small(prev.Value)}
			if *prev.Value != 0 {
				r := round((*p.Value-*prev.Value) / *prev.Value, 6)
				ch.Relative = &r
			}
			p.Change, p.Unreliable = ch, ch.Unreliable
		}
		for _, cand := range s.Candidates {
			if cand.Source == s.Source {
				continue
			}
			if alt, ok := bySource[cand.Source][p.Period]; ok {
				p.Alternatives = append(p.Alternatives, Alternative{Source: alt.Source, Value: alt.Value, ValueText: alt.ValueText,
					Flags: alt.Flags, Confidence: alt.Confidence, Locator: alt.Locator})
			}
		}
	}
	s.Points = slices.DeleteFunc(s.Points, func(p Point) bool {
		per, _ := store.ParsePeriod(p.Period)
		return req.from != nil && per.Start() < req.from.Start() || req.to != nil && per.End() > req.to.End()
	})

	cited := map[string]bool{}
	if req.per != 0 {
		s.RateBasis = "population on 1 January of the point's year (Statistics Norway table 07459 for Norway); no rate for parts of a year or regions without a population figure"
		if err := h.addRates(ctx, rel.ID, &s, cited); err != nil {
			return SeriesResponse{}, err
		}
	}
	for _, p := range s.Points {
		cited[p.Source] = true
		for _, a := range p.Alternatives {
			cited[a.Source] = true
		}
	}
	sources := []store.Source{}
	for _, src := range cat.sourceList {
		if cited[src.ID] {
			sources = append(sources, src)
		}
	}
	return SeriesResponse{Data: s, Meta: SeriesMeta{Release: rel.ID, Released: rel.Created, Count: len(s.Points), Sources: sources}}, nil
}

// harmonise adds to bySource, for each source and each period before 2016
// that the 2016 district has no figure of its own for, the sum of its
// predecessors' figures when every predecessor has a value from that
// source. It returns, by source, the periods it could not sum and why.
func harmonise(region store.Region, district map[string]map[string]map[string]store.Observation,
	bySource map[string]map[string]Point) map[string][]OmittedPoint {
	omitted := map[string][]OmittedPoint{}
	approx := false
	for _, p := range region.Predecessors {
		approx = approx || p.Approximate || p.Inferred
	}
	for src, regs := range district {
		periods := map[string]bool{}
		for _, byPeriod := range regs {
			for period := range byPeriod {
				periods[period] = true
			}
		}
		for _, period := range sortedPeriods(periods) {
			per, _ := store.ParsePeriod(period)
			if per.Start() >= reformDate {
				continue
			}
			if _, own := bySource[src][period]; own {
				continue
			}
			var sum float64
			var missing []string
			var comps []Component
			conf := "A"
			flags := []string{flagHarmonised}
			for _, pre := range region.Predecessors {
				o, ok := regs[pre.Region][period]
				if !ok || o.Value == nil {
					missing = append(missing, pre.Region)
					continue
				}
				sum += *o.Value
				comps = append(comps, Component{Region: pre.Region, Value: *o.Value, Locator: o.Locator, Approximate: pre.Approximate, Inferred: pre.Inferred})
				if o.Confidence > conf {
					conf = o.Confidence
				}
				for _, f := range o.Flags {
					if !slices.Contains(flags, f) {
						flags = append(flags, f)
					}
				}
			}
			if len(missing) > 0 {
				omitted[src] = append(omitted[src], OmittedPoint{Period: period, Source: src,
					Reason: fmt.Sprintf("no value from %s for %s in %s: a partial sum would understate the district", src, period, strings.Join(missing, ", "))})
				continue
			}
			if approx && !slices.Contains(flags, store.FlagApproximate) {
				flags = append(flags, store.FlagApproximate)
			}
			locs := make([]string, len(comps))
			for i, c := range comps {
				locs[i] = c.Region + ": " + c.Locator
			}
			v := sum
			if bySource[src] == nil {
				bySource[src] = map[string]Point{}
			}
			bySource[src][period] = Point{Period: period, Value: &v, Flags: flags, Source: src, Confidence: conf,
				Locator: "sum of predecessor districts (" + strings.Join(locs, "; ") + ")", Components: comps, Alternatives: []Alternative{}}
		}
	}
	return omitted
}

// addRates sets the rate of every point from the population on 1 January
// of the point's year, marking the denominator's source as cited.
func (h *Handler) addRates(ctx context.Context, rel string, s *Series, cited map[string]bool) error {
	pop, err := h.store.Population(ctx, rel, store.PopulationFilter{Regions: []string{s.Region}})
	if err != nil {
		return err
	}
	byDate := map[string]store.PopulationFigure{}
	for _, f := range pop {
		byDate[f.Date] = f
	}
	for i := range s.Points {
		p := &s.Points[i]
		p.rated = true
		per, _ := store.ParsePeriod(p.Period)
		date := fmt.Sprintf("%04d-01-01", per.Year)
		f, ok := byDate[date]
		switch {
		case per.Kind != store.PeriodYear:
			p.RateReason = "the period is part of a year; Krimstat gives rates for calendar years only"
		case p.Value == nil:
			p.RateReason = "the source published no number (" + p.ValueText + ")"
		case len(pop) == 0:
			p.RateReason = "Krimstat has no population figures for region " + s.Region
		case !ok || f.Value <= 0:
			p.RateReason = "no population figure for " + s.Region + " on " + date
		default:
			r := round(*p.Value/f.Value*float64(s.Per), 4)
			p.Rate = &r
			p.Denominator = &Denominator{Population: f.Value, Date: f.Date, Source: f.Source, Locator: f.Locator}
			cited[f.Source] = true
		}
	}
	return nil
}

// pointOf is the series point of an observation.
func pointOf(o store.Observation) Point {
	flags := append([]string{}, o.Flags...)
	return Point{Period: o.Period, Value: o.Value, ValueText: o.ValueText, Flags: flags, Source: o.Source,
		Confidence: o.Confidence, Locator: o.Locator, Alternatives: []Alternative{}}
}

// seriesObservations turns the points back into observations (for
// JSON-stat), without the flags only a series sets.
func seriesObservations(s Series) []store.Observation {
	out := make([]store.Observation, 0, len(s.Points))
	for _, p := range s.Points {
		flags := slices.DeleteFunc(slices.Clone(p.Flags), func(f string) bool { return f == flagSmallCount })
		out = append(out, store.Observation{Offence: s.Offence, Region: s.Region, Period: p.Period, Measure: s.Measure,
			Value: p.Value, ValueText: p.ValueText, Flags: flags, Source: p.Source, Confidence: p.Confidence, Locator: p.Locator})
	}
	return out
}

// seriesColumns is the CSV header of a series.
var seriesColumns = []string{
	"offence", "region", "measure", "period", "value", "value_text", "flags", "source", "confidence", "locator",
	"change_from", "change_absolute", "change_relative", "unreliable",
	"rate_per", "rate", "rate_reason", "population", "population_date", "population_source",
}

// seriesTable renders a series as CSV rows.
func seriesTable(res SeriesResponse) table {
	s := res.Data
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

// writeJSONStat sends observations as a JSON-stat 2.0 dataset. JSON-stat
// has no registered media type; the publishers it comes from (Statistics
// Norway, Eurostat) and its client libraries use application/json, so
// Krimstat does too and names the format with format=jsonstat.
func (h *Handler) writeJSONStat(c *gin.Context, obs []store.Observation, sources []store.Source, rel store.Release, label string, notes []string) {
	ctx := c.Request.Context()
	meta := jsonstat.EncodeMeta{
		Label: "Krimstat: " + label, Updated: rel.Created, Href: selfLink(c), Note: notes, Release: rel.ID, Sources: sources,
		Labels: map[string]map[string]string{jsonstat.DimOffence: {}, jsonstat.DimRegion: {}, jsonstat.DimMeasure: {}},
		Units:  map[string]string{},
	}
	// Labels make the dataset readable in clients that show them.
	if offs, err := h.store.Offences(ctx, rel.ID); err == nil {
		for _, o := range offs {
			meta.Labels[jsonstat.DimOffence][o.ID] = o.Name.EN
		}
	}
	if regs, err := h.store.Regions(ctx, rel.ID, store.RegionFilter{}); err == nil {
		for _, r := range regs {
			meta.Labels[jsonstat.DimRegion][r.ID] = r.Name.EN
		}
	}
	if ms, err := h.store.Measures(ctx, rel.ID); err == nil {
		for _, m := range ms {
			meta.Labels[jsonstat.DimMeasure][m.ID] = m.Name.EN
			meta.Units[m.ID] = m.Unit
		}
	}
	var buf bytes.Buffer
	if err := jsonstat.Encode(&buf, obs, meta); err != nil {
		h.fail(c, err)
		return
	}
	c.Data(200, "application/json; charset=utf-8", buf.Bytes())
}

// periodKey is a period's sort key; an unparsable period sorts last.
func periodKey(s string) string {
	p, err := store.ParsePeriod(s)
	if err != nil {
		return "~" + s
	}
	return p.SortKey()
}

func sortPeriods(ps []string) {
	slices.SortFunc(ps, func(a, b string) int { return strings.Compare(periodKey(a), periodKey(b)) })
}

func sortedPeriods(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sortPeriods(out)
	return out
}

// round rounds v to n decimals, so that 0.1+0.2 reads 0.3 in the output.
func round(v float64, n int) float64 {
	f := math.Pow(10, float64(n))
	return math.Round(v*f) / f
}
