package ingest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/krimstat/krimstat/store"
)

// Police-district generations: the 27 districts of 2002-2015 and the 12 from
// 1 January 2016 are different regions, even where the name is the same.
const (
	gen2002 = "2002"
	gen2016 = "2016"
)

// districtID gives a police district its stable id, e.g. pd2016-trondelag.
func districtID(gen, name string) string {
	r := strings.NewReplacer("æ", "ae", "ø", "o", "å", "a", "Æ", "ae", "Ø", "o", "Å", "a", " ", "-")
	return "pd" + gen + "-" + strings.ToLower(r.Replace(name))
}

// readSources reads norway/sources.csv.
func readSources(data []byte, file string) ([]store.Source, error) {
	recs, err := readCSV(data, file, 0, []string{"source_id", "publisher", "title", "url", "published", "kind", "licence_note"})
	if err != nil {
		return nil, err
	}
	var out []store.Source
	for _, r := range recs {
		s := store.Source{
			ID: r.get("source_id"), Publisher: r.get("publisher"), Title: r.get("title"), URL: r.get("url"),
			Published: r.get("published"), Kind: r.get("kind"), Licence: r.get("licence_note"),
		}
		for _, f := range []struct{ name, v string }{{"source_id", s.ID}, {"publisher", s.Publisher}, {"title", s.Title}, {"url", s.URL}, {"licence_note", s.Licence}} {
			if strings.TrimSpace(f.v) == "" {
				return nil, r.fail(f.name, "empty")
			}
		}
		if !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
			return nil, r.fail("url", "%q is not an http(s) URL", s.URL)
		}
		if s.Published != "" && !validPartialDate(s.Published) {
			return nil, r.fail("published", "%q: want YYYY, YYYY-MM or YYYY-MM-DD", s.Published)
		}
		if x, ok := sourceExtra[s.ID]; ok {
			s.TableID, s.Retrieved = x.TableID, x.Retrieved
		}
		out = append(out, s)
	}
	return out, nil
}

func validPartialDate(s string) bool {
	for _, layout := range []string{"2006", "2006-01", "2006-01-02"} {
		if len(s) == len(layout) {
			if _, err := time.Parse(layout, s); err == nil {
				return true
			}
		}
	}
	return false
}

func validDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil && len(s) == 10
}

// readDistricts reads norway/police-districts.csv into regions, linking each
// old district to its successor and back. Successions whose note says that
// municipalities moved across the new lines are approximate; those whose note
// says the successor was inferred are marked inferred.
func readDistricts(data []byte, file string) ([]store.Region, error) {
	recs, err := readCSV(data, file, 0, []string{"name", "seat", "valid_from", "valid_to", "successor", "note"})
	if err != nil {
		return nil, err
	}
	var out []store.Region
	index := map[string]int{}
	type link struct {
		from int
		to   string
		rec  record
	}
	var links []link
	for _, r := range recs {
		name, from, to := r.get("name"), r.get("valid_from"), r.get("valid_to")
		if name == "" {
			return nil, r.fail("name", "empty")
		}
		if !validDate(from) {
			return nil, r.fail("valid_from", "%q is not YYYY-MM-DD", from)
		}
		if to != "" && (!validDate(to) || to < from) {
			return nil, r.fail("valid_to", "%q is not a YYYY-MM-DD on or after valid_from", to)
		}
		var gen, span string
		switch {
		case to == "2015-12-31" && from <= "2002-01-01":
			gen, span = gen2002, "2002-2015"
		case from == "2016-01-01" && to == "":
			gen, span = gen2016, "2016-"
		default:
			return nil, r.fail("valid_from", "%s to %q matches neither district generation (2002-2015, 2016-)", from, to)
		}
		id := districtID(gen, name)
		if _, dup := index[id]; dup {
			return nil, r.fail("name", "district %q of %s is listed twice", name, span)
		}
		reg := store.Region{
			ID: id, Type: store.RegionPoliceDistrict, Parent: "NO",
			Name: store.Text{EN: name + " police district (" + span + ")", NB: name + " politidistrikt (" + span + ")"},
			Seat: r.get("seat"), ValidFrom: from, ValidTo: to,
		}
		if note := r.get("note"); note != "" {
			reg.Notes = []string{note}
		}
		index[id] = len(out)
		out = append(out, reg)
		if s := r.get("successor"); s != "" {
			if gen != gen2002 {
				return nil, r.fail("successor", "only districts of 2002-2015 have successors")
			}
			links = append(links, link{from: len(out) - 1, to: s, rec: r})
		} else if gen == gen2002 {
			return nil, r.fail("successor", "a district of 2002-2015 needs a successor")
		}
	}
	for _, l := range links {
		to, ok := index[districtID(gen2016, l.to)]
		if !ok {
			return nil, l.rec.fail("successor", "%q is not a district of 2016", l.to)
		}
		note := l.rec.get("note")
		s := store.Succession{
			From:        "2016-01-01",
			Approximate: strings.Contains(note, "municipalit"),
			Inferred:    strings.Contains(note, "inferred"),
			Note:        note,
		}
		fwd, back := s, s
		fwd.Region, back.Region = out[to].ID, out[l.from].ID
		out[l.from].Successors = append(out[l.from].Successors, fwd)
		out[to].Predecessors = append(out[to].Predecessors, back)
	}
	return out, nil
}

