package export

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/krimstat/krimstat/store"
)

// Bundle returns the release bundle of release (an id or Current): a zip
// that is a Frictionless Data Package. It holds datapackage.json (licences,
// sources, and a Table Schema per table with types, missing values, primary
// and foreign keys), observations.csv (every observation of the release,
// long format, with English names), offences.csv, regions.csv,
// measures.csv, sources.csv, population.csv, observations.parquet (the
// observations typed), README.md (what it is, caveats, how to cite) and
// CITATION.cff.
//
// The bytes depend on the release alone: entries are sorted by name and
// dated with the release's creation time, so every replica and the export
// command produce the same zip, and so the same ETag. The bundle is built in
// memory: call it once per release and keep the result (a release never
// changes). It returns store.ErrNotFound for an unknown release.
func Bundle(ctx context.Context, st store.Store, release string) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteBundle(ctx, &buf, st, release); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteBundle writes the bundle Bundle returns to w.
func WriteBundle(ctx context.Context, w io.Writer, st store.Store, release string) error {
	rel, files, err := bundleFiles(ctx, st, release)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := writeZip(w, rel, files); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return nil
}

// bundleFiles builds every file of the bundle by name.
func bundleFiles(ctx context.Context, st store.Store, release string) (store.Release, map[string][]byte, error) {
	names, err := NewNames(ctx, st, release, EN)
	if err != nil {
		return store.Release{}, nil, err
	}
	rel := names.Release()
	offences, err := st.Offences(ctx, rel.ID)
	if err != nil {
		return rel, nil, err
	}
	regions, err := st.Regions(ctx, rel.ID, store.RegionFilter{})
	if err != nil {
		return rel, nil, err
	}
	measures, err := st.Measures(ctx, rel.ID)
	if err != nil {
		return rel, nil, err
	}
	sources := names.Sources()
	population, err := st.Population(ctx, rel.ID, store.PopulationFilter{})
	if err != nil {
		return rel, nil, err
	}

	files := map[string][]byte{}
	var obs bytes.Buffer
	tl := newTally()
	if _, err := writeCSV(&obs, Rows(ctx, st, names, store.ObservationFilter{}), tl.add); err != nil {
		return rel, nil, err
	}
	tl.done()
	files["observations.csv"] = obs.Bytes()
	var pq bytes.Buffer
	if err := WriteParquet(&pq, Rows(ctx, st, names, store.ObservationFilter{})); err != nil {
		return rel, nil, err
	}
	files["observations.parquet"] = pq.Bytes()

	tables := []struct {
		name string
		rows [][]string
	}{
		{"offences", offenceRows(offences)},
		{"regions", regionRows(regions)},
		{"measures", measureRows(measures)},
		{"sources", sourceRows(sources)},
		{"population", populationRows(population)},
	}
	schemas := tableSchemas()
	for _, t := range tables {
		b, err := csvBytes(fieldNames(schemas[t.name]), t.rows)
		if err != nil {
			return rel, nil, fmt.Errorf("%s: %w", t.name, err)
		}
		files[t.name+".csv"] = b
	}

	dp, err := json.MarshalIndent(descriptor(rel, sources, schemas, files), "", "  ")
	if err != nil {
		return rel, nil, err
	}
	files["datapackage.json"] = append(dp, '\n')
	files["README.md"] = readme(rel, measures, sources, tl, len(offences), len(regions), len(population))
	files["CITATION.cff"] = citation(rel, sources)
	return rel, files, nil
}

// writeZip writes files sorted by name, each dated with the release's
// creation time, so that the zip's bytes depend on the files alone.
func writeZip(w io.Writer, rel store.Release, files map[string][]byte) error {
	modified, err := time.Parse(time.RFC3339, rel.Created)
	if err != nil {
		// Any fixed date keeps the bytes stable; zip's epoch is the
		// earliest it can hold.
		modified = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	zw := zip.NewWriter(w)
	if err := zw.SetComment("Krimstat release " + rel.ID); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified.UTC()}
		h.SetMode(0o644)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(files[name]); err != nil {
			return err
		}
	}
	return zw.Close()
}

