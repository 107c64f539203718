package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/syncer/synctest"
)

// now is the retrieval date of every test sync.
var now = time.Date(2025, 5, 6, 12, 0, 0, 0, time.UTC)

// fakes are the two fake APIs and a sources file pointing at their tables.
type fakes struct {
	ssb, eurostat *synctest.Server
	sources       Sources
	cfg           Config
}

func mustAbs(t testing.TB, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ssbEntry and eurostatEntry are the sources-file entries of the fakes'
// tables; the Eurostat one uses the real crim_off_cat mapping.
func ssbEntry(t testing.TB) string {
	return fmt.Sprintf(`{"id": "test-ssb-99999", "kind": "pxwebapi-v2", "table": "99999",
		"query": ["lang=no", "valueCodes[Tid]=*"], "mapping": %q, "enabled": true}`,
		mustAbs(t, "testdata/ssb-99999-test.json"))
}

func eurostatEntry(t testing.TB) string {
	return fmt.Sprintf(`{"id": "eurostat-crim-off-cat", "kind": "eurostat", "table": "crim_off_cat",
		"query": ["freq=A", "unit=NR", "unit=P_HTHAB", "geo=NO"], "mapping": %q, "enabled": true}`,
		mustAbs(t, "../ingest/mappings/eurostat-crim-off-cat.json"))
}

// writeSources writes a sources file with the given entries and returns
// its path.
func writeSources(t testing.TB, entries ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sources.json")
	body := `{"gate": {}, "sources": [` + strings.Join(entries, ",\n") + `]}`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func newFakes(t *testing.T) *fakes {
	t.Helper()
	f := &fakes{ssb: synctest.NewSSB(t), eurostat: synctest.NewEurostat(t)}
	src, err := LoadSources(writeSources(t, ssbEntry(t), eurostatEntry(t)))
	if err != nil {
		t.Fatal(err)
	}
	f.sources = src
	f.cfg = Config{SSBBase: f.ssb.URL, EurostatBase: f.eurostat.URL, Timeout: 5 * time.Second,
		Now: func() time.Time { return now }}
	return f
}

func bundled(t testing.TB) *store.Dataset {
	t.Helper()
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func find(obs []store.Observation, offence, region, period, measure string) (store.Observation, bool) {
	for _, o := range obs {
		if o.Offence == offence && o.Region == region && o.Period == period && o.Measure == measure {
			return o, true
		}
	}
	return store.Observation{}, false
}

func TestCollectAndCandidate(t *testing.T) {
	f := newFakes(t)
	fetched, err := Collect(context.Background(), f.cfg, f.sources)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if len(fetched) != 2 || fetched[0].Source.ID != "test-ssb-99999" || fetched[1].Source.ID != "eurostat-crim-off-cat" {
		t.Fatalf("got %d fetched, want test-ssb-99999 then eurostat-crim-off-cat", len(fetched))
	}

	t.Run("labels resolved and selected", func(t *testing.T) {
		ssb := fetched[0]
		var got []string
		for _, r := range ssb.Resolutions {
			got = append(got, r.Dimension+" "+r.Code+" "+r.KrimstatID)
		}
		// In the byte order of the labels: hallikvirksomhet, kjøp, menneskehandel.
		want := []string{"LovbruddKrim T12 pimping", "LovbruddKrim T11 sex-purchase", "LovbruddKrim T13 human-trafficking", "ContentsCode AnmeldteLovbrudd "}
		if !slices.Equal(got, want) {
			t.Errorf("got resolutions %q, want %q", got, want)
		}
		reqs := f.ssb.Requests()
		if len(reqs) != 2 || !strings.HasSuffix(reqs[0].Path, "/tables/99999/metadata") {
			t.Fatalf("got requests %v, want the metadata then the data", reqs)
		}
		q := reqs[1].Query()
		if q.Get("valueCodes[LovbruddKrim]") != "T11,T12,T13" || q.Get("valueCodes[ContentsCode]") != "AnmeldteLovbrudd" ||
			q.Get("valueCodes[Tid]") != "*" || q.Get("lang") != "no" || q.Get("outputFormat") != "json-stat2" {
			t.Errorf("got data query %v, want the resolved codes selected, Tid=*, lang=no, json-stat2", q)
		}
		if len(ssb.Documents) != 2 || !strings.Contains(ssb.Documents[1].URL, "/tables/99999/data?") {
			t.Errorf("got documents %v, want the metadata and the data", ssb.Documents)
		}
	})

	t.Run("observations carry code and label", func(t *testing.T) {
		obs := fetched[0].Observations
		if len(obs) != 8 {
			t.Errorf("got %d observations, want 8 (9 cells, one a gap)", len(obs))
		}
		o, ok := find(obs, "sex-purchase", "NO", "2023", "reported-offences")
		if !ok || o.Value == nil || *o.Value != 111 {
			t.Fatalf("got %+v, want sex purchase 2023 = 111", o)
		}
		want := `SSB table 99999 (test), LovbruddKrim=T11 "¬¬ Testlovbrudd: kjøp av seksuell tjeneste (kun test)", ContentsCode=AnmeldteLovbrudd "Anmeldte lovbrudd (test)", Tid=2023`
		if !strings.HasPrefix(o.Locator, want) {
			t.Errorf("got locator %q, want it to start %q", o.Locator, want)
		}
		if _, ok := find(obs, "pimping", "NO", "2022", "reported-offences"); ok {
			t.Error("got an observation for a '..' cell, want a gap")
		}
		if o, _ := find(obs, "human-trafficking", "NO", "2024", "reported-offences"); !slices.Contains(o.Flags, store.FlagProvisional) {
			t.Errorf("got flags %v for a '*' cell, want provisional", o.Flags)
		}
	})

	t.Run("source dated and noted", func(t *testing.T) {
		s := fetched[0].Source
		if s.Retrieved != "2025-05-06" || s.Published != "2025-03-13" {
			t.Errorf("got retrieved %q published %q, want 2025-05-06 and the table's update 2025-03-13", s.Retrieved, s.Published)
		}
		notes := strings.Join(s.Notes, "\n")
		for _, w := range []string{`Selected by its published label: LovbruddKrim T11 "¬¬ Testlovbrudd: kjøp av seksuell tjeneste (kun test)" -> offence sex-purchase.`,
			`ContentsCode AnmeldteLovbrudd "Anmeldte lovbrudd (test)" -> filter.`, "Retrieved by krimstat sync from " + f.ssb.URL} {
			if !strings.Contains(notes, w) {
				t.Errorf("got notes %q, want %q", notes, w)
			}
		}
	})

	base := bundled(t)
	before, err := base.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	baseRelease, baseFiles := base.Release.ID, len(base.Release.Files)
	cand, err := Candidate(base, fetched, now)
	if err != nil {
		t.Fatalf("Candidate: %v", err)
	}

	t.Run("base untouched", func(t *testing.T) {
		after, err := base.Checksum()
		if err != nil {
			t.Fatal(err)
		}
		if after != before || base.Release.ID != baseRelease || len(base.Release.Files) != baseFiles {
			t.Error("Candidate changed its base")
		}
	})

	t.Run("eurostat figures are the bulk file's", func(t *testing.T) {
		// The fake serves the real crim_off_cat figures for Norway, so the
		// sync must reproduce the bundled release's Norwegian figures
		// exactly, and replace every other country's (the source is
		// replaced as a whole).
		var want, got []store.Observation
		for _, o := range base.Observations {
			if o.Source == "eurostat-crim-off-cat" && o.Region == "NO" {
				want = append(want, o)
			}
		}
		for _, o := range cand.Observations {
			if o.Source == "eurostat-crim-off-cat" {
				got = append(got, o)
			}
		}
		if len(got) != len(want) || len(want) != 396 {
			t.Fatalf("got %d Eurostat observations, want the %d Norwegian ones (396)", len(got), len(want))
		}
		for _, w := range want {
			g, ok := find(got, w.Offence, w.Region, w.Period, w.Measure)
			if !ok || g.Value == nil || *g.Value != *w.Value {
				t.Errorf("%s %s %s: got %v, want %v", w.Offence, w.Period, w.Measure, g.Value, *w.Value)
			}
		}
		g, _ := find(got, "iccs/0101", "NO", "2011", "reported-offences")
		if !strings.HasPrefix(g.Locator, "Eurostat crim_off_cat (statistics API), freq=A, unit=NR, iccs=ICCS0101, geo=NO, time=2011") {
			t.Errorf("got locator %q", g.Locator)
		}
	})

	t.Run("release", func(t *testing.T) {
		if err := cand.Validate(); err != nil {
			t.Fatal(err)
		}
		if cand.Release.ID == base.Release.ID || !strings.HasPrefix(cand.Release.ID, "20250506-") {
			t.Errorf("got release id %q, want a new one dated 20250506", cand.Release.ID)
		}
		if got := len(cand.Release.Files); got != baseFiles+3 {
			t.Errorf("got %d files, want base's %d and the 3 documents", got, baseFiles)
		}
		if c := cand.Release.Counts; c["observations:test-ssb-99999"] != 8 || c["observations:eurostat-crim-off-cat"] != 396 || c["observations"] != len(cand.Observations) {
			t.Errorf("got counts %v", c)
		}
		if !strings.Contains(cand.Release.Note, "test-ssb-99999, eurostat-crim-off-cat") || !strings.Contains(cand.Release.Note, baseRelease) {
			t.Errorf("got note %q", cand.Release.Note)
		}
		var src store.Source
		for _, s := range cand.Sources {
			if s.ID == "eurostat-crim-off-cat" {
				src = s
			}
		}
		if src.Retrieved != "2025-05-06" || src.Published != "2024-12-01" {
			t.Errorf("got Eurostat source %+v, want it retrieved today and published at the data's update", src)
		}
	})
}

func TestCollectFaults(t *testing.T) {
	ssbMeta, ssbData := "/tables/99999/metadata", "/tables/99999/data"
	esData := "/data/crim_off_cat"
	tests := []struct {
		name  string
		setup func(f *fakes)
		want  error
		msg   string
	}{
		{"connection reset", func(f *fakes) { f.ssb.Fail(ssbMeta, synctest.Reset()) }, store.ErrUnavailable, ""},
		{"hang past the timeout", func(f *fakes) {
			f.cfg.Timeout = 300 * time.Millisecond
			f.eurostat.Fail(esData, synctest.Hang())
		}, store.ErrUnavailable, "deadline"},
		{"500", func(f *fakes) { f.eurostat.Fail(esData, synctest.Status(500)) }, store.ErrUnavailable, "500"},
		{"503", func(f *fakes) { f.ssb.Fail(ssbData, synctest.Status(503)) }, store.ErrUnavailable, "503"},
		{"429", func(f *fakes) { f.ssb.Fail(ssbData, synctest.Status(429)) }, store.ErrUnavailable, "429"},
		{"404", func(f *fakes) { f.ssb.Fail(ssbMeta, synctest.Status(404)) }, store.ErrNotFound, "404"},
		{"400", func(f *fakes) { f.eurostat.Fail(esData, synctest.Status(400)) }, store.ErrInvalid, "400"},
		{"truncated body", func(f *fakes) { f.eurostat.Fail(esData, synctest.Truncated()) }, store.ErrInvalid, "truncated"},
		{"over the size limit", func(f *fakes) { f.cfg.MaxBytes = 1000 }, store.ErrInvalid, "size limit"},
		{"dimension renamed in the data", func(f *fakes) {
			f.ssb.Fail(ssbData, synctest.Rewrite(func(d *synctest.Doc) { d.RenameDimension("LovbruddKrim", "Lovbrudd") }))
		}, store.ErrInvalid, `dimension "LovbruddKrim", which mapping`},
		{"dimension renamed in the table", func(f *fakes) {
			f.ssb.Edit(synctest.SSBTable, func(d *synctest.Doc) { d.RenameDimension("LovbruddKrim", "Lovbrudd") })
		}, store.ErrInvalid, `offence.dimension: dimension "LovbruddKrim" is not in`},
		{"dimension renamed at Eurostat", func(f *fakes) {
			f.eurostat.Fail(esData, synctest.Rewrite(func(d *synctest.Doc) { d.RenameDimension("iccs", "icc") }))
		}, store.ErrInvalid, `new dimension "icc"`},
		{"new dimension", func(f *fakes) {
			f.eurostat.Fail(esData, synctest.Rewrite(func(d *synctest.Doc) { d.AddDimension("sex", "Sex", "T", "Total") }))
		}, store.ErrInvalid, `new dimension "sex": mapping`},
		{"label changed in the data only", func(f *fakes) {
			f.ssb.Fail(ssbData, synctest.Rewrite(func(d *synctest.Doc) {
				d.SetLabel("LovbruddKrim", "T11", "¬¬ Testlovbrudd: kjøp av seksuelle tjenester (kun test)")
			}))
		}, store.ErrInvalid, `category "T11" was chosen by the label`},
		{"label of a category mapped by code changed in the data only", func(f *fakes) {
			f.ssb.Fail(ssbData, synctest.Rewrite(func(d *synctest.Doc) { d.SetLabel("Tid", "2023", "2023 (revidert)") }))
		}, store.ErrInvalid, `category "2023" is labelled "2023 (revidert)" in the data but "2023" in the metadata`},
		{"label changed in the table", func(f *fakes) {
			f.ssb.Edit(synctest.SSBTable, func(d *synctest.Doc) {
				d.SetLabel("LovbruddKrim", "T12", "¬¬ Testlovbrudd: hallikvirksomhet og lignende (kun test)")
			})
		}, store.ErrInvalid, `nearest published labels are "¬¬ Testlovbrudd: hallikvirksomhet og lignende (kun test)" (code T12)`},
		{"new category in a mapped dimension", func(f *fakes) {
			f.eurostat.Edit(synctest.EurostatTable, func(d *synctest.Doc) {
				d.AddCategory("iccs", "ICCS0104", "Test-only new category", func(synctest.Cell) *float64 { return nil })
			})
		}, store.ErrInvalid, `category "ICCS0104" (index 21) has no mapping`},
		{"the data is not JSON-stat", func(f *fakes) {
			f.ssb.Fail(ssbData, synctest.Rewrite(func(d *synctest.Doc) { d.Set("version", "1.0") }))
		}, store.ErrInvalid, `version: "1.0" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes(t)
			tt.setup(f)
			got, err := Collect(context.Background(), f.cfg, f.sources)
			if got != nil {
				t.Errorf("got %d fetched entries, want none: a fault leaves no partial result", len(got))
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.want)
			}
			t.Log(err)
			if !strings.HasPrefix(err.Error(), "sync ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %q, want it to name the entry and say %q", err, tt.msg)
			}
		})
	}
}

func TestCollectRevision(t *testing.T) {
	f := newFakes(t)
	first, err := Collect(context.Background(), f.cfg, f.sources)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := Candidate(bundled(t), first, now)
	if err != nil {
		t.Fatal(err)
	}

	// The publishers revise: Eurostat changes one figure and marks it
	// provisional, withdraws another and adds a year; SSB adds a year. The
	// new figures are test values.
	v := func(x float64) *float64 { return &x }
	f.eurostat.Edit(synctest.EurostatTable, func(d *synctest.Doc) {
		d.SetValue(synctest.Cell{"freq": "A", "unit": "NR", "iccs": "ICCS0101", "geo": "NO", "time": "2022"}, v(31), "p")
		d.Set("extension", map[string]any{"lang": "EN", "status": map[string]any{"label": map[string]any{"p": "provisional"}}})
		d.RemoveCell(synctest.Cell{"freq": "A", "unit": "NR", "iccs": "ICCS0102", "geo": "NO", "time": "2022"}, "")
		d.AddCategory("time", "2023", "2023", func(c synctest.Cell) *float64 {
			if c["iccs"] == "ICCS0101" && c["unit"] == "NR" {
				return v(1001)
			}
			return nil
		})
	})
	f.ssb.Edit(synctest.SSBTable, func(d *synctest.Doc) {
		d.AddCategory("Tid", "2025", "2025", func(c synctest.Cell) *float64 { return v(2025) })
	})
	second, err := Collect(context.Background(), f.cfg, f.sources)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Candidate(c1, second, now.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if c2.Release.ID == c1.Release.ID {
		t.Error("got the same release id for revised data")
	}
	o, ok := find(c2.Observations, "iccs/0101", "NO", "2022", "reported-offences")
	if !ok || *o.Value != 31 || !slices.Contains(o.Flags, store.FlagProvisional) {
		t.Errorf("got %+v, want the revised figure 31, provisional", o)
	}
	if _, ok := find(c2.Observations, "iccs/0102", "NO", "2022", "reported-offences"); ok {
		t.Error("got the withdrawn figure, want it gone")
	}
	if o, ok := find(c2.Observations, "iccs/0101", "NO", "2023", "reported-offences"); !ok || *o.Value != 1001 {
		t.Errorf("got %+v, want the added year", o)
	}
	if o, ok := find(c2.Observations, "sex-purchase", "NO", "2025", "reported-offences"); !ok || *o.Value != 2025 {
		t.Errorf("got %+v, want the added SSB year", o)
	}
	if got := c2.Release.Counts["observations:eurostat-crim-off-cat"]; got != 396 {
		t.Errorf("got %d Eurostat observations, want 396 (one withdrawn, one added)", got)
	}
}

func TestCandidateErrors(t *testing.T) {
	good := Fetched{Source: store.Source{ID: "x"}}
	bad := Fetched{
		Source: store.Source{ID: "test-bad", Publisher: "p", Title: "t", URL: "u", Kind: "official", Licence: "l"},
		Observations: []store.Observation{{Offence: "no-such-offence", Region: "NO", Period: "2020", Measure: "reported-offences",
			Value: new(float64), Flags: []string{}, Source: "test-bad", Confidence: "A", Locator: "test"}},
	}
	tests := []struct {
		name    string
		base    *store.Dataset
		fetched []Fetched
		msg     string
	}{
		{"no base", nil, []Fetched{good}, "no base"},
		{"nothing fetched", bundled(t), nil, "nothing was fetched"},
		{"fetched twice", bundled(t), []Fetched{good, good}, "fetched twice"},
		{"does not validate", bundled(t), []Fetched{bad}, `unknown offence "no-such-offence"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before string
			if tt.base != nil {
				before, _ = tt.base.Checksum()
			}
			got, err := Candidate(tt.base, tt.fetched, now)
			if got != nil || !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, %v, want no candidate and an invalid error saying %q", got, err, tt.msg)
			}
			if tt.base != nil {
				if after, _ := tt.base.Checksum(); after != before {
					t.Error("Candidate changed its base")
				}
			}
		})
	}
}
