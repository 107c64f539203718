package jsonstat

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// The dimension ids Encode writes, in row-major order. Period comes last so
// that a series reads as consecutive values; source comes just before it,
// because every cell carries its source as a dimension, which is what makes
// the output decode back to the same observations.
const (
	DimOffence             = "offence"
	DimRegion              = "region"
	DimMeasure             = "measure"
	DimSex                 = "sex"
	DimAge                 = "age"
	DimCitizenship         = "citizenship"
	DimRepatriationCountry = "repatriation_country"
	DimSource              = "source"
	DimPeriod              = "period"
)

// TotalCode is the category code Encode writes for an empty breakdown
// field, the undivided total.
const TotalCode = "total"

// Dimensions returns the dimension ids Encode writes, in order.
func Dimensions() []string {
	return []string{DimOffence, DimRegion, DimMeasure, DimSex, DimAge, DimCitizenship, DimRepatriationCountry, DimSource, DimPeriod}
}

// maxDense is the largest cube Encode writes with value as an array; a
// larger one (many breakdowns crossed with many periods is mostly empty)
// is written with value as an object keyed by flat index, which JSON-stat
// 2.0 allows and its clients read.
const maxDense = 1 << 20

// EncodeMeta is what Encode writes around the observations.
type EncodeMeta struct {
	Label   string         // the dataset label, e.g. the query in words
	Source  string         // the dataset-level source text; built from Sources when empty
	Updated string         // when the release was made (RFC 3339); omitted when empty
	Href    string         // the URL of the query; omitted when empty
	Note    []string       // dataset notes; omitted when empty
	Release string         // the release id the observations come from
	Sources []store.Source // every source the observations cite
	// Labels gives category labels by dimension id and code, e.g.
	// Labels["offence"]["sex-purchase"]. A missing label is the code.
	Labels map[string]map[string]string
	// Units gives the unit of each measure, written as category.unit.
	Units map[string]string
	// DimensionLabels replaces the English labels of the dimensions
	// (dimensionLabels) by dimension id, e.g. for another language.
	DimensionLabels map[string]string
}

// The extension.krimstat block: the provenance a JSON-stat client would
// otherwise lose, and what ToObservations reads back.
type krimstatExt struct {
	Release string                  `json:"release,omitempty"`
	Status  string                  `json:"status"`
	Sources map[string]store.Source `json:"sources"`
	Flags   map[string]string       `json:"flags"`
	Cells   map[string]extCell      `json:"cells"`
}

type extCell struct {
	Flags      []string `json:"flags"`
	ValueText  string   `json:"value_text,omitempty"`
	Confidence string   `json:"confidence"`
	Locator    string   `json:"locator"`
}

type outUnit struct {
	Label string `json:"label"`
}

type outCategory struct {
	Index map[string]int     `json:"index"`
	Label map[string]string  `json:"label"`
	Unit  map[string]outUnit `json:"unit,omitempty"`
}

type outDimension struct {
	Label    string      `json:"label"`
	Category outCategory `json:"category"`
}

type outDataset struct {
	Version   string                  `json:"version"`
	Class     string                  `json:"class"`
	Href      string                  `json:"href,omitempty"`
	Label     string                  `json:"label,omitempty"`
	Source    string                  `json:"source,omitempty"`
	Updated   string                  `json:"updated,omitempty"`
	Note      []string                `json:"note,omitempty"`
	ID        []string                `json:"id"`
	Size      []int                   `json:"size"`
	Role      Role                    `json:"role"`
	Dimension map[string]outDimension `json:"dimension"`
	Value     any                     `json:"value"`
	Status    map[string]string       `json:"status,omitempty"`
	Extension map[string]krimstatExt  `json:"extension"`
}

// statusEncoding documents the status of each cell, in the output itself.
const statusEncoding = "status holds, per cell, the text the source printed instead of a number (value_text, e.g. <5) " +
	"for a suppressed value, otherwise the cell's flags joined by a space; extension.krimstat.cells has the " +
	"flags, value_text, confidence and locator of every cell that has an observation, and extension.krimstat.flags " +
	"says what each flag means"

