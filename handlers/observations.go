package handlers

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/problem"
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
	// Language is the language of names (lang or Accept-Language).
	Language string `json:"language" example:"nb"`
	// Names are the names of the offences, regions and measures on the page.
	Names Names `json:"names"`
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
	// Names in the request's language (lang), added after the columns
	// files had before, so that readers by position keep working.
	"offence_name", "region_name", "measure_name", "unit",
}

// listObservations godoc
//
//	@Summary		List observations
//	@Description	Published figures, each with its source, confidence grade (A official primary, B secondary quoting official), locator and flags. A gap is an absent row, never a zero. A suppressed figure (UNODC's "<5") has value null and value_text "<5". Filters take repeated or comma-separated values. Results come in a stable order (offence, region, measure, period, breakdown, source) and are paged with an opaque cursor: follow links.next until it is absent.
//	@Description	Files are whole: format=csv and format=jsonstat without limit or cursor hold the whole selection (CSV streamed, at most 1,000,000 rows; JSON-stat at most 100,000), never cut: a larger selection is refused with 400 selection-too-large naming the release download. With limit they are one page, like the JSON.
//	@Tags			data
//	@ID				listObservations
//	@Produce		json
//	@Produce		text/csv
//	@Produce		application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
//	@Produce		application/vnd.apache.parquet
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
//	@Param			format		query		string		false	"Representation (default json): json, csv, jsonstat (JSON-stat 2.0, served as application/json; also Accept: application/json+stat or application/vnd.json-stat+json), xlsx (data, sources and notes sheets) or parquet (typed columns, null for gaps)"	Enums(json, csv, jsonstat, xlsx, parquet)
//	@Param			csv_dialect	query		string		false	"CSV dialect: rfc4180 (default) or excel-no (UTF-8 BOM, semicolons, decimal comma, formula-looking text prefixed with ')"	Enums(rfc4180, excel-no)
//	@Param			layout		query		string		false	"CSV layout: long (default, one row per observation) or wide (one row per period, one column per series, flags and sources in the last two columns)"	Enums(long, wide)
//	@Param			lang		query		string		false	"Language of names (offence_name, region_name, measure_name columns; meta.names; JSON-stat labels): en (default) or nb; without it, Accept-Language"	Enums(en, nb)
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
	lang, err := q.language(c.GetHeader("Accept-Language"))
	if err != nil {
		return err
	}
	layout, err := layoutOf(q, format)
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
	c.Header("Content-Language", lang)
	// Files are whole: without limit or cursor, a CSV or JSON-stat holds
	// the whole selection, since spreadsheets and statistics packages never
	// see a Link header. JSON keeps its pages. A wide table is one piece.
	if _, paged := q.values["limit"]; format != formatJSON && cur == nil && (!paged || layout == layoutWide) {
		if !paged {
			f.Limit = 0
		}
		return h.writeObservationFile(c, q, f, format, dialect, layout, rel, cat, lang)
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
		t := observationTable(page.Observations, sources, cat.labels[lang])
		t.name = observationFileName(f)
		t.dialect = dialect
		writeCSV(c, t)
		return nil
	case formatJSONStat:
		// A page, like the JSON: links.next is in the Link header.
		href := link(links.Self, "", formatParam(observationsRoute, format))
		return h.writeJSONStat(c, page.Observations, sources, rel, href, "observations "+href, nil)
	}
	writeJSON(c, ObservationList{
		Data:  page.Observations,
		Links: links,
		Meta: ObservationMeta{Release: rel.ID, Count: len(page.Observations), Total: page.Total, Limit: f.Limit, Sources: sources,
			Language: lang, Names: namesOf(page.Observations, cat.labels[lang])},
	})
	return nil
}

// Bounds of a whole-file selection. A CSV is streamed row by row, so its
// bound is about time and size; JSON-stat is built in memory, so its bound
// is smaller. Past them the request is refused, never cut: the release
// download holds everything.
const (
	maxFileRows     = 1_000_000
	maxJSONStatRows = 100_000
)

