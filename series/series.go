// Package series holds Krimstat's series rules: how one time series of one
// offence, region and measure is built from a release's observations. The
// rules are the heart of the product, so they live here, testable without
// HTTP, and every output (JSON, CSV, JSON-stat, charts, embeds, citations)
// is drawn from the same Series:
//
//   - one source per series: the caller's, or by precedence (confidence A
//     before B before C, then the most points, then the source id), with
//     the other sources' values beside each point as alternatives;
//   - change from the previous period of the same kind only, flagged
//     unreliable where either count is small;
//   - pre-2016 police districts summed onto a district of 2016 only when
//     every predecessor has a value from the same source;
//   - rates only where a population figure for 1 January of the point's
//     year exists; nothing is estimated;
//   - several series asked for together (offences × regions, one measure,
//     at most MaxSeries) are each built under these rules on their own, and
//     line up on the union of their periods (BuildSet).
//
// The package imports only store among Krimstat's packages.
package series

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/krimstat/krimstat/store"
)

// Flags set on a point by the series rules, never stored.
const (
	// FlagSmallCount marks a count below the small-count threshold: a
	// change from or to it says little.
	FlagSmallCount = "small-count"
	// FlagHarmonised marks a sum of pre-2016 district figures expressed on
	// a district of 2016.
	FlagHarmonised = "harmonised-2016"
)

// Parameters a request may take.
const (
	// DefaultSmall is the small-count threshold when the caller sets none.
	DefaultSmall = 20
	// RatePer is the only rate offered: per 100,000 inhabitants.
	RatePer = 100000
	// Harmonise2016 is the only harmonisation offered: onto the districts of 2016.
	Harmonise2016 = "2016"
)

// Choices of source, as reported in Series.SourceChoice.
const (
	ChoiceRequested  = "requested"
	ChoicePrecedence = "precedence"
)

// PrecedenceRule is the documented order in which a series picks its one
// source when the caller names none.
const PrecedenceRule = "the caller's source; else confidence A before B before C, then the source with the most points in the series, then the source id"

// RateBasis says which population figure a rate divides by.
const RateBasis = "population on 1 January of the point's year (Statistics Norway table 07459 for Norway); no rate for parts of a year or regions without a population figure"

// Request is what a caller asks of a series. Offence, Region and Measure
// are required; the rest are optional.
type Request struct {
	Offence, Region, Measure string
	// Source names the one source to use; empty means by precedence.
	Source string
	// Per asks for rates per this many inhabitants: 0 or RatePer.
	Per int
	// Harmonise is "" or Harmonise2016.
	Harmonise string
	// From and To cut the points shown, after change is computed.
	From, To *store.Period
	// Small is the small-count threshold.
	Small int
}

// Series is one time series: one offence, region and measure, totals only,
// values from one source.
type Series struct {
	Offence      string             `json:"offence" example:"sex-purchase"`
	Region       string             `json:"region" example:"NO"`
	Measure      string             `json:"measure" example:"reported-persons"`
	Unit         string             `json:"unit" example:"persons"`
	Source       string             `json:"source" example:"stortinget-54169"`  // the chosen source; empty when no source has a point
	SourceChoice string             `json:"source_choice" example:"precedence"` // "requested" or "precedence"
	Precedence   string             `json:"precedence"`                         // the rule used when the caller names no source
	SmallCount   int                `json:"small_count" example:"20"`           // counts below this are flagged small-count
	Per          int                `json:"per,omitempty" example:"100000"`     // set when rates were asked for
	RateBasis    string             `json:"rate_basis,omitempty"`               // which population figure a rate uses
	Harmonise    string             `json:"harmonise,omitempty" example:"2016"` // set when pre-2016 districts were summed
	Points       []Point            `json:"points"`                             // in period order; a gap is an absent point
	Candidates   []Candidate        `json:"candidates"`                         // every source with points, in precedence order
	Omitted      []Omitted          `json:"omitted,omitempty"`                  // harmonised points that could not be formed, with why
	Mapping      []store.Succession `json:"mapping,omitempty"`                  // the predecessors summed for harmonise=2016
	Notes        []string           `json:"notes"`

	// Sources are the sources the series cites (its points, their
	// alternatives and, with rates, the population), in the release's
	// order. Responses carry them in their meta, not in the series.
	Sources []store.Source `json:"-"`
} // @name Series