// csvBytes writes a header and rows as RFC 4180 CSV.
func csvBytes(header []string, rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.Write(header); err != nil {
		return nil, err
	}
	if err := cw.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// listSep joins the items of a list in one CSV field.
const listSep = "; "

func offenceRows(offences []store.Offence) [][]string {
	rows := make([][]string, 0, len(offences))
	for _, o := range offences {
		var legal []string
		for _, l := range o.LegalBasis {
			s := strings.TrimSpace(l.Law + " " + l.Section)
			if span := dateSpan(l.ValidFrom, l.ValidTo); span != "" {
				s += " (" + span + ")"
			}
			if l.Note != "" {
				s += ": " + l.Note
			}
			legal = append(legal, s)
		}
		rows = append(rows, []string{
			o.ID, o.Parent, o.Classification, o.Code, o.Name.EN, o.Name.NB, o.Definition.EN, o.Definition.NB,
			strings.Join(legal, listSep), strings.Join(o.Notes, " | "),
		})
	}
	return rows
}

// dateSpan writes a validity as "from A", "to B" or "A to B".
func dateSpan(from, to string) string {
	switch {
	case from != "" && to != "":
		return from + " to " + to
	case from != "":
		return "from " + from
	case to != "":
		return "to " + to
	}
	return ""
}

func regionRows(regions []store.Region) [][]string {
	succession := func(ss []store.Succession) string {
		var out []string
		for _, s := range ss {
			t := s.Region
			if s.From != "" {
				t += " from " + s.From
			}
			var marks []string
			if s.Approximate {
				marks = append(marks, "approximate")
			}
			if s.Inferred {
				marks = append(marks, "inferred")
			}
			if len(marks) > 0 {
				t += " (" + strings.Join(marks, ", ") + ")"
			}
			out = append(out, t)
		}
		return strings.Join(out, listSep)
	}
	rows := make([][]string, 0, len(regions))
	for _, r := range regions {
		var codes []string
		for _, k := range slices.Sorted(maps.Keys(r.Codes)) {
			codes = append(codes, k+"="+r.Codes[k])
		}
		rows = append(rows, []string{
			r.ID, r.Type, r.Name.EN, r.Name.NB, r.Parent, r.Seat, r.ValidFrom, r.ValidTo,
			strings.Join(codes, listSep), succession(r.Successors), succession(r.Predecessors), strings.Join(r.Notes, " | "),
		})
	}
	return rows
}

func measureRows(measures []store.Measure) [][]string {
	rows := make([][]string, 0, len(measures))
	for _, m := range measures {
		rows = append(rows, []string{m.ID, m.Name.EN, m.Name.NB, m.Unit, m.Definition.EN, m.Definition.NB})
	}
	return rows
}

func sourceRows(sources []store.Source) [][]string {
	rows := make([][]string, 0, len(sources))
	for _, s := range sources {
		rows = append(rows, []string{
			s.ID, s.Publisher, s.Title, s.URL, s.TableID, s.Published, s.Retrieved, s.Kind, s.Licence,
			strings.Join(s.Notes, " | "),
		})
	}
	return rows
}

func populationRows(population []store.PopulationFigure) [][]string {
	rows := make([][]string, 0, len(population))
	for _, p := range population {
		rows = append(rows, []string{p.Region, p.Date, strconv.FormatFloat(p.Value, 'f', -1, 64), p.Source, p.Locator})
	}
	return rows
}

// The Data Package descriptor (Frictionless Data Package v1), its fields in
// the order the specification lists them.
type (
	dataPackage struct {
		Profile     string      `json:"profile"`
		Name        string      `json:"name"`
		ID          string      `json:"id"`
		Title       string      `json:"title"`
		Description string      `json:"description"`
		Version     string      `json:"version"`
		Created     string      `json:"created"`
		Homepage    string      `json:"homepage"`
		Keywords    []string    `json:"keywords"`
		Licenses    []license   `json:"licenses"`
		Sources     []sourceRef `json:"sources"`
		Resources   []resource  `json:"resources"`
	}
	license struct {
		Name  string `json:"name,omitempty"`
		Path  string `json:"path,omitempty"`
		Title string `json:"title"`
	}
	sourceRef struct {
		Title string `json:"title"`
		Path  string `json:"path,omitempty"`
	}
	resource struct {
		Profile     string       `json:"profile"`
		Name        string       `json:"name"`
		Path        string       `json:"path"`
		Title       string       `json:"title"`
		Description string       `json:"description"`
		Format      string       `json:"format"`
		Mediatype   string       `json:"mediatype"`
		Encoding    string       `json:"encoding,omitempty"`
		Bytes       int          `json:"bytes"`
		Hash        string       `json:"hash"`
		Schema      *tableSchema `json:"schema,omitempty"`
	}
	tableSchema struct {
		Fields        []field      `json:"fields"`
		MissingValues []string     `json:"missingValues"`
		PrimaryKey    []string     `json:"primaryKey"`
		ForeignKeys   []foreignKey `json:"foreignKeys,omitempty"`
	}
	field struct {
		Name        string       `json:"name"`
		Type        string       `json:"type"`
		Format      string       `json:"format,omitempty"`
		Description string       `json:"description"`
		Constraints *constraints `json:"constraints,omitempty"`
	}
	constraints struct {
		Required bool     `json:"required,omitempty"`
		Enum     []string `json:"enum,omitempty"`
	}
	foreignKey struct {
		Fields    []string    `json:"fields"`
		Reference fkReference `json:"reference"`
	}
	fkReference struct {
		// Resource is the referenced table's name; "" is the table itself.
		Resource string   `json:"resource"`
		Fields   []string `json:"fields"`
	}
)

func fieldNames(s tableSchema) []string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	return names
}

