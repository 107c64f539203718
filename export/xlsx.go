package export

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/krimstat/krimstat/store"
)

// XLSXMaxRows is the most rows a data sheet holds: Excel's 1,048,576 rows
// less the header.
const XLSXMaxRows = 1<<20 - 1

// ErrTooLarge means a selection has more rows than a format can hold.
var ErrTooLarge = errors.New("too large")

// WriteXLSX writes rows as an Excel workbook in n's language with three
// sheets: the data (one row per observation, header of Columns frozen,
// numbers as numbers, period_start as a date, periods as text, an empty
// value cell for a figure given as text), the sources of those rows, and
// notes (the release, each of notes, such as the query the file answers,
// the caveats, the flags with their meanings and counts, and what each
// column holds). Sheet names are translated (nb: data, kilder, merknader);
// column names are the same machine names in every language so that
// scripts need not know which.
//
// Rows are streamed to the sheet (excelize spills to a temporary file past
// 16 MiB), then the workbook is zipped straight to w, so memory stays
// bounded. w receives nothing until every row has been read: an error of
// rows, or one wrapping ErrTooLarge after XLSXMaxRows rows, leaves w
// untouched, and the caller can still answer with a problem. It returns the
// first error of rows or of w.
func WriteXLSX(w io.Writer, n *Names, rows iter.Seq2[Row, error], notes ...string) error {
	if err := writeXLSX(w, n, rows, notes); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}

func writeXLSX(w io.Writer, n *Names, rows iter.Seq2[Row, error], notes []string) error {
	t := textsFor(n.Lang())
	f := excelize.NewFile()
	// Close removes the stream writers' temporary files.
	defer f.Close()
	if err := f.SetSheetName("Sheet1", t.dataSheet); err != nil {
		return err
	}
	for _, name := range []string{t.sourcesSheet, t.notesSheet} {
		if _, err := f.NewSheet(name); err != nil {
			return err
		}
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	// ISO dates read the same in every locale.
	isoDate := "yyyy-mm-dd"
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: &isoDate})
	if err != nil {
		return err
	}

	tl, err := writeDataSheet(f, t.dataSheet, rows, bold, date)
	if err != nil {
		return err
	}
	if err := writeSourcesSheet(f, t.sourcesSheet, n, tl, bold); err != nil {
		return err
	}
	if err := writeNotesSheet(f, t, n, tl, notes, bold); err != nil {
		return err
	}
	// No document properties: excelize writes them in the default XML
	// namespace, which ExcelJS (and so tools built on it) cannot read.

	// excelize zips the workbook into a buffer before it copies it to w,
	// which would hold the whole file; its zip writer hook zips straight
	// to w instead, and the buffer stays empty. (The buffer is also where
	// excelize would mark entries over 4 GiB as zip64 for Excel; a sheet
	// within XLSXMaxRows of these rows stays far below that.)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	_, err = f.WriteTo(io.Discard)
	return err
}

// releaseDate is the date (YYYY-MM-DD, UTC) of a release's creation time,
// or the time as stored when it is not RFC 3339.
func releaseDate(rel store.Release) string {
	t, err := time.Parse(time.RFC3339, rel.Created)
	if err != nil {
		return rel.Created
	}
	return t.UTC().Format(time.DateOnly)
}

// writeDataSheet streams rows to the data sheet and returns their tally
// for the other sheets.
func writeDataSheet(f *excelize.File, sheet string, rows iter.Seq2[Row, error], bold, date int) (*tally, error) {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	// Widths and panes must be set before the first row.
	for i, c := range Columns {
		width := 14.0
		switch c {
		case "offence_name", "region_name", "measure_name", "source_title", "source_publisher", "source_url", "locator":
			width = 36
		case "value", "confidence", "sex", "age":
			width = 10
		}
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return nil, err
	}
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = excelize.Cell{StyleID: bold, Value: c}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return nil, err
	}
	valueColumn := slices.Index(Columns, "value")
	periodStartColumn := slices.Index(Columns, "period_start")
	tl := newTally()
	cells := make([]any, len(Columns))
	line := 1
	for r, err := range rows {
		if err != nil {
			return nil, err
		}
		if line > XLSXMaxRows {
			return nil, fmt.Errorf("more than %d rows: %w", XLSXMaxRows, ErrTooLarge)
		}
		line++
		for i, v := range r.Record() {
			cells[i] = v
		}
		// Numbers as numbers; a figure given as text leaves its cell empty
		// (value_text beside it says why), never zero.
		if r.Value != nil {
			cells[valueColumn] = *r.Value
		} else {
			cells[valueColumn] = nil
		}
		if d, err := time.Parse(time.DateOnly, r.PeriodStart()); err == nil {
			cells[periodStartColumn] = excelize.Cell{StyleID: date, Value: d}
		}
		for i, c := range cells {
			if c == "" {
				cells[i] = nil
			}
		}
		if err := sw.SetRow("A"+strconv.Itoa(line), cells); err != nil {
			return nil, err
		}
		tl.add(r)
	}
	tl.done()
	return tl, sw.Flush()
}

