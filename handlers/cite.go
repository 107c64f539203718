package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
)

// Citation formats besides JSON.
const (
	formatBibTeX = "bibtex"
	formatText   = "text"
)

// citeTexts are the words of a citation in one language.
type citeTexts struct {
	title, dataset, release, retrieved, from, accessed, releaseOf, compiled, table, noDate string
	month                                                                                  func(time.Month) string
}

// citeText holds the citation's words by language. APA's Norwegian form
// ("Hentet ... fra ...") follows the Norwegian APA 7 guide.
var citeText = map[string]citeTexts{
	langEN: {
		title:   "Krimstat: police-reported sex purchase, human trafficking and pimping in Norway, with Eurostat and UNODC comparison data",
		dataset: "[Data set]", release: "Release", retrieved: "Retrieved", from: "from", accessed: "Accessed",
		releaseOf: "Release %s of %s", compiled: "compiled from the sources cited with it", table: "Table", noDate: "n.d.",
		month: func(m time.Month) string { return m.String() },
	},
	langNB: {
		title:   "Krimstat: politianmeldt kjøp av seksuelle tjenester, menneskehandel og hallikvirksomhet i Norge, med sammenligningsdata fra Eurostat og UNODC",
		dataset: "[Datasett]", release: "Versjon", retrieved: "Hentet", from: "fra", accessed: "Lest",
		releaseOf: "Versjon %s av %s", compiled: "satt sammen fra kildene som er sitert sammen med den", table: "Tabell", noDate: "u.å.",
		month: func(m time.Month) string {
			return [...]string{"januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "desember"}[m-1]
		},
	},
}

// Citation is the response of GET /v1/cite: how to cite a query's data.
type Citation struct {
	// APA is an APA-style reference list: Krimstat first, then each source.
	APA string `json:"apa"`
	// BibTeX has one @misc entry for Krimstat and one per source.
	BibTeX string `json:"bibtex"`
	// CSL is CSL-JSON (for Zotero, Pandoc, citeproc): Krimstat first.
	CSL []CSLItem `json:"csl"`
	// Accessed is today's date in UTC, the access date of every reference.
	Accessed string `json:"accessed" example:"2025-05-01"`
	// URL is the cited query: the same parameters on /v1/series or /v1/observations.
	URL     string         `json:"url" example:"https://api.krimstat.no/v1/series?offence=sex-purchase&region=NO&measure=reported-persons"`
	Release string         `json:"release" example:"20250414-3da80bd7"`
	Sources []store.Source `json:"sources"`
} // @name Citation

// CSLItem is one CSL-JSON item.
type CSLItem struct {
	ID        string    `json:"id" example:"krimstat-20250414-3da80bd7"`
	Type      string    `json:"type" example:"dataset"`
	Title     string    `json:"title"`
	Author    []CSLName `json:"author"`
	Publisher string    `json:"publisher,omitempty"`
	URL       string    `json:"URL"`
	Version   string    `json:"version,omitempty"`
	Issued    *CSLDate  `json:"issued,omitempty"`
	Accessed  CSLDate   `json:"accessed"`
	Language  string    `json:"language,omitempty" example:"nb"`
	Note      string    `json:"note,omitempty"`
} // @name CSLItem

// CSLName is an author written as one literal name (an organisation).
type CSLName struct {
	Literal string `json:"literal" example:"Krimstat"`
} // @name CSLName

// CSLDate is a CSL date: year, and month and day where known.
type CSLDate struct {
	DateParts [][]int `json:"date-parts"`
} // @name CSLDate

// getCite godoc
//
//	@Summary		How to cite a query's data
//	@Description	Takes the parameters of GET /v1/series or GET /v1/observations and returns an APA-style reference list, BibTeX and CSL-JSON naming Krimstat, the release (id and date), the cited query's URL, every underlying source (publisher, title, URL, year) of the observations the query matches (for a series: the chosen source and the alternatives; with per=100000 also the population source), and the access date: today in UTC. `format=bibtex` or `format=text` (the APA text) return just that.
//	@Tags			data
//	@ID				getCite
//	@Produce		json
//	@Produce		plain
//	@Produce		application/x-bibtex
//	@Param			offence		query		[]string	false	"Offence ids"	collectionFormat(csv)	example(sex-purchase)
//	@Param			region		query		[]string	false	"Region ids"	collectionFormat(csv)	example(NO)
//	@Param			measure		query		[]string	false	"Measure ids"	collectionFormat(csv)	example(reported-persons)
//	@Param			source		query		[]string	false	"Source ids"	collectionFormat(csv)
//	@Param			from		query		string		false	"First period"
//	@Param			to			query		string		false	"Last period"
//	@Param			sex			query		[]string	false	"Sex breakdown"	collectionFormat(csv)
//	@Param			age			query		[]string	false	"Age breakdown"	collectionFormat(csv)
//	@Param			citizenship	query		[]string	false	"Citizenship breakdown"	collectionFormat(csv)
//	@Param			per			query		int			false	"A series with rates: cite the population source too"	Enums(100000)
//	@Param			harmonise	query		string		false	"A harmonised series: cite the predecessors' sources too"	Enums(2016)
//	@Param			small		query		int			false	"Series parameter, accepted so a series query can be cited unchanged"
//	@Param			cite		query		string		false	"Which route the query is for (default: series when offence, region and measure are single, else observations)"	Enums(series, observations)
//	@Param			format		query		string		false	"Representation (default json)"	Enums(json, bibtex, text)
//	@Param			lang		query		string		false	"Language of the citation: en (default) or nb; without it, Accept-Language"	Enums(en, nb)
//	@Param			release		query		string		false	"Release id (default: the current release)"
//	@Success		200			{object}	Citation
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/cite [get]
func (h *Handler) getCite(c *gin.Context) error {
	q, err := citeRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	format, err := q.format(c.GetHeader("Accept"), citeRoute.formats...)
	if err != nil {
		return err
	}
	kind, err := q.one("cite")
	if err != nil {
		return err
	}
	offences, _ := q.list("offence")
	regions, _ := q.list("region")
	measures, _ := q.list("measure")
	if kind == "" {
		kind = "observations"
		if len(offences) == 1 && len(regions) == 1 && len(measures) == 1 {
			kind = "series"
		}
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return err
	}
	sources, err := h.citedBy(c.Request.Context(), q, kind, rel)
	if err != nil {
		return err
	}

	v := url.Values{}
	for name, vs := range q.values {
		if name != "format" && name != "cite" && name != "lang" {
			v[name] = vs
		}
	}
	cited := url.URL{Scheme: scheme(c), Host: c.Request.Host, Path: "/v1/" + kind, RawQuery: v.Encode()}
	lang, err := q.language(c.GetHeader("Accept-Language"))
	if err != nil {
		return err
	}
	cit := citation(rel, sources, cited.String(), time.Now().UTC(), lang)
	c.Header("Content-Language", lang)
	// A citation names today's access date and the Host the client used:
	// neither may be served to another client or on another day from a
	// cache, so it is computed per request.
	c.Header("Cache-Control", "no-store")
	switch format {
	case formatBibTeX:
		c.Data(http.StatusOK, "application/x-bibtex; charset=utf-8", []byte(cit.BibTeX))
	case formatText:
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(cit.APA))
	default:
		writeJSON(c, cit)
	}
	return nil
}

