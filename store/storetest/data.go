package storetest

import (
	"fmt"

	"github.com/krimstat/krimstat/store"
)

// Release ids of the two handcrafted datasets.
const (
	Release1 = "2024-06-01"
	Release2 = "2025-01-15"
)

// Dataset1 returns the first handcrafted release: four offences (one a
// breakdown of another), countries, a country part and police districts
// linked by succession, two measures, three sources, population figures, and
// observations over years and parts of years with breakdowns, flags and a
// suppressed "<5". Lists are deliberately out of order. Each call returns a
// fresh copy, since a Store may sort what it is given.
func Dataset1() *store.Dataset { return build(1) }

// Dataset2 returns the second handcrafted release: Dataset1 revised. Names
// and values change, a year is added, an observation is withdrawn, and the
// release block has no files or counts but the changes since Dataset1. The
// yearly counts Dataset1 had carry the revised flag and their Dataset1
// value as their revision, and one figure a revision from an earlier
// release, when it was printed as text. Every observation's Locator starts
// with "r2", Dataset1's with "r1", so a test can tell which release a figure
// came from.
func Dataset2() *store.Dataset { return build(2) }

// Changes2 returns the change summary of Dataset2's release: how its
// observations differ from Dataset1's. Every common figure's locator
// changed, so none is unchanged; the yearly counts are revised.
func Changes2() *store.ChangeSummary {
	return &store.ChangeSummary{
		Since:        Release1,
		ChangeCounts: store.ChangeCounts{Added: 12, Removed: 1, Revised: 35, MetadataRevised: 18},
		Sources: []store.SourceChanges{
			{Source: "eurostat-crim_off_cat", ChangeCounts: store.ChangeCounts{Added: 4, Removed: 1, Revised: 11, MetadataRevised: 1}},
			{Source: "ssb-08484", ChangeCounts: store.ChangeCounts{Added: 8, Revised: 24, MetadataRevised: 14}},
			{Source: "unodc-cts", ChangeCounts: store.ChangeCounts{MetadataRevised: 3}},
		},
	}
}

func ptr(v float64) *float64 { return &v }

// Police district ids, in the form the bundled data use.
const (
	asker    = "NO-PD-ASKER-BAERUM"
	oslo     = "NO-PD-OSLO"
	rogaland = "NO-PD-ROGALAND"
	sorVest  = "NO-PD-SOR-VEST"
)

