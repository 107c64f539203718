package jsonstat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Dataset is a JSON-stat 2.0 dataset as Decode read it. Every invariant of
// the specification holds: one dimension per id, each with as many
// categories as its size, and one value position per cell. Values and
// statuses are read through Len, Value, Status and Cells, because a sparse
// document (value as an object) is kept sparse.
type Dataset struct {
	Name      string                // the name passed to Decode, used in errors and locators
	Version   string                // always "2.0"
	Class     string                // always "dataset"
	Label     string                // optional
	Source    string                // optional
	Updated   string                // optional, as published (ISO 8601)
	Href      string                // optional
	Note      []string              // optional
	ID        []string              // dimension ids in row-major order
	Size      []int                 // categories per dimension, parallel to ID
	Role      Role                  // optional
	Dimension map[string]*Dimension // by dimension id
	Extension json.RawMessage       // the extension object as published, nil when absent
	Link      json.RawMessage       // the link object as published, nil when absent

	n         int              // number of cells: the product of Size
	sparse    bool             // value was an object keyed by flat index
	values    []float64        // dense values, when !sparse
	null      []bool           // dense null markers, when !sparse
	svalues   map[int]*float64 // sparse values, when sparse (a nil entry is an explicit null)
	statusAll string           // a status for every cell (status as a string or a one-element array)
	statuses  []string         // per cell, when status is an array
	sstatus   map[int]string   // per cell, when status is an object
	order     []int            // the cells to visit when sparse, ascending
}

// Role lists which dimensions hold time, geography and metrics.
type Role struct {
	Time   []string `json:"time,omitempty"`
	Geo    []string `json:"geo,omitempty"`
	Metric []string `json:"metric,omitempty"`
}

// Dimension is one dimension of a dataset.
type Dimension struct {
	ID        string                     // the dimension id, as listed in Dataset.ID
	Label     string                     // optional
	Codes     []string                   // category ids in index order
	Labels    map[string]string          // category labels by code; optional
	Unit      map[string]json.RawMessage // category units by code, as published; optional
	Child     map[string][]string        // hierarchy: parent code to child codes; optional
	Note      []string                   // optional
	Extension json.RawMessage            // as published, nil when absent

	index map[string]int
}

// Index returns the position of a category code in the dimension.
func (d *Dimension) Index(code string) (int, bool) {
	i, ok := d.index[code]
	return i, ok
}

// CategoryLabel returns the label of a category, or its code when the
// document gives none.
func (d *Dimension) CategoryLabel(code string) string {
	if l, ok := d.Labels[code]; ok {
		return l
	}
	return code
}

// maxCells bounds the product of the sizes. A sparse document can describe
// a cube far larger than itself; the bound keeps flat indexes well inside
// the range of int on every platform that runs the ingest.
const maxCells = 1 << 40

// The properties the JSON-stat 2.0 specification defines for a dataset, a
// dimension and a category. Anything else is rejected, because a strict
// reader that silently ignores a misspelt "staus" would lose data.
var (
	datasetProps   = []string{"version", "class", "href", "label", "note", "source", "updated", "error", "extension", "link", "id", "size", "role", "dimension", "value", "status"}
	dimensionProps = []string{"category", "label", "class", "href", "link", "note", "extension"}
	categoryProps  = []string{"index", "label", "child", "coordinates", "unit", "note"}
)

// Decode reads one JSON-stat 2.0 dataset (class "dataset") from r. name is
// the file name or URL that error messages start with.
//
// Every problem is an *Error that wraps store.ErrInvalid and names the JSON
// path or the byte offset: malformed or truncated JSON, duplicate keys,
// an unknown property, len(id) != len(size), a dimension whose category
// count differs from its size, a duplicate or out-of-range index, a value
// array whose length is not the product of the sizes, and a value that is
// neither a number nor null. A read error from r is returned wrapped.
func Decode(r io.Reader, name string) (*Dataset, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	return decode(data, name, false)
}

// DecodeMetadata reads a metadata document: a JSON-stat 2.0 dataset that
// describes every dimension and category but carries no figures, as
// PxWebApi v2 answers /tables/{id}/metadata?outputFormat=json-stat2 (its
// value is an empty array whatever the sizes). It is checked as Decode
// checks a dataset, except that an empty value array is accepted; the
// dataset it returns has no cells to visit. Errors are as Decode's.
func DecodeMetadata(r io.Reader, name string) (*Dataset, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	return decode(data, name, true)
}

