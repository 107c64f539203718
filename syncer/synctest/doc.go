package synctest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Doc is a JSON-stat 2.0 dataset held as generic JSON, so that a test can
// change it the way a publisher revises a table: a figure changed, a row
// removed, a category or a dimension added, a dimension renamed, a label
// reworded. Value and status may be arrays (SSB) or objects keyed by flat
// index (Eurostat); every edit keeps the form it finds.
type Doc struct {
	m map[string]any
}

// ParseDoc reads a document.
func ParseDoc(b []byte) (*Doc, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("synctest: %w", err)
	}
	return &Doc{m: m}, nil
}

// Bytes writes the document as JSON.
func (d *Doc) Bytes() []byte {
	b, err := json.Marshal(d.m)
	if err != nil {
		// Only what ParseDoc read and the edits below put in is in m, all
		// of which marshals.
		panic(err)
	}
	return b
}

// Clone returns an independent copy.
func (d *Doc) Clone() *Doc {
	c, err := ParseDoc(d.Bytes())
	if err != nil {
		panic(err)
	}
	return c
}

// Set sets a top-level property, such as updated, or deletes it when v is
// nil.
func (d *Doc) Set(key string, v any) {
	if v == nil {
		delete(d.m, key)
		return
	}
	d.m[key] = v
}

// IDs returns the dimension ids in order.
func (d *Doc) IDs() []string {
	var out []string
	for _, v := range d.m["id"].([]any) {
		out = append(out, v.(string))
	}
	return out
}

func (d *Doc) sizes() []int {
	var out []int
	for _, v := range d.m["size"].([]any) {
		out = append(out, int(v.(float64)))
	}
	return out
}

func (d *Doc) setSizes(s []int) {
	a := make([]any, len(s))
	for i, v := range s {
		a[i] = float64(v)
	}
	d.m["size"] = a
}

func (d *Doc) dim(id string) map[string]any {
	dims := d.m["dimension"].(map[string]any)
	dm, ok := dims[id].(map[string]any)
	if !ok {
		panic(fmt.Sprintf("synctest: no dimension %q", id))
	}
	return dm
}

func (d *Doc) category(id string) map[string]any {
	return d.dim(id)["category"].(map[string]any)
}

// Codes returns the category codes of a dimension in index order.
func (d *Doc) Codes(id string) []string {
	idx := d.category(id)["index"]
	switch idx := idx.(type) {
	case []any:
		out := make([]string, len(idx))
		for i, v := range idx {
			out[i] = v.(string)
		}
		return out
	case map[string]any:
		out := make([]string, len(idx))
		for code, pos := range idx {
			out[int(pos.(float64))] = code
		}
		return out
	}
	panic(fmt.Sprintf("synctest: dimension %q has no index", id))
}

// Label returns the label of a category.
func (d *Doc) Label(dim, code string) string {
	l, _ := d.category(dim)["label"].(map[string]any)[code].(string)
	return l
}

// SetLabel rewords the label of a category.
func (d *Doc) SetLabel(dim, code, label string) {
	labels := d.category(dim)["label"].(map[string]any)
	if _, ok := labels[code]; !ok {
		panic(fmt.Sprintf("synctest: no category %q in %q", code, dim))
	}
	labels[code] = label
}

// RenameDimension gives a dimension another id, everywhere it is named.
func (d *Doc) RenameDimension(from, to string) {
	dims := d.m["dimension"].(map[string]any)
	dims[to] = dims[from]
	delete(dims, from)
	ids := d.m["id"].([]any)
	for i, v := range ids {
		if v == from {
			ids[i] = to
		}
	}
	if role, ok := d.m["role"].(map[string]any); ok {
		for _, list := range role {
			for i, v := range list.([]any) {
				if v == from {
					list.([]any)[i] = to
				}
			}
		}
	}
}

