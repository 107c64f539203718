package handlers

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// ObservationList is the response of GET /v1/observations.
type ObservationList struct {
	Data  []store.Observation `json:"data"`
	Links Links               `json:"links"`
	Meta  ObservationMeta     `json:"meta"`
} // @name ObservationList

// ObservationMeta describes a page of observations. Sources holds the full
// provenance of every source cited on the page.
type ObservationMeta struct {
	Release string         `json:"release" example:"20250414-3da80bd7"`
	Count   int            `json:"count" example:"3"`
	Total   int            `json:"total" example:"3"`
	Limit   int            `json:"limit" example:"100"`
	Sources []store.Source `json:"sources"`
} // @name ObservationMeta

// Breakdown filter values.
var (
	sexValues = []string{"total", "female", "male", "other", "unknown"}
	ageValues = []string{"total", "0-17", "18-plus", "unknown"}
)

// observationColumns is the CSV header of observations: the figure, then
// its provenance, so a spreadsheet row stands on its own.
var observationColumns = []string{
	"offence", "region", "period", "measure", "sex", "age", "citizenship", "repatriation_country",
	"value", "value_text", "flags", "confidence", "source", "locator",
	"source_publisher", "source_title", "source_url", "source_licence",
}

// listObservations godoc
//
//	@Summary		List observations
//	@Description	Published figures, each with its source, confidence grade (A official primary, B secondary quoting official), locator and flags. A gap is an absent row, never a zero. A suppressed figure (UNODC's "<5") has value null and value_text "<5". Filters take repeated or comma-separated values. Results come in a stable order (offence, region, measure, period, breakdown, source) and are paged with an opaque cursor: follow links.next until it is absent.
//	@Tags			data
//	@ID				listObservations
//	@Produce		json
//	@Produce		text/csv
//	@Param			offence		query		[]string	false	"Offence ids"	collectionFormat(csv)	example(sex-purchase)
//	@Param			region		query		[]string	false	"Region ids"	collectionFormat(csv)	example(NO)
//	@Param			measure		query		[]string	false	"Measure ids"	collectionFormat(csv)	example(reported-persons)
//	@Param			source		query		[]string	false	"Source ids"	collectionFormat(csv)
//	@Param			from		query		string		false	"First period (YYYY, YYYY-T1, YYYY-Q1, YYYY-H1 or YYYY-MM): periods starting on or after it"	example(2009)
//	@Param			to			query		string		false	"Last period: periods ending on or before it"	example(2010)
//	@Param			sex			query		[]string	false	"Sex breakdown (total = not broken down)"	Enums(total, female, male, other, unknown)	collectionFormat(csv)
//	@Param			age			query		[]string	false	"Age breakdown (total = not broken down)"	Enums(total, 0-17, 18-plus, unknown)	collectionFormat(csv)
//	@Param			citizenship	query		[]string	false	"Citizenship breakdown as published (total = not broken down)"	collectionFormat(csv)
//	@Param			limit		query		int			false	"Page size"	minimum(1)	maximum(10000)	default(100)
//	@Param			cursor		query		string		false	"Opaque cursor from links.next"
//	@Param			format		query		string		false	"Representation (default json): json, csv, or jsonstat (JSON-stat 2.0, served as application/json; also Accept: application/json+stat or application/vnd.json-stat+json)"	Enums(json, csv, jsonstat)
//	@Param			csv_dialect	query		string		false	"CSV dialect: rfc4180 (default) or excel-no (UTF-8 BOM, semicolons, decimal comma, formula-looking text prefixed with ')"	Enums(rfc4180, excel-no)
//	@Param			release		query		string		false	"Release id (default: the current release, or the cursor's)"
//	@Success		200			{object}	ObservationList
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/observations [get]
func (h *Handler) listObservations(c *gin.Context) error {
	q, err := observationsRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	f, cur, err := observationFilter(q)
	if err != nil {
		return err
	}
	format, dialect, err := observationsRoute.representation(q, c.GetHeader("Accept"))
	if err != nil {
		return err
	}
	rel, err := h.cursorRelease(c, q, cur)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	cat, err := h.catalogue(ctx, rel.ID)
	if err != nil {
		return err
	}
	if err := h.checkFilter(ctx, rel.ID, cat, f); err != nil {
		return err
	}
	page, err := h.store.Observations(ctx, rel.ID, f)
	if err != nil {
		return err
	}
	links, err := observationLinks(c, q, rel.ID, format, page.Next)
	if err != nil {
		return err
	}
	if links.Next != "" {
		c.Header("Link", "<"+links.Next+`>; rel="next"`)
	}
	sources := citedSources(page.Observations, cat.sourceList)
	switch format {
	case formatCSV:
		t := observationTable(page.Observations, sources)
		t.name = fileName(append([]string{t.name}, slices.Concat(f.Offences, f.Regions, f.Measures, f.Sources)...)...)
		t.dialect = dialect
		writeCSV(c, t)
		return nil
	case formatJSONStat:
		// One page, like the JSON: links.next is in the Link header.
		href := link(links.Self, "", formatParam(observationsRoute, format))
		return h.writeJSONStat(c, page.Observations, sources, rel, href, "observations "+href, nil)
	}
	writeJSON(c, ObservationList{
		Data:  page.Observations,
		Links: links,
		Meta:  ObservationMeta{Release: rel.ID, Count: len(page.Observations), Total: page.Total, Limit: f.Limit, Sources: sources},
	})
	return nil
}

