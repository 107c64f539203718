package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// bundledZip is the bundle of the bundled release, as the API serves it.
func bundledZip(t *testing.T) ([]byte, string) {
	t.Helper()
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	b, err := export.Bundle(context.Background(), st, ds.Release.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b, ds.Release.ID
}

// TestExportWritesTheDownload checks that krimstat export writes the bytes
// the download route serves, whichever store it reads.
func TestExportWritesTheDownload(t *testing.T) {
	want, id := bundledZip(t)
	dir := t.TempDir()
	releaseFile := filepath.Join(dir, "release.json")
	if err := os.WriteFile(releaseFile, data.Bundled, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"bundled, current", nil, []string{"-release", "current"}},
		{"bundled, by id", nil, []string{"-release", id}},
		{"release file", nil, []string{"-release", id, "-data", releaseFile}},
		{"release directory", nil, []string{"-data", dir}},
		{"postgres", map[string]string{"DATABASE_URL": "postgres"}, []string{"-release", id}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env["DATABASE_URL"] != "" {
				url := testenv.PostgresURL(t)
				loadBundled(t, url)
				tt.env = map[string]string{"DATABASE_URL": url}
			}
			out := filepath.Join(t.TempDir(), "krimstat.zip")
			var stdout bytes.Buffer
			args := append([]string{"krimstat", "export", "-out", out}, tt.args...)
			if err := run(context.Background(), args, env(tt.env), &stdout); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, &stdout)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%v: wrote %d bytes, want the %d bytes of the download", args, len(got), len(want))
			}
			if !strings.Contains(stdout.String(), "release "+id) {
				t.Errorf("output %q does not name release %s", &stdout, id)
			}
		})
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want error // nil: any error
	}{
		{[]string{"-release", "current"}, nil},
		{[]string{"-release", "no-such-release", "-out", filepath.Join(dir, "a.zip")}, store.ErrNotFound},
		{[]string{"-out", filepath.Join(dir, "b.zip"), "extra"}, nil},
	}
	for _, tt := range tests {
		var stdout bytes.Buffer
		err := run(context.Background(), append([]string{"krimstat", "export"}, tt.args...), env(nil), &stdout)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("export %v: error %v, want %v", tt.args, err, tt.want)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) > 0 {
		t.Errorf("files written despite errors: %v", files)
	}
}
