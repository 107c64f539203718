package changes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/changes"
	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/postgres"
	"github.com/krimstat/krimstat/store/storetest"
)

func ptr(v float64) *float64 { return &v }

// find returns the observation of d with the given offence, region,
// period and source (totals, offences-reported unless measure is given).
func find(t testing.TB, d *store.Dataset, offence, region, period, source string) *store.Observation {
	t.Helper()
	for i, o := range d.Observations {
		if o.Offence == offence && o.Region == region && o.Period == period && o.Source == source &&
			o.Measure == "offences-reported" && o.Breakdown.IsTotal() {
			return &d.Observations[i]
		}
	}
	t.Fatalf("no observation %s %s %s %s", offence, region, period, source)
	return nil
}

// remove deletes the observation o points at from d.
func remove(d *store.Dataset, o *store.Observation) {
	k := o.Key()
	d.Observations = slices.DeleteFunc(d.Observations, func(x store.Observation) bool { return x.Key() == k })
}

// known returns Dataset1 and a candidate that differs from it by exactly
// these changes: one value revised, one value become text (suppressed),
// one figure's flags changed, two observations removed (one the only figure
// of its series), two added (one in a region no figure used before).
func known(t testing.TB) (prev, cand *store.Dataset) {
	prev, cand = storetest.Dataset1(), storetest.Dataset1()
	cand.Release.ID, cand.Release.Created = "2024-09-01", "2024-09-01T00:00:00Z"
	find(t, cand, "homicide", "NO", "2013", "ssb-08484").Value = ptr(313)
	sup := find(t, cand, "pimping", "NO-PD-ASKER-BAERUM", "2014", "ssb-08484")
	sup.Value, sup.ValueText, sup.Flags = nil, "<5", []string{store.FlagSuppressed}
	for i, o := range cand.Observations {
		if o.Offence == "human-trafficking" && o.Period == "2014-H2" {
			cand.Observations[i].Flags = []string{store.FlagPartialYear}
		}
	}
	remove(cand, find(t, cand, "pimping", "SE", "2012", "eurostat-crim_off_cat"))
	remove(cand, find(t, cand, "homicide", "UKC-L", "2014", "eurostat-crim_off_cat"))
	cand.Regions = append(cand.Regions, store.Region{ID: "DK", Type: store.RegionCountry})
	cand.Observations = append(cand.Observations,
		store.Observation{Offence: "pimping", Region: "NO", Period: "2015", Measure: "offences-reported", Value: ptr(9),
			Flags: []string{}, Source: "ssb-08484", Confidence: "A", Locator: "new"},
		store.Observation{Offence: "homicide", Region: "DK", Period: "2014", Measure: "offences-reported", Value: ptr(40),
			Flags: []string{}, Source: "eurostat-crim_off_cat", Confidence: "A", Locator: "new"},
	)
	if err := cand.Validate(); err != nil {
		t.Fatal(err)
	}
	return prev, cand
}

// brief lists a report's changes one per line, for comparing with a want.
func brief(r changes.Report) []string {
	var out []string
	line := func(sign string, o store.Observation, rest string) {
		out = append(out, fmt.Sprintf("%s %s %s %s %s%s", sign, o.Offence, o.Region, o.Period, o.Source, rest))
	}
	for _, o := range r.Added {
		line("+", o, "")
	}
	for _, o := range r.Removed {
		line("-", o, "")
	}
	for _, v := range r.Revised {
		line("~", v.New, " "+v.Kind)
	}
	return out
}

