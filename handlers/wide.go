package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/store"
)

// Layouts of a table: long (one row per observation, the default) and wide
// (one row per period, one column per series), which pastes straight into
// Datawrapper and Excel charts.
const (
	layoutLong = "long"
	layoutWide = "wide"
)

// layoutOf reads the layout parameter; wide is offered for CSV and XLSX.
func layoutOf(q query, format string) (string, error) {
	l, err := q.one("layout")
	if err != nil || l == "" || l == layoutLong {
		return layoutLong, err
	}
	if l != layoutWide {
		return "", store.InvalidParam("layout", "%q: want %s or %s", l, layoutLong, layoutWide)
	}
	if format != formatCSV && format != formatXLSX {
		return "", store.InvalidParam("layout", "layout=wide is a CSV and XLSX layout; ask for format=csv or format=xlsx")
	}
	return l, nil
}

// wideTable pivots observations into one row per period and one column per
// series, where a series is the combination of whatever varies among the
// observations (region, offence, measure, source, breakdown). Columns are
// headed by names in the labels' language. A cell holds the value, or the
// text the source printed instead (<5); a gap stays empty. The last two
// columns say, per period, which cells carry flags and which sources the
// row's figures come from, so the table stays rectangular.
func wideTable(obs []store.Observation, l labels) table {
	type dim struct {
		of   func(store.Observation) string
		name func(string) string
	}
	dims := []dim{
		{func(o store.Observation) string { return o.Region }, func(id string) string { return l.region[id] }},
		{func(o store.Observation) string { return o.Offence }, func(id string) string { return l.offence[id] }},
		{func(o store.Observation) string { return o.Measure }, func(id string) string { return l.measure[id] }},
		{func(o store.Observation) string { return o.Source }, func(id string) string { return id }},
		{func(o store.Observation) string { return orTotal(o.Breakdown.Sex) }, func(id string) string { return id }},
		{func(o store.Observation) string { return orTotal(o.Breakdown.Age) }, func(id string) string { return id }},
		{func(o store.Observation) string { return orTotal(o.Breakdown.Citizenship) }, func(id string) string { return id }},
		{func(o store.Observation) string { return orTotal(o.Breakdown.RepatriationCountry) }, func(id string) string { return id }},
	}
	// The dimensions that vary name the columns; with none varying, the
	// one series is named by its region.
	var varying []dim
	for _, d := range dims {
		for _, o := range obs {
			if d.of(o) != d.of(obs[0]) {
				varying = append(varying, d)
				break
			}
		}
	}
	if len(varying) == 0 {
		varying = dims[:1]
	}
	column := func(o store.Observation) string {
		parts := make([]string, len(varying))
		for i, d := range varying {
			parts[i] = d.name(d.of(o))
			if parts[i] == "" {
				parts[i] = d.of(o)
			}
		}
		return strings.Join(parts, " – ")
	}

	cols, periods := []string{}, []string{}
	cell := map[[2]string]store.Observation{}
	for _, o := range obs {
		c := column(o)
		if !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
		if !slices.Contains(periods, o.Period) {
			periods = append(periods, o.Period)
		}
		cell[[2]string{o.Period, c}] = o
	}
	slices.Sort(cols)
	slices.SortFunc(periods, func(a, b string) int { return strings.Compare(periodSortKey(a), periodSortKey(b)) })

	t := table{name: "krimstat-observations-wide", header: slices.Concat([]string{"period"}, cols, []string{"flags", "sources"}), numeric: cols}
	for _, p := range periods {
		row := []string{p}
		var flags, sources []string
		for _, c := range cols {
			o, ok := cell[[2]string{p, c}]
			switch {
			case !ok:
				row = append(row, "")
				continue
			case o.Value != nil:
				row = append(row, strconv.FormatFloat(*o.Value, 'f', -1, 64))
			default:
				row = append(row, o.ValueText)
			}
			if len(o.Flags) > 0 {
				flags = append(flags, c+": "+strings.Join(o.Flags, ", "))
			}
			if !slices.Contains(sources, o.Source) {
				sources = append(sources, o.Source)
			}
		}
		t.rows = append(t.rows, append(row, strings.Join(flags, "; "), strings.Join(sources, ";")))
	}
	return t
}

// periodSortKey orders periods in time; an unparsable one sorts last.
func periodSortKey(s string) string {
	p, err := store.ParsePeriod(s)
	if err != nil {
		return "~" + s
	}
	return p.SortKey()
}

// writeTable sends a laid-out table as CSV, or as a one-sheet workbook for
// format=xlsx.
func writeTable(c *gin.Context, t table, format string) error {
	if format != formatXLSX {
		writeCSV(c, t)
		return nil
	}
	var buf bytes.Buffer
	if err := export.WriteTableXLSX(&buf, "data", t.header, t.rows, t.numeric); err != nil {
		return err
	}
	name := t.name
	if rel := c.Writer.Header().Get(releaseHeader); rel != "" {
		name = fileName(name) + "-" + fileName(rel)
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.xlsx"`, name))
	c.Data(http.StatusOK, mediaXLSX, buf.Bytes())
	return nil
}
