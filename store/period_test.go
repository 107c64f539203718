package store

import (
	"errors"
	"testing"
)

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in         string
		kind       string
		start, end string
		prev       string
		wantErr    bool
	}{
		{in: "2009", kind: PeriodYear, start: "2009-01-01", end: "2009-12-99", prev: "2008"},
		{in: "2013-T1", kind: PeriodTertial, start: "2013-01-01", end: "2013-04-99", prev: "2012-T3"},
		{in: "2013-T3", kind: PeriodTertial, start: "2013-09-01", end: "2013-12-99", prev: "2013-T2"},
		{in: "2013-Q2", kind: PeriodQuarter, start: "2013-04-01", end: "2013-06-99", prev: "2013-Q1"},
		{in: "2013-H2", kind: PeriodHalf, start: "2013-07-01", end: "2013-12-99", prev: "2013-H1"},
		{in: "2013-01", kind: PeriodMonth, start: "2013-01-01", end: "2013-01-99", prev: "2012-12"},
		{in: "2013-T4", wantErr: true},
		{in: "2013-Q0", wantErr: true},
		{in: "2013-13", wantErr: true},
		{in: "20x9", wantErr: true},
		{in: "", wantErr: true},
		{in: "+123", wantErr: true},
		{in: "2013-", wantErr: true},
		{in: "2013-T", wantErr: true},
		{in: "2013-1", wantErr: true},
		{in: "2013T1", wantErr: true},
		{in: "1000-T01", wantErr: true},
		{in: "2013-H01", wantErr: true},
	}
	for _, tt := range tests {
		p, err := ParsePeriod(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParsePeriod(%q): got %v, %v; want ErrInvalid", tt.in, p, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePeriod(%q): %v", tt.in, err)
			continue
		}
		if p.Kind != tt.kind || p.Start() != tt.start || p.End() != tt.end || p.String() != tt.in || p.Previous().String() != tt.prev {
			t.Errorf("ParsePeriod(%q): got kind %s start %s end %s string %s prev %s; want %s %s %s %s %s",
				tt.in, p.Kind, p.Start(), p.End(), p, p.Previous(), tt.kind, tt.start, tt.end, tt.in, tt.prev)
		}
	}
}

func TestPeriodOrder(t *testing.T) {
	order := []string{"2012", "2013", "2013-H1", "2013-T1", "2013-T2", "2013-Q1", "2013-01", "2014"}
	for i := 1; i < len(order); i++ {
		a, _ := ParsePeriod(order[i-1])
		b, _ := ParsePeriod(order[i])
		if a.SortKey() >= b.SortKey() {
			t.Errorf("%s sorts after %s", a, b)
		}
	}
}

// FuzzParsePeriod checks that parsing never panics and that every accepted
// period prints back as the input.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2009", "2013-T1", "2013-Q4", "2013-H2", "2013-12", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			return
		}
		if p.String() != s {
			t.Fatalf("ParsePeriod(%q).String() = %q", s, p.String())
		}
		if p.Start() > p.End() {
			t.Fatalf("%q: start %s after end %s", s, p.Start(), p.End())
		}
	})
}