// dimensionLabels are the English labels of the dimensions.
func dimensionLabels() map[string]string {
	return map[string]string{
		DimOffence: "offence", DimRegion: "region", DimMeasure: "measure", DimSex: "sex", DimAge: "age",
		DimCitizenship: "citizenship", DimRepatriationCountry: "repatriation country", DimSource: "source", DimPeriod: "period",
	}
}

// codesOf returns the category code of each dimension for an observation,
// in the order of Dimensions.
func codesOf(o store.Observation) []string {
	tot := func(s string) string {
		if s == "" {
			return TotalCode
		}
		return s
	}
	return []string{o.Offence, o.Region, o.Measure, tot(o.Breakdown.Sex), tot(o.Breakdown.Age),
		tot(o.Breakdown.Citizenship), tot(o.Breakdown.RepatriationCountry), o.Source, o.Period}
}

// Encode writes obs as one JSON-stat 2.0 dataset with the dimensions of
// Dimensions, each holding the categories that occur in obs (a dimension
// with a single category is still present, with size 1). value is null
// where there is no observation and where the value is suppressed; status
// and extension.krimstat are described by statusEncoding, which the
// output repeats in extension.krimstat.status.
//
// It returns an error wrapping store.ErrInvalid for an observation whose
// period does not parse, whose source is not in meta.Sources, whose value
// is not finite, whose breakdown uses the reserved code "total", or that
// shares its cell with another; write errors are returned as they are.
func Encode(w io.Writer, obs []store.Observation, meta EncodeMeta) error {
	dims := Dimensions()
	sources := make(map[string]store.Source, len(meta.Sources))
	for _, s := range meta.Sources {
		sources[s.ID] = s
	}
	cats := make([][]string, len(dims))
	seenCat := make([]map[string]bool, len(dims))
	for d := range dims {
		seenCat[d] = map[string]bool{}
	}
	periods := map[string]store.Period{}
	for i, o := range obs {
		at := fmt.Sprintf("observations[%d] (%s %s %s %s)", i, o.Offence, o.Region, o.Period, o.Measure)
		p, err := store.ParsePeriod(o.Period)
		if err != nil {
			return fmt.Errorf("jsonstat: %s: %w", at, err)
		}
		periods[o.Period] = p
		if _, ok := sources[o.Source]; !ok {
			return fmt.Errorf("jsonstat: %s: source %q is not in the metadata: %w", at, o.Source, store.ErrInvalid)
		}
		if o.Value != nil && (math.IsNaN(*o.Value) || math.IsInf(*o.Value, 0)) {
			return fmt.Errorf("jsonstat: %s: value %v is not a finite number: %w", at, *o.Value, store.ErrInvalid)
		}
		b := o.Breakdown
		for _, v := range []string{b.Sex, b.Age, b.Citizenship, b.RepatriationCountry} {
			if v == TotalCode {
				return fmt.Errorf("jsonstat: %s: breakdown value %q is reserved for the total: %w", at, v, store.ErrInvalid)
			}
		}
		for d, c := range codesOf(o) {
			if !seenCat[d][c] {
				seenCat[d][c] = true
				cats[d] = append(cats[d], c)
			}
		}
	}
	for d, dim := range dims {
		switch dim {
		case DimPeriod:
			slices.SortFunc(cats[d], func(a, b string) int {
				return strings.Compare(periods[a].SortKey(), periods[b].SortKey())
			})
		case DimSex, DimAge, DimCitizenship, DimRepatriationCountry:
			// The total first, then the parts.
			slices.SortFunc(cats[d], func(a, b string) int {
				if (a == TotalCode) != (b == TotalCode) {
					if a == TotalCode {
						return -1
					}
					return 1
				}
				return strings.Compare(a, b)
			})
		default:
			slices.Sort(cats[d])
		}
	}

	size := make([]int, len(dims))
	index := make([]map[string]int, len(dims))
	n := 1
	for d := range dims {
		size[d] = len(cats[d])
		index[d] = make(map[string]int, len(cats[d]))
		for i, c := range cats[d] {
			index[d][c] = i
		}
		if size[d] > 0 && n > maxCells/size[d] {
			return fmt.Errorf("jsonstat: the observations span more than %d cells: %w", int64(maxCells), store.ErrInvalid)
		}
		n *= size[d]
	}

	ext := krimstatExt{
		Release: meta.Release, Status: statusEncoding,
		Sources: map[string]store.Source{}, Flags: map[string]string{}, Cells: make(map[string]extCell, len(obs)),
	}
	status := map[string]string{}
	sparse := n > maxDense
	var dense []*float64
	svalues := map[string]float64{}
	if !sparse {
		dense = make([]*float64, n)
	}
	owner := make(map[int]int, len(obs))
	meanings := map[string]string{}
	for _, f := range store.Flags {
		meanings[f.ID] = f.Meaning
	}
	for i, o := range obs {
		flat := 0
		for d, c := range codesOf(o) {
			flat = flat*size[d] + index[d][c]
		}
		if j, dup := owner[flat]; dup {
			return fmt.Errorf("jsonstat: observations[%d] and observations[%d] fall in the same cell (%s): %w",
				j, i, strings.Join(codesOf(o), ", "), store.ErrInvalid)
		}
		owner[flat] = i
		key := strconv.Itoa(flat)
		if o.Value != nil {
			v := *o.Value
			if sparse {
				svalues[key] = v
			} else {
				dense[flat] = &v
			}
		}
		flags := o.Flags
		if flags == nil {
			flags = []string{}
		}
		switch {
		case o.Value == nil && o.ValueText != "":
			status[key] = o.ValueText
		case len(flags) > 0:
			status[key] = strings.Join(flags, " ")
		}
		for _, f := range flags {
			if m, ok := meanings[f]; ok {
				ext.Flags[f] = m
			} else {
				ext.Flags[f] = "not a Krimstat flag"
			}
		}
		ext.Sources[o.Source] = sources[o.Source]
		ext.Cells[key] = extCell{Flags: flags, ValueText: o.ValueText, Confidence: o.Confidence, Locator: o.Locator}
	}

	out := outDataset{
		Version: "2.0", Class: "dataset", Href: meta.Href, Label: meta.Label, Source: meta.Source,
		Updated: meta.Updated, Note: meta.Note, ID: dims, Size: size,
		Role:      Role{Time: []string{DimPeriod}, Geo: []string{DimRegion}, Metric: []string{DimMeasure}},
		Dimension: make(map[string]outDimension, len(dims)),
		Status:    status,
		Extension: map[string]krimstatExt{"krimstat": ext},
	}
	if out.Source == "" {
		out.Source = defaultSource(ext.Sources)
	}
	if sparse {
		out.Value = svalues
	} else {
		out.Value = dense
	}
	dimLabels := dimensionLabels()
	for dim, l := range meta.DimensionLabels {
		dimLabels[dim] = l
	}
	for d, dim := range dims {
		c := outCategory{Index: index[d], Label: make(map[string]string, len(cats[d]))}
		for _, code := range cats[d] {
			c.Label[code] = categoryLabel(dim, code, meta, sources)
			if u, ok := meta.Units[code]; ok && dim == DimMeasure {
				if c.Unit == nil {
					c.Unit = map[string]outUnit{}
				}
				c.Unit[code] = outUnit{Label: u}
			}
		}
		out.Dimension[dim] = outDimension{Label: dimLabels[dim], Category: c}
	}

	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	// Suppressed values such as <5 must reach clients as written.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("jsonstat: encode: %w", err)
	}
	return bw.Flush()
}

