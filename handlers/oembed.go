package handlers

import (
	"errors"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// OEmbed is the response of GET /oembed: an oEmbed 1.0 "rich" embed, the
// iframe of an embed page that a CMS inserts for a pasted Krimstat URL.
type OEmbed struct {
	Version      string `json:"version" example:"1.0"`
	Type         string `json:"type" example:"rich"`
	ProviderName string `json:"provider_name" example:"Krimstat"`
	// ProviderURL is the origin of this service.
	ProviderURL string `json:"provider_url" example:"https://api.krimstat.no"`
	// Title is the chart's heading.
	Title string `json:"title" example:"Purchase of sexual services, Norway: persons reported"`
	// HTML is the iframe of the embed page, at most width wide.
	HTML   string `json:"html" example:"<iframe src=\"https://api.krimstat.no/embed/series?measure=reported-persons&amp;offence=sex-purchase&amp;region=NO\" width=\"640\" height=\"550\" style=\"border:0;width:100%\" title=\"…\" loading=\"lazy\"></iframe>"`
	Width  int    `json:"width" example:"640"`
	Height int    `json:"height" example:"550"`
	// CacheAge is how long, in seconds, a consumer may keep the answer.
	CacheAge int `json:"cache_age" example:"86400"`
} // @name OEmbed

// oembedRoute is the contract of GET /oembed. Its format parameter is
// oEmbed's, not the data routes' negotiation, but the response cache reads
// it the same way: canonical leaves format out of the query and keys the
// negotiated format instead. Offering JSON alone keeps format=xml (and any
// other) from getting a key, so it can never be answered from the entry of
// format=json; the handler answers it with oEmbed's 501. An answer names
// the origin asked (and answers 404 for a URL of another), so it is keyed
// on it.
var oembedRoute = route{params: []string{"url", "maxwidth", "maxheight", "format"}, formats: []string{formatJSON}, origin: true}

// oembedWidth is the iframe's default width: the chart's, which the page
// never draws wider than the frame.
const oembedWidth = 640

// oembedCacheAge is how long a consumer may keep an answer, in seconds.
const oembedCacheAge = 24 * 60 * 60

// oembedHeight is the iframe's height for a width and a number of series.
// Measured in Chromium, the pages of one or two series are 400 to 470
// pixels high at 320 wide and 510 to 550 at 640: the chart grows by 9/16
// of the width, while the text around it wraps onto fewer lines, so the
// page grows by about 3/8. Each series beyond two adds a legend row. The
// estimate errs on the high side, so that a frame without the
// auto-height listener shows the whole page; the height script corrects
// it where the host page listens.
func oembedHeight(width, series int) int {
	return width*3/8 + 310 + 30*max(series-2, 0)
}

// getOEmbed godoc
//
//	@Summary		oEmbed for an embed page
//	@Description	oEmbed 1.0 (https://oembed.com): for the URL of an embed page of this service (/embed/series or /embed/compare with a valid query, on the host the request was sent to), a "rich" embed whose html is the page's iframe (its canonical query, with the page's theme), at most maxwidth wide (default 640) and maxheight high, with the chart's title. Every embed page names this endpoint in a `<link rel="alternate" type="application/json+oembed">`, so a CMS that discovers oEmbed takes a pasted Krimstat URL. A URL of another host or path is 404; format=xml (or any format but json) is 501. The title is in the URL's lang, else this request's lang or Accept-Language.
//	@Tags			embed
//	@ID				getOEmbed
//	@Produce		json
//	@Param			url			query		string	true	"The URL of an embed page"	example(https://api.krimstat.no/embed/series?offence=sex-purchase&region=NO&measure=reported-persons)
//	@Param			maxwidth	query		int		false	"Maximum width of the iframe, in pixels"	minimum(1)
//	@Param			maxheight	query		int		false	"Maximum height of the iframe, in pixels"	minimum(1)
//	@Param			format		query		string	false	"Response format (JSON only)"	Enums(json)
//	@Param			lang		query		string	false	"Language of the title when the URL has no lang: en (default) or nb; without it, Accept-Language"	Enums(en, nb)
//	@Success		200			{object}	OEmbed
//	@Failure		400,404,500,501,503	{object}	problem.Problem
//	@Router			/oembed [get]
func (h *Handler) getOEmbed(c *gin.Context) error {
	q, err := oembedRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	format, err := q.one("format")
	if err != nil {
		return err
	}
	if format != "" && format != formatJSON {
		return fmt.Errorf("format %q: this provider answers json only: %w", format, errFormatNotImplemented)
	}
	maxWidth, err := pixels(q, "maxwidth")
	if err != nil {
		return err
	}
	maxHeight, err := pixels(q, "maxheight")
	if err != nil {
		return err
	}
	base := origin(c)
	page, err := q.one("url")
	if err != nil {
		return err
	}
	path, raw, err := embedQuery(page, c.Request.Host)
	if err != nil {
		return err
	}
	lang, err := q.language(c.GetHeader("Accept-Language"))
	if err != nil {
		return err
	}
	e, err := h.embedOf(c, path, raw, lang)
	if err != nil {
		return ofURL(err)
	}

	width := oembedWidth
	if maxWidth > 0 {
		width = min(width, maxWidth)
	}
	height := e.height(width)
	if maxHeight > 0 {
		height = min(height, maxHeight)
	}
	src := base + e.src
	title := e.title
	writeJSON(c, OEmbed{
		Version: "1.0", Type: "rich", ProviderName: "Krimstat", ProviderURL: base,
		Title: title,
		HTML: fmt.Sprintf(`<iframe src="%s" width="%d" height="%d" style="border:0;width:100%%" title="%s" loading="lazy"></iframe>`,
			html.EscapeString(src), width, height, html.EscapeString(title)),
		Width: width, Height: height, CacheAge: oembedCacheAge,
	})
	return nil
}

// pixels reads an optional size in pixels: 0 when absent.
func pixels(q query, name string) (int, error) {
	s, err := q.one(name)
	if err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, store.InvalidParam(name, "%q: want a whole number of pixels, 1 or more", s)
	}
	return n, nil
}

