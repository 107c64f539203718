package export

import (
	"testing"

	"github.com/krimstat/krimstat/store"
)

// TestTextsComplete lists every flag and column whose meaning a language
// lacks; a Norwegian file would show it in English.
func TestTextsComplete(t *testing.T) {
	for _, lang := range []string{EN, NB} {
		tx := textsFor(lang)
		for _, f := range store.Flags {
			if tx.flags[f.ID] == "" {
				t.Errorf("%s: flag %s has no meaning", lang, f.ID)
			}
		}
		for _, c := range Columns {
			if tx.columns[c] == "" {
				t.Errorf("%s: column %s has no meaning", lang, c)
			}
		}
		if len(tx.caveatList) != len(textsEN().caveatList) {
			t.Errorf("%s: %d caveats, want %d as in English", lang, len(tx.caveatList), len(textsEN().caveatList))
		}
	}
}

// TestTally checks the counts the notes and README report, and that the
// example of a figure several sources give is one they disagree on.
func TestTally(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	row := func(period, source string, value *float64, flags ...string) Row {
		return Row{Observation: store.Observation{Offence: "o", Region: "NO", Period: period, Measure: "m",
			Value: value, Flags: flags, Source: source}, OffenceName: "O", RegionName: "Norway", MeasureName: "M"}
	}
	tl := newTally()
	for _, r := range []Row{
		row("2008", "a", v(1)), row("2008", "b", v(1)), // agree
		row("2009", "a", v(334)), row("2009", "b", v(355), store.FlagLaterVintage), // disagree
		row("2010", "a", nil, store.FlagSuppressed),
	} {
		tl.add(r)
	}
	tl.done()
	if tl.rows != 5 || tl.several != 2 || tl.suppressed != 1 || tl.flags[store.FlagLaterVintage] != 1 || tl.sources["a"] != 3 {
		t.Errorf("rows %d several %d suppressed %d later-vintage %d from a %d, want 5 2 1 1 3",
			tl.rows, tl.several, tl.suppressed, tl.flags[store.FlagLaterVintage], tl.sources["a"])
	}
	if got, want := tl.exampleText("and"), "O, Norway, 2009, M: 334 (a) and 355 (b)"; got != want {
		t.Errorf("example %q, want %q", got, want)
	}
}
