// Package chart draws a small, accessible line chart of time series as a
// self-contained SVG document: no scripts, no fonts or images to fetch, so
// it can be served as an image and inlined into a page whose Content
// Security Policy forbids every external request.
//
// It is hand-written on purpose. The Go chart libraries on the module proxy
// either render through font rasterisers and draw far more than needed
// (gonum/plot, wcharczuk/go-chart, the latter unmaintained) or emit HTML
// that loads a JavaScript library from a CDN (go-echarts), which an embed
// that must make no external request cannot use. What is needed here is a
// few polylines, axes and labels, with gaps kept as gaps.
package chart

import (
	"bufio"
	"cmp"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// Point is one value of a line. Value nil means the source printed no
// number (Text, such as "<5", says what it printed): no marker is drawn and
// the line breaks there.
type Point struct {
	X     float64  // position on the time axis, in years (2013.5 is mid-2013)
	Label string   // the period as written, e.g. 2013 or 2013-T1
	Value *float64 // nil for a value the source did not publish as a number
	Text  string   // what the source printed instead of a number
	// Joined draws a segment from the previous point of the line: set it
	// only when the previous point is the period just before this one, so
	// that a missing period shows as a gap, never as a straight line.
	Joined bool
}

// Line is one series drawn as markers joined where Point.Joined says. Each
// line has its own colour, in the order of Chart.Lines, and an entry in the
// legend under its Label.
type Line struct {
	Label  string
	Dashed bool // e.g. for parts of years, drawn apart from calendar years
	Points []Point
}

// Chart is what SVG draws.
type Chart struct {
	Title string // the accessible name (<title>)
	Desc  string // the accessible description (<desc>)
	Unit  string // the y axis label
	Lines []Line
	// NoData is drawn across an empty plot, when no line has a point;
	// empty means "No figures for this series".
	NoData string
	// Width and Height are the viewBox size; the SVG scales to its
	// container. A legend too long for one row wraps, and each further row
	// adds legendRow to the height.
	Width, Height int
	// Number writes the axis' ticks and the markers' values (rounded to
	// two decimals), e.g. as a language writes numbers; nil writes them
	// as Go does (1234.5).
	Number func(float64) string
	// ID starts the ids of the SVG's title and description (ID-title,
	// ID-desc); empty means "chart". A page that inlines two charts (a
	// wide and a narrow one) gives each its own, as ids must be unique.
	ID string
}

// tick writes an axis tick.
func (c Chart) tick(v float64) string {
	if c.Number != nil {
		return c.Number(v)
	}
	return formatTick(v)
}

// value writes a marker's value with at most two decimals.
func (c Chart) value(v float64) string {
	if c.Number != nil {
		return c.Number(math.Round(v*100) / 100)
	}
	return formatValue(v)
}

// palette holds the lines' colours: twelve, enough for the most series a
// request may ask for, each dark enough to read against white (contrast
// 3:1 or more). A thirteenth line reuses the first colour.
var palette = []string{
	"#1b5e9f", "#c45a00", "#2e7d32", "#7b1fa2", "#c62828", "#00838f",
	"#6d4c41", "#ad1457", "#546e7a", "#827717", "#283593", "#212121",
}

// Palette returns the lines' colours, in the order lines take them, so
// that a page inlining the SVG can restyle them (e.g. for a dark theme).
func Palette() []string { return append([]string(nil), palette...) }

// legendRow is the height of one row of the legend.
const legendRow = 18.0

// SVG writes c as an SVG document (without an XML declaration, so that the
// same bytes can be inlined into HTML). The y axis starts at zero: these are
// counts and rates, and a cut axis would exaggerate a change.
func SVG(w io.Writer, c Chart) error {
	if c.Width <= 0 {
		c.Width = 640
	}
	if c.Height <= 0 {
		c.Height = 360
	}
	const left, right, top, bottom = 64.0, 16.0, 16.0, 56.0
	W, H := float64(c.Width), float64(c.Height)
	plotW, plotH := W-left-right, H-top-bottom
	legend, rows := layoutLegend(c.Lines, left, W-right)
	if rows > 1 {
		// The plot keeps its size; the document grows by the extra rows.
		H += float64(rows-1) * legendRow
	}

	x0, x1, yTicks, yMax, n := c.scales()
	sx := func(x float64) float64 { return left + (x-x0)/(x1-x0)*plotW }
	sy := func(y float64) float64 { return top + plotH - y/yMax*plotH }

	b := bufio.NewWriter(w)
	esc := html.EscapeString
	svgHead(b, c.ID, c.Title, c.Desc, c.Width, H)

	// Grid and y axis.
	b.WriteString(`<g class="y-axis" fill="#444" stroke="#ddd">`)
	for _, t := range yTicks {
		y := sy(t)
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, f(left), f(left+plotW), f(y), f(y))
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" stroke="none" dominant-baseline="middle">%s</text>`, f(left-6), f(y), esc(c.tick(t)))
	}
	fmt.Fprintf(b, `<text transform="translate(14 %s) rotate(-90)" text-anchor="middle" stroke="none">%s</text>`, f(top+plotH/2), esc(c.Unit))
	b.WriteString(`</g>`)

	// x axis: a tick per year, thinned to at most 12 labels and so that
	// labels (four digits) never touch on a narrow chart. With no points
	// there are no years to show: the axis is drawn bare.
	step := int(math.Ceil((x1 - x0) / 12))
	if perYear := plotW / (x1 - x0); perYear > 0 {
		step = max(step, int(math.Ceil((4*charWidth+10)/perYear)))
	}
	b.WriteString(`<g class="x-axis" fill="#444" stroke="#999">`)
	fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, f(left), f(left+plotW), f(top+plotH), f(top+plotH))
	for y := int(x0); n > 0 && y <= int(x1); y += step {
		x := sx(float64(y))
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, f(x), f(x), f(top+plotH), f(top+plotH+4))
		if y < int(x1) {
			// A year's label sits in the middle of its span.
			fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" stroke="none">%d</text>`, f(sx(float64(y)+0.5)), f(top+plotH+18), y)
		}
	}
	b.WriteString(`</g>`)

	if n == 0 {
		noData := c.NoData
		if noData == "" {
			noData = "No figures for this series"
		}
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="#444">%s</text>`, f(left+plotW/2), f(top+plotH/2), esc(noData))
	}

	// Lines and markers. With several lines a marker's tooltip names its
	// line, and the texts printed instead of numbers stack up where lines
	// share a period rather than overwrite each other.
	texts := map[float64]int{}
	for i, l := range c.Lines {
		color := palette[i%len(palette)]
		dash := ""
		if l.Dashed {
			dash = ` stroke-dasharray="5 4"`
		}
		fmt.Fprintf(b, `<g class="series" stroke="%s" fill="%s">`, color, color)
		var path strings.Builder
		var prev *Point
		for j := range l.Points {
			p := &l.Points[j]
			if p.Value != nil && p.Joined && prev != nil && prev.Value != nil {
				fmt.Fprintf(&path, "M%s %sL%s %s", f(sx(prev.X)), f(sy(*prev.Value)), f(sx(p.X)), f(sy(*p.Value)))
			}
			prev = p
		}
		if path.Len() > 0 {
			fmt.Fprintf(b, `<path d="%s" fill="none" stroke-width="2"%s/>`, path.String(), dash)
		}
		for _, p := range l.Points {
			if p.Value == nil {
				// Not a number: the printed text on the axis, no marker.
				y := top + plotH - 4 - 11*float64(texts[p.X])
				texts[p.X]++
				fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" stroke="none" font-size="10">%s</text>`, f(sx(p.X)), f(y), esc(p.Text))
				continue
			}
			name := p.Label
			if len(c.Lines) > 1 {
				name = l.Label + ", " + p.Label
			}
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3.5"><title>%s: %s</title></circle>`,
				f(sx(p.X)), f(sy(*p.Value)), esc(name), esc(c.value(*p.Value)))
		}
		b.WriteString(`</g>`)
	}

	// Legend below the axis, a row at a time. A legend rather than labels
	// at the line ends: names of up to 30 characters would take a third of
	// the plot's width, and lines that end close together would need their
	// labels moved apart; each marker's tooltip names its line instead.
	for i, l := range c.Lines {
		color := palette[i%len(palette)]
		dash := ""
		if l.Dashed {
			dash = ` stroke-dasharray="5 4"`
		}
		e := legend[i]
		y := float64(c.Height) - 14 + float64(e.row)*legendRow
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`, f(e.x), f(e.x+18), f(y), f(y), color, dash)
		fmt.Fprintf(b, `<text x="%s" y="%s" dominant-baseline="middle" fill="#222">%s</text>`, f(e.x+24), f(y), esc(e.label))
	}
	b.WriteString(`</svg>`)
	return b.Flush()
}

// legendEntry is where a line's legend entry goes, and its text.
type legendEntry struct {
	x     float64
	row   int
	label string
}

// charWidth is the width of a character of the legend, estimated: the SVG
// names no font, so the real width is not known here.
const charWidth = 6.5

// layoutLegend places the legend entries left to right from x0, starting a
// new row when an entry would run past x1, and returns them with the
// number of rows. A label too long for a row on its own is cut with an
// ellipsis, so that no text leaves the viewBox.
func layoutLegend(lines []Line, x0, x1 float64) ([]legendEntry, int) {
	out := make([]legendEntry, len(lines))
	x, row := x0, 0
	for i, l := range lines {
		label := []rune(l.Label)
		// An entry is an 18-unit swatch, a 6-unit gap and the label.
		if most := int((x1 - x0 - 24) / charWidth); len(label) > most && most > 1 {
			label = append(label[:most-1], '…')
		}
		w := 24 + charWidth*float64(len(label))
		if x > x0 && x+w > x1 {
			x, row = x0, row+1
		}
		out[i] = legendEntry{x: x, row: row, label: string(label)}
		x += w + 16
	}
	if len(lines) == 0 {
		return out, 0
	}
	return out, row + 1
}

// niceTicks returns 0 and round steps up to at least max.
func niceTicks(max float64) []float64 {
	if max <= 0 || math.IsNaN(max) || math.IsInf(max, 0) {
		return []float64{0, 1}
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for i := 0; ; i++ {
		t := math.Round(float64(i)*step*1e9) / 1e9
		ticks = append(ticks, t)
		if t >= max {
			break
		}
	}
	return ticks
}

func f(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func formatTick(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// formatValue writes a value with at most two decimals.
// svgHead writes the opening of a chart's SVG document: the root element,
// which scales to its container, the accessible title and description
// (their ids start with id, "chart" when empty) and the white background.
func svgHead(b *bufio.Writer, id, title, desc string, width int, height float64) {
	id = cmp.Or(id, "chart")
	esc := html.EscapeString
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %s" width="100%%" role="img" aria-labelledby="%s-title %s-desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="12">`, width, f(height), id, id)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(title), id, esc(desc))
	fmt.Fprintf(b, `<rect x="0" y="0" width="%d" height="%s" fill="#fff"/>`, width, f(height))
}

func formatValue(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }

// scales are the chart's axes, the same in every rendering: whole years on
// the x axis (x0 to x1) and the y axis from zero to a round number (yMax,
// with its ticks). n is the number of points; with none, only the zero
// line is drawn, with no made-up top of 1.
func (c Chart) scales() (x0, x1 float64, yTicks []float64, yMax float64, n int) {
	minX, maxX, maxY := math.Inf(1), math.Inf(-1), 0.0
	for _, l := range c.Lines {
		for _, p := range l.Points {
			minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
			if p.Value != nil {
				maxY = math.Max(maxY, *p.Value)
			}
			n++
		}
	}
	if n == 0 {
		minX, maxX = 0, 1
	}
	x0, x1 = math.Floor(minX), math.Ceil(maxX)
	if x1 <= x0 {
		x1 = x0 + 1
	}
	yTicks = niceTicks(maxY)
	yMax = yTicks[len(yTicks)-1]
	if n == 0 {
		yTicks = yTicks[:1]
	}
	return x0, x1, yTicks, yMax, n
}
