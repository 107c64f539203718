package store

import (
	"strings"
)

// The types the API returns end in a swag "@name" comment, so that the
// published OpenAPI schemas are named for what they are (Offence) rather
// than for the Go package that happens to hold them (store.Offence).

// Text is a name or description in English and Norwegian Bokmål.
type Text struct {
	EN string `json:"en"`
	NB string `json:"nb"`
} // @name Text

// LegalBasis is one provision of Norwegian law that an offence falls under,
// valid for a stated span of time. Dates are YYYY-MM-DD; an empty ValidFrom
// means the start is not recorded here, an empty ValidTo that it is in force.
type LegalBasis struct {
	Law       string `json:"law"`
	Section   string `json:"section"`
	ValidFrom string `json:"valid_from,omitempty"`
	ValidTo   string `json:"valid_to,omitempty"`
	Note      string `json:"note,omitempty"`
} // @name LegalBasis

// Offence is a kind of crime that observations count. Breakdowns of an
// offence (such as human-trafficking/aggravated) name their Parent; a
// breakdown never sums to its parent by construction, so none is derived.
type Offence struct {
	ID             string       `json:"id"`
	Parent         string       `json:"parent,omitempty"`
	Classification string       `json:"classification"` // "krimstat" or "iccs"
	Code           string       `json:"code,omitempty"` // the code in its classification, e.g. ICCS0302
	Name           Text         `json:"name"`
	Definition     Text         `json:"definition"`
	LegalBasis     []LegalBasis `json:"legal_basis,omitempty"`
	Notes          []string     `json:"notes,omitempty"`
} // @name Offence

// Region types.
const (
	RegionCountry        = "country"
	RegionCountryPart    = "country-part"
	RegionPoliceDistrict = "police-district"
)

// Succession links a police district to one that took over its area.
// Approximate is set where municipalities moved across the new lines, so a
// roll-up of the old district into the new one is not exact; Inferred where
// the successor is inferred rather than read from the source.
type Succession struct {
	Region      string `json:"region"`
	From        string `json:"from"`
	Approximate bool   `json:"approximate"`
	Inferred    bool   `json:"inferred"`
	Note        string `json:"note,omitempty"`
} // @name Succession

// Region is a country, part of a country, or a Norwegian police district.
// Countries use Eurostat geo codes as ids (NO, SE, UKC-L); Codes lists the
// codes other sources use for the same region (UNODC's ISO3 NOR). Police
// districts carry their validity and their successors or predecessors.
type Region struct {
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	Name         Text              `json:"name"`
	Parent       string            `json:"parent,omitempty"`
	Codes        map[string]string `json:"codes,omitempty"`
	Seat         string            `json:"seat,omitempty"`
	ValidFrom    string            `json:"valid_from,omitempty"`
	ValidTo      string            `json:"valid_to,omitempty"`
	Successors   []Succession      `json:"successors,omitempty"`
	Predecessors []Succession      `json:"predecessors,omitempty"`
	Notes        []string          `json:"notes,omitempty"`
} // @name Region

// ValidOn reports whether the region existed on date (YYYY-MM-DD).
func (r Region) ValidOn(date string) bool {
	if r.ValidFrom != "" && date < r.ValidFrom {
		return false
	}
	if r.ValidTo != "" && date > r.ValidTo {
		return false
	}
	return true
}

// Measure is what an observation counts, with its unit. Two measures are
// never mixed in one series.
type Measure struct {
	ID         string `json:"id"`
	Name       Text   `json:"name"`
	Unit       string `json:"unit"`
	Definition Text   `json:"definition"`
} // @name Measure

// Source is a publication that observations are taken from.
type Source struct {
	ID        string   `json:"id"`
	Publisher string   `json:"publisher"`
	Title     string   `json:"title"`
	URL       string   `json:"url"`
	TableID   string   `json:"table_id,omitempty"`
	Published string   `json:"published,omitempty"` // as precise as the source states: YYYY, YYYY-MM or YYYY-MM-DD
	Retrieved string   `json:"retrieved,omitempty"` // when the figures were taken from it, where known
	Kind      string   `json:"kind"`                // official, news quoting official, ...
	Licence   string   `json:"licence"`
	Notes     []string `json:"notes,omitempty"`
} // @name Source

