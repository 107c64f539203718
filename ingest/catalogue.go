package ingest

import "github.com/krimstat/krimstat/store"

// The catalogue below is Krimstat's own metadata: ids, names, legal bases and
// definitions written by the project, not figures. Figures only ever come
// from source files.

// Penal code validity dates. The 1902 Penal Code was replaced by the 2005
// Penal Code on 1 October 2015; the sex-purchase ban took effect on
// 1 January 2009.
const (
	penalCode2005InForce = "2015-10-01"
	penalCode1902Ended   = "2015-09-30"
	sexPurchaseBanFrom   = "2009-01-01"
)

// offences returns the Krimstat offences. ICCS offences are added from the
// Eurostat label file.
func offences() []store.Offence {
	gapNote := "Gaps in the bundled data are real: Statistics Norway's table 08484 (reported offences by type, national) " +
		"and 08485 (by police district), read through PxWebApi v2 with a mapping file, would fill them once the " +
		"table's offence codes for this offence are confirmed."
	return []store.Offence{
		{
			ID: "sex-purchase", Classification: "krimstat",
			Name: store.Text{EN: "Purchase of sexual services", NB: "Kjøp av seksuelle tjenester"},
			Definition: store.Text{
				EN: "Obtaining or attempting to obtain sexual activity in exchange for payment, criminalised in Norway from 1 January 2009 (the sex-purchase ban).",
				NB: "Å skaffe seg eller forsøke å skaffe seg seksuell omgang mot vederlag, straffbart i Norge fra 1. januar 2009 (sexkjøpsloven).",
			},
			LegalBasis: []store.LegalBasis{
				{Law: "Straffeloven 1902", Section: "§ 202a", ValidFrom: sexPurchaseBanFrom, ValidTo: penalCode1902Ended},
				{Law: "Straffeloven 2005", Section: "§ 316", ValidFrom: penalCode2005InForce, Note: "the same ban renumbered when the 2005 Penal Code came into force"},
			},
			Notes: []string{
				"No series exists before 2009: the offence did not exist.",
				"Persons reported (reported-persons) and reports (reported-offences) are different counts; a series never mixes them.",
				"No annual counts were found for 2011, 2015-2018, 2020 or 2022-2025, and no police-district series. " + gapNote,
			},
		},
		{
			ID: "pimping", Classification: "krimstat",
			Name: store.Text{EN: "Pimping (promoting prostitution)", NB: "Hallikvirksomhet"},
			Definition: store.Text{
				EN: "Promoting the prostitution of others or letting premises for prostitution.",
				NB: "Å fremme andres prostitusjon eller leie ut lokaler til prostitusjon.",
			},
			LegalBasis: []store.LegalBasis{
				{Law: "Straffeloven 1902", Section: "§ 202", ValidTo: penalCode1902Ended},
				{Law: "Straffeloven 2005", Section: "§ 315", ValidFrom: penalCode2005InForce},
			},
			Notes: []string{"No pimping counts are in the bundled data. " + gapNote},
		},
		{
			ID: "human-trafficking", Classification: "krimstat",
			Name: store.Text{EN: "Human trafficking", NB: "Menneskehandel"},
			Definition: store.Text{
				EN: "Exploiting a person, by force, threats, abuse of vulnerability or deceit, for prostitution or other sexual purposes, forced labour or services, begging, war service or removal of organs.",
				NB: "Å utnytte en person, ved vold, trusler, misbruk av sårbar situasjon eller villedning, til prostitusjon eller andre seksuelle formål, tvangsarbeid eller tvangstjenester, tigging, krigstjeneste eller fjerning av organer.",
			},
			LegalBasis: []store.LegalBasis{
				{Law: "Straffeloven 1902", Section: "§ 224", ValidTo: penalCode1902Ended},
				{Law: "Straffeloven 2005", Section: "§§ 257-258", ValidFrom: penalCode2005InForce},
			},
			Notes: []string{
				"Reports (reported-offences), presumed victims followed up (presumed-victims) and UNODC's detected victims, persons prosecuted and persons convicted are different measures.",
				"Breakdowns by form of exploitation do not add up to the total in every source; totals are served as published and never derived from breakdowns.",
			},
		},
		trafficking("sexual-exploitation", "Human trafficking for sexual exploitation", "Menneskehandel for seksuelle formål",
			"Trafficking for prostitution or other sexual purposes.", "Menneskehandel med sikte på prostitusjon eller andre seksuelle formål.", ""),
		trafficking("forced-labour", "Human trafficking for forced labour or services", "Menneskehandel for tvangsarbeid eller tvangstjenester",
			"Trafficking for forced labour or forced services.", "Menneskehandel med sikte på tvangsarbeid eller tvangstjenester.", ""),
		trafficking("organ-removal", "Human trafficking for removal of organs", "Menneskehandel for fjerning av organer",
			"Trafficking for the removal of organs.", "Menneskehandel med sikte på fjerning av organer.", ""),
		trafficking("aggravated", "Aggravated human trafficking", "Grov menneskehandel",
			"Human trafficking judged aggravated, for example by the victim's age, violence or organised crime.",
			"Menneskehandel som anses som grov, for eksempel på grunn av offerets alder, vold eller organisert kriminalitet.",
			"§ 258"),
	}
}