func build(rev int) *store.Dataset {
	d := &store.Dataset{Format: store.DatasetFormat}
	if rev == 1 {
		d.Release = store.Release{
			ID:      Release1,
			Created: "2024-06-01T10:00:00Z",
			Note:    "first release",
			Files:   []store.ReleaseFile{{Path: "data/krimstat.json", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Rows: 0}},
			Counts:  map[string]int{"observations": 0, "regions": 9},
		}
	} else {
		d.Release = store.Release{ID: Release2, Created: "2025-01-15T08:30:00+01:00", Changes: Changes2()}
	}

	htName := store.Text{EN: "Human trafficking", NB: "Menneskehandel"}
	if rev == 2 {
		htName.EN = "Trafficking in human beings"
	}
	d.Offences = []store.Offence{
		{ID: "pimping", Classification: "krimstat", Name: store.Text{EN: "Pimping", NB: "Hallikvirksomhet"},
			Definition: store.Text{EN: "Promoting the prostitution of others.", NB: "Å fremme andres prostitusjon."}},
		{ID: "human-trafficking/aggravated", Parent: "human-trafficking", Classification: "krimstat",
			Name:       store.Text{EN: "Aggravated human trafficking", NB: "Grov menneskehandel"},
			Definition: store.Text{EN: "Human trafficking under section 258.", NB: "Menneskehandel etter § 258."},
			LegalBasis: []store.LegalBasis{{Law: "Straffeloven 2005", Section: "258", ValidFrom: "2015-10-01"}}},
		{ID: "human-trafficking", Classification: "krimstat", Name: htName,
			Definition: store.Text{EN: "Exploitation by force or deceit.", NB: "Utnytting ved vold eller svik."},
			LegalBasis: []store.LegalBasis{
				{Law: "Straffeloven 1902", Section: "224", ValidTo: "2015-09-30"},
				{Law: "Straffeloven 2005", Section: "257", ValidFrom: "2015-10-01", Note: "renumbered"},
			},
			Notes: []string{"Counts reported offences, not victims."}},
		{ID: "homicide", Classification: "iccs", Code: "ICCS0101", Name: store.Text{EN: "Intentional homicide", NB: "Forsettlig drap"},
			Definition: store.Text{EN: "Unlawful death inflicted with intent.", NB: "Ulovlig død påført med forsett."}},
	}

	d.Regions = []store.Region{
		{ID: "SE", Type: store.RegionCountry, Name: store.Text{EN: "Sweden", NB: "Sverige"}, Codes: map[string]string{"unodc": "SWE"}},
		{ID: "NO", Type: store.RegionCountry, Name: store.Text{EN: "Norway", NB: "Norge"}, Codes: map[string]string{"unodc": "NOR", "ssb": "0"}},
		{ID: "UKC-L", Type: store.RegionCountryPart, Name: store.Text{EN: "England and Wales", NB: "England og Wales"}, Parent: "UK"},
		{ID: "UK", Type: store.RegionCountry, Name: store.Text{EN: "United Kingdom", NB: "Storbritannia"}},
		{ID: oslo, Type: store.RegionPoliceDistrict, Name: store.Text{EN: "Oslo", NB: "Oslo"}, Parent: "NO",
			Seat: "Oslo", ValidFrom: "2002-01-01",
			Predecessors: []store.Succession{{Region: asker, From: "2017-01-01", Approximate: true, Note: "Asker and Bærum joined Oslo."}}},
		{ID: asker, Type: store.RegionPoliceDistrict, Name: store.Text{EN: "Asker and Bærum", NB: "Asker og Bærum"}, Parent: "NO",
			Seat: "Sandvika", ValidFrom: "2002-01-01", ValidTo: "2016-12-31",
			Successors: []store.Succession{{Region: oslo, From: "2017-01-01", Approximate: true, Note: "Asker and Bærum joined Oslo."}}},
		{ID: sorVest, Type: store.RegionPoliceDistrict, Name: store.Text{EN: "South West", NB: "Sør-Vest"}, Parent: "NO",
			Seat: "Stavanger", ValidFrom: "2017-01-01",
			Predecessors: []store.Succession{{Region: rogaland, From: "2017-01-01", Inferred: true}},
			Notes:        []string{"Formed by the 2016 police reform."}},
		{ID: rogaland, Type: store.RegionPoliceDistrict, Name: store.Text{EN: "Rogaland", NB: "Rogaland"}, Parent: "NO",
			Seat: "Stavanger", ValidFrom: "2002-01-01", ValidTo: "2016-12-31",
			Successors: []store.Succession{{Region: sorVest, From: "2017-01-01", Inferred: true}}},
		{ID: "EU27_2020", Type: store.RegionCountryPart, Name: store.Text{EN: "European Union (27)", NB: "Den europeiske union (27)"},
			ValidFrom: "2020-02-01"},
	}

	d.Measures = []store.Measure{
		{ID: "rate-per-100k", Name: store.Text{EN: "Rate per 100 000", NB: "Rate per 100 000"}, Unit: "per 100 000 inhabitants",
			Definition: store.Text{EN: "Offences per 100 000 inhabitants.", NB: "Lovbrudd per 100 000 innbyggere."}},
		{ID: "offences-reported", Name: store.Text{EN: "Offences reported", NB: "Anmeldte lovbrudd"}, Unit: "count",
			Definition: store.Text{EN: "Offences reported to the police.", NB: "Lovbrudd anmeldt til politiet."}},
	}

	d.Sources = []store.Source{
		{ID: "ssb-08484", Publisher: "Statistics Norway", Title: "Reported offences, by type of offence", URL: "https://www.ssb.no/statbank/table/08484",
			TableID: "08484", Published: "2024-03", Retrieved: "2024-05-30", Kind: "official", Licence: "NLOD 2.0"},
		{ID: "eurostat-crim_off_cat", Publisher: "Eurostat", Title: "Recorded offences by offence category", URL: "https://ec.europa.eu/eurostat/databrowser/view/crim_off_cat",
			TableID: "crim_off_cat", Published: "2024", Kind: "official", Licence: "CC BY 4.0", Notes: []string{"Police data."}},
		{ID: "unodc-cts", Publisher: "UNODC", Title: "Crime Trends Survey", URL: "https://dataunodc.un.org/", Kind: "official", Licence: "UN terms"},
	}

	d.Population = []store.PopulationFigure{
		{Region: "NO", Date: "2014-01-01", Value: 5109056, Source: "ssb-08484", Locator: "population 2014"},
		{Region: "SE", Date: "2013-01-01", Value: 9555893, Source: "eurostat-crim_off_cat", Locator: "demo_pjan SE 2013"},
		{Region: "NO", Date: "2013-01-01", Value: 5051275, Source: "ssb-08484", Locator: "population 2013"},
		{Region: oslo, Date: "2014-01-01", Value: 634463, Source: "ssb-08484", Locator: "population Oslo 2014"},
	}

	r := fmt.Sprintf("r%d", rev)
	add := func(o store.Observation) {
		if o.Confidence == "" {
			o.Confidence = "A"
		}
		if o.Measure == "" {
			o.Measure = "offences-reported"
		}
		if o.Source == "" {
			o.Source = "ssb-08484"
			if o.Region == "SE" {
				o.Source = "eurostat-crim_off_cat"
			}
		}
		o.Locator = fmt.Sprintf("%s %s %s %s %s", r, o.Source, o.Offence, o.Region, o.Period)
		d.Observations = append(d.Observations, o)
	}

	// A grid of plain yearly counts: 4 offences x 3 regions x 3 or 4 years.
	years := []string{"2012", "2013", "2014"}
	if rev == 2 {
		years = append(years, "2015")
	}
	for i, off := range []string{"pimping", "human-trafficking", "human-trafficking/aggravated", "homicide"} {
		for j, reg := range []string{"SE", "NO", oslo} {
			for k, y := range years {
				if rev == 2 && off == "pimping" && reg == "SE" && y == "2012" {
					continue // withdrawn in the revision
				}
				v := float64(100*i + 10*j + k + 1)
				if rev == 2 {
					v += 1000
				}
				var flags []string // nil and empty flags must both survive a round trip
				if k%2 == 1 {
					flags = []string{}
				}
				var was *store.Revision
				if rev == 2 && y != "2015" {
					flags, was = append(flags, store.FlagRevised), &store.Revision{Release: Release1, Value: ptr(v - 1000)}
				}
				add(store.Observation{Offence: off, Region: reg, Period: y, Value: ptr(v), Flags: flags, Revision: was})
			}
		}
	}

	// Parts of years.
	add(store.Observation{Offence: "human-trafficking", Region: "NO", Period: "2013-T1", Value: ptr(7),
		Flags: []string{store.FlagPartialYear}})
	add(store.Observation{Offence: "human-trafficking", Region: "NO", Period: "2014-H2", Value: ptr(21),
		Flags: []string{store.FlagPartialYear, store.FlagProvisional}})
	add(store.Observation{Offence: "homicide", Region: "NO", Period: "2015-Q1", Value: ptr(6),
		Flags: []string{store.FlagPartialYear}})
	add(store.Observation{Offence: "homicide", Region: "NO", Period: "2015-03", Value: ptr(2),
		Flags: []string{store.FlagPartialYear}})

	// A suppressed figure and a district that ended in 2016.
	add(store.Observation{Offence: "pimping", Region: asker, Period: "2013", ValueText: "<5",
		Flags: []string{store.FlagSuppressed}})
	if rev == 1 {
		add(store.Observation{Offence: "pimping", Region: asker, Period: "2014", Value: ptr(6)})
	} else {
		// Revised before Dataset1 was published, and unchanged since: the
		// revision carried over.
		add(store.Observation{Offence: "pimping", Region: asker, Period: "2014", Value: ptr(6),
			Flags: []string{store.FlagRevised}, Revision: &store.Revision{Release: "2023-12-01", ValueText: "<5"}})
	}
	add(store.Observation{Offence: "pimping", Region: sorVest, Period: "2014", Value: ptr(11),
		Flags: []string{store.FlagOn2016Boundaries, store.FlagApproximate}})

	// Breakdowns of human trafficking in Norway, 2013.
	for _, b := range []struct {
		br store.Breakdown
		v  float64
	}{
		{store.Breakdown{Sex: "female"}, 30},
		{store.Breakdown{Sex: "male"}, 12},
		{store.Breakdown{Age: "0-17"}, 8},
		{store.Breakdown{Sex: "female", Age: "0-17"}, 6},
		{store.Breakdown{Citizenship: "Nigeria"}, 5},
		{store.Breakdown{Citizenship: "Romania", RepatriationCountry: "Romania"}, 3},
		{store.Breakdown{Sex: "unknown", Age: "unknown"}, 1},
	} {
		add(store.Observation{Offence: "human-trafficking", Region: "NO", Period: "2013", Breakdown: b.br, Value: ptr(b.v)})
	}

	// Other measures, sources and confidence grades.
	add(store.Observation{Offence: "homicide", Region: "SE", Period: "2013", Measure: "rate-per-100k", Source: "unodc-cts",
		Value: ptr(1.08), Confidence: "B", Flags: []string{store.FlagApproximate, store.FlagLaterVintage}})
	add(store.Observation{Offence: "homicide", Region: "NO", Period: "2013", Measure: "rate-per-100k", Source: "unodc-cts",
		Value: ptr(0.0), Confidence: "C", Flags: []string{store.FlagEstimated}})
	add(store.Observation{Offence: "homicide", Region: "UKC-L", Period: "2014", Source: "eurostat-crim_off_cat",
		Value: ptr(-0.5), Flags: []string{store.FlagInconsistentInSource}})
	add(store.Observation{Offence: "homicide", Region: "NO", Period: "2013", Source: "unodc-cts",
		Value: ptr(40), Confidence: "B"})

	if rev == 1 {
		d.Release.Files[0].Rows = len(d.Observations)
		d.Release.Counts["observations"] = len(d.Observations)
	}

	// Reverse the observations so that a store must sort them itself.
	for i, j := 0, len(d.Observations)-1; i < j; i, j = i+1, j-1 {
		d.Observations[i], d.Observations[j] = d.Observations[j], d.Observations[i]
	}
	return d
}

