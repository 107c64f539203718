package export

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
)

// WriteCSV writes rows as RFC 4180 CSV with a header of Columns and "\n"
// line ends. It holds one row at a time. It returns the first error of rows
// or of w; what was written before it stays written.
func WriteCSV(w io.Writer, rows iter.Seq2[Row, error]) error {
	_, err := writeCSV(w, rows, nil)
	return err
}

// writeCSV is WriteCSV that also hands each row to seen (when not nil) and
// returns how many rows it wrote.
func writeCSV(w io.Writer, rows iter.Seq2[Row, error], seen func(Row)) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(Columns); err != nil {
		return 0, fmt.Errorf("csv: %w", err)
	}
	n := 0
	for r, err := range rows {
		if err != nil {
			return n, fmt.Errorf("csv: %w", err)
		}
		if err := cw.Write(r.Record()); err != nil {
			return n, fmt.Errorf("csv: %w", err)
		}
		if seen != nil {
			seen(r)
		}
		n++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("csv: %w", err)
	}
	return n, nil
}
