package syncer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/krimstat/krimstat/jsonstat"
	"github.com/krimstat/krimstat/store"
)

// Kinds of source: the API an entry is read from.
const (
	// KindPxWebAPI is Statistics Norway's PxWebApi v2: a metadata document,
	// against which labels are resolved, then the data.
	KindPxWebAPI = "pxwebapi-v2"
	// KindEurostat is Eurostat's statistics API (JSON-stat 2.0), which has no
	// metadata document: labels are resolved against the data.
	KindEurostat = "eurostat"
)

// Sources is a sources file: the tables that sync reads, each with its
// mapping, and the gate that decides whether a candidate release may be
// published.
type Sources struct {
	// Path is the file the sources were read from; mappings are relative to
	// its folder.
	Path string `json:"-"`
	// Notes are free text for maintainers: what was confirmed, and where.
	Notes []string `json:"notes,omitempty"`
	// Gate is kept as written; its fields belong to the code that publishes
	// candidates, not to this package.
	Gate json.RawMessage `json:"gate,omitempty"`
	// Entries are the tables, in the order they are fetched.
	Entries []Entry `json:"sources"`
}

// Entry is one table of the sources file.
type Entry struct {
	// ID names the entry and, for an enabled entry, equals the source id of
	// its mapping: the source whose observations a sync replaces.
	ID string `json:"id"`
	// Kind is KindPxWebAPI or KindEurostat.
	Kind string `json:"kind"`
	// Table is the SSB table id (08484) or the Eurostat dataset code
	// (crim_off_cat).
	Table string `json:"table"`
	// Query lists selection parameters as key=value, appended to the data
	// URL in this order: valueCodes[Tid]=* and lang=no for PxWebApi, geo=NO
	// for Eurostat.
	Query []string `json:"query,omitempty"`
	// Mapping is the mapping file, relative to the sources file.
	Mapping string `json:"mapping"`
	// Enabled entries are fetched; a disabled one says why in
	// DisabledReason. An entry whose mapping still has todo entries must be
	// disabled.
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabled_reason,omitempty"`
	// Notes are free text: what is confirmed about the table, and where.
	Notes []string `json:"notes,omitempty"`
}

// MappingPath is where the mapping of e is, relative to the working folder.
func (s Sources) MappingPath(e Entry) string {
	if filepath.IsAbs(e.Mapping) {
		return e.Mapping
	}
	return filepath.Join(filepath.Dir(s.Path), e.Mapping)
}

// Enabled returns the entries that are fetched, in order.
func (s Sources) Enabled() []Entry {
	var out []Entry
	for _, e := range s.Entries {
		if e.Enabled {
			out = append(out, e)
		}
	}
	return out
}

// LoadSources reads and checks a sources file. It rejects unknown fields, a
// kind or table id of the wrong shape, duplicate ids, query parameters that
// the sync sets itself, a disabled entry without a reason and an enabled one
// with one, and a mapping that is missing. The mapping of an enabled entry
// must load (so it has no todo), name the same source id and table, and
// select labels only in the language the entry asks for.
//
// Errors are *jsonstat.Error values, which wrap store.ErrInvalid and name
// the file and the field (sources[2].query[0]); a file that cannot be read
// is returned as it is.
func LoadSources(path string) (Sources, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Sources{}, fmt.Errorf("sources: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Sources
	if err := dec.Decode(&s); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return Sources{}, &jsonstat.Error{File: path, Offset: se.Offset, Line: lineAt(data, se.Offset), Msg: "malformed JSON: " + se.Error()}
		case errors.As(err, &te):
			return Sources{}, &jsonstat.Error{File: path, Path: te.Field, Msg: fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)}
		case errors.Is(err, io.EOF):
			return Sources{}, &jsonstat.Error{File: path, Msg: "empty file"}
		}
		return Sources{}, &jsonstat.Error{File: path, Offset: dec.InputOffset(), Line: lineAt(data, dec.InputOffset()), Msg: err.Error()}
	}
	if dec.More() {
		return Sources{}, &jsonstat.Error{File: path, Offset: dec.InputOffset(), Line: lineAt(data, dec.InputOffset()), Msg: "trailing data after the document"}
	}
	s.Path = path
	if err := s.check(); err != nil {
		return Sources{}, err
	}
	return s, nil
}

// entryID reports whether s is lowercase letters and digits joined by
// single hyphens, as source ids are.
func entryID(s string) bool {
	return s != "" && only(s, "abcdefghijklmnopqrstuvwxyz0123456789-") &&
		!strings.HasPrefix(s, "-") && !strings.HasSuffix(s, "-") && !strings.Contains(s, "--")
}

