package apidocs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/internal/apidocs"
)

// TestGeneratedDocsUpToDate regenerates docs/ and openapi/ from the handlers'
// annotations and fails when the committed files differ by a byte.
func TestGeneratedDocsUpToDate(t *testing.T) {
	root, err := apidocs.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "handlers", "doc.go")); err != nil {
		// Only while the handlers are being written; in CI a missing
		// doc.go is a failure like any other.
		if os.Getenv("CI") == "true" {
			t.Fatalf("handlers/doc.go: %v", err)
		}
		t.Skipf("no handlers/doc.go yet: %v", err)
	}
	tmp := t.TempDir()
	if err := apidocs.Generate(root, filepath.Join(tmp, "docs"), filepath.Join(tmp, "openapi")); err != nil {
		t.Fatalf("generate: %v", err)
	}
	for _, name := range apidocs.Files() {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: %v; run `make docs` (go run ./internal/apidocs/cmd/apidocs) and commit the result", name, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			t.Fatal(err)
		}
		if diff := firstDiff(got, want); diff != "" {
			t.Errorf("%s is out of date with the annotations: %s; run `make docs` (go run ./internal/apidocs/cmd/apidocs) and commit the result", name, diff)
		}
	}
}

// firstDiff describes the first line where the committed bytes (got) differ
// from the generated ones (want), or returns "" when they are equal.
func firstDiff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	g := strings.SplitAfter(string(got), "\n")
	w := strings.SplitAfter(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d: got %q (committed), want %q (generated)", i+1, gl, wl)
		}
	}
	return "files differ" // Unreachable: equal lines make equal bytes.
}

func TestFirstDiff(t *testing.T) {
	tests := []struct {
		got, want, diff string
	}{
		{"a\nb\n", "a\nb\n", ""},
		{"a\nb\n", "a\nc\n", `line 2: got "b\n" (committed), want "c\n" (generated)`},
		{"a\n", "a\nb\n", `line 2: got "" (committed), want "b\n" (generated)`},
		{"a", "a\n", `line 1: got "a" (committed), want "a\n" (generated)`},
	}
	for _, tt := range tests {
		if got := firstDiff([]byte(tt.got), []byte(tt.want)); got != tt.diff {
			t.Errorf("firstDiff(%q, %q): got %s, want %s", tt.got, tt.want, got, tt.diff)
		}
	}
}

// TestGenerateFixture runs the generator over a small annotated module in
// testdata and checks the rules that Convert documents.
func TestGenerateFixture(t *testing.T) {
	tmp := t.TempDir()
	docsDir, openapiDir := filepath.Join(tmp, "docs"), filepath.Join(tmp, "openapi")
	if err := apidocs.Generate(filepath.Join("testdata", "mod"), docsDir, openapiDir); err != nil {
		t.Fatalf("generate: %v", err)
	}

	entries, err := os.ReadDir(docsDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, ","), "swagger.json,swagger.yaml"; got != want {
		t.Errorf("docs files: got %s, want %s", got, want)
	}

	raw, err := os.ReadFile(filepath.Join(openapiDir, "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(raw, []byte("}\n")) {
		t.Errorf("openapi.json ends with %q, want a closing brace and a newline", raw[max(0, len(raw)-10):])
	}
	if !bytes.Contains(raw, []byte(`<5`)) {
		t.Errorf("openapi.json escapes HTML characters; want <5 as written")
	}

	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Ref  string `json:"$ref"`
						Type string `json:"type"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi: got %s, want %s", got, want)
	}
	tests := []struct {
		path, status, mediaType string
		ref, typ                string
	}{
		{"/v1/offences", "200", "application/json", "#/components/schemas/handlers.OffenceList", ""},
		{"/v1/offences", "200", "text/csv", "", "string"},
		{"/v1/offences", "400", "application/problem+json", "#/components/schemas/handlers.Problem", ""},
		{"/v1/offences/{id}", "200", "application/json", "#/components/schemas/store.Offence", ""},
		{"/v1/offences/{id}", "404", "application/problem+json", "#/components/schemas/handlers.Problem", ""},
		{"/v1/offences/{id}", "500", "application/problem+json", "#/components/schemas/handlers.Problem", ""},
		{"/healthz", "200", "text/plain", "", "string"},
	}
	for _, tt := range tests {
		content := doc.Paths[tt.path]["get"].Responses[tt.status].Content
		mt, ok := content[tt.mediaType]
		if !ok {
			t.Errorf("GET %s %s: got media types %v, want %s", tt.path, tt.status, keys(content), tt.mediaType)
			continue
		}
		if mt.Schema.Ref != tt.ref || mt.Schema.Type != tt.typ {
			t.Errorf("GET %s %s %s: got schema ref %q type %q, want ref %q type %q",
				tt.path, tt.status, tt.mediaType, mt.Schema.Ref, mt.Schema.Type, tt.ref, tt.typ)
		}
		if strings.HasPrefix(tt.status, "4") || strings.HasPrefix(tt.status, "5") {
			if len(content) != 1 {
				t.Errorf("GET %s %s: got media types %v, want only %s", tt.path, tt.status, keys(content), tt.mediaType)
			}
		}
	}

	// A second run must write the same bytes.
	tmp2 := t.TempDir()
	if err := apidocs.Generate(filepath.Join("testdata", "mod"), filepath.Join(tmp2, "docs"), filepath.Join(tmp2, "openapi")); err != nil {
		t.Fatalf("generate again: %v", err)
	}
	for _, name := range apidocs.Files() {
		a, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(tmp2, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestGenerateBadAnnotation checks that an annotation swag cannot use fails
// the generation instead of being dropped.
func TestGenerateBadAnnotation(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":          "module example.com/bad\n\ngo 1.26\n",
		"handlers/doc.go": "// Package handlers is broken on purpose.\n//\n//\t@title\tBad\n//\t@version\t1\npackage handlers\n",
		// swag has no "csv" alias; the media type must be spelled text/csv.
		"handlers/list.go": "package handlers\n\n// List lists.\n//\n//\t@Produce\tjson,csv\n//\t@Success\t200\t{string}\tstring\n//\t@Router\t/list [get]\nfunc List() {}\n",
		"store/store.go":   "// Package store is empty.\npackage store\n",
	}
	for name, text := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := apidocs.Generate(root, filepath.Join(root, "docs"), filepath.Join(root, "openapi"))
	if err == nil || !strings.Contains(err.Error(), "csv") {
		t.Errorf("got error %v, want one about the csv produce type", err)
	}
}

func TestIsJSON(t *testing.T) {
	tests := []struct {
		mediaType string
		want      bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"application/problem+json", true},
		{"Application/JSON", true},
		{"text/csv", false},
		{"text/csv; charset=utf-8", false},
		{"text/html", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := apidocs.IsJSON(tt.mediaType); got != tt.want {
			t.Errorf("IsJSON(%q): got %v, want %v", tt.mediaType, got, tt.want)
		}
	}
}
