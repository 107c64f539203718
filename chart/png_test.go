package chart_test

import (
	"bytes"
	"cmp"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/krimstat/krimstat/chart"
)

// The PNG goldens are compared with a tolerance rather than byte for byte:
// antialiasing may round differently on another CPU or release of Go,
// which is not a change to the drawing. A pixel differs when a channel is
// off by more than pngChannelTolerance; a test fails when more than
// pngPixelTolerance of the pixels differ. Review a change by looking at
// testdata/*.png after `go test ./chart -update`.
const (
	pngChannelTolerance = 8
	pngPixelTolerance   = 0.005
)

// districtChart is a chart of the twelve police districts of 2016, their
// yearly counts 2016 to 2023, with one suppressed value and one missing
// year.
func districtChart() chart.Chart {
	districts := []string{"Oslo", "Øst", "Innlandet", "Sør-Øst", "Agder", "Sør-Vest",
		"Vest", "Møre og Romsdal", "Trøndelag", "Nordland", "Troms", "Finnmark"}
	c := chart.Chart{
		Title: "Menneskehandel, Oslo, Øst, Innlandet, Sør-Øst, Agder, Sør-Vest, Vest, Møre og Romsdal, Trøndelag, Nordland, Troms og Finnmark: anmeldte lovbrudd",
		Unit:  "lovbrudd",
		Lines: make([]chart.Line, 0, len(districts)),
	}
	for i, d := range districts {
		l := chart.Line{Label: d}
		for j, year := range []int{2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023} {
			p := chart.Point{X: float64(year) + 0.5, Label: strconv.Itoa(year), Joined: j > 0,
				Value: num(float64(8*(12-i) + (i*7+j*5)%13))}
			switch {
			case d == "Finnmark" && year == 2019:
				p.Value, p.Text = nil, "<5"
			case d == "Troms" && year == 2020:
				continue // no figure published: a gap
			case d == "Troms" && year == 2021:
				p.Joined = false
			}
			l.Points = append(l.Points, p)
		}
		c.Lines = append(c.Lines, l)
	}
	return c
}

func TestPNG(t *testing.T) {
	footer := "Kilde: Politiet, “Anmeldte lovbrudd 2016–2023” (2024); folketall: SSB. Satt sammen av Krimstat, utgave 20250414-3da80bd7."
	tests := []struct {
		name string
		c    chart.Chart
		opt  chart.PNGOptions
	}{
		{
			// One series: 2011 printed as "..", 2013 missing altogether,
			// 2017 below five: none bridged by a segment.
			name: "png-gap",
			c: chart.Chart{
				Title: "Sexkjøp, Norge: anmeldte personer",
				Unit:  "personer",
				Lines: []chart.Line{{
					Label: "kalenderår",
					Points: []chart.Point{
						{X: 2009.5, Label: "2009", Value: num(334)},
						{X: 2010.5, Label: "2010", Value: num(359), Joined: true},
						{X: 2011.5, Label: "2011", Text: "..", Joined: true},
						{X: 2012.5, Label: "2012", Value: num(301), Joined: true},
						{X: 2014.5, Label: "2014", Value: num(288)},
						{X: 2015.5, Label: "2015", Value: num(310.456), Joined: true},
						{X: 2016.5, Label: "2016", Value: num(12), Joined: true},
						{X: 2017.5, Label: "2017", Text: "<5", Joined: true},
						{X: 2018.5, Label: "2018", Value: num(7), Joined: true},
					},
				}},
			},
			opt: chart.PNGOptions{Footer: footer},
		},
		{
			// Twelve districts: twelve colours, a legend over several rows,
			// a title over two lines, æøå in names.
			name: "png-districts",
			c:    districtChart(),
			opt:  chart.PNGOptions{Footer: footer},
		},
		{
			// No figures: the axes and the caller's text.
			name: "png-empty",
			c: chart.Chart{
				Title:  "Menneskehandel, Svalbard: domfelte personer",
				Unit:   "personer",
				NoData: "Ingen tall for denne serien",
			},
			opt: chart.PNGOptions{Footer: "Ingen kilde har tall for denne serien. Satt sammen av Krimstat, utgave 20250414-3da80bd7."},
		},
		{
			// Twice the pixels of a small chart of calendar years and
			// dashed tertials, two "<5" in one period stacked.
			name: "png-scale2",
			c: chart.Chart{
				Title: "Menneskehandel, Trøndelag og Møre og Romsdal: anmeldte lovbrudd",
				Unit:  "lovbrudd",
				Lines: []chart.Line{
					{Label: "Trøndelag", Points: []chart.Point{
						{X: 2013.5, Label: "2013", Value: num(38)},
						{X: 2014.5, Label: "2014", Text: "<5", Joined: true},
						{X: 2015.5, Label: "2015", Value: num(41), Joined: true},
					}},
					{Label: "Møre og Romsdal, januar–april osv. (tertial)", Dashed: true, Points: []chart.Point{
						{X: 2013 + 2.0/12, Label: "2013-T1", Value: num(12)},
						{X: 2013 + 6.0/12, Label: "2013-T2", Value: num(17), Joined: true},
						{X: 2013 + 10.0/12, Label: "2013-T3", Value: num(9), Joined: true},
						{X: 2014.5, Label: "2014", Text: "<5"},
						{X: 2015 + 2.0/12, Label: "2015-T1", Value: num(14)},
					}},
				},
			},
			opt: chart.PNGOptions{Width: 640, Height: 360, Scale: 2, Footer: footer},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderPNG(t, tt.c, tt.opt)
			if again := renderPNG(t, tt.c, tt.opt); !bytes.Equal(got, again) {
				t.Fatalf("two renderings differ: got %d bytes, then %d", len(got), len(again))
			}
			img := decodePNG(t, got)
			checkSize(t, img, tt.opt)
			checkMargin(t, img, tt.opt)

			golden := filepath.Join("testdata", tt.name+".png")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./chart -update to create it)", err)
			}
			want := decodePNG(t, b)
			if got, want := img.Bounds(), want.Bounds(); got != want {
				t.Fatalf("%s: got size %v, want %v", golden, got.Size(), want.Size())
			}
			if n, first := differing(img, want); float64(n) > pngPixelTolerance*float64(img.Bounds().Dx()*img.Bounds().Dy()) {
				t.Errorf("%s: got %d pixels differing (first at %v), want at most %.1f %% (run go test ./chart -update and look at the image)",
					golden, n, first, 100*pngPixelTolerance)
			}
		})
	}
}

