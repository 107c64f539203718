package handlers_test

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/changes"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/internal/contract"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/storetest"
)

// The releases of twoReleases: the first handcrafted release of the
// conformance suite, and a revision of it.
const (
	firstRelease  = storetest.Release1
	secondRelease = "2024-09-01"
)

// twoReleases returns a store holding firstRelease and secondRelease,
// which differ by exactly three changes: homicide in Norway in 2013 revised
// from 312 to 313, pimping in Sweden in 2012 (Eurostat) removed, pimping in
// Norway in 2015 added. The second release is marked and summarised as the
// publishing code does: the revised figure carries the revised flag and
// its earlier value, and the release its change counts.
func twoReleases(t testing.TB) *memory.Store {
	t.Helper()
	prev, cand := storetest.Dataset1(), storetest.Dataset1()
	// The suite's releases leave some flags nil, to test the stores; a
	// release as ingest writes it has a list everywhere, as the API
	// promises.
	for _, d := range []*store.Dataset{prev, cand} {
		for i := range d.Observations {
			if d.Observations[i].Flags == nil {
				d.Observations[i].Flags = []string{}
			}
		}
	}
	cand.Release = store.Release{ID: secondRelease, Created: "2024-09-01T12:00:00Z", Note: "Homicide in Norway revised"}
	var kept []store.Observation
	for _, o := range cand.Observations {
		switch {
		case o.Offence == "homicide" && o.Region == "NO" && o.Period == "2013" && o.Source == "ssb-08484" && o.Measure == "offences-reported":
			v := 313.0
			o.Value = &v
		case o.Offence == "pimping" && o.Region == "SE" && o.Period == "2012":
			continue
		}
		kept = append(kept, o)
	}
	v := 9.0
	cand.Observations = append(kept, store.Observation{Offence: "pimping", Region: "NO", Period: "2015", Measure: "offences-reported",
		Value: &v, Flags: []string{}, Source: "ssb-08484", Confidence: "A", Locator: "table 2, row 3"})
	changes.MarkRevisions(prev, cand)
	sum, err := changes.Summarize(changes.DatasetInput(prev), changes.DatasetInput(cand))
	if err != nil {
		t.Fatal(err)
	}
	cand.Release.Changes = sum.Release()
	st := memory.New()
	for _, d := range []*store.Dataset{prev, cand} {
		if err := st.Load(d); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// twoReleaseRouter is the real router over twoReleases.
func twoReleaseRouter(t testing.TB) *gin.Engine {
	t.Helper()
	return handlers.New(twoReleases(t), slog.New(slog.NewTextHandler(io.Discard, nil)), openapi.JSON).Routes(handlers.Options{})
}

// changeResponse is the JSON of GET /v1/releases/{id}/changes.
type changeResponse struct {
	Data struct {
		Summary        changes.Summary     `json:"summary"`
		Added          []store.Observation `json:"added"`
		Removed        []store.Observation `json:"removed"`
		Revised        []changes.Revision  `json:"revised"`
		VanishedSeries []changes.SeriesKey `json:"vanished_series"`
	} `json:"data"`
	Links struct {
		Self string `json:"self"`
		Next string `json:"next"`
	} `json:"links"`
	Meta struct {
		Release string `json:"release"`
		Since   string `json:"since"`
		Count   int    `json:"count"`
		Limit   int    `json:"limit"`
	} `json:"meta"`
}

// changeLines lists a response's changes one per line.
func changeLines(r changeResponse) []string {
	var out []string
	for _, o := range r.Data.Added {
		out = append(out, "+ "+o.Offence+" "+o.Region+" "+o.Period)
	}
	for _, o := range r.Data.Removed {
		out = append(out, "- "+o.Offence+" "+o.Region+" "+o.Period)
	}
	for _, v := range r.Data.Revised {
		out = append(out, "~ "+v.New.Offence+" "+v.New.Region+" "+v.New.Period+" "+v.Kind)
	}
	return out
}

func TestReleaseChanges(t *testing.T) {
	r := twoReleaseRouter(t)
	all := []string{"+ pimping NO 2015", "- pimping SE 2012", "~ homicide NO 2013 value"}
	tests := []struct {
		name    string
		target  string
		header  []string
		status  int
		lines   []string // the changes listed, for a 200
		since   string
		next    bool
		body    []string // substrings of the body
		param   string   // for a 400: the parameter named
		release string   // X-Krimstat-Release
	}{
		{"since the release it superseded", "/v1/releases/" + secondRelease + "/changes", nil, 200, all, firstRelease, false,
			[]string{`"revision":{"release":"2024-06-01","value":312}`, `"flags":["revised"]`}, "", secondRelease},
		{"since named", "/v1/releases/" + secondRelease + "/changes?since=" + firstRelease, nil, 200, all, firstRelease, false, nil, "", secondRelease},
		{"backwards", "/v1/releases/" + firstRelease + "/changes?since=" + secondRelease, nil, 200,
			[]string{"+ pimping SE 2012", "- pimping NO 2015", "~ homicide NO 2013 value"}, secondRelease, false, nil, "", firstRelease},
		{"a page of one", "/v1/releases/" + secondRelease + "/changes?limit=1", nil, 200, all[2:], firstRelease, true, nil, "", secondRelease},
		{"a release with no earlier one", "/v1/releases/" + firstRelease + "/changes", nil, 400, nil, "", false,
			[]string{"records no release it superseded"}, "since", ""},
		{"unknown release", "/v1/releases/nope/changes", nil, 404, nil, "", false, []string{`"type":"https://krimstat.no/problems/not-found"`}, "", ""},
		{"unknown since", "/v1/releases/" + secondRelease + "/changes?since=nope", nil, 404, nil, "", false, []string{`since: release \"nope\": not found`}, "", ""},
		{"limit zero", "/v1/releases/" + secondRelease + "/changes?limit=0", nil, 400, nil, "", false, nil, "limit", ""},
		{"limit too big", "/v1/releases/" + secondRelease + "/changes?limit=10001", nil, 400, nil, "", false, nil, "limit", ""},
		{"bad cursor", "/v1/releases/" + secondRelease + "/changes?cursor=garbage", nil, 400, nil, "", false, nil, "cursor", ""},
		{"unknown parameter", "/v1/releases/" + secondRelease + "/changes?from=2013", nil, 400, nil, "", false, nil, "from", ""},
		{"not acceptable", "/v1/releases/" + secondRelease + "/changes", []string{"Accept", "image/png"}, 406, nil, "", false, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, r, "GET", tt.target, tt.header...)
			if rec.Code != tt.status {
				t.Fatalf("status: got %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			for _, s := range tt.body {
				if !strings.Contains(rec.Body.String(), s) {
					t.Errorf("body: got %.600s, want it to contain %s", rec.Body, s)
				}
			}
			if tt.status != 200 {
				p := decode[problem.Problem](t, rec)
				if rec.Header().Get("Content-Type") != "application/problem+json" || p.Status != tt.status || p.Parameter != tt.param {
					t.Errorf("problem: got %s %+v, want status %d naming %q", rec.Header().Get("Content-Type"), p, tt.status, tt.param)
				}
				return
			}
			if got := rec.Header().Get("X-Krimstat-Release"); got != tt.release {
				t.Errorf("release header: got %q, want %q", got, tt.release)
			}
			got := decode[changeResponse](t, rec)
			if lines := changeLines(got); !slices.Equal(lines, tt.lines) {
				t.Errorf("changes: got %q, want %q", lines, tt.lines)
			}
			want := store.ChangeCounts{Added: 1, Removed: 1, Revised: 1, Unchanged: 52}
			if s := got.Data.Summary; s.ChangeCounts != want {
				t.Errorf("summary: got %+v, want %+v", s.ChangeCounts, want)
			}
			if got.Meta.Since != tt.since || got.Data.Summary.From != tt.since || got.Meta.Count != len(tt.lines) {
				t.Errorf("meta: got %+v (summary from %s), want since %s, count %d", got.Meta, got.Data.Summary.From, tt.since, len(tt.lines))
			}
			if (got.Links.Next != "") != tt.next || (tt.next && rec.Header().Get("Link") != "<"+got.Links.Next+`>; rel="next"`) {
				t.Errorf("next: got %q, Link %q; want a next page %v", got.Links.Next, rec.Header().Get("Link"), tt.next)
			}
		})
	}
}

// TestReleaseChangesPages: following links.next lists every change once,
// with the same summary on every page.
func TestReleaseChangesPages(t *testing.T) {
	r := twoReleaseRouter(t)
	target := "/v1/releases/" + secondRelease + "/changes?limit=1"
	var lines []string
	for pages := 0; target != ""; pages++ {
		if pages > 3 {
			t.Fatal("more than three pages of one change")
		}
		rec := do(t, r, "GET", target)
		if rec.Code != 200 {
			t.Fatalf("%s: got %d: %s", target, rec.Code, rec.Body)
		}
		page := decode[changeResponse](t, rec)
		if page.Data.Summary.Added != 1 || page.Data.Summary.Unchanged != 52 {
			t.Errorf("%s: got summary %+v, want the whole summary", target, page.Data.Summary)
		}
		lines = append(lines, changeLines(page)...)
		target = page.Links.Next
	}
	slices.Sort(lines)
	want := []string{"+ pimping NO 2015", "- pimping SE 2012", "~ homicide NO 2013 value"}
	if !slices.Equal(lines, want) {
		t.Errorf("changes over the pages: got %q, want %q", lines, want)
	}
	// A cursor of the changes of one release means nothing for another.
	rec := do(t, r, "GET", "/v1/releases/"+secondRelease+"/changes?limit=1")
	next := decode[changeResponse](t, rec).Links.Next
	other := strings.Replace(next, "/releases/"+secondRelease+"/", "/releases/"+firstRelease+"/", 1) + "&since=" + secondRelease
	if rec := do(t, r, "GET", other); rec.Code != 400 || decode[problem.Problem](t, rec).Parameter != "cursor" {
		t.Errorf("cursor of another release: got %d %s, want 400 naming cursor", rec.Code, rec.Body)
	}
}

func TestReleaseChangesCSV(t *testing.T) {
	r := twoReleaseRouter(t)
	rec := do(t, r, "GET", "/v1/releases/"+secondRelease+"/changes?format=csv")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8; header=present" {
		t.Fatalf("got %d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if want := `attachment; filename="krimstat-changes-since-2024-06-01-2024-09-01.csv"`; rec.Header().Get("Content-Disposition") != want {
		t.Errorf("Content-Disposition: got %q, want %q", rec.Header().Get("Content-Disposition"), want)
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(rows))
	for i, row := range rows {
		got[i] = strings.Join(row, ",")
	}
	want := []string{
		"change,offence,region,period,measure,sex,age,citizenship,repatriation_country,source,old_value,new_value,old_value_text,new_value_text,old_flags,new_flags,old_confidence,new_confidence,old_locator,new_locator",
		"value,homicide,NO,2013,offences-reported,total,total,total,total,ssb-08484,312,313,,,,revised,A,A,r1 ssb-08484 homicide NO 2013,r1 ssb-08484 homicide NO 2013",
		"added,pimping,NO,2015,offences-reported,total,total,total,total,ssb-08484,,9,,,,,,A,,\"table 2, row 3\"",
		"removed,pimping,SE,2012,offences-reported,total,total,total,total,eurostat-crim_off_cat,1,,,,,,A,,r1 eurostat-crim_off_cat pimping SE 2012,",
	}
	// CSV quoting is gone after parsing; compare fields.
	want[2] = strings.ReplaceAll(want[2], `"`, "")
	if !slices.Equal(got, want) {
		t.Errorf("CSV: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRevisedObservation: the revised figure carries its flag and earlier
// value in the observations of its release; figures without a revision
// have no revision field at all, so their JSON is what it always was.
func TestRevisedObservation(t *testing.T) {
	r := twoReleaseRouter(t)
	rec := do(t, r, "GET", "/v1/observations?offence=homicide&region=NO&measure=offences-reported&source=ssb-08484&from=2012&to=2014")
	if rec.Code != 200 {
		t.Fatalf("got %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if n := strings.Count(body, `"revision"`); n != 1 ||
		!strings.Contains(body, `"value":313,"flags":["revised"],"source":"ssb-08484","confidence":"A","locator":"r1 ssb-08484 homicide NO 2013","revision":{"release":"2024-06-01","value":312}}`) {
		t.Errorf("observations: got %s, want one revision on the 2013 figure", body)
	}
	rec = do(t, r, "GET", "/v1/releases/"+secondRelease)
	if !strings.Contains(rec.Body.String(), `"changes":{"since":"2024-06-01","added":1,"removed":1,"revised":1,"metadata_revised":0,"unchanged":52,"sources":[`) {
		t.Errorf("release: got %s, want its changes", rec.Body)
	}
	rec = do(t, r, "GET", "/v1/releases?format=csv")
	for _, want := range []string{
		"id,created,current,observations,note,changes_since,added,removed,revised,metadata_revised\r\n",
		"2024-09-01,2024-09-01T12:00:00Z,true,0,Homicide in Norway revised,2024-06-01,1,1,1,0\r\n",
		"2024-06-01,2024-06-01T10:00:00Z,false,54,first release,,,,,\r\n",
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("releases CSV: got %s, want it to contain %q", rec.Body, want)
		}
	}
}

// TestReleaseChangesCached: the changes of a release are served through
// the response cache like any data route, with an ETag a client can
// revalidate with.
func TestReleaseChangesCached(t *testing.T) {
	st := twoReleases(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := handlers.New(st, log, openapi.JSON)
	cfg := httpcache.DefaultConfig()
	cfg.RequestKey, cfg.Vary = h.CacheKey, handlers.CacheVary
	tier, err := httpcache.NewTiered(cfg, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tier.Close() })
	release := func(ctx context.Context) (string, time.Time, error) {
		rel, err := st.CurrentRelease(ctx)
		return rel.ID, time.Time{}, err
	}
	r := h.Routes(handlers.Options{Cache: httpcache.New(cfg, tier, release, log)})
	target := "/v1/releases/" + secondRelease + "/changes"
	first := do(t, r, "GET", target)
	etag := first.Header().Get("ETag")
	if first.Code != 200 || etag == "" || first.Header().Get("X-Cache") != httpcache.Miss {
		t.Fatalf("first: got %d, ETag %q, X-Cache %q; want 200 with an ETag, computed", first.Code, etag, first.Header().Get("X-Cache"))
	}
	hit := do(t, r, "GET", target)
	if hit.Header().Get("X-Cache") != httpcache.HitLocal || hit.Body.String() != first.Body.String() {
		t.Errorf("second: got X-Cache %q, want a hit with the same body", hit.Header().Get("X-Cache"))
	}
	if rec := do(t, r, "GET", target, "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: got %d, want 304", rec.Code)
	}
	feed := do(t, r, "GET", "/v1/releases.atom")
	if feed.Code != 200 || feed.Header().Get("ETag") == "" {
		t.Errorf("feed: got %d, ETag %q; want 200 with an ETag", feed.Code, feed.Header().Get("ETag"))
	}
}

// TestChangesContract checks the responses of the new routes on two
// releases against the committed OpenAPI contract (the contract test runs
// on the bundled release, which has no earlier one).
func TestChangesContract(t *testing.T) {
	doc := contract.Load(t)
	r := twoReleaseRouter(t)
	for _, tt := range []struct{ path, target string }{
		{"/v1/releases/{id}/changes", "/v1/releases/" + secondRelease + "/changes"},
		{"/v1/releases/{id}/changes", "/v1/releases/" + secondRelease + "/changes?format=csv"},
		{"/v1/releases/{id}/changes", "/v1/releases/" + firstRelease + "/changes"},
		{"/v1/releases/{id}/changes", "/v1/releases/nope/changes"},
		{"/v1/releases/{id}", "/v1/releases/" + secondRelease},
		{"/v1/releases", "/v1/releases"},
		{"/v1/releases.atom", "/v1/releases.atom"},
		{"/v1/observations", "/v1/observations?offence=homicide&region=NO&release=" + secondRelease},
	} {
		rec := do(t, r, "GET", tt.target)
		contract.Check(t, doc, "GET", tt.path, httptest.NewRequest("GET", tt.target, nil), rec)
	}
}