// Point is one period of a series.
type Point struct {
	Period     string   `json:"period" example:"2010"`
	Value      *float64 `json:"value" extensions:"x-nullable" example:"359"`
	ValueText  string   `json:"value_text,omitempty" example:"<5"`
	Flags      []string `json:"flags"`
	Source     string   `json:"source" example:"stortinget-54169"`
	Confidence string   `json:"confidence" example:"A"`
	Locator    string   `json:"locator"`
	// Change from the previous period of the same kind, absent when that
	// period has no value in this series.
	Change *Change `json:"change,omitempty"`
	// Unreliable is set when this or the previous count is below small_count.
	Unreliable bool `json:"unreliable,omitempty"`
	// Rate per `per` inhabitants, with per=100000; null with rate_reason
	// when no denominator exists.
	Rate        *float64     `json:"rate,omitempty" extensions:"x-nullable" example:"7.3"`
	RateReason  string       `json:"rate_reason,omitempty"`
	Denominator *Denominator `json:"denominator,omitempty"`
	// Components are the district figures a harmonised point sums.
	Components []Component `json:"components,omitempty"`
	// Alternatives are the other sources' values for the same period.
	Alternatives []Alternative `json:"alternatives"`

	rated bool // rates were asked for: rate is written, as null if absent
} // @name SeriesPoint

// MarshalJSON writes rate as an explicit null when rates were asked for and
// none exists, and leaves it out otherwise.
func (p Point) MarshalJSON() ([]byte, error) {
	type plain Point
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plain(p)); err != nil {
		return nil, err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	if p.rated && p.Rate == nil {
		b = append(b[:len(b)-1], `,"rate":null}`...)
	}
	return b, nil
}

// Change is the difference from the previous period of the same kind.
type Change struct {
	From       string   `json:"from" example:"2009"`
	Absolute   float64  `json:"absolute" example:"25"`
	Relative   *float64 `json:"relative" extensions:"x-nullable" example:"0.0749"` // a fraction; null when the previous value is 0
	Unreliable bool     `json:"unreliable"`                                        // either count is below small_count
} // @name Change

// Denominator is the population figure a rate divides by.
type Denominator struct {
	Population float64 `json:"population" example:"4858199"`
	Date       string  `json:"date" example:"2010-01-01"`
	Source     string  `json:"source" example:"ssb-07459"`
	Locator    string  `json:"locator"`
} // @name Denominator

// Component is one district figure summed into a harmonised point.
type Component struct {
	Region      string  `json:"region" example:"pd2002-sor-trondelag"`
	Value       float64 `json:"value"`
	Locator     string  `json:"locator"`
	Approximate bool    `json:"approximate"`
	Inferred    bool    `json:"inferred"`
} // @name Component

// Alternative is another source's value for a point of the series.
type Alternative struct {
	Source     string   `json:"source" example:"klassekampen-2023-01-04"`
	Value      *float64 `json:"value" extensions:"x-nullable" example:"355"`
	ValueText  string   `json:"value_text,omitempty"`
	Flags      []string `json:"flags"`
	Confidence string   `json:"confidence" example:"B"`
	Locator    string   `json:"locator"`
} // @name Alternative

// Candidate is a source that has points for the series.
type Candidate struct {
	Source     string   `json:"source" example:"stortinget-54169"`
	Confidence string   `json:"confidence" example:"A"` // the best grade among its points
	Points     int      `json:"points" example:"2"`
	Periods    []string `json:"periods"`
	Chosen     bool     `json:"chosen"`
} // @name SeriesCandidate

// Omitted is a harmonised point that could not be formed.
type Omitted struct {
	Period string `json:"period" example:"2014"`
	Source string `json:"source"`
	Reason string `json:"reason"`
} // @name OmittedPoint

// Observations turns the points back into observations (for JSON-stat),
// without the flags only a series sets.
func (s Series) Observations() []store.Observation {
	out := make([]store.Observation, 0, len(s.Points))
	for _, p := range s.Points {
		flags := slices.DeleteFunc(slices.Clone(p.Flags), func(f string) bool { return f == FlagSmallCount })
		out = append(out, store.Observation{Offence: s.Offence, Region: s.Region, Period: p.Period, Measure: s.Measure,
			Value: p.Value, ValueText: p.ValueText, Flags: flags, Source: p.Source, Confidence: p.Confidence, Locator: p.Locator})
	}
	return out
}
