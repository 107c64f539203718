package jsonstat

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Resolution is one category that a mapping selected by its published
// label: which axis asked for it, the dimension, the label, the code it
// matched and the Krimstat id it maps to ("" for a filter, which keeps a
// category rather than mapping it, and for a breakdown total).
type Resolution struct {
	Axis       string // offence, region, period, measure, breakdown.sex, ..., or filter
	Dimension  string
	Label      string
	Code       string
	KrimstatID string
}

// String renders the resolution as a source note reads it:
// LovbruddKrim 1AB "Kjøp av seksuelle tjenester" -> offence sex-purchase.
func (r Resolution) String() string {
	target := r.Axis
	if r.KrimstatID != "" {
		target += " " + r.KrimstatID
	}
	return fmt.Sprintf("%s %s %s -> %s", r.Dimension, r.Code, strconv.Quote(r.Label), target)
}

// quotedKey renders a label as a step of a JSON path. Labels hold spaces,
// colons and the like, so they are always quoted: offence.labels["¬¬ X"].
func quotedKey(label string) string { return "[" + strconv.Quote(label) + "]" }

// nearestLabels is how many published labels a failed match suggests.
const nearestLabels = 5

// Resolve matches the labels of m (Axis.Labels and FilterLabels) against
// the category labels of ds, a data or metadata document, and returns a
// copy of m in which they are codes: each label is merged into its axis's
// codes (or into Filter), and Resolved lists what was chosen so that Map
// can quote the labels in the locators. m itself is not changed.
//
// A label must equal exactly one category label of its dimension, byte for
// byte and with no normalisation: SSB marks the depth of an offence in its
// hierarchy with leading "¬", and a label without them is another label.
// No match, several matches, a dimension that is missing and a label that
// resolves to a code the axis already maps or ignores are errors that name
// the mapping file, the axis and the label; a missing label also lists the
// nearest published labels. Errors are *Error values wrapping
// store.ErrInvalid.
func (m Mapping) Resolve(ds *Dataset) (Mapping, []Resolution, error) {
	if err := m.Validate(); err != nil {
		return Mapping{}, nil, err
	}
	var l errList
	bad := func(path, format string, a ...any) {
		l.add(&Error{File: m.Name, Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	out := m
	out.Resolved = slices.Clone(m.Resolved)
	var res []Resolution

	type axisRef struct {
		path string
		a    *Axis
	}
	refs := []axisRef{{"offence", &out.Offence}, {"region", &out.Region}, {"period", &out.Period}, {"measure", &out.Measure}}
	if len(m.Breakdown) > 0 {
		out.Breakdown = maps.Clone(m.Breakdown)
	}
	breakdowns := make(map[string]*Axis, len(out.Breakdown))
	for _, name := range sortedKeys(out.Breakdown) {
		a := out.Breakdown[name]
		breakdowns[name] = &a
		refs = append(refs, axisRef{"breakdown." + name, &a})
	}
	for _, r := range refs {
		if len(r.a.Labels) == 0 {
			continue
		}
		d, ok := ds.Dimension[r.a.Dimension]
		if !ok {
			bad(r.path+".dimension", "dimension %q is not in %s (it has %s), so its labels cannot be resolved", r.a.Dimension, ds.Name, strings.Join(ds.ID, ", "))
			continue
		}
		codes := maps.Clone(r.a.Codes)
		if codes == nil {
			codes = map[string]string{}
		}
		for _, label := range sortedKeys(r.a.Labels) {
			path := r.path + ".labels" + quotedKey(label)
			code, ok := match(d, label, ds.Name, path, bad)
			if !ok {
				continue
			}
			if id, dup := codes[code]; dup {
				bad(path, "resolves to code %q of dimension %s, which is already mapped to %q", code, d.ID, id)
				continue
			}
			if slices.Contains(r.a.Ignore, code) {
				bad(path, "resolves to code %q of dimension %s, which %s.ignore lists", code, d.ID, r.path)
				continue
			}
			codes[code] = r.a.Labels[label]
			res = append(res, Resolution{Axis: r.path, Dimension: d.ID, Label: label, Code: code, KrimstatID: r.a.Labels[label]})
		}
		r.a.Codes = codes
		r.a.Labels = nil
	}
	for name, a := range breakdowns {
		out.Breakdown[name] = *a
	}
	if len(m.FilterLabels) > 0 {
		out.Filter = maps.Clone(m.Filter)
		if out.Filter == nil {
			out.Filter = map[string]string{}
		}
		for _, dim := range sortedKeys(m.FilterLabels) {
			path := "filter_labels" + member(false, dim)
			d, ok := ds.Dimension[dim]
			if !ok {
				bad(path, "dimension %q is not in %s (it has %s), so its label cannot be resolved", dim, ds.Name, strings.Join(ds.ID, ", "))
				continue
			}
			label := m.FilterLabels[dim].Label
			code, ok := match(d, label, ds.Name, path+".label", bad)
			if !ok {
				continue
			}
			out.Filter[dim] = code
			res = append(res, Resolution{Axis: "filter", Dimension: dim, Label: label, Code: code})
		}
		out.FilterLabels = nil
	}
	if err := l.err(); err != nil {
		return Mapping{}, nil, err
	}
	out.Resolved = append(out.Resolved, res...)
	return out, res, nil
}

// match finds the one category of d whose published label is label.
func match(d *Dimension, label, dsName, path string, bad func(string, string, ...any)) (string, bool) {
	var found []string
	for _, code := range d.Codes {
		if l, ok := d.Labels[code]; ok && l == label {
			found = append(found, code)
		}
	}
	switch len(found) {
	case 1:
		return found[0], true
	case 0:
		bad(path, "no category of dimension %s in %s has exactly this label; the nearest published labels are %s",
			d.ID, dsName, nearest(d, label))
	default:
		bad(path, "%d categories of dimension %s in %s have this label (codes %s): a label must select exactly one; map one of them by code",
			len(found), d.ID, dsName, strings.Join(found, ", "))
	}
	return "", false
}

// nearest lists the published labels of d closest to label by edit
// distance, each with its code, closest first.
func nearest(d *Dimension, label string) string {
	type cand struct {
		code, label string
		dist        int
	}
	var cs []cand
	for _, code := range d.Codes {
		if l, ok := d.Labels[code]; ok {
			cs = append(cs, cand{code, l, editDistance(label, l)})
		}
	}
	if len(cs) == 0 {
		return "none: the dimension publishes no labels"
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.dist - b.dist })
	parts := make([]string, 0, nearestLabels)
	for _, c := range cs[:min(nearestLabels, len(cs))] {
		parts = append(parts, fmt.Sprintf("%s (code %s)", strconv.Quote(c.label), c.code))
	}
	return strings.Join(parts, ", ")
}

// editDistance is the Levenshtein distance between a and b in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