// Breakdown is the extra split of an observation that some sources publish.
// An empty field means "total" for that dimension.
type Breakdown struct {
	Sex                 string `json:"sex,omitempty"`                  // female, male, other, unknown
	Age                 string `json:"age,omitempty"`                  // 0-17, 18-plus, unknown
	Citizenship         string `json:"citizenship,omitempty"`          // as published
	RepatriationCountry string `json:"repatriation_country,omitempty"` // as published
} // @name Breakdown

// IsTotal reports whether the breakdown is the total on every dimension.
func (b Breakdown) IsTotal() bool { return b == Breakdown{} }

// Observation flags. Every flag an observation carries is one of these.
const (
	FlagApproximate          = "approximate"                 // the source gives the figure as approximate
	FlagSuppressed           = "suppressed"                  // the source printed a cut-off text such as <5 instead of a number
	FlagLaterVintage         = "later-vintage"               // a later, revised count of a figure another source published earlier
	FlagPartialYear          = "partial-year"                // the period is part of a year
	FlagOn2016Boundaries     = "reported-on-2016-boundaries" // a pre-2016 figure reported for a district of 2016
	FlagInconsistentInSource = "inconsistent-in-source"      // the published figure contradicts another figure of the same source
	FlagBreakInSeries        = "break-in-series"
	FlagProvisional          = "provisional"
	FlagEstimated            = "estimated"
	FlagRevised              = "revised"
	FlagDefinitionDiffers    = "definition-differs"
	FlagLowReliability       = "low-reliability"
	FlagConfidential         = "confidential"
	FlagNotApplicable        = "not-applicable"
	FlagNotSignificant       = "not-significant"
	FlagForecast             = "forecast"
	FlagEurostatEstimate     = "eurostat-estimate"
)

// Flags lists every flag with what it means, in a stable order.
var Flags = []struct{ ID, Meaning string }{
	{FlagApproximate, "the source gives the figure as approximate"},
	{FlagSuppressed, "the source printed a cut-off text (value_text) such as <5 instead of a number; value is null"},
	{FlagLaterVintage, "a later, revised count of a figure that another source published earlier"},
	{FlagPartialYear, "the period is part of a year (a tertial, quarter or half)"},
	{FlagOn2016Boundaries, "a pre-2016 figure reported for a police district of the 2016 reform"},
	{FlagInconsistentInSource, "the published figure contradicts other figures of the same source; kept as published"},
	{FlagBreakInSeries, "break in the time series"},
	{FlagProvisional, "provisional"},
	{FlagEstimated, "estimated by the publisher"},
	{FlagRevised, "revised"},
	{FlagDefinitionDiffers, "definition differs"},
	{FlagLowReliability, "low reliability"},
	{FlagConfidential, "confidential"},
	{FlagNotApplicable, "not applicable"},
	{FlagNotSignificant, "not significant"},
	{FlagForecast, "forecast"},
	{FlagEurostatEstimate, "Eurostat estimate"},
}

// KnownFlag reports whether f is one of Flags.
func KnownFlag(f string) bool {
	for _, k := range Flags {
		if k.ID == f {
			return true
		}
	}
	return false
}

// Observation is one published figure. Value is nil when the source printed
// text instead of a number (ValueText then holds it). Locator says where in the
// source the figure stands.
type Observation struct {
	Offence    string    `json:"offence"`
	Region     string    `json:"region"`
	Period     string    `json:"period"`
	Measure    string    `json:"measure"`
	Breakdown  Breakdown `json:"breakdown"`
	Value      *float64  `json:"value" extensions:"x-nullable"`
	ValueText  string    `json:"value_text,omitempty"`
	Flags      []string  `json:"flags"`
	Source     string    `json:"source"`
	Confidence string    `json:"confidence"` // A: official primary; B: secondary quoting official
	Locator    string    `json:"locator"`
	// Revision is set on a figure that an earlier release published with
	// another value: what it was, and in which release. It is absent for a
	// figure never revised, so responses without revisions keep their shape.
	Revision *Revision `json:"revision,omitempty"`
} // @name Observation