func trafficking(id, en, nb, defEN, defNB, section string) store.Offence {
	o := store.Offence{
		ID: "human-trafficking/" + id, Parent: "human-trafficking", Classification: "krimstat",
		Name:       store.Text{EN: en, NB: nb},
		Definition: store.Text{EN: defEN, NB: defNB},
	}
	if section != "" {
		o.LegalBasis = []store.LegalBasis{{Law: "Straffeloven 2005", Section: section, ValidFrom: penalCode2005InForce}}
	}
	return o
}

// iccsNB gives Norwegian names of the ICCS categories in the Eurostat file.
var iccsNB = map[string]string{
	"ICCS0101":   "Forsettlig drap",
	"ICCS0102":   "Forsøk på forsettlig drap",
	"ICCS020111": "Grov vold",
	"ICCS020221": "Kidnapping",
	"ICCS0301":   "Seksuell vold",
	"ICCS03011":  "Voldtekt",
	"ICCS03012":  "Seksuelt overgrep",
	"ICCS0302":   "Seksuell utnytting",
	"ICCS030221": "Overgrepsmateriale av barn (barnepornografi)",
	"ICCS0401":   "Ran",
	"ICCS0501":   "Innbrudd",
	"ICCS05012":  "Innbrudd i privatbolig",
	"ICCS0502":   "Tyveri",
	"ICCS05021":  "Tyveri av motorvogn eller deler av motorvogn",
	"ICCS0601":   "Ulovlige handlinger med narkotika eller prekursorer",
	"ICCS0701":   "Bedrageri",
	"ICCS0703":   "Korrupsjon",
	"ICCS07031":  "Bestikkelser",
	"ICCS07041":  "Hvitvasking",
	"ICCS0903":   "Handlinger mot datasystemer",
	"ICCS09051":  "Deltakelse i organisert kriminell gruppe",
}

// iccsNotes carries caveats that belong to particular ICCS categories.
var iccsNotes = map[string][]string{
	"ICCS0302": {"Sexual exploitation includes child pornography (ICCS030221) and is not the same thing as purchase of sexual services."},
	"ICCS0301": {"Sub-categories do not add up to this category in Eurostat's figures; published totals are served, never sums."},
}

