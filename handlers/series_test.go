package handlers_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/internal/contract"
	"github.com/krimstat/krimstat/jsonstat"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/series"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

type seriesResponse struct {
	Data series.Series `json:"data"`
	Meta struct {
		Release string         `json:"release"`
		Count   int            `json:"count"`
		Sources []store.Source `json:"sources"`
	} `json:"meta"`
}

func pointAt(t *testing.T, s series.Series, period string) series.Point {
	t.Helper()
	for _, p := range s.Points {
		if p.Period == period {
			return p
		}
	}
	t.Fatalf("no point for %s in %+v", period, s.Points)
	return series.Point{}
}

// TestSeriesSeedQuestion answers the story's question: 2009 to 2010 in
// Norway's reported sex buyers, from each source, with rates.
func TestSeriesSeedQuestion(t *testing.T) {
	r, _ := newRouter(t)
	base := "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&per=100000&from=2009&to=2010"

	rec := do(t, r, "GET", base)
	if rec.Code != 200 {
		t.Fatalf("status: got %d, want 200: %s", rec.Code, rec.Body)
	}
	s := decode[seriesResponse](t, rec).Data
	if s.Source != "stortinget-54169" || s.SourceChoice != "precedence" {
		t.Errorf("source: got %s (%s), want stortinget-54169 by precedence", s.Source, s.SourceChoice)
	}
	if len(s.Points) != 2 {
		t.Fatalf("points: got %d, want 2", len(s.Points))
	}
	p09, p10 := pointAt(t, s, "2009"), pointAt(t, s, "2010")
	if *p09.Value != 334 || *p10.Value != 359 {
		t.Errorf("values: got %v and %v, want 334 and 359", *p09.Value, *p10.Value)
	}
	if p09.Change != nil {
		t.Errorf("2009 change: got %+v, want none (no 2008 figure)", p09.Change)
	}
	if ch := p10.Change; ch == nil || ch.From != "2009" || ch.Absolute != 25 || ch.Relative == nil || *ch.Relative != 0.07485 || ch.Unreliable {
		t.Errorf("2010 change: got %+v, want +25 (0.07485) from 2009, reliable", ch)
	}
	if p09.Rate == nil || *p09.Rate != 6.9594 || p09.Denominator == nil || p09.Denominator.Population != 4799252 ||
		p09.Denominator.Date != "2009-01-01" || p09.Denominator.Source != "ssb-07459" {
		t.Errorf("2009 rate: got %v with %+v, want 6.9594 on 4799252 (2009-01-01, ssb-07459)", p09.Rate, p09.Denominator)
	}
	if p10.Rate == nil || *p10.Rate != 7.3896 || p10.Denominator.Population != 4858199 {
		t.Errorf("2010 rate: got %v with %+v, want 7.3896 on 4858199", p10.Rate, p10.Denominator)
	}
	if len(p09.Alternatives) != 1 || p09.Alternatives[0].Source != "klassekampen-2023-01-04" || *p09.Alternatives[0].Value != 355 {
		t.Errorf("2009 alternatives: got %+v, want klassekampen 355", p09.Alternatives)
	}
	if len(p10.Alternatives) != 0 {
		t.Errorf("2010 alternatives: got %+v, want none", p10.Alternatives)
	}

	// The other source, asked for by name: 355 for 2009 and no 2010 point.
	rec = do(t, r, "GET", base+"&source=klassekampen-2023-01-04")
	s = decode[seriesResponse](t, rec).Data
	if s.Source != "klassekampen-2023-01-04" || s.SourceChoice != "requested" || len(s.Points) != 1 || *s.Points[0].Value != 355 {
		t.Fatalf("klassekampen: got %s %s %+v, want one point 355", s.Source, s.SourceChoice, s.Points)
	}
	if *s.Points[0].Rate != 7.397 {
		t.Errorf("klassekampen 2009 rate: got %v, want 7.397", *s.Points[0].Rate)
	}
}

