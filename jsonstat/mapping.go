package jsonstat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// Mapping says how the cells of one source table become Krimstat
// observations. It is read from a JSON file (see ingest/mappings) by
// LoadMapping, which refuses a mapping with unresolved entries.
type Mapping struct {
	// Name is the file the mapping came from, for error messages.
	Name string `json:"-"`
	// Todo lists what is still unknown. A template mapping says here which
	// codes have not been confirmed; LoadMapping refuses it until the list
	// is empty, so that no code is ever guessed.
	Todo []string `json:"todo,omitempty"`
	// Notes are free text for the people maintaining the mapping.
	Notes []string `json:"notes,omitempty"`

	// Source is the publication every observation cites; Source.ID is
	// what observations carry.
	Source store.Source `json:"source"`
	// Confidence is the grade of every observation: A, B or C.
	Confidence string `json:"confidence"`
	// Table starts every locator, e.g. "SSB table 08484". Without it the
	// locator starts with "<publisher> table <table_id>".
	Table string `json:"table,omitempty"`

	Offence Axis `json:"offence"`
	Region  Axis `json:"region"`
	Period  Axis `json:"period"`
	Measure Axis `json:"measure"`
	// Breakdown maps dimensions to the breakdown fields: sex, age,
	// citizenship, repatriation_country. A code mapped to "" is the total.
	Breakdown map[string]Axis `json:"breakdown,omitempty"`
	// Filter fixes dimensions to one category: cells with any other
	// category of that dimension are skipped (e.g. ContentsCode to the
	// count rather than the rate per 1,000).
	Filter map[string]string `json:"filter,omitempty"`
	// FilterLabels fixes dimensions to the one category whose published
	// label is exactly the given one. Resolve turns each into a Filter
	// entry, so a category that is renamed or split fails loudly rather
	// than filtering on a code that now means something else.
	FilterLabels map[string]LabelFilter `json:"filter_labels,omitempty"`

	// Status says what each status symbol of the source means. A symbol
	// that is not listed is an error.
	Status map[string]StatusRule `json:"status"`
	// StatusChars reads a status as a sequence of one-character symbols, as
	// Eurostat combines flags ("bp" is a break in series, provisional).
	StatusChars bool `json:"status_chars,omitempty"`
	// Flags are added to every observation.
	Flags []string `json:"flags,omitempty"`

	// Resolved lists the categories Resolve selected by label. It is never
	// read from a file; Map quotes these labels in the locators, so that the
	// provenance of every observation shows the label it was chosen by.
	Resolved []Resolution `json:"-"`
}

// Axis maps one Krimstat field to a source dimension, or fixes it when the
// dataset has no such dimension. Categories are selected by code, or by
// their exact published label (Labels, in the language Lang), which Resolve
// turns into codes against the dataset.
type Axis struct {
	Dimension string            `json:"dimension,omitempty"` // source dimension id
	Fixed     string            `json:"fixed,omitempty"`     // a Krimstat id for every cell
	Codes     map[string]string `json:"codes,omitempty"`     // source code to Krimstat id
	Labels    map[string]string `json:"labels,omitempty"`    // exact source label to Krimstat id
	Lang      string            `json:"lang,omitempty"`      // the language of Labels, e.g. no or en
	Ignore    []string          `json:"ignore,omitempty"`    // source codes whose cells are skipped on purpose
	Format    string            `json:"format,omitempty"`    // period codes only: ssb, eurostat or krimstat
}

// LabelFilter keeps the one category of a dimension whose published label
// is exactly Label, in the language Lang.
type LabelFilter struct {
	Label string `json:"label"`
	Lang  string `json:"lang"`
}

// Status actions.
const (
	ActionGap        = "gap"        // the value is not available: no observation, recorded as a gap
	ActionSuppressed = "suppressed" // the value exists but is withheld: an observation with value_text and the suppressed flag
	ActionValue      = "value"      // the symbol annotates a published number, adding flags
)

// StatusRule is the meaning of one status symbol.
type StatusRule struct {
	Action  string   `json:"action"`
	Flags   []string `json:"flags,omitempty"`
	Meaning string   `json:"meaning"`
}

// Period code formats.
const (
	FormatSSB      = "ssb"      // 2013, 2013K1, 2013M01, 2013H1, 2013T1
	FormatEurostat = "eurostat" // 2013, 2013-Q1, 2013-S1, 2013-01, 2013Q1, 2013M01, 2013S1
	FormatKrimstat = "krimstat" // already store.ParsePeriod form
)

// Breakdown field names in Mapping.Breakdown.
var breakdownFields = []string{"sex", "age", "citizenship", "repatriation_country"}

