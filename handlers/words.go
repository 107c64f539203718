package handlers

import "github.com/krimstat/krimstat/store"

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
	EmptyCell, NoFiguresThis, NoFiguresThese  string
	Year, Half, Tertial, Quarter, Month       string
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
		SmallCounts: " (small counts)", DataTable: "Data table", DataAPI: "Data and provenance (API)",
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
		SmallCounts: " (små tall)", DataTable: "Tabell", DataAPI: "Data og kilder (API)",
		EmptyCell: ". Tom celle: ingen tall for perioden.", NoFiguresThis: "Ingen tall for denne serien.", NoFiguresThese: "Ingen tall for disse seriene.",
		Year: "kalenderår", Half: "halvår", Tertial: "januar–april osv. (tertial)", Quarter: "kvartal", Month: "måned",
	},
}

// periodLabel names a kind of period in a chart's legend.
func (w words) periodLabel(kind string) string {
	return map[string]string{
		store.PeriodYear: w.Year, store.PeriodHalf: w.Half, store.PeriodTertial: w.Tertial,
		store.PeriodQuarter: w.Quarter, store.PeriodMonth: w.Month,
	}[kind]
}
