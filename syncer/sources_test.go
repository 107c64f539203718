package syncer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/jsonstat"
	"github.com/krimstat/krimstat/store"
)

func TestLoadSourcesFile(t *testing.T) {
	s, err := LoadSources("../ingest/sources.json")
	if err != nil {
		t.Fatal(err)
	}
	enabled := map[string]bool{}
	for _, e := range s.Entries {
		enabled[e.ID] = e.Enabled
		if e.Enabled {
			if _, err := jsonstat.LoadMapping(s.MappingPath(e)); err != nil {
				t.Errorf("%s: %v", e.ID, err)
			}
			continue
		}
		// A disabled entry is disabled for a reason; where the reason is
		// an unresolved mapping, the mapping must still say so.
		if e.DisabledReason == "" {
			t.Errorf("%s: disabled without a reason", e.ID)
		}
	}
	want := map[string]bool{"ssb-08484": false, "ssb-08485": false, "eurostat-crim-off-cat": true,
		"eurostat-crim-thb-vsage": false, "eurostat-crim-thb-vict": false, "eurostat-crim-thb-sus": false,
		"eurostat-crim-thb-pros": false, "eurostat-crim-thb-conv": false}
	if fmt.Sprint(enabled) != fmt.Sprint(want) {
		t.Errorf("got entries %v, want %v", enabled, want)
	}
	var gate map[string]any
	if err := json.Unmarshal(s.Gate, &gate); err != nil {
		t.Errorf("gate: %v", err)
	}
}

func TestLoadSourcesRejects(t *testing.T) {
	esMapping := mustAbs(t, "../ingest/mappings/eurostat-crim-off-cat.json")
	ssbMapping := mustAbs(t, "testdata/ssb-99999-test.json")
	template := mustAbs(t, "../ingest/mappings/ssb-08484.json")
	entry := func(fields string) string {
		return `{"id": "eurostat-crim-off-cat", "kind": "eurostat", "table": "crim_off_cat", "query": ["geo=NO"], "mapping": "` + esMapping + `", "enabled": true` + fields + `}`
	}
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"unknown field", `{"sources": [` + entry(`, "enable": true`) + `]}`, []string{`unknown field "enable"`}},
		{"wrong type", `{"sources": [{"id": 1}]}`, []string{"sources.id: want string"}},
		{"malformed", "{\n\"sources\": [\n}", []string{"(line 3)", "malformed JSON"}},
		{"trailing data", `{"sources": [` + entry("") + `]} {}`, []string{"trailing data"}},
		{"no entries", `{"sources": []}`, []string{"sources: no entries"}},
		{"gate not an object", `{"gate": [], "sources": [` + entry("") + `]}`, []string{"gate: want an object"}},
		{"bad id", `{"sources": [` + strings.Replace(entry(""), `"id": "eurostat-crim-off-cat"`, `"id": "Eurostat crim"`, 1) + `]}`,
			[]string{`sources[0].id: "Eurostat crim": want lowercase`}},
		{"duplicate id", `{"sources": [` + entry("") + `,` + entry("") + `]}`, []string{`sources[1].id: "eurostat-crim-off-cat" repeats sources[0]`}},
		{"bad kind", `{"sources": [` + strings.Replace(entry(""), `"eurostat"`, `"pxweb"`, 1) + `]}`, []string{`sources[0].kind: "pxweb": want pxwebapi-v2 or eurostat`}},
		{"bad SSB table", `{"sources": [{"id": "ssb-8484", "kind": "pxwebapi-v2", "table": "8484", "mapping": "` + template + `", "enabled": false, "disabled_reason": "x"}]}`,
			[]string{`sources[0].table: "8484": want an SSB table id of five digits`}},
		{"query without value", `{"sources": [` + strings.Replace(entry(""), `"geo=NO"`, `"geo"`, 1) + `]}`, []string{`sources[0].query[0]: "geo": want key=value`}},
		{"query sets the format", `{"sources": [` + strings.Replace(entry(""), `"geo=NO"`, `"format=TSV"`, 1) + `]}`,
			[]string{`sources[0].query[0]: "format=TSV": the sync sets format itself`}},
		{"disabled without a reason", `{"sources": [` + strings.Replace(entry(""), `"enabled": true`, `"enabled": false`, 1) + `]}`,
			[]string{"sources[0].disabled_reason: required for a disabled entry"}},
		{"enabled with a reason", `{"sources": [` + entry(`, "disabled_reason": "x"`) + `]}`, []string{"sources[0].disabled_reason: the entry is enabled"}},
		{"missing mapping", `{"sources": [` + strings.Replace(entry(""), esMapping, "nowhere.json", 1) + `]}`,
			[]string{"sources[0].mapping: open", "nowhere.json"}},
		{"enabled with todo", `{"sources": [{"id": "ssb-08484", "kind": "pxwebapi-v2", "table": "08484", "query": ["lang=no"], "mapping": "` + template + `", "enabled": true}]}`,
			[]string{"sources[0].enabled: mapping", "ssb-08484.json still has 2 todo entries: set enabled to false"}},
		{"id is not the mapping's source", `{"sources": [` + strings.Replace(entry(""), `"id": "eurostat-crim-off-cat"`, `"id": "eurostat"`, 1) + `]}`,
			[]string{`sources[0].id: "eurostat", but mapping`, `describes source "eurostat-crim-off-cat"`}},
		{"table is not the mapping's", `{"sources": [` + strings.Replace(entry(""), `"table": "crim_off_cat"`, `"table": "crim_thb_vsage"`, 1) + `]}`,
			[]string{`sources[0].table: "crim_thb_vsage", but mapping`}},
		{"SSB without lang", `{"sources": [{"id": "test-ssb-99999", "kind": "pxwebapi-v2", "table": "99999", "query": ["valueCodes[Tid]=*"], "mapping": "` + ssbMapping + `", "enabled": true}]}`,
			[]string{"sources[0].query: give lang=no or lang=en"}},
		{"labels in another language", `{"sources": [{"id": "test-ssb-99999", "kind": "pxwebapi-v2", "table": "99999", "query": ["lang=en", "valueCodes[Tid]=*"], "mapping": "` + ssbMapping + `", "enabled": true}]}`,
			[]string{`selects offence by labels in "no", but the entry asks for lang "en"`}},
		{"selection of a dimension chosen by label", `{"sources": [{"id": "test-ssb-99999", "kind": "pxwebapi-v2", "table": "99999", "query": ["lang=no", "valueCodes[LovbruddKrim]=*"], "mapping": "` + ssbMapping + `", "enabled": true}]}`,
			[]string{`sources[0].query[1]: "valueCodes[LovbruddKrim]=*": dimension LovbruddKrim is selected by label`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sources.json")
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadSources(path)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("got %v, want an invalid error", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("got %q, want it to name the file", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
	if _, err := LoadSources(filepath.Join(t.TempDir(), "none.json")); err == nil || errors.Is(err, store.ErrInvalid) {
		t.Errorf("got %v, want a read error that is not ErrInvalid", err)
	}
}

func TestCollectNothingEnabled(t *testing.T) {
	path := writeSources(t, `{"id": "ssb-08484", "kind": "pxwebapi-v2", "table": "08484", "query": ["lang=no"],
		"mapping": "`+mustAbs(t, "../ingest/mappings/ssb-08484.json")+`", "enabled": false, "disabled_reason": "todo"}`)
	src, err := LoadSources(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Collect(t.Context(), Config{}, src)
	if got != nil || !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "no enabled entry") {
		t.Errorf("got %v, %v, want an invalid error: a sync of nothing is a mistake", got, err)
	}
}