// readPopulation reads norway/population.csv.
func readPopulation(data []byte, file string) ([]store.PopulationFigure, error) {
	recs, err := readCSV(data, file, 0, []string{"region", "date", "population", "source_id"})
	if err != nil {
		return nil, err
	}
	var out []store.PopulationFigure
	for _, r := range recs {
		if !validDate(r.get("date")) {
			return nil, r.fail("date", "%q is not YYYY-MM-DD", r.get("date"))
		}
		v, err := strconv.ParseInt(r.get("population"), 10, 64)
		if err != nil || v <= 0 {
			return nil, r.fail("population", "%q is not a positive whole number", r.get("population"))
		}
		out = append(out, store.PopulationFigure{
			Region: r.get("region"), Date: r.get("date"), Value: float64(v), Source: r.get("source_id"),
			Locator: fmt.Sprintf("table 07459, region %s, population on %s", r.get("region"), r.get("date")),
		})
	}
	return out, nil
}

// figureFlags maps the flags of norway/figures.csv to Krimstat flags.
var figureFlags = map[string]string{
	"approximate":                 store.FlagApproximate,
	"later-vintage":               store.FlagLaterVintage,
	"first-tertial":               store.FlagPartialYear,
	"reported-on-2016-boundaries": store.FlagOn2016Boundaries,
}

// figureRegion resolves the region column of norway/figures.csv: a country
// code, or a police district written "<name> police district (2016-)" or
// "(2002-2015)".
func figureRegion(s string, regions map[string]bool) (string, bool) {
	if regions[s] {
		return s, true
	}
	for suffix, gen := range map[string]string{" police district (2016-)": gen2016, " police district (2002-2015)": gen2002} {
		if name, ok := strings.CutSuffix(s, suffix); ok {
			id := districtID(gen, name)
			return id, regions[id]
		}
	}
	return "", false
}

// readFigures reads norway/figures.csv. The quote column is checked to be
// present but not copied: the project records source and locator.
func readFigures(data []byte, file string, known known) ([]store.Observation, error) {
	recs, err := readCSV(data, file, 0, []string{"offence", "region", "period", "measure", "value", "flags", "source_id", "confidence", "locator", "quote"})
	if err != nil {
		return nil, err
	}
	var out []store.Observation
	for _, r := range recs {
		o := store.Observation{
			Offence: r.get("offence"), Period: r.get("period"), Measure: r.get("measure"),
			Source: r.get("source_id"), Confidence: r.get("confidence"), Locator: r.get("locator"), Flags: []string{},
		}
		if !known.offences[o.Offence] {
			return nil, r.fail("offence", "unknown offence %q", o.Offence)
		}
		region, ok := figureRegion(r.get("region"), known.regions)
		if !ok {
			return nil, r.fail("region", "unknown region %q", r.get("region"))
		}
		o.Region = region
		if !known.measures[o.Measure] {
			return nil, r.fail("measure", "unknown measure %q", o.Measure)
		}
		p, err := store.ParsePeriod(o.Period)
		if err != nil {
			return nil, r.fail("period", "%v", err)
		}
		if !known.sources[o.Source] {
			return nil, r.fail("source_id", "unknown source %q", o.Source)
		}
		if o.Confidence != "A" && o.Confidence != "B" && o.Confidence != "C" {
			return nil, r.fail("confidence", "%q: want A, B or C", o.Confidence)
		}
		if strings.TrimSpace(o.Locator) == "" {
			return nil, r.fail("locator", "empty")
		}
		if strings.TrimSpace(r.get("quote")) == "" {
			return nil, r.fail("quote", "empty: every figure needs the source's sentence for checking")
		}
		v, err := strconv.ParseFloat(r.get("value"), 64)
		if err != nil || strings.ContainsAny(r.get("value"), "xXnNiI_") {
			return nil, r.fail("value", "%q is not a number", r.get("value"))
		}
		o.Value = &v
		if f := r.get("flags"); f != "" {
			for _, name := range strings.Split(f, ";") {
				flag, ok := figureFlags[strings.TrimSpace(name)]
				if !ok {
					return nil, r.fail("flags", "unknown flag %q", name)
				}
				o.Flags = append(o.Flags, flag)
			}
		}
		if p.Kind != store.PeriodYear && !slices.Contains(o.Flags, store.FlagPartialYear) {
			return nil, r.fail("flags", "period %s is part of a year but the row has no partial-year flag", o.Period)
		}
		out = append(out, o)
	}
	return out, nil
}
