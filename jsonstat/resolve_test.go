package jsonstat

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/store"
)

// labelMapping is the 05300 example mapping with its cultural venues
// selected by their published labels instead of their codes.
func labelMapping(t *testing.T) Mapping {
	t.Helper()
	m := mustLoadMapping(t, filepath.Join(mappings, "ssb-05300-example.json"))
	m.Offence.Codes = map[string]string{"01": "test-cinema", "02": "test-theatre", "03": "test-concert-hall", "04": "test-gallery"}
	m.Offence.Labels = map[string]string{
		"Museum":                         "test-museum",
		"Idrettsplass eller idrettshall": "test-sports-ground",
		"Folkebibliotek":                 "test-public-library",
		"Bokhandel":                      "test-bookshop",
	}
	m.Offence.Lang = "no"
	return m
}

// sample05300 returns the real 05300 response, edited by edit.
func sample05300(t *testing.T, edit func(doc map[string]any)) *Dataset {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "ssb-05300-v0.json"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc)
		if b, err = json.Marshal(doc); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := Decode(bytes.NewReader(b), "ssb-05300-v0.json")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func setLabel(dim, code, label string) func(map[string]any) {
	return func(doc map[string]any) {
		d := doc["dimension"].(map[string]any)[dim].(map[string]any)
		d["category"].(map[string]any)["label"].(map[string]any)[code] = label
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Mapping)
		doc   func(map[string]any)
		codes map[string]string // the offence codes after resolution
		want  []string          // error fragments; none for success
	}{
		{
			name: "exact labels",
			codes: map[string]string{"01": "test-cinema", "02": "test-theatre", "03": "test-concert-hall", "04": "test-gallery",
				"05": "test-museum", "06": "test-sports-ground", "07": "test-public-library", "08": "test-bookshop"},
		},
		{
			name: "no match lists the nearest labels",
			edit: func(m *Mapping) {
				delete(m.Offence.Labels, "Museum")
				m.Offence.Labels["Museer"] = "test-museum"
			},
			want: []string{"ssb-05300-example.json: offence.labels[\"Museer\"]: no category of dimension Kulturtilbud in ssb-05300-v0.json has exactly this label",
				`the nearest published labels are "Museum" (code 05), `, "(code 08)"},
		},
		{
			name: "case and spaces count",
			edit: func(m *Mapping) {
				delete(m.Offence.Labels, "Bokhandel")
				m.Offence.Labels["bokhandel "] = "test-bookshop"
			},
			want: []string{`offence.labels["bokhandel "]: no category`, `nearest published labels are "Bokhandel" (code 08)`},
		},
		{
			name: "several matches",
			doc:  setLabel("Kulturtilbud", "06", "Museum"),
			want: []string{`offence.labels["Museum"]: 2 categories of dimension Kulturtilbud in ssb-05300-v0.json have this label (codes 05, 06)`},
		},
		{
			name: "label resolves to a code already mapped",
			edit: func(m *Mapping) { m.Offence.Codes["05"] = "test-other" },
			want: []string{`offence.labels["Museum"]: resolves to code "05" of dimension Kulturtilbud, which is already mapped to "test-other"`},
		},
		{
			name: "label resolves to an ignored code",
			edit: func(m *Mapping) { m.Offence.Ignore = []string{"05"} },
			want: []string{`resolves to code "05" of dimension Kulturtilbud, which offence.ignore lists`},
		},
		{
			name: "dimension missing",
			edit: func(m *Mapping) {
				m.Offence.Dimension = "Tilbud"
			},
			want: []string{`offence.dimension: dimension "Tilbud" is not in ssb-05300-v0.json (it has Avstand1, Kulturtilbud, ContentsCode, Tid)`},
		},
		{
			name: "filter by label",
			edit: func(m *Mapping) {
				m.Filter = nil
				m.FilterLabels = map[string]LabelFilter{"ContentsCode": {Label: "Avstand til nærmeste lokale/sted", Lang: "no"}}
			},
			codes: map[string]string{"01": "test-cinema", "02": "test-theatre", "03": "test-concert-hall", "04": "test-gallery",
				"05": "test-museum", "06": "test-sports-ground", "07": "test-public-library", "08": "test-bookshop"},
		},
		{
			name: "filter label missing",
			edit: func(m *Mapping) {
				m.Filter = nil
				m.FilterLabels = map[string]LabelFilter{"ContentsCode": {Label: "Avstand", Lang: "no"}}
			},
			want: []string{`filter_labels.ContentsCode.label: no category of dimension ContentsCode`, `"Avstand til nærmeste lokale/sted" (code Avstand)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := labelMapping(t)
			if tt.edit != nil {
				tt.edit(&m)
			}
			orig := maps.Clone(m.Offence.Labels)
			ds := sample05300(t, tt.doc)
			got, res, err := m.Resolve(ds)
			if len(tt.want) > 0 {
				if err == nil || !errors.Is(err, store.ErrInvalid) {
					t.Fatalf("got %v, want an invalid error", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("got %q, want it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.Offence.Codes, tt.codes) || got.Offence.Labels != nil {
				t.Errorf("got codes %v and labels %v, want %v and none", got.Offence.Codes, got.Offence.Labels, tt.codes)
			}
			if !maps.Equal(m.Offence.Labels, orig) || len(m.Offence.Codes) != 4 {
				t.Error("Resolve changed the mapping it was given")
			}
			if len(res) < 4 || res[0] != (Resolution{Axis: "offence", Dimension: "Kulturtilbud", Label: "Bokhandel", Code: "08", KrimstatID: "test-bookshop"}) {
				t.Errorf("got resolutions %+v, want Bokhandel first (labels in byte order)", res)
			}
			if len(got.Resolved) != len(res) {
				t.Errorf("got %d Resolved, want the %d resolutions", len(got.Resolved), len(res))
			}
			if got.FilterLabels != nil || got.Filter["ContentsCode"] != "Avstand" {
				t.Errorf("got filter %v and filter labels %v, want ContentsCode=Avstand", got.Filter, got.FilterLabels)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("the resolved mapping does not validate: %v", err)
			}
		})
	}
}

func TestMapQuotesResolvedLabels(t *testing.T) {
	ds := mustDecodeFile(t, filepath.Join(testdata, "ssb-05300-v0.json"))
	m := labelMapping(t)
	// Map resolves a mapping with labels itself.
	obs, err := Map(ds, m)
	if err != nil {
		t.Fatal(err)
	}
	var museum, cinema string
	for _, o := range obs {
		switch {
		case o.Offence == "test-museum" && museum == "":
			museum = o.Locator
		case o.Offence == "test-cinema" && cinema == "":
			cinema = o.Locator
		}
	}
	if want := `SSB table 05300, Avstand1=01, Kulturtilbud=05 "Museum", ContentsCode=Avstand, Tid=1991`; museum != want {
		t.Errorf("got locator %q, want %q", museum, want)
	}
	if want := "SSB table 05300, Avstand1=01, Kulturtilbud=01, ContentsCode=Avstand, Tid=1991"; cinema != want {
		t.Errorf("got locator %q, want a code-mapped category unquoted: %q", cinema, want)
	}
	if len(obs) != 404 {
		t.Errorf("got %d observations, want the 404 of the code mapping", len(obs))
	}
}

func TestValidateLabels(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Mapping)
		want string
	}{
		{"labels need a language", func(m *Mapping) { m.Offence.Lang = "" }, `offence.lang: "": labels need the language`},
		{"language shape", func(m *Mapping) { m.Offence.Lang = "norsk" }, `offence.lang: "norsk"`},
		{"empty label", func(m *Mapping) { m.Offence.Labels[" "] = "test-x" }, `offence.labels[" "]: empty label`},
		{"empty id", func(m *Mapping) { m.Offence.Labels["Museum"] = "" }, `offence.labels["Museum"]: empty Krimstat id`},
		{"id shape", func(m *Mapping) { m.Offence.Labels["Museum"] = "test museum" }, `"test museum" is not shaped like a Krimstat id`},
		{"label and code for one id", func(m *Mapping) { m.Offence.Labels["Museum"] = "test-cinema" },
			`offence.labels["Museum"]: Krimstat id "test-cinema" is also mapped by code "01" in offence.codes`},
		{"fixed axis with labels", func(m *Mapping) { m.Region.Labels = map[string]string{"Norge": "NO"}; m.Region.Lang = "no" },
			"region: a fixed value takes no codes, labels, ignore or format"},
		{"period label", func(m *Mapping) {
			m.Period.Labels = map[string]string{"år 2020": "2020-13"}
			m.Period.Lang = "no"
		}, `period.labels["år 2020"]`},
		{"filter label empty", func(m *Mapping) {
			m.FilterLabels = map[string]LabelFilter{"Avstand1": {Label: "", Lang: "no"}}
		}, "filter_labels.Avstand1.label: empty label"},
		{"filter label language", func(m *Mapping) {
			m.FilterLabels = map[string]LabelFilter{"Avstand1": {Label: "Under 1 km"}}
		}, "filter_labels.Avstand1.lang"},
		{"filter and filter label on one dimension", func(m *Mapping) {
			m.FilterLabels = map[string]LabelFilter{"ContentsCode": {Label: "x", Lang: "no"}}
		}, `filter_labels.ContentsCode: dimension "ContentsCode" is already used by filter.ContentsCode`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := labelMapping(t)
			tt.edit(&m)
			err := m.Validate()
			if err == nil || !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an invalid error containing %q", err, tt.want)
			}
		})
	}
	if err := labelMapping(t).Validate(); err != nil {
		t.Errorf("a mapping with labels and no todo: got %v, want it valid", err)
	}
}

func TestLoadMappingWithLabels(t *testing.T) {
	m := labelMapping(t)
	m.Name = ""
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMapping(bytes.NewReader(b), "labels.json")
	if err != nil {
		t.Fatalf("got %v, want a mapping with labels and no todo accepted", err)
	}
	if got.Offence.Labels["Museum"] != "test-museum" || got.Offence.Lang != "no" {
		t.Errorf("got offence %+v", got.Offence)
	}
	bad := strings.Replace(string(b), `"lang":"no"`, `"language":"no"`, 1)
	if _, err := DecodeMapping(strings.NewReader(bad), "labels.json"); err == nil || !strings.Contains(err.Error(), `unknown field "language"`) {
		t.Errorf("got %v, want the misspelt field refused", err)
	}
}

func TestDecodeMetadata(t *testing.T) {
	meta := `{"version":"2.0","class":"dataset","label":"13760: test","id":["Kjonn","Tid"],"size":[2,3],
		"dimension":{"Kjonn":{"label":"kjønn","category":{"index":{"0":0,"1":1},"label":{"0":"Begge kjønn","1":"Menn"}},
			"extension":{"elimination":true,"show":"value","codelists":[]}},
			"Tid":{"label":"år","category":{"index":{"2023":0,"2024":1,"2025":2},"label":{"2023":"2023","2024":"2024","2025":"2025"}}}},
		"extension":{"px":{"tableid":"13760"}},"value":[]}`
	ds, err := DecodeMetadata(strings.NewReader(meta), "metadata")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Dimension["Kjonn"].CategoryLabel("1") != "Menn" || ds.Len() != 6 {
		t.Errorf("got %v cells and label %q", ds.Len(), ds.Dimension["Kjonn"].CategoryLabel("1"))
	}
	n := 0
	for range ds.Cells() {
		n++
	}
	if n != 0 {
		t.Errorf("got %d cells to visit, want none in a metadata document", n)
	}
	if _, err := Decode(strings.NewReader(meta), "data"); err == nil || !strings.Contains(err.Error(), "0 values, but the sizes [2 3] multiply to 6") {
		t.Errorf("Decode: got %v, want an empty value refused in data", err)
	}
	broken := strings.Replace(meta, `"size":[2,3]`, `"size":[2,4]`, 1)
	if _, err := DecodeMetadata(strings.NewReader(broken), "metadata"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("got %v, want a metadata document with a wrong size refused", err)
	}
}