// citedBy returns the sources a query of kind (series or observations)
// cites in release rel.
func (h *Handler) citedBy(ctx context.Context, q query, kind string, rel store.Release) ([]store.Source, error) {
	switch kind {
	case "series":
		for _, name := range []string{"sex", "age", "citizenship"} {
			if _, ok := q.values[name]; ok {
				return nil, store.InvalidParam(name, "a series is totals only; cite=observations cites a breakdown")
			}
		}
		reqs, err := parseSeriesSet(q)
		if err != nil {
			return nil, err
		}
		set, err := series.BuildSet(ctx, h.store, rel.ID, reqs)
		if err != nil {
			return nil, err
		}
		return set.Sources, nil
	case "observations":
		for _, name := range []string{"per", "harmonise", "small"} {
			if _, ok := q.values[name]; ok {
				return nil, store.InvalidParam(name, "a series parameter; cite=series cites a series")
			}
		}
		f, _, err := observationFilter(q)
		if err != nil {
			return nil, err
		}
		f.Limit = 0
		cat, err := h.catalogue(ctx, rel.ID)
		if err != nil {
			return nil, err
		}
		if err := h.checkFilter(ctx, rel.ID, cat, f); err != nil {
			return nil, err
		}
		page, err := h.store.Observations(ctx, rel.ID, f)
		if err != nil {
			return nil, err
		}
		return citedSources(page.Observations, cat.sourceList), nil
	}
	return nil, store.InvalidParam("cite", "%q: want series or observations", kind)
}

// citeRoute is the contract of GET /v1/cite: the parameters of the series
// and observations routes it cites, and the citation formats.
var citeRoute = route{
	params: []string{"offence", "region", "measure", "source", "from", "to",
		"sex", "age", "citizenship", "per", "harmonise", "small", "cite", "format", "release"},
	formats: []string{formatJSON, formatBibTeX, formatText},
}

// scheme is the scheme the client used: https behind a TLS-terminating
// proxy that says so, or when the connection is TLS.
func scheme(c *gin.Context) string { return requestScheme(c.Request) }

