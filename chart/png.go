package chart

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// The size of a PNG when PNGOptions leave it out: the 1200 × 630 card that
// social media and chat previews show for a link (og:image).
const (
	PNGWidth  = 1200
	PNGHeight = 630
)

// PNGOptions are the size and the texts of a PNG beside the chart's own.
type PNGOptions struct {
	// Width and Height are the image's size in CSS pixels; zero takes
	// PNGWidth and PNGHeight. Unlike the SVG, the image keeps the size asked
	// for: the plot gives up the room that a long title, legend or footer
	// takes, since a page lays out an image by its stated size.
	Width, Height int
	// Scale is 1 or 2 (zero means 1): 2 draws the same picture with twice
	// the pixels each way, sharp on high-density screens.
	Scale int
	// Footer is drawn across the bottom, wrapped: the source line, which
	// must travel with an image copied out of its page.
	Footer string
}

// The drawing's measures at the size of the card and their floors, in CSS
// pixels: smaller and larger images scale the card's (see painter.size),
// but no further down than the floor, so that text stays legible and lines
// visible on a small image.
const (
	cardPad, minPad       = 32.0, 8.0
	cardTitle, minTitle   = 32.0, 14.0 // bold
	cardBody, minBody     = 20.0, 11.0 // ticks, unit, legend, "no figures"
	cardSmall, minSmall   = 17.0, 10.0 // footer, the text printed instead of a number
	cardStroke, minStroke = 3.5, 1.5
	cardMarker, minMarker = 6.0, 2.5 // radius
	cardSwatch, minSwatch = 30.0, 16.0
	cardHair, minHair     = 1.0, 1.0 // grid and axis lines

	lineSpacing = 1.25 // line height over font size, for wrapped text
	// maxTitleLines bounds the title: a longer one (a dozen regions named)
	// is cut with an ellipsis rather than take the plot's room.
	maxTitleLines = 3
)

// Colours of the parts that are not a line's.
var (
	colBackground = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colTitle      = color.RGBA{0x22, 0x22, 0x22, 0xff}
	colText       = color.RGBA{0x44, 0x44, 0x44, 0xff}
	colFooter     = color.RGBA{0x55, 0x55, 0x55, 0xff}
	colGrid       = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	colAxis       = color.RGBA{0x99, 0x99, 0x99, 0xff}
)

// PNG draws c as a PNG image: what SVG draws (title, unit, lines with gaps,
// markers, the texts printed instead of numbers, legend, axes, NoData) plus
// opt.Footer, in the Go fonts, which cover æøå and need nothing installed.
// Desc is not drawn: an image has no accessible description of its own,
// and the page that shows it carries the text. c.Width and c.Height are
// the SVG's and are ignored. The same input gives the same bytes.
func PNG(w io.Writer, c Chart, opt PNGOptions) error {
	opt, err := opt.withDefaults()
	if err != nil {
		return err
	}
	p, err := newPainter(opt)
	if err != nil {
		return err
	}
	p.draw(c, opt.Footer)
	// The encoder is deterministic at a fixed level; the default level is
	// close to the best on flat colours at a fraction of its time.
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(w, p.img); err != nil {
		return fmt.Errorf("chart: encode png: %w", err)
	}
	return nil
}

// painter draws one image. Every length it holds is in device pixels.
type painter struct {
	img                *image.RGBA
	z                  vector.Rasterizer
	w, h               float64
	k                  float64 // the card's measures scaled to this image
	scale              float64 // device pixels per CSS pixel
	title, body, small font.Face
	// The faces' sizes (em).
	titleSize, bodySize, smallSize float64
}