func decode(data []byte, name string, metadata bool) (*Dataset, error) {
	if err := checkSyntax(data, name); err != nil {
		return nil, err
	}
	p := parser{name: name, metadata: metadata}
	ds := p.dataset(data)
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return ds, nil
}

// parser interprets a syntactically valid document, collecting errors.
type parser struct {
	name     string
	metadata bool // an empty value array is allowed: the document describes, it does not count
	errs     errList
}

func (p *parser) fail(path, format string, a ...any) {
	p.errs.add(&Error{File: p.name, Path: path, Msg: fmt.Sprintf(format, a...)})
}

// kindOf names the JSON type of a raw value for error messages.
func kindOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// show renders a raw value for an error message, shortened.
func show(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

func (p *parser) object(raw json.RawMessage, path string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if kindOf(raw) != "an object" || json.Unmarshal(raw, &m) != nil {
		p.fail(path, "want an object, got %s", kindOf(raw))
		return nil, false
	}
	return m, true
}

func (p *parser) array(raw json.RawMessage, path string) ([]json.RawMessage, bool) {
	var a []json.RawMessage
	if kindOf(raw) != "an array" || json.Unmarshal(raw, &a) != nil {
		p.fail(path, "want an array, got %s", kindOf(raw))
		return nil, false
	}
	return a, true
}

func (p *parser) str(raw json.RawMessage, path string) (string, bool) {
	var s string
	if kindOf(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		p.fail(path, "want a string, got %s %s", kindOf(raw), show(raw))
		return "", false
	}
	return s, true
}

func (p *parser) strs(raw json.RawMessage, path string) ([]string, bool) {
	a, ok := p.array(raw, path)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(a))
	for i, v := range a {
		s, ok := p.str(v, fmt.Sprintf("%s[%d]", path, i))
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// integer reads a non-negative JSON integer written without fraction or
// exponent, as the specification's size and index require.
func (p *parser) integer(raw json.RawMessage, path string) (int, bool) {
	s := string(bytes.TrimSpace(raw))
	n, err := strconv.Atoi(s)
	if kindOf(raw) != "a number" || err != nil || n < 0 {
		p.fail(path, "%s is not a non-negative integer", show(raw))
		return 0, false
	}
	return n, true
}

// number reads a value: a JSON number, or null (nil).
func (p *parser) number(raw json.RawMessage, path string) (*float64, bool) {
	switch kindOf(raw) {
	case "null":
		return nil, true
	case "a number":
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
		if err != nil || math.IsInf(f, 0) {
			p.fail(path, "%s is out of the range of a float64", show(raw))
			return nil, false
		}
		return &f, true
	}
	p.fail(path, "%s is not a number or null", show(raw))
	return nil, false
}

// flatIndex reads an object key that names a cell: a canonical decimal
// integer below n.
func (p *parser) flatIndex(key string, n int, path string) (int, bool) {
	i, err := strconv.Atoi(key)
	if err != nil || i < 0 || strconv.Itoa(i) != key {
		p.fail(path, "key %q is not a flat value index", key)
		return 0, false
	}
	if i >= n {
		p.fail(path, "key %q is out of range: the dataset has %d cells", key, n)
		return 0, false
	}
	return i, true
}

func (p *parser) only(m map[string]json.RawMessage, allowed []string, path string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			p.fail(path+member(path == "", k), "unknown property (JSON-stat 2.0 allows %s)", strings.Join(allowed, ", "))
		}
	}
}

