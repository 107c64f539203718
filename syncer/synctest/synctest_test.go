package synctest

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/jsonstat"
)

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestSSB(t *testing.T) {
	s := NewSSB(t)
	tests := []struct {
		name, query string
		status      int
		size        []int // of the dataset answered
	}{
		{"metadata", "/tables/99999/metadata?lang=no&outputFormat=json-stat2", 200, []int{5, 2, 3}},
		{"selection", "/tables/99999/data?lang=no&outputFormat=json-stat2&valueCodes[LovbruddKrim]=T12,T11&valueCodes[ContentsCode]=AnmeldteLovbrudd&valueCodes[Tid]=*", 200, []int{2, 1, 3}},
		{"eliminated dimension", "/tables/99999/data?lang=no&outputFormat=json-stat2&valueCodes[ContentsCode]=*&valueCodes[Tid]=2024", 200, []int{1, 2, 1}},
		{"mandatory dimension missing", "/tables/99999/data?lang=no&outputFormat=json-stat2&valueCodes[Tid]=*", 400, nil},
		{"unknown code", "/tables/99999/data?lang=no&outputFormat=json-stat2&valueCodes[ContentsCode]=X&valueCodes[Tid]=*", 400, nil},
		{"unknown dimension", "/tables/99999/data?lang=no&outputFormat=json-stat2&valueCodes[ContentsCode]=*&valueCodes[Tid]=*&valueCodes[Region]=0", 400, nil},
		{"other language", "/tables/99999/metadata?lang=en&outputFormat=json-stat2", 404, nil},
		{"other format", "/tables/99999/metadata?lang=no&outputFormat=csv", 400, nil},
		{"unknown table", "/tables/08484/metadata?lang=no&outputFormat=json-stat2", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, s.URL+tt.query)
			if status != tt.status {
				t.Fatalf("got %d %s, want %d", status, body, tt.status)
			}
			if tt.size == nil {
				return
			}
			decode := jsonstat.Decode
			if strings.Contains(tt.query, "/metadata") {
				decode = jsonstat.DecodeMetadata
			}
			ds, err := decode(bytes.NewReader(body), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.Size, tt.size) {
				t.Errorf("got size %v, want %v", ds.Size, tt.size)
			}
		})
	}
	// The selection keeps each cell's value and status.
	_, body := get(t, s.URL+"/tables/99999/data?lang=no&outputFormat=json-stat2&valueCodes[LovbruddKrim]=T12&valueCodes[ContentsCode]=AnmeldteLovbrudd&valueCodes[Tid]=2022,2023")
	ds, err := jsonstat.Decode(bytes.NewReader(body), "data")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Value(0) != nil || ds.Status(0) != ".." || *ds.Value(1) != 121 {
		t.Errorf("got %v %q %v, want the '..' null of 2022 and 121 for 2023", ds.Value(0), ds.Status(0), *ds.Value(1))
	}
}

func TestEurostat(t *testing.T) {
	s := NewEurostat(t)
	status, body := get(t, s.URL+"/data/crim_off_cat?format=JSON&lang=EN&iccs=ICCS0101&iccs=ICCS0301&unit=NR")
	if status != 200 {
		t.Fatalf("got %d %s", status, body)
	}
	ds, err := jsonstat.Decode(bytes.NewReader(body), "data")
	if err != nil {
		t.Fatal(err)
	}
	if !ds.Sparse() || !slices.Equal(ds.Size, []int{1, 1, 2, 1, 15}) {
		t.Fatalf("got size %v sparse %v, want a sparse 1x1x2x1x15", ds.Size, ds.Sparse())
	}
	// The real figure: 3261 sexual violence offences recorded in Norway in 2008.
	if v := ds.Value(15); v == nil || *v != 3261 {
		t.Errorf("got %v, want 3261", v)
	}
	for _, q := range []string{"?lang=EN&geo=NO", "?format=JSON&lang=EN&geo=SE", "?format=JSON&lang=EN&sex=T"} {
		if status, _ := get(t, s.URL+"/data/crim_off_cat"+q); status != 400 {
			t.Errorf("%s: got %d, want 400", q, status)
		}
	}
	if status, _ := get(t, s.URL+"/data/crim_thb_vsage?format=JSON&lang=EN"); status != 404 {
		t.Errorf("got %d for an unknown dataset, want 404", status)
	}
}

func TestDocRemoveCellDense(t *testing.T) {
	s := NewSSB(t)
	s.Edit(SSBTable, func(d *Doc) {
		d.RemoveCell(Cell{"LovbruddKrim": "T11", "ContentsCode": "AnmeldteLovbrudd", "Tid": "2024"}, "..")
	})
	_, body := get(t, s.URL+"/tables/99999/data?lang=no&outputFormat=json-stat2&valueCodes[LovbruddKrim]=T11&valueCodes[ContentsCode]=AnmeldteLovbrudd&valueCodes[Tid]=2024")
	ds, err := jsonstat.Decode(bytes.NewReader(body), "data")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Value(0) != nil || ds.Status(0) != ".." {
		t.Errorf("got %v %q, want a '..' null", ds.Value(0), ds.Status(0))
	}
}
