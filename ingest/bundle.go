package ingest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/krimstat/krimstat/ingest/eurostat"
	"github.com/krimstat/krimstat/store"
)

// Source ids of the bulk extracts, as named in norway/sources.csv.
const (
	eurostatSource = "eurostat-crim-off-cat"
	unodcSource    = "unodc-glotip-2025"
)

// Input files of the bundled release, relative to the reference data folder.
const (
	fileSources    = "norway/sources.csv"
	fileDistricts  = "norway/police-districts.csv"
	filePopulation = "norway/population.csv"
	fileFigures    = "norway/figures.csv"
	fileEurostat   = "eurostat/crim_off_cat.tsv"
	fileGeo        = "eurostat/geo.csv"
	fileICCS       = "eurostat/iccs.csv"
	fileUNODC      = "unodc/glotip-nordic.csv"
)

// known holds the ids already defined, for checking references while reading.
type known struct {
	offences, regions, measures, sources map[string]bool
}

func set[T any](items []T, id func(T) string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[id(it)] = true
	}
	return m
}

// knownIn holds the ids ds defines.
func knownIn(ds *store.Dataset) known {
	return known{
		offences: set(ds.Offences, func(o store.Offence) string { return o.ID }),
		regions:  set(ds.Regions, func(r store.Region) string { return r.ID }),
		measures: set(ds.Measures, func(m store.Measure) string { return m.ID }),
		sources:  set(ds.Sources, func(s store.Source) string { return s.ID }),
	}
}

// Build reads the reference data folder (shared/data) and returns the
// bundled release. It fails on the first row it cannot represent.
func Build(dir string) (*store.Dataset, error) {
	files, meta, err := readReference(dir)
	if err != nil {
		return nil, err
	}
	ds := &store.Dataset{Format: store.DatasetFormat, Offences: offences(), Measures: measures()}
	if ds.Sources, err = readSources(files[fileSources], fileSources); err != nil {
		return nil, err
	}
	geo, err := readGeo(files[fileGeo], fileGeo)
	if err != nil {
		return nil, err
	}
	districts, err := readDistricts(files[fileDistricts], fileDistricts)
	if err != nil {
		return nil, err
	}
	ds.Regions = append(geo.regions, districts...)
	iccs, err := readICCS(files[fileICCS], fileICCS)
	if err != nil {
		return nil, err
	}
	ds.Offences = append(ds.Offences, iccs...)
	k := knownIn(ds)
	for _, id := range []string{eurostatSource, unodcSource} {
		if !k.sources[id] {
			return nil, fmt.Errorf("%s: no source %q for the bulk extracts: %w", fileSources, id, store.ErrInvalid)
		}
	}
	if ds.Population, err = readPopulation(files[filePopulation], filePopulation); err != nil {
		return nil, err
	}
	figures, err := readFigures(files[fileFigures], fileFigures, k)
	if err != nil {
		return nil, err
	}
	euro, err := readEurostat(files[fileEurostat], fileEurostat, k)
	if err != nil {
		return nil, err
	}
	unodc, err := readUNODC(files[fileUNODC], fileUNODC, geo)
	if err != nil {
		return nil, err
	}
	ds.Observations = append(append(figures, euro...), unodc...)
	created, err := time.Parse("2006-01-02", releaseDate(ds.Sources))
	if err != nil {
		return nil, fmt.Errorf("release date: %w", err)
	}
	note := "Bundled reference release built from shared/data by krimstat ingest; dated by its newest source."
	if err := finish(ds, meta, created, note); err != nil {
		return nil, err
	}
	return ds, nil
}

// readReference reads the input files of the bundled release, by name, with
// the release's record of each. All are read before any is parsed, so that a
// missing file is reported as missing rather than after a bad row elsewhere.
func readReference(dir string) (map[string][]byte, []store.ReleaseFile, error) {
	files := map[string][]byte{}
	var meta []store.ReleaseFile
	for _, name := range []string{fileSources, fileDistricts, filePopulation, fileFigures, fileEurostat, fileGeo, fileICCS, fileUNODC} {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, nil, fmt.Errorf("read reference data: %w", err)
		}
		files[name] = b
		meta = append(meta, fileInfo(name, b))
	}
	return files, meta, nil
}

// releaseDate is the newest full date among the sources' publication and
// retrieval dates: the date the bundled data speak for.
func releaseDate(sources []store.Source) string {
	newest := ""
	for _, s := range sources {
		for _, d := range []string{s.Published, s.Retrieved} {
			if validDate(d) && d > newest {
				newest = d
			}
		}
	}
	return newest
}

// countries are the country regions of eurostat/geo.csv, with the lookups
// the UNODC export needs: it names a country by ISO3 code and English name.
type countries struct {
	regions []store.Region
	name    map[string]string // English name by region id
	byISO3  map[string]string // region id by ISO 3166 alpha-3 code
}