// only reports whether every byte of s is in set.
func only(s, set string) bool {
	for i := range len(s) {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

func lineAt(data []byte, offset int64) int {
	return 1 + bytes.Count(data[:min(max(offset, 0), int64(len(data)))], []byte("\n"))
}

// check validates the sources and the mappings of enabled entries.
func (s Sources) check() error {
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, &jsonstat.Error{File: s.Path, Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	if g := bytes.TrimSpace(s.Gate); len(g) > 0 && g[0] != '{' {
		bad("gate", "want an object")
	}
	if len(s.Entries) == 0 {
		bad("sources", "no entries")
	}
	seen := map[string]int{}
	for i, e := range s.Entries {
		at := fmt.Sprintf("sources[%d]", i)
		if !entryID(e.ID) {
			bad(at+".id", "%q: want lowercase letters and digits joined by -", e.ID)
		}
		if j, dup := seen[e.ID]; dup {
			bad(at+".id", "%q repeats sources[%d]", e.ID, j)
		}
		seen[e.ID] = i
		switch e.Kind {
		case KindPxWebAPI:
			if len(e.Table) != 5 || !only(e.Table, "0123456789") {
				bad(at+".table", "%q: want an SSB table id of five digits, such as 08484", e.Table)
			}
		case KindEurostat:
			if e.Table == "" || !only(e.Table, "abcdefghijklmnopqrstuvwxyz0123456789_") {
				bad(at+".table", "%q: want a Eurostat dataset code, such as crim_off_cat", e.Table)
			}
		default:
			bad(at+".kind", "%q: want %s or %s", e.Kind, KindPxWebAPI, KindEurostat)
		}
		for j, q := range e.Query {
			k, v, ok := strings.Cut(q, "=")
			qp := fmt.Sprintf("%s.query[%d]", at, j)
			switch {
			case !ok || k == "" || v == "":
				bad(qp, "%q: want key=value", q)
			case slices.Contains(reservedParams(e.Kind), k):
				bad(qp, "%q: the sync sets %s itself", q, k)
			}
		}
		switch {
		case e.Enabled && e.DisabledReason != "":
			bad(at+".disabled_reason", "the entry is enabled: remove the reason or disable it")
		case !e.Enabled && strings.TrimSpace(e.DisabledReason) == "":
			bad(at+".disabled_reason", "required for a disabled entry: say why it is not fetched")
		}
		if e.Mapping == "" {
			bad(at+".mapping", "required")
			continue
		}
		mpath := s.MappingPath(e)
		data, err := os.ReadFile(mpath)
		if err != nil {
			bad(at+".mapping", "%v", err)
			continue
		}
		if !e.Enabled {
			continue
		}
		var todo struct {
			Todo []string `json:"todo"`
		}
		if json.Unmarshal(data, &todo) == nil && len(todo.Todo) > 0 {
			bad(at+".enabled", "mapping %s still has %d todo entries: set enabled to false and say why in disabled_reason, or resolve them", mpath, len(todo.Todo))
			continue
		}
		m, err := jsonstat.DecodeMapping(bytes.NewReader(data), mpath)
		if err != nil {
			bad(at+".mapping", "%v", err)
			continue
		}
		s.checkMapping(at, e, m, bad)
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// checkMapping holds an enabled entry and its mapping to each other.
func (s Sources) checkMapping(at string, e Entry, m jsonstat.Mapping, bad func(string, string, ...any)) {
	if m.Source.ID != e.ID {
		bad(at+".id", "%q, but mapping %s describes source %q: an entry replaces the source of its mapping, so the two must agree", e.ID, m.Name, m.Source.ID)
	}
	if m.Source.TableID != e.Table {
		bad(at+".table", "%q, but mapping %s is for table %q", e.Table, m.Name, m.Source.TableID)
	}
	lang := e.lang()
	if e.Kind == KindPxWebAPI && lang == "" {
		bad(at+".query", "give lang=no or lang=en: the labels of the metadata and the data must be in one language")
	}
	for _, l := range labelSets(m) {
		if !strings.EqualFold(l.lang, lang) {
			bad(at+".query", "mapping %s selects %s by labels in %q, but the entry asks for lang %q", m.Name, l.path, l.lang, lang)
		}
		if e.Kind != KindPxWebAPI {
			continue
		}
		// The sync selects the categories chosen by label itself, from the
		// codes they resolve to; a selection of its own would contradict it.
		for j, q := range e.Query {
			if k, _, _ := strings.Cut(q, "="); k == "valueCodes["+l.dim+"]" {
				bad(fmt.Sprintf("%s.query[%d]", at, j), "%q: dimension %s is selected by label in mapping %s, so the sync asks for the codes the labels resolve to", q, l.dim, m.Name)
			}
		}
	}
}

// lang is the language the entry asks for: EN for Eurostat, which the sync
// always asks for, and the lang parameter for PxWebApi.
func (e Entry) lang() string {
	if e.Kind == KindEurostat {
		return "en"
	}
	for _, q := range e.Query {
		if k, v, _ := strings.Cut(q, "="); k == "lang" {
			return v
		}
	}
	return ""
}

// reservedParams are the parameters the sync sets on the URLs of a kind.
func reservedParams(kind string) []string {
	if kind == KindEurostat {
		return []string{"format", "lang"}
	}
	return []string{"outputFormat"}
}

// axisRef is an axis of a mapping with its path in the mapping file.
type axisRef struct {
	path string
	a    jsonstat.Axis
}

// axisRefs lists the axes of m: the four fields, then the breakdowns.
func axisRefs(m jsonstat.Mapping) []axisRef {
	out := []axisRef{{"offence", m.Offence}, {"region", m.Region}, {"period", m.Period}, {"measure", m.Measure}}
	for _, name := range sortedKeys(m.Breakdown) {
		out = append(out, axisRef{"breakdown." + name, m.Breakdown[name]})
	}
	return out
}

// labelSet is one place where a mapping selects by label.
type labelSet struct{ path, dim, lang string }

func labelSets(m jsonstat.Mapping) []labelSet {
	var out []labelSet
	for _, ax := range axisRefs(m) {
		if len(ax.a.Labels) > 0 {
			out = append(out, labelSet{ax.path, ax.a.Dimension, ax.a.Lang})
		}
	}
	for _, dim := range sortedKeys(m.FilterLabels) {
		out = append(out, labelSet{"filter_labels." + dim, dim, m.FilterLabels[dim].Lang})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// invalid is an error about an entry that wraps store.ErrInvalid.
func invalid(format string, a ...any) error {
	return fmt.Errorf(format+": %w", append(a, store.ErrInvalid)...)
}