// writeObservationFile sends the whole selection f as a file: CSV streamed
// row by row, JSON-stat built in one piece.
func (h *Handler) writeObservationFile(c *gin.Context, q query, f store.ObservationFilter, format, dialect, layout string,
	rel store.Release, cat catalogue, lang string) error {
	ctx := c.Request.Context()
	n, err := h.store.CountObservations(ctx, rel.ID, f)
	if err != nil {
		return err
	}
	most := maxFileRows
	if format == formatJSONStat || layout == layoutWide {
		most = maxJSONStatRows
	}
	if format == formatXLSX {
		most = min(most, export.XLSXMaxRows)
	}
	if n > most {
		return fmt.Errorf("%d observations, more than the %d a %s file of this route holds; narrow the filters, page with limit, or download the whole release at /v1/releases/%s/download: %w",
			n, most, format, rel.ID, errSelectionTooLarge)
	}
	if (format == formatXLSX && layout != layoutWide) || format == formatParquet {
		return h.writeObservationBinary(c, f, format, rel, lang)
	}
	if format == formatJSONStat || layout == layoutWide {
		obs := make([]store.Observation, 0, n)
		if err := h.store.EachObservation(ctx, rel.ID, f, func(o store.Observation) error {
			obs = append(obs, o)
			return nil
		}); err != nil {
			return err
		}
		if layout == layoutWide {
			t := wideTable(obs, cat.labels[lang])
			t.name, t.dialect = fileName(observationFileName(f), "wide"), dialect
			return writeTable(c, t, format)
		}
		canon, err := observationsRoute.canonical(q.values, rel.ID)
		if err != nil {
			return err
		}
		href := link(c.Request.URL.Path, canon, formatParam(observationsRoute, format))
		return h.writeJSONStat(c, obs, citedSources(obs, cat.sourceList), rel, href, "observations "+href, nil)
	}
	t := observationTable(nil, nil, cat.labels[lang])
	t.name, t.dialect = observationFileName(f), dialect
	sources := map[string]store.Source{}
	for _, s := range cat.sourceList {
		sources[s.ID] = s
	}
	out := startCSV(c, t)
	// One row buffer for the whole file: the garbage per row is then only
	// the cells' own strings.
	row := make([]string, 0, len(observationColumns))
	if err := h.store.EachObservation(ctx, rel.ID, f, func(o store.Observation) error {
		row = appendObservationRow(row[:0], o, sources[o.Source], cat.labels[lang])
		return out.row(row)
	}); err != nil {
		// The header is sent: the client sees a cut file and the log the
		// reason; there is no status left to change.
		h.log.WarnContext(ctx, "observation file cut short", "err", err, "request_id", problem.RequestID(c.Writer.Header()))
		return nil
	}
	_ = out.end()
	return nil
}

// writeObservationBinary sends the selection f as an XLSX workbook (data,
// sources and notes sheets) or a Parquet file, names in lang. An XLSX is
// built before anything is sent, so a failure is still a problem; a
// Parquet file is streamed, and a failure after its start cuts it.
func (h *Handler) writeObservationBinary(c *gin.Context, f store.ObservationFilter, format string, rel store.Release, lang string) error {
	ctx := c.Request.Context()
	n, err := export.NewNames(ctx, h.store, rel.ID, lang)
	if err != nil {
		return err
	}
	rows := export.Rows(ctx, h.store, n, f)
	name := fileName(observationFileName(f)) + "-" + fileName(rel.ID)
	if format == formatXLSX {
		// The workbook reaches the writer only once every row is read, so
		// the headers are sent with its first byte and an error before
		// that is still answered as a problem.
		w := &startOnWrite{c: c, media: mediaXLSX, disposition: fmt.Sprintf(`attachment; filename="%s.xlsx"`, name)}
		if err := export.WriteXLSX(w, n, rows); err != nil {
			if !w.started {
				return err
			}
			h.log.WarnContext(ctx, "xlsx file cut short", "err", err, "request_id", problem.RequestID(c.Writer.Header()))
		}
		return nil
	}
	c.Header("Content-Type", mediaParquet)
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.parquet"`, name))
	c.Status(http.StatusOK)
	if err := export.WriteParquet(c.Writer, rows); err != nil {
		h.log.WarnContext(ctx, "parquet file cut short", "err", err, "request_id", problem.RequestID(c.Writer.Header()))
	}
	return nil
}

