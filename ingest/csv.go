package ingest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// FileError is a bad row in an input file, positioned by line and field.
type FileError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *FileError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: field %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// Unwrap lets callers test for store.ErrInvalid.
func (e *FileError) Unwrap() error { return store.ErrInvalid }

// record is one CSV row with its line number, read by column name.
type record struct {
	file string
	line int
	cols map[string]int
	vals []string
}

func (r record) get(name string) string { return r.vals[r.cols[name]] }

func (r record) fail(field, format string, a ...any) error {
	return &FileError{File: r.file, Line: r.line, Field: field, Msg: fmt.Sprintf(format, a...)}
}

// readCSV reads a CSV file whose header (after skip preamble lines) must
// contain exactly the columns want, in that order. A byte-order mark is
// allowed. Every row must have as many fields as the header.
func readCSV(data []byte, file string, skip int, want []string) ([]record, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	var out []record
	var cols map[string]int
	for n := 0; ; n++ {
		vals, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &FileError{File: file, Line: pe.Line, Msg: pe.Err.Error()}
			}
			return nil, &FileError{File: file, Line: line, Msg: err.Error()}
		}
		if n < skip {
			continue
		}
		if cols == nil {
			if !slices.Equal(vals, want) {
				return nil, &FileError{File: file, Line: line, Field: "header",
					Msg: fmt.Sprintf("columns %s, want %s", strings.Join(vals, ","), strings.Join(want, ","))}
			}
			cols = map[string]int{}
			for i, c := range vals {
				cols[c] = i
			}
			continue
		}
		if len(vals) != len(want) {
			return nil, &FileError{File: file, Line: line, Msg: fmt.Sprintf("%d fields, want %d", len(vals), len(want))}
		}
		out = append(out, record{file: file, line: line, cols: cols, vals: vals})
	}
	if cols == nil {
		return nil, &FileError{File: file, Line: 1, Field: "header", Msg: "no header row"}
	}
	return out, nil
}
