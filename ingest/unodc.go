package ingest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// unodcColumns is the header of UNODC's data_glotip export, after two
// preamble lines (publisher and export date).
var unodcColumns = []string{"Iso3_code", "Country", "Region", "Subregion", "Indicator", "Dimension", "Category",
	"Sex", "Age", "Year", "Unit of measurement", "txtVALUE", "Source"}

// unodcMeasures maps UNODC indicators to Krimstat measures.
var unodcMeasures = map[string]string{
	"Detected trafficking victims":        "detected-victims",
	"Persons brought into formal contact": "persons-formal-contact",
	"Persons prosecuted":                  "persons-prosecuted",
	"Persons convicted":                   "persons-convicted",
	"Offences of trafficking in persons":  "reported-offences",
}

// unodcForms maps the categories of "by form of exploitation" to offences.
var unodcForms = map[string]string{
	"Sexual exploitation": "human-trafficking/sexual-exploitation",
	"Forced labour":       "human-trafficking/forced-labour",
}

var unodcSex = map[string]string{"Total": "", "Female": "female", "Male": "male", "Other": "other", "Unknown": "unknown"}

var unodcAge = map[string]string{"Total": "", "0 to 17 years": "0-17", "18 years or over": "18-plus", "Unknown": "unknown"}

// blankCategory labels a breakdown category the source left empty.
const blankCategory = "(blank in source)"

// unodcSuppressed is the text UNODC prints for a small count it does not publish.
const unodcSuppressed = "<5"

// unodcRow is an observation with the source fields the consistency checks need.
type unodcRow struct {
	obs       store.Observation
	indicator string
	dimension string
	category  string
}