// Revision is what an observation's figure was before a later release
// revised it: the value (null when the source printed text) and value_text
// of Release, the release the figure was last published in with them. An
// observation carrying a Revision also carries FlagRevised.
type Revision struct {
	Release   string   `json:"release" example:"2024-06-01"`
	Value     *float64 `json:"value" extensions:"x-nullable"`
	ValueText string   `json:"value_text,omitempty"`
} // @name Revision

// keySep separates the fields of an observation key. It sorts below every
// printable character, so shorter ids sort before longer ones that share a prefix.
const keySep = "\x1f"

// Key is the observation's identity and sort key within a release: two
// observations of one release never share a key. Keys compare bytewise
// (COLLATE "C" in PostgreSQL), which gives the stable order of list endpoints.
func (o Observation) Key() string {
	p, _ := ParsePeriod(o.Period)
	return strings.Join([]string{
		o.Offence, o.Region, o.Measure, p.SortKey(),
		o.Breakdown.Sex, o.Breakdown.Age, o.Breakdown.Citizenship, o.Breakdown.RepatriationCountry,
		o.Source,
	}, keySep)
}

// PopulationFigure is a region's population on a date.
type PopulationFigure struct {
	Region  string  `json:"region"`
	Date    string  `json:"date"`
	Value   float64 `json:"value"`
	Source  string  `json:"source"`
	Locator string  `json:"locator"`
} // @name PopulationFigure

// Release is one loaded version of the whole dataset. Created is the
// release's date (RFC 3339). Files lists the input files with checksums.
// Changes, when set, counts how its observations differ from those of the
// release it superseded.
type Release struct {
	ID      string         `json:"id"`
	Created string         `json:"created"`
	Note    string         `json:"note,omitempty"`
	Files   []ReleaseFile  `json:"files,omitempty"`
	Counts  map[string]int `json:"counts,omitempty"`
	Changes *ChangeSummary `json:"changes,omitempty"`
	Current bool           `json:"current"`
} // @name Release

// ChangeCounts counts how the observations of one release differ from
// those of an earlier one, each observation of either counted once: added
// (only in the later), removed (only in the earlier), revised (value or
// value_text changed), metadata_revised (only flags, confidence or locator
// changed) or unchanged.
type ChangeCounts struct {
	Added           int `json:"added"`
	Removed         int `json:"removed"`
	Revised         int `json:"revised"`
	MetadataRevised int `json:"metadata_revised"`
	Unchanged       int `json:"unchanged"`
} // @name ChangeCounts

// SourceChanges are the change counts of the observations of one source.
type SourceChanges struct {
	Source string `json:"source"`
	ChangeCounts
} // @name SourceChanges

// ChangeSummary counts the changes of a release since the release Since
// that it superseded, in all and per source (in source id order).
type ChangeSummary struct {
	Since string `json:"since"`
	ChangeCounts
	Sources []SourceChanges `json:"sources"`
} // @name ChangeSummary

// ReleaseFile is one input file of a release.
type ReleaseFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"` // newline-terminated lines, header included
} // @name ReleaseFile

// RegionFilter selects regions. Empty fields select everything.
type RegionFilter struct {
	Types   []string
	ValidOn string // YYYY-MM-DD
}

// Match reports whether r passes the filter. It compiles the filter on every
// call; to test many regions, compile it once with Matcher.
func (f RegionFilter) Match(r Region) bool { return f.Matcher().Match(r) }

// Matcher compiles the filter for testing many regions: each list becomes a
// set, so a test costs the same however many values the filter names.
func (f RegionFilter) Matcher() RegionMatcher {
	return RegionMatcher{types: newSet(f.Types), validOn: f.ValidOn}
}

