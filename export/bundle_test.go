package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/postgres"
)

// bundleFiles are the files of a bundle, in the zip's (sorted) order.
var bundleFiles = []string{
	"CITATION.cff", "README.md", "datapackage.json", "measures.csv", "observations.csv", "observations.parquet",
	"offences.csv", "population.csv", "regions.csv", "sources.csv",
}

func TestBundleFiles(t *testing.T) {
	st, ds := bundledStore(t)
	b, err := export.Bundle(context.Background(), st, export.Current)
	if err != nil {
		t.Fatal(err)
	}
	files, order := unzip(t, b)
	if !slices.Equal(order, bundleFiles) {
		t.Errorf("zip entries %q, want %q", order, bundleFiles)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	created, _ := time.Parse(time.RFC3339, ds.Release.Created)
	for _, f := range zr.File {
		if !f.Modified.Equal(created) {
			t.Errorf("%s: modified %s, want the release's creation time %s", f.Name, f.Modified, created)
		}
	}

	// Every table has a header and one line per item of the release.
	tables := []struct {
		file string
		rows int
	}{
		{"observations.csv", len(ds.Observations)},
		{"offences.csv", len(ds.Offences)},
		{"regions.csv", len(ds.Regions)},
		{"measures.csv", len(ds.Measures)},
		{"sources.csv", len(ds.Sources)},
		{"population.csv", len(ds.Population)},
	}
	for _, tt := range tables {
		recs, err := csv.NewReader(bytes.NewReader(files[tt.file])).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if got := len(recs) - 1; got != tt.rows {
			t.Errorf("%s: %d rows, want %d", tt.file, got, tt.rows)
		}
	}
	if got, want := len(ds.Observations), ds.Release.Counts["observations"]; got != want {
		t.Errorf("release has %d observations, its counts say %d", got, want)
	}

	// The descriptor's sizes and hashes are those of the files.
	var dp struct {
		Version   string `json:"version"`
		Created   string `json:"created"`
		Resources []struct {
			Name  string `json:"name"`
			Path  string `json:"path"`
			Bytes int    `json:"bytes"`
			Hash  string `json:"hash"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(files["datapackage.json"], &dp); err != nil {
		t.Fatalf("datapackage.json: %v", err)
	}
	if dp.Version != ds.Release.ID || dp.Created != ds.Release.Created {
		t.Errorf("datapackage version %q created %q, want %q %q", dp.Version, dp.Created, ds.Release.ID, ds.Release.Created)
	}
	if len(dp.Resources) != 7 {
		t.Errorf("datapackage has %d resources, want 7 (six tables and the Parquet file)", len(dp.Resources))
	}
	for _, r := range dp.Resources {
		sum := sha256.Sum256(files[r.Path])
		if want := "sha256:" + hex.EncodeToString(sum[:]); r.Hash != want || r.Bytes != len(files[r.Path]) {
			t.Errorf("resource %s: bytes %d hash %s, want %d %s", r.Name, r.Bytes, r.Hash, len(files[r.Path]), want)
		}
	}

	readme := string(files["README.md"])
	for _, want := range []string{
		ds.Release.ID, "never a zero", "reported-persons", "2009", "2015", "2016", "<5", "suppressed",
		"figures here are given by more than one source", "How to cite", "Krimstat (2025)",
	} {
		if !strings.Contains(readme, want) && !strings.Contains(readme, strings.ReplaceAll(want, "<", `\<`)) {
			t.Errorf("README.md does not mention %q", want)
		}
	}
}

// TestBundleDeterministic checks that the bundle's bytes depend on the
// release alone: two stores, or two builds, give the same zip.
func TestBundleDeterministic(t *testing.T) {
	st1, ds := bundledStore(t)
	st2, _ := bundledStore(t)
	ctx := context.Background()
	a, err := export.Bundle(ctx, st1, ds.Release.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := export.Bundle(ctx, st2, export.Current)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("two builds of release %s differ: %d and %d bytes", ds.Release.ID, len(a), len(b))
	}
}

// TestBundlePostgres checks that a replica reading PostgreSQL builds the
// same bytes as one reading the bundled release in memory, so that every
// replica sends the same ETag.
func TestBundlePostgres(t *testing.T) {
	st, ds := bundledStore(t)
	ctx := context.Background()
	want, err := export.Bundle(ctx, st, ds.Release.ID)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.Open(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pg.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := pg.Load(ctx, ds); err != nil {
		t.Fatalf("load: %v", err)
	}
	got, err := export.Bundle(ctx, pg, ds.Release.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gf, _ := unzip(t, got)
		wf, _ := unzip(t, want)
		for _, name := range bundleFiles {
			if !bytes.Equal(gf[name], wf[name]) {
				t.Errorf("%s from PostgreSQL differs from the one from memory", name)
			}
		}
		t.Fatalf("bundle from PostgreSQL: %d bytes, want the %d bytes from memory", len(got), len(want))
	}
}

func TestBundleUnknownRelease(t *testing.T) {
	st, _ := bundledStore(t)
	if _, err := export.Bundle(context.Background(), st, "no-such-release"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Bundle(no-such-release) error = %v, want store.ErrNotFound", err)
	}
}

// TestCitation checks CITATION.cff against what CFF 1.2.0 requires of the
// keys it uses: no independent CFF validator installs from the registries
// CI reaches, so this is the check.
func TestCitation(t *testing.T) {
	ds := smallDataset()
	b, err := export.Bundle(context.Background(), newStore(t, ds), export.Current)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := unzip(t, b)
	var cff struct {
		CFFVersion   string   `json:"cff-version"`
		Message      string   `json:"message"`
		Type         string   `json:"type"`
		Title        string   `json:"title"`
		Abstract     string   `json:"abstract"`
		Keywords     []string `json:"keywords"`
		Version      string   `json:"version"`
		DateReleased string   `json:"date-released"`
		Authors      []entity `json:"authors"`
		URL          string   `json:"url"`
		Repository   string   `json:"repository-code"`
		References   []struct {
			Type          string   `json:"type"`
			Title         string   `json:"title"`
			Authors       []entity `json:"authors"`
			URL           string   `json:"url"`
			Database      string   `json:"database"`
			DateAccessed  string   `json:"date-accessed"`
			Year          int      `json:"year"`
			Month         int      `json:"month"`
			DatePublished string   `json:"date-published"`
			Notes         string   `json:"notes"`
		} `json:"references"`
	}
	if err := yaml.UnmarshalStrict(files["CITATION.cff"], &cff); err != nil {
		t.Fatalf("CITATION.cff: %v\n%s", err, files["CITATION.cff"])
	}
	date := regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$`)
	url := regexp.MustCompile(`^(https|http|ftp|sftp)://.+`)
	if cff.CFFVersion != "1.2.0" || cff.Message == "" || cff.Title != export.Title || cff.Type != "dataset" {
		t.Errorf("cff-version %q message %q title %q type %q: want 1.2.0, a message, the title, dataset", cff.CFFVersion, cff.Message, cff.Title, cff.Type)
	}
	if cff.Version != ds.Release.ID || cff.DateReleased != "2024-01-01" {
		t.Errorf("version %q date-released %q, want %q 2024-01-01", cff.Version, cff.DateReleased, ds.Release.ID)
	}
	if len(cff.Authors) != 1 || cff.Authors[0].Name != "Krimstat" || !url.MatchString(cff.URL) || !url.MatchString(cff.Repository) {
		t.Errorf("authors %v url %q repository-code %q", cff.Authors, cff.URL, cff.Repository)
	}
	referenceTypes := []string{"data", "newspaper-article", "report"}
	if len(cff.References) != len(ds.Sources) {
		t.Fatalf("%d references, want one per source (%d)", len(cff.References), len(ds.Sources))
	}
	for i, r := range cff.References {
		s := ds.Sources[i]
		if !slices.Contains(referenceTypes, r.Type) || r.Title != s.Title || len(r.Authors) != 1 || r.Authors[0].Name != s.Publisher {
			t.Errorf("reference %d: type %q title %q authors %v, want a CFF type, %q, %q", i, r.Type, r.Title, r.Authors, s.Title, s.Publisher)
		}
		if !url.MatchString(r.URL) || r.Year == 0 || r.Month < 1 || r.Month > 12 {
			t.Errorf("reference %d: url %q year %d month %d", i, r.URL, r.Year, r.Month)
		}
		for _, d := range []string{r.DatePublished, r.DateAccessed} {
			if d != "" && !date.MatchString(d) {
				t.Errorf("reference %d: date %q is not YYYY-MM-DD", i, d)
			}
		}
	}
	if got := cff.References[0].DatePublished; got != "2012-06-22" {
		t.Errorf("reference 0: date-published %q, want 2012-06-22", got)
	}
	if got := cff.References[1].DatePublished; got != "" {
		t.Errorf("reference 1 (published 2024-12): date-published %q, want none", got)
	}
}

type entity struct {
	Name string `json:"name"`
}

// BenchmarkBundle builds the bundle of the bundled release: the cost of a
// release's first download (later ones are served from the memo).
func BenchmarkBundle(b *testing.B) {
	st, ds := bundledStore(b)
	ctx := context.Background()
	var size int
	for b.Loop() {
		z, err := export.Bundle(ctx, st, ds.Release.ID)
		if err != nil {
			b.Fatal(err)
		}
		size = len(z)
	}
	b.ReportMetric(float64(size), "zip-bytes")
}