// measures returns the measures, each with its unit.
func measures() []store.Measure {
	return []store.Measure{
		{ID: "reported-offences", Unit: "offences",
			Name:       store.Text{EN: "Reported offences", NB: "Anmeldte lovbrudd"},
			Definition: store.Text{EN: "Offences reported to or recorded by the police (reports, 'anmeldelser'), counted when registered.", NB: "Lovbrudd anmeldt til eller registrert av politiet (anmeldelser), telt ved registrering."}},
		{ID: "reported-offences-per-100k", Unit: "offences per 100,000 inhabitants",
			Name:       store.Text{EN: "Reported offences per 100,000 inhabitants (as published)", NB: "Anmeldte lovbrudd per 100 000 innbyggere (som publisert)"},
			Definition: store.Text{EN: "The rate the publisher printed, with the publisher's own population denominator; not computed by Krimstat.", NB: "Raten slik utgiveren publiserte den, med utgiverens egen befolkningsnevner; ikke beregnet av Krimstat."}},
		{ID: "reported-persons", Unit: "persons",
			Name:       store.Text{EN: "Persons reported", NB: "Personer anmeldt"},
			Definition: store.Text{EN: "Persons reported to the police for the offence ('personer anmeldt'); not the same count as reports.", NB: "Personer anmeldt til politiet for lovbruddet; ikke samme telling som anmeldelser."}},
		{ID: "presumed-victims", Unit: "persons",
			Name:       store.Text{EN: "Presumed victims followed up", NB: "Mulige ofre fulgt opp"},
			Definition: store.Text{EN: "People followed up as possible victims of human trafficking, as counted by the Norwegian Coordination Unit for Victims of Trafficking (KOM).", NB: "Personer fulgt opp som mulige ofre for menneskehandel, slik KOM teller dem."}},
		{ID: "detected-victims", Unit: "persons",
			Name:       store.Text{EN: "Detected trafficking victims (UNODC)", NB: "Avdekkede ofre for menneskehandel (UNODC)"},
			Definition: store.Text{EN: "Victims detected by national authorities as reported to UNODC; the definition of a victim changes between years and countries.", NB: "Ofre avdekket av nasjonale myndigheter slik de er rapportert til UNODC; definisjonen av offer endres mellom år og land."}},
		{ID: "persons-formal-contact", Unit: "persons",
			Name:       store.Text{EN: "Persons brought into formal contact with the police (UNODC)", NB: "Personer i formell kontakt med politiet (UNODC)"},
			Definition: store.Text{EN: "Persons suspected, arrested or cautioned for trafficking in persons, as reported to UNODC.", NB: "Personer mistenkt, pågrepet eller advart for menneskehandel, slik det er rapportert til UNODC."}},
		{ID: "persons-prosecuted", Unit: "persons",
			Name:       store.Text{EN: "Persons prosecuted (UNODC)", NB: "Personer tiltalt (UNODC)"},
			Definition: store.Text{EN: "Persons prosecuted for trafficking in persons, as reported to UNODC.", NB: "Personer tiltalt for menneskehandel, slik det er rapportert til UNODC."}},
		{ID: "persons-convicted", Unit: "persons",
			Name:       store.Text{EN: "Persons convicted (UNODC)", NB: "Personer domfelt (UNODC)"},
			Definition: store.Text{EN: "Persons convicted of trafficking in persons, as reported to UNODC.", NB: "Personer domfelt for menneskehandel, slik det er rapportert til UNODC."}},
	}
}

// countryNB gives Norwegian names and ISO 3166 alpha-3 codes of the Eurostat
// geo codes. Parts of the United Kingdom have no alpha-3 code.
var countryNB = map[string]struct{ NB, ISO3 string }{
	"BE": {"Belgia", "BEL"}, "BG": {"Bulgaria", "BGR"}, "CZ": {"Tsjekkia", "CZE"}, "DK": {"Danmark", "DNK"},
	"DE": {"Tyskland", "DEU"}, "EE": {"Estland", "EST"}, "IE": {"Irland", "IRL"}, "EL": {"Hellas", "GRC"},
	"ES": {"Spania", "ESP"}, "FR": {"Frankrike", "FRA"}, "HR": {"Kroatia", "HRV"}, "IT": {"Italia", "ITA"},
	"CY": {"Kypros", "CYP"}, "LV": {"Latvia", "LVA"}, "LT": {"Litauen", "LTU"}, "LU": {"Luxembourg", "LUX"},
	"HU": {"Ungarn", "HUN"}, "MT": {"Malta", "MLT"}, "NL": {"Nederland", "NLD"}, "AT": {"Østerrike", "AUT"},
	"PL": {"Polen", "POL"}, "PT": {"Portugal", "PRT"}, "RO": {"Romania", "ROU"}, "SI": {"Slovenia", "SVN"},
	"SK": {"Slovakia", "SVK"}, "FI": {"Finland", "FIN"}, "SE": {"Sverige", "SWE"}, "IS": {"Island", "ISL"},
	"LI": {"Liechtenstein", "LIE"}, "NO": {"Norge", "NOR"}, "CH": {"Sveits", "CHE"},
	"UKC-L": {"England og Wales", ""}, "UKM": {"Skottland", ""}, "UKN": {"Nord-Irland", ""},
	"BA": {"Bosnia-Hercegovina", "BIH"}, "ME": {"Montenegro", "MNE"}, "MK": {"Nord-Makedonia", "MKD"},
	"AL": {"Albania", "ALB"}, "RS": {"Serbia", "SRB"}, "TR": {"Tyrkia", "TUR"}, "XK": {"Kosovo*", ""},
}

// countryParts are Eurostat geo codes for parts of a country.
var countryParts = map[string]bool{"UKC-L": true, "UKM": true, "UKN": true}

// sourceExtra is what the data README says about the sources beyond
// sources.csv: table ids and when an extract was taken.
var sourceExtra = map[string]struct{ TableID, Retrieved string }{
	"ssb-07459":             {"07459", ""},
	"eurostat-crim-off-cat": {"crim_off_cat", "2024-12"},
	"unodc-glotip-2025":     {"data_glotip", "2025-04-14"},
}
