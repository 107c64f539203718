package jsonstat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// checkSyntax walks the whole document once before it is interpreted. It
// does what encoding/json leaves out: it rejects duplicate object keys
// (which Unmarshal silently resolves to the last one, so a duplicated
// category code would vanish), it reports a truncated document with the
// byte offset where it ends, and it rejects trailing data.
func checkSyntax(data []byte, name string) error {
	type frame struct {
		obj     bool
		keys    map[string]struct{}
		key     string
		idx     int
		wantKey bool
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.obj {
				if f.wantKey {
					// Between members: the path is the object itself.
					continue
				}
				b.WriteString(member(b.Len() == 0, f.key))
			} else {
				fmt.Fprintf(&b, "[%d]", f.idx)
			}
		}
		return b.String()
	}
	// done marks the value at the top of the stack as complete.
	done := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.obj {
			f.wantKey = true
		} else {
			f.idx++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	started := false
	for {
		tok, err := dec.Token()
		if err != nil {
			var se *json.SyntaxError
			switch {
			case errors.As(err, &se):
				return (&Error{File: name, Path: path(), Msg: "malformed JSON: " + se.Error()}).at(data, se.Offset)
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				if !started {
					return &Error{File: name, Msg: "empty document"}
				}
				return (&Error{File: name, Path: path(), Msg: "document ends early (truncated): unexpected end of input"}).at(data, int64(len(data)))
			default:
				return (&Error{File: name, Path: path(), Msg: "malformed JSON: " + err.Error()}).at(data, dec.InputOffset())
			}
		}
		started = true
		if len(stack) > 0 {
			if f := stack[len(stack)-1]; f.obj && f.wantKey {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					stack = stack[:len(stack)-1]
					done()
				} else {
					k, _ := tok.(string)
					if _, dup := f.keys[k]; dup {
						f.key, f.wantKey = k, false
						return &Error{File: name, Path: path(), Msg: fmt.Sprintf("duplicate key %q", k)}
					}
					f.keys[k] = struct{}{}
					f.key, f.wantKey = k, false
				}
				if len(stack) == 0 {
					break
				}
				continue
			}
		}
		switch d, _ := tok.(json.Delim); d {
		case '{':
			stack = append(stack, &frame{obj: true, keys: map[string]struct{}{}, wantKey: true})
			continue
		case '[':
			stack = append(stack, &frame{})
			continue
		case ']':
			stack = stack[:len(stack)-1]
		}
		done()
		if len(stack) == 0 {
			break
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return (&Error{File: name, Msg: "trailing data after the document"}).at(data, dec.InputOffset())
	}
	return nil
}

// member renders one step of a JSON path: .key for plain keys and ["key"]
// for keys that would be ambiguous, such as ones holding dots.
func member(first bool, key string) string {
	plain := key != ""
	for _, r := range key {
		if r == '.' || r == '[' || r == ']' || r == '"' || r < ' ' {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return "[" + strconv.Quote(key) + "]"
	case first:
		return key
	}
	return "." + key
}
