// Package export writes whole, labelled files of a release: rows with names
// beside ids in English or Norwegian, as CSV, XLSX and Parquet, and the
// release bundle, a zip that is a Frictionless Data Package.
//
// Writers read their rows from an iterator and hold a bounded number of them,
// so a file of a million rows costs no more memory than one of a thousand;
// the bundle is the exception, built in memory once per release.
//
// The package depends on store only: no HTTP, so that the API and the
// command line write the same bytes.
package export

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// Languages of names and texts. The release's metadata holds both; English
// is the default and the fallback for a missing Norwegian name.
const (
	EN = "en"
	NB = "nb"
)

// Current is the release id that stands for the current release.
const Current = "current"

// ResolveRelease returns the release id names, or the current release for
// Current. It returns store.ErrNotFound for an unknown id.
func ResolveRelease(ctx context.Context, st store.Store, id string) (store.Release, error) {
	if id == Current {
		return st.CurrentRelease(ctx)
	}
	return st.Release(ctx, id)
}

// Names labels observations of one release in one language. It is built
// once from the release's metadata and is safe for concurrent use.
type Names struct {
	release  store.Release
	lang     string
	offences map[string]store.Offence
	regions  map[string]store.Region
	measures map[string]store.Measure
	sources  map[string]store.Source
	// sourceList keeps the store's id order for the sources sheet and table.
	sourceList []store.Source
	// untranslated lists the names that have no Norwegian text.
	untranslated []string
}

// NewNames reads the metadata of release (an id or Current) for labels in
// lang, EN or NB. It returns store.ErrNotFound for an unknown release and a
// store.ParamError (param "lang") for another language.
func NewNames(ctx context.Context, st store.Store, release, lang string) (*Names, error) {
	if lang != EN && lang != NB {
		return nil, store.InvalidParam("lang", "%q: want %s or %s", lang, EN, NB)
	}
	rel, err := ResolveRelease(ctx, st, release)
	if err != nil {
		return nil, fmt.Errorf("names: %w", err)
	}
	offences, err := st.Offences(ctx, rel.ID)
	if err != nil {
		return nil, fmt.Errorf("names: %w", err)
	}
	regions, err := st.Regions(ctx, rel.ID, store.RegionFilter{})
	if err != nil {
		return nil, fmt.Errorf("names: %w", err)
	}
	measures, err := st.Measures(ctx, rel.ID)
	if err != nil {
		return nil, fmt.Errorf("names: %w", err)
	}
	sources, err := st.Sources(ctx, rel.ID)
	if err != nil {
		return nil, fmt.Errorf("names: %w", err)
	}
	n := &Names{
		release:    rel,
		lang:       lang,
		offences:   make(map[string]store.Offence, len(offences)),
		regions:    make(map[string]store.Region, len(regions)),
		measures:   make(map[string]store.Measure, len(measures)),
		sources:    make(map[string]store.Source, len(sources)),
		sourceList: sources,
	}
	for _, o := range offences {
		n.offences[o.ID] = o
		n.noteUntranslated("offence", o.ID, o.Name)
	}
	for _, r := range regions {
		n.regions[r.ID] = r
		n.noteUntranslated("region", r.ID, r.Name)
	}
	for _, m := range measures {
		n.measures[m.ID] = m
		n.noteUntranslated("measure", m.ID, m.Name)
	}
	for _, s := range sources {
		n.sources[s.ID] = s
	}
	return n, nil
}

func (n *Names) noteUntranslated(kind, id string, t store.Text) {
	if t.NB == "" {
		n.untranslated = append(n.untranslated, kind+" "+id)
	}
}

// Release is the release the names belong to.
func (n *Names) Release() store.Release { return n.release }

// Lang is the language of the labels, EN or NB.
func (n *Names) Lang() string { return n.lang }

// Text picks the names' language from t, falling back to English where the
// Norwegian text is missing.
func (n *Names) Text(t store.Text) string {
	if n.lang == NB && t.NB != "" {
		return t.NB
	}
	return t.EN
}

// Untranslated lists the offences, regions and measures ("region NO") whose
// name has no Norwegian text and so is labelled in English in NB files.
func (n *Names) Untranslated() []string { return append([]string(nil), n.untranslated...) }