// startOnWrite sends a file's headers with its first byte.
type startOnWrite struct {
	c                  *gin.Context
	media, disposition string
	started            bool
}

func (w *startOnWrite) Write(b []byte) (int, error) {
	if !w.started {
		w.started = true
		w.c.Header("Content-Type", w.media)
		w.c.Header("Content-Disposition", w.disposition)
		w.c.Status(http.StatusOK)
	}
	return w.c.Writer.Write(b)
}

// observationFileName names a file of observations by its filters.
func observationFileName(f store.ObservationFilter) string {
	return fileName(append([]string{"krimstat-observations"}, slices.Concat(f.Offences, f.Regions, f.Measures, f.Sources)...)...)
}

// Names are the names, in the response's language, of the offences,
// regions and measures of a response, by id, and each measure's unit.
type Names struct {
	Offence map[string]string `json:"offence"`
	Region  map[string]string `json:"region"`
	Measure map[string]string `json:"measure"`
	Unit    map[string]string `json:"unit"`
} // @name Names

// namesOf picks the names of the ids obs use.
func namesOf(obs []store.Observation, l labels) Names {
	n := Names{Offence: map[string]string{}, Region: map[string]string{}, Measure: map[string]string{}, Unit: map[string]string{}}
	for _, o := range obs {
		n.Offence[o.Offence] = l.offence[o.Offence]
		n.Region[o.Region] = l.region[o.Region]
		n.Measure[o.Measure] = l.measure[o.Measure]
		n.Unit[o.Measure] = l.unit[o.Measure]
	}
	return n
}

// observationsRoute is the contract of GET /v1/observations.
var observationsRoute = route{
	params: []string{"offence", "region", "measure", "source", "from", "to",
		"sex", "age", "citizenship", "limit", "cursor", "format", "csv_dialect", "layout", "release"},
	formats: []string{formatJSON, formatCSV, formatJSONStat, formatXLSX, formatParquet},
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

// observationTable renders observations with their provenance and names
// as CSV rows.
func observationTable(obs []store.Observation, sources []store.Source, l labels) table {
	byID := map[string]store.Source{}
	for _, s := range sources {
		byID[s.ID] = s
	}
	t := table{name: "krimstat-observations", header: observationColumns, numeric: []string{"value"}}
	for _, o := range obs {
		t.rows = append(t.rows, observationRow(o, byID[o.Source], l))
	}
	return t
}

// observationRow is one observation as a CSV row of observationColumns.
func observationRow(o store.Observation, s store.Source, l labels) []string {
	return appendObservationRow(make([]string, 0, len(observationColumns)), o, s, l)
}

// appendObservationRow appends the cells of observationRow to row.
func appendObservationRow(row []string, o store.Observation, s store.Source, l labels) []string {
	value := ""
	if o.Value != nil {
		value = strconv.FormatFloat(*o.Value, 'f', -1, 64)
	}
	flags := ""
	if len(o.Flags) > 0 {
		flags = strings.Join(o.Flags, ";")
	}
	b := o.Breakdown
	return append(row,
		o.Offence, o.Region, o.Period, o.Measure, orTotal(b.Sex), orTotal(b.Age), orTotal(b.Citizenship), orTotal(b.RepatriationCountry),
		value, o.ValueText, flags, o.Confidence, o.Source, o.Locator,
		s.Publisher, s.Title, s.URL, s.Licence,
		l.offence[o.Offence], l.region[o.Region], l.measure[o.Measure], l.unit[o.Measure],
	)
}

func orTotal(s string) string {
	if s == "" {
		return "total"
	}
	return s
}
