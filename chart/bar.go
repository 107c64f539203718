package chart

import (
	"bufio"
	"cmp"
	"fmt"
	"html"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
)

// Bar is one region's (or offence's) value in a bar chart. Value nil means
// there is no number to draw: the source printed none (Text "<5"), the
// period is a gap, or no rate can be formed; the bar is then drawn as a
// dashed, empty outline holding Text, never as a bar of length zero,
// which would read as 0.
type Bar struct {
	Label string
	Value *float64
	// Text is drawn instead of a number when Value is nil (empty means
	// "no figure"), and after the number when it is not (such as "*" for
	// a small count).
	Text string
	// Small marks a small count: the bar is drawn lighter.
	Small bool
	// Highlight draws the bar in the second colour, to pick one out.
	Highlight bool
}

// Bars is a horizontal bar chart of one period across regions: what
// BarsSVG and BarsPNG draw.
type Bars struct {
	Title string // the accessible name (<title>), and the PNG's heading
	Desc  string // the accessible description (<desc>): should list every value
	Unit  string // the x axis label
	Bars  []Bar
	// NoData is drawn when there are no bars; empty means "No figures".
	NoData string
	// Width is the SVG's viewBox width (default 640); its height follows
	// from the number of bars.
	Width int
	// Number writes the axis' ticks and the bars' values (rounded to two
	// decimals), as Chart.Number; nil writes them as Go does (1234.5).
	Number func(float64) string
	// ID starts the ids of the SVG's title and description, as Chart.ID.
	ID string
}

// tick writes an axis tick.
func (c Bars) tick(v float64) string {
	if c.Number != nil {
		return c.Number(v)
	}
	return formatTick(v)
}

// label is what is written at the end of a bar, or inside its outline.
func (c Bars) label(b Bar) string {
	if b.Value == nil {
		return cmp.Or(b.Text, "no figure")
	}
	v := formatValue(*b.Value)
	if c.Number != nil {
		v = c.Number(math.Round(*b.Value*100) / 100)
	}
	if b.Text != "" {
		return v + " " + b.Text
	}
	return v
}

// Sorted returns the bars in the order they are drawn: by value, largest
// first, ties by label; bars without a number last, by label. The order
// does not depend on the order given.
func (b Bars) Sorted() []Bar {
	out := slices.Clone(b.Bars)
	slices.SortStableFunc(out, func(x, y Bar) int {
		switch {
		case x.Value == nil && y.Value == nil:
			return cmp.Compare(x.Label, y.Label)
		case x.Value == nil:
			return 1
		case y.Value == nil:
			return -1
		}
		if c := cmp.Compare(*y.Value, *x.Value); c != 0 {
			return c
		}
		return cmp.Compare(x.Label, y.Label)
	})
	return out
}

// Colours of bars: the first two of the palette, and the first lightened
// for small counts. The lighter bar is not the only sign of a small count:
// the caller marks its value (Bar.Text, such as "*") and explains it.
const (
	barColour       = "#1b5e9f"
	barHighlight    = "#c45a00"
	barSmallOpacity = "0.55"
)

// barMax is the largest value drawn, for the axis.
func barMax(bars []Bar) float64 {
	m := 0.0
	for _, b := range bars {
		if b.Value != nil {
			m = math.Max(m, *b.Value)
		}
	}
	return m
}

// barTicks are the x axis' ticks and its end: from zero to a round
// number; with no number to draw, only zero (no made-up end of 1 shown).
func barTicks(bars []Bar) ([]float64, float64) {
	ticks := niceTicks(barMax(bars))
	end := ticks[len(ticks)-1]
	if !slices.ContainsFunc(bars, func(b Bar) bool { return b.Value != nil }) {
		ticks = ticks[:1]
	}
	return ticks, end
}