// writeSourcesSheet lists the sources of the rows written, in id order,
// with how many rows each gave.
func writeSourcesSheet(f *excelize.File, sheet string, n *Names, tl *tally, bold int) error {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	header := []string{"id", "publisher", "title", "url", "table_id", "published", "retrieved", "kind", "licence", "rows"}
	widths := []float64{28, 36, 48, 48, 12, 12, 12, 20, 28, 8}
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	if err := sw.SetRow("A1", boldRow(bold, header...)); err != nil {
		return err
	}
	line := 1
	for _, s := range n.Sources() {
		count := tl.sources[s.ID]
		if count == 0 {
			continue
		}
		line++
		cells := textRow(s.ID, s.Publisher, s.Title, s.URL, s.TableID, s.Published, s.Retrieved, s.Kind, s.Licence)
		cells = append(cells, count)
		if err := sw.SetRow("A"+strconv.Itoa(line), cells); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// writeNotesSheet writes what a reader of the data sheet must know: the
// release, the caller's notes, the caveats (with the figures several
// sources give, if any), every flag with its meaning and rows, and every
// column with its meaning.
func writeNotesSheet(f *excelize.File, t texts, n *Names, tl *tally, notes []string, bold int) error {
	sw, err := f.NewStreamWriter(t.notesSheet)
	if err != nil {
		return err
	}
	for i, wd := range []float64{26, 140, 8} {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	line := 0
	row := func(cells ...any) error {
		line++
		return sw.SetRow("A"+strconv.Itoa(line), cells)
	}
	rel := n.Release()
	rowsOf := [][]any{
		{excelize.Cell{StyleID: bold, Value: "Krimstat"}, excelize.Cell{StyleID: bold, Value: t.title}},
		{nil, t.release(rel.ID, releaseDate(rel))},
	}
	for _, note := range notes {
		rowsOf = append(rowsOf, []any{nil, note})
	}
	rowsOf = append(rowsOf, nil, boldRow(bold, t.caveats))
	for i, c := range t.caveatList {
		rowsOf = append(rowsOf, []any{i + 1, c})
	}
	if tl.several > 0 {
		rowsOf = append(rowsOf, []any{len(t.caveatList) + 1, t.several(tl.several, tl.exampleText(t.and))})
	}
	rowsOf = append(rowsOf, nil, boldRow(bold, t.flag, t.meaning, t.rows))
	for _, fl := range store.Flags {
		rowsOf = append(rowsOf, []any{fl.ID, t.flagMeaning(fl.ID), tl.flags[fl.ID]})
	}
	rowsOf = append(rowsOf, nil, boldRow(bold, t.column, t.meaning))
	for _, c := range Columns {
		rowsOf = append(rowsOf, []any{c, t.columns[c]})
	}
	for _, cells := range rowsOf {
		if err := row(cells...); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// boldRow is a row of bold text cells.
func boldRow(style int, texts ...string) []any {
	cells := make([]any, len(texts))
	for i, s := range texts {
		cells[i] = excelize.Cell{StyleID: style, Value: s}
	}
	return cells
}

// textRow is a row of text cells, an empty text leaving its cell empty.
func textRow(texts ...string) []any {
	cells := make([]any, len(texts))
	for i, s := range texts {
		if s != "" {
			cells[i] = s
		}
	}
	return cells
}
