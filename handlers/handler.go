package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// Handler serves the API. Its methods are the route handlers; Routes wires
// them with the middleware.
type Handler struct {
	store   store.Store
	log     *slog.Logger
	openapi []byte // the OpenAPI 3 document served at /openapi.json
	// catalogues memoises catalogue by release id. A release never
	// changes once loaded, and there are few, so entries are kept.
	catalogues sync.Map
}

// New returns a Handler reading from s. openapiJSON is the OpenAPI 3
// document to serve at /openapi.json.
func New(s store.Store, log *slog.Logger, openapiJSON []byte) *Handler {
	return &Handler{store: s, log: log, openapi: openapiJSON}
}

// Links holds the URLs of a list response, relative to the API's origin.
type Links struct {
	Self string `json:"self" example:"/v1/observations?offence=sex-purchase&limit=100"`
	Next string `json:"next,omitempty" example:"/v1/observations?cursor=eyJyIjoi...&limit=100"`
} // @name Links

// Meta describes the data a response comes from.
type Meta struct {
	Release string `json:"release" example:"20250414-3da80bd7"`
	Count   int    `json:"count" example:"2"`
} // @name Meta

// releaseHeader names the release a response comes from.
const releaseHeader = "X-Krimstat-Release"

// releaseFor resolves the release a request reads: the release parameter,
// or the current release. Every response says which one it used.
func (h *Handler) releaseFor(c *gin.Context, q query) (store.Release, error) {
	id, err := q.one("release")
	if err != nil {
		return store.Release{}, err
	}
	ctx := c.Request.Context()
	var rel store.Release
	if id == "" {
		rel, err = h.store.CurrentRelease(ctx)
	} else {
		rel, err = h.store.Release(ctx, id)
	}
	if err != nil {
		return store.Release{}, err
	}
	c.Header(releaseHeader, rel.ID)
	return rel, nil
}

// writeJSON sends v as JSON without HTML escaping: "<5" stays "<5".
func writeJSON(c *gin.Context, v any) {
	c.PureJSON(http.StatusOK, v)
}

// table is a list rendered as CSV: a header row and rows of fields.
type table struct {
	name    string // file name stem, e.g. krimstat-observations-sex-purchase-NO
	header  []string
	rows    [][]string
	dialect string   // csvRFC4180 (the default when empty) or csvExcelNO
	numeric []string // columns holding numbers, written with a decimal comma in excel-no
}

// CSV dialects.
const (
	csvRFC4180 = "rfc4180"
	// csvExcelNO is what Excel in a Norwegian locale opens without the
	// import wizard: a UTF-8 byte order mark, ";" between fields, a
	// decimal comma and CRLF line ends.
	csvExcelNO = "excel-no"
)

// representation reads the format (parameter or Accept header, among
// offered) and the CSV dialect of a request.
func (q query) representation(accept string, offered ...string) (format, dialect string, err error) {
	if format, err = q.format(accept, offered...); err != nil {
		return "", "", err
	}
	if dialect, err = csvDialectOf(q); err != nil {
		return "", "", err
	}
	return format, dialect, nil
}

// csvDialectOf reads the csv_dialect parameter.
func csvDialectOf(q query) (string, error) {
	d, err := q.one("csv_dialect")
	if err != nil {
		return "", err
	}
	switch d {
	case "", csvRFC4180:
		return csvRFC4180, nil
	case csvExcelNO:
		return csvExcelNO, nil
	}
	return "", badParam("csv_dialect", "%q: want %s or %s", d, csvRFC4180, csvExcelNO)
}

// fileName joins a file name stem from parts, keeping letters, digits,
// "-" and "." and replacing anything else (such as the "/" of iccs/0302)
// with "-"; empty parts are left out.
func fileName(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p == "" {
			continue
		}
		kept = append(kept, strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
				return r
			}
			return '-'
		}, p))
	}
	return strings.Join(kept, "-")
}

// writeCSV sends a CSV with a header row: RFC 4180 (comma, CRLF, quoted
// where needed) by default, or the excel-no dialect. The file name ends
// with the release the response comes from.
//
// In excel-no, text cells that start with = + - @ (or a tab or carriage
// return) get a leading ' so that Excel shows them as text instead of
// running them as formulas; numeric columns are written with a decimal
// comma and never prefixed. RFC 4180 output is left exactly as published.
func writeCSV(c *gin.Context, t table) {
	name := t.name
	if rel := c.Writer.Header().Get(releaseHeader); rel != "" {
		name = fileName(name, rel)
	}
	c.Header("Content-Type", "text/csv; charset=utf-8; header=present")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	w.UseCRLF = true
	if t.dialect != csvExcelNO {
		_ = w.Write(t.header)
		_ = w.WriteAll(t.rows) // WriteAll flushes; a write error means the client went away
		return
	}
	w.Comma = ';'
	_, _ = c.Writer.WriteString("\ufeff")
	numeric := make([]bool, len(t.header))
	for i, h := range t.header {
		numeric[i] = slices.Contains(t.numeric, h) || (t.numeric == nil && (h == "value" || h == "rate"))
	}
	_ = w.Write(t.header)
	out := make([]string, len(t.header))
	for _, row := range t.rows {
		for i, cell := range row {
			switch {
			case i < len(numeric) && numeric[i]:
				cell = strings.Replace(cell, ".", ",", 1)
			case cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])):
				cell = "'" + cell
			}
			out[i] = cell
		}
		_ = w.Write(out[:len(row)])
	}
	w.Flush()
}