// RegionMatcher is a compiled RegionFilter. Its zero value matches every
// region.
type RegionMatcher struct {
	types   set
	validOn string
}

// Match reports whether r passes the filter the matcher was compiled from.
func (m RegionMatcher) Match(r Region) bool {
	return m.types.has(r.Type) && (m.validOn == "" || r.ValidOn(m.validOn))
}

// ObservationFilter selects observations. Empty slices select everything;
// values within one field are alternatives, fields are combined with AND.
// Breakdown fields take a value, or "total" for the undivided figure.
type ObservationFilter struct {
	Offences    []string
	Regions     []string
	Measures    []string
	Sources     []string
	Sex         []string
	Age         []string
	Citizenship []string
	From, To    *Period
	After       string // the Key of the last observation already seen
	Limit       int    // at most this many; 0 means no limit
}

// Match reports whether o passes every condition of the filter except
// After and Limit. It compiles the filter on every call; to test many
// observations, compile it once with Matcher.
func (f ObservationFilter) Match(o Observation) bool { return f.Matcher().Match(o) }

// Matcher compiles the filter for testing many observations: each list
// becomes a set and each period bound a string, so that a test costs the same
// however many values the filter names. A filter with thousands of values
// would otherwise cost thousands of comparisons per observation.
func (f ObservationFilter) Matcher() ObservationMatcher {
	m := ObservationMatcher{
		offences:    newSet(f.Offences),
		regions:     newSet(f.Regions),
		measures:    newSet(f.Measures),
		sources:     newSet(f.Sources),
		sex:         newSet(f.Sex),
		age:         newSet(f.Age),
		citizenship: newSet(f.Citizenship),
	}
	if f.From != nil {
		m.from = f.From.Start()
	}
	if f.To != nil {
		m.to = f.To.End()
	}
	return m
}

// ObservationMatcher is a compiled ObservationFilter. Its zero value matches
// every observation.
type ObservationMatcher struct {
	offences, regions, measures, sources set
	sex, age, citizenship                set
	from, to                             string // period bounds; empty is open
}

// Match reports whether o passes every condition of the filter the matcher
// was compiled from, except After and Limit.
func (m ObservationMatcher) Match(o Observation) bool {
	if !m.offences.has(o.Offence) || !m.regions.has(o.Region) ||
		!m.measures.has(o.Measure) || !m.sources.has(o.Source) {
		return false
	}
	if !m.sex.hasBreakdown(o.Breakdown.Sex) || !m.age.hasBreakdown(o.Breakdown.Age) ||
		!m.citizenship.hasBreakdown(o.Breakdown.Citizenship) {
		return false
	}
	if m.from != "" || m.to != "" {
		p, err := ParsePeriod(o.Period)
		if err != nil {
			return false
		}
		if m.from != "" && p.Start() < m.from {
			return false
		}
		if m.to != "" && p.End() > m.to {
			return false
		}
	}
	return true
}

// set is a filter list compiled for lookups. A nil set stands for an empty
// list, which selects everything.
type set map[string]struct{}

func newSet(values []string) set {
	if len(values) == 0 {
		return nil
	}
	s := make(set, len(values))
	for _, v := range values {
		s[v] = struct{}{}
	}
	return s
}

// has reports whether v is in s, or s selects everything.
func (s set) has(v string) bool {
	if s == nil {
		return true
	}
	_, ok := s[v]
	return ok
}

// hasBreakdown is has for a breakdown field, where the empty field is the
// undivided figure and is asked for as "total".
func (s set) hasBreakdown(v string) bool {
	if v == "" {
		v = "total"
	}
	return s.has(v)
}

// ObservationPage is one page of observations. Next is the After value for
// the following page, empty on the last page; Total counts every match.
type ObservationPage struct {
	Observations []Observation
	Next         string
	Total        int
}

// PopulationFilter selects population figures.
type PopulationFilter struct {
	Regions  []string
	From, To string // dates, inclusive; empty means open
}