// readUNODC reads the GLOTIP export, whose countries must be among geo.
// Every row becomes one observation; a row that cannot be represented is an
// error naming its line and field.
func readUNODC(data []byte, file string, geo countries) ([]store.Observation, error) {
	recs, err := readCSV(data, file, 2, unodcColumns)
	if err != nil {
		return nil, err
	}
	rows := make([]unodcRow, 0, len(recs))
	for _, r := range recs {
		row, err := readUNODCRow(r, geo)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	flagUNODCInconsistencies(rows)
	out := make([]store.Observation, len(rows))
	for i, r := range rows {
		out[i] = r.obs
	}
	return out, nil
}

// readUNODCRow maps one row of the GLOTIP export onto an observation.
func readUNODCRow(r record, geo countries) (unodcRow, error) {
	code := r.get("Iso3_code")
	region, ok := geo.byISO3[code]
	if !ok {
		return unodcRow{}, r.fail("Iso3_code", "no region has ISO3 code %q", code)
	}
	if want := geo.name[region]; r.get("Country") != want {
		return unodcRow{}, r.fail("Country", "%q does not match %s (%s)", r.get("Country"), code, want)
	}
	measure, ok := unodcMeasures[r.get("Indicator")]
	if !ok {
		return unodcRow{}, r.fail("Indicator", "unknown indicator %q", r.get("Indicator"))
	}
	o := store.Observation{
		Offence: "human-trafficking", Region: region, Measure: measure, Source: unodcSource,
		Confidence: "A", Flags: []string{},
	}
	cat := r.get("Category")
	if err := unodcCategory(r, cat, &o); err != nil {
		return unodcRow{}, err
	}
	if o.Breakdown.Sex, ok = unodcSex[r.get("Sex")]; !ok {
		return unodcRow{}, r.fail("Sex", "unknown value %q", r.get("Sex"))
	}
	if o.Breakdown.Age, ok = unodcAge[r.get("Age")]; !ok {
		return unodcRow{}, r.fail("Age", "unknown value %q", r.get("Age"))
	}
	p, err := store.ParsePeriod(r.get("Year"))
	if err != nil || p.Kind != store.PeriodYear {
		return unodcRow{}, r.fail("Year", "%q is not a year", r.get("Year"))
	}
	o.Period = p.String()
	if u := r.get("Unit of measurement"); u != "Counts" {
		return unodcRow{}, r.fail("Unit of measurement", "%q, want Counts", u)
	}
	if s := r.get("Source"); s != "GLOTIP" {
		return unodcRow{}, r.fail("Source", "%q, want GLOTIP", s)
	}
	switch txt := r.get("txtVALUE"); {
	case txt == unodcSuppressed:
		o.ValueText = txt
		o.Flags = append(o.Flags, store.FlagSuppressed)
	default:
		v, err := strconv.ParseUint(txt, 10, 32)
		if err != nil {
			return unodcRow{}, r.fail("txtVALUE", "%q is neither a whole number nor %q", txt, unodcSuppressed)
		}
		f := float64(v)
		o.Value = &f
	}
	o.Locator = fmt.Sprintf("data_glotip export: Iso3_code=%s; Indicator=%s; Dimension=%s; Category=%s; Sex=%s; Age=%s; Year=%s",
		code, r.get("Indicator"), r.get("Dimension"), cat, r.get("Sex"), r.get("Age"), r.get("Year"))
	return unodcRow{obs: o, indicator: r.get("Indicator"), dimension: r.get("Dimension"), category: cat}, nil
}

// unodcCategory sets o's offence or breakdown from the row's Dimension and
// its category cat.
func unodcCategory(r record, cat string, o *store.Observation) error {
	switch dim := r.get("Dimension"); dim {
	case "Total":
		if cat != "Total" {
			return r.fail("Category", "%q under Dimension Total, want Total", cat)
		}
	case "by form of exploitation":
		offence, ok := unodcForms[cat]
		if !ok {
			return r.fail("Category", "unknown form of exploitation %q", cat)
		}
		o.Offence = offence
	case "by citizenship":
		switch cat {
		case "Total":
			return r.fail("Category", "%q is not a citizenship", cat)
		case "":
			// One Norwegian row leaves the citizenship blank; it is kept
			// under an explicit label rather than dropped or read as a total.
			o.Breakdown.Citizenship = blankCategory
		default:
			o.Breakdown.Citizenship = cat
		}
	case "by country of repatriation":
		if cat == "" || cat == "Total" {
			return r.fail("Category", "%q is not a country", cat)
		}
		o.Breakdown.RepatriationCountry = cat
	default:
		return r.fail("Dimension", "unknown dimension %q", dim)
	}
	return nil
}

// flagUNODCInconsistencies marks, without changing any value, the rows that
// contradict other rows of the same export:
//   - breakdowns by form of exploitation whose published numbers add up to
//     more than the published total for the same country, indicator, year,
//     sex and age (Norway's detected victims of 2010, for one);
//   - "persons convicted by form of exploitation" rows that repeat, category
//     for category, the detected-victims rows of the same country, year, sex
//     and age, where at least one of them is a number (Norway's 2019 and 2020
//     rows); two sets of "<5" alone say nothing.
func flagUNODCInconsistencies(rows []unodcRow) {
	type group struct{ region, period, sex, age string }
	type total struct {
		group
		indicator string
	}
	key := func(r unodcRow) group {
		return group{r.obs.Region, r.obs.Period, r.obs.Breakdown.Sex, r.obs.Breakdown.Age}
	}
	totals := map[total]float64{}
	sums := map[total]float64{}
	victims := map[group]map[string]string{}   // category -> value as printed
	convicted := map[group]map[string]string{} // category -> value as printed
	for _, r := range rows {
		t := total{key(r), r.indicator}
		switch r.dimension {
		case "Total":
			if r.obs.Value != nil {
				totals[t] = *r.obs.Value
			}
		case "by form of exploitation":
			if r.obs.Value != nil {
				sums[t] += *r.obs.Value
			}
			m := victims
			if r.indicator == "Persons convicted" {
				m = convicted
			} else if r.indicator != "Detected trafficking victims" {
				continue
			}
			if m[t.group] == nil {
				m[t.group] = map[string]string{}
			}
			m[t.group][r.category] = valueString(r.obs)
		}
	}
	repeats := map[group]bool{}
	for g, cats := range convicted {
		same, number := true, false
		for cat, v := range cats {
			if victims[g][cat] != v {
				same = false
			}
			if !strings.HasPrefix(v, "<") {
				number = true
			}
		}
		repeats[g] = same && number
	}
	for i, r := range rows {
		if r.dimension != "by form of exploitation" {
			continue
		}
		t := total{key(r), r.indicator}
		tot, ok := totals[t]
		if (ok && sums[t] > tot) || (r.indicator == "Persons convicted" && repeats[t.group]) {
			rows[i].obs.Flags = append(rows[i].obs.Flags, store.FlagInconsistentInSource)
		}
	}
}

func valueString(o store.Observation) string {
	if o.Value == nil {
		return o.ValueText
	}
	return strconv.FormatFloat(*o.Value, 'f', -1, 64)
}