// requestScheme is scheme for a request.
func requestScheme(r *http.Request) string {
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		return p
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// citation builds every form of the citation in lang.
func citation(rel store.Release, sources []store.Source, cited string, now time.Time, lang string) Citation {
	tx := citeText[lang]
	accessed := now.Format("2006-01-02")
	relDate := dateParts(rel.Created)
	relYear := tx.noDate
	if len(relDate) > 0 {
		relYear = strconv.Itoa(relDate[0])
	}
	cit := Citation{Accessed: accessed, URL: cited, Release: rel.ID, Sources: sources}
	acc := CSLDate{DateParts: [][]int{{now.Year(), int(now.Month()), now.Day()}}}

	// Krimstat itself.
	var apa, bib strings.Builder
	fmt.Fprintf(&apa, "Krimstat. (%s). %s (%s %s) %s. %s %s, %s %s\n",
		relYear, tx.title, tx.release, rel.ID, tx.dataset, tx.retrieved, accessed, tx.from, cited)
	fmt.Fprintf(&bib, "@misc{krimstat-%s,\n  author = {{Krimstat}},\n  title = {%s},\n  year = {%s},\n  version = {%s},\n  howpublished = {\\url{%s}},\n  note = {%s. %s %s},\n}\n",
		rel.ID, tex(tx.title), relYear, rel.ID, cited, tex(fmt.Sprintf(tx.releaseOf, rel.ID, rel.Created)), tx.accessed, accessed)
	kitem := CSLItem{ID: "krimstat-" + rel.ID, Type: "dataset", Title: tx.title, Author: []CSLName{{"Krimstat"}},
		Publisher: "Krimstat", URL: cited, Version: rel.ID, Accessed: acc, Language: lang,
		Note: fmt.Sprintf(tx.releaseOf, rel.ID, rel.Created) + "; " + tx.compiled}
	if len(relDate) > 0 {
		kitem.Issued = &CSLDate{DateParts: [][]int{relDate}}
	}
	cit.CSL = append(cit.CSL, kitem)

	for _, s := range sources {
		parts := dateParts(s.Published)
		year := tx.noDate
		if len(parts) > 0 {
			year = apaDate(parts, tx.month)
		}
		kind := ""
		if s.TableID != "" {
			kind = " " + tx.dataset
		}
		fmt.Fprintf(&apa, "%s. (%s). %s%s. %s\n", strings.TrimSuffix(s.Publisher, "."), year, s.Title, kind, s.URL)
		y := tx.noDate
		if len(parts) > 0 {
			y = strconv.Itoa(parts[0])
		}
		fmt.Fprintf(&bib, "\n@misc{%s,\n  author = {{%s}},\n  title = {%s},\n  year = {%s},\n  howpublished = {\\url{%s}},\n  note = {%s %s},\n}\n",
			s.ID, tex(s.Publisher), tex(s.Title), y, s.URL, tx.accessed, accessed)
		item := CSLItem{ID: s.ID, Type: cslType(s), Title: s.Title, Author: []CSLName{{s.Publisher}}, URL: s.URL, Accessed: acc}
		if len(parts) > 0 {
			item.Issued = &CSLDate{DateParts: [][]int{parts}}
		}
		if s.TableID != "" {
			item.Note = tx.table + " " + s.TableID
		}
		cit.CSL = append(cit.CSL, item)
	}
	cit.APA, cit.BibTeX = apa.String(), bib.String()
	return cit
}

// cslType is the CSL item type of a source.
func cslType(s store.Source) string {
	switch {
	case s.TableID != "":
		return "dataset"
	case strings.HasPrefix(s.Kind, "news"):
		return "article-newspaper"
	}
	return "report"
}

// dateParts reads YYYY, YYYY-MM, YYYY-MM-DD or an RFC 3339 time into
// CSL date parts; nil when the text has no year.
func dateParts(s string) []int {
	if len(s) > 10 {
		s = s[:10]
	}
	var out []int
	for _, p := range strings.Split(s, "-") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out
		}
		out = append(out, n)
	}
	return out
}

// apaDate writes date parts as APA does: 2012, June 22 (2012, juni 22).
func apaDate(parts []int, month func(time.Month) string) string {
	s := strconv.Itoa(parts[0])
	if len(parts) > 1 && parts[1] >= 1 && parts[1] <= 12 {
		s += ", " + month(time.Month(parts[1]))
		if len(parts) > 2 {
			s += " " + strconv.Itoa(parts[2])
		}
	}
	return s
}

// tex escapes the characters BibTeX and LaTeX treat specially.
func tex(s string) string {
	r := strings.NewReplacer(`\`, `\textbackslash{}`, "{", `\{`, "}", `\}`, "&", `\&`, "%", `\%`, "$", `\$`, "#", `\#`, "_", `\_`, "~", `\textasciitilde{}`, "^", `\textasciicircum{}`)
	return r.Replace(s)
}