func TestCompareKnownChanges(t *testing.T) {
	prev, cand := known(t)
	r, err := changes.Compare(changes.DatasetInput(prev), changes.DatasetInput(cand), changes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	want := store.ChangeCounts{Added: 2, Removed: 2, Revised: 2, MetadataRevised: 1, Unchanged: 49}
	if s.ChangeCounts != want || s.From != storetest.Release1 || s.To != "2024-09-01" {
		t.Errorf("summary: got %s to %s %+v, want %s to 2024-09-01 %+v", s.From, s.To, s.ChangeCounts, storetest.Release1, want)
	}
	if s.Before() != len(prev.Observations) || s.After() != len(cand.Observations) {
		t.Errorf("before, after: got %d, %d; want %d, %d", s.Before(), s.After(), len(prev.Observations), len(cand.Observations))
	}
	wantSources := []store.SourceChanges{
		{Source: "eurostat-crim_off_cat", ChangeCounts: store.ChangeCounts{Added: 1, Removed: 2, Unchanged: 11}},
		{Source: "ssb-08484", ChangeCounts: store.ChangeCounts{Added: 1, Revised: 2, MetadataRevised: 1, Unchanged: 35}},
		{Source: "unodc-cts", ChangeCounts: store.ChangeCounts{Unchanged: 3}},
	}
	if !slices.Equal(s.Sources, wantSources) {
		t.Errorf("sources: got %+v, want %+v", s.Sources, wantSources)
	}
	wantLines := []string{
		"+ homicide DK 2014 eurostat-crim_off_cat",
		"+ pimping NO 2015 ssb-08484",
		"- homicide UKC-L 2014 eurostat-crim_off_cat",
		"- pimping SE 2012 eurostat-crim_off_cat",
		"~ homicide NO 2013 ssb-08484 value",
		"~ human-trafficking NO 2014-H2 ssb-08484 metadata",
		"~ pimping NO-PD-ASKER-BAERUM 2014 ssb-08484 value",
	}
	if got := brief(r); !slices.Equal(got, wantLines) {
		t.Errorf("changes: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}
	if v := r.Revised[0]; *v.Old.Value != 312 || *v.New.Value != 313 {
		t.Errorf("revision: got %v -> %v, want 312 -> 313", *v.Old.Value, *v.New.Value)
	}
	wantSeries := []changes.SeriesKey{{Offence: "homicide", Region: "UKC-L", Measure: "offences-reported", Source: "eurostat-crim_off_cat"}}
	if s.VanishedSeries != 1 || !slices.Equal(r.VanishedSeries, wantSeries) {
		t.Errorf("vanished series: got %d %+v, want 1 %+v", s.VanishedSeries, r.VanishedSeries, wantSeries)
	}
	if c := s.NewCategories; !slices.Equal(c.Regions, []string{"DK"}) || c.Len() != 1 {
		t.Errorf("new categories: got %+v, want the region DK", c)
	}
	if r.Next != "" {
		t.Errorf("next: got %q, want none without a limit", r.Next)
	}
}

// TestDataset2Changes: the change summary Dataset2's release records is
// the one Summarize computes from Dataset1 and Dataset2, and MarkRevisions
// gives Dataset2 the revisions it carries.
func TestDataset2Changes(t *testing.T) {
	s, err := changes.Summarize(changes.DatasetInput(storetest.Dataset1()), changes.DatasetInput(storetest.Dataset2()))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(s.Release())
	want, _ := json.Marshal(storetest.Changes2())
	if !bytes.Equal(got, want) {
		t.Errorf("Dataset1 to Dataset2: got\n%s\nwant\n%s", got, want)
	}

	// Dataset2 without its revisions, marked again.
	bare := storetest.Dataset2()
	for i := range bare.Observations {
		o := &bare.Observations[i]
		if o.Revision != nil && o.Revision.Release == storetest.Release1 {
			o.Revision = nil
			o.Flags = slices.DeleteFunc(o.Flags, func(f string) bool { return f == store.FlagRevised })
		}
	}
	if n := changes.MarkRevisions(storetest.Dataset1(), bare); n != 35 {
		t.Errorf("MarkRevisions: got %d marked, want 35", n)
	}
	for i, o := range bare.Observations {
		g, _ := json.Marshal(o)
		w, _ := json.Marshal(storetest.Dataset2().Observations[i])
		if !bytes.Equal(g, w) {
			t.Errorf("observation %d marked: got %s, want %s", i, g, w)
		}
	}
}

func TestMarkRevisions(t *testing.T) {
	prev, cand := known(t)
	// An earlier revision of a figure that cand leaves unchanged.
	carried := find(t, prev, "pimping", "NO", "2013", "ssb-08484")
	carried.Flags = []string{store.FlagRevised}
	carried.Revision = &store.Revision{Release: "2023-01-01", ValueText: "<5"}
	prevJSON, _ := json.Marshal(prev)

	if n := changes.MarkRevisions(prev, cand); n != 3 {
		t.Errorf("MarkRevisions: got %d marked, want 3", n)
	}
	if err := cand.Validate(); err != nil {
		t.Errorf("marked candidate: %v", err)
	}
	if after, _ := json.Marshal(prev); !bytes.Equal(after, prevJSON) {
		t.Error("MarkRevisions changed prev")
	}
	tests := []struct {
		name                            string
		offence, region, period, source string
		want                            string // revision release, value or text, and flags; "" for none
	}{
		{"value revised", "homicide", "NO", "2013", "ssb-08484", "2024-06-01 312 [revised]"},
		{"value become text", "pimping", "NO-PD-ASKER-BAERUM", "2014", "ssb-08484", "2024-06-01 6 [suppressed revised]"},
		{"earlier revision carried over", "pimping", "NO", "2013", "ssb-08484", `2023-01-01 "<5" [revised]`},
		{"flags only", "human-trafficking", "NO", "2014-H2", "ssb-08484", ""},
		{"unchanged", "homicide", "SE", "2013", "eurostat-crim_off_cat", ""},
		{"added", "pimping", "NO", "2015", "ssb-08484", ""},
	}
	for _, tt := range tests {
		o := find(t, cand, tt.offence, tt.region, tt.period, tt.source)
		got := ""
		if r := o.Revision; r != nil {
			v := fmt.Sprintf("%q", r.ValueText)
			if r.Value != nil {
				v = fmt.Sprint(*r.Value)
			}
			got = fmt.Sprintf("%s %s %v", r.Release, v, o.Flags)
		} else if slices.Contains(o.Flags, store.FlagRevised) {
			got = "flag without revision"
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}

	// Marked or not, the comparison sees the same changes: the revision
	// bookkeeping is not itself a change.
	marked, err := changes.Summarize(changes.DatasetInput(prev), changes.DatasetInput(cand))
	if err != nil {
		t.Fatal(err)
	}
	prev2, cand2 := known(t)
	plain, err := changes.Summarize(changes.DatasetInput(prev2), changes.DatasetInput(cand2))
	if err != nil {
		t.Fatal(err)
	}
	if marked.ChangeCounts != plain.ChangeCounts {
		t.Errorf("counts after marking: got %+v, want %+v as before", marked.ChangeCounts, plain.ChangeCounts)
	}
}

// TestStoresAgree: two releases compared in a store, walked with
// EachObservation, give the report the datasets give, in the in-memory
// store and in PostgreSQL (where the key order is the database's).
func TestStoresAgree(t *testing.T) {
	prev, cand := known(t)
	changes.MarkRevisions(prev, cand)
	want, err := changes.Compare(changes.DatasetInput(prev), changes.DatasetInput(cand), changes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mem := memory.New()
	stores := map[string]func(t *testing.T) store.Store{
		"memory": func(t *testing.T) store.Store { return mem },
		"postgres": func(t *testing.T) store.Store {
			pg, err := postgres.Open(ctx, testenv.PostgresURL(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pg.Close)
			if err := pg.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, d := range []*store.Dataset{prev, cand} {
				if err := pg.Load(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			return pg
		},
	}
	for _, d := range []*store.Dataset{prev, cand} {
		if err := mem.Load(d); err != nil {
			t.Fatal(err)
		}
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			got, err := changes.Compare(changes.StoreInput(ctx, s, prev.Release.ID), changes.StoreInput(ctx, s, cand.Release.ID), changes.Options{})
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if !bytes.Equal(g, w) {
				t.Errorf("report from the store: got\n%s\nwant\n%s", g, w)
			}
			_, err = changes.Summarize(changes.StoreInput(ctx, s, "no-such-release"), changes.StoreInput(ctx, s, cand.Release.ID))
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown release: got %v, want ErrNotFound", err)
			}
		})
	}
}

// TestPages: walking a report's pages with Limit and Next lists every
// change once, in key order, each page with the whole summary.
func TestPages(t *testing.T) {
	prev, cand := known(t)
	all, err := changes.Compare(changes.DatasetInput(prev), changes.DatasetInput(cand), changes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := keys(all)
	for _, limit := range []int{1, 2, 3, 6, 7, 8} {
		var got []string
		opt := changes.Options{Limit: limit}
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: more than %d pages", limit, len(want))
			}
			r, err := changes.Compare(changes.DatasetInput(prev), changes.DatasetInput(cand), opt)
			if err != nil {
				t.Fatal(err)
			}
			if r.Summary.ChangeCounts != all.Summary.ChangeCounts {
				t.Errorf("limit %d page %d: got summary %+v, want %+v", limit, pages, r.Summary.ChangeCounts, all.Summary.ChangeCounts)
			}
			if n := len(r.Added) + len(r.Removed) + len(r.Revised); n > limit || (r.Next != "" && n != limit) {
				t.Errorf("limit %d page %d: got %d changes (next %q)", limit, pages, n, r.Next)
			}
			if wantSeries := 0; pages > 0 && len(r.VanishedSeries) != wantSeries {
				t.Errorf("limit %d page %d: got %d vanished series, want them on the first page only", limit, pages, len(r.VanishedSeries))
			}
			got = append(got, keys(r)...)
			if r.Next == "" {
				break
			}
			opt.After = r.Next
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: got %d changes over the pages, want %d", limit, len(got), len(want))
		}
	}
}

func keys(r changes.Report) []string {
	var out []string
	for _, o := range r.Added {
		out = append(out, o.Key())
	}
	for _, o := range r.Removed {
		out = append(out, o.Key())
	}
	for _, v := range r.Revised {
		out = append(out, v.New.Key())
	}
	slices.Sort(out)
	return out
}

// TestOutOfOrder: an input whose keys do not ascend is refused rather than
// compared wrongly.
func TestOutOfOrder(t *testing.T) {
	d := storetest.Dataset1()
	unsorted := changes.Input{Release: "x", Observations: func(yield func(store.Observation, error) bool) {
		for _, o := range d.Observations { // Dataset1 is deliberately out of order
			if !yield(o, nil) {
				return
			}
		}
	}}
	_, err := changes.Summarize(changes.DatasetInput(d), unsorted)
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "release x") {
		t.Errorf("got %v, want ErrInvalid naming release x", err)
	}
	fail := errors.New("stop here")
	n := 0
	_, err = changes.Walk(changes.DatasetInput(d), changes.DatasetInput(storetest.Dataset2()), func(changes.Change) error {
		n++
		if n == 3 {
			return fail
		}
		return nil
	})
	if err != fail || n != 3 {
		t.Errorf("Walk with fn failing at the third change: got %v after %d, want the error as is after 3", err, n)
	}
}

// generated yields n observations of one offence and measure over regions
// and years, values shifted by shift, made as they are walked.
func generated(id string, n int, shift float64) changes.Input {
	return changes.Input{Release: id, Observations: func(yield func(store.Observation, error) bool) {
		for i := range n {
			v := float64(i) + shift
			o := store.Observation{Offence: "o", Region: fmt.Sprintf("R%07d", i/20), Measure: "m", Period: fmt.Sprint(2000 + i%20),
				Value: &v, Flags: []string{}, Source: "s", Confidence: "A", Locator: "l"}
			if !yield(o, nil) {
				return
			}
		}
	}}
}

// TestSummarizeBoundedMemory: summarizing two releases of 400,000
// observations each, every one revised, holds a few megabytes at most,
// far less than either release (a hundred megabytes or more).
func TestSummarizeBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("walks 800,000 observations")
	}
	const n = 400_000
	var peak uint64
	var ms runtime.MemStats
	seen := 0
	s, err := changes.Walk(generated("a", n, 0), generated("b", n, 1), func(changes.Change) error {
		if seen++; seen%50_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Revised != n {
		t.Fatalf("revised: got %d, want %d", s.Revised, n)
	}
	t.Logf("peak heap during the walk: %d KB", peak>>10)
	if peak > 32<<20 {
		t.Errorf("heap during the walk: got %d MB, want at most 32 MB", peak>>20)
	}
}
