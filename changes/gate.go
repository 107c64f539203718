package changes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// Thresholds are what the publish gate lets a new release change without
// an operator's say-so. Shares are fractions of the observations of the
// release it supersedes; a bound of rows of 0 sets no bound beyond the share.
type Thresholds struct {
	// MaxRemovedShare bounds the observations removed.
	MaxRemovedShare float64 `json:"max_removed_share"`
	// MaxRemovedRows bounds them in rows; 0 sets no bound beyond the share.
	MaxRemovedRows int `json:"max_removed_rows"`
	// MaxRevisedShare bounds the observations whose value was revised
	// (Value); revisions of metadata only are not counted.
	MaxRevisedShare float64 `json:"max_revised_share"`
	// MaxRevisedRows bounds them in rows; 0 sets no bound beyond the share.
	MaxRevisedRows int `json:"max_revised_rows"`
	// AllowVanishedSeries lets a series of the earlier release end: a
	// source that stopped publishing a figure, or a figure dropped by
	// mistake.
	AllowVanishedSeries bool `json:"allow_vanished_series"`
	// AllowNewCategories lets observations use an offence, region,
	// measure or source that no observation of the earlier release used.
	AllowNewCategories bool `json:"allow_new_categories"`
}

// DefaultThresholds returns the gate's defaults: at most 1% of the
// observations removed and 5% revised, no vanished series, new categories
// allowed.
func DefaultThresholds() Thresholds {
	return Thresholds{
		MaxRemovedShare:     0.01,
		MaxRevisedShare:     0.05,
		AllowVanishedSeries: false,
		AllowNewCategories:  true,
	}
}

// ParseThresholds reads thresholds as JSON: the fields given override
// DefaultThresholds, the others keep their defaults. An unknown field or
// a value out of range is an error wrapping store.ErrInvalid.
func ParseThresholds(r io.Reader) (Thresholds, error) {
	t := DefaultThresholds()
	b, err := io.ReadAll(r)
	if err != nil {
		return t, fmt.Errorf("thresholds: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("thresholds: %v: %w", err, store.ErrInvalid)
	}
	if dec.More() {
		return t, fmt.Errorf("thresholds: trailing data: %w", store.ErrInvalid)
	}
	return t, t.Validate()
}

// Validate returns an error wrapping store.ErrInvalid for a share outside
// 0 to 1 or a negative bound of rows.
func (t Thresholds) Validate() error {
	for _, s := range []struct {
		name string
		v    float64
	}{{"max_removed_share", t.MaxRemovedShare}, {"max_revised_share", t.MaxRevisedShare}} {
		if !(s.v >= 0 && s.v <= 1) {
			return fmt.Errorf("thresholds: %s %v: want a share from 0 to 1: %w", s.name, s.v, store.ErrInvalid)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max_removed_rows", t.MaxRemovedRows}, {"max_revised_rows", t.MaxRevisedRows}} {
		if n.v < 0 {
			return fmt.Errorf("thresholds: %s %d: want 0 (no bound) or more: %w", n.name, n.v, store.ErrInvalid)
		}
	}
	return nil
}

// Violation is one threshold a release goes past: Rule is the threshold's
// JSON name, Reason says by how much in a sentence.
type Violation struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

func (v Violation) String() string { return v.Rule + ": " + v.Reason }

// Check returns the thresholds the changes go past, in the order of the
// Thresholds fields; none means the release may be published.
func (s Summary) Check(t Thresholds) []Violation {
	return s.check(t, nil)
}

// Check is Summary.Check, naming the first vanished series the report lists.
func (r Report) Check(t Thresholds) []Violation {
	return r.Summary.check(t, r.VanishedSeries)
}

// maxNamed is how many series or ids a reason names before "and N more".
const maxNamed = 5

func (s Summary) check(t Thresholds, vanished []SeriesKey) []Violation {
	var vs []Violation
	before := s.Before()
	share := func(n int) float64 {
		if before == 0 {
			return 0
		}
		return float64(n) / float64(before)
	}
	add := func(rule, format string, a ...any) {
		vs = append(vs, Violation{Rule: rule, Reason: fmt.Sprintf(format, a...)})
	}
	if sh := share(s.Removed); sh > t.MaxRemovedShare {
		add("max_removed_share", "%d of the %d observations of %s removed (%s), more than the %s allowed",
			s.Removed, before, s.From, percent(sh), percent(t.MaxRemovedShare))
	}
	if t.MaxRemovedRows > 0 && s.Removed > t.MaxRemovedRows {
		add("max_removed_rows", "%d observations removed, more than the %d allowed", s.Removed, t.MaxRemovedRows)
	}
	if sh := share(s.Revised); sh > t.MaxRevisedShare {
		add("max_revised_share", "%d of the %d observations of %s revised in value (%s), more than the %s allowed",
			s.Revised, before, s.From, percent(sh), percent(t.MaxRevisedShare))
	}
	if t.MaxRevisedRows > 0 && s.Revised > t.MaxRevisedRows {
		add("max_revised_rows", "%d observations revised in value, more than the %d allowed", s.Revised, t.MaxRevisedRows)
	}
	if !t.AllowVanishedSeries && s.VanishedSeries > 0 {
		names := make([]string, 0, len(vanished))
		for _, k := range vanished {
			names = append(names, k.String())
		}
		add("allow_vanished_series", "%d series of %s end in %s%s", s.VanishedSeries, s.From, s.To, named(names, s.VanishedSeries))
	}
	if c := s.NewCategories; !t.AllowNewCategories && c.Len() > 0 {
		var parts []string
		for _, l := range []struct {
			what string
			ids  []string
		}{{"offences", c.Offences}, {"regions", c.Regions}, {"measures", c.Measures}, {"sources", c.Sources}} {
			if len(l.ids) > 0 {
				parts = append(parts, "new "+l.what+named(l.ids, len(l.ids)))
			}
		}
		add("allow_new_categories", "%s", strings.Join(parts, "; "))
	}
	return vs
}

// named lists up to maxNamed of names after a colon, and how many of total
// it leaves out; nothing when names is empty.
func named(names []string, total int) string {
	if len(names) == 0 {
		return ""
	}
	shown := names[:min(len(names), maxNamed)]
	s := ": " + strings.Join(shown, ", ")
	if rest := total - len(shown); rest > 0 {
		s += fmt.Sprintf(" and %d more", rest)
	}
	return s
}

// percent prints a share as a percentage with up to two decimals.
func percent(share float64) string {
	s := fmt.Sprintf("%.2f", share*100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}