func newPainter(opt PNGOptions) (*painter, error) {
	s := float64(opt.Scale)
	// k scales the card's measures to this size: by the narrower ratio,
	// so that a wide, low image does not get text taller than its plot.
	k := math.Min(float64(opt.Width)/PNGWidth, float64(opt.Height)/PNGHeight)
	p := &painter{
		img:   image.NewRGBA(image.Rect(0, 0, opt.Width*opt.Scale, opt.Height*opt.Scale)),
		w:     float64(opt.Width) * s,
		h:     float64(opt.Height) * s,
		k:     k,
		scale: s,
	}
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("chart: parse Go Regular: %w", err)
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("chart: parse Go Bold: %w", err)
	}
	for _, f := range []struct {
		face      *font.Face
		size      *float64
		font      *opentype.Font
		card, min float64
	}{
		{&p.title, &p.titleSize, bold, cardTitle, minTitle},
		{&p.body, &p.bodySize, regular, cardBody, minBody},
		{&p.small, &p.smallSize, regular, cardSmall, minSmall},
	} {
		*f.size = p.size(f.card, f.min)
		// No hinting: glyphs keep their outlines' proportions at every
		// size, so that scale 2 is scale 1 with twice the pixels.
		*f.face, err = opentype.NewFace(f.font, &opentype.FaceOptions{Size: *f.size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return nil, fmt.Errorf("chart: font face: %w", err)
		}
	}
	draw.Draw(p.img, p.img.Bounds(), image.NewUniform(colBackground), image.Point{}, draw.Src)
	return p, nil
}

func fx(v fixed.Int26_6) float64 { return float64(v) / 64 }

// size is a measure of the card, scaled to the image, in device pixels.
func (p *painter) size(card, floor float64) float64 { return math.Max(card*p.k, floor) * p.scale }

