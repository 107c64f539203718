package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// bundled decodes the embedded release once; tests share it read-only.
var bundled = sync.OnceValues(func() (*store.Dataset, error) {
	return store.DecodeDataset(bytes.NewReader(data.Bundled))
})

// bundledStore returns an in-memory store holding the bundled release, and
// the release's dataset.
func bundledStore(t testing.TB) (*memory.Store, *store.Dataset) {
	t.Helper()
	ds, err := bundled()
	if err != nil {
		t.Fatalf("decode bundled release: %v", err)
	}
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	return st, ds
}

// newStore returns an in-memory store holding ds.
func newStore(t testing.TB, ds *store.Dataset) *memory.Store {
	t.Helper()
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatalf("load: %v", err)
	}
	return st
}

// readersDir is where .ci/run installs the readers the tests run: npm
// packages pinned in testdata/readers/package-lock.json.
const readersDir = "testdata/readers"

// needReaders returns the node binary and the readers' folder. Where node or
// the readers are missing the test is skipped, except under CI=true, where
// .ci/run should have installed them and their absence is a failure.
func needReaders(t testing.TB) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(readersDir)
	if err != nil {
		t.Fatal(err)
	}
	missing := func(msg string) {
		t.Helper()
		msg += "; install them with: npm ci --prefix export/testdata/readers (.ci/run does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing("node (Node.js 20 or later) not found")
	}
	for _, pkg := range []string{"@duckdb/node-api", "datapackage", "exceljs", "jsonstat-toolkit"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			missing("reader " + pkg + " not installed in " + filepath.Join(dir, "node_modules"))
		}
	}
	return node, dir
}

// runReader runs a reader script on args and returns what it printed.
func runReader(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	out, stderr, err := readerOutput(t, script, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s", script, args, err, out, stderr)
	}
	return out
}

// readerOutput runs a reader script on args and returns what it printed
// on stdout and stderr, and how it ended.
func readerOutput(t testing.TB, script string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	node, dir := needReaders(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// zipFiles writes files into a zip, sorted by name.
func zipFiles(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unzip returns the files of a zip by name, in the zip's order.
func unzip(t testing.TB, b []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("read zip: %v", err)
	}
	files := map[string][]byte{}
	var order []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		files[f.Name] = data
		order = append(order, f.Name)
	}
	return files, order
}

// writeFiles writes files into a new temporary folder and returns it.
func writeFiles(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func ptr(v float64) *float64 { return &v }

// smallDataset is a release of two offences, two regions, one measure and
// two sources, with a figure given as text, a figure two sources give, and
// a region with no Norwegian name.
func smallDataset() *store.Dataset {
	return &store.Dataset{
		Format:  store.DatasetFormat,
		Release: store.Release{ID: "20240101-test", Created: "2024-01-01T00:00:00Z"},
		Offences: []store.Offence{
			{ID: "sex-purchase", Classification: "krimstat", Name: store.Text{EN: "Purchase of sexual services", NB: "Kjøp av seksuelle tjenester"}},
			{ID: "sex-purchase/street", Parent: "sex-purchase", Classification: "krimstat", Name: store.Text{EN: "Street", NB: "Gate"}},
		},
		Regions: []store.Region{
			{ID: "NO", Type: store.RegionCountry, Name: store.Text{EN: "Norway", NB: "Norge"}},
			{ID: "SE", Type: store.RegionCountry, Name: store.Text{EN: "Sweden"}},
		},
		Measures: []store.Measure{{ID: "reported-persons", Name: store.Text{EN: "Persons reported", NB: "Personer anmeldt"}, Unit: "persons"}},
		Sources: []store.Source{
			{ID: "a", Publisher: "Stortinget", Title: "Answer, with a | pipe", URL: "https://example.org/a", Published: "2012-06-22", Kind: "official", Licence: "public record; cite the source"},
			{ID: "b", Publisher: "Eurostat", Title: "Table \"b\"", URL: "https://example.org/b", TableID: "b", Published: "2024-12", Kind: "official", Licence: "CC BY 4.0"},
		},
		Population: []store.PopulationFigure{{Region: "NO", Date: "2009-01-01", Value: 4799252, Source: "b", Locator: "row 1"}},
		Observations: []store.Observation{
			{Offence: "sex-purchase", Region: "NO", Period: "2009", Measure: "reported-persons", Value: ptr(334), Flags: []string{}, Source: "a", Confidence: "A", Locator: "p. 1"},
			{Offence: "sex-purchase", Region: "NO", Period: "2009", Measure: "reported-persons", Value: ptr(355), Flags: []string{store.FlagLaterVintage}, Source: "b", Confidence: "B", Locator: "p. 2"},
			{Offence: "sex-purchase", Region: "NO", Period: "2013-T1", Measure: "reported-persons", Value: ptr(0), Flags: []string{store.FlagPartialYear}, Source: "a", Confidence: "A", Locator: "p. 3"},
			{Offence: "sex-purchase", Region: "SE", Period: "2010", Measure: "reported-persons", Breakdown: store.Breakdown{Sex: "female"}, ValueText: "<5", Flags: []string{store.FlagSuppressed, store.FlagInconsistentInSource}, Source: "b", Confidence: "A", Locator: "row \"7\", col 2"},
			{Offence: "sex-purchase/street", Region: "NO", Period: "2010", Measure: "reported-persons", Value: ptr(12.5), Flags: []string{store.FlagApproximate}, Source: "a", Confidence: "B", Locator: "line 4,\nwrapped"},
		},
	}
}
