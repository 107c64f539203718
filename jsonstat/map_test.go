package jsonstat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/store"
)

const mappings = "../ingest/mappings"

func TestMapSSBSample(t *testing.T) {
	ds := mustDecodeFile(t, filepath.Join(testdata, "ssb-05300-v0.json"))
	m := mustLoadMapping(t, filepath.Join(mappings, "ssb-05300-example.json"))
	obs, gaps, err := MapWithGaps(ds, m)
	if err != nil {
		t.Fatalf("MapWithGaps: %v", err)
	}
	// 432 cells: 28 are null, 20 with "." and 8 with "..", all gaps.
	if len(obs) != 404 || len(gaps) != 28 {
		t.Fatalf("got %d observations and %d gaps, want 404 and 28", len(obs), len(gaps))
	}
	byStatus := map[string]int{}
	for _, g := range gaps {
		byStatus[g.Status]++
	}
	if byStatus["."] != 20 || byStatus[".."] != 8 {
		t.Errorf("gaps by status = %v, want map[.:20 ..:8]", byStatus)
	}
	first := obs[0]
	want := store.Observation{
		Offence: "test-cinema", Region: "NO", Period: "1991", Measure: "test-share-under-1km",
		Value: ptr(16), Flags: []string{}, Source: "test-ssb-05300", Confidence: "A",
		Locator: "SSB table 05300, Avstand1=01, Kulturtilbud=01, ContentsCode=Avstand, Tid=1991",
	}
	if !sameObservation(first, want) {
		t.Errorf("first observation = %+v, want %+v", first, want)
	}
	g := gaps[len(gaps)-1]
	if g.Offence != "test-bookshop" || g.Measure != "test-share-50km-plus" || g.Period != "2021" || g.Status != "." ||
		!strings.HasSuffix(g.Locator, "Tid=2021") {
		t.Errorf("last gap = %+v, want test-bookshop, test-share-50km-plus, 2021, status ., a locator ending Tid=2021", g)
	}
	for _, o := range obs {
		if o.Value == nil {
			t.Errorf("observation %s has no value: a gap became an observation", o.Locator)
		}
	}
	// The observations must be loadable: no duplicate keys, valid periods.
	keys := map[string]bool{}
	for _, o := range obs {
		if keys[o.Key()] {
			t.Errorf("duplicate key for %s", o.Locator)
		}
		keys[o.Key()] = true
	}
}