// AddDimension appends a dimension with one category. The flat index of
// every cell stays as it was, so no figure moves.
func (d *Doc) AddDimension(id, label, code, codeLabel string) {
	d.m["id"] = append(d.m["id"].([]any), id)
	d.setSizes(append(d.sizes(), 1))
	d.m["dimension"].(map[string]any)[id] = map[string]any{
		"label":    label,
		"category": map[string]any{"index": map[string]any{code: float64(0)}, "label": map[string]any{code: codeLabel}},
	}
}

// flat is the row-major index of the cell at the given codes.
func (d *Doc) flat(cell map[string]string) int {
	i := 0
	sizes := d.sizes()
	for k, id := range d.IDs() {
		pos := slices.Index(d.Codes(id), cell[id])
		if pos < 0 {
			panic(fmt.Sprintf("synctest: no category %q in %q", cell[id], id))
		}
		i = i*sizes[k] + pos
	}
	return i
}

// Cell names a cell by the code of every dimension.
type Cell map[string]string

// SetValue sets the figure of a cell and its status ("" for none); a nil
// value is a null.
func (d *Doc) SetValue(cell Cell, v *float64, status string) {
	i := d.flat(cell)
	d.setValue(i, v, status)
}

func (d *Doc) setValue(i int, v *float64, status string) {
	var jv any
	if v != nil {
		jv = *v
	}
	switch vals := d.m["value"].(type) {
	case []any:
		vals[i] = jv
	case map[string]any:
		vals[strconv.Itoa(i)] = jv
	}
	st := d.statusObject()
	if status == "" {
		delete(st, strconv.Itoa(i))
	} else {
		st[strconv.Itoa(i)] = status
	}
}

// RemoveCell removes a figure as a publisher withdraws it: from a sparse
// document the cell goes, in a dense one it becomes a null with the
// status given ("" for none).
func (d *Doc) RemoveCell(cell Cell, status string) {
	i := d.flat(cell)
	switch vals := d.m["value"].(type) {
	case []any:
		d.setValue(i, nil, status)
	case map[string]any:
		delete(vals, strconv.Itoa(i))
		delete(d.statusObject(), strconv.Itoa(i))
	}
}

// statusObject returns status as an object keyed by flat index, turning an
// absent status into one.
func (d *Doc) statusObject() map[string]any {
	st, ok := d.m["status"].(map[string]any)
	if !ok {
		st = map[string]any{}
		d.m["status"] = st
	}
	return st
}

// AddCategory appends a category to a dimension, as a new year is added to
// a table, and gives each new cell the figure fill returns (nil for a
// null, which a sparse document leaves out).
func (d *Doc) AddCategory(dim, code, label string, fill func(Cell) *float64) {
	ids := d.IDs()
	oldSizes := d.sizes()
	codes := map[string][]string{}
	for _, id := range ids {
		codes[id] = d.Codes(id)
	}
	pos := slices.Index(ids, dim)
	cat := d.category(dim)
	switch idx := cat["index"].(type) {
	case []any:
		cat["index"] = append(idx, code)
	case map[string]any:
		idx[code] = float64(len(idx))
	}
	if labels, ok := cat["label"].(map[string]any); ok {
		labels[code] = label
	}
	newSizes := slices.Clone(oldSizes)
	newSizes[pos]++
	d.setSizes(newSizes)

	n := 1
	for _, s := range newSizes {
		n *= s
	}
	oldValue, oldStatus := d.m["value"], d.statusObject()
	dense, isDense := oldValue.([]any)
	sparse, _ := oldValue.(map[string]any)
	newValue := make([]any, n)
	newSparse := map[string]any{}
	newStatus := map[string]any{}
	for i := range n {
		coords := coordsOf(i, newSizes)
		cell := Cell{}
		for k, id := range ids {
			if k == pos && coords[k] == oldSizes[k] {
				cell[id] = code
			} else {
				cell[id] = codes[id][coords[k]]
			}
		}
		var v any
		var st any
		if coords[pos] == oldSizes[pos] {
			if f := fill(cell); f != nil {
				v = *f
			}
		} else {
			old := flatOf(coords, oldSizes)
			key := strconv.Itoa(old)
			if isDense {
				v = dense[old]
			} else if sv, ok := sparse[key]; ok {
				v = sv
			}
			st = oldStatus[key]
		}
		key := strconv.Itoa(i)
		if isDense {
			newValue[i] = v
		} else if v != nil {
			newSparse[key] = v
		}
		if st != nil {
			newStatus[key] = st
		}
	}
	if isDense {
		d.m["value"] = newValue
	} else {
		d.m["value"] = newSparse
	}
	d.m["status"] = newStatus
}

