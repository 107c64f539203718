package jsonstat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/store"
)

func testSources() []store.Source {
	return []store.Source{
		{ID: "unodc-glotip-2024", Publisher: "UNODC", Title: "Global Report on Trafficking in Persons, data", URL: "https://dataunodc.un.org/",
			Kind: "official", Licence: "cite UNODC"},
		{ID: "stortinget-54169", Publisher: "Stortinget (answer by the Minister of Justice)", Title: "Skriftlig spørsmål Dok. nr. 15:1646",
			URL: "https://www.stortinget.no/", Published: "2012-06-22", Kind: "official", Licence: "public record; cite the source"},
	}
}

// testObservations has suppressed values, flags, breakdowns, a partial
// year and two sources for one point, sorted by Key.
func testObservations() []store.Observation {
	obs := []store.Observation{
		{Offence: "sex-purchase", Region: "NO", Period: "2009", Measure: "reported-persons", Value: ptr(334),
			Flags: []string{}, Source: "stortinget-54169", Confidence: "A", Locator: "answer, table row 2009"},
		{Offence: "sex-purchase", Region: "NO", Period: "2010", Measure: "reported-persons", Value: ptr(0.5),
			Flags: []string{store.FlagApproximate}, Source: "stortinget-54169", Confidence: "B", Locator: "answer, paragraph 2"},
		{Offence: "sex-purchase", Region: "NO", Period: "2013-T1", Measure: "reported-persons", Value: ptr(42),
			Flags: []string{store.FlagPartialYear}, Source: "stortinget-54169", Confidence: "B", Locator: "answer, first tertial"},
		{Offence: "sex-purchase", Region: "NO", Period: "2009", Measure: "reported-persons", Value: ptr(355),
			Flags: []string{store.FlagLaterVintage}, Source: "unodc-glotip-2024", Confidence: "B", Locator: "row 12"},
		{Offence: "human-trafficking", Region: "NO", Period: "2019", Measure: "detected-victims", Value: nil, ValueText: "<5",
			Breakdown: store.Breakdown{Sex: "male", Age: "0-17"},
			Flags:     []string{store.FlagSuppressed}, Source: "unodc-glotip-2024", Confidence: "A", Locator: "glotip row 7, <5"},
		{Offence: "human-trafficking", Region: "NO", Period: "2019", Measure: "detected-victims", Value: ptr(41),
			Breakdown: store.Breakdown{Sex: "female"},
			Flags:     []string{store.FlagInconsistentInSource, store.FlagDefinitionDiffers}, Source: "unodc-glotip-2024", Confidence: "A", Locator: "glotip row 8"},
		{Offence: "human-trafficking", Region: "SE", Period: "2019", Measure: "detected-victims", Value: ptr(-1.25e-7),
			Breakdown: store.Breakdown{Citizenship: "Nigeria", RepatriationCountry: "Nigeria"},
			Flags:     []string{}, Source: "unodc-glotip-2024", Confidence: "A", Locator: "glotip row 9"},
		{Offence: "human-trafficking", Region: "SE", Period: "2020", Measure: "detected-victims", Value: nil, ValueText: "<5",
			Flags: []string{store.FlagSuppressed}, Source: "unodc-glotip-2024", Confidence: "A", Locator: "glotip row 10"},
	}
	slices.SortFunc(obs, func(a, b store.Observation) int { return strings.Compare(a.Key(), b.Key()) })
	return obs
}