// selfLink is the request's own path and query.
func selfLink(c *gin.Context) string { return c.Request.URL.RequestURI() }

// withParam returns the request's path and query with one parameter set.
func withParam(c *gin.Context, name, value string) string {
	u := *c.Request.URL
	v := u.Query()
	v.Set(name, value)
	u.RawQuery = v.Encode()
	return (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).RequestURI()
}

// fail renders err as a problem; it is the handlers' one error exit.
func (h *Handler) fail(c *gin.Context, err error) { writeError(c, h.log, err) }

// knownIDs checks that each id in ids is one of valid, so a misspelt filter
// value is an error instead of an empty result.
func knownIDs(param string, ids []string, valid map[string]bool, list string) error {
	for _, id := range ids {
		if !valid[id] {
			return badParam(param, "unknown %s %q; see %s", param, id, list)
		}
	}
	return nil
}

// checkFilter reports the first id in f's offence, region, measure or
// source filters that the release does not have.
func (cat catalogue) checkFilter(f store.ObservationFilter) error {
	for _, chk := range []struct {
		param string
		ids   []string
		valid map[string]bool
	}{
		{"offence", f.Offences, cat.offences},
		{"region", f.Regions, cat.regions},
		{"measure", f.Measures, cat.measures},
		{"source", f.Sources, cat.sources},
	} {
		if err := knownIDs(chk.param, chk.ids, chk.valid, "/v1/"+chk.param+"s"); err != nil {
			return err
		}
	}
	return nil
}

// catalogue is the set of ids of one release, for validating filters.
type catalogue struct {
	offences, regions, measures, sources map[string]bool
	sourceList                           []store.Source
}

// catalogue returns the ids of a release, read once per release; callers
// must not modify it.
func (h *Handler) catalogue(ctx context.Context, rel string) (catalogue, error) {
	if c, ok := h.catalogues.Load(rel); ok {
		return c.(catalogue), nil
	}
	cat, err := h.readCatalogue(ctx, rel)
	if err != nil {
		return cat, err
	}
	h.catalogues.Store(rel, cat)
	return cat, nil
}

func (h *Handler) readCatalogue(ctx context.Context, rel string) (catalogue, error) {
	cat := catalogue{offences: map[string]bool{}, regions: map[string]bool{}, measures: map[string]bool{}, sources: map[string]bool{}}
	offs, err := h.store.Offences(ctx, rel)
	if err != nil {
		return cat, err
	}
	for _, o := range offs {
		cat.offences[o.ID] = true
	}
	regs, err := h.store.Regions(ctx, rel, store.RegionFilter{})
	if err != nil {
		return cat, err
	}
	for _, r := range regs {
		cat.regions[r.ID] = true
	}
	ms, err := h.store.Measures(ctx, rel)
	if err != nil {
		return cat, err
	}
	for _, m := range ms {
		cat.measures[m.ID] = true
	}
	if cat.sourceList, err = h.store.Sources(ctx, rel); err != nil {
		return cat, err
	}
	for _, s := range cat.sourceList {
		cat.sources[s.ID] = true
	}
	return cat, nil
}

// listRequest is what a list route knows after its common first steps.
type listRequest struct {
	q       query
	format  string // formatJSON or formatCSV
	dialect string // the CSV dialect
	rel     store.Release
}

// beginList does the first steps every metadata list route shares: it reads
// the query strictly (params plus format, csv_dialect and release),
// negotiates JSON or CSV, and resolves the release. On failure it has
// answered with a problem and returns false.
func (h *Handler) beginList(c *gin.Context, params ...string) (listRequest, bool) {
	var r listRequest
	var err error
	if r.q, err = parseQuery(c.Request.URL.RawQuery, append(params, "format", "csv_dialect", "release")...); err != nil {
		h.fail(c, err)
		return r, false
	}
	if r.format, r.dialect, err = r.q.representation(c.GetHeader("Accept"), formatJSON, formatCSV); err != nil {
		h.fail(c, err)
		return r, false
	}
	if r.rel, err = h.releaseFor(c, r.q); err != nil {
		h.fail(c, err)
		return r, false
	}
	return r, true
}