// draw lays out and draws the chart. The layout goes from both edges
// towards the plot, which takes the room left; when that is less than a
// third of the image the legend, the title and the footer give up rows,
// the last row kept of each ending in an ellipsis or "+n".
func (p *painter) draw(c Chart, footer string) {
	pad := p.size(cardPad, minPad)
	body, small := p.bodySize, p.smallSize
	textW := p.w - 2*pad

	titleLines := wrap(p.title, c.Title, textW)
	footerLines := wrap(p.small, footer, textW)
	legend := p.layoutLegend(c.Lines, pad, p.w-pad)
	legendRows := 0
	for _, e := range legend {
		legendRows = max(legendRows, e.row+1)
	}
	nTitle, nFooter, nRows := min(len(titleLines), maxTitleLines), len(footerLines), legendRows
	rowH := 1.6 * body

	var plotTop, plotBottom, legendTop float64
	layout := func() {
		y := pad + float64(nTitle)*lineSpacing*p.titleSize
		if c.Unit != "" {
			y += 0.4*body + lineSpacing*body
		}
		// Room for half of the top tick's label, which sits on its line.
		plotTop = y + 0.9*body
		y = p.h - pad
		if nFooter > 0 {
			y -= float64(nFooter)*lineSpacing*small + 0.8*body
		}
		if nRows > 0 {
			y -= float64(nRows)*rowH + 0.3*body
		}
		legendTop = y + 0.3*body
		// The x axis' ticks and year labels.
		plotBottom = y - 1.6*body
	}
	// While the plot is short, rows go in turn: the legend's (to one),
	// the title's (to two), the footer's (to two), then the title's and the
	// footer's to one. The footer goes last: the source must travel with
	// the image.
	layout()
	for _, s := range []struct {
		n     *int
		floor int
	}{{&nRows, 1}, {&nTitle, 2}, {&nFooter, 2}, {&nTitle, 1}, {&nFooter, 1}} {
		for plotBottom-plotTop < p.h/3 && *s.n > s.floor {
			*s.n--
			layout()
		}
	}
	plotBottom = max(plotBottom, plotTop+1)
	titleLines = clip(p.title, titleLines, nTitle, textW)
	footerLines = clip(p.small, footerLines, nFooter, textW)
	legend = p.clipLegend(legend, len(c.Lines), nRows, pad, p.w-pad)

	// Title and unit at the top, left-aligned with the legend and footer.
	y := pad
	for _, l := range titleLines {
		p.text(p.title, colTitle, pad, y+fx(p.title.Metrics().Ascent), l, alignLeft)
		y += lineSpacing * p.titleSize
	}
	if c.Unit != "" {
		y += 0.4 * body
		p.text(p.body, colText, pad, y+fx(p.body.Metrics().Ascent), fit(p.body, c.Unit, textW), alignLeft)
	}

	// Scales, as the SVG's.
	x0, x1, yTicks, yMax, n := c.scales()
	labelW := 0.0
	for _, t := range yTicks {
		labelW = math.Max(labelW, measure(p.body, c.tick(t)))
	}
	left, right := pad+labelW+0.5*body, p.w-pad
	plotW, plotH := right-left, plotBottom-plotTop
	sx := func(x float64) float64 { return left + (x-x0)/(x1-x0)*plotW }
	sy := func(y float64) float64 { return plotBottom - y/yMax*plotH }

	// Grid and y axis labels.
	hair := math.Round(p.size(cardHair, minHair))
	for _, t := range yTicks {
		p.hline(left, right, sy(t), hair, colGrid)
		p.text(p.body, colText, left-0.5*body, sy(t)+capMiddle(p.body), c.tick(t), alignRight)
	}

	// x axis: a tick per year, thinned so that the labels (in the middle
	// of their years) neither exceed twelve nor touch one another.
	p.hline(left, right, plotBottom, hair, colAxis)
	step := int(math.Ceil((x1 - x0) / 12))
	if perYear := plotW / (x1 - x0); perYear > 0 {
		step = max(step, int(math.Ceil((measure(p.body, "2000")+0.8*body)/perYear)))
	}
	for yr := int(x0); n > 0 && yr <= int(x1); yr += step {
		x := sx(float64(yr))
		p.vline(x, plotBottom, plotBottom+0.3*body, hair, colAxis)
		if yr < int(x1) {
			p.text(p.body, colText, sx(float64(yr)+0.5), plotBottom+0.3*body+fx(p.body.Metrics().Ascent), strconv.Itoa(yr), alignCenter)
		}
	}

	if n == 0 {
		noData := c.NoData
		if noData == "" {
			noData = "No figures for this series"
		}
		p.text(p.body, colText, left+plotW/2, plotTop+plotH/2+capMiddle(p.body), fit(p.body, noData, plotW), alignCenter)
	}

	// Lines, then their markers, a line at a time; the texts printed
	// instead of numbers stack up where lines share a period.
	stroke, radius := p.size(cardStroke, minStroke), p.size(cardMarker, minMarker)
	texts := map[float64]int{}
	for i, l := range c.Lines {
		col := paletteRGBA(i)
		var polys [][]pt
		var prev *Point
		for j := range l.Points {
			q := &l.Points[j]
			if q.Value != nil && q.Joined && prev != nil && prev.Value != nil {
				a, b := pt{sx(prev.X), sy(*prev.Value)}, pt{sx(q.X), sy(*q.Value)}
				polys = append(polys, strokeSegment(a, b, stroke, l.Dashed)...)
			}
			prev = q
		}
		for _, q := range l.Points {
			if q.Value == nil {
				y := plotBottom - 0.35*small - 1.15*small*float64(texts[q.X])
				texts[q.X]++
				p.text(p.small, col, sx(q.X), y, q.Text, alignCenter)
				continue
			}
			polys = append(polys, circle(pt{sx(q.X), sy(*q.Value)}, radius))
		}
		p.fill(polys, col)
	}

	// Legend, then footer.
	for _, e := range legend {
		y := legendTop + float64(e.row)*rowH + rowH/2
		if e.line < 0 {
			p.text(p.body, colText, e.x, y+capMiddle(p.body), e.label, alignLeft)
			continue
		}
		l := c.Lines[e.line]
		col := paletteRGBA(e.line)
		swatch := p.size(cardSwatch, minSwatch)
		p.fill(strokeSegment(pt{e.x, y}, pt{e.x + swatch, y}, stroke, l.Dashed), col)
		p.text(p.body, colTitle, e.x+swatch+0.4*body, y+capMiddle(p.body), e.label, alignLeft)
	}
	y = p.h - pad - float64(len(footerLines))*lineSpacing*small
	for _, l := range footerLines {
		p.text(p.small, colFooter, pad, y+fx(p.small.Metrics().Ascent), l, alignLeft)
		y += lineSpacing * small
	}
}

// paletteRGBA is the colour of line i, as in the SVG.
func paletteRGBA(i int) color.RGBA {
	s := palette[i%len(palette)]
	v, _ := strconv.ParseUint(s[1:], 16, 32) // the palette is written in code
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
}

// pngLegendEntry is where a legend entry goes: line is the index of its
// line, or -1 for the "+n" that stands for the entries left out.
type pngLegendEntry struct {
	x     float64
	row   int
	line  int
	label string
}

// entryWidth is the width of an entry with its swatch and label.
func (p *painter) entryWidth(label string) float64 {
	return p.size(cardSwatch, minSwatch) + 0.4*p.bodySize + measure(p.body, label)
}

