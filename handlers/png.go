package handlers

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/chart"
	"github.com/krimstat/krimstat/store"
)

// seriesPNGRoute is the contract of GET /v1/series.png: the series
// parameters and the image's size.
var seriesPNGRoute = route{params: slices.Concat(SeriesParams, pngParams), langs: chartLangs}

// pngParams are the parameters that size an image, beside the series'.
var pngParams = []string{"width", "height", "scale"}

// The sizes an image may be asked for, in CSS pixels: from a phone's
// column to twice the card, and at most twice as sharp.
const (
	minPNGWidth, maxPNGWidth   = 320, 2400
	minPNGHeight, maxPNGHeight = 200, 1600
	// maxPNGPixels bounds the pixels one request may make the server
	// draw and hold (four bytes each, about 61 MB at the bound). The
	// ranges above keep within it; the check keeps the bound explicit
	// should they be widened.
	maxPNGPixels = maxPNGWidth * maxPNGHeight * 4
)

// pngOptions reads width, height and scale; absent, they are the 1200 ×
// 630 card at scale 1.
func pngOptions(q query) (chart.PNGOptions, error) {
	opt := chart.PNGOptions{Width: chart.PNGWidth, Height: chart.PNGHeight, Scale: 1}
	for _, p := range []struct {
		name     string
		v        *int
		min, max int
	}{
		{"width", &opt.Width, minPNGWidth, maxPNGWidth},
		{"height", &opt.Height, minPNGHeight, maxPNGHeight},
		{"scale", &opt.Scale, 1, 2},
	} {
		s, err := q.one(p.name)
		if err != nil {
			return opt, err
		}
		if s == "" {
			continue
		}
		// Atoi, as the cache key reads it, so that both take "+0640" as 640.
		n, err := strconv.Atoi(s)
		if err != nil || n < p.min || n > p.max {
			return opt, store.InvalidParam(p.name, "%q: want a whole number from %d to %d", s, p.min, p.max)
		}
		*p.v = n
	}
	if px := opt.Width * opt.Height * opt.Scale * opt.Scale; px > maxPNGPixels {
		return opt, store.InvalidParam("width", "%d × %d at scale %d is %d pixels: at most %d", opt.Width, opt.Height, opt.Scale, px, maxPNGPixels)
	}
	return opt, nil
}

// getSeriesPNG godoc
//
//	@Summary		A series as a PNG chart
//	@Description	The chart of GET /v1/series.svg (same parameters) as a PNG image, with the title at the top and the source line at the bottom, for print, social media and anywhere an SVG does not go. By default a 1200 × 630 card, the size link previews show (og:image); width and height set another size in CSS pixels, and scale=2 doubles the pixels each way for sharp screens. The text is drawn in the Go fonts, so the image looks the same wherever it is opened.
//	@Tags			embed
//	@ID				getSeriesPNG
//	@Produce		png
//	@Param			offence		query		string	true	"Offence id, or several (comma-separated): one line each"	example(sex-purchase)
//	@Param			region		query		string	true	"Region id, or several (comma-separated): one line each"	example(NO)
//	@Param			measure		query		string	true	"Measure id (one)"	example(reported-persons)
//	@Param			source		query		string	false	"Source id (default: by precedence), or all: each source with points its own line, named in the legend (never joined); a single-source chart notes the periods other sources hold"
//	@Param			per			query		int		false	"Draw rates per this many inhabitants"	Enums(100000)
//	@Param			harmonise	query		string	false	"Express pre-2016 district figures on the districts of 2016"	Enums(2016)
//	@Param			from		query		string	false	"First period"
//	@Param			to			query		string	false	"Last period"
//	@Param			small		query		int		false	"Counts below this are small"	minimum(0)	default(20)
//	@Param			width		query		int		false	"Image width in CSS pixels"	minimum(320)	maximum(2400)	default(1200)
//	@Param			height		query		int		false	"Image height in CSS pixels"	minimum(200)	maximum(1600)	default(630)
//	@Param			scale		query		int		false	"Device pixels per CSS pixel"	Enums(1, 2)	default(1)
//	@Param			lang		query		string	false	"Language of the texts and numbers: en (default), nb or nn (Nynorsk texts, Bokmål names: the release has no Nynorsk names); without it, Accept-Language"	Enums(en, nb, nn)
//	@Param			release		query		string	false	"Release id (default: the current release)"
//	@Success		200			{file}		binary	"PNG image"
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/series.png [get]
func (h *Handler) getSeriesPNG(c *gin.Context) error {
	q, err := seriesPNGRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	opt, err := pngOptions(q)
	if err != nil {
		return err
	}
	// The view reads the series parameters as strictly as the SVG's does,
	// so it is given the query without the image's size.
	rest := q.values
	for _, p := range pngParams {
		rest.Del(p)
	}
	v, err := h.seriesView(c, rest.Encode(), c.GetHeader("Accept-Language"))
	if err != nil {
		return err
	}
	opt.Footer = v.sourceLine()
	if o := v.others(); o != "" {
		// The note of what other sources hold, as the page has it.
		opt.Footer += " " + o
	}
	var buf bytes.Buffer
	if err := chart.PNG(&buf, v.chart(), opt); err != nil {
		return err
	}
	c.Data(http.StatusOK, "image/png", buf.Bytes())
	return nil
}