func categoryLabel(dim, code string, meta EncodeMeta, sources map[string]store.Source) string {
	if l, ok := meta.Labels[dim][code]; ok {
		return l
	}
	switch {
	case dim == DimSource:
		if s, ok := sources[code]; ok && s.Title != "" {
			return strings.TrimPrefix(s.Publisher+": "+s.Title, ": ")
		}
	case code == TotalCode && dim != DimOffence && dim != DimRegion && dim != DimMeasure && dim != DimPeriod:
		return "Total"
	}
	return code
}

func defaultSource(sources map[string]store.Source) string {
	var pubs []string
	for _, id := range sortedKeys(sources) {
		if p := sources[id].Publisher; p != "" && !slices.Contains(pubs, p) {
			pubs = append(pubs, p)
		}
	}
	if len(pubs) == 0 {
		return "Krimstat"
	}
	return "Krimstat, compiled from " + strings.Join(pubs, "; ")
}

// ToObservations is the inverse of Encode: it reads a dataset that Encode
// wrote (its dimensions and extension.krimstat) back into observations,
// sorted by store.Observation.Key. It returns an *Error wrapping
// store.ErrInvalid when the dataset lacks a Krimstat dimension or the
// extension, or when a cell has a value but no extension entry.
func ToObservations(ds *Dataset) ([]store.Observation, error) {
	bad := func(path, format string, a ...any) error {
		return &Error{File: ds.Name, Path: path, Msg: fmt.Sprintf(format, a...)}
	}
	want := Dimensions()
	pos := make([]int, len(want))
	for k, dim := range want {
		pos[k] = slices.Index(ds.ID, dim)
		if pos[k] < 0 {
			return nil, bad("id", "dimension %q is missing: not a dataset Encode wrote", dim)
		}
	}
	if len(ds.ID) != len(want) {
		return nil, bad("id", "%d dimensions, want the %d Krimstat dimensions %s", len(ds.ID), len(want), strings.Join(want, ", "))
	}
	var ext struct {
		Krimstat *struct {
			Cells map[string]extCell `json:"cells"`
		} `json:"krimstat"`
	}
	if len(ds.Extension) == 0 || json.Unmarshal(ds.Extension, &ext) != nil || ext.Krimstat == nil || ext.Krimstat.Cells == nil {
		return nil, bad("extension.krimstat.cells", "missing or malformed: not a dataset Encode wrote")
	}
	var obs []store.Observation
	has := make(map[int]bool, len(ext.Krimstat.Cells))
	for _, key := range sortedKeys(ext.Krimstat.Cells) {
		path := fmt.Sprintf("extension.krimstat.cells[%q]", key)
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= ds.Len() || strconv.Itoa(i) != key {
			return nil, bad(path, "not a flat index of the %d cells", ds.Len())
		}
		has[i] = true
		cell := ext.Krimstat.Cells[key]
		coords := ds.Coords(i)
		code := func(k int) string {
			d := pos[k]
			return ds.Dimension[ds.ID[d]].Codes[coords[d]]
		}
		total := func(k int) string {
			if c := code(k); c != TotalCode {
				return c
			}
			return ""
		}
		flags := cell.Flags
		if flags == nil {
			flags = []string{}
		}
		o := store.Observation{
			Offence: code(0), Region: code(1), Measure: code(2),
			Breakdown: store.Breakdown{Sex: total(3), Age: total(4), Citizenship: total(5), RepatriationCountry: total(6)},
			Source:    code(7), Period: code(8),
			Value: ds.Value(i), ValueText: cell.ValueText, Flags: flags,
			Confidence: cell.Confidence, Locator: cell.Locator,
		}
		if o.Value == nil && o.ValueText == "" {
			return nil, bad(path, "the cell has neither a value nor value_text")
		}
		obs = append(obs, o)
	}
	for i := range ds.indexes() {
		if ds.Value(i) != nil && !has[i] {
			return nil, bad(fmt.Sprintf("value[%d]", i), "(%s) has a value but no extension.krimstat.cells entry", ds.describe(i))
		}
	}
	slices.SortStableFunc(obs, func(a, b store.Observation) int { return strings.Compare(a.Key(), b.Key()) })
	return obs, nil
}