// readGeo reads eurostat/geo.csv into country regions.
func readGeo(data []byte, file string) (countries, error) {
	recs, err := readCSV(data, file, 0, []string{"geo", "country_name"})
	if err != nil {
		return countries{}, err
	}
	c := countries{name: map[string]string{}, byISO3: map[string]string{}}
	for _, r := range recs {
		code, name := r.get("geo"), r.get("country_name")
		nb, ok := countryNB[code]
		if !ok {
			return countries{}, r.fail("geo", "no catalogue entry for geo code %q", code)
		}
		if name == "" {
			return countries{}, r.fail("country_name", "empty")
		}
		reg := store.Region{ID: code, Type: store.RegionCountry, Name: store.Text{EN: name, NB: nb.NB},
			Codes: map[string]string{"eurostat": code}}
		if countryParts[code] {
			reg.Type = store.RegionCountryPart
		}
		if nb.ISO3 != "" {
			reg.Codes["iso3"] = nb.ISO3
			c.byISO3[nb.ISO3] = code
		}
		c.name[code] = name
		c.regions = append(c.regions, reg)
	}
	return c, nil
}

// readICCS reads eurostat/iccs.csv into offences, each under the longest
// other listed code that prefixes it.
func readICCS(data []byte, file string) ([]store.Offence, error) {
	recs, err := readCSV(data, file, 0, []string{"iccs", "crime_info"})
	if err != nil {
		return nil, err
	}
	codes := map[string]bool{}
	for _, r := range recs {
		codes[r.get("iccs")] = true
	}
	var out []store.Offence
	for _, r := range recs {
		code, label := r.get("iccs"), r.get("crime_info")
		nb, ok := iccsNB[code]
		if !ok || !strings.HasPrefix(code, "ICCS") {
			return nil, r.fail("iccs", "no catalogue entry for ICCS code %q", code)
		}
		o := store.Offence{
			ID: iccsID(code), Classification: "iccs", Code: code,
			Name: store.Text{EN: label, NB: nb},
			Definition: store.Text{
				EN: fmt.Sprintf("Offences in ICCS category %s (%s) of the International Classification of Crime for Statistical Purposes, as recorded by the police and reported to Eurostat.", code[4:], label),
				NB: fmt.Sprintf("Lovbrudd i ICCS-kategori %s (%s) i den internasjonale klassifikasjonen av lovbrudd for statistikkformål, registrert av politiet og rapportert til Eurostat.", code[4:], nb),
			},
			Notes: iccsNotes[code],
		}
		for p := len(code) - 1; p > len("ICCS"); p-- {
			if codes[code[:p]] {
				o.Parent = iccsID(code[:p])
				break
			}
		}
		out = append(out, o)
	}
	return out, nil
}

func iccsID(code string) string { return "iccs/" + strings.TrimPrefix(code, "ICCS") }

// eurostatUnits maps the unit dimension of crim_off_cat to measures.
var eurostatUnits = map[string]string{"NR": "reported-offences", "P_HTHAB": "reported-offences-per-100k"}

// readEurostat maps crim_off_cat's bulk TSV onto observations. Every code of
// every row must be known; a ":" cell is a gap and yields nothing.
func readEurostat(data []byte, file string, k known) ([]store.Observation, error) {
	t, err := eurostat.Read(bytes.NewReader(data), file)
	if err != nil {
		return nil, err
	}
	want := []string{"freq", "iccs", "unit", "geo"}
	if strings.Join(t.Dims, ",") != strings.Join(want, ",") || t.TimeDim != "TIME_PERIOD" {
		return nil, &FileError{File: file, Line: 1, Field: "header", Msg: fmt.Sprintf("dimensions %v\\%s, want %v\\TIME_PERIOD", t.Dims, t.TimeDim, want)}
	}
	var out []store.Observation
	for _, c := range t.Cells {
		at := func(field, format string, a ...any) error {
			return &FileError{File: file, Line: c.Line, Field: field, Msg: fmt.Sprintf(format, a...)}
		}
		if c.Key[0] != "A" {
			return nil, at("freq", "%q: only annual data (A) are mapped", c.Key[0])
		}
		offence := iccsID(c.Key[1])
		if !k.offences[offence] {
			return nil, at("iccs", "unknown ICCS code %q", c.Key[1])
		}
		measure, ok := eurostatUnits[c.Key[2]]
		if !ok {
			return nil, at("unit", "unknown unit %q", c.Key[2])
		}
		if !k.regions[c.Key[3]] {
			return nil, at("geo", "unknown geo code %q", c.Key[3])
		}
		p, err := store.ParsePeriod(c.Time)
		if err != nil {
			return nil, at("TIME_PERIOD", "%v", err)
		}
		o := store.Observation{
			Offence: offence, Region: c.Key[3], Period: p.String(), Measure: measure,
			Value: c.Value, Flags: append([]string{}, c.Flags...), Source: eurostatSource, Confidence: "A",
			Locator: fmt.Sprintf("crim_off_cat bulk TSV: row %s, column %s", strings.Join(c.Key, ","), c.Time),
		}
		if c.Value == nil {
			o.ValueText = c.Raw
		}
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}
