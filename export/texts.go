package export

import (
	"fmt"
	"slices"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// Title is the title Krimstat is cited under.
const Title = "Krimstat: police-reported sex purchase, human trafficking and pimping in Norway, with Eurostat and UNODC comparison data"

// Homepage is where Krimstat's code, documentation and issues live.
const Homepage = "https://github.com/krimstat/krimstat"

// texts are the words of a file in one language. Column names and flag ids
// stay machine names in every language; their meanings are translated.
type texts struct {
	title                               string
	dataSheet, sourcesSheet, notesSheet string
	// release introduces the notes: the release id and its date.
	release func(id, date string) string
	// heading rows of the notes sheet's tables.
	caveats, flag, meaning, rows, column string
	and                                  string // joins the values of an example
	caveatList                           []string
	// several describes the cells that more than one source gives, with
	// an example; it is only used when there are any.
	several func(cells int, example string) string
	flags   map[string]string // flag id to meaning; English from store.Flags
	columns map[string]string // column to meaning
}

// textsFor returns the texts of lang, English for anything but NB.
func textsFor(lang string) texts {
	if lang == NB {
		return textsNB()
	}
	return textsEN()
}

func textsEN() texts {
	flags := make(map[string]string, len(store.Flags))
	for _, f := range store.Flags {
		flags[f.ID] = f.Meaning
	}
	return texts{
		title:     Title,
		dataSheet: "data", sourcesSheet: "sources", notesSheet: "notes",
		release: func(id, date string) string { return fmt.Sprintf("release %s of %s", id, date) },
		caveats: "caveats", flag: "flag", meaning: "meaning", rows: "rows", column: "column", and: "and",
		caveatList: []string{
			"A gap is a gap: a period, region or breakdown without a row has no published figure in this release. It is never a zero, and an empty value is never a zero.",
			"Suppressed figures: where a source printed a cut-off text such as <5 instead of a number, value is empty, the text is in value_text and the row has the flag suppressed.",
			"Measures differ: persons reported (reported-persons) and reports (reported-offences) are different counts, and UNODC's detected victims, persons prosecuted and persons convicted are others again. Never add up or join figures of different measures as one series.",
			"Two sources may give one year two values. Both are kept, each with its source; a later, revised count is flagged later-vintage.",
			"Series breaks: 2009 (the purchase of sexual services became an offence on 1 January 2009, so there are no figures before), 2015 (the 2005 Penal Code came into force on 1 October 2015 and renumbered the provisions: § 202a became § 316, § 224 §§ 257-258, § 202 § 315), 2016 (the police district reform: the 27 districts of 2002-2015 and the 12 from 2016 are different regions).",
			"Totals are given as published: breakdowns (by sex, age, form of exploitation, or Eurostat's sub-categories) do not always add up to their totals, and no total is derived from them.",
			"Confidence: A is an official primary source, B a secondary source quoting an official one.",
		},
		several: func(cells int, example string) string {
			return fmt.Sprintf("%d figures here are given by more than one source, for example %s.", cells, example)
		},
		flags: flags,
		columns: map[string]string{
			"offence":              "offence id",
			"offence_name":         "name of the offence",
			"region":               "region id: Eurostat geo codes for countries (NO, SE), pd2002-... and pd2016-... for police districts",
			"region_name":          "name of the region",
			"period":               "a year (2013) or part of one (2013-T1 is January-April 2013)",
			"period_start":         "first day of the period",
			"measure":              "what is counted (measure id)",
			"measure_name":         "name of the measure",
			"unit":                 "unit of the value",
			"sex":                  "breakdown by sex as published; total for the undivided figure",
			"age":                  "breakdown by age as published; total for the undivided figure",
			"citizenship":          "breakdown by citizenship as published; total for the undivided figure",
			"repatriation_country": "breakdown by country of repatriation as published; total for the undivided figure",
			"value":                "the figure; empty where the source gave no number (see value_text); empty is never zero",
			"value_text":           "what the source printed instead of a number, such as <5",
			"flags":                "flags of the figure, separated by ;",
			"confidence":           "A: official primary source; B: secondary source quoting an official one",
			"source":               "source id",
			"source_title":         "title of the source",
			"source_publisher":     "publisher of the source",
			"source_url":           "where the source is published",
			"source_licence":       "terms of reuse of the source",
			"locator":              "where in the source the figure stands",
		},
	}
}

func textsNB() texts {
	return texts{
		title:     "Krimstat: politianmeldt kjøp av seksuelle tjenester, menneskehandel og hallikvirksomhet i Norge, med sammenligningstall fra Eurostat og UNODC",
		dataSheet: "data", sourcesSheet: "kilder", notesSheet: "merknader",
		release: func(id, date string) string { return fmt.Sprintf("utgave %s av %s", id, date) },
		caveats: "forbehold", flag: "flagg", meaning: "betydning", rows: "rader", column: "kolonne", and: "og",
		caveatList: []string{
			"Et hull er et hull: en periode, region eller inndeling uten rad har ikke noe publisert tall i denne utgaven. Det er aldri null, og en tom verdi er aldri null.",
			"Skjulte tall: der kilden trykket en grensetekst som <5 i stedet for et tall, er value tom, teksten står i value_text og raden har flagget suppressed.",
			"Målene er ulike: personer anmeldt (reported-persons) og anmeldelser (reported-offences) er forskjellige tellinger, og UNODCs avdekkede ofre, tiltalte og domfelte er atter andre. Legg aldri sammen tall for ulike mål, og sett dem aldri sammen til én serie.",
			"To kilder kan gi samme år to verdier. Begge beholdes, hver med sin kilde; en senere, revidert telling har flagget later-vintage.",
			"Brudd i seriene: 2009 (kjøp av seksuelle tjenester ble straffbart 1. januar 2009, så det finnes ingen tall før), 2015 (straffeloven 2005 trådte i kraft 1. oktober 2015 og ga bestemmelsene nye numre: § 202a ble § 316, § 224 §§ 257-258, § 202 § 315), 2016 (politireformen: de 27 distriktene fra 2002-2015 og de 12 fra 2016 er ulike regioner).",
			"Totaler gjengis som publisert: inndelinger (etter kjønn, alder, utnyttelsesform eller Eurostats underkategorier) summerer ikke alltid til totalen, og ingen total er regnet ut fra dem.",
			"Pålitelighet (confidence): A er en offisiell primærkilde, B en sekundærkilde som siterer en offisiell kilde.",
		},
		several: func(cells int, example string) string {
			return fmt.Sprintf("%d tall her er oppgitt av mer enn én kilde, for eksempel %s.", cells, example)
		},
		flags: map[string]string{
			store.FlagApproximate:          "kilden oppgir tallet som omtrentlig",
			store.FlagSuppressed:           "kilden trykket en grensetekst (value_text) som <5 i stedet for et tall; value er tom",
			store.FlagLaterVintage:         "en senere, revidert telling av et tall som en annen kilde publiserte tidligere",
			store.FlagPartialYear:          "perioden er en del av et år (et tertial, kvartal eller halvår)",
			store.FlagOn2016Boundaries:     "et tall fra før 2016 oppgitt for et politidistrikt etter reformen i 2016",
			store.FlagInconsistentInSource: "tallet motsier andre tall i samme kilde; gjengitt som publisert",
			store.FlagBreakInSeries:        "brudd i tidsserien",
			store.FlagProvisional:          "foreløpig tall",
			store.FlagEstimated:            "anslått av utgiveren",
			store.FlagRevised:              "revidert",
			store.FlagDefinitionDiffers:    "definisjonen avviker",
			store.FlagLowReliability:       "lav pålitelighet",
			store.FlagConfidential:         "konfidensielt",
			store.FlagNotApplicable:        "ikke relevant",
			store.FlagNotSignificant:       "ikke signifikant",
			store.FlagForecast:             "prognose",
			store.FlagEurostatEstimate:     "Eurostats anslag",
		},
		columns: map[string]string{
			"offence":              "lovbruddets id",
			"offence_name":         "lovbruddets navn",
			"region":               "regionens id: Eurostats geokoder for land (NO, SE), pd2002-... og pd2016-... for politidistrikter",
			"region_name":          "regionens navn",
			"period":               "et år (2013) eller en del av et år (2013-T1 er januar-april 2013)",
			"period_start":         "periodens første dag",
			"measure":              "hva som telles (målets id)",
			"measure_name":         "målets navn",
			"unit":                 "verdiens enhet (på engelsk)",
			"sex":                  "inndeling etter kjønn som publisert; total for tallet uten inndeling",
			"age":                  "inndeling etter alder som publisert; total for tallet uten inndeling",
			"citizenship":          "inndeling etter statsborgerskap som publisert; total for tallet uten inndeling",
			"repatriation_country": "inndeling etter land for hjemsendelse som publisert; total for tallet uten inndeling",
			"value":                "tallet; tomt der kilden ikke ga noe tall (se value_text); tomt er aldri null",
			"value_text":           "det kilden trykket i stedet for et tall, som <5",
			"flags":                "tallets flagg, skilt med ;",
			"confidence":           "A: offisiell primærkilde; B: sekundærkilde som siterer en offisiell kilde",
			"source":               "kildens id",
			"source_title":         "kildens tittel",
			"source_publisher":     "kildens utgiver",
			"source_url":           "hvor kilden er publisert",
			"source_licence":       "vilkår for gjenbruk av kilden (på engelsk)",
			"locator":              "hvor i kilden tallet står (på engelsk)",
		},
	}
}

// flagMeaning is what flag means in t's language, in English where t has no
// translation of it, and the flag itself for a flag store does not know.
func (t texts) flagMeaning(flag string) string {
	if m, ok := t.flags[flag]; ok {
		return m
	}
	for _, f := range store.Flags {
		if f.ID == flag {
			return f.Meaning
		}
	}
	return flag
}

// tally counts what the notes and the README say about a set of rows: rows
// per flag, source and measure, rows without a number, and the figures that
// more than one source gives. It relies on Key order, in which the rows of
// one figure (all but the source equal) are adjacent. Call done after the
// last row.
type tally struct {
	rows       int
	flags      map[string]int
	sources    map[string]int
	measures   map[string]int
	suppressed int
	// several counts figures given by more than one source; example is
	// one of them, the first whose sources disagree if any do.
	several int
	example []Row
	group   []Row // the rows of the current figure
}

func newTally() *tally {
	return &tally{flags: map[string]int{}, sources: map[string]int{}, measures: map[string]int{}}
}

func sameFigure(a, b Row) bool {
	return a.Offence == b.Offence && a.Region == b.Region && a.Period == b.Period &&
		a.Measure == b.Measure && a.Breakdown == b.Breakdown
}

func (t *tally) add(r Row) {
	t.rows++
	for _, f := range r.Flags {
		t.flags[f]++
	}
	t.sources[r.Source]++
	t.measures[r.Measure]++
	if r.Value == nil {
		t.suppressed++
	}
	if len(t.group) > 0 && !sameFigure(t.group[0], r) {
		t.done()
	}
	t.group = append(t.group, r)
}

// done closes the current figure.
func (t *tally) done() {
	if len(t.group) > 1 {
		t.several++
		if t.example == nil || (!disagree(t.example) && disagree(t.group)) {
			t.example = slices.Clone(t.group)
		}
	}
	t.group = t.group[:0]
}

// disagree reports whether the rows of a figure give different values.
func disagree(rows []Row) bool {
	for _, r := range rows[1:] {
		if r.valueString() != rows[0].valueString() || r.ValueText != rows[0].ValueText {
			return true
		}
	}
	return false
}

// exampleText describes the example figure that several sources give: its
// names, then each value with its source, the last joined by and.
func (t *tally) exampleText(and string) string {
	if len(t.example) == 0 {
		return ""
	}
	r := t.example[0]
	var vals []string
	for _, e := range t.example {
		v := e.valueString()
		if v == "" {
			v = e.ValueText
		}
		vals = append(vals, v+" ("+e.Source+")")
	}
	what := []string{r.OffenceName, r.RegionName, r.Period, r.MeasureName}
	if !r.Breakdown.IsTotal() {
		b := r.Breakdown
		what = append(what, strings.Join(nonEmpty(b.Sex, b.Age, b.Citizenship, b.RepatriationCountry), ", "))
	}
	last := len(vals) - 1
	return strings.Join(what, ", ") + ": " + strings.Join(vals[:last], ", ") + " " + and + " " + vals[last]
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
