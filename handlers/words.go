package handlers

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
)

// words are the texts of charts and embed pages in one language. Every
// field is filled for every language in langs; TestWords fails on an
// empty one.
type words struct {
	HTMLLang                                  string
	Source, Sources, NoSource, For, NoFigures string
	Population, Compiled, Licence, NA, And    string
	PerInhabitants                            string
	NoFiguresSeries, LineChart, LineCharts    string
	NoFiguresShort, Values, Gaps, NoneFor     string
	ValuesBySeries                            string
	Period, Value, Change, Flags              string
	SmallCounts, DataTable, DataAPI           string
	DownloadCSV, OtherSources, AllSources     string
	EmptyCell, NoFiguresThis, NoFiguresThese  string
	Year, Half, Tertial, Quarter, Month       string
	// Units and FlagNames translate the release's units and the flags of
	// observations and points (store.Flags, series.FlagSmallCount, ...)
	// into the language; English has none and shows them as published.
	// TestUnitsAndFlagsTranslated fails on any unit of the bundled
	// release or any flag without a text in nb and nn.
	Units, FlagNames map[string]string
}

// wordsOf holds the words by language.
var wordsOf = map[string]words{
	langEN: {
		HTMLLang: "en",
		Source:   "Source: ", Sources: "Sources: ", NoSource: "Source: none (no figures). Data: Krimstat release %s.",
		For: " for ", NoFigures: "; no figures for ", Population: "; population: %s",
		Compiled: ". Compiled by Krimstat, release %s.", Licence: "Licence: ", NA: "n/a", And: " and ",
		PerInhabitants:  " per 100,000 inhabitants",
		NoFiguresSeries: "No figures for these series", LineChart: "Line chart of %s (%s). ", LineCharts: "Line chart of %s (%s), %d series. ",
		NoFiguresShort: "No figures.", Values: "Values: ", Gaps: " Missing periods are gaps, not zeros.", NoneFor: ": no figures.",
		ValuesBySeries: "Values by series. ",
		Period:         "Period", Value: "Value", Change: "Change", Flags: "Flags",
		SmallCounts: " (small counts)", DataTable: "Data table", DataAPI: "Data and provenance (API)", DownloadCSV: "Download data (CSV)",
		OtherSources: "Other sources hold figures not shown here (%s).", AllSources: "Show every source",
		EmptyCell: ". An empty cell: no figure for that period.", NoFiguresThis: "No figures for this series.", NoFiguresThese: "No figures for these series.",
		Year: "calendar year", Half: "half year", Tertial: "January-April etc. (tertial)", Quarter: "quarter", Month: "month",
	},
	langNB: {
		HTMLLang: "nb",
		Source:   "Kilde: ", Sources: "Kilder: ", NoSource: "Kilde: ingen (ingen tall). Data: Krimstat, versjon %s.",
		For: " for ", NoFigures: "; ingen tall for ", Population: "; befolkning: %s",
		Compiled: ". Satt sammen av Krimstat, versjon %s.", Licence: "Lisens: ", NA: "i.t.", And: " og ",
		PerInhabitants:  " per 100 000 innbyggere",
		NoFiguresSeries: "Ingen tall for disse seriene", LineChart: "Linjediagram over %s (%s). ", LineCharts: "Linjediagram over %s (%s), %d serier. ",
		NoFiguresShort: "Ingen tall.", Values: "Verdier: ", Gaps: " Perioder som mangler er hull, ikke null.", NoneFor: ": ingen tall.",
		ValuesBySeries: "Verdier per serie. ",
		Period:         "Periode", Value: "Verdi", Change: "Endring", Flags: "Merknader",
		SmallCounts: " (små tall)", DataTable: "Tabell", DataAPI: "Data og kilder (API)", DownloadCSV: "Last ned data (CSV)",
		OtherSources: "Andre kilder har tall som ikke vises her (%s).", AllSources: "Vis alle kilder",
		EmptyCell: ". Tom celle: ingen tall for perioden.", NoFiguresThis: "Ingen tall for denne serien.", NoFiguresThese: "Ingen tall for disse seriene.",
		Year: "kalenderår", Half: "halvår", Tertial: "januar–april osv. (tertial)", Quarter: "kvartal", Month: "måned",
		Units: map[string]string{
			"persons": "personer", "offences": "lovbrudd",
			"offences per 100,000 inhabitants": "lovbrudd per 100 000 innbyggere",
		},
		FlagNames: map[string]string{
			store.FlagApproximate: "omtrentlig", store.FlagSuppressed: "skjult av kilden",
			store.FlagLaterVintage: "senere opptelling", store.FlagPartialYear: "del av år",
			store.FlagOn2016Boundaries: "oppgitt for distriktene fra 2016", store.FlagInconsistentInSource: "motstridende i kilden",
			store.FlagBreakInSeries: "brudd i serien", store.FlagProvisional: "foreløpig", store.FlagEstimated: "anslått",
			store.FlagRevised: "revidert", store.FlagDefinitionDiffers: "annen definisjon", store.FlagLowReliability: "lav pålitelighet",
			store.FlagConfidential: "konfidensielt", store.FlagNotApplicable: "ikke relevant", store.FlagNotSignificant: "ikke signifikant",
			store.FlagForecast: "prognose", store.FlagEurostatEstimate: "anslag fra Eurostat",
			series.FlagSmallCount: "lite tall", series.FlagHarmonised: "regnet om til distriktene fra 2016",
		},
	},
	// Nynorsk: the texts only. Names of offences, regions and measures
	// are the Bokmål ones (text), since the release has only English and
	// Bokmål names.
	langNN: {
		HTMLLang: "nn",
		Source:   "Kjelde: ", Sources: "Kjelder: ", NoSource: "Kjelde: ingen (ingen tal). Data: Krimstat, versjon %s.",
		For: " for ", NoFigures: "; ingen tal for ", Population: "; folketal: %s",
		Compiled: ". Sett saman av Krimstat, versjon %s.", Licence: "Lisens: ", NA: "i.t.", And: " og ",
		PerInhabitants:  " per 100 000 innbyggjarar",
		NoFiguresSeries: "Ingen tal for desse seriane", LineChart: "Linjediagram over %s (%s). ", LineCharts: "Linjediagram over %s (%s), %d seriar. ",
		NoFiguresShort: "Ingen tal.", Values: "Verdiar: ", Gaps: " Periodar som manglar er hol, ikkje null.", NoneFor: ": ingen tal.",
		ValuesBySeries: "Verdiar per serie. ",
		Period:         "Periode", Value: "Verdi", Change: "Endring", Flags: "Merknader",
		SmallCounts: " (små tal)", DataTable: "Tabell", DataAPI: "Data og kjelder (API)", DownloadCSV: "Last ned data (CSV)",
		OtherSources: "Andre kjelder har tal som ikkje er viste her (%s).", AllSources: "Vis alle kjelder",
		EmptyCell: ". Tom celle: ingen tal for perioden.", NoFiguresThis: "Ingen tal for denne serien.", NoFiguresThese: "Ingen tal for desse seriane.",
		Year: "kalenderår", Half: "halvår", Tertial: "januar–april osv. (tertial)", Quarter: "kvartal", Month: "månad",
		Units: map[string]string{
			"persons": "personar", "offences": "lovbrot",
			"offences per 100,000 inhabitants": "lovbrot per 100 000 innbyggjarar",
		},
		FlagNames: map[string]string{
			store.FlagApproximate: "omtrentleg", store.FlagSuppressed: "skjult av kjelda",
			store.FlagLaterVintage: "seinare opptelling", store.FlagPartialYear: "del av år",
			store.FlagOn2016Boundaries: "oppgitt for distrikta frå 2016", store.FlagInconsistentInSource: "motstridande i kjelda",
			store.FlagBreakInSeries: "brot i serien", store.FlagProvisional: "førebels", store.FlagEstimated: "anslått",
			store.FlagRevised: "revidert", store.FlagDefinitionDiffers: "anna definisjon", store.FlagLowReliability: "låg pålitelegheit",
			store.FlagConfidential: "konfidensielt", store.FlagNotApplicable: "ikkje relevant", store.FlagNotSignificant: "ikkje signifikant",
			store.FlagForecast: "prognose", store.FlagEurostatEstimate: "anslag frå Eurostat",
			series.FlagSmallCount: "lite tal", series.FlagHarmonised: "rekna om til distrikta frå 2016",
		},
	},
}

