package changes_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/changes"
	"github.com/krimstat/krimstat/store"
)

func TestCheck(t *testing.T) {
	// 1,000 observations before: 990 kept, 10 removed.
	base := changes.Summary{From: "r1", To: "r2", ChangeCounts: store.ChangeCounts{Removed: 10, Unchanged: 990}}
	with := func(f func(s *changes.Summary)) changes.Summary {
		s := base
		f(&s)
		return s
	}
	def := changes.DefaultThresholds()
	tests := []struct {
		name  string
		s     changes.Summary
		t     changes.Thresholds
		rules []string
		// reason holds a substring of the first violation's reason.
		reason string
	}{
		{"1% removed is allowed", base, def, nil, ""},
		{"1.1% removed is not", with(func(s *changes.Summary) { s.Removed, s.Unchanged = 11, 989 }), def,
			[]string{"max_removed_share"}, "11 of the 1000 observations of r1 removed (1.1%), more than the 1% allowed"},
		{"a bound of rows", base, changes.Thresholds{MaxRemovedShare: 1, MaxRemovedRows: 9, MaxRevisedShare: 1, AllowNewCategories: true},
			[]string{"max_removed_rows"}, "10 observations removed, more than the 9 allowed"},
		{"revised in value past 5%", with(func(s *changes.Summary) { s.Revised, s.Unchanged = 60, 930 }), def,
			[]string{"max_revised_share"}, "60 of the 1000 observations of r1 revised in value (6%)"},
		{"metadata revisions do not count", with(func(s *changes.Summary) { s.MetadataRevised, s.Unchanged = 600, 390 }), def, nil, ""},
		{"revised rows", with(func(s *changes.Summary) { s.Revised, s.Unchanged = 3, 987 }),
			changes.Thresholds{MaxRemovedShare: 1, MaxRevisedShare: 1, MaxRevisedRows: 2}, []string{"max_revised_rows"}, "3 observations revised"},
		{"vanished series", with(func(s *changes.Summary) { s.VanishedSeries = 2 }), def,
			[]string{"allow_vanished_series"}, "2 series of r1 end in r2"},
		{"vanished series allowed", with(func(s *changes.Summary) { s.VanishedSeries = 2 }),
			changes.Thresholds{MaxRemovedShare: 0.01, MaxRevisedShare: 0.05, AllowVanishedSeries: true}, nil, ""},
		{"new categories allowed by default", with(func(s *changes.Summary) { s.NewCategories.Sources = []string{"new"} }), def, nil, ""},
		{"new categories refused", with(func(s *changes.Summary) {
			s.NewCategories.Sources = []string{"new"}
			s.NewCategories.Regions = []string{"DK", "FI"}
		}), changes.Thresholds{MaxRemovedShare: 1, MaxRevisedShare: 1},
			[]string{"allow_new_categories"}, "new regions: DK, FI; new sources: new"},
		{"everything at once", with(func(s *changes.Summary) {
			s.Removed, s.Revised, s.Unchanged, s.VanishedSeries = 500, 490, 0, 1
		}), def, []string{"max_removed_share", "max_revised_share", "allow_vanished_series"}, "500 of the 990"},
		{"a first release removes nothing", changes.Summary{ChangeCounts: store.ChangeCounts{Added: 10}}, def, nil, ""},
	}
	for _, tt := range tests {
		vs := tt.s.Check(tt.t)
		var rules []string
		for _, v := range vs {
			rules = append(rules, v.Rule)
		}
		if !slices.Equal(rules, tt.rules) {
			t.Errorf("%s: got violations %v, want %v", tt.name, vs, tt.rules)
			continue
		}
		if tt.reason != "" && !strings.Contains(vs[0].Reason, tt.reason) {
			t.Errorf("%s: got reason %q, want it to contain %q", tt.name, vs[0].Reason, tt.reason)
		}
	}
}