// Synthetic returns a release id of about n observations, for load and
// benchmark tests: offences x regions x years x two measures, each region a
// police district. Offence i and region j are named offence-%03d and
// REGION-%03d; every Locator starts with id.
func Synthetic(id string, n int) *store.Dataset {
	const offences, years = 20, 25
	regions := max(1, n/(offences*years*2))
	d := &store.Dataset{
		Format:  store.DatasetFormat,
		Release: store.Release{ID: id, Created: "2025-06-01T00:00:00Z", Note: "synthetic"},
		Sources: []store.Source{{ID: "synthetic", Publisher: "Krimstat tests", Title: "Synthetic", URL: "https://example.org/", Kind: "test", Licence: "CC0"}},
		Measures: []store.Measure{
			{ID: "offences-reported", Unit: "count"},
			{ID: "rate-per-100k", Unit: "per 100 000 inhabitants"},
		},
	}
	for i := range offences {
		d.Offences = append(d.Offences, store.Offence{ID: fmt.Sprintf("offence-%03d", i), Classification: "krimstat"})
	}
	for j := range regions {
		d.Regions = append(d.Regions, store.Region{ID: fmt.Sprintf("REGION-%03d", j), Type: store.RegionPoliceDistrict})
	}
	for _, o := range d.Offences {
		for _, r := range d.Regions {
			for y := range years {
				for k, m := range d.Measures {
					d.Observations = append(d.Observations, store.Observation{
						Offence: o.ID, Region: r.ID, Period: fmt.Sprint(2000 + y), Measure: m.ID,
						Value: ptr(float64(y*10 + k)), Flags: []string{}, Source: "synthetic", Confidence: "A",
						Locator: fmt.Sprintf("%s %s %s %d", id, o.ID, r.ID, 2000+y),
					})
				}
			}
		}
	}
	return d
}
