package handlers

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// Languages of names and texts: English (the default, as before there was a
// choice), Norwegian Bokmål and Nynorsk. The release's metadata holds
// English and Bokmål names; Nynorsk exists for the texts of charts and
// embed pages (words), whose names are the Bokmål ones.
const (
	langEN = "en"
	langNB = "nb"
	langNN = "nn"
)

// langs are the languages of data routes, the default first: those the
// release's names are written in. A data route asked for Nynorsk answers
// in Bokmål.
var langs = []string{langEN, langNB}

// chartLangs are the languages of charts and embed pages (the SVG, the
// PNG, /embed/*): langs and Nynorsk, which only their texts are written in.
var chartLangs = []string{langEN, langNB, langNN}

// language picks the language of a data response (one of langs); see
// languageIn.
func (q query) language(acceptLanguage string) (string, error) {
	return q.languageIn(acceptLanguage, langs)
}

// languageIn picks the language of a response from those offered: the
// lang parameter wins, then Accept-Language, then English. Any of
// chartLangs may be asked for; Nynorsk (and "no") asks for Bokmål where
// Nynorsk is not offered.
func (q query) languageIn(acceptLanguage string, offered []string) (string, error) {
	l, err := q.one("lang")
	if err != nil {
		return "", err
	}
	if l != "" {
		if !slices.Contains(chartLangs, l) {
			return "", store.InvalidParam("lang", "%q: want en, nb or nn", l)
		}
		if !slices.Contains(offered, l) {
			return langNB, nil
		}
		return l, nil
	}
	return negotiateLanguage(acceptLanguage, offered), nil
}

// negotiateLanguage reads an Accept-Language header: the offered language
// with the highest quality, English when none is offered or the header is
// malformed. Norwegian in any written form (no, nb, nn) asks for Bokmål,
// except nn where Nynorsk is offered.
func negotiateLanguage(header string, offered []string) string {
	best, bestQ := langEN, 0.0
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		var l string
		switch primary {
		case "nn":
			l = langNB
			if slices.Contains(offered, langNN) {
				l = langNN
			}
		case "nb", "no":
			l = langNB
		case "en":
			l = langEN
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// requestLanguage is the language of c's request, English when its lang
// parameter is not one offered (the handler refuses such a request before
// it writes anything that depends on the language).
func requestLanguage(c *gin.Context) string {
	q := query{values: c.Request.URL.Query()}
	l, err := q.language(c.GetHeader("Accept-Language"))
	if err != nil {
		return langEN
	}
	return l
}

// langParam is the lang parameter that asks for lang, or "" for the
// default, for links that must keep a response's language.
func langParam(lang string) string {
	if lang == langEN {
		return ""
	}
	return "lang=" + lang
}

// text is t in lang, falling back to English where the release has no
// Norwegian text. Nynorsk takes the Bokmål text: the release has no
// Nynorsk names.
func text(t store.Text, lang string) string {
	if (lang == langNB || lang == langNN) && t.NB != "" {
		return t.NB
	}
	return t.EN
}

// labels are the names of a release's ids in one language.
type labels struct {
	offence, region, measure, unit, source map[string]string
}

// newLabels reads the names of every offence, region, measure (and its
// unit) and source of the catalogue in lang. Units and source titles are
// published in one language only and are used as they are.
func newLabels(offs []store.Offence, regs []store.Region, ms []store.Measure, srcs []store.Source, lang string) labels {
	l := labels{offence: map[string]string{}, region: map[string]string{}, measure: map[string]string{}, unit: map[string]string{}, source: map[string]string{}}
	for _, o := range offs {
		l.offence[o.ID] = text(o.Name, lang)
	}
	for _, r := range regs {
		l.region[r.ID] = text(r.Name, lang)
	}
	for _, m := range ms {
		l.measure[m.ID] = text(m.Name, lang)
		l.unit[m.ID] = m.Unit
	}
	for _, s := range srcs {
		l.source[s.ID] = s.Title
	}
	return l
}
