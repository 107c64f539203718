package testenv

import (
	"os"
	"os/exec"
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

// Sbin returns the path of the Debian program name (nginx, haproxy), looked
// up on PATH and then in /usr/sbin, which is not on every user's PATH. When
// there is none the test is skipped, or failed under CI=true, naming the
// package that installs it.
func Sbin(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", name); fileExists(p) {
		return p
	}
	Missing(t, name+" (apt-get install -y "+name+")")
	return ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
