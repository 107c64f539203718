package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// readme writes the bundle's README.md: what the bundle is, its files, how
// to read them, the caveats (with what the release itself shows: figures
// several sources give, suppressed figures, measures, flags, sources), and
// how to cite it.
func readme(rel store.Release, measures []store.Measure, sources []store.Source, tl *tally, offences, regions, population int) []byte {
	t := textsEN()
	date := releaseDate(rel)
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	p("# Krimstat release %s\n\n", rel.ID)
	p("%s.\n\n", Title)
	p("This is release `%s` of %s as a [Frictionless Data Package](https://specs.frictionlessdata.io/data-package/): "+
		"%d observations of %d offences in %d regions, taken from %d sources, with %d population figures. "+
		"A release never changes: the same release id always gives the same figures, so a cited figure can be found again.\n\n",
		rel.ID, date, tl.rows, offences, regions, len(sources), population)

	p("## Files\n\n| file | what |\n|---|---|\n")
	for _, r := range []struct{ file, what string }{
		{"observations.csv", "every observation, one per row (long format), with the English names of its offence, region and measure, its unit, and its source's title, publisher, URL and licence"},
		{"observations.parquet", "the same rows and columns as Parquet, typed: `period_start` a date, `value` a double that is null where the source gave no number"},
		{"offences.csv", "the offences, with names and definitions in English and Norwegian and their legal basis"},
		{"regions.csv", "countries, parts of countries and Norwegian police districts, with validity and successions"},
		{"measures.csv", "what is counted, with units"},
		{"sources.csv", "the publications the figures are taken from, with their terms of reuse"},
		{"population.csv", "population by region on 1 January, to compute rates"},
		{"datapackage.json", "the Data Package descriptor: every column with its type and meaning, the keys, and the links between the tables"},
		{"CITATION.cff", "how to cite this release, in the Citation File Format"},
	} {
		p("| `%s` | %s |\n", r.file, r.what)
	}
	p("\nIn every CSV file an empty field is a missing value, never a zero.\n\n")

	p("## Reading it\n\n```sql\n-- DuckDB\nSELECT period, value, value_text, source FROM 'observations.parquet'\n" +
		"WHERE offence = 'sex-purchase' AND region = 'NO' AND measure = 'reported-persons' ORDER BY period;\n```\n\n")
	p("```python\n# pandas: only an empty field is missing (\"NA\" is Namibia's code)\n" +
		"obs = pd.read_csv(\"observations.csv\", keep_default_na=False, na_values=[\"\"])\n```\n\n")
	p("```r\nobs <- read.csv(\"observations.csv\", na.strings = \"\", encoding = \"UTF-8\")\n```\n\n")

	p("## Caveats\n\n")
	for _, c := range t.caveatList {
		p("- %s\n", mdText(c))
	}
	if tl.several > 0 {
		p("- %s\n", mdText(t.several(tl.several, tl.exampleText(t.and))))
	}
	if tl.suppressed > 0 {
		p("- %d observations are given as text (`value_text`, such as `<5`) and have an empty `value`.\n", tl.suppressed)
	}

	p("\n## Measures\n\n| measure | name | unit | observations |\n|---|---|---|---|\n")
	for _, m := range measures {
		p("| `%s` | %s | %s | %d |\n", m.ID, mdCell(m.Name.EN), mdCell(m.Unit), tl.measures[m.ID])
	}
	p("\n## Flags\n\n| flag | meaning | observations |\n|---|---|---|\n")
	for _, f := range store.Flags {
		if n := tl.flags[f.ID]; n > 0 {
			p("| `%s` | %s | %d |\n", f.ID, mdCell(f.Meaning), n)
		}
	}
	p("\n## Sources\n\n| source | publisher | title | licence | observations |\n|---|---|---|---|---|\n")
	for _, s := range sources {
		p("| `%s` | %s | [%s](%s) | %s | %d |\n", s.ID, mdCell(s.Publisher), mdCell(s.Title), s.URL, mdCell(s.Licence), tl.sources[s.ID])
	}

	p("\n## How to cite\n\nCite the release, and the source of each figure you use (the `source` column; `sources.csv` " +
		"has its publisher, title and URL):\n\n")
	p("> %s\n\n", mdText(citeText(rel)))
	p("`CITATION.cff` holds the same in the Citation File Format, with every source as a reference.\n")
	return b.Bytes()
}

