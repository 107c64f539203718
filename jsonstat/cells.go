package jsonstat

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
)

// Cell is one position of the data cube with its category codes.
type Cell struct {
	Index  int               // flat, row-major index into value
	Codes  map[string]string // category code by dimension id
	Value  *float64          // nil when the value is null or absent
	Status string            // "" when the cell has no status
}

// Len returns the number of cells: the product of the sizes.
func (ds *Dataset) Len() int { return ds.n }

// Sparse reports whether the document gave value as an object keyed by
// flat index rather than as an array.
func (ds *Dataset) Sparse() bool { return ds.sparse }

// Value returns the value of cell i, or nil when it is null or absent.
func (ds *Dataset) Value(i int) *float64 {
	if ds.sparse {
		if v := ds.svalues[i]; v != nil {
			f := *v
			return &f
		}
		return nil
	}
	if i < 0 || i >= len(ds.values) || ds.null[i] {
		return nil
	}
	f := ds.values[i]
	return &f
}

// Status returns the status of cell i, or "" when it has none.
func (ds *Dataset) Status(i int) string {
	switch {
	case ds.statuses != nil:
		if i >= 0 && i < len(ds.statuses) {
			return ds.statuses[i]
		}
		return ""
	case ds.sstatus != nil:
		return ds.sstatus[i]
	}
	return ds.statusAll
}

// Coords returns the category position of cell i in every dimension, in
// the order of ID.
func (ds *Dataset) Coords(i int) []int {
	c := make([]int, len(ds.Size))
	for d := len(ds.Size) - 1; d >= 0; d-- {
		c[d] = i % ds.Size[d]
		i /= ds.Size[d]
	}
	return c
}

// FlatIndex returns the row-major index of the cell at the given category
// positions, the inverse of Coords.
func (ds *Dataset) FlatIndex(coords []int) int {
	i := 0
	for d, c := range coords {
		i = i*ds.Size[d] + c
	}
	return i
}

// Cell returns cell i.
func (ds *Dataset) Cell(i int) Cell {
	codes := make(map[string]string, len(ds.ID))
	for d, c := range ds.Coords(i) {
		codes[ds.ID[d]] = ds.Dimension[ds.ID[d]].Codes[c]
	}
	return Cell{Index: i, Codes: codes, Value: ds.Value(i), Status: ds.Status(i)}
}

// Cells yields the cells in row-major order: every cell of a dense
// document, and for a sparse one only the cells that have a value (or
// null) or a status of their own. Decode has validated everything already,
// so iteration cannot fail.
func (ds *Dataset) Cells() iter.Seq[Cell] {
	return func(yield func(Cell) bool) {
		if ds.sparse {
			for _, i := range ds.order {
				if !yield(ds.Cell(i)) {
					return
				}
			}
			return
		}
		for i := range ds.n {
			if !yield(ds.Cell(i)) {
				return
			}
		}
	}
}

// describe renders a cell's codes in dimension order, as locators and error
// messages show them: Tid=2013, LovbruddKrim=1AB.
func (ds *Dataset) describe(i int) string { return ds.describeQuoted(i, nil) }

// describeQuoted is describe with the label of the categories in quote
// (dimension id to code to label) after their code: LovbruddKrim=1AB
// "Kjøp av seksuelle tjenester". The label is quoted as Go quotes strings,
// so that a label with a comma or a quote cannot be misread.
func (ds *Dataset) describeQuoted(i int, quote map[string]map[string]string) string {
	var b strings.Builder
	for d, c := range ds.Coords(i) {
		if d > 0 {
			b.WriteString(", ")
		}
		id := ds.ID[d]
		code := ds.Dimension[id].Codes[c]
		fmt.Fprintf(&b, "%s=%s", id, code)
		if l, ok := quote[id][code]; ok {
			fmt.Fprintf(&b, " %s", strconv.Quote(l))
		}
	}
	return b.String()
}