func TestMapEurostatSparse(t *testing.T) {
	ds := mustDecodeFile(t, filepath.Join(testdata, "eurostat-sparse.json"))
	m := mustLoadMapping(t, filepath.Join(testdata, "eurostat-test-mapping.json"))
	obs, gaps, err := MapWithGaps(ds, m)
	if err != nil {
		t.Fatalf("MapWithGaps: %v", err)
	}
	type row struct {
		offence, region, period, value, text, flags string
	}
	var got []row
	for _, o := range obs {
		text := ""
		if o.Value != nil {
			text = showValue(o.Value)
		}
		got = append(got, row{o.Offence, o.Region, o.Period, text, o.ValueText, strings.Join(o.Flags, " ")})
	}
	want := []row{
		{"test-sexual-violence", "NO", "2020", "10", "", ""},
		{"test-sexual-violence", "NO", "2021", "11", "", ""},
		{"test-sexual-violence", "NO", "2022", "12", "", "provisional"},
		{"test-sexual-violence", "SE", "2020", "20", "", ""},
		{"test-sexual-violence", "SE", "2022", "22", "", "break-in-series provisional"},
		{"test-sexual-exploitation", "NO", "2020", "5", "", ""},
		{"test-sexual-exploitation", "NO", "2021", "", "c", "suppressed confidential"},
		{"test-sexual-exploitation", "SE", "2020", "7", "", ""},
		{"test-sexual-exploitation", "SE", "2021", "8", "", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	if len(gaps) != 2 || gaps[0].Locator != "Eurostat table crim_off_cat, freq=A, unit=NR, iccs=ICCS0301, geo=SE, time=2021" {
		t.Errorf("gaps = %+v, want 2, the first at value[4] with the default locator prefix", gaps)
	}
}

func TestMapPeriodsAndBreakdowns(t *testing.T) {
	doc := `{"version":"2.0","class":"dataset","id":["Kjonn","Tid"],"size":[3,3],
	"dimension":{"Kjonn":{"category":{"index":["0","1","2"]}},"Tid":{"category":{"index":["2013K1","2013M02","2014"]}}},
	"value":[1,2,3,4,5,6,7,8,9]}`
	ds, err := Decode(strings.NewReader(doc), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	m := testMapping()
	m.Breakdown = map[string]Axis{"sex": {Dimension: "Kjonn", Codes: map[string]string{"0": "", "1": "male", "2": "female"}}}
	m.Offence, m.Period = Axis{Fixed: "sex-purchase"}, Axis{Dimension: "Tid", Format: FormatSSB}
	obs, err := Map(ds, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range obs {
		got = append(got, o.Breakdown.Sex+"/"+o.Period+"/"+strings.Join(o.Flags, "+"))
	}
	want := []string{
		"/2013-Q1/partial-year", "/2013-02/partial-year", "/2014/",
		"male/2013-Q1/partial-year", "male/2013-02/partial-year", "male/2014/",
		"female/2013-Q1/partial-year", "female/2013-02/partial-year", "female/2014/",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestMapDimensionCoverage(t *testing.T) {
	ds := mustDecodeFile(t, filepath.Join(testdata, "ssb-05300-v0.json"))
	tests := []struct {
		name   string
		change func(*Mapping)
		want   string
	}{
		{"unmapped dimension", func(m *Mapping) { delete(m.Filter, "ContentsCode") },
			`ssb-05300-v0.json: id[2]: dimension "ContentsCode" is not in mapping`},
		{"mapping names a missing dimension", func(m *Mapping) { m.Filter["Kjonn"] = "0" },
			`ssb-05300-example.json: filter: dimension "Kjonn" is not in ssb-05300-v0.json`},
		{"filter category missing", func(m *Mapping) { m.Filter["ContentsCode"] = "Antall" },
			`filter.ContentsCode: category "Antall" is not in dimension ContentsCode`},
		{"ignore skips a category", func(m *Mapping) {
			delete(m.Offence.Codes, "08")
			m.Offence.Ignore = []string{"08"}
		}, ""},
		{"period code without format or mapping", func(m *Mapping) { m.Period.Format = ""; m.Period.Codes = map[string]string{"1991": "1991"} },
			`ssb-05300-v0.json: dimension.Tid: category "1994" (index 1) has no mapping in period.codes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustLoadMapping(t, filepath.Join(mappings, "ssb-05300-example.json"))
			m.Name = "ssb-05300-example.json"
			tt.change(&m)
			_, err := Map(ds, m)
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMapNullStatuses(t *testing.T) {
	doc := `{"version":"2.0","class":"dataset","id":["Tid"],"size":[4],
	"dimension":{"Tid":{"category":{"index":["2010","2011","2012","2013"]}}},
	"value":[null,null,3,null],"status":{"1":"...","2":"*","3":"*"}}`
	ds, err := Decode(strings.NewReader(doc), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	m := testMapping()
	_, err = Map(ds, m)
	if err == nil || !strings.Contains(err.Error(), `t.json: value[3]: (Tid=2013) the value is null, but status "*" neither marks a gap nor a suppressed value`) {
		t.Fatalf("got %v, want the null with a value-only status named", err)
	}
	ds.sstatus[3] = ".."
	obs, gaps, err := MapWithGaps(ds, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 2 || len(gaps) != 2 {
		t.Fatalf("got %d observations and %d gaps, want 2 and 2", len(obs), len(gaps))
	}
	sup := obs[0]
	if sup.Value != nil || sup.ValueText != "..." || !slices.Equal(sup.Flags, []string{"suppressed", "confidential"}) {
		t.Errorf("suppressed observation = %+v, want no value, value_text ..., flags suppressed confidential", sup)
	}
	if got := strings.Join(obs[1].Flags, " "); got != "provisional" {
		t.Errorf("flags of the provisional value = %s, want provisional", got)
	}
	if gaps[0].Status != "" || gaps[0].Period != "2010" || gaps[1].Status != ".." {
		t.Errorf("gaps = %+v, want 2010 without status and 2013 with ..", gaps)
	}
}

func TestLoadMappingTemplates(t *testing.T) {
	for _, name := range []string{"ssb-08484.json", "ssb-08485.json"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(mappings, name)
			_, err := LoadMapping(path)
			if err == nil || !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("got %v, want the template refused", err)
			}
			for _, w := range []string{path + ": todo:", "unresolved entries", "LovbruddKrim codes"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
			// Without its todo list the template still cannot be used:
			// it has no offence codes, and nothing is guessed.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			delete(raw, "todo")
			data, _ = json.Marshal(raw)
			_, err = DecodeMapping(strings.NewReader(string(data)), name)
			if err == nil || !strings.Contains(err.Error(), name+": offence.codes: no codes") {
				t.Errorf("got %v, want offence.codes refused", err)
			}
		})
	}
}

func TestMappingValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Mapping)
		want   string
	}{
		{"ok", func(*Mapping) {}, ""},
		{"no source id", func(m *Mapping) { m.Source.ID = "" }, "source.id: required"},
		{"confidence", func(m *Mapping) { m.Confidence = "D" }, `confidence: "D"`},
		{"axis empty", func(m *Mapping) { m.Region = Axis{} }, "region: name a source dimension or a fixed value"},
		{"axis both", func(m *Mapping) { m.Region = Axis{Dimension: "R", Fixed: "NO"} }, "region: give either"},
		{"fixed period", func(m *Mapping) { m.Period = Axis{Fixed: "2013K1"} }, "period.fixed: period \"2013K1\""},
		{"bad period format", func(m *Mapping) { m.Period.Format = "iso" }, `period.format: "iso"`},
		{"period code", func(m *Mapping) { m.Period.Codes = map[string]string{"x": "2013-13"} }, `period.codes.x: period "2013-13"`},
		{"empty id", func(m *Mapping) { m.Measure = Axis{Dimension: "M", Codes: map[string]string{"a": ""}} }, "measure.codes.a: empty Krimstat id"},
		{"mapped and ignored", func(m *Mapping) {
			m.Measure = Axis{Dimension: "M", Codes: map[string]string{"a": "x"}, Ignore: []string{"a"}}
		}, `measure.codes.a: code "a" is both mapped and ignored`},
		{"dimension twice", func(m *Mapping) { m.Filter = map[string]string{"Tid": "2013"} }, `filter.Tid: dimension "Tid" is already used by period.dimension`},
		{"unknown breakdown", func(m *Mapping) { m.Breakdown = map[string]Axis{"gender": {Fixed: "x"}} }, "breakdown.gender: unknown breakdown"},
		{"unknown action", func(m *Mapping) { m.Status["x"] = StatusRule{Action: "drop", Meaning: "x"} }, `status.x.action: "drop"`},
		{"unknown flag", func(m *Mapping) { m.Flags = []string{"preliminary"} }, `flags[0]: unknown flag "preliminary"`},
		{"gap with flags", func(m *Mapping) {
			m.Status["x"] = StatusRule{Action: ActionGap, Flags: []string{"provisional"}, Meaning: "x"}
		}, "status.x.flags: a gap produces no observation"},
		{"status chars", func(m *Mapping) { m.StatusChars = true }, "status[\"..\"]: with status_chars every symbol is one character"},
		{"todo", func(m *Mapping) { m.Todo = []string{"confirm the codes"} }, "todo: the mapping has 1 unresolved entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMapping()
			tt.change(&m)
			err := m.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "m.json: "+tt.want) {
				t.Errorf("got %v, want an error containing %q", err, "m.json: "+tt.want)
			}
		})
	}
}

func TestDecodeMappingStrict(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"unknown field", `{"sorce":{}}`, `unknown field "sorce"`},
		{"wrong type", `{"confidence": 1}`, "confidence: want string, got JSON number"},
		{"malformed", `{"confidence": }`, "m.json: byte offset 15 (line 1): confidence: malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMapping(strings.NewReader(tt.doc), "m.json")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConvertPeriod(t *testing.T) {
	tests := []struct {
		format, code, want string
		ok                 bool
	}{
		{FormatSSB, "2013", "2013", true},
		{FormatSSB, "2013K1", "2013-Q1", true},
		{FormatSSB, "2013K4", "2013-Q4", true},
		{FormatSSB, "2013K5", "", false},
		{FormatSSB, "2013M01", "2013-01", true},
		{FormatSSB, "2013M12", "2013-12", true},
		{FormatSSB, "2013M13", "", false},
		{FormatSSB, "2013H2", "2013-H2", true},
		{FormatSSB, "2013T1", "2013-T1", true},
		{FormatSSB, "2013U01", "", false},
		{FormatSSB, "2013-2014", "", false},
		{FormatEurostat, "2013", "2013", true},
		{FormatEurostat, "2013-Q1", "2013-Q1", true},
		{FormatEurostat, "2013Q2", "2013-Q2", true},
		{FormatEurostat, "2013-S1", "2013-H1", true},
		{FormatEurostat, "2013-01", "2013-01", true},
		{FormatEurostat, "2013M03", "2013-03", true},
		{FormatEurostat, "2013-W01", "", false},
		{FormatKrimstat, "2013-T1", "2013-T1", true},
		{FormatKrimstat, "2013K1", "", false},
		{FormatSSB, "abcd", "", false},
	}
	for _, tt := range tests {
		got, ok := convertPeriod(tt.format, tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("convertPeriod(%s, %q) = %q, %v, want %q, %v", tt.format, tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

// testMapping is a valid mapping of a dataset with a single Tid dimension.
func testMapping() Mapping {
	return Mapping{
		Name: "m.json",
		Source: store.Source{ID: "test", Publisher: "Statistics Norway (SSB)", Title: "Test", URL: "https://example.org/t",
			TableID: "00000", Kind: "official", Licence: "CC BY 4.0"},
		Confidence: "A",
		Offence:    Axis{Fixed: "sex-purchase"},
		Region:     Axis{Fixed: "NO"},
		Period:     Axis{Dimension: "Tid", Format: FormatSSB},
		Measure:    Axis{Fixed: "reported-offences"},
		Status: map[string]StatusRule{
			".":   {Action: ActionGap, Meaning: "not available"},
			"..":  {Action: ActionGap, Meaning: "not yet available"},
			"...": {Action: ActionSuppressed, Flags: []string{store.FlagConfidential}, Meaning: "confidential"},
			"*":   {Action: ActionValue, Flags: []string{store.FlagProvisional}, Meaning: "provisional"},
		},
	}
}

func ptr(f float64) *float64 { return &f }

func sameObservation(a, b store.Observation) bool {
	if (a.Value == nil) != (b.Value == nil) || (a.Value != nil && *a.Value != *b.Value) {
		return false
	}
	a.Value, b.Value = nil, nil
	return a.Offence == b.Offence && a.Region == b.Region && a.Period == b.Period && a.Measure == b.Measure &&
		a.Breakdown == b.Breakdown && a.ValueText == b.ValueText && slices.Equal(a.Flags, b.Flags) &&
		a.Source == b.Source && a.Confidence == b.Confidence && a.Locator == b.Locator
}