// BarsSVG writes c as an SVG document, bars sorted (see Bars.Sorted), the
// x axis from zero. Like SVG, it names no font and fetches nothing.
func BarsSVG(w io.Writer, c Bars) error {
	if c.Width <= 0 {
		c.Width = 640
	}
	bars := c.Sorted()
	const top, rowH, barH, bottom, gap = 16.0, 24.0, 16.0, 46.0, 6.0
	W := float64(c.Width)
	rows := max(len(bars), 1)
	H := top + float64(rows)*rowH + bottom

	// Room for the labels on the left, at most a third of the width, and
	// for the value labels at the bar ends on the right.
	labelChars, valueChars := 0, 0
	for _, b := range bars {
		labelChars = max(labelChars, len([]rune(b.Label)))
		if b.Value != nil {
			valueChars = max(valueChars, len([]rune(c.label(b))))
		}
	}
	labelW := math.Min(float64(labelChars)*charWidth, W/3)
	left := 8 + labelW + gap
	right := 16 + float64(valueChars)*charWidth + gap
	plotW := W - left - right
	plotBottom := top + float64(rows)*rowH

	ticks, xMax := barTicks(bars)
	sx := func(v float64) float64 { return left + math.Max(v, 0)/xMax*plotW }

	b := bufio.NewWriter(w)
	esc := html.EscapeString
	svgHead(b, c.ID, c.Title, c.Desc, c.Width, H)

	// Grid and x axis, from zero.
	b.WriteString(`<g class="x-axis grid" fill="#444" stroke="#ddd">`)
	for _, t := range ticks {
		x := sx(t)
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, f(x), f(x), f(top), f(plotBottom))
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" stroke="none">%s</text>`, f(x), f(plotBottom+16), esc(c.tick(t)))
	}
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" stroke="none">%s</text>`, f(left+plotW/2), f(plotBottom+36), esc(c.Unit))
	b.WriteString(`</g>`)

	if len(bars) == 0 {
		noData := cmp.Or(c.NoData, "No figures")
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" dominant-baseline="middle" fill="#444">%s</text>`, f(left+plotW/2), f(top+rowH/2), esc(noData))
	}

	maxChars := int(labelW / charWidth)
	for i, bar := range bars {
		y := top + float64(i)*rowH
		mid := y + rowH/2
		label := []rune(bar.Label)
		if len(label) > maxChars && maxChars > 1 {
			label = append(label[:maxChars-1], '…')
		}
		b.WriteString(`<g class="bar">`)
		fmt.Fprintf(b, `<title>%s: %s</title>`, esc(bar.Label), esc(c.label(bar)))
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle" fill="#222">%s</text>`, f(left-gap), f(mid), esc(string(label)))
		if bar.Value == nil {
			// No number: a dashed outline around the reason, as wide
			// as the reason and no wider, so that nobody reads a
			// length (an outline across the plot would look like the
			// largest bar).
			outline := math.Min(plotW-1, float64(len([]rune(c.label(bar))))*charWidth+12)
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#999" stroke-dasharray="4 3"/>`,
				f(left+0.5), f(y+(rowH-barH)/2), f(outline), f(barH))
			fmt.Fprintf(b, `<text x="%s" y="%s" dominant-baseline="middle" fill="#444" font-style="italic">%s</text>`, f(left+6), f(mid), esc(c.label(bar)))
			b.WriteString(`</g>`)
			continue
		}
		colour, opacity := barColour, ""
		if bar.Highlight {
			colour = barHighlight
		}
		if bar.Small {
			opacity = ` fill-opacity="` + barSmallOpacity + `"`
		}
		end := sx(*bar.Value)
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>`, f(left), f(y+(rowH-barH)/2), f(end-left), f(barH), colour, opacity)
		fmt.Fprintf(b, `<text x="%s" y="%s" dominant-baseline="middle" fill="#222">%s</text>`, f(end+4), f(mid), esc(c.label(bar)))
		b.WriteString(`</g>`)
	}
	// The axis line at zero, over the bars' starts.
	fmt.Fprintf(b, `<line class="zero" x1="%s" x2="%s" y1="%s" y2="%s" stroke="#999"/>`, f(left), f(left), f(top), f(plotBottom))
	b.WriteString(`</svg>`)
	return b.Flush()
}

// BarsPNG draws c as a PNG image: the title at the top, the bars as
// BarsSVG draws them, the unit under the axis, and opt.Footer at the
// bottom. The bars share the height left; with many bars their labels get
// smaller, down to a floor. The same input gives the same bytes.
func BarsPNG(w io.Writer, c Bars, opt PNGOptions) error {
	opt, err := opt.withDefaults()
	if err != nil {
		return err
	}
	p, err := newPainter(opt)
	if err != nil {
		return err
	}
	if err := p.drawBars(c, opt.Footer); err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(w, p.img); err != nil {
		return fmt.Errorf("chart: encode png: %w", err)
	}
	return nil
}

// minBarText is the smallest size of a bar's labels, in CSS pixels.
const minBarText = 7.0

func (p *painter) drawBars(c Bars, footer string) error {
	bars := c.Sorted()
	pad := p.size(cardPad, minPad)
	body, small := p.bodySize, p.smallSize
	textW := p.w - 2*pad

	titleLines := clip(p.title, wrap(p.title, c.Title, textW), 2, textW)
	// Three lines of footer: the source line and the notes that explain
	// the bars without a number.
	footerLines := clip(p.small, wrap(p.small, footer, textW), 3, textW)

	y := pad
	for _, l := range titleLines {
		p.text(p.title, colTitle, pad, y+fx(p.title.Metrics().Ascent), l, alignLeft)
		y += lineSpacing * p.titleSize
	}
	plotTop := y + 0.5*body
	plotBottom := p.h - pad - float64(len(footerLines))*lineSpacing*small - 0.8*body
	if c.Unit != "" {
		plotBottom -= lineSpacing * body
	}
	plotBottom -= 1.6 * body // the tick labels
	plotBottom = max(plotBottom, plotTop+1)

	rows := max(len(bars), 1)
	rowH := (plotBottom - plotTop) / float64(rows)
	// The labels' face: the body's size, or smaller to fit a row.
	size := math.Max(math.Min(body, 0.8*rowH), minBarText*p.scale)
	face := p.body
	if size < body {
		regular, err := opentype.Parse(goregular.TTF)
		if err != nil {
			return fmt.Errorf("chart: parse Go Regular: %w", err)
		}
		face, err = opentype.NewFace(regular, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return fmt.Errorf("chart: font face: %w", err)
		}
	}
	labelW, valueW := 0.0, 0.0
	for _, b := range bars {
		labelW = math.Max(labelW, measure(face, b.Label))
		if b.Value != nil {
			valueW = math.Max(valueW, measure(face, c.label(b)))
		}
	}
	labelW = math.Min(labelW, textW/3)
	left := pad + labelW + 0.4*size
	right := p.w - pad - valueW - 0.4*size
	plotW := math.Max(right-left, 1)

	ticks, xMax := barTicks(bars)
	sx := func(v float64) float64 { return left + math.Max(v, 0)/xMax*plotW }

	hair := math.Round(p.size(cardHair, minHair))
	tickY := plotBottom + 0.3*body + fx(p.body.Metrics().Ascent)
	for _, t := range ticks {
		p.vline(sx(t), plotTop, plotBottom, hair, colGrid)
		p.text(p.body, colText, sx(t), tickY, c.tick(t), alignCenter)
	}
	if c.Unit != "" {
		p.text(p.body, colText, left+plotW/2, tickY+lineSpacing*body, fit(p.body, c.Unit, textW), alignCenter)
	}
	if len(bars) == 0 {
		p.text(p.body, colText, left+plotW/2, plotTop+rowH/2+capMiddle(p.body), fit(p.body, cmp.Or(c.NoData, "No figures"), plotW), alignCenter)
	}

	barH := math.Min(0.7*rowH, 1.6*body)
	stroke := math.Max(hair, p.scale)
	for i, b := range bars {
		mid := plotTop + (float64(i)+0.5)*rowH
		y0, y1 := mid-barH/2, mid+barH/2
		p.text(face, colTitle, left-0.4*size, mid+capMiddle(face), fit(face, b.Label, labelW), alignRight)
		if b.Value == nil {
			// The dashed, empty outline around the reason, as in the
			// SVG: as wide as the reason, never across the plot.
			reason := fit(face, c.label(b), plotW-size)
			end := math.Min(right, left+measure(face, reason)+size)
			corners := []pt{{left, y0}, {end, y0}, {end, y1}, {left, y1}}
			var polys [][]pt
			for j, a := range corners {
				polys = append(polys, strokeSegment(a, corners[(j+1)%4], stroke, true)...)
			}
			p.fill(polys, colAxis)
			p.text(face, colText, left+0.5*size, mid+capMiddle(face), reason, alignLeft)
			continue
		}
		col := paletteRGBA(0)
		if b.Highlight {
			col = paletteRGBA(1)
		}
		if b.Small {
			col = lighten(col, 0.55)
		}
		end := sx(*b.Value)
		if end > left {
			p.fill([][]pt{{{left, y0}, {end, y0}, {end, y1}, {left, y1}}}, col)
		}
		p.text(face, colTitle, end+0.3*size, mid+capMiddle(face), c.label(b), alignLeft)
	}
	p.vline(left, plotTop, plotBottom, hair, colAxis)

	y = p.h - pad - float64(len(footerLines))*lineSpacing*small
	for _, l := range footerLines {
		p.text(p.small, colFooter, pad, y+fx(p.small.Metrics().Ascent), l, alignLeft)
		y += lineSpacing * small
	}
	return nil
}

// lighten is col at opacity a over white, as the SVG's fill-opacity.
func lighten(col color.RGBA, a float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(math.Round(float64(v)*a + 255*(1-a))) }
	return color.RGBA{mix(col.R), mix(col.G), mix(col.B), 0xff}
}

// BarsText lists the bars, sorted, as "label: value" joined by "; ": for
// a description.
func BarsText(c Bars) string {
	var parts []string
	for _, b := range c.Sorted() {
		parts = append(parts, b.Label+": "+c.label(b))
	}
	return strings.Join(parts, "; ")
}