// TestReportCheckNamesSeries: a report's check names the vanished series
// it lists, and how many more there are.
func TestReportCheckNamesSeries(t *testing.T) {
	prev, cand := known(t)
	r, err := changes.Compare(changes.DatasetInput(prev), changes.DatasetInput(cand), changes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vs := r.Check(changes.DefaultThresholds())
	want := []string{
		"max_removed_share: 2 of the 54 observations of 2024-06-01 removed (3.7%), more than the 1% allowed",
		"allow_vanished_series: 1 series of 2024-06-01 end in 2024-09-01: homicide/UKC-L/offences-reported (eurostat-crim_off_cat)",
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		in   string
		want changes.Thresholds
		err  string
	}{
		{`{}`, changes.DefaultThresholds(), ""},
		{`{"max_removed_share": 0.2, "allow_new_categories": false}`,
			changes.Thresholds{MaxRemovedShare: 0.2, MaxRevisedShare: 0.05}, ""},
		{`{"max_removed_rows": 100, "allow_vanished_series": true}`,
			changes.Thresholds{MaxRemovedShare: 0.01, MaxRemovedRows: 100, MaxRevisedShare: 0.05, AllowVanishedSeries: true, AllowNewCategories: true}, ""},
		{`{"max_removed": 0.2}`, changes.Thresholds{}, "unknown field"},
		{`{"max_revised_share": 5}`, changes.Thresholds{}, "max_revised_share 5: want a share from 0 to 1"},
		{`{"max_removed_rows": -1}`, changes.Thresholds{}, "max_removed_rows -1"},
		{`{} {}`, changes.Thresholds{}, "trailing data"},
	}
	for _, tt := range tests {
		got, err := changes.ParseThresholds(strings.NewReader(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: got %v, want ErrInvalid containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestWrite(t *testing.T) {
	prev, cand := known(t)
	r, err := changes.Compare(changes.DatasetInput(prev), changes.DatasetInput(cand), changes.Options{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	vs := r.Check(changes.DefaultThresholds())

	var text bytes.Buffer
	if err := changes.WriteText(&text, r, vs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Changes from release 2024-06-01 (54 observations) to 2024-09-01 (54 observations)\n",
		"  added 2, removed 2, revised 2, metadata revised 1, unchanged 49\n",
		"  eurostat-crim_off_cat  added 1, removed 2, revised 0, metadata revised 0, unchanged 11\n",
		"Vanished series: 1\n  homicide/UKC-L/offences-reported (eurostat-crim_off_cat)\n",
		"New categories: 1\n  regions: DK\n",
		"  - pimping/SE/offences-reported (eurostat-crim_off_cat) 2012: 1\n",
		"  + pimping/NO/offences-reported (ssb-08484) 2015: 9\n",
		"  ~ homicide/NO/offences-reported (ssb-08484) 2013: 312 -> 313\n",
		"  ~ pimping/NO-PD-ASKER-BAERUM/offences-reported (ssb-08484) 2014: 6 -> \"<5\"\n",
		"  ~ human-trafficking/NO/offences-reported (ssb-08484) 2014-H2: 21 (flags [partial-year provisional] -> [partial-year])\n",
		"Publish gate: refused (2)\n  max_removed_share: 2 of the 54",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text: got\n%s\nwant it to contain %q", text.String(), want)
		}
	}

	var js bytes.Buffer
	if err := changes.WriteJSON(&js, r, vs); err != nil {
		t.Fatal(err)
	}
	var v changes.Verdict
	if err := json.Unmarshal(js.Bytes(), &v); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	if v.Publish || len(v.Violations) != 2 || v.Report.Summary.Removed != 2 || len(v.Report.Revised) != 3 {
		t.Errorf("JSON verdict: got publish %v, %d violations, %d removed, %d revised; want false, 2, 2, 3",
			v.Publish, len(v.Violations), v.Report.Summary.Removed, len(v.Report.Revised))
	}
	if !strings.Contains(js.String(), `"value_text": "<5"`) {
		t.Errorf("JSON: got %s, want <5 unescaped", js.String())
	}

	js.Reset()
	if err := changes.WriteJSON(&js, changes.Report{}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"violations": []`) || !strings.Contains(js.String(), `"publish": true`) {
		t.Errorf("JSON of a passing report: got %s, want an empty violations list and publish true", js.String())
	}
}
