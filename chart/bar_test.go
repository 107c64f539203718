package chart_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/chart"
)

// nordicBars is human trafficking in the Nordic countries in 2020, as the
// bundled release has it: one suppressed value, one small count, listed
// out of order.
func nordicBars() chart.Bars {
	return chart.Bars{
		Title: "Human trafficking, reported offences, 2020",
		Desc:  "Bar chart of reported offences (offences) in 2020, largest first.",
		Unit:  "offences",
		Bars: []chart.Bar{
			{Label: "Norway", Value: num(39), Highlight: true},
			{Label: "Denmark", Text: "<5"},
			{Label: "Sweden", Value: num(196)},
			{Label: "Iceland", Value: num(17), Text: "*", Small: true},
			{Label: "Finland", Value: num(111)},
		},
	}
}

// districtBars is twelve police districts' rates, with a gap, a district
// without a rate and a long name.
func districtBars() chart.Bars {
	names := []string{"Oslo", "Øst", "Innlandet", "Sør-Øst", "Agder", "Sør-Vest", "Vest", "Møre og Romsdal",
		"Trøndelag", "Nordland", "Troms", "Finnmark police district, a name far too long for the label column"}
	c := chart.Bars{Title: "Reported offences per 100,000 inhabitants, 2023", Unit: "per 100,000 inhabitants"}
	for i, n := range names {
		b := chart.Bar{Label: n, Value: num(float64((i*37)%90) + 0.25*float64(i))}
		switch i {
		case 3:
			b = chart.Bar{Label: n, Text: "no figure"}
		case 7:
			b = chart.Bar{Label: n, Text: "no rate"}
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

func TestBarsSVG(t *testing.T) {
	tests := []struct {
		name string
		c    chart.Bars
	}{
		{"bar-nordic", nordicBars()},
		{"bar-districts", districtBars()},
		{"bar-empty", chart.Bars{Title: "Nothing", Unit: "offences", NoData: "Ingen tall"}},
		{"bar-escaping", chart.Bars{Title: `<b>"A" & B</b>`, Desc: "x < y & z", Unit: "a&b",
			Bars: []chart.Bar{{Label: "<Region & co>", Value: num(1)}, {Label: `"Q"`, Text: "<5"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := chart.BarsSVG(&buf, tt.c); err != nil {
				t.Fatalf("BarsSVG: %v", err)
			}
			got := buf.Bytes()
			checkWellFormed(t, got)
			checkInside(t, got)
			golden := filepath.Join("testdata", tt.name+".svg")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./chart -run Bars -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Errorf("%s differs at byte %d: got %q, want %q (run go test ./chart -run Bars -update and review the diff)",
					golden, i, around(got, i), around(want, i))
			}
		})
	}
}

// TestBarsOrder checks the drawn order, largest first and bars without a
// number last, whatever the order given; and that such a bar is an outline
// with its text, never a bar of length zero.
func TestBarsOrder(t *testing.T) {
	c := nordicBars()
	var got []string
	for _, b := range c.Sorted() {
		got = append(got, b.Label)
	}
	if want := "Sweden Finland Norway Iceland Denmark"; strings.Join(got, " ") != want {
		t.Errorf("order: got %q, want %q", strings.Join(got, " "), want)
	}
	if got, want := chart.BarsText(c), "Sweden: 196; Finland: 111; Norway: 39; Iceland: 17 *; Denmark: <5"; got != want {
		t.Errorf("BarsText: got %q, want %q", got, want)
	}

	var buf bytes.Buffer
	if err := chart.BarsSVG(&buf, c); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	if regexp.MustCompile(`width="0"`).MatchString(svg) {
		t.Errorf("a bar of width 0 is drawn: got %s", svg)
	}
	if !strings.Contains(svg, `stroke-dasharray="4 3"/><text x="`) || !strings.Contains(svg, `font-style="italic">&lt;5</text>`) {
		t.Errorf("suppressed bar: got no dashed outline with <5 in %s", svg)
	}
	// Sweden's bar is drawn before Denmark's outline.
	if strings.Index(svg, "<title>Sweden: 196</title>") > strings.Index(svg, "<title>Denmark: &lt;5</title>") {
		t.Errorf("Sweden drawn after Denmark, want largest first")
	}
}

func TestBarsPNG(t *testing.T) {
	tests := []struct {
		name string
		c    chart.Bars
		opt  chart.PNGOptions
	}{
		{"bar-png-nordic", nordicBars(), chart.PNGOptions{Footer: "Source: UNODC, “Global Report on Trafficking in Persons” (2025). Compiled by Krimstat, release 20250414."}},
		{"bar-png-districts", districtBars(), chart.PNGOptions{Width: 640, Height: 360, Scale: 2, Footer: "Kilde: Politiet. Satt sammen av Krimstat, versjon 1."}},
		{"bar-png-empty", chart.Bars{Title: "Ingen tall", Unit: "lovbrudd"}, chart.PNGOptions{Width: 320, Height: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := chart.BarsPNG(&buf, tt.c, tt.opt); err != nil {
				t.Fatalf("BarsPNG: %v", err)
			}
			got := buf.Bytes()
			img := decodePNG(t, got)
			checkSize(t, img, tt.opt)
			checkMargin(t, img, tt.opt)

			var again bytes.Buffer
			if err := chart.BarsPNG(&again, tt.c, tt.opt); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again.Bytes()) {
				t.Errorf("two renders differ: want the same bytes")
			}

			golden := filepath.Join("testdata", tt.name+".png")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./chart -run Bars -update to create it)", err)
			}
			want := decodePNG(t, b)
			if got, want := img.Bounds(), want.Bounds(); got != want {
				t.Fatalf("%s: got size %v, want %v", golden, got.Size(), want.Size())
			}
			if n, first := differing(img, want); float64(n) > pngPixelTolerance*float64(img.Bounds().Dx()*img.Bounds().Dy()) {
				t.Errorf("%s: got %d pixels differing (first at %v), want at most %.1f %% (run go test ./chart -run Bars -update and look at the image)",
					golden, n, first, 100*pngPixelTolerance)
			}
		})
	}
}

func TestBarsPNGOptionsRefused(t *testing.T) {
	for _, opt := range []chart.PNGOptions{{Width: -1}, {Scale: 3}} {
		if err := chart.BarsPNG(&bytes.Buffer{}, nordicBars(), opt); err == nil {
			t.Errorf("%+v: got no error, want one", opt)
		}
	}
}

// BenchmarkBarsPNG renders the twelve districts' comparison as the social
// card (1200 × 630) at scale 1 and 2 and reports the bytes of each image.
func BenchmarkBarsPNG(b *testing.B) {
	c := districtBars()
	for _, scale := range []int{1, 2} {
		b.Run("1200x630@"+strconv.Itoa(scale), func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := chart.BarsPNG(&buf, c, chart.PNGOptions{Scale: scale, Footer: "Kilde: Politiet."}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