// Paths of the embed pages oEmbed answers for.
const (
	embedSeriesPath  = "/embed/series"
	embedComparePath = "/embed/compare"
)

// embedQuery returns the path and query of page, the URL of an embed page
// (embedSeriesPath or embedComparePath) on host. It returns an
// ErrNotFound for a URL of another host or path (oEmbed's 404: no embed
// for that URL), an ErrInvalid for none or a malformed one.
func embedQuery(page, host string) (path, rawQuery string, err error) {
	if page == "" {
		return "", "", store.InvalidParam("url", "the URL of an embed page is required")
	}
	u, err := url.Parse(page)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", store.InvalidParam("url", "%q: want an absolute http or https URL", page)
	}
	path = u.EscapedPath()
	if !strings.EqualFold(u.Host, host) || (path != embedSeriesPath && path != embedComparePath) || u.User != nil {
		return "", "", fmt.Errorf("url %q: not an embed page of %s (want %s%s?… or %s%s?…): %w",
			page, host, host, embedSeriesPath, host, embedComparePath, store.ErrNotFound)
	}
	return path, u.RawQuery, nil
}

// oembedPage is what an oEmbed answer says of an embed page: its title,
// its iframe's source (path and canonical query, with the page's theme)
// relative to the origin, and the number of rows its legend or chart
// grows by.
type oembedPage struct {
	title, src string
	// series is the number of series of a series page; bars the number
	// of bars of a comparison (0 for a series page).
	series, bars int
}

// height is the iframe's height for a width: oembedHeight for a series
// page; for a comparison, its bar chart's height, which grows with the
// bars and not the width, and the text around it.
func (p oembedPage) height(width int) int {
	if p.bars == 0 {
		return oembedHeight(width, p.series)
	}
	return oembedCompareHeight(width, p.bars)
}

// oembedCompareHeight is the iframe's height for a comparison of n bars
// at a width of at most oembedWidth. The bar chart is drawn 640 wide and
// 62 + 24n high (package chart's margins and rows) and scaled down with
// the frame; the text around it (title, notes, source, licence and
// links) is about 220 pixels high at 640 wide and wraps onto more lines
// in a narrower frame. Like oembedHeight it errs on the high side.
func oembedCompareHeight(width, n int) int {
	return (62+24*max(n, 1))*width/oembedWidth + 220 + (oembedWidth-width)/4
}

// embedOf builds the view of the embed page at path with the query raw,
// in the language raw's lang names, else lang, for its oEmbed answer.
func (h *Handler) embedOf(c *gin.Context, path, raw, lang string) (oembedPage, error) {
	if path == embedComparePath {
		q, err := embedCompareRoute.query(raw)
		if err != nil {
			return oembedPage{}, err
		}
		v, err := h.compareView(c, q, lang)
		if err != nil {
			return oembedPage{}, err
		}
		return oembedPage{title: v.title(), src: embedComparePath + v.query, bars: len(v.bars)}, nil
	}
	// The page's theme is the iframe's; the series view takes no theme.
	pageQuery, err := url.ParseQuery(raw)
	if err != nil {
		return oembedPage{}, store.InvalidParam("url", "malformed query: %v", err)
	}
	theme, err := themeOf(query{values: pageQuery})
	if err != nil {
		return oembedPage{}, err
	}
	pageQuery.Del("theme")
	v, err := h.seriesView(c, pageQuery.Encode(), lang)
	if err != nil {
		return oembedPage{}, err
	}
	return oembedPage{title: v.title(), src: withTheme(embedSeriesPath+v.query, theme), series: len(v.all)}, nil
}

// ofURL makes an error of the embed page's query one of the url parameter:
// a bad parameter in it is a bad url, so the problem names url (and the
// detail the parameter within); an unknown offence or region is a 404.
func ofURL(err error) error {
	var pe *store.ParamError
	if errors.As(err, &pe) {
		return store.InvalidParam("url", "%s", pe.Error())
	}
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("url: %w", err)
	}
	return err
}

// origin is the scheme and host the client used, the base of the absolute
// URLs of embed pages and oEmbed answers. Any client may set Host and
// X-Forwarded-Proto, so a route whose responses use it is declared with
// origin in its contract, and the response cache keys it on them: else
// one client's host would be served to every other (a page whose oEmbed
// link and og:image point at a host of the client's choosing).
func origin(c *gin.Context) string {
	return scheme(c) + "://" + c.Request.Host
}