// Source returns the source with id, and whether the release has it.
func (n *Names) Source(id string) (store.Source, bool) {
	s, ok := n.sources[id]
	return s, ok
}

// Sources returns the release's sources in id order.
func (n *Names) Sources() []store.Source { return append([]store.Source(nil), n.sourceList...) }

// Row is an observation with the names of what it refers to, in the
// language of the Names that labelled it. Names of ids the release does not
// hold are empty; a validated release has none.
type Row struct {
	store.Observation
	OffenceName     string
	RegionName      string
	MeasureName     string
	Unit            string
	SourceTitle     string
	SourcePublisher string
	SourceURL       string
	SourceLicence   string
}

// Label returns o with its names.
func (n *Names) Label(o store.Observation) Row {
	r := Row{Observation: o}
	if x, ok := n.offences[o.Offence]; ok {
		r.OffenceName = n.Text(x.Name)
	}
	if x, ok := n.regions[o.Region]; ok {
		r.RegionName = n.Text(x.Name)
	}
	if x, ok := n.measures[o.Measure]; ok {
		r.MeasureName = n.Text(x.Name)
		r.Unit = x.Unit
	}
	if x, ok := n.sources[o.Source]; ok {
		r.SourceTitle, r.SourcePublisher, r.SourceURL, r.SourceLicence = x.Title, x.Publisher, x.URL, x.Licence
	}
	return r
}

// Columns are the columns of a row in every file format, in order: the
// figure with its names, then its provenance, so a row stands on its own.
// They are machine names in every language, so that scripts address the
// same columns in English and Norwegian files.
var Columns = []string{
	"offence", "offence_name", "region", "region_name", "period", "period_start",
	"measure", "measure_name", "unit",
	"sex", "age", "citizenship", "repatriation_country",
	"value", "value_text", "flags", "confidence",
	"source", "source_title", "source_publisher", "source_url", "source_licence", "locator",
}

// Total is a breakdown field's value for the undivided figure, as the API's
// filters spell it.
const Total = "total"

func orTotal(s string) string {
	if s == "" {
		return Total
	}
	return s
}

// PeriodStart is the first day of the row's period (YYYY-MM-DD), or "" for
// a period that does not parse (a validated release has none).
func (r Row) PeriodStart() string {
	p, err := store.ParsePeriod(r.Period)
	if err != nil {
		return ""
	}
	return p.Start()
}

// FlagText is the row's flags joined by ";", "" for none.
func (r Row) FlagText() string { return strings.Join(r.Flags, ";") }

// valueString is the row's number as text: the shortest form that reads
// back as the same number, "" for a figure the source did not give as one.
func (r Row) valueString() string {
	if r.Value == nil {
		return ""
	}
	return strconv.FormatFloat(*r.Value, 'f', -1, 64)
}

// Record is the row as text fields in Columns order. An empty field is a
// missing value: never a zero.
func (r Row) Record() []string {
	b := r.Breakdown
	return []string{
		r.Offence, r.OffenceName, r.Region, r.RegionName, r.Period, r.PeriodStart(),
		r.Measure, r.MeasureName, r.Unit,
		orTotal(b.Sex), orTotal(b.Age), orTotal(b.Citizenship), orTotal(b.RepatriationCountry),
		r.valueString(), r.ValueText, r.FlagText(), r.Confidence,
		r.Source, r.SourceTitle, r.SourcePublisher, r.SourceURL, r.SourceLicence, r.Locator,
	}
}

// errStop ends a store walk whose reader stopped early.
var errStop = errors.New("export: reader stopped")

// Rows yields the observations of the names' release that f selects, in
// Key order, labelled. It reads them through store.EachObservation, so it
// holds a bounded number however large the selection; a store error is
// yielded once, last.
func Rows(ctx context.Context, st store.Store, n *Names, f store.ObservationFilter) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		err := st.EachObservation(ctx, n.release.ID, f, func(o store.Observation) error {
			if !yield(n.Label(o), nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(Row{}, fmt.Errorf("observations: %w", err))
		}
	}
}