// observationsRoute is the contract of GET /v1/observations.
var observationsRoute = route{
	params: []string{"offence", "region", "measure", "source", "from", "to",
		"sex", "age", "citizenship", "limit", "cursor", "format", "csv_dialect", "release"},
	formats: []string{formatJSON, formatCSV, formatJSONStat},
}

// observationLinks are a page's canonical self link and, when there is a
// next page (after is its position), the link to it in the same format.
func observationLinks(c *gin.Context, q query, release, format, after string) (Links, error) {
	canon, err := observationsRoute.canonical(q.values, release)
	if err != nil {
		return Links{}, err
	}
	links := Links{Self: link(c.Request.URL.Path, canon)}
	if after == "" {
		return links, nil
	}
	rest := q.values
	if _, ok := rest["cursor"]; ok {
		rest = maps.Clone(rest)
		delete(rest, "cursor")
	}
	if canon, err = observationsRoute.canonical(rest, release); err != nil {
		return Links{}, err
	}
	links.Next = link(c.Request.URL.Path, canon, "cursor="+cursor{Release: release, After: after}.encode(), formatParam(observationsRoute, format))
	return links, nil
}

// observationFilter reads the filter parameters and the cursor.
func observationFilter(q query) (store.ObservationFilter, *cursor, error) {
	var f store.ObservationFilter
	var err error
	lists := []struct {
		name string
		dst  *[]string
	}{
		{"offence", &f.Offences}, {"region", &f.Regions}, {"measure", &f.Measures}, {"source", &f.Sources},
		{"sex", &f.Sex}, {"age", &f.Age}, {"citizenship", &f.Citizenship},
	}
	for _, l := range lists {
		if *l.dst, err = q.list(l.name); err != nil {
			return f, nil, err
		}
	}
	for _, chk := range []struct {
		name   string
		got    []string
		values []string
	}{{"sex", f.Sex, sexValues}, {"age", f.Age, ageValues}} {
		for _, v := range chk.got {
			if !slices.Contains(chk.values, v) {
				return f, nil, store.InvalidParam(chk.name, "%q: want %s", v, strings.Join(chk.values, ", "))
			}
		}
	}
	if f.From, err = q.period("from"); err != nil {
		return f, nil, err
	}
	if f.To, err = q.period("to"); err != nil {
		return f, nil, err
	}
	if f.From != nil && f.To != nil && f.From.Start() > f.To.End() {
		return f, nil, store.InvalidParam("to", "%s is before from=%s", f.To, f.From)
	}
	if f.Limit, err = q.limit(); err != nil {
		return f, nil, err
	}
	s, err := q.one("cursor")
	if err != nil || s == "" {
		return f, nil, err
	}
	cur, err := decodeCursor(s)
	if err != nil {
		return f, nil, err
	}
	f.After = cur.After
	return f, &cur, nil
}

// cursorRelease resolves the release of a paged request: a cursor pins the
// release it was made in, so walking the pages never mixes releases.
func (h *Handler) cursorRelease(c *gin.Context, q query, cur *cursor) (store.Release, error) {
	rel, err := h.releaseFor(c, q)
	if err != nil || cur == nil {
		return rel, err
	}
	if explicit, _ := q.one("release"); explicit != "" && explicit != cur.Release {
		return store.Release{}, store.InvalidParam("cursor", "the cursor belongs to release %s, not %s", cur.Release, explicit)
	}
	if rel, err = h.store.Release(c.Request.Context(), cur.Release); err != nil {
		return store.Release{}, store.InvalidParam("cursor", "the cursor's release %s is no longer available", cur.Release)
	}
	c.Header(releaseHeader, rel.ID)
	return rel, nil
}

// citedSources returns the sources the observations cite, in id order.
func citedSources(obs []store.Observation, all []store.Source) []store.Source {
	used := map[string]bool{}
	for _, o := range obs {
		used[o.Source] = true
	}
	out := []store.Source{}
	for _, s := range all {
		if used[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

// observationTable renders observations with their provenance as CSV rows.
func observationTable(obs []store.Observation, sources []store.Source) table {
	byID := map[string]store.Source{}
	for _, s := range sources {
		byID[s.ID] = s
	}
	t := table{name: "krimstat-observations", header: observationColumns, numeric: []string{"value"}}
	for _, o := range obs {
		value := ""
		if o.Value != nil {
			value = strconv.FormatFloat(*o.Value, 'f', -1, 64)
		}
		s := byID[o.Source]
		b := o.Breakdown
		t.rows = append(t.rows, []string{
			o.Offence, o.Region, o.Period, o.Measure, orTotal(b.Sex), orTotal(b.Age), orTotal(b.Citizenship), orTotal(b.RepatriationCountry),
			value, o.ValueText, strings.Join(o.Flags, ";"), o.Confidence, o.Source, o.Locator,
			s.Publisher, s.Title, s.URL, s.Licence,
		})
	}
	return t
}

func orTotal(s string) string {
	if s == "" {
		return "total"
	}
	return s
}