// tableSchemas returns the Table Schema of each table by resource name.
// Its field lists are the CSV headers, so the two cannot disagree.
func tableSchemas() map[string]tableSchema {
	required := &constraints{Required: true}
	str := func(name, desc string) field { return field{Name: name, Type: "string", Description: desc} }
	id := func(name, desc string) field {
		return field{Name: name, Type: "string", Description: desc, Constraints: required}
	}
	ref := func(fieldName, table string) foreignKey {
		return foreignKey{Fields: []string{fieldName}, Reference: fkReference{Resource: table, Fields: []string{"id"}}}
	}
	missing := []string{""}

	obsDesc := textsEN().columns
	var obsFields []field
	for _, c := range Columns {
		f := str(c, obsDesc[c])
		switch c {
		case "offence", "region", "period", "measure", "sex", "age", "citizenship", "repatriation_country", "source", "locator":
			f.Constraints = required
		case "period_start":
			f.Type = "date"
		case "value":
			f.Type = "number"
		case "confidence":
			f.Constraints = &constraints{Required: true, Enum: []string{"A", "B", "C"}}
		}
		obsFields = append(obsFields, f)
	}

	return map[string]tableSchema{
		"observations": {
			Fields:        obsFields,
			MissingValues: missing,
			PrimaryKey:    []string{"offence", "region", "measure", "period", "sex", "age", "citizenship", "repatriation_country", "source"},
			ForeignKeys:   []foreignKey{ref("offence", "offences"), ref("region", "regions"), ref("measure", "measures"), ref("source", "sources")},
		},
		"offences": {
			Fields: []field{
				id("id", "offence id"),
				str("parent", "the offence this one is a breakdown of; a breakdown never sums to its parent by construction"),
				str("classification", "krimstat (Krimstat's own offences) or iccs (UNODC's International Classification of Crime for Statistical Purposes, as Eurostat uses it)"),
				str("code", "the offence's code in its classification"),
				str("name_en", "name in English"),
				str("name_nb", "name in Norwegian Bokmål"),
				str("definition_en", "definition in English"),
				str("definition_nb", "definition in Norwegian Bokmål"),
				str("legal_basis", "provisions of Norwegian law, with their validity, separated by ; "),
				str("notes", "notes, separated by |"),
			},
			MissingValues: missing,
			PrimaryKey:    []string{"id"},
			ForeignKeys:   []foreignKey{ref("parent", "")},
		},
		"regions": {
			Fields: []field{
				id("id", "region id: Eurostat geo codes for countries, pd2002-... and pd2016-... for Norwegian police districts"),
				{Name: "type", Type: "string", Description: "country, country-part or police-district",
					Constraints: &constraints{Required: true, Enum: []string{store.RegionCountry, store.RegionCountryPart, store.RegionPoliceDistrict}}},
				str("name_en", "name in English"),
				str("name_nb", "name in Norwegian Bokmål"),
				str("parent", "the region this one is part of"),
				str("seat", "seat of a police district"),
				{Name: "valid_from", Type: "date", Description: "first day the region existed, where recorded"},
				{Name: "valid_to", Type: "date", Description: "last day the region existed; empty while it exists"},
				str("codes", "the region's codes in other sources (scheme=code), separated by ; "),
				str("successors", "regions that took over its area, from a date; approximate where municipalities moved across the new lines, inferred where not read from a source; separated by ; "),
				str("predecessors", "regions whose area it took over, written as successors"),
				str("notes", "notes, separated by |"),
			},
			MissingValues: missing,
			PrimaryKey:    []string{"id"},
			ForeignKeys:   []foreignKey{ref("parent", "")},
		},
		"measures": {
			Fields: []field{
				id("id", "measure id"),
				str("name_en", "name in English"),
				str("name_nb", "name in Norwegian Bokmål"),
				str("unit", "unit of the values"),
				str("definition_en", "definition in English"),
				str("definition_nb", "definition in Norwegian Bokmål"),
			},
			MissingValues: missing,
			PrimaryKey:    []string{"id"},
		},
		"sources": {
			Fields: []field{
				id("id", "source id"),
				str("publisher", "publisher"),
				str("title", "title"),
				str("url", "where the source is published"),
				str("table_id", "the publisher's table id"),
				str("published", "when it was published, as precisely as the source states: YYYY, YYYY-MM or YYYY-MM-DD"),
				str("retrieved", "when the figures were taken from it, where known"),
				str("kind", "official, or news quoting official"),
				str("licence", "terms of reuse"),
				str("notes", "notes, separated by |"),
			},
			MissingValues: missing,
			PrimaryKey:    []string{"id"},
		},
		"population": {
			Fields: []field{
				id("region", "region id"),
				{Name: "date", Type: "date", Description: "the date of the count (1 January)", Constraints: required},
				{Name: "value", Type: "number", Description: "population", Constraints: required},
				id("source", "source id"),
				str("locator", "where in the source the figure stands"),
			},
			MissingValues: missing,
			PrimaryKey:    []string{"region", "date", "source"},
			ForeignKeys:   []foreignKey{ref("region", "regions"), ref("source", "sources")},
		},
	}
}

