package store

import (
	"fmt"
	"strings"
)

// District2016Prefix starts the id of every police district of 2016
// (pd2016-oslo); the 27 districts of 2002-2015 start with pd2002-.
const District2016Prefix = "pd2016-"

// ReformDate is the first day of the 12 police districts of 2016.
const ReformDate = "2016-01-01"

// PopulationSource is the id of the source of every population figure:
// Statistics Norway's table 07459, population on 1 January.
const PopulationSource = "ssb-07459"

// IsRate reports whether the measure is already a rate (its unit reads
// "… per 100,000 inhabitants"), so that no further rate is taken of it and
// its values are not counts.
func (m Measure) IsRate() bool { return strings.Contains(m.Unit, "per ") }

// IsDistrict2016 reports whether the region is a police district of 2016.
func (r Region) IsDistrict2016() bool { return strings.HasPrefix(r.ID, District2016Prefix) }

// FindMeasure returns the measure with id from ms, or ErrNotFound.
func FindMeasure(ms []Measure, id string) (Measure, error) {
	for _, m := range ms {
		if m.ID == id {
			return m, nil
		}
	}
	return Measure{}, fmt.Errorf("measure %q: %w", id, ErrNotFound)
}