func coordsOf(i int, sizes []int) []int {
	c := make([]int, len(sizes))
	for k := len(sizes) - 1; k >= 0; k-- {
		c[k] = i % sizes[k]
		i /= sizes[k]
	}
	return c
}

func flatOf(coords, sizes []int) int {
	i := 0
	for k, c := range coords {
		i = i*sizes[k] + c
	}
	return i
}

// selectCells returns the sub-table of the categories in sel (dimension id
// to codes; a dimension that is not in sel keeps every category), in the
// table's own order. A code the table does not have is an error.
func (d *Doc) selectCells(sel map[string][]string) (*Doc, error) {
	out := d.Clone()
	ids := d.IDs()
	sizes := d.sizes()
	keep := make([][]int, len(ids))
	for k, id := range ids {
		codes := d.Codes(id)
		want, ok := sel[id]
		if !ok || slices.Contains(want, "*") {
			for i := range codes {
				keep[k] = append(keep[k], i)
			}
			continue
		}
		for _, c := range want {
			if !slices.Contains(codes, c) {
				return nil, fmt.Errorf("dimension %s has no category %q", id, c)
			}
		}
		for i, c := range codes {
			if slices.Contains(want, c) {
				keep[k] = append(keep[k], i)
			}
		}
		cat := out.category(id)
		index := map[string]any{}
		labels := map[string]any{}
		oldLabels, _ := cat["label"].(map[string]any)
		for j, i := range keep[k] {
			index[codes[i]] = float64(j)
			if l, ok := oldLabels[codes[i]]; ok {
				labels[codes[i]] = l
			}
		}
		cat["index"] = index
		if oldLabels != nil {
			cat["label"] = labels
		}
		if units, ok := cat["unit"].(map[string]any); ok {
			for c := range units {
				if !slices.Contains(want, c) {
					delete(units, c)
				}
			}
		}
	}
	newSizes := make([]int, len(ids))
	n := 1
	for k := range ids {
		newSizes[k] = len(keep[k])
		n *= newSizes[k]
	}
	out.setSizes(newSizes)
	dense, isDense := d.m["value"].([]any)
	sparse, _ := d.m["value"].(map[string]any)
	status, _ := d.m["status"].(map[string]any)
	newDense := make([]any, n)
	newSparse := map[string]any{}
	newStatus := map[string]any{}
	for i := range n {
		coords := coordsOf(i, newSizes)
		old := make([]int, len(coords))
		for k, c := range coords {
			old[k] = keep[k][c]
		}
		o := flatOf(old, sizes)
		key, okey := strconv.Itoa(i), strconv.Itoa(o)
		if isDense {
			newDense[i] = dense[o]
		} else if v, ok := sparse[okey]; ok {
			newSparse[key] = v
		}
		if s, ok := status[okey]; ok {
			newStatus[key] = s
		}
	}
	if isDense {
		out.m["value"] = newDense
	} else {
		out.m["value"] = newSparse
	}
	delete(out.m, "status")
	if len(newStatus) > 0 {
		out.m["status"] = newStatus
	}
	return out, nil
}

// metadata is the document as PxWebApi's metadata endpoint gives it: every
// category, no figures.
func (d *Doc) metadata() *Doc {
	out := d.Clone()
	out.m["value"] = []any{}
	delete(out.m, "status")
	return out
}
