package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the repository root: the nearest parent with a go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// ReferenceData returns the shared reference data folder: KRIMSTAT_REFERENCE
// or ../shared/data beside the repository.
func ReferenceData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KRIMSTAT_REFERENCE")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		Missing(t, "reference data folder "+dir+" (set KRIMSTAT_REFERENCE)")
	}
	return dir
}

// Missing skips the test, or fails it under CI=true.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not available, and CI=true requires it", what)
	}
	t.Skipf("%s is not available; skipping (under CI=true this fails)", what)
}