func (p *parser) dataset(data []byte) *Dataset {
	top, ok := p.object(data, "")
	if !ok {
		return nil
	}
	p.only(top, datasetProps, "")
	ds := &Dataset{Name: p.name, Dimension: map[string]*Dimension{}}

	for _, req := range []string{"version", "class", "id", "size", "dimension", "value"} {
		if _, ok := top[req]; !ok {
			p.fail(req, "required property is missing")
		}
	}
	if raw, ok := top["version"]; ok {
		if v, ok := p.str(raw, "version"); ok && v != "2.0" {
			p.fail("version", "%q is not supported: want \"2.0\"", v)
		}
		ds.Version = "2.0"
	}
	if raw, ok := top["class"]; ok {
		if v, ok := p.str(raw, "class"); ok && v != "dataset" {
			p.fail("class", "%q is not supported: want \"dataset\"", v)
		}
		ds.Class = "dataset"
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"label", &ds.Label}, {"source", &ds.Source}, {"updated", &ds.Updated}, {"href", &ds.Href}} {
		if raw, ok := top[f.key]; ok {
			*f.dst, _ = p.str(raw, f.key)
		}
	}
	if raw, ok := top["note"]; ok {
		ds.Note, _ = p.strs(raw, "note")
	}
	if raw, ok := top["extension"]; ok {
		if _, ok := p.object(raw, "extension"); ok {
			ds.Extension = raw
		}
	}
	if raw, ok := top["link"]; ok {
		if _, ok := p.object(raw, "link"); ok {
			ds.Link = raw
		}
	}
	if raw, ok := top["error"]; ok {
		// Some producers send an empty error list beside a good dataset;
		// anything in it means the dataset is not to be trusted.
		if a, ok := p.array(raw, "error"); ok && len(a) > 0 {
			p.fail("error", "the producer reports errors: %s", show(raw))
		}
	}

	if raw, ok := top["id"]; ok {
		ds.ID, _ = p.strs(raw, "id")
		seen := map[string]int{}
		for i, id := range ds.ID {
			if id == "" {
				p.fail(fmt.Sprintf("id[%d]", i), "empty dimension id")
			}
			if j, dup := seen[id]; dup {
				p.fail(fmt.Sprintf("id[%d]", i), "dimension id %q repeats id[%d]", id, j)
			}
			seen[id] = i
		}
	}
	if raw, ok := top["size"]; ok {
		if a, ok := p.array(raw, "size"); ok {
			for i, v := range a {
				// A size of 0 is allowed: it is how Encode writes a query
				// that matched nothing, and it means an empty value list.
				n, _ := p.integer(v, fmt.Sprintf("size[%d]", i))
				ds.Size = append(ds.Size, n)
			}
		}
	}
	if p.errs.err() != nil {
		return nil
	}
	if len(ds.ID) != len(ds.Size) {
		p.fail("size", "%d sizes for %d dimension ids: len(id) must equal len(size)", len(ds.Size), len(ds.ID))
		return nil
	}
	ds.n = 1
	for _, s := range ds.Size {
		if s > 0 && ds.n > maxCells/s {
			p.fail("size", "the product of the sizes exceeds %d cells", int64(maxCells))
			return nil
		}
		ds.n *= s
	}

	if dims, ok := p.object(top["dimension"], "dimension"); ok {
		for i, id := range ds.ID {
			raw, ok := dims[id]
			if !ok {
				p.fail("dimension"+member(false, id), "missing: id[%d] names it", i)
				continue
			}
			if d := p.dimension(raw, id, ds.Size[i], i); d != nil {
				ds.Dimension[id] = d
			}
		}
		keys := make([]string, 0, len(dims))
		for k := range dims {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.Contains(ds.ID, k) {
				p.fail("dimension"+member(false, k), "not listed in id")
			}
		}
	}
	if raw, ok := top["role"]; ok {
		p.role(raw, ds)
	}
	p.values(top["value"], ds)
	if raw, ok := top["status"]; ok {
		p.status(raw, ds)
	}
	if ds.sparse {
		seen := map[int]bool{}
		for i := range ds.svalues {
			seen[i] = true
		}
		for i := range ds.sstatus {
			seen[i] = true
		}
		for i, s := range ds.statuses {
			if s != "" {
				seen[i] = true
			}
		}
		for i := range seen {
			ds.order = append(ds.order, i)
		}
		slices.Sort(ds.order)
	}
	return ds
}