// TestPNGSizes checks sizes from the smallest the API allows to the
// largest, with the longest legend: the image has the size asked for and
// nothing is drawn into its margin.
func TestPNGSizes(t *testing.T) {
	for _, opt := range []chart.PNGOptions{
		{Width: 320, Height: 200},
		{Width: 320, Height: 1600, Footer: "Kilde: Politiet."},
		{Width: 2400, Height: 200, Scale: 2, Footer: "Kilde: Politiet."},
		{Width: 800, Height: 800, Footer: "Kilde: Politiet, en svært lang kildelinje som må brytes over flere linjer. " + districtChart().Title},
	} {
		t.Run(fmt.Sprintf("%dx%d@%d", opt.Width, opt.Height, opt.Scale), func(t *testing.T) {
			img := decodePNG(t, renderPNG(t, districtChart(), opt))
			checkSize(t, img, opt)
			checkMargin(t, img, opt)
		})
	}
}

func TestPNGOptionsRefused(t *testing.T) {
	for _, opt := range []chart.PNGOptions{{Scale: 3}, {Scale: -1}, {Width: -1}, {Height: -5}} {
		var buf bytes.Buffer
		if err := chart.PNG(&buf, chart.Chart{}, opt); err == nil {
			t.Errorf("options %+v: got no error, want one", opt)
		}
	}
}

// BenchmarkPNG renders the twelve districts as a card at scale 1 and 2 and
// reports the bytes of each image.
func BenchmarkPNG(b *testing.B) {
	c := districtChart()
	for _, scale := range []int{1, 2} {
		b.Run("1200x630@"+strconv.Itoa(scale), func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := chart.PNG(&buf, c, chart.PNGOptions{Scale: scale, Footer: "Kilde: Politiet."}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}

func renderPNG(t *testing.T, c chart.Chart, opt chart.PNGOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := chart.PNG(&buf, c, opt); err != nil {
		t.Fatalf("PNG: %v", err)
	}
	return buf.Bytes()
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return img
}

// checkSize checks that the image is the size asked for, in device pixels.
func checkSize(t *testing.T, img image.Image, opt chart.PNGOptions) {
	t.Helper()
	w, h, s := cmp.Or(opt.Width, chart.PNGWidth), cmp.Or(opt.Height, chart.PNGHeight), cmp.Or(opt.Scale, 1)
	if got, want := img.Bounds().Size(), image.Pt(w*s, h*s); got != want {
		t.Errorf("size: got %v, want %v", got, want)
	}
}

// checkMargin checks that a strip along every edge is white: a text or
// line that ran off the image would first cross it.
func checkMargin(t *testing.T, img image.Image, opt chart.PNGOptions) {
	t.Helper()
	const strip = 4 // CSS pixels; the smallest padding is over 8
	m := strip * cmp.Or(opt.Scale, 1)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if x >= m && x < b.Max.X-m && y >= m && y < b.Max.Y-m {
				x = b.Max.X - m - 1
				continue
			}
			if r, g, bl, _ := img.At(x, y).RGBA(); r != 0xffff || g != 0xffff || bl != 0xffff {
				t.Fatalf("pixel (%d, %d) in the margin: got %v, want white", x, y, img.At(x, y))
			}
		}
	}
}

// differing counts the pixels of a and b (of one size) whose channels
// differ by more than the tolerance, and returns the first.
func differing(a, b image.Image) (int, image.Point) {
	n, first := 0, image.Point{-1, -1}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			for _, d := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}, {a1, a2}} {
				if absDiff(d[0]>>8, d[1]>>8) > pngChannelTolerance {
					if n == 0 {
						first = image.Pt(x, y)
					}
					n++
					break
				}
			}
		}
	}
	return n, first
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
