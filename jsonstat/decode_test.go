package jsonstat

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/store"
)

const testdata = "testdata"

// mustDecodeFile decodes a file of the test data, named by its base name.
func mustDecodeFile(tb testing.TB, path string) *Dataset {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	ds, err := Decode(f, filepath.Base(path))
	if err != nil {
		tb.Fatalf("Decode(%s): %v", path, err)
	}
	return ds
}

func mustLoadMapping(tb testing.TB, path string) Mapping {
	tb.Helper()
	m, err := LoadMapping(path)
	if err != nil {
		tb.Fatalf("LoadMapping(%s): %v", path, err)
	}
	return m
}

func TestDecodeSSBSample(t *testing.T) {
	ds := mustDecodeFile(t, filepath.Join(testdata, "ssb-05300-v0.json"))
	if got, want := ds.Len(), 432; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	if got, want := strings.Join(ds.ID, ","), "Avstand1,Kulturtilbud,ContentsCode,Tid"; got != want {
		t.Errorf("ID = %s, want %s", got, want)
	}
	if got, want := ds.Updated, "2022-05-24T06:00:00Z"; got != want {
		t.Errorf("Updated = %s, want %s", got, want)
	}
	if got, want := strings.Join(ds.Role.Time, ","), "Tid"; got != want {
		t.Errorf("Role.Time = %s, want %s", got, want)
	}
	if got := string(ds.Extension); !strings.Contains(got, `"tableid": "05300"`) {
		t.Errorf("Extension = %s, want the px block with tableid 05300", got)
	}
	if got, want := ds.Dimension["Kulturtilbud"].CategoryLabel("05"), "Museum"; got != want {
		t.Errorf("label of Kulturtilbud 05 = %q, want %q", got, want)
	}

	var cells, nulls int
	status := map[string]int{}
	for c := range ds.Cells() {
		cells++
		if c.Value == nil {
			nulls++
		}
		if c.Status != "" {
			status[c.Status]++
		}
	}
	if cells != 432 || nulls != 28 || status["."] != 20 || status[".."] != 8 || len(status) != 2 {
		t.Errorf("cells %d, nulls %d, statuses %v; want 432, 28, map[.:20 ..:8]", cells, nulls, status)
	}

	tests := []struct {
		i      int
		codes  string
		value  string
		status string
	}{
		{0, "Avstand1=01, Kulturtilbud=01, ContentsCode=Avstand, Tid=1991", "16", ""},
		{1, "Avstand1=01, Kulturtilbud=01, ContentsCode=Avstand, Tid=1994", "14", ""},
		{71, "Avstand1=01, Kulturtilbud=08, ContentsCode=Avstand, Tid=2021", "null", "."},
		{360, "Avstand1=06, Kulturtilbud=01, ContentsCode=Avstand, Tid=1991", "null", ".."},
		{431, "Avstand1=06, Kulturtilbud=08, ContentsCode=Avstand, Tid=2021", "null", "."},
	}
	for _, tt := range tests {
		c := ds.Cell(tt.i)
		if got := ds.describe(tt.i); got != tt.codes {
			t.Errorf("cell %d codes = %s, want %s", tt.i, got, tt.codes)
		}
		if got := showValue(c.Value); got != tt.value {
			t.Errorf("cell %d value = %s, want %s", tt.i, got, tt.value)
		}
		if c.Status != tt.status {
			t.Errorf("cell %d status = %q, want %q", tt.i, c.Status, tt.status)
		}
		if got := ds.FlatIndex(ds.Coords(tt.i)); got != tt.i {
			t.Errorf("FlatIndex(Coords(%d)) = %d, want %d", tt.i, got, tt.i)
		}
	}
	if got := ds.Cell(0).Codes["Tid"]; got != "1991" {
		t.Errorf("Cell(0).Codes[Tid] = %s, want 1991", got)
	}
}