func (p *parser) dimension(raw json.RawMessage, id string, size, pos int) *Dimension {
	path := "dimension" + member(false, id)
	m, ok := p.object(raw, path)
	if !ok {
		return nil
	}
	p.only(m, dimensionProps, path)
	d := &Dimension{ID: id, index: map[string]int{}}
	if raw, ok := m["label"]; ok {
		d.Label, _ = p.str(raw, path+".label")
	}
	if raw, ok := m["class"]; ok {
		if c, ok := p.str(raw, path+".class"); ok && c != "dimension" {
			p.fail(path+".class", "%q: want \"dimension\"", c)
		}
	}
	if raw, ok := m["note"]; ok {
		d.Note, _ = p.strs(raw, path+".note")
	}
	if raw, ok := m["extension"]; ok {
		if _, ok := p.object(raw, path+".extension"); ok {
			d.Extension = raw
		}
	}
	craw, ok := m["category"]
	if !ok {
		p.fail(path+".category", "required property is missing")
		return nil
	}
	cpath := path + ".category"
	cat, ok := p.object(craw, cpath)
	if !ok {
		return nil
	}
	p.only(cat, categoryProps, cpath)

	if raw, ok := cat["label"]; ok {
		if lm, ok := p.object(raw, cpath+".label"); ok {
			d.Labels = make(map[string]string, len(lm))
			for _, code := range sortedKeys(lm) {
				lraw := lm[code]
				if l, ok := p.str(lraw, cpath+".label"+member(false, code)); ok {
					d.Labels[code] = l
				}
			}
		}
	}
	ipath := cpath + ".index"
	if raw, ok := cat["index"]; ok {
		switch kindOf(raw) {
		case "an array":
			codes, ok := p.strs(raw, ipath)
			if !ok {
				return nil
			}
			for i, c := range codes {
				if j, dup := d.index[c]; dup {
					p.fail(fmt.Sprintf("%s[%d]", ipath, i), "duplicate category %q (also at index %d)", c, j)
					continue
				}
				d.index[c] = i
			}
			d.Codes = codes
		case "an object":
			im, _ := p.object(raw, ipath)
			d.Codes = make([]string, len(im))
			byPos := make(map[int]string, len(im))
			codes := make([]string, 0, len(im))
			for c := range im {
				codes = append(codes, c)
			}
			slices.Sort(codes)
			for _, c := range codes {
				cp := ipath + member(false, c)
				i, ok := p.integer(im[c], cp)
				if !ok {
					continue
				}
				if i >= len(im) || i >= size {
					p.fail(cp, "index %d is out of range: the dimension has %d categories (size[%d] is %d)", i, len(im), pos, size)
					continue
				}
				if other, dup := byPos[i]; dup {
					p.fail(cp, "duplicate index %d (also category %q)", i, other)
					continue
				}
				byPos[i] = c
				d.index[c] = i
				d.Codes[i] = c
			}
		default:
			p.fail(ipath, "want an object or an array, got %s", kindOf(raw))
			return nil
		}
	} else {
		// The specification lets a dimension with a single category omit
		// the index and give that category only by its label.
		if len(d.Labels) != 1 {
			p.fail(ipath, "missing: an index may be omitted only when category.label has exactly one category (it has %d)", len(d.Labels))
			return nil
		}
		for c := range d.Labels {
			d.Codes = []string{c}
			d.index[c] = 0
		}
	}
	if len(d.Codes) != size {
		p.fail(ipath, "%d categories, but size[%d] is %d", len(d.Codes), pos, size)
		return nil
	}
	if len(d.index) != len(d.Codes) {
		// Duplicates were reported above.
		return nil
	}
	codes := make([]string, 0, len(d.Labels))
	for c := range d.Labels {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		if _, ok := d.index[c]; !ok {
			p.fail(cpath+".label"+member(false, c), "label for a category that is not in the index")
		}
	}
	if raw, ok := cat["unit"]; ok {
		if um, ok := p.object(raw, cpath+".unit"); ok {
			d.Unit = um
			for _, c := range sortedKeys(um) {
				u := um[c]
				up := cpath + ".unit" + member(false, c)
				if _, ok := d.index[c]; !ok {
					p.fail(up, "unit for a category that is not in the index")
				}
				p.object(u, up)
			}
		}
	}
	if raw, ok := cat["child"]; ok {
		if cm, ok := p.object(raw, cpath+".child"); ok {
			d.Child = make(map[string][]string, len(cm))
			for _, parent := range sortedKeys(cm) {
				kids := cm[parent]
				kp := cpath + ".child" + member(false, parent)
				if _, ok := d.index[parent]; !ok {
					p.fail(kp, "children of a category that is not in the index")
				}
				ks, ok := p.strs(kids, kp)
				if !ok {
					continue
				}
				for i, k := range ks {
					if _, ok := d.index[k]; !ok {
						p.fail(fmt.Sprintf("%s[%d]", kp, i), "child %q is not in the index", k)
					}
				}
				d.Child[parent] = ks
			}
		}
	}
	if raw, ok := cat["coordinates"]; ok {
		p.object(raw, cpath+".coordinates")
	}
	if raw, ok := cat["note"]; ok {
		p.object(raw, cpath+".note")
	}
	return d
}

