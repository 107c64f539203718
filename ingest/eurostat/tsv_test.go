package eurostat

import (
	"errors"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/store"
)

const sample = "freq,iccs,unit,geo\\TIME_PERIOD\t2008 \t2009 \t2010 \n" +
	"A,ICCS0101,NR,AL\t88 \t: \t12 p\n" +
	"A,ICCS0101,NR,AT\t: c\t51 \t61.5 bep\n"

func TestRead(t *testing.T) {
	tab, err := Read(strings.NewReader(sample), "x.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(tab.Dims, ","), "freq,iccs,unit,geo"; got != want {
		t.Errorf("dims: got %s, want %s", got, want)
	}
	if got, want := strings.Join(tab.Times, ","), "2008,2009,2010"; got != want {
		t.Errorf("times: got %s, want %s", got, want)
	}
	type cell struct {
		geo, time string
		value     float64
		null      bool
		flags     string
	}
	want := []cell{
		{"AL", "2008", 88, false, ""},
		{"AL", "2010", 12, false, store.FlagProvisional},
		{"AT", "2008", 0, true, store.FlagConfidential},
		{"AT", "2009", 51, false, ""},
		{"AT", "2010", 61.5, false, strings.Join([]string{store.FlagBreakInSeries, store.FlagEstimated, store.FlagProvisional}, ",")},
	}
	if len(tab.Cells) != len(want) {
		t.Fatalf("cells: got %d, want %d (a bare ':' is no cell)", len(tab.Cells), len(want))
	}
	for i, w := range want {
		c := tab.Cells[i]
		got := cell{c.Key[3], c.Time, 0, c.Value == nil, strings.Join(c.Flags, ",")}
		if c.Value != nil {
			got.value = *c.Value
		}
		if got != w {
			t.Errorf("cell %d: got %+v, want %+v", i, got, w)
		}
	}
}

func TestReadErrors(t *testing.T) {
	head := "freq,geo\\TIME_PERIOD\t2008 \t2009 \n"
	tests := []struct {
		name, in, want string
	}{
		{"empty file", "", "x.tsv:1: column 1 (header): empty file"},
		{"no backslash", "freq,geo\t2008\n", "x.tsv:1: column 1 (header)"},
		{"repeated time", "freq,geo\\TIME_PERIOD\t2008\t2008\n", "x.tsv:1: column 3 (header)"},
		{"text value", head + "A,NO\tabc \t1\n", `x.tsv:2: column 2 (TIME_PERIOD=2008): "abc" is not a number`},
		{"unknown flag", head + "A,NO\t12 q\t1\n", `x.tsv:2: column 2 (TIME_PERIOD=2008): "12 q": unknown flag 'q'`},
		{"short row", head + "A,NO\t12\n", "x.tsv:2: column 1 (row): 2 fields, want 3"},
		{"short key", head + "A\t12\t1\n", "x.tsv:2: column 1 (freq,geo)"},
		{"empty cell", head + "A,NO\t\t1\n", "x.tsv:2: column 2 (TIME_PERIOD=2008): empty cell"},
		{"NaN", head + "A,NO\tNaN\t1\n", "is not a number"},
		{"empty line", head + "\nA,NO\t1\t1\n", "x.tsv:2: column 1 (row): empty line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.in), "x.tsv")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("got %v, want it to wrap store.ErrInvalid", err)
			}
		})
	}
}

// FuzzRead checks that no input makes the reader panic, and that every
// cell it accepts is well formed.
func FuzzRead(f *testing.F) {
	f.Add(sample)
	f.Add("freq,geo\\TIME_PERIOD\t2008\nA,NO\t: \n")
	f.Add("a\\b\tc\nx\t1 e\n")
	f.Fuzz(func(t *testing.T, in string) {
		tab, err := Read(strings.NewReader(in), "fuzz.tsv")
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) && !strings.Contains(err.Error(), "read") {
				t.Fatalf("error %v does not wrap store.ErrInvalid", err)
			}
			return
		}
		for _, c := range tab.Cells {
			if len(c.Key) != len(tab.Dims) || (c.Value == nil && len(c.Flags) == 0) {
				t.Fatalf("malformed cell %+v", c)
			}
		}
	})
}