// citeText is the reference to a release, APA style.
func citeText(rel store.Release) string {
	date := releaseDate(rel)
	year := date
	if len(year) >= 4 {
		year = year[:4]
	}
	return fmt.Sprintf("Krimstat (%s). %s (release %s of %s) [Data set]. %s", year, Title, rel.ID, date, Homepage)
}

// mdSpecial are the characters that Markdown could read as markup in prose.
var mdSpecial = regexp.MustCompile("[\\\\`*_<>\\[\\]|]")

// mdText escapes text for Markdown prose.
func mdText(s string) string { return mdSpecial.ReplaceAllString(s, `\$0`) }

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string { return mdText(strings.ReplaceAll(s, "\n", " ")) }

// citation writes CITATION.cff (Citation File Format 1.2.0): the release as
// a dataset, its sources as references. Every string is written as a JSON
// string, which YAML reads as a double-quoted scalar, so no text can break
// the document.
func citation(rel store.Release, sources []store.Source) []byte {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("cff-version: 1.2.0\n")
	p("message: %s\n", yq("If you use these data, cite this release as below, and cite the source of every figure you use: each observation names its source (sources.csv)."))
	p("type: dataset\n")
	p("title: %s\n", yq(Title))
	p("abstract: %s\n", yq("Release "+rel.ID+" of Krimstat: police-reported figures on sex purchase, human trafficking and pimping in Norway, each with its source, locator, confidence grade and flags, with Eurostat and UNODC comparison data."))
	p("version: %s\n", yq(rel.ID))
	if d := releaseDate(rel); cffDate.MatchString(d) {
		p("date-released: %s\n", yq(d))
	}
	p("authors:\n  - name: %s\n", yq("Krimstat"))
	p("url: %s\n", yq(Homepage))
	p("repository-code: %s\n", yq(Homepage))
	p("keywords:\n")
	for _, k := range []string{"crime statistics", "Norway", "sex purchase", "human trafficking", "pimping"} {
		p("  - %s\n", yq(k))
	}
	if len(sources) > 0 {
		p("references:\n")
	}
	for _, s := range sources {
		p("  - type: %s\n", cffType(s))
		p("    title: %s\n", yq(s.Title))
		p("    authors:\n      - name: %s\n", yq(s.Publisher))
		if cffURL.MatchString(s.URL) {
			p("    url: %s\n", yq(s.URL))
		}
		if s.TableID != "" {
			p("    database: %s\n", yq(s.TableID))
		}
		if y, m, full := splitPublished(s.Published); y > 0 {
			p("    year: %d\n", y)
			if m > 0 {
				p("    month: %d\n", m)
			}
			if full {
				p("    date-published: %s\n", yq(s.Published))
			}
		}
		if cffDate.MatchString(s.Retrieved) {
			p("    date-accessed: %s\n", yq(s.Retrieved))
		}
		notes := "Krimstat source id " + s.ID
		if s.Licence != "" {
			notes += "; licence: " + s.Licence
		}
		p("    notes: %s\n", yq(notes))
	}
	return b.Bytes()
}

// cffDate and cffURL are the patterns CFF 1.2.0 requires of dates and URLs.
var (
	cffDate = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$`)
	cffURL  = regexp.MustCompile(`^(https|http|ftp|sftp)://.+`)
)

// cffType is the CFF reference type of a source: a statistical table is
// data, a news item a newspaper article, anything else a report.
func cffType(s store.Source) string {
	switch {
	case s.TableID != "":
		return "data"
	case strings.HasPrefix(s.Kind, "news"):
		return "newspaper-article"
	}
	return "report"
}

// splitPublished reads a publication date as precise as the source states
// it (YYYY, YYYY-MM or YYYY-MM-DD); full reports a whole date.
func splitPublished(s string) (year, month int, full bool) {
	parts := strings.Split(s, "-")
	y, err := strconv.Atoi(parts[0])
	if err != nil || len(parts[0]) != 4 {
		return 0, 0, false
	}
	if len(parts) > 1 {
		if m, err := strconv.Atoi(parts[1]); err == nil && m >= 1 && m <= 12 {
			month = m
		}
	}
	return y, month, month > 0 && cffDate.MatchString(s)
}

// yq quotes s for YAML as a JSON string (a YAML double-quoted scalar),
// leaving < > & as they are.
func yq(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // A string always encodes.
	return strings.TrimSuffix(b.String(), "\n")
}
