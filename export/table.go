package export

import (
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// WriteTableXLSX writes a table that is already laid out (a wide table:
// one row per period, one column per series) as a one-sheet workbook with
// a frozen, bold header row. Cells of the numeric columns that parse as
// numbers are written as numbers, so a chart can be drawn from them at
// once; any other cell (a gap, a "<5") is text or empty, never zero.
func WriteTableXLSX(w io.Writer, sheet string, header []string, rows [][]string, numeric []string) error {
	if len(rows) >= XLSXMaxRows {
		return fmt.Errorf("xlsx: %d rows, more than %d: %w", len(rows), XLSXMaxRows, ErrTooLarge)
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	isNum := make([]bool, len(header))
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{StyleID: bold, Value: h}
		for _, n := range numeric {
			isNum[i] = isNum[i] || n == h
		}
	}
	if err := sw.SetRow("A1", cells); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	for r, row := range rows {
		cells = cells[:len(row)]
		for i, v := range row {
			cells[i] = nil
			if v == "" {
				continue
			}
			cells[i] = v
			if i < len(isNum) && isNum[i] {
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					cells[i] = n
				}
			}
		}
		if err := sw.SetRow("A"+strconv.Itoa(r+2), cells); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}