func showValue(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// TestDecodeForms covers the shapes the specification allows for index,
// status and value, each in a minimal document.
func TestDecodeForms(t *testing.T) {
	const dims = `"id":["a","b"],"size":[2,1],"dimension":{"a":{"category":{"index":%s}},"b":{"category":{"label":{"x":"only"}}}}`
	doc := func(index, value, status string) string {
		s := `{"version":"2.0","class":"dataset",` + strings.Replace(dims, "%s", index, 1) + `,"value":` + value
		if status != "" {
			s += `,"status":` + status
		}
		return s + "}"
	}
	tests := []struct {
		name   string
		doc    string
		values string // value per cell
		status string // status per cell
		cells  int    // cells Cells visits
	}{
		{"index object, value array", doc(`{"p":0,"q":1}`, `[1,null]`, ""), "1 null", ",", 2},
		{"index array", doc(`["p","q"]`, `[1.5,-2e3]`, ""), "1.5 -2000", ",", 2},
		{"status string applies to all", doc(`["p","q"]`, `[1,2]`, `"e"`), "1 2", "e,e", 2},
		{"status one-element array applies to all", doc(`["p","q"]`, `[1,2]`, `["p"]`), "1 2", "p,p", 2},
		{"status array", doc(`["p","q"]`, `[1,null]`, `[null,".."]`), "1 null", ",..", 2},
		{"status object", doc(`["p","q"]`, `[1,null]`, `{"1":":"}`), "1 null", ",:", 2},
		{"sparse value", doc(`["p","q"]`, `{"1":7}`, ""), "null 7", ",", 1},
		{"sparse value with status only cell", doc(`["p","q"]`, `{"1":7}`, `{"0":":"}`), "null 7", ":,", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Decode(strings.NewReader(tt.doc), "t.json")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var vals, stats []string
			for i := range ds.Len() {
				vals = append(vals, showValue(ds.Value(i)))
				stats = append(stats, ds.Status(i))
			}
			if got := strings.Join(vals, " "); got != tt.values {
				t.Errorf("values = %s, want %s", got, tt.values)
			}
			if got := strings.Join(stats, ","); got != tt.status {
				t.Errorf("statuses = %s, want %s", got, tt.status)
			}
			n := 0
			for range ds.Cells() {
				n++
			}
			if n != tt.cells {
				t.Errorf("Cells visited %d, want %d", n, tt.cells)
			}
			if got := ds.Dimension["b"].Codes; len(got) != 1 || got[0] != "x" {
				t.Errorf("codes of the single-category dimension = %v, want [x]", got)
			}
		})
	}
}

