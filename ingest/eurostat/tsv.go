// Package eurostat reads Eurostat's bulk download TSV layout: a header whose
// first cell lists the row dimensions and names the column dimension
// ("freq,iccs,unit,geo\TIME_PERIOD"), then one row per combination of the row
// dimensions with one cell per time period. A cell is a number, ":" (not
// available), and either may be followed by a space and flag letters
// ("12 p", ": c").
package eurostat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// flag maps one of Eurostat's flag letters to a Krimstat flag. A switch
// rather than a package-level map, so the table cannot be changed at run time.
func flag(letter byte) (string, bool) {
	switch letter {
	case 'b':
		return store.FlagBreakInSeries, true
	case 'c':
		return store.FlagConfidential, true
	case 'd':
		return store.FlagDefinitionDiffers, true
	case 'e':
		return store.FlagEstimated, true
	case 'f':
		return store.FlagForecast, true
	case 'n':
		return store.FlagNotSignificant, true
	case 'p':
		return store.FlagProvisional, true
	case 'r':
		return store.FlagRevised, true
	case 's':
		return store.FlagEurostatEstimate, true
	case 'u':
		return store.FlagLowReliability, true
	case 'z':
		return store.FlagNotApplicable, true
	}
	return "", false
}

// Table is a parsed bulk TSV file.
type Table struct {
	Dims    []string // row dimension ids, e.g. freq, iccs, unit, geo
	TimeDim string   // the column dimension id, e.g. TIME_PERIOD
	Times   []string // column labels, trimmed
	Cells   []Cell
}

// Cell is one non-empty cell. Value is nil for ":" (not available); a cell of
// ":" with no flags is not listed at all, since it says only that there is no
// figure.
type Cell struct {
	Line   int      // 1-based line in the file
	Column int      // 1-based column (tab-separated field) in the file
	Key    []string // row dimension codes, parallel to Table.Dims
	Time   string
	Value  *float64
	Raw    string   // the cell as printed, trimmed
	Flags  []string // Krimstat flags from the flag letters
}

// Error is a positioned parse error.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: column %d (%s): %s", e.File, e.Line, e.Column, e.Field, e.Msg)
}

// Unwrap lets callers test for store.ErrInvalid.
func (e *Error) Unwrap() error { return store.ErrInvalid }

// maxLine bounds a line so that a file without newlines cannot exhaust memory.
const maxLine = 1 << 20

// Read parses a bulk TSV. name is used in errors. Every row must have one
// cell per time column; every cell must be a number or ":" with known flags.
func Read(r io.Reader, name string) (*Table, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	t := &Table{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			if err := t.header(text, name); err != nil {
				return nil, err
			}
			continue
		}
		if strings.TrimSpace(text) == "" {
			return nil, &Error{name, line, 1, "row", "empty line"}
		}
		if err := t.row(text, name, line); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{name, line + 1, 1, "row", fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	if line == 0 {
		return nil, &Error{name, 1, 1, "header", "empty file"}
	}
	return t, nil
}

func (t *Table) header(text, name string) error {
	fields := strings.Split(text, "\t")
	first := fields[0]
	dims, timeDim, ok := strings.Cut(first, `\`)
	if !ok || dims == "" || strings.TrimSpace(timeDim) == "" {
		return &Error{name, 1, 1, "header", fmt.Sprintf(`%q: want "dim1,dim2,...\TIME_PERIOD"`, first)}
	}
	t.Dims = strings.Split(dims, ",")
	for i, d := range t.Dims {
		if d == "" {
			return &Error{name, 1, 1, "header", fmt.Sprintf("row dimension %d is empty", i+1)}
		}
	}
	t.TimeDim = strings.TrimSpace(timeDim)
	if len(fields) < 2 {
		return &Error{name, 1, 2, "header", "no time columns"}
	}
	seen := map[string]bool{}
	for i, f := range fields[1:] {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			return &Error{name, 1, i + 2, "header", fmt.Sprintf("time column %q is empty or repeated", f)}
		}
		seen[f] = true
		t.Times = append(t.Times, f)
	}
	return nil
}

func (t *Table) row(text, name string, line int) error {
	fields := strings.Split(text, "\t")
	if len(fields) != len(t.Times)+1 {
		return &Error{name, line, 1, "row", fmt.Sprintf("%d fields, want %d", len(fields), len(t.Times)+1)}
	}
	key := strings.Split(fields[0], ",")
	if len(key) != len(t.Dims) {
		return &Error{name, line, 1, strings.Join(t.Dims, ","), fmt.Sprintf("key %q has %d parts, want %d", fields[0], len(key), len(t.Dims))}
	}
	for i, k := range key {
		if k == "" {
			return &Error{name, line, 1, t.Dims[i], "empty code"}
		}
	}
	for i, raw := range fields[1:] {
		col := i + 2
		c, err := parseCell(raw)
		if err != nil {
			return &Error{name, line, col, t.TimeDim + "=" + t.Times[i], err.Error()}
		}
		if c == nil {
			continue
		}
		c.Line, c.Column, c.Key, c.Time = line, col, key, t.Times[i]
		t.Cells = append(t.Cells, *c)
	}
	return nil
}

// parseCell reads "12", "12 p", ":", ": c". It returns nil for a bare ":".
func parseCell(raw string) (*Cell, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, errors.New("empty cell: want a number or ':'")
	}
	num, letters, _ := strings.Cut(s, " ")
	letters = strings.TrimSpace(letters)
	var flags []string
	for i := 0; i < len(letters); i++ {
		f, ok := flag(letters[i])
		if !ok {
			return nil, fmt.Errorf("%q: unknown flag %q", s, letters[i])
		}
		flags = append(flags, f)
	}
	if num == ":" {
		if len(flags) == 0 {
			return nil, nil
		}
		return &Cell{Raw: s, Flags: flags}, nil
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || strings.ContainsAny(num, "xXnNiI_+") {
		return nil, fmt.Errorf("%q is not a number or ':'", s)
	}
	return &Cell{Raw: s, Value: &v, Flags: flags}, nil
}
