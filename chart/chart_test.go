package chart_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/krimstat/krimstat/chart"
)

// The golden files are the review surface for a change to the drawing: run
// `go test ./chart -update` and read the diff of testdata/*.svg.
var update = flag.Bool("update", false, "rewrite chart/testdata/*.svg from the current output")

// num returns a pointer to v, since Point.Value is nil for a suppressed
// figure and so must be a pointer.
func num(v float64) *float64 { return &v }

func TestSVG(t *testing.T) {
	tests := []struct {
		name string
		c    chart.Chart
	}{
		{
			// 2011 was not published as a number and 2013 is missing
			// altogether: neither gap may be bridged by a segment.
			name: "yearly-gap",
			c: chart.Chart{
				Title: "Sex purchase, reported persons, Norway",
				Desc:  "Line chart of reported persons (persons).",
				Unit:  "persons",
				Lines: []chart.Line{{
					Label: "calendar year",
					Points: []chart.Point{
						{X: 2009.5, Label: "2009", Value: num(334)},
						{X: 2010.5, Label: "2010", Value: num(359), Joined: true},
						{X: 2011.5, Label: "2011", Text: "..", Joined: true},
						{X: 2012.5, Label: "2012", Value: num(301), Joined: true},
						{X: 2014.5, Label: "2014", Value: num(288)},
						{X: 2015.5, Label: "2015", Value: num(310.456), Joined: true},
					},
				}},
				Width:  640,
				Height: 360,
			},
		},
		{
			// Tertials sit at the middle of their four months; the
			// zero Width and Height take the defaults.
			name: "dashed-tertials",
			c: chart.Chart{
				Title: "Human trafficking, reported offences, Oslo",
				Desc:  "Line chart of reported offences (offences).",
				Unit:  "offences",
				Lines: []chart.Line{{
					Label:  "January-April etc. (tertial)",
					Dashed: true,
					Points: []chart.Point{
						{X: 2013 + 2.0/12, Label: "2013-T1", Value: num(12)},
						{X: 2013 + 6.0/12, Label: "2013-T2", Value: num(17), Joined: true},
						{X: 2013 + 10.0/12, Label: "2013-T3", Value: num(9), Joined: true},
						{X: 2014 + 2.0/12, Label: "2014-T1", Value: num(14), Joined: true},
					},
				}},
			},
		},
		{
			// Small counts are printed as "<5" to protect the people
			// counted; the chart writes that text instead of a marker.
			name: "suppressed",
			c: chart.Chart{
				Title: "Human trafficking, convicted persons, Finnmark",
				Desc:  "Line chart of convicted persons (persons). Values: 2016: 6; 2017: <5; 2018: 7.",
				Unit:  "persons",
				Lines: []chart.Line{{
					Label: "calendar year",
					Points: []chart.Point{
						{X: 2016.5, Label: "2016", Value: num(6)},
						{X: 2017.5, Label: "2017", Text: "<5", Joined: true},
						{X: 2018.5, Label: "2018", Value: num(7), Joined: true},
					},
				}},
				Width:  640,
				Height: 360,
			},
		},
		{
			// Five lines of one series, by kind of period: each its own
			// colour, the legend on one row, and each marker's tooltip
			// naming its line.
			name: "several-lines",
			c: chart.Chart{
				Title: "Sex purchase, reported offences per 100 000 inhabitants, Norway",
				Desc:  "Line chart of reported offences (per 100 000 inhabitants).",
				Unit:  "per 100 000 inhabitants",
				Lines: []chart.Line{
					{Label: "calendar year", Points: []chart.Point{
						{X: 2013.5, Label: "2013", Value: num(6.12)},
						{X: 2014.5, Label: "2014", Value: num(5.8), Joined: true},
					}},
					{Label: "half year", Dashed: true, Points: []chart.Point{
						{X: 2013.25, Label: "2013-H1", Value: num(3.1)},
						{X: 2013.75, Label: "2013-H2", Value: num(3.02), Joined: true},
					}},
					{Label: "January-April etc. (tertial)", Dashed: true, Points: []chart.Point{
						{X: 2014 + 2.0/12, Label: "2014-T1", Value: num(2.2)},
						{X: 2014 + 6.0/12, Label: "2014-T2", Value: num(1.9), Joined: true},
					}},
					{Label: "quarter", Dashed: true, Points: []chart.Point{
						{X: 2013 + 1.5/12, Label: "2013-Q1", Value: num(1.4)},
						{X: 2013 + 4.5/12, Label: "2013-Q2", Value: num(1.6), Joined: true},
					}},
					{Label: "month", Dashed: true, Points: []chart.Point{
						{X: 2014 + 0.5/12, Label: "2014-01", Value: num(0.5)},
						{X: 2014 + 1.5/12, Label: "2014-02", Value: num(0.45), Joined: true},
					}},
				},
				Width:  800,
				Height: 400,
			},
		},
		{
			// Twelve series (regions) of one measure: twelve colours, a
			// legend that wraps onto more rows and makes the document
			// taller, a label too long for a row cut short, and two
			// regions' "<5" in the same year stacked, not overprinted.
			name: "twelve-series",
			c:    twelveSeries(),
		},
		{
			// A series with no figures still draws its axes and says so,
			// without year labels (there are no years): before, it
			// labelled the years 0 and 1, the second outside the viewBox.
			name: "empty",
			c: chart.Chart{
				Title: "Sex purchase, reported persons, Svalbard",
				Desc:  "Line chart of reported persons (persons). No figures.",
				Unit:  "persons",
			},
		},
		{
			// Every text the chart writes comes from data, so each must be
			// escaped; æøå must pass through as UTF-8, not as references.
			name: "escaping",
			c: chart.Chart{
				Title: `Vold & trusler <"nære relasjoner"> i Tromsø, Bærum og Ålesund`,
				Desc:  `Kilde: SSB & Politiet; verdier < 5 er skjult, > 0 vises; "ukjent" er tom. 'æøå ÆØÅ'`,
				Unit:  `anmeldte & "siktede" <personer>`,
				Lines: []chart.Line{{
					Label: `kalenderår <"hele">`,
					Points: []chart.Point{
						{X: 2020.5, Label: `2020 & "før"`, Value: num(41)},
						{X: 2021.5, Label: "2021", Text: `<5 & "skjult"`, Joined: true},
					},
				}},
				Width:  640,
				Height: 360,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := chart.SVG(&buf, tt.c); err != nil {
				t.Fatalf("SVG: %v", err)
			}
			got := buf.Bytes()
			checkWellFormed(t, got)
			checkInside(t, got)

			golden := filepath.Join("testdata", tt.name+".svg")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./chart -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Errorf("%s differs at byte %d: got %q, want %q (run go test ./chart -update and review the diff)",
					golden, i, around(got, i), around(want, i))
			}
		})
	}
}