// layoutLegend places the entries left to right from x0, in rows that end
// before x1, cutting a label too long for a row of its own.
func (p *painter) layoutLegend(lines []Line, x0, x1 float64) []pngLegendEntry {
	gap := 1.2 * p.bodySize
	out := make([]pngLegendEntry, len(lines))
	x, row := x0, 0
	for i, l := range lines {
		label := fit(p.body, l.Label, x1-x0-p.entryWidth(""))
		w := p.entryWidth(label)
		if x > x0 && x+w > x1 {
			x, row = x0, row+1
		}
		out[i] = pngLegendEntry{x: x, row: row, line: i, label: label}
		x += w + gap
	}
	return out
}

// clipLegend keeps the entries of the first rows and ends the last row with
// "+n" for the n lines left out, dropping entries of that row until it fits.
func (p *painter) clipLegend(entries []pngLegendEntry, lines, rows int, x0, x1 float64) []pngLegendEntry {
	kept := entries
	for len(kept) > 0 && kept[len(kept)-1].row >= rows {
		kept = kept[:len(kept)-1]
	}
	if len(kept) == len(entries) {
		return kept
	}
	gap := 1.2 * p.bodySize
	for {
		more := "+" + strconv.Itoa(lines-len(kept))
		x := x0
		if n := len(kept); n > 0 && kept[n-1].row == rows-1 {
			x = kept[n-1].x + p.entryWidth(kept[n-1].label) + gap
		}
		if x == x0 || x+measure(p.body, more) <= x1 {
			return append(kept[:len(kept):len(kept)], pngLegendEntry{x: x, row: rows - 1, line: -1, label: more})
		}
		kept = kept[:len(kept)-1]
	}
}

type align int

const (
	alignLeft align = iota
	alignCenter
	alignRight
)

// text draws s with its baseline at y, starting, centred or ending at x.
// The pen starts on a whole pixel, so that the same text is drawn the
// same wherever it goes.
func (p *painter) text(f font.Face, col color.Color, x, y float64, s string, a align) {
	switch a {
	case alignCenter:
		x -= measure(f, s) / 2
	case alignRight:
		x -= measure(f, s)
	}
	d := font.Drawer{Dst: p.img, Src: image.NewUniform(col), Face: f,
		Dot: fixed.P(int(math.Round(x)), int(math.Round(y)))}
	d.DrawString(s)
}

// capMiddle is what to add to a vertical middle to get the baseline that
// centres capitals and digits on it.
func capMiddle(f font.Face) float64 {
	m := f.Metrics()
	if m.CapHeight > 0 {
		return fx(m.CapHeight) / 2
	}
	return fx(m.Ascent) * 0.35
}

func measure(f font.Face, s string) float64 { return fx(font.MeasureString(f, s)) }

// wrap breaks s into lines no wider than width, at spaces; a word wider
// than a line on its own is cut to fit.
func wrap(f font.Face, s string, width float64) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case measure(f, line+" "+word) <= width:
			line += " " + word
		default:
			lines = append(lines, fit(f, line, width))
			line = word
		}
	}
	if line != "" {
		lines = append(lines, fit(f, line, width))
	}
	return lines
}

// clip keeps the first n lines, the last of them ending in an ellipsis
// when lines were left out.
func clip(f font.Face, lines []string, n int, width float64) []string {
	if len(lines) <= n {
		return lines
	}
	lines = lines[:n:n]
	last := []rune(lines[n-1])
	for len(last) > 0 && measure(f, string(last)+"…") > width {
		last = last[:len(last)-1]
	}
	lines[n-1] = strings.TrimRight(string(last), " ,;:") + "…"
	return lines
}

