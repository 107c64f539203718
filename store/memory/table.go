package memory

import (
	"sort"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// table holds the observations of one release column-wise. Each row is a
// handful of small integers indexing tables of the distinct strings,
// breakdowns and flag lists the rows use, so that an id, a period or a flag
// list shared by thousands of observations is held once. The bundled
// release takes 1.7 MB of heap read from its snapshot (3 MB from its JSON),
// where as a []store.Observation with its keys it took 10.6 MB; and a
// snapshot is read into a table with a few allocations in all.
type table struct {
	// text holds the distinct strings of the rows, breakdowns, flags and
	// revisions one after another, string i from offs[i] to offs[i+1];
	// string 0 is "". One string and an array of offsets, rather than a
	// []string, hold no pointer per string for the garbage collector to
	// write or scan.
	text       string
	offs       []uint32
	breakdowns []store.Breakdown // distinct breakdowns
	// flagSets are the distinct flag lists. Each has cap == len, so that a
	// caller appending to an observation's Flags copies them rather than
	// writing into a list other observations share; a nil list is kept apart
	// from an empty one, since the API shows them as null and [].
	flagSets  [][]string
	values    []float64 // the values of the rows that have one
	revisions []store.Revision
	rows      []row
}

// row is one observation. The string fields are string numbers (see str);
// value and revision are -1 when the observation has none. A row holds no
// pointer, so the garbage collector never scans the rows.
type row struct {
	offence, region, period, measure, source uint32
	breakdown                                uint32
	valueText, confidence, locator           uint32
	flags                                    uint32
	value, revision                          int32
}

// str returns string i.
func (t *table) str(i uint32) string { return t.text[t.offs[i]:t.offs[i+1]] }

// strings is the number of distinct strings.
func (t *table) strings() int { return len(t.offs) - 1 }

// len is the number of observations.
func (t *table) len() int { return len(t.rows) }

// observation returns observation i. It allocates nothing: its strings,
// flags, value and revision are the table's own, shared with every caller,
// as the observations of a []store.Observation would be.
func (t *table) observation(i int) store.Observation {
	r := &t.rows[i]
	o := store.Observation{
		Offence:    t.str(r.offence),
		Region:     t.str(r.region),
		Period:     t.str(r.period),
		Measure:    t.str(r.measure),
		Breakdown:  t.breakdowns[r.breakdown],
		ValueText:  t.str(r.valueText),
		Flags:      t.flagSets[r.flags],
		Source:     t.str(r.source),
		Confidence: t.str(r.confidence),
		Locator:    t.str(r.locator),
	}
	if r.value >= 0 {
		o.Value = &t.values[r.value]
	}
	if r.revision >= 0 {
		o.Revision = &t.revisions[r.revision]
	}
	return o
}

// observations returns every observation, in row order.
func (t *table) observations() []store.Observation {
	out := make([]store.Observation, t.len())
	for i := range out {
		out[i] = t.observation(i)
	}
	return out
}

// builder interns the parts of observations into a new table.
type builder struct {
	t          *table
	list       []string // the distinct strings, joined into t.text by finish
	strs       map[string]uint32
	breakdowns map[store.Breakdown]uint32
	flagSets   map[string]uint32 // by the flags joined with flagSep, after a mark telling nil from empty
}

// flagSep joins flags into a map key; no known flag contains it.
const flagSep = "\x1f"

func newBuilder(n int) *builder {
	b := &builder{
		t:          &table{rows: make([]row, 0, n)},
		strs:       map[string]uint32{},
		breakdowns: map[store.Breakdown]uint32{},
		flagSets:   map[string]uint32{},
	}
	b.str("")
	return b
}

func (b *builder) str(s string) uint32 {
	if i, ok := b.strs[s]; ok {
		return i
	}
	i := uint32(len(b.list))
	b.list = append(b.list, s)
	b.strs[s] = i
	return i
}

func (b *builder) breakdown(bd store.Breakdown) uint32 {
	if i, ok := b.breakdowns[bd]; ok {
		return i
	}
	i := uint32(len(b.t.breakdowns))
	b.t.breakdowns = append(b.t.breakdowns, bd)
	// Its strings join the table's, which a snapshot writes them as.
	for _, s := range []string{bd.Sex, bd.Age, bd.Citizenship, bd.RepatriationCountry} {
		b.str(s)
	}
	b.breakdowns[bd] = i
	return i
}

func (b *builder) flags(fs []string) uint32 {
	k := "nil"
	if fs != nil {
		k = "[" + strings.Join(fs, flagSep)
	}
	if i, ok := b.flagSets[k]; ok {
		return i
	}
	i := uint32(len(b.t.flagSets))
	var own []string
	if fs != nil {
		own = make([]string, len(fs))
		copy(own, fs)
		for _, f := range fs {
			b.str(f)
		}
	}
	b.t.flagSets = append(b.t.flagSets, own)
	b.flagSets[k] = i
	return i
}

// add appends o, copying everything it points to, so that the caller's
// dataset and the table share nothing a caller could change.
func (b *builder) add(o store.Observation) {
	r := row{
		offence: b.str(o.Offence), region: b.str(o.Region), period: b.str(o.Period), measure: b.str(o.Measure),
		source: b.str(o.Source), breakdown: b.breakdown(o.Breakdown),
		valueText: b.str(o.ValueText), confidence: b.str(o.Confidence), locator: b.str(o.Locator),
		flags: b.flags(o.Flags), value: -1, revision: -1,
	}
	if o.Value != nil {
		r.value = int32(len(b.t.values))
		b.t.values = append(b.t.values, *o.Value)
	}
	if o.Revision != nil {
		rev := *o.Revision
		b.str(rev.Release)
		b.str(rev.ValueText)
		if rev.Value != nil {
			v := *rev.Value
			rev.Value = &v
		}
		r.revision = int32(len(b.t.revisions))
		b.t.revisions = append(b.t.revisions, rev)
	}
	b.t.rows = append(b.t.rows, r)
}

// finish joins the strings into the table's text and returns the table.
func (b *builder) finish() *table {
	var text strings.Builder
	b.t.offs = make([]uint32, len(b.list)+1)
	for i, s := range b.list {
		text.WriteString(s)
		b.t.offs[i+1] = uint32(text.Len())
	}
	b.t.text = text.String()
	return b.t
}

// newTable copies obs into a table, in the same order.
func newTable(obs []store.Observation) *table {
	b := newBuilder(len(obs))
	for _, o := range obs {
		b.add(o)
	}
	return b.finish()
}

// sort puts the rows into Key order, the order every list endpoint pages
// through. Keys are computed once: computing them inside the comparison
// would dominate the time taken.
func (t *table) sort() {
	keys := make([]string, t.len())
	sorted := true
	for i := range keys {
		keys[i] = t.observation(i).Key()
		if i > 0 && keys[i] < keys[i-1] {
			sorted = false
		}
	}
	if sorted {
		return
	}
	perm := make([]int, t.len())
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(i, j int) bool { return keys[perm[i]] < keys[perm[j]] })
	rows := make([]row, len(t.rows))
	for i, p := range perm {
		rows[i] = t.rows[p]
	}
	t.rows = rows
}

