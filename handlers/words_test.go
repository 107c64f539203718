package handlers

import (
	"bytes"
	"math"
	"reflect"
	"strconv"
	"testing"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
)

// TestWords checks that every text of charts and embeds exists in every
// language offered: a missing one would show as nothing.
func TestWords(t *testing.T) {
	for _, lang := range chartLangs {
		w, ok := wordsOf[lang]
		if !ok {
			t.Fatalf("no words for %s", lang)
		}
		v := reflect.ValueOf(w)
		for i := range v.NumField() {
			if v.Field(i).String() == "" {
				t.Errorf("%s: %s has no text", lang, v.Type().Field(i).Name)
			}
		}
	}
}

// luminance is the relative luminance of a colour written #rrggbb (WCAG 2).
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	v, err := strconv.ParseUint(hex[1:], 16, 32)
	if err != nil || len(hex) != 7 {
		t.Fatalf("colour %q: want #rrggbb", hex)
	}
	lin := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(v>>16&0xff) + 0.7152*lin(v>>8&0xff) + 0.0722*lin(v&0xff)
}

// contrast is the WCAG contrast ratio of two colours.
func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// TestThemeContrast computes the contrast of each theme's colours on its
// background: text (body, quieter text, links) at least 4.5:1 and the
// chart's lines at least 3:1, WCAG AA for text and for graphics.
func TestThemeContrast(t *testing.T) {
	for _, name := range []string{themeLight, themeDark} {
		p := palettes[name]
		for _, c := range []struct{ what, colour string }{{"text", p.fg}, {"quieter text", p.muted}, {"link", p.link}} {
			if r := contrast(t, c.colour, p.bg); r < 4.5 {
				t.Errorf("%s: %s %s on %s: got %.2f:1, want 4.5:1 or more", name, c.what, c.colour, p.bg, r)
			}
		}
		if len(p.series) != len(palettes[themeLight].series) {
			t.Errorf("%s: got %d line colours, want %d", name, len(p.series), len(palettes[themeLight].series))
		}
		for i, c := range p.series {
			if r := contrast(t, c, p.bg); r < 3 {
				t.Errorf("%s: line %d %s on %s: got %.2f:1, want 3:1 or more", name, i+1, c, p.bg, r)
			}
		}
	}
}

// TestUnitsAndFlagsTranslated checks that every unit of the bundled
// release and every flag an observation or a point can carry has a text in
// each language other than English, which shows them as published: a
// Norwegian page must not fall back to "offences" or "suppressed".
func TestUnitsAndFlagsTranslated(t *testing.T) {
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{series.FlagSmallCount, series.FlagHarmonised}
	for _, f := range store.Flags {
		flags = append(flags, f.ID)
	}
	for _, lang := range chartLangs {
		if lang == langEN {
			continue
		}
		w := wordsOf[lang]
		for _, m := range ds.Measures {
			if w.Units[m.Unit] == "" {
				t.Errorf("%s: unit %q (measure %s) has no text", lang, m.Unit, m.ID)
			}
		}
		for _, f := range flags {
			if w.FlagNames[f] == "" {
				t.Errorf("%s: flag %q has no text", lang, f)
			}
		}
	}
}