func (p *parser) role(raw json.RawMessage, ds *Dataset) {
	m, ok := p.object(raw, "role")
	if !ok {
		return
	}
	p.only(m, []string{"time", "geo", "metric"}, "role")
	for _, f := range []struct {
		key string
		dst *[]string
	}{{"time", &ds.Role.Time}, {"geo", &ds.Role.Geo}, {"metric", &ds.Role.Metric}} {
		key, dst := f.key, f.dst
		r, ok := m[key]
		if !ok {
			continue
		}
		ids, ok := p.strs(r, "role."+key)
		if !ok {
			continue
		}
		for i, id := range ids {
			if !slices.Contains(ds.ID, id) {
				p.fail(fmt.Sprintf("role.%s[%d]", key, i), "%q is not a dimension id", id)
			}
		}
		*dst = ids
	}
}

func (p *parser) values(raw json.RawMessage, ds *Dataset) {
	switch kindOf(raw) {
	case "an array":
		a, _ := p.array(raw, "value")
		if p.metadata && len(a) == 0 {
			// A metadata document: no cell has a value, and none is visited.
			ds.sparse = true
			ds.svalues = map[int]*float64{}
			return
		}
		if len(a) != ds.n {
			p.fail("value", "%d values, but the sizes %v multiply to %d", len(a), ds.Size, ds.n)
			return
		}
		ds.values = make([]float64, len(a))
		ds.null = make([]bool, len(a))
		for i, v := range a {
			f, ok := p.number(v, fmt.Sprintf("value[%d]", i))
			if !ok {
				if p.errs.full() {
					return
				}
				continue
			}
			if f == nil {
				ds.null[i] = true
			} else {
				ds.values[i] = *f
			}
		}
	case "an object":
		m, _ := p.object(raw, "value")
		ds.sparse = true
		ds.svalues = make(map[int]*float64, len(m))
		for _, k := range sortedKeys(m) {
			path := fmt.Sprintf("value[%q]", k)
			i, ok := p.flatIndex(k, ds.n, path)
			if !ok {
				continue
			}
			if f, ok := p.number(m[k], path); ok {
				ds.svalues[i] = f
			}
		}
	default:
		p.fail("value", "want an array or an object keyed by flat index, got %s", kindOf(raw))
	}
}

func (p *parser) status(raw json.RawMessage, ds *Dataset) {
	switch kindOf(raw) {
	case "a string":
		ds.statusAll, _ = p.str(raw, "status")
	case "an array":
		a, _ := p.array(raw, "status")
		if len(a) == 1 {
			// A one-element array applies to every cell, as JSON-stat
			// clients read it.
			if kindOf(a[0]) != "null" {
				ds.statusAll, _ = p.str(a[0], "status[0]")
			}
			return
		}
		if len(a) != ds.n {
			p.fail("status", "%d statuses, but the dataset has %d cells (want %d or 1)", len(a), ds.n, ds.n)
			return
		}
		ds.statuses = make([]string, len(a))
		for i, v := range a {
			if kindOf(v) == "null" {
				continue
			}
			ds.statuses[i], _ = p.str(v, fmt.Sprintf("status[%d]", i))
		}
	case "an object":
		m, _ := p.object(raw, "status")
		ds.sstatus = make(map[int]string, len(m))
		for _, k := range sortedKeys(m) {
			path := fmt.Sprintf("status[%q]", k)
			i, ok := p.flatIndex(k, ds.n, path)
			if !ok || kindOf(m[k]) == "null" {
				continue
			}
			if s, ok := p.str(m[k], path); ok {
				ds.sstatus[i] = s
			}
		}
	default:
		p.fail("status", "want a string, an array or an object keyed by flat index, got %s", kindOf(raw))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
