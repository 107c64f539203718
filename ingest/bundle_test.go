package ingest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// TestBundledDatasetUpToDate rebuilds the bundled release from the reference
// data and fails when the committed data/krimstat.json differs, or its
// snapshot data/krimstat.snap (what the server loads) holds anything else.
func TestBundledDatasetUpToDate(t *testing.T) {
	ref := testenv.ReferenceData(t)
	ds, err := Build(ref)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var want bytes.Buffer
	if err := ds.Encode(&want); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(testenv.RepoRoot(t), "data")
	committed, err := os.ReadFile(filepath.Join(dir, "krimstat.json"))
	if err != nil {
		t.Fatal(err)
	}
	sameRelease(t, "data/krimstat.json", committed, want.Bytes())
	snap, err := os.ReadFile(filepath.Join(dir, "krimstat.snap"))
	if err != nil {
		t.Fatal(err)
	}
	fromSnap, err := memory.DecodeSnapshot(string(snap))
	if err != nil {
		t.Fatalf("data/krimstat.snap: %v; run: make data", err)
	}
	var got bytes.Buffer
	if err := fromSnap.Encode(&got); err != nil {
		t.Fatal(err)
	}
	sameRelease(t, "data/krimstat.snap", got.Bytes(), want.Bytes())
}

// sameRelease fails when got, the encoding of a committed file, differs
// from want, the encoding of the release built from the reference data,
// naming the first line that differs.
func sameRelease(t *testing.T, file string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) && i < len(wl); i++ {
		if gl[i] != wl[i] {
			t.Fatalf("%s is stale at line %d of the release:\n got  %.200s\n want %.200s\nrun: make data", file, i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("%s is stale: %d lines of the release committed, %d built; run: make data", file, len(gl), len(wl))
}

// TestBuildKeepsEveryFigure checks the counts against the reference files:
// every number in them is an observation and nothing else is.
func TestBuildKeepsEveryFigure(t *testing.T) {
	ref := testenv.ReferenceData(t)
	ds, err := Build(ref)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	count := map[string]int{}
	suppressed := 0
	for _, o := range ds.Observations {
		count[o.Source]++
		if o.Value == nil {
			suppressed++
			if o.ValueText != "<5" || !slices.Contains(o.Flags, store.FlagSuppressed) {
				t.Errorf("%s: value null with value_text %q flags %v, want <5 and suppressed", o.Locator, o.ValueText, o.Flags)
			}
		}
	}
	figures := lines(t, filepath.Join(ref, "norway", "figures.csv")) - 1
	unodc := lines(t, filepath.Join(ref, "unodc", "glotip-nordic.csv")) - 3
	var norway int
	for src, n := range count {
		if src != eurostatSource && src != unodcSource {
			norway += n
		}
	}
	if norway != figures {
		t.Errorf("Norwegian observations: got %d, want %d (rows of figures.csv)", norway, figures)
	}
	if count[unodcSource] != unodc {
		t.Errorf("UNODC observations: got %d, want %d (rows of the export)", count[unodcSource], unodc)
	}
	if suppressed != 1294 {
		t.Errorf("suppressed <5 values: got %d, want 1294", suppressed)
	}
	// Eurostat: every cell that is not ":" is an observation.
	tsv, err := os.ReadFile(filepath.Join(ref, "eurostat", "crim_off_cat.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	cells := 0
	for i, line := range strings.Split(strings.TrimSpace(string(tsv)), "\n") {
		if i == 0 {
			continue
		}
		for _, c := range strings.Split(line, "\t")[1:] {
			if strings.TrimSpace(c) != ":" {
				cells++
			}
		}
	}
	if count[eurostatSource] != cells {
		t.Errorf("Eurostat observations: got %d, want %d (cells other than ':')", count[eurostatSource], cells)
	}
	if len(ds.Population) != lines(t, filepath.Join(ref, "norway", "population.csv"))-1 {
		t.Errorf("population figures: got %d", len(ds.Population))
	}
}

func TestBuildFlagsUNODCInconsistencies(t *testing.T) {
	ds, err := Build(testenv.ReferenceData(t))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	flagged := map[string]bool{}
	for _, o := range ds.Observations {
		if o.Region == "NO" && slices.Contains(o.Flags, store.FlagInconsistentInSource) && o.Breakdown.IsTotal() {
			flagged[o.Measure+" "+o.Period+" "+o.Offence] = true
		}
	}
	for _, want := range []string{
		"detected-victims 2010 human-trafficking/sexual-exploitation",
		"detected-victims 2010 human-trafficking/forced-labour",
		"persons-convicted 2019 human-trafficking/sexual-exploitation",
		"persons-convicted 2019 human-trafficking/forced-labour",
		"persons-convicted 2020 human-trafficking/sexual-exploitation",
		"persons-convicted 2020 human-trafficking/forced-labour",
	} {
		if !flagged[want] {
			t.Errorf("Norway %s: not flagged inconsistent-in-source", want)
		}
	}
	for _, o := range ds.Observations {
		if o.Offence == "human-trafficking" && slices.Contains(o.Flags, store.FlagInconsistentInSource) {
			t.Errorf("%s: a total is flagged; only breakdowns should be", o.Locator)
		}
	}
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// TestBuildRejectsBadRows copies the reference data, breaks one file, and
// checks that Build fails with an error naming the file, line and field.
func TestBuildRejectsBadRows(t *testing.T) {
	ref := testenv.ReferenceData(t)
	tests := []struct {
		name    string
		file    string
		old     string // text to replace in the file
		new     string
		wantErr string
	}{
		{"unknown offence", "norway/figures.csv", "sex-purchase,NO,2009,reported-persons,334", "sex-buying,NO,2009,reported-persons,334", "norway/figures.csv:2: field offence: unknown offence"},
		{"value not a number", "norway/figures.csv", "reported-persons,334,", "reported-persons,33x,", "norway/figures.csv:2: field value"},
		{"unknown region", "norway/figures.csv", "Trøndelag police district (2016-),2015", "Trondheim police district (2016-),2015", "field region: unknown region"},
		{"unknown flag", "norway/figures.csv", ",later-vintage,", ",guessed,", "field flags: unknown flag"},
		{"unknown source", "norway/figures.csv", ",stortinget-54169,A,answer text: persons reported in 2010", ",nobody,A,answer text: persons reported in 2010", "field source_id: unknown source"},
		{"bad period", "norway/figures.csv", "NO,2013-T1,", "NO,2013-X1,", "field period"},
		{"partial year without flag", "norway/figures.csv", "135,first-tertial,nrk-2017-faerre-tas,B,\"POD table in the article, first tertial, column 2013\"", "135,,nrk-2017-faerre-tas,B,\"POD table in the article, first tertial, column 2013\"", "no partial-year flag"},
		{"eurostat text value", "eurostat/crim_off_cat.tsv", "A,ICCS0101,NR,AT\t58 ", "A,ICCS0101,NR,AT\tabc ", "eurostat/crim_off_cat.tsv:3: column 2 (TIME_PERIOD=2008)"},
		{"eurostat unknown flag", "eurostat/crim_off_cat.tsv", "A,ICCS0101,NR,AT\t58 ", "A,ICCS0101,NR,AT\t58 q", "unknown flag"},
		{"eurostat unknown geo", "eurostat/crim_off_cat.tsv", "A,ICCS0101,NR,AT\t", "A,ICCS0101,NR,ZZ\t", "field geo: unknown geo code \"ZZ\""},
		{"eurostat short row", "eurostat/crim_off_cat.tsv", "A,ICCS0101,NR,AT\t58 \t", "A,ICCS0101,NR,AT\t", "fields, want 16"},
		{"unodc unknown indicator", "unodc/glotip-nordic.csv", "DNK,Denmark,Europe,Northern Europe,Persons prosecuted,Total,Total,Total,Total,2003", "DNK,Denmark,Europe,Northern Europe,Persons arrested,Total,Total,Total,Total,2003", "unodc/glotip-nordic.csv:4: field Indicator"},
		{"unodc bad value", "unodc/glotip-nordic.csv", "2003,Counts,7,GLOTIP", "2003,Counts,seven,GLOTIP", "unodc/glotip-nordic.csv:4: field txtVALUE"},
		{"unodc unknown country", "unodc/glotip-nordic.csv", "DNK,Denmark,Europe,Northern Europe,Persons prosecuted,Total,Total,Total,Total,2003", "DNX,Denmark,Europe,Northern Europe,Persons prosecuted,Total,Total,Total,Total,2003", "field Iso3_code"},
		{"district without successor", "norway/police-districts.csv", "Oslo,Oslo,2002-01-01,2015-12-31,Oslo,", "Oslo,Oslo,2002-01-01,2015-12-31,,", "norway/police-districts.csv:2: field successor"},
		{"population not a number", "norway/population.csv", "NO,1986-01-01,4159187", "NO,1986-01-01,4159187.5", "norway/population.csv:2: field population"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyReference(t, ref)
			path := filepath.Join(dir, filepath.FromSlash(tt.file))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(tt.old)) {
				t.Fatalf("%s does not contain %q", tt.file, tt.old)
			}
			b = bytes.Replace(b, []byte(tt.old), []byte(tt.new), 1)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Build(dir)
			if err == nil {
				t.Fatalf("Build: got no error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Build: got %q, want it to contain %q", err, tt.wantErr)
			}
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Build: got %v, want an error wrapping store.ErrInvalid", err)
			}
		})
	}
}

func copyReference(t *testing.T, ref string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{fileSources, fileDistricts, filePopulation, fileFigures, fileEurostat, fileGeo, fileICCS, fileUNODC} {
		b, err := os.ReadFile(filepath.Join(ref, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
