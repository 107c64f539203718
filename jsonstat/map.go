package jsonstat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// Gap is a cell the source marks as not available. It produces no
// observation (a gap is never a zero), but callers can report it, for
// example to say which official table would fill a series.
type Gap struct {
	Offence   string
	Region    string
	Period    string
	Measure   string
	Breakdown store.Breakdown
	Source    string
	Status    string // the symbol as published; "" for a null without status
	Meaning   string // from the mapping's status table
	Locator   string
}

// Map turns the cells of ds into observations as m says. It is MapWithGaps
// without the gaps.
func Map(ds *Dataset, m Mapping) ([]store.Observation, error) {
	obs, _, err := MapWithGaps(ds, m)
	return obs, err
}

// axisPlan is an Axis resolved against a dataset dimension: the Krimstat
// id for each category position, and which positions to skip.
type axisPlan struct {
	dim   int // position in ds.ID; -1 when fixed
	fixed string
	ids   []string
	skip  []bool
}

func (a axisPlan) id(coords []int) string {
	if a.dim < 0 {
		return a.fixed
	}
	return a.ids[coords[a.dim]]
}

// MapWithGaps turns the cells of ds into observations, in row-major order,
// and returns the cells the source marks as not available as gaps.
//
// The rules: every dataset dimension must be named by the mapping (as an
// axis, a breakdown or a filter) and every dimension the mapping names must
// exist; every category of a mapped dimension must have a code, be ignored
// explicitly, or (for the period) convert by the format; every status
// symbol must be in the status table. A null value whose status means "not
// available" (or that has no status) is a gap; a null value with a
// suppression symbol is an observation with no value, the symbol as
// value_text and the suppressed flag; a number with a gap or suppression
// symbol, or a null with a symbol that only annotates numbers, is an error.
// Two cells that map to the same observation are an error naming both.
// Errors are *Error values wrapping store.ErrInvalid.
//
// A mapping that selects categories by label is resolved against ds first
// (see Resolve). Every category selected by label is quoted with its label
// in the locators: SSB table 08484, LovbruddKrim=1AB "Kjøp av seksuelle
// tjenester", Tid=2019.
func MapWithGaps(ds *Dataset, m Mapping) ([]store.Observation, []Gap, error) {
	if m.hasLabels() {
		r, _, err := m.Resolve(ds)
		if err != nil {
			return nil, nil, err
		}
		m = r
	}
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	quote := map[string]map[string]string{}
	for _, r := range m.Resolved {
		if quote[r.Dimension] == nil {
			quote[r.Dimension] = map[string]string{}
		}
		quote[r.Dimension][r.Code] = r.Label
	}
	var l errList
	mbad := func(path, format string, a ...any) {
		l.add(&Error{File: m.Name, Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	dbad := func(path, format string, a ...any) {
		l.add(&Error{File: ds.Name, Path: path, Msg: fmt.Sprintf(format, a...)})
	}

	// Every dimension must be accounted for, in both directions.
	named := map[string]string{}
	type axisRef struct {
		path string
		a    Axis
	}
	refs := []axisRef{{"offence", m.Offence}, {"region", m.Region}, {"period", m.Period}, {"measure", m.Measure}}
	for _, f := range breakdownFields {
		if a, ok := m.Breakdown[f]; ok {
			refs = append(refs, axisRef{"breakdown." + f, a})
		} else {
			refs = append(refs, axisRef{"breakdown." + f, Axis{Fixed: ""}})
		}
	}
	for _, r := range refs {
		if r.a.Dimension != "" {
			named[r.a.Dimension] = r.path
		}
	}
	for _, dim := range sortedKeys(m.Filter) {
		named[dim] = "filter"
	}
	for _, dim := range sortedKeys(named) {
		if _, ok := ds.Dimension[dim]; !ok {
			mbad(named[dim], "dimension %q is not in %s (it has %s)", dim, ds.Name, strings.Join(ds.ID, ", "))
		}
	}
	for i, id := range ds.ID {
		if _, ok := named[id]; !ok {
			dbad(fmt.Sprintf("id[%d]", i), "dimension %q is not in mapping %s: map it as offence, region, period, measure or a breakdown, or fix it to one category with filter", id, m.Name)
		}
	}
	if err := l.err(); err != nil {
		return nil, nil, err
	}

	// Resolve every axis to a per-category table, reporting every category
	// that has no mapping.
	plans := make([]axisPlan, len(refs))
	for k, r := range refs {
		plans[k] = planAxis(ds, r.path, r.a, dbad)
	}
	filterDims := make([]int, 0, len(m.Filter))
	filterPos := make([]int, 0, len(m.Filter))
	for _, dim := range sortedKeys(m.Filter) {
		d := ds.Dimension[dim]
		pos, ok := d.Index(m.Filter[dim])
		if !ok {
			mbad("filter"+member(false, dim), "category %q is not in dimension %s of %s (it has %s)", m.Filter[dim], dim, ds.Name, strings.Join(d.Codes, ", "))
			continue
		}
		filterDims = append(filterDims, slices.Index(ds.ID, dim))
		filterPos = append(filterPos, pos)
	}
	if err := l.err(); err != nil {
		return nil, nil, err
	}

	table := m.Table
	if table == "" {
		table = strings.TrimSpace(m.Source.Publisher + " table " + m.Source.TableID)
	}
	var (
		obs  []store.Observation
		gaps []Gap
		seen = map[string]int{}
	)
	visit := func(i int) {
		coords := ds.Coords(i)
		for k, d := range filterDims {
			if coords[d] != filterPos[k] {
				return
			}
		}
		for _, p := range plans {
			if p.dim >= 0 && p.skip[coords[p.dim]] {
				return
			}
		}
		o := store.Observation{
			Offence: plans[0].id(coords), Region: plans[1].id(coords),
			Period: plans[2].id(coords), Measure: plans[3].id(coords),
			Breakdown: store.Breakdown{
				Sex: plans[4].id(coords), Age: plans[5].id(coords),
				Citizenship: plans[6].id(coords), RepatriationCountry: plans[7].id(coords),
			},
			Source: m.Source.ID, Confidence: m.Confidence, Flags: []string{},
			// The cell by its categories, never by its index in value:
			// the index moves whenever the publisher adds a year, and a
			// locator that changed with it would read as a revision.
			Locator: fmt.Sprintf("%s, %s", table, ds.describeQuoted(i, quote)),
		}
		at := fmt.Sprintf("value[%d]", i)
		key := strings.Join([]string{o.Offence, o.Region, o.Period, o.Measure,
			o.Breakdown.Sex, o.Breakdown.Age, o.Breakdown.Citizenship, o.Breakdown.RepatriationCountry}, "\x1f")
		if j, dup := seen[key]; dup {
			dbad(at, "(%s) maps to the same observation as value[%d] (%s): offence %s, region %s, period %s, measure %s, breakdown %s",
				ds.describe(i), j, ds.describe(j), o.Offence, o.Region, o.Period, o.Measure, breakdownText(o.Breakdown))
			return
		}
		seen[key] = i

		v, status := ds.Value(i), ds.Status(i)
		var symbols []string
		switch {
		case status == "":
		case m.StatusChars:
			for _, r := range status {
				symbols = append(symbols, string(r))
			}
		default:
			symbols = []string{status}
		}
		var gap, suppressed *StatusRule
		var flags []string
		for _, sym := range symbols {
			r, ok := m.Status[sym]
			if !ok {
				dbad(at, "(%s) status %q is not in the status table of mapping %s", ds.describe(i), sym, m.Name)
				return
			}
			switch r.Action {
			case ActionGap:
				gap = &r
			case ActionSuppressed:
				suppressed = &r
			}
			flags = append(flags, r.Flags...)
		}
		switch {
		case gap != nil && v != nil:
			dbad(at, "(%s) status %q means %q, but the value is %v", ds.describe(i), status, gap.Meaning, *v)
			return
		case suppressed != nil && v != nil:
			dbad(at, "(%s) status %q means %q, but the value is %v", ds.describe(i), status, suppressed.Meaning, *v)
			return
		case gap != nil || (v == nil && len(symbols) == 0):
			g := Gap{Offence: o.Offence, Region: o.Region, Period: o.Period, Measure: o.Measure,
				Breakdown: o.Breakdown, Source: o.Source, Status: status, Locator: o.Locator}
			if gap != nil {
				g.Meaning = gap.Meaning
			} else {
				g.Meaning = "null value without a status"
			}
			gaps = append(gaps, g)
			return
		case suppressed != nil:
			o.ValueText = status
			o.Flags = append(o.Flags, store.FlagSuppressed)
		case v == nil:
			dbad(at, "(%s) the value is null, but status %q neither marks a gap nor a suppressed value", ds.describe(i), status)
			return
		default:
			o.Value = v
		}
		o.Flags = append(o.Flags, flags...)
		o.Flags = append(o.Flags, m.Flags...)
		if p, _ := store.ParsePeriod(o.Period); p.Kind != store.PeriodYear {
			o.Flags = append(o.Flags, store.FlagPartialYear)
		}
		o.Flags = dedupe(o.Flags)
		obs = append(obs, o)
	}
	for i := range ds.indexes() {
		visit(i)
		if l.full() {
			break
		}
	}
	if err := l.err(); err != nil {
		return nil, nil, err
	}
	return obs, gaps, nil
}

// hasLabels reports whether m selects any category by label.
func (m Mapping) hasLabels() bool {
	if len(m.FilterLabels) > 0 {
		return true
	}
	for _, a := range []Axis{m.Offence, m.Region, m.Period, m.Measure} {
		if len(a.Labels) > 0 {
			return true
		}
	}
	for _, a := range m.Breakdown {
		if len(a.Labels) > 0 {
			return true
		}
	}
	return false
}

// indexes yields the flat indexes Cells visits.
func (ds *Dataset) indexes() func(func(int) bool) {
	return func(yield func(int) bool) {
		if ds.sparse {
			for _, i := range ds.order {
				if !yield(i) {
					return
				}
			}
			return
		}
		for i := range ds.n {
			if !yield(i) {
				return
			}
		}
	}
}

// planAxis resolves an axis against the dataset, reporting each category
// that has no mapping with its dimension, code and index.
func planAxis(ds *Dataset, path string, a Axis, bad func(string, string, ...any)) axisPlan {
	if a.Dimension == "" {
		return axisPlan{dim: -1, fixed: a.Fixed}
	}
	d := ds.Dimension[a.Dimension]
	p := axisPlan{dim: slices.Index(ds.ID, a.Dimension), ids: make([]string, len(d.Codes)), skip: make([]bool, len(d.Codes))}
	for i, code := range d.Codes {
		if slices.Contains(a.Ignore, code) {
			p.skip[i] = true
			continue
		}
		if id, ok := a.Codes[code]; ok {
			p.ids[i] = id
			continue
		}
		if path == "period" && a.Format != "" {
			if id, ok := convertPeriod(a.Format, code); ok {
				p.ids[i] = id
				continue
			}
			bad("dimension"+member(false, a.Dimension), "category %q (index %d): not a %s period code, and not in %s.codes or %s.ignore", code, i, a.Format, path, path)
			continue
		}
		bad("dimension"+member(false, a.Dimension), "category %q (index %d) has no mapping in %s.codes and is not in %s.ignore", code, i, path, path)
	}
	return p
}

// convertPeriod turns a source period code into store.ParsePeriod form.
func convertPeriod(format, code string) (string, bool) {
	s := code
	switch format {
	case FormatSSB:
		// SSB writes quarters with K (kvartal) and months with M.
		if len(code) > 5 {
			y, kind, num := code[:4], code[4], code[5:]
			switch kind {
			case 'K':
				s = y + "-Q" + num
			case 'H', 'T':
				s = y + "-" + string(kind) + num
			case 'M':
				s = y + "-" + num
			default:
				return "", false
			}
		}
	case FormatEurostat:
		// Eurostat writes halves as semesters (S), with or without a dash.
		c := strings.Replace(code, "-", "", 1)
		if len(c) > 5 {
			y, kind, num := c[:4], c[4], c[5:]
			switch kind {
			case 'Q', 'H', 'T':
				s = y + "-" + string(kind) + num
			case 'S':
				s = y + "-H" + num
			case 'M':
				s = y + "-" + num
			default:
				if len(c) == 6 {
					s = y + "-" + c[4:]
				} else {
					return "", false
				}
			}
		}
	}
	p, err := store.ParsePeriod(s)
	if err != nil {
		return "", false
	}
	return p.String(), true
}

func breakdownText(b store.Breakdown) string {
	if b.IsTotal() {
		return "total"
	}
	var parts []string
	for _, f := range []struct{ name, v string }{{"sex", b.Sex}, {"age", b.Age}, {"citizenship", b.Citizenship}, {"repatriation_country", b.RepatriationCountry}} {
		if f.v != "" {
			parts = append(parts, f.name+"="+f.v)
		}
	}
	return strings.Join(parts, " ")
}

func dedupe(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