// unit is a release's unit in the language: as published when the
// language has no text for it.
func (w words) unit(u string) string {
	if t, ok := w.Units[u]; ok {
		return t
	}
	return u
}

// flags lists flags in the language, comma-separated: each as published
// (its id) when the language has no text for it.
func (w words) flags(flags []string) string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = f
		if t, ok := w.FlagNames[f]; ok {
			out[i] = t
		}
	}
	return strings.Join(out, ", ")
}

// number writes v as the language writes numbers: in English as before
// (1234.5, no grouping), in Norwegian with a decimal comma and a
// no-break space between groups of three digits (1 234,5), so that a
// number never breaks across lines.
func (w words) number(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if w.HTMLLang == langEN {
		return s
	}
	sign, s := "", strings.TrimPrefix(s, "-")
	if v < 0 {
		sign = "−"
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString("," + frac)
	}
	return sign + b.String()
}

// signed writes a change with its sign (+12, −3).
func (w words) signed(v float64) string {
	if w.HTMLLang == langEN {
		return fmt.Sprintf("%+g", v)
	}
	if v >= 0 {
		return "+" + w.number(v)
	}
	return w.number(v)
}

// percent writes a share as a signed percentage with one decimal
// (+12.5 %; in Norwegian +12,5 % with a no-break space).
func (w words) percent(v float64) string {
	s := fmt.Sprintf("%+.1f", v*100)
	if w.HTMLLang == langEN {
		return s + " %"
	}
	return strings.Replace(strings.Replace(s, ".", ",", 1), "-", "−", 1) + "\u00a0%"
}

// periodLabel names a kind of period in a chart's legend.
func (w words) periodLabel(kind string) string {
	return map[string]string{
		store.PeriodYear: w.Year, store.PeriodHalf: w.Half, store.PeriodTertial: w.Tertial,
		store.PeriodQuarter: w.Quarter, store.PeriodMonth: w.Month,
	}[kind]
}
