package jsonstat

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// Error is a problem in a JSON-stat document or in a mapping, positioned by
// file, JSON path (or byte offset where the document cannot be parsed) and,
// where one applies, the field. It wraps store.ErrInvalid so that callers
// can treat every bad input alike.
type Error struct {
	File   string // the name passed to Decode, or the mapping file
	Path   string // JSON path such as value[17] or dimension.Tid.category.index
	Offset int64  // byte offset, set only for syntax errors and truncation
	Line   int    // the line of Offset, 1-based; 0 when Offset is not set
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Offset > 0 || e.Path == "" {
		fmt.Fprintf(&b, ": byte offset %d", e.Offset)
		if e.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
	}
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap lets callers test for store.ErrInvalid.
func (e *Error) Unwrap() error { return store.ErrInvalid }

// maxErrors bounds how many problems one call reports, so that a table
// with a systematic mistake gives a readable message rather than thousands
// of lines.
const maxErrors = 20

// errList collects positional errors up to maxErrors.
type errList struct {
	errs    []error
	dropped int
}

func (l *errList) add(err error) {
	if len(l.errs) >= maxErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, err)
}

func (l *errList) full() bool { return len(l.errs) >= maxErrors }

func (l *errList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	errs := l.errs
	if l.dropped > 0 {
		errs = append(errs, fmt.Errorf("and %d more errors: %w", l.dropped, store.ErrInvalid))
	}
	return errors.Join(errs...)
}

// at sets the byte offset of a syntax error and the line it falls on.
func (e *Error) at(data []byte, offset int64) *Error {
	offset = max(offset, 1)
	e.Offset = offset
	e.Line = 1 + bytes.Count(data[:min(offset, int64(len(data)))], []byte("\n"))
	return e
}