// checkWellFormed reads the whole document with the strict XML decoder, so
// that an unescaped character or an unclosed element fails here rather than
// in a browser, and checks that the root is an SVG element.
func checkWellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var root xml.Name
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("output is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root.Local == "" {
			root = se.Name
		}
	}
	if want := (xml.Name{Space: "http://www.w3.org/2000/svg", Local: "svg"}); root != want {
		t.Errorf("root element: got %v, want %v", root, want)
	}
}

// twelveSeries is a chart of twelve regions' yearly counts, 2014 to 2016,
// with gaps and suppressed values.
func twelveSeries() chart.Chart {
	regions := []string{"Norway", "Sweden", "Denmark", "Finland", "Iceland", "Oslo police district (2016-)",
		"Vest police district (2016-)", "Øst police district (2016-)", "Innlandet police district (2016-)",
		"Sør-Øst police district (2016-)", "Agder police district (2016-)",
		"Troms police district (2016-), a label far too long to fit on one row of the legend, so it is cut short"}
	c := chart.Chart{
		Title: "Human trafficking: reported offences, twelve regions",
		Desc:  "Line chart of reported offences (offences), 12 series.",
		Unit:  "offences",
	}
	for i, r := range regions {
		l := chart.Line{Label: r}
		for j, year := range []int{2014, 2015, 2016} {
			p := chart.Point{X: float64(year) + 0.5, Label: strconv.Itoa(year), Value: num(float64(10*(i+1) + 5*j)), Joined: j > 0}
			switch {
			case i == 1 && year == 2015, i == 2 && year == 2015:
				p.Value, p.Text = nil, "<5"
			case i == 3 && year == 2015:
				continue // a gap: no point
			case i == 3 && year == 2016:
				p.Joined = false
			}
			l.Points = append(l.Points, p)
		}
		c.Lines = append(c.Lines, l)
	}
	return c
}

// checkInside checks that every text the chart places by x and y lies
// within the viewBox.
func checkInside(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var w, h float64
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		switch se.Name.Local {
		case "svg":
			if _, err := fmt.Sscanf(attr["viewBox"], "0 0 %g %g", &w, &h); err != nil {
				t.Fatalf("viewBox %q: %v", attr["viewBox"], err)
			}
		case "text":
			if attr["x"] == "" {
				continue // placed by a transform: the y axis label
			}
			x, _ := strconv.ParseFloat(attr["x"], 64)
			y, _ := strconv.ParseFloat(attr["y"], 64)
			if x < 0 || x > w || y < 0 || y > h {
				t.Errorf("text at (%v, %v): outside the viewBox 0 0 %v %v", x, y, w, h)
			}
		}
	}
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// around returns up to 40 bytes either side of i, enough to spot the change
// in a one-line document without printing all of it.
func around(b []byte, i int) []byte {
	return b[max(0, i-40):min(len(b), i+40)]
}

// TestNoData checks the text drawn across an empty plot: the caller's,
// escaped, or the default.
func TestNoData(t *testing.T) {
	for _, tt := range []struct{ noData, want string }{
		{"", ">No figures for this series</text>"},
		{`Ingen tall for "disse" seriene & regionene`, ">Ingen tall for &#34;disse&#34; seriene &amp; regionene</text>"},
	} {
		var buf bytes.Buffer
		if err := chart.SVG(&buf, chart.Chart{Title: "t", NoData: tt.noData}); err != nil {
			t.Fatal(err)
		}
		checkWellFormed(t, buf.Bytes())
		if !bytes.Contains(buf.Bytes(), []byte(tt.want)) {
			t.Errorf("NoData %q: got %s, want it to contain %s", tt.noData, buf.Bytes(), tt.want)
		}
	}
}