// fit cuts s with an ellipsis so that it is no wider than width.
func fit(f font.Face, s string, width float64) string {
	if measure(f, s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && measure(f, string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return strings.TrimRight(string(r), " ") + "…"
}

// hline draws a horizontal line of thickness t centred on y, snapped to
// whole pixels so that it is sharp; vline the same, vertical.
func (p *painter) hline(x0, x1, y, t float64, col color.Color) {
	top := int(math.Round(y - t/2))
	r := image.Rect(int(math.Round(x0)), top, int(math.Round(x1)), top+int(t))
	draw.Draw(p.img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

func (p *painter) vline(x, y0, y1, t float64, col color.Color) {
	l := int(math.Round(x - t/2))
	r := image.Rect(l, int(math.Round(y0)), l+int(t), int(math.Round(y1)))
	draw.Draw(p.img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

// pt is a point in device pixels.
type pt struct{ x, y float64 }

// fill paints the union of polys in col, antialiased. The rasteriser
// covers only their bounding box, which keeps a marker's cost to its size
// rather than the image's.
func (p *painter) fill(polys [][]pt, col color.RGBA) {
	if len(polys) == 0 {
		return
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, poly := range polys {
		for _, q := range poly {
			minX, minY = math.Min(minX, q.x), math.Min(minY, q.y)
			maxX, maxY = math.Max(maxX, q.x), math.Max(maxY, q.y)
		}
	}
	r := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY))).
		Intersect(p.img.Bounds())
	if r.Empty() {
		return
	}
	p.z.Reset(r.Dx(), r.Dy())
	ox, oy := float64(r.Min.X), float64(r.Min.Y)
	for _, poly := range polys {
		// The rasteriser adds up signed coverage: shapes that overlap
		// must turn the same way, or the overlap would cancel out.
		if area(poly) < 0 {
			poly = reversed(poly)
		}
		p.z.MoveTo(float32(poly[0].x-ox), float32(poly[0].y-oy))
		for _, q := range poly[1:] {
			p.z.LineTo(float32(q.x-ox), float32(q.y-oy))
		}
		p.z.ClosePath()
	}
	p.z.Draw(p.img, r, image.NewUniform(col), image.Point{})
}

// area is twice the signed area of a polygon.
func area(poly []pt) float64 {
	a := 0.0
	for i, q := range poly {
		n := poly[(i+1)%len(poly)]
		a += q.x*n.y - n.x*q.y
	}
	return a
}

func reversed(poly []pt) []pt {
	out := make([]pt, len(poly))
	for i, q := range poly {
		out[len(poly)-1-i] = q
	}
	return out
}

// strokeSegment is the segment a-b drawn width wide, with butt ends;
// dashed, as the SVG's "5 4" at its stroke of 2, restarted at each
// segment as the SVG restarts it at each subpath.
func strokeSegment(a, b pt, width float64, dashed bool) [][]pt {
	hw := width / 2
	dx, dy := b.x-a.x, b.y-a.y
	length := math.Hypot(dx, dy)
	if length == 0 {
		return nil
	}
	ux, uy := dx/length, dy/length
	nx, ny := -uy*hw, ux*hw
	quad := func(s, e float64) []pt {
		p0, p1 := pt{a.x + ux*s, a.y + uy*s}, pt{a.x + ux*e, a.y + uy*e}
		return []pt{{p0.x + nx, p0.y + ny}, {p1.x + nx, p1.y + ny}, {p1.x - nx, p1.y - ny}, {p0.x - nx, p0.y - ny}}
	}
	if !dashed {
		return [][]pt{quad(0, length)}
	}
	dash, gap := 2.5*width, 2*width
	var out [][]pt
	for s := 0.0; s < length; s += dash + gap {
		out = append(out, quad(s, math.Min(s+dash, length)))
	}
	return out
}

// circle is a polygon close enough to a circle that no side shows: its
// sides stray from the arc by well under a tenth of a pixel.
func circle(c pt, r float64) []pt {
	n := max(16, int(math.Ceil(2*math.Pi*r/1.5)))
	out := make([]pt, n)
	for i := range out {
		a := 2 * math.Pi * float64(i) / float64(n)
		out[i] = pt{c.x + r*math.Cos(a), c.y + r*math.Sin(a)}
	}
	return out
}

// withDefaults fills the zero fields of opt (a 1200×630 card at scale 1)
// and checks the rest.
func (opt PNGOptions) withDefaults() (PNGOptions, error) {
	if opt.Width == 0 {
		opt.Width = PNGWidth
	}
	if opt.Height == 0 {
		opt.Height = PNGHeight
	}
	if opt.Scale == 0 {
		opt.Scale = 1
	}
	if opt.Width < 0 || opt.Height < 0 {
		return opt, fmt.Errorf("chart: png size %d×%d: must not be negative", opt.Width, opt.Height)
	}
	if opt.Scale != 1 && opt.Scale != 2 {
		return opt, fmt.Errorf("chart: png scale %d: want 1 or 2", opt.Scale)
	}
	return opt, nil
}