// TestBadCorpus asserts that every file under testdata/bad is
// rejected with an error that names the file, the position and the field.
// Files that decode are mapped with bad-mapping.json, so the corpus also
// covers mapping errors.
func TestBadCorpus(t *testing.T) {
	m := mustLoadMapping(t, filepath.Join(testdata, "bad-mapping.json"))
	tests := []struct {
		file string
		want []string // substrings of the error, after the file name
	}{
		{"malformed.json", []string{"byte offset 42 (line 4)", "malformed JSON", "after object key:value pair"}},
		{"truncated.json", []string{"byte offset 466", "dimension.ContentsCode.category", "truncated"}},
		{"trailing-data.json", []string{"byte offset", "trailing data"}},
		{"empty.json", []string{"byte offset 0", "empty document"}},
		{"duplicate-key.json", []string{"dimension.LovbruddKrim.category.index.A", `duplicate key "A"`}},
		{"value-length-mismatch.json", []string{"value:", "7 values", "multiply to 8"}},
		{"id-size-mismatch.json", []string{"size:", "2 sizes for 3 dimension ids"}},
		{"index-out-of-range.json", []string{"dimension.LovbruddKrim.category.index.B", "index 5 is out of range"}},
		{"duplicate-index.json", []string{"dimension.LovbruddKrim.category.index.B", "duplicate index 0", `category "A"`}},
		{"duplicate-category.json", []string{"dimension.LovbruddKrim.category.index[1]", `duplicate category "A"`}},
		{"category-count.json", []string{"dimension.LovbruddKrim.category.index", "2 categories, but size[0] is 3"}},
		{"value-not-number.json", []string{`value[5]: "abc" is not a number or null`}},
		{"unknown-property.json", []string{"staus: unknown property"}},
		{"status-out-of-range.json", []string{`status["8"]`, "out of range"}},
		{"sparse-index-out-of-range.json", []string{`value["9"]`, "out of range"}},
		{"missing-dimension.json", []string{"dimension.Tid: missing", "id[2]"}},
		{"wrong-version.json", []string{"version:", `"1.0" is not supported`}},
		{"size-not-integer.json", []string{"size[2]", "2.5 is not a non-negative integer"}},
		{"unknown-code.json", []string{"dimension.LovbruddKrim", `category "X" (index 2)`, "offence.codes"}},
		{"unknown-status.json", []string{"value[1]", "LovbruddKrim=A, ContentsCode=Lovbrudd, Tid=2014", `status "!" is not in the status table`}},
		{"gap-status-with-number.json", []string{"value[1]", `status "." means "not available", but the value is 2`}},
		{"duplicate-after-mapping.json", []string{"value[4]", "LovbruddKrim=AA", "same observation as value[0]", "LovbruddKrim=A,", "offence test-a"}},
	}
	files, err := filepath.Glob(filepath.Join(testdata, "bad", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("the bad corpus has %d files, the table %d: every file needs a row", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(testdata, "bad", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ds, err := Decode(f, tt.file)
			if err == nil {
				_, err = Map(ds, m)
			}
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("got %v, want an error wrapping store.ErrInvalid", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.file+": ") {
				t.Errorf("got %q, want it to start with the file name %s", msg, tt.file)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("got %q, want it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not an object", `[1]`, "want an object"},
		{"class", `{"version":"2.0","class":"collection","id":[],"size":[],"dimension":{},"value":[1]}`, `class: "collection" is not supported`},
		{"missing value", `{"version":"2.0","class":"dataset","id":[],"size":[],"dimension":{}}`, "value: required property is missing"},
		{"index absent with two labels", `{"version":"2.0","class":"dataset","id":["a"],"size":[2],"dimension":{"a":{"category":{"label":{"x":"","y":""}}}},"value":[1,2]}`, "dimension.a.category.index: missing"},
		{"label for unknown code", `{"version":"2.0","class":"dataset","id":["a"],"size":[1],"dimension":{"a":{"category":{"index":["x"],"label":{"y":""}}}},"value":[1]}`, "dimension.a.category.label.y: label for a category that is not in the index"},
		{"dimension not in id", `{"version":"2.0","class":"dataset","id":["a"],"size":[1],"dimension":{"a":{"category":{"index":["x"]}},"b":{"category":{"index":["x"]}}},"value":[1]}`, "dimension.b: not listed in id"},
		{"role names unknown dimension", `{"version":"2.0","class":"dataset","id":["a"],"size":[1],"dimension":{"a":{"category":{"index":["x"]}}},"value":[1],"role":{"time":["t"]}}`, `role.time[0]: "t" is not a dimension id`},
		{"value true", `{"version":"2.0","class":"dataset","id":["a"],"size":[1],"dimension":{"a":{"category":{"index":["x"]}}},"value":[true]}`, "value[0]: true is not a number or null"},
		{"value out of range", `{"version":"2.0","class":"dataset","id":["a"],"size":[1],"dimension":{"a":{"category":{"index":["x"]}}},"value":[1e999]}`, "value[0]: 1e999 is out of the range"},
		{"sparse key not canonical", `{"version":"2.0","class":"dataset","id":["a"],"size":[2],"dimension":{"a":{"category":{"index":["x","y"]}}},"value":{"01":1}}`, `value["01"]: key "01" is not a flat value index`},
		{"status array length", `{"version":"2.0","class":"dataset","id":["a"],"size":[3],"dimension":{"a":{"category":{"index":["x","y","z"]}}},"value":[1,2,3],"status":["a","b"]}`, "status: 2 statuses"},
		{"producer error", `{"version":"2.0","class":"dataset","id":[],"size":[],"dimension":{},"value":[1],"error":[{"status":"500"}]}`, "error: the producer reports errors"},
		{"huge sparse cube", `{"version":"2.0","class":"dataset","id":["a","b","c"],"size":[100000,100000,1000],"dimension":{},"value":{}}`, "size: the product of the sizes exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.doc), "t.json")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testdata, "ssb-05300-v0.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(data), "ssb-05300-v0.json"); err != nil {
			b.Fatal(err)
		}
	}
}