// posting is a string of one field and the positions of the rows that have
// it, ascending.
type posting struct {
	ref  uint32
	rows []int32
}

// index lists the rows by the string that field picks out. The lists are
// cut from one array, counted first, so that indexing a release allocates
// once per field rather than once per append.
func (t *table) index(field func(*row) uint32) map[string]posting {
	counts := make([]int32, t.strings())
	for i := range t.rows {
		counts[field(&t.rows[i])]++
	}
	// ends[ref] is where the list of ref ends in all; filling from the
	// back leaves each list ascending once it starts at its own start.
	ends := counts
	sum, distinct := int32(0), 0
	for ref, n := range counts {
		if n > 0 {
			distinct++
		}
		sum += n
		ends[ref] = sum
	}
	all := make([]int32, len(t.rows))
	for i := len(t.rows) - 1; i >= 0; i-- {
		ref := field(&t.rows[i])
		ends[ref]--
		all[ends[ref]] = int32(i)
	}
	// Now ends[ref] is the start of ref's list, which ends where the next
	// one starts.
	lists := make(map[string]posting, distinct)
	for ref := range ends {
		next := int32(len(all))
		if ref+1 < len(ends) {
			next = ends[ref+1]
		}
		if next > ends[ref] {
			lists[t.str(uint32(ref))] = posting{uint32(ref), all[ends[ref]:next:next]}
		}
	}
	return lists
}