func testMeta() EncodeMeta {
	return EncodeMeta{
		Label: "Krimstat observations", Updated: "2025-01-01T00:00:00Z", Release: "r-2025-01-01", Href: "https://example.org/v1/observations?format=jsonstat",
		Sources: testSources(),
		Labels: map[string]map[string]string{
			DimOffence: {"sex-purchase": "Purchase of sexual services", "human-trafficking": "Human trafficking"},
			DimRegion:  {"NO": "Norway", "SE": "Sweden"},
		},
		Units: map[string]string{"reported-persons": "persons"},
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	obs := testObservations()
	var buf bytes.Buffer
	if err := Encode(&buf, obs, testMeta()); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	ds, err := Decode(bytes.NewReader(buf.Bytes()), "encoded.json")
	if err != nil {
		t.Fatalf("Decode of Encode's output: %v\n%s", err, buf.Bytes())
	}
	got, err := ToObservations(ds)
	if err != nil {
		t.Fatalf("ToObservations: %v", err)
	}
	if !reflect.DeepEqual(got, obs) {
		t.Errorf("round trip differs:\ngot  %s\nwant %s", mustJSON(t, got), mustJSON(t, obs))
	}

	// Encoding the decoded observations again gives the same bytes.
	var again bytes.Buffer
	if err := Encode(&again, got, testMeta()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("second encoding differs from the first")
	}
}

func TestEncodeShape(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, testObservations(), testMeta()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string                     `json:"version"`
		Class     string                     `json:"class"`
		ID        []string                   `json:"id"`
		Size      []int                      `json:"size"`
		Role      map[string][]string        `json:"role"`
		Value     []*float64                 `json:"value"`
		Status    map[string]string          `json:"status"`
		Source    string                     `json:"source"`
		Dimension map[string]json.RawMessage `json:"dimension"`
		Extension struct {
			Krimstat struct {
				Release string                  `json:"release"`
				Sources map[string]store.Source `json:"sources"`
				Flags   map[string]string       `json:"flags"`
				Cells   map[string]extCell      `json:"cells"`
			} `json:"krimstat"`
		} `json:"extension"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.0" || doc.Class != "dataset" {
		t.Errorf("version %q class %q, want 2.0 dataset", doc.Version, doc.Class)
	}
	if got, want := strings.Join(doc.ID, ","), "offence,region,measure,sex,age,citizenship,repatriation_country,source,period"; got != want {
		t.Errorf("id = %s, want %s", got, want)
	}
	// offence 2, region 2, measure 2, sex total/female/male, age total/0-17,
	// citizenship and repatriation total/Nigeria, source 2, period 5.
	if got, want := doc.Size, []int{2, 2, 2, 3, 2, 2, 2, 2, 5}; !slices.Equal(got, want) {
		t.Errorf("size = %v, want %v", got, want)
	}
	n := 1
	for _, s := range doc.Size {
		n *= s
	}
	if len(doc.Value) != n {
		t.Errorf("len(value) = %d, want %d", len(doc.Value), n)
	}
	if got := doc.Role["time"][0] + doc.Role["geo"][0] + doc.Role["metric"][0]; got != "periodregionmeasure" {
		t.Errorf("role = %v, want time period, geo region, metric measure", doc.Role)
	}
	var suppressed, flagged int
	for key, s := range doc.Status {
		switch s {
		case "<5":
			suppressed++
			var i int
			if err := json.Unmarshal([]byte(key), &i); err != nil || doc.Value[i] != nil {
				t.Errorf("status[%s] = <5 but value is %v, want null", key, doc.Value[i])
			}
		case "inconsistent-in-source definition-differs":
			flagged++
		}
	}
	if suppressed != 2 || flagged != 1 {
		t.Errorf("status = %v, want two <5 and one joined flag list", doc.Status)
	}
	if !strings.Contains(buf.String(), `"<5"`) {
		t.Errorf("<5 is escaped in the output; clients must see it as written")
	}
	ext := doc.Extension.Krimstat
	if ext.Release != "r-2025-01-01" || len(ext.Sources) != 2 || len(ext.Cells) != 8 || ext.Flags["suppressed"] == "" {
		t.Errorf("extension.krimstat = %+v, want the release, 2 sources, 8 cells and flag meanings", ext)
	}
	if !strings.Contains(doc.Source, "UNODC") || !strings.Contains(doc.Source, "Stortinget") {
		t.Errorf("source = %q, want both publishers", doc.Source)
	}
	var offence struct {
		Category struct {
			Index map[string]int    `json:"index"`
			Label map[string]string `json:"label"`
		} `json:"category"`
	}
	if err := json.Unmarshal(doc.Dimension["offence"], &offence); err != nil {
		t.Fatal(err)
	}
	if offence.Category.Index["sex-purchase"] != 1 || offence.Category.Label["sex-purchase"] != "Purchase of sexual services" {
		t.Errorf("offence category = %+v, want sex-purchase at 1 with its label", offence.Category)
	}
}

func TestEncodeEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, nil, EncodeMeta{}); err != nil {
		t.Fatal(err)
	}
	ds, err := Decode(&buf, "empty.json")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	obs, err := ToObservations(ds)
	if err != nil || len(obs) != 0 {
		t.Errorf("got %v, %v, want no observations and no error", obs, err)
	}
}

func TestEncodeSparse(t *testing.T) {
	// 1,100 citizenships crossed with 1,000 periods exceed maxDense.
	var obs []store.Observation
	add := func(citizenship, period string) {
		obs = append(obs, store.Observation{Offence: "o", Region: "NO", Measure: "m", Period: period,
			Breakdown: store.Breakdown{Citizenship: citizenship},
			Value:     ptr(float64(len(obs))), Flags: []string{}, Source: "s", Confidence: "A", Locator: "l"})
	}
	for i := range 1100 {
		add(fmt.Sprintf("c%04d", i), "2000")
	}
	for y := range 1000 {
		add("", fmt.Sprintf("%04d", 1000+y))
	}
	var buf bytes.Buffer
	if err := Encode(&buf, obs, EncodeMeta{Sources: []store.Source{{ID: "s"}}}); err != nil {
		t.Fatal(err)
	}
	ds, err := Decode(&buf, "sparse.json")
	if err != nil {
		t.Fatal(err)
	}
	if !ds.Sparse() {
		t.Errorf("a cube of %d cells was written dense, want sparse", ds.Len())
	}
	got, err := ToObservations(ds)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(obs, func(a, b store.Observation) int { return strings.Compare(a.Key(), b.Key()) })
	if !reflect.DeepEqual(got, obs) {
		t.Errorf("got %d observations back, want the %d encoded", len(got), len(obs))
	}
}

func TestEncodeErrors(t *testing.T) {
	base := func() store.Observation {
		return store.Observation{Offence: "o", Region: "NO", Period: "2013", Measure: "m", Value: ptr(1),
			Flags: []string{}, Source: "unodc-glotip-2024", Confidence: "A", Locator: "l"}
	}
	tests := []struct {
		name   string
		change func(*store.Observation)
		want   string
	}{
		{"bad period", func(o *store.Observation) { o.Period = "2013K1" }, `period "2013K1"`},
		{"unknown source", func(o *store.Observation) { o.Source = "nope" }, `source "nope" is not in the metadata`},
		{"NaN", func(o *store.Observation) { o.Value = ptr(math.NaN()) }, "not a finite number"},
		{"reserved total", func(o *store.Observation) { o.Breakdown.Sex = "total" }, `"total" is reserved`},
		{"same cell", func(*store.Observation) {}, "observations[0] and observations[1] fall in the same cell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.change(&o)
			err := Encode(&bytes.Buffer{}, []store.Observation{base(), o}, testMeta())
			if tt.name != "same cell" {
				err = Encode(&bytes.Buffer{}, []store.Observation{o}, testMeta())
			}
			if err == nil || !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an invalid error containing %q", err, tt.want)
			}
		})
	}
}

func TestToObservationsRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, testObservations(), testMeta()); err != nil {
		t.Fatal(err)
	}
	ds, err := Decode(bytes.NewReader(buf.Bytes()), "encoded.json")
	if err != nil {
		t.Fatal(err)
	}
	noExt := *ds
	noExt.Extension = nil
	if _, err := ToObservations(&noExt); err == nil || !strings.Contains(err.Error(), "encoded.json: extension.krimstat.cells: missing") {
		t.Errorf("got %v, want the missing extension named", err)
	}
	fewCells := *ds
	fewCells.Extension = json.RawMessage(`{"krimstat":{"cells":{}}}`)
	if _, err := ToObservations(&fewCells); err == nil || !strings.Contains(err.Error(), "has a value but no extension.krimstat.cells entry") {
		t.Errorf("got %v, want the cell without provenance named", err)
	}
	sample := mustDecodeFile(t, "testdata/ssb-05300-v0.json")
	if _, err := ToObservations(sample); err == nil || !strings.Contains(err.Error(), `ssb-05300-v0.json: id: dimension "offence" is missing`) {
		t.Errorf("got %v, want a foreign dataset refused", err)
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