func TestSeriesRules(t *testing.T) {
	r, _ := newRouter(t)
	tests := []struct {
		name, target string
		status       int
		param        string
		check        func(t *testing.T, s series.Series)
	}{
		{"two measures", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons,reported-offences", 400, "measure", nil},
		{"13 series", "/v1/series?offence=sex-purchase&region=NO,SE,DK,FI,IS,pd2016-oslo,pd2016-vest,pd2016-ost,pd2016-agder,pd2016-sor-vest,pd2016-innlandet,pd2016-troms,pd2016-finnmark&measure=reported-persons", 400, "region", nil},
		{"no region", "/v1/series?offence=sex-purchase&measure=reported-persons", 400, "region", nil},
		{"unknown measure", "/v1/series?offence=sex-purchase&region=NO&measure=buyers", 400, "measure", nil},
		{"per on a rate", "/v1/series?offence=iccs/0302&region=NO&measure=reported-offences-per-100k&per=100000", 400, "per", nil},
		{"per other than 100000", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&per=1000", 400, "per", nil},
		{"harmonise a country", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&harmonise=2016", 400, "harmonise", nil},
		{"harmonise 2002", "/v1/series?offence=sex-purchase&region=pd2016-oslo&measure=reported-persons&harmonise=2002", 400, "harmonise", nil},
		{"bad small", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&small=-1", 400, "small", nil},
		{"jsonstat with per", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&per=100000&format=jsonstat", 400, "per", nil},
		{"bad dialect", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&format=csv&csv_dialect=excel", 400, "csv_dialect", nil},
		{"tertials: change within the kind, no rate", "/v1/series?offence=sex-purchase&region=NO&measure=reported-offences&source=nrk-2017-faerre-tas&per=100000", 200, "",
			func(t *testing.T, s series.Series) {
				for _, p := range s.Points {
					if p.Rate != nil || !strings.Contains(p.RateReason, "part of a year") {
						t.Errorf("%s: got rate %v (%q), want null with a reason", p.Period, p.Rate, p.RateReason)
					}
					// 2014-T1 follows 2013-T3, not 2013-T1: no change.
					if p.Change != nil {
						t.Errorf("%s: got change %+v, want none", p.Period, p.Change)
					}
				}
			}},
		{"no rate for a district", "/v1/series?offence=sex-purchase&region=pd2016-trondelag&measure=reported-offences&per=100000", 200, "",
			func(t *testing.T, s series.Series) {
				p := pointAt(t, s, "2016")
				if p.Rate != nil || !strings.Contains(p.RateReason, "no population") {
					t.Errorf("2016: got rate %v (%q), want null with a reason", p.Rate, p.RateReason)
				}
				if ch := p.Change; ch == nil || ch.Absolute != -79 {
					t.Errorf("2016 change: got %+v, want -79 from 2015", ch)
				}
			}},
		{"empty series", "/v1/series?offence=pimping&region=NO&measure=reported-offences", 200, "",
			func(t *testing.T, s series.Series) {
				if len(s.Points) != 0 || s.Source != "" || len(s.Notes) == 0 {
					t.Errorf("got %+v, want no points, no source and a note", s)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, r, "GET", tt.target)
			if rec.Code != tt.status {
				t.Fatalf("status: got %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status >= 400 {
				if p := decode[problem.Problem](t, rec); p.Parameter != tt.param {
					t.Errorf("problem parameter: got %q, want %q (%s)", p.Parameter, tt.param, p.Detail)
				}
				return
			}
			tt.check(t, decode[seriesResponse](t, rec).Data)
		})
	}
}

func TestSeriesSmallCounts(t *testing.T) {
	r := harmoniseRouter(t)
	base := "/v1/series?offence=sex-purchase&region=pd2002-a&measure=reported-offences&source=s1"
	s := decode[seriesResponse](t, do(t, r, "GET", base)).Data
	p13, p14 := pointAt(t, s, "2013"), pointAt(t, s, "2014")
	if slices.Contains(p13.Flags, "small-count") || !slices.Contains(p14.Flags, "small-count") {
		t.Errorf("flags: got 2013 %v and 2014 %v, want small-count on 2014 (10) only", p13.Flags, p14.Flags)
	}
	if ch := p14.Change; ch == nil || ch.Absolute != -20 || !ch.Unreliable || !p14.Unreliable {
		t.Errorf("2014 change: got %+v, want -20 from 2013, unreliable", ch)
	}
	s = decode[seriesResponse](t, do(t, r, "GET", base+"&small=10")).Data
	if p := pointAt(t, s, "2014"); p.Change == nil || p.Change.Unreliable || slices.Contains(p.Flags, "small-count") {
		t.Errorf("2014 with small=10: got %+v %v, want a reliable change", p.Change, p.Flags)
	}
	// from/to cut the points, not the change of the first one shown.
	s = decode[seriesResponse](t, do(t, r, "GET", base+"&from=2014&to=2014")).Data
	if len(s.Points) != 1 || s.Points[0].Change == nil {
		t.Errorf("from=2014: got %+v, want 2014 with its change from 2013", s.Points)
	}
}

// harmoniseRouter serves a handcrafted release: two 2002 districts that
// became one 2016 district, one of them approximately.
func harmoniseRouter(t *testing.T) *gin.Engine {
	t.Helper()
	v := func(f float64) *float64 { return &f }
	obs := func(region, period, source string, value float64) store.Observation {
		conf := "A"
		if source == "s2" {
			conf = "B"
		}
		return store.Observation{Offence: "sex-purchase", Region: region, Period: period, Measure: "reported-offences",
			Value: v(value), Flags: []string{}, Source: source, Confidence: conf, Locator: region + " " + period}
	}
	ds := &store.Dataset{
		Format:   store.DatasetFormat,
		Release:  store.Release{ID: "test-1", Created: "2025-01-01T00:00:00Z"},
		Offences: []store.Offence{{ID: "sex-purchase", Classification: "krimstat"}},
		Regions: []store.Region{
			{ID: "pd2002-a", Type: store.RegionPoliceDistrict, ValidTo: "2015-12-31", Successors: []store.Succession{{Region: "pd2016-x", From: "2016-01-01", Approximate: true}}},
			{ID: "pd2002-b", Type: store.RegionPoliceDistrict, ValidTo: "2015-12-31", Successors: []store.Succession{{Region: "pd2016-x", From: "2016-01-01"}}},
			{ID: "pd2016-x", Type: store.RegionPoliceDistrict, ValidFrom: "2016-01-01", Predecessors: []store.Succession{
				{Region: "pd2002-a", From: "2016-01-01", Approximate: true}, {Region: "pd2002-b", From: "2016-01-01"}}},
		},
		Measures: []store.Measure{{ID: "reported-offences", Unit: "offences"}},
		Sources:  []store.Source{{ID: "s1", Publisher: "P1", Title: "T1"}, {ID: "s2", Publisher: "P2", Title: "T2"}},
		Observations: []store.Observation{
			obs("pd2002-a", "2013", "s1", 30), // b has no 2013 from s1: no sum
			obs("pd2002-a", "2014", "s1", 10), obs("pd2002-b", "2014", "s1", 15),
			obs("pd2002-a", "2015", "s1", 1), obs("pd2002-b", "2015", "s1", 2), // x has its own 2015
			obs("pd2016-x", "2015", "s1", 50), obs("pd2016-x", "2016", "s1", 40),
			obs("pd2002-a", "2014", "s2", 11), obs("pd2002-b", "2014", "s2", 16),
			obs("pd2002-b", "2013", "s2", 7), // a has no 2013 from s2; s1's a does not count
		},
	}
	// A locator that Excel would run as a formula.
	ds.Observations[6].Locator = "=HYPERLINK(\"http://attacker.example\")"
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	return handlers.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), openapi.JSON).Routes(handlers.Options{})
}

func TestSeriesHarmonise(t *testing.T) {
	r := harmoniseRouter(t)
	rec := do(t, r, "GET", "/v1/series?offence=sex-purchase&region=pd2016-x&measure=reported-offences&harmonise=2016")
	if rec.Code != 200 {
		t.Fatalf("status: got %d: %s", rec.Code, rec.Body)
	}
	s := decode[seriesResponse](t, rec).Data
	if s.Source != "s1" {
		t.Fatalf("source: got %s, want s1", s.Source)
	}
	var periods []string
	for _, p := range s.Points {
		periods = append(periods, p.Period)
	}
	if want := []string{"2014", "2015", "2016"}; !reflect.DeepEqual(periods, want) {
		t.Fatalf("periods: got %v, want %v", periods, want)
	}
	p14 := pointAt(t, s, "2014")
	if *p14.Value != 25 || !slices.Contains(p14.Flags, "harmonised-2016") || !slices.Contains(p14.Flags, "approximate") || len(p14.Components) != 2 {
		t.Errorf("2014: got %v flags %v components %+v, want 25, harmonised and approximate, two components", *p14.Value, p14.Flags, p14.Components)
	}
	if len(p14.Alternatives) != 1 || p14.Alternatives[0].Source != "s2" || *p14.Alternatives[0].Value != 27 {
		t.Errorf("2014 alternatives: got %+v, want s2 27", p14.Alternatives)
	}
	if p15 := pointAt(t, s, "2015"); *p15.Value != 50 || slices.Contains(p15.Flags, "harmonised-2016") || p15.Change == nil || p15.Change.Absolute != 25 {
		t.Errorf("2015: got %v flags %v change %+v, want its own 50, change +25 from the 2014 sum", *p15.Value, p15.Flags, p15.Change)
	}
	if len(s.Omitted) != 1 || s.Omitted[0].Period != "2013" || !strings.Contains(s.Omitted[0].Reason, "pd2002-b") {
		t.Errorf("omitted: got %+v, want 2013 missing pd2002-b", s.Omitted)
	}
	if len(s.Mapping) != 2 || !s.Mapping[0].Approximate {
		t.Errorf("mapping: got %+v, want the two predecessors", s.Mapping)
	}

	// Without harmonise, only the district's own figures.
	rec = do(t, r, "GET", "/v1/series?offence=sex-purchase&region=pd2016-x&measure=reported-offences")
	if s := decode[seriesResponse](t, rec).Data; len(s.Points) != 2 || s.Mapping != nil {
		t.Errorf("unharmonised: got %+v, want 2015 and 2016 only", s.Points)
	}
}

// TestJSONStatRoundTrip reads format=jsonstat back with the project's
// JSON-stat reader and gets the same observations as the JSON.
func TestJSONStatRoundTrip(t *testing.T) {
	r, _ := newRouter(t)
	for _, target := range []string{
		"/v1/observations?region=NO&limit=10000",
		"/v1/observations?offence=human-trafficking&region=NO,SE&measure=persons-convicted&limit=10000",
	} {
		want := decode[observationList](t, do(t, r, "GET", target)).Data
		for _, variant := range [][]string{{target + "&format=jsonstat"}, {target, "Accept", "application/json+stat"}} {
			rec := do(t, r, "GET", variant[0], variant[1:]...)
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("%v: got %d %s: %.300s", variant, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			ds, err := jsonstat.Decode(bytes.NewReader(rec.Body.Bytes()), target)
			if err != nil {
				t.Fatalf("%v: decode: %v", variant, err)
			}
			got, err := jsonstat.ToObservations(ds)
			if err != nil {
				t.Fatalf("%v: to observations: %v", variant, err)
			}
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%v: got %d observations, want %d", variant, len(got), len(want))
			}
			if !reflect.DeepEqual(got, want) {
				for i := range got {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("%v: observation %d: got %+v, want %+v", variant, i, got[i], want[i])
					}
				}
			}
		}
	}
	// A series in JSON-stat: the chosen source's points.
	rec := do(t, r, "GET", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&format=jsonstat")
	ds, err := jsonstat.Decode(bytes.NewReader(rec.Body.Bytes()), "series")
	if err != nil {
		t.Fatalf("series: decode: %v", err)
	}
	obs, err := jsonstat.ToObservations(ds)
	if err != nil || len(obs) != 2 || *obs[0].Value != 334 || *obs[1].Value != 359 {
		t.Errorf("series: got %+v (%v), want 334 and 359", obs, err)
	}
}

func TestCSVDialects(t *testing.T) {
	r, _ := newRouter(t)
	target := "/v1/observations?offence=sex-purchase&region=NO&measure=reported-persons&format=csv"

	rec := do(t, r, "GET", target)
	if got, want := rec.Header().Get("Content-Disposition"), `attachment; filename="krimstat-observations-sex-purchase-NO-reported-persons-`+bundledRelease(t)+`.csv"`; got != want {
		t.Errorf("Content-Disposition: got %s, want %s", got, want)
	}
	if bytes.HasPrefix(rec.Body.Bytes(), []byte("\ufeff")) || !strings.HasPrefix(rec.Body.String(), "offence,region,") {
		t.Errorf("default dialect: got %.40q, want RFC 4180 without BOM", rec.Body.String())
	}

	rec = do(t, r, "GET", target+"&csv_dialect=excel-no")
	body := rec.Body.String()
	if !strings.HasPrefix(body, "\ufeffoffence;region;period;") || !strings.Contains(body, "\r\n") {
		t.Fatalf("excel-no: got %.60q, want a BOM, semicolons and CRLF", body)
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
	cr.Comma = ';'
	rows, err := cr.ReadAll()
	if err != nil || len(rows) != 7 {
		t.Fatalf("excel-no: parse: %v, %d rows", err, len(rows))
	}

	// Decimal comma in numeric columns, and the formula guard on text.
	rec = do(t, r, "GET", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&per=100000&format=csv&csv_dialect=excel-no")
	cr = csv.NewReader(strings.NewReader(strings.TrimPrefix(rec.Body.String(), "\ufeff")))
	cr.Comma = ';'
	rows, err = cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if got := rows[1][col["rate"]]; got != "6,9594" {
		t.Errorf("2009 rate: got %q, want 6,9594", got)
	}
	if got := rows[2][col["change_relative"]]; got != "0,07485" {
		t.Errorf("2010 relative change: got %q, want 0,07485", got)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Disposition"), `attachment; filename="krimstat-series-sex-purchase-NO-reported-persons-stortinget-54169-`) {
		t.Errorf("series file name: got %s", rec.Header().Get("Content-Disposition"))
	}

	// Negative numbers stay numbers; formula-looking text gets a quote.
	r2 := harmoniseRouter(t)
	rec = do(t, r2, "GET", "/v1/series?offence=sex-purchase&region=pd2016-x&measure=reported-offences&format=csv&csv_dialect=excel-no")
	if !strings.Contains(rec.Body.String(), ";-10;") {
		t.Errorf("negative change: got %s, want -10 unquoted", rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `;"'=HYPERLINK(""http://attacker.example"")";`) {
		t.Errorf("formula guard: got %s, want the locator prefixed with '", rec.Body)
	}
	rec = do(t, r2, "GET", "/v1/series?offence=sex-purchase&region=pd2016-x&measure=reported-offences&format=csv")
	if !strings.Contains(rec.Body.String(), `,"=HYPERLINK(""http://attacker.example"")",`) {
		t.Errorf("RFC 4180: got %s, want the locator as published", rec.Body)
	}
}

// multiResponse is a response for several series.
type multiResponse struct {
	Data    series.Series   `json:"data"`
	Series  []series.Series `json:"series"`
	Periods []string        `json:"periods"`
	Meta    struct {
		Count   int            `json:"count"`
		Sources []store.Source `json:"sources"`
	} `json:"meta"`
}

// TestSeveralSeries asks for two regions (and two offences) at once: one
// series each, built as if asked for alone, lined up on their periods, with
// data still the first series so that a single-series client keeps working.
func TestSeveralSeries(t *testing.T) {
	r, _ := newRouter(t)
	doc := contract.Load(t)
	const base = "/v1/series?offence=human-trafficking&measure=reported-offences"
	req := httptest.NewRequest("GET", base+"&region=SE,NO", nil)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status: got %d, want 200: %s", rec.Code, rec.Body)
	}
	contract.Check(t, doc, "GET", "/v1/series", req, rec)
	res := decode[multiResponse](t, rec)
	if len(res.Series) != 2 || res.Series[0].Region != "NO" || res.Series[1].Region != "SE" {
		t.Fatalf("series: got %d, want NO then SE (sorted ids, whatever the request's order)", len(res.Series))
	}
	if !reflect.DeepEqual(res.Data, res.Series[0]) {
		t.Errorf("data: got %s, want series[0]", res.Data.Region)
	}
	// Each series is what the single request returns.
	for _, s := range res.Series {
		alone := decode[seriesResponse](t, do(t, r, "GET", base+"&region="+s.Region))
		if !reflect.DeepEqual(s, alone.Data) {
			t.Errorf("%s: got %+v, want the series asked for alone, %+v", s.Region, s, alone.Data)
		}
	}
	no, se := res.Series[0], res.Series[1]
	if no.Source != "unodc-glotip-2025" || se.Source != "unodc-glotip-2025" || len(no.Points) != 13 || len(se.Points) != 13 {
		t.Errorf("NO %s %d points, SE %s %d points: want 13 each from unodc-glotip-2025", no.Source, len(no.Points), se.Source, len(se.Points))
	}
	if p := pointAt(t, se, "2015"); *p.Value != 180 || p.Change == nil || p.Change.Absolute != 87 {
		t.Errorf("SE 2015: got %v with change %+v, want 180, +87 from 2014", *p.Value, p.Change)
	}
	var want []string
	for y := 2010; y <= 2022; y++ {
		want = append(want, strconv.Itoa(y))
	}
	if !reflect.DeepEqual(res.Periods, want) {
		t.Errorf("periods: got %v, want %v", res.Periods, want)
	}
	if res.Meta.Count != 26 {
		t.Errorf("meta.count: got %d, want 26 (the points of both series)", res.Meta.Count)
	}
	ids := map[string]bool{}
	for _, src := range res.Meta.Sources {
		ids[src.ID] = true
	}
	for _, s := range res.Series {
		for _, src := range s.Sources {
			if !ids[src.ID] {
				t.Errorf("meta.sources: %s's source %s is missing", s.Region, src.ID)
			}
		}
	}
	// The request's order does not matter: NO,SE is the same request.
	if again := do(t, r, "GET", base+"&region=NO,SE"); again.Body.String() != rec.Body.String() {
		t.Errorf("region=NO,SE: got another body than region=SE,NO")
	}

	// One series: no series or periods field, the response as it was.
	one := do(t, r, "GET", base+"&region=NO")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(one.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"series", "periods"} {
		if _, ok := raw[k]; ok {
			t.Errorf("one series: got a %q field, want none", k)
		}
	}

	// Two offences for one region, ordered by offence id; an empty series
	// is a series with no points, not an error.
	res = decode[multiResponse](t, do(t, r, "GET", "/v1/series?offence=sex-purchase,human-trafficking&region=NO&measure=reported-persons"))
	if len(res.Series) != 2 || res.Series[0].Offence != "human-trafficking" || len(res.Series[0].Points) != 0 ||
		res.Series[1].Offence != "sex-purchase" || len(res.Series[1].Points) != 2 {
		t.Errorf("two offences: got %+v, want human-trafficking (empty) then sex-purchase (2 points)", res.Series)
	}

	// Rates per series: Norway has a population, Sweden none.
	res = decode[multiResponse](t, do(t, r, "GET", base+"&region=NO,SE&per=100000&from=2015&to=2015"))
	if p := res.Series[0].Points[0]; p.Rate == nil || p.Denominator == nil {
		t.Errorf("NO 2015 rate: got %v, want a rate with its denominator", p.Rate)
	}
	if p := res.Series[1].Points[0]; p.Rate != nil || !strings.Contains(p.RateReason, "no population figures for region SE") {
		t.Errorf("SE 2015 rate: got %v (%q), want none and why", p.Rate, p.RateReason)
	}

	tests := []struct {
		name, target, param string
	}{
		{"4 × 4 series", "/v1/series?offence=sex-purchase,human-trafficking,pimping,iccs/0302&region=NO,SE,DK,FI&measure=reported-offences", "region"},
		{"harmonise a country among districts", "/v1/series?offence=sex-purchase&region=pd2016-oslo,NO&measure=reported-offences&harmonise=2016", "harmonise"},
		{"an unknown region among several", "/v1/series?offence=sex-purchase&region=NO,XX&measure=reported-offences", "region"},
		{"svg of 13 series", "/v1/series.svg?offence=sex-purchase&region=NO,SE,DK,FI,IS,pd2016-oslo,pd2016-vest,pd2016-ost,pd2016-agder,pd2016-sor-vest,pd2016-innlandet,pd2016-troms,pd2016-finnmark&measure=reported-persons", "region"},
		{"embed of two measures", "/embed/series?offence=sex-purchase&region=NO,SE&measure=reported-persons,reported-offences", "measure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, r, "GET", tt.target)
			if p := decode[problem.Problem](t, rec); rec.Code != 400 || p.Parameter != tt.param {
				t.Errorf("got %d naming %q (%s), want 400 naming %s", rec.Code, p.Parameter, p.Detail, tt.param)
			}
		})
	}
}

// TestSeveralSeriesFiles reads several series back as CSV and JSON-stat.
func TestSeveralSeriesFiles(t *testing.T) {
	r, _ := newRouter(t)
	const target = "/v1/series?offence=human-trafficking&region=NO,SE&measure=reported-offences"

	rec := do(t, r, "GET", target+"&format=csv")
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil || len(rows) != 27 {
		t.Fatalf("csv: got %d rows (%v), want a header and 26", len(rows), err)
	}
	if rows[1][1] != "NO" || rows[1][3] != "2010" || rows[14][1] != "SE" || rows[14][3] != "2010" || rows[14][4] != "7" {
		t.Errorf("csv: got %v and %v, want NO 2010 first and SE 2010 (7) after NO's 13 rows", rows[1], rows[14])
	}
	if got, want := rec.Header().Get("Content-Disposition"), `filename="krimstat-series-human-trafficking-NO-SE-reported-offences-`; !strings.Contains(got, want) {
		t.Errorf("Content-Disposition: got %s, want it to contain %s", got, want)
	}

	rec = do(t, r, "GET", target+"&format=jsonstat")
	ds, err := jsonstat.Decode(bytes.NewReader(rec.Body.Bytes()), "series")
	if err != nil {
		t.Fatalf("jsonstat: decode: %v", err)
	}
	if got := ds.Dimension[jsonstat.DimRegion].Codes; !reflect.DeepEqual(got, []string{"NO", "SE"}) {
		t.Errorf("jsonstat region dimension: got %v, want [NO SE]", got)
	}
	obs, err := jsonstat.ToObservations(ds)
	if err != nil || len(obs) != 26 {
		t.Fatalf("jsonstat: got %d observations (%v), want 26", len(obs), err)
	}
	for _, o := range obs {
		if o.Region == "SE" && o.Period == "2015" && *o.Value != 180 {
			t.Errorf("jsonstat SE 2015: got %v, want 180", *o.Value)
		}
	}
}

// TestSeveralSeriesChart draws two regions: a line and a legend entry each,
// and in the embed page a value column each, gaps left empty.
func TestSeveralSeriesChart(t *testing.T) {
	r, _ := newRouter(t)
	rec := do(t, r, "GET", "/v1/series.svg?offence=human-trafficking&region=SE,NO&measure=reported-offences")
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("svg: got %d: %s", rec.Code, body)
	}
	for _, s := range []string{
		`<title id="chart-title">Human trafficking, Norway and Sweden: reported offences</title>`,
		">Norway</text>", ">Sweden</text>", // the legend
		"Norway: 2010: 40; 2011: 44;", "Sweden: 2010: 7; 2011: 6;", // the description
		"<title>Sweden, 2015: 180</title>",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("svg: want it to contain %s\n%s", s, body)
		}
	}
	if n := strings.Count(body, "<path"); n != 2 {
		t.Errorf("svg: got %d lines, want 2", n)
	}
	if n := strings.Count(body, "<circle"); n != 26 {
		t.Errorf("svg: got %d markers, want 26", n)
	}

	// Denmark has suppressed years and no 2021; Norway has 2021.
	rec = do(t, r, "GET", "/embed/series?offence=human-trafficking&region=DK,NO&measure=reported-offences")
	body = rec.Body.String()
	for _, s := range []string{
		`<th scope="col">Period</th><th scope="col">Denmark</th><th scope="col">Norway</th>`,
		`<th scope="row">2018</th><td class="n">&lt;5 (suppressed)</td><td class="n">45</td>`,
		`<th scope="row">2021</th><td class="n"></td><td class="n">29</td>`,
		"Source: UNODC, “Global Report on Trafficking in Persons data",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("embed: want it to contain %s\n%s", s, body)
		}
	}
	if n := strings.Count(body, `<tr><th scope="row">`); n != 13 {
		t.Errorf("embed: got %d rows, want 13 (2010 to 2022)", n)
	}
	// Suppressed values are not markers, and no segment bridges a gap:
	// Denmark 2010-2017 is one run, 2022 stands alone.
	if n := strings.Count(wideChart(t, body), "<circle"); n != 9+13 {
		t.Errorf("embed chart: got %d markers, want 22 (Denmark 9, Norway 13)", n)
	}
}

// wideChart is the wide chart of an embed page, and checks that the page's
// narrow chart draws the same lines and markers: the two differ in size
// only.
func wideChart(t *testing.T, page string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, `<div class="chart-wide">`)
	wide, narrow, ok2 := strings.Cut(rest, `</div><div class="chart-narrow">`)
	if !ok || !ok2 {
		t.Fatalf("the page has no wide and narrow chart:\n%s", page)
	}
	narrow, _, _ = strings.Cut(narrow, `</div>`)
	for _, el := range []string{"<circle", `<g class="series"`, `<g class="bar"`, "<path"} {
		if w, n := strings.Count(wide, el), strings.Count(narrow, el); w != n {
			t.Errorf("%s: %d in the wide chart, %d in the narrow one", el, w, n)
		}
	}
	return wide
}