// LoadMapping reads and validates a mapping file. Errors wrap
// store.ErrInvalid and name the file and the field; a mapping whose todo
// list is not empty is refused.
func LoadMapping(path string) (Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Mapping{}, fmt.Errorf("mapping: %w", err)
	}
	return DecodeMapping(bytes.NewReader(data), path)
}

// DecodeMapping reads and validates a mapping from r; name is used in
// errors. It behaves as LoadMapping.
func DecodeMapping(r io.Reader, name string) (Mapping, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Mapping{}, fmt.Errorf("%s: read: %w", name, err)
	}
	if err := checkSyntax(data, name); err != nil {
		return Mapping{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Mapping
	if err := dec.Decode(&m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Mapping{}, &Error{File: name, Path: te.Field, Msg: fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)}
		}
		return Mapping{}, (&Error{File: name, Msg: err.Error()}).at(data, dec.InputOffset())
	}
	m.Name = name
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// Validate checks the mapping on its own, without a dataset: it refuses
// unresolved todo entries, incomplete source metadata, unknown flags and
// actions, and axes that are neither a dimension nor fixed.
func (m Mapping) Validate() error {
	var l errList
	bad := func(path, format string, a ...any) {
		l.add(&Error{File: m.Name, Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	if len(m.Todo) > 0 {
		// Nothing else matters while entries are unresolved; saying only
		// this keeps the message to the point.
		bad("todo", "the mapping has %d unresolved entries and cannot be used until they are resolved and the todo list is removed: %s",
			len(m.Todo), strings.Join(m.Todo, "; "))
		return l.err()
	}
	for _, f := range []struct{ name, v string }{
		{"id", m.Source.ID}, {"publisher", m.Source.Publisher}, {"title", m.Source.Title},
		{"url", m.Source.URL}, {"kind", m.Source.Kind}, {"licence", m.Source.Licence},
	} {
		if strings.TrimSpace(f.v) == "" {
			bad("source."+f.name, "required")
		}
	}
	if m.Confidence != "A" && m.Confidence != "B" && m.Confidence != "C" {
		bad("confidence", "%q: want A, B or C", m.Confidence)
	}
	used := map[string]string{}
	use := func(dim, path string) {
		if prev, dup := used[dim]; dup {
			bad(path, "dimension %q is already used by %s", dim, prev)
		}
		used[dim] = path
	}
	axes := []struct {
		path string
		a    Axis
	}{{"offence", m.Offence}, {"region", m.Region}, {"period", m.Period}, {"measure", m.Measure}}
	for _, ax := range axes {
		m.validateAxis(ax.path, ax.a, false, bad)
		if ax.a.Dimension != "" {
			use(ax.a.Dimension, ax.path+".dimension")
		}
	}
	for _, name := range sortedKeys(m.Breakdown) {
		path := "breakdown." + name
		if !slices.Contains(breakdownFields, name) {
			bad(path, "unknown breakdown: want one of %s", strings.Join(breakdownFields, ", "))
			continue
		}
		ax := m.Breakdown[name]
		m.validateAxis(path, ax, true, bad)
		if ax.Dimension != "" {
			use(ax.Dimension, path+".dimension")
		}
	}
	for _, dim := range sortedKeys(m.Filter) {
		path := "filter" + member(false, dim)
		if m.Filter[dim] == "" {
			bad(path, "empty category: name the one category to keep")
		}
		use(dim, path)
	}
	for _, dim := range sortedKeys(m.FilterLabels) {
		path := "filter_labels" + member(false, dim)
		f := m.FilterLabels[dim]
		if strings.TrimSpace(f.Label) == "" {
			bad(path+".label", "empty label: give the exact published label of the one category to keep")
		}
		if !langShape(f.Lang) {
			bad(path+".lang", "%q: want the language of the label, such as no or en", f.Lang)
		}
		use(dim, path)
	}
	if m.Status == nil {
		bad("status", "required: list every status symbol the source uses (an empty object if it uses none)")
	}
	for _, sym := range sortedKeys(m.Status) {
		path := "status" + member(false, sym)
		r := m.Status[sym]
		if sym == "" {
			bad(path, "empty symbol")
		}
		if m.StatusChars && len([]rune(sym)) != 1 {
			bad(path, "with status_chars every symbol is one character")
		}
		switch r.Action {
		case ActionGap, ActionSuppressed, ActionValue:
		default:
			bad(path+".action", "%q: want %s, %s or %s", r.Action, ActionGap, ActionSuppressed, ActionValue)
		}
		if r.Action == ActionGap && len(r.Flags) > 0 {
			bad(path+".flags", "a gap produces no observation, so it carries no flags")
		}
		if r.Meaning == "" {
			bad(path+".meaning", "required: say what the symbol means")
		}
		for i, f := range r.Flags {
			if !store.KnownFlag(f) {
				bad(fmt.Sprintf("%s.flags[%d]", path, i), "unknown flag %q", f)
			}
		}
	}
	for i, f := range m.Flags {
		if !store.KnownFlag(f) {
			bad(fmt.Sprintf("flags[%d]", i), "unknown flag %q", f)
		}
	}
	return l.err()
}

func (m Mapping) validateAxis(path string, a Axis, breakdown bool, bad func(string, string, ...any)) {
	isPeriod := path == "period"
	switch {
	case a.Dimension == "" && a.Fixed == "":
		bad(path, "name a source dimension or a fixed value")
		return
	case a.Dimension != "" && a.Fixed != "":
		bad(path, "give either a dimension or a fixed value, not both")
		return
	case a.Fixed != "":
		if len(a.Codes) > 0 || len(a.Labels) > 0 || len(a.Ignore) > 0 || a.Format != "" {
			bad(path, "a fixed value takes no codes, labels, ignore or format")
		}
		if isPeriod {
			if _, err := store.ParsePeriod(a.Fixed); err != nil {
				bad(path+".fixed", "%v", err)
			}
		}
		return
	}
	if a.Format != "" && !isPeriod {
		bad(path+".format", "only the period takes a format")
	}
	switch {
	case isPeriod:
		switch a.Format {
		case "", FormatSSB, FormatEurostat, FormatKrimstat:
		default:
			bad(path+".format", "%q: want %s, %s or %s", a.Format, FormatSSB, FormatEurostat, FormatKrimstat)
		}
		if a.Format == "" && len(a.Codes) == 0 && len(a.Labels) == 0 {
			bad(path, "give a format, codes or labels to convert the period codes")
		}
	case len(a.Codes) == 0 && len(a.Labels) == 0:
		bad(path+".codes", "no codes: say which source code (or exact label, in labels) means which Krimstat id")
	}
	for _, code := range sortedKeys(a.Codes) {
		id := a.Codes[code]
		cp := path + ".codes" + member(false, code)
		if id == "" && !breakdown {
			bad(cp, "empty Krimstat id")
		}
		if isPeriod {
			if _, err := store.ParsePeriod(id); err != nil {
				bad(cp, "%v", err)
			}
		}
		if slices.Contains(a.Ignore, code) {
			bad(cp, "code %q is both mapped and ignored", code)
		}
	}
	for i, code := range a.Ignore {
		if slices.Index(a.Ignore, code) != i {
			bad(fmt.Sprintf("%s.ignore[%d]", path, i), "code %q is listed twice", code)
		}
	}
	if len(a.Labels) > 0 && !langShape(a.Lang) {
		bad(path+".lang", "%q: labels need the language they are written in, such as no or en", a.Lang)
	} else if a.Lang != "" && !langShape(a.Lang) {
		bad(path+".lang", "%q: want a language such as no or en", a.Lang)
	}
	byCode := map[string]string{}
	for _, code := range sortedKeys(a.Codes) {
		byCode[a.Codes[code]] = code
	}
	for _, label := range sortedKeys(a.Labels) {
		id := a.Labels[label]
		lp := path + ".labels" + quotedKey(label)
		if strings.TrimSpace(label) == "" {
			bad(lp, "empty label: give the exact published label")
		}
		switch {
		case isPeriod:
			if _, err := store.ParsePeriod(id); err != nil {
				bad(lp, "%v", err)
			}
		case id == "" && !breakdown:
			bad(lp, "empty Krimstat id")
		case id != "" && !idShape(id):
			bad(lp, "%q is not shaped like a Krimstat id (letters, digits, and - / . _ inside)", id)
		}
		// The same id by a label and by a code would give two cells the
		// same observation, or hide which of the two is meant.
		if code, dup := byCode[id]; dup {
			bad(lp, "Krimstat id %q is also mapped by code %q in %s.codes: select it by a label or by a code, not both", id, code, path)
		}
	}
}

// langShape reports whether s looks like a language code (no, nb, en).
func langShape(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// idShape reports whether s looks like a Krimstat id: sex-purchase,
// iccs/0301, NO, UKC-L, pd2016-oslo. It checks the shape only; whether the
// id exists is the release's business.
func idShape(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case (r == '-' || r == '/' || r == '.' || r == '_') && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}
