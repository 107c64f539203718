package changes

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// Verdict is a report with the gate's judgement on it, as WriteJSON writes
// it: Publish is true when there is no violation.
type Verdict struct {
	Report     Report      `json:"report"`
	Violations []Violation `json:"violations"`
	Publish    bool        `json:"publish"`
}

// WriteJSON writes r and the violations found in it as one indented JSON
// document (a Verdict), for tools that read the publish gate's answer.
func WriteJSON(w io.Writer, r Report, violations []Violation) error {
	if violations == nil {
		violations = []Violation{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "<5" stays "<5"
	enc.SetIndent("", "  ")
	return enc.Encode(Verdict{Report: r, Violations: violations, Publish: len(violations) == 0})
}

// WriteText writes r and the violations found in it for a person at a
// terminal: the counts, per source, the vanished series and new
// categories, the changes r lists (at most those; Compare's Limit keeps
// them short), and the gate's verdict last, so that it is what stays on
// the screen.
func WriteText(w io.Writer, r Report, violations []Violation) error {
	bw := bufio.NewWriter(w)
	s := r.Summary
	fmt.Fprintf(bw, "Changes from release %s (%d observations) to %s (%d observations)\n", s.From, s.Before(), s.To, s.After())
	fmt.Fprintf(bw, "  %s\n", countsLine(s.ChangeCounts))
	if len(s.Sources) > 0 {
		fmt.Fprintln(bw, "By source:")
		width := 0
		for _, sc := range s.Sources {
			width = max(width, len(sc.Source))
		}
		for _, sc := range s.Sources {
			fmt.Fprintf(bw, "  %-*s  %s\n", width, sc.Source, countsLine(sc.ChangeCounts))
		}
	}
	fmt.Fprintf(bw, "Vanished series: %d\n", s.VanishedSeries)
	for _, k := range r.VanishedSeries {
		fmt.Fprintf(bw, "  %s\n", k)
	}
	if n := s.VanishedSeries - len(r.VanishedSeries); n > 0 && len(r.VanishedSeries) > 0 {
		fmt.Fprintf(bw, "  ... and %d more\n", n)
	}
	c := s.NewCategories
	fmt.Fprintf(bw, "New categories: %d\n", c.Len())
	for _, l := range []struct {
		what string
		ids  []string
	}{{"offences", c.Offences}, {"regions", c.Regions}, {"measures", c.Measures}, {"sources", c.Sources}} {
		if len(l.ids) > 0 {
			fmt.Fprintf(bw, "  %s: %s\n", l.what, strings.Join(l.ids, ", "))
		}
	}
	if listed := len(r.Added) + len(r.Removed) + len(r.Revised); listed > 0 {
		fmt.Fprintf(bw, "Changes listed: %d of %d\n", listed, s.Added+s.Removed+s.Revised+s.MetadataRevised)
		for _, o := range r.Removed {
			fmt.Fprintf(bw, "  - %s: %s\n", describe(o), figure(o))
		}
		for _, o := range r.Added {
			fmt.Fprintf(bw, "  + %s: %s\n", describe(o), figure(o))
		}
		for _, v := range r.Revised {
			if v.Kind == Value {
				fmt.Fprintf(bw, "  ~ %s: %s -> %s\n", describe(v.New), figure(v.Old), figure(v.New))
			} else {
				fmt.Fprintf(bw, "  ~ %s: %s (%s)\n", describe(v.New), figure(v.New), metadataChange(v.Old, v.New))
			}
		}
		if r.Next != "" {
			fmt.Fprintln(bw, "  ... and more")
		}
	}
	if len(violations) == 0 {
		fmt.Fprintln(bw, "Publish gate: passed")
	} else {
		fmt.Fprintf(bw, "Publish gate: refused (%d)\n", len(violations))
		for _, v := range violations {
			fmt.Fprintf(bw, "  %s\n", v)
		}
	}
	return bw.Flush()
}

func countsLine(n store.ChangeCounts) string {
	return fmt.Sprintf("added %d, removed %d, revised %d, metadata revised %d, unchanged %d",
		n.Added, n.Removed, n.Revised, n.MetadataRevised, n.Unchanged)
}

// describe names an observation in one line: its series and period.
func describe(o store.Observation) string {
	k := SeriesKey{Offence: o.Offence, Region: o.Region, Measure: o.Measure, Breakdown: o.Breakdown, Source: o.Source}
	return k.String() + " " + o.Period
}

// figure is an observation's value, or its text where the source printed one.
func figure(o store.Observation) string {
	if o.Value == nil {
		return strconv.Quote(o.ValueText)
	}
	return strconv.FormatFloat(*o.Value, 'f', -1, 64)
}

// metadataChange says what changed about an unchanged figure.
func metadataChange(a, b store.Observation) string {
	var parts []string
	if fa, fb := flagSet(a), flagSet(b); strings.Join(fa, ",") != strings.Join(fb, ",") {
		parts = append(parts, fmt.Sprintf("flags [%s] -> [%s]", strings.Join(fa, " "), strings.Join(fb, " ")))
	}
	if a.Confidence != b.Confidence {
		parts = append(parts, "confidence "+a.Confidence+" -> "+b.Confidence)
	}
	if a.Locator != b.Locator {
		parts = append(parts, fmt.Sprintf("locator %q -> %q", a.Locator, b.Locator))
	}
	if a.Period != b.Period {
		parts = append(parts, "period "+a.Period+" -> "+b.Period)
	}
	return strings.Join(parts, "; ")
}
