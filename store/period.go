package store

import (
	"fmt"
	"strconv"
)

// Period kinds: a calendar year, or a part of one.
const (
	PeriodYear    = "year"
	PeriodHalf    = "half"    // 2013-H1: January-June
	PeriodTertial = "tertial" // 2013-T1: January-April
	PeriodQuarter = "quarter" // 2013-Q1: January-March
	PeriodMonth   = "month"   // 2013-01
)

// Period is a year or a part of a year, written 2013, 2013-H1, 2013-T1,
// 2013-Q1 or 2013-01.
type Period struct {
	Year  int
	Kind  string
	Index int // 1-based position within the year; 0 for a year
}

// months per part of a year, by kind.
var partMonths = map[string]int{PeriodHalf: 6, PeriodTertial: 4, PeriodQuarter: 3, PeriodMonth: 1}

// ParsePeriod parses the text form of a period. It returns an error
// wrapping ErrInvalid for anything else.
func ParsePeriod(s string) (Period, error) {
	// The error is built only when needed: ParsePeriod runs for every
	// observation a query touches.
	badPeriod := func() error {
		return fmt.Errorf("period %q: want YYYY, YYYY-H1, YYYY-T1, YYYY-Q1 or YYYY-MM: %w", s, ErrInvalid)
	}
	if len(s) < 4 {
		return Period{}, badPeriod()
	}
	y, err := strconv.Atoi(s[:4])
	if err != nil || y < 1000 || s[0] == '+' || s[0] == '-' {
		return Period{}, badPeriod()
	}
	if len(s) == 4 {
		return Period{Year: y, Kind: PeriodYear}, nil
	}
	if len(s) < 7 || s[4] != '-' {
		return Period{}, badPeriod()
	}
	rest := s[5:]
	var kind string
	var num string
	switch rest[0] {
	case 'H':
		kind, num = PeriodHalf, rest[1:]
	case 'T':
		kind, num = PeriodTertial, rest[1:]
	case 'Q':
		kind, num = PeriodQuarter, rest[1:]
	default:
		kind, num = PeriodMonth, rest
		if len(num) != 2 {
			return Period{}, badPeriod()
		}
	}
	// Parts of a year have a one-digit index (2013-T1, never 2013-T01), so
	// that every period has exactly one spelling; months have two digits.
	want := 1
	if kind == PeriodMonth {
		want = 2
	}
	if len(num) != want || num[0] < '0' || num[0] > '9' {
		return Period{}, badPeriod()
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 1 || i > 12/partMonths[kind] {
		return Period{}, badPeriod()
	}
	return Period{Year: y, Kind: kind, Index: i}, nil
}

// String returns the text form ParsePeriod reads.
func (p Period) String() string {
	switch p.Kind {
	case PeriodHalf:
		return fmt.Sprintf("%04d-H%d", p.Year, p.Index)
	case PeriodTertial:
		return fmt.Sprintf("%04d-T%d", p.Year, p.Index)
	case PeriodQuarter:
		return fmt.Sprintf("%04d-Q%d", p.Year, p.Index)
	case PeriodMonth:
		return fmt.Sprintf("%04d-%02d", p.Year, p.Index)
	}
	return fmt.Sprintf("%04d", p.Year)
}

// firstMonth and lastMonth give the span of the period in months 1-12.
func (p Period) firstMonth() int {
	if p.Kind == PeriodYear {
		return 1
	}
	return (p.Index-1)*partMonths[p.Kind] + 1
}

func (p Period) lastMonth() int {
	if p.Kind == PeriodYear {
		return 12
	}
	return p.Index * partMonths[p.Kind]
}

// Start is the first day of the period as YYYY-MM-DD.
func (p Period) Start() string { return fmt.Sprintf("%04d-%02d-01", p.Year, p.firstMonth()) }

// End is the last month of the period as YYYY-MM-99, which compares after
// every day of that month; it is for comparisons, not display.
func (p Period) End() string { return fmt.Sprintf("%04d-%02d-99", p.Year, p.lastMonth()) }

// kindOrder puts a year before its parts and longer parts before shorter.
var kindOrder = map[string]int{PeriodYear: 0, PeriodHalf: 1, PeriodTertial: 2, PeriodQuarter: 3, PeriodMonth: 4}

// SortKey orders periods by year, then kind, then position.
func (p Period) SortKey() string {
	return fmt.Sprintf("%04d.%d.%02d", p.Year, kindOrder[p.Kind], p.Index)
}

// Previous is the period of the same kind just before p.
func (p Period) Previous() Period {
	if p.Kind == PeriodYear {
		return Period{Year: p.Year - 1, Kind: p.Kind}
	}
	if p.Index == 1 {
		return Period{Year: p.Year - 1, Kind: p.Kind, Index: 12 / partMonths[p.Kind]}
	}
	return Period{Year: p.Year, Kind: p.Kind, Index: p.Index - 1}
}