// resourceOrder lists the tables in the order of datapackage.json, with the
// title and description of each.
var resourceOrder = []struct{ name, title, description string }{
	{"observations", "Observations", "Every published figure of the release, one per row (long format), with the English names of its offence, region and measure, and its source. An empty value is a figure the source gave as text (value_text, such as <5), never a zero; a figure with no row was not published."},
	{"offences", "Offences", "The offences the observations count, with names and definitions in English and Norwegian and their legal basis."},
	{"regions", "Regions", "Countries, parts of countries and Norwegian police districts, with names in English and Norwegian, validity and successions."},
	{"measures", "Measures", "What observations count, with units. Figures of different measures are different counts."},
	{"sources", "Sources", "The publications the figures are taken from, with their terms of reuse."},
	{"population", "Population", "Population by region on 1 January, to compute rates."},
}

// descriptor builds datapackage.json from the release, its sources and the
// files already built (for each resource's size and hash).
func descriptor(rel store.Release, sources []store.Source, schemas map[string]tableSchema, files map[string][]byte) dataPackage {
	dp := dataPackage{
		Profile: "data-package",
		Name:    "krimstat",
		ID:      "krimstat-" + rel.ID,
		Title:   Title,
		Description: "Release " + rel.ID + " of Krimstat: every observation with its source, locator, confidence grade and flags, " +
			"and the offences, regions, measures, sources and population figures they refer to. See README.md for the caveats.",
		Version:  rel.ID,
		Created:  rel.Created,
		Homepage: Homepage,
		Keywords: []string{"crime statistics", "Norway", "sex purchase", "human trafficking", "pimping", "police-reported offences", "Eurostat", "UNODC"},
		Licenses: licenses(sources),
	}
	for _, s := range sources {
		dp.Sources = append(dp.Sources, sourceRef{Title: s.Publisher + ": " + s.Title, Path: s.URL})
	}
	for _, r := range resourceOrder {
		path := r.name + ".csv"
		schema := schemas[r.name]
		dp.Resources = append(dp.Resources, resource{
			Profile: "tabular-data-resource", Name: r.name, Path: path, Title: r.title, Description: r.description,
			Format: "csv", Mediatype: "text/csv", Encoding: "utf-8",
			Bytes: len(files[path]), Hash: sha256Hash(files[path]), Schema: &schema,
		})
		if r.name == "observations" {
			const pq = "observations.parquet"
			dp.Resources = append(dp.Resources, resource{
				Profile: "data-resource", Name: "observations-parquet", Path: pq, Title: "Observations (Parquet)",
				Description: "The observations table as Parquet: the same rows and columns, typed (period_start a DATE, value a DOUBLE that is null where the source gave no number).",
				Format:      "parquet", Mediatype: "application/vnd.apache.parquet",
				Bytes: len(files[pq]), Hash: sha256Hash(files[pq]),
			})
		}
	}
	return dp
}

func sha256Hash(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ccBY is the licence text of sources under CC BY 4.0 (Eurostat, Statistics
// Norway), which the package licence names as such.
const ccBY = "CC BY 4.0"

// licenses states the terms of the package from its sources' licences: the
// CC BY 4.0 figures under that licence, the others on their sources' terms.
func licenses(sources []store.Source) []license {
	var cc, other []string
	for _, s := range sources {
		if strings.HasPrefix(s.Licence, ccBY) {
			cc = append(cc, s.Publisher)
		} else {
			other = append(other, s.Publisher)
		}
	}
	var out []license
	if len(cc) > 0 {
		out = append(out, license{Name: "CC-BY-4.0", Path: "https://creativecommons.org/licenses/by/4.0/",
			Title: "Creative Commons Attribution 4.0 International: the figures of " + strings.Join(slices.Compact(cc), ", ")})
	}
	if len(other) > 0 || len(out) == 0 {
		out = append(out, license{Path: "sources.csv",
			Title: "Every other figure is a fact quoted from its source: reuse it on the terms in the licence column of sources.csv, and cite the source"})
	}
	return out
}
