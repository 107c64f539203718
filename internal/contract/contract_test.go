package contract

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/krimstat/krimstat/internal/apidocs"
)

// recorder is a testing.TB that records failures instead of failing, so the
// tests can check what Check and Covered report.
type recorder struct {
	testing.TB
	errs   []string
	fatals []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// Fatalf records the failure and ends the calling goroutine, as testing.T's
// does; callers run the code under test in a goroutine of its own.
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func response(status int, contentType, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	if contentType != "" {
		rec.Header().Set("Content-Type", contentType)
	}
	rec.WriteHeader(status)
	rec.WriteString(body)
	return rec
}

func TestCheck(t *testing.T) {
	doc := LoadFile(t, filepath.Join("testdata", "openapi.json"))
	tests := []struct {
		name         string
		method, path string
		target       string
		rec          *httptest.ResponseRecorder
		want         []string // substrings of the one failure; nil for a pass
	}{
		{
			name: "passing JSON", method: "GET", path: "/api/things/{id}", target: "/api/things/a/b",
			rec: response(200, "application/json; charset=utf-8", `{"id":"a/b","count":2,"value":null}`),
		},
		{
			name: "passing problem", method: "get", path: "/api/things/{id}", target: "/api/things/x",
			rec: response(404, "application/problem+json", `{"type":"about:blank","title":"Not Found","status":404}`),
		},
		{
			name: "passing CSV, body not validated", method: "GET", path: "/api/things", target: "/api/things?format=csv",
			rec: response(200, "text/csv; charset=utf-8", "id,count\na,2\n"),
		},
		{
			name: "path without the server's base path", method: "GET", path: "/healthz", target: "/api/healthz",
			rec: response(200, "text/plain; charset=utf-8", "ok"),
		},
		{
			name: "wrong status", method: "GET", path: "/api/things/{id}", target: "/api/things/x",
			rec:  response(500, "application/problem+json", `{"type":"about:blank","title":"Internal","status":500}`),
			want: []string{"GET /api/things/{id} (/api/things/x)", "status 500", `"application/problem+json"`, "status not documented", "200, 404"},
		},
		{
			name: "wrong content type", method: "GET", path: "/api/things/{id}", target: "/api/things/x",
			rec:  response(404, "application/json; charset=utf-8", `{"type":"about:blank","title":"Not Found","status":404}`),
			want: []string{"GET /api/things/{id}", "status 404", `"application/json; charset=utf-8"`, "content type not documented", "application/problem+json"},
		},
		{
			name: "missing content type", method: "GET", path: "/api/things", target: "/api/things",
			rec:  response(200, "", `[]`),
			want: []string{"status 200", `content type ""`, "application/json, text/csv"},
		},
		{
			name: "schema violation", method: "GET", path: "/api/things/{id}", target: "/api/things/x",
			rec:  response(200, "application/json", `{"id":"x","count":"two"}`),
			want: []string{"GET /api/things/{id}", "status 200", `"application/json"`, "doesn't match schema", "count", "value"},
		},
		{
			name: "many schema errors are cut", method: "GET", path: "/api/things", target: "/api/things",
			rec: response(200, "application/json", `[{"id":"a","count":"1","value":1},{"id":"b","count":"2","value":1},{"id":"c","count":"3","value":1},`+
				`{"id":"d","count":"4","value":1},{"id":"e","count":"5","value":1},{"id":"f","count":"6","value":1},{"id":"g","count":"7","value":1}]`),
			want: []string{`at "/0/count": value must be an integer (got "1")`, `at "/4/count"`, "| and 2 more"},
		},
		{
			name: "body not JSON", method: "GET", path: "/api/things/{id}", target: "/api/things/x",
			rec:  response(200, "application/json", `not json`),
			want: []string{"status 200", "failed to decode response body"},
		},
		{
			name: "undocumented path", method: "GET", path: "/api/nothing", target: "/api/nothing",
			rec:  response(200, "application/json", `{}`),
			want: []string{"GET /api/nothing", "path /api/nothing is not documented"},
		},
		{
			name: "undocumented method", method: "POST", path: "/api/things", target: "/api/things",
			rec:  response(200, "application/json", `[]`),
			want: []string{"POST /api/things", "method POST is not documented for /things"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			req := httptest.NewRequest(tt.method, tt.target, nil)
			Check(r, doc, tt.method, tt.path, req, tt.rec)
			if tt.want == nil {
				if len(r.errs) != 0 {
					t.Errorf("got failures %q, want none", r.errs)
				}
				return
			}
			if len(r.errs) != 1 {
				t.Fatalf("got %d failures %q, want 1", len(r.errs), r.errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.errs[0], w) {
					t.Errorf("got failure %q, want it to mention %q", r.errs[0], w)
				}
			}
		})
	}
}

func TestCheckNilRequest(t *testing.T) {
	doc := LoadFile(t, filepath.Join("testdata", "openapi.json"))
	r := &recorder{TB: t}
	Check(r, doc, "GET", "/things/{id}", nil, response(200, "application/json", `{"id":"x","count":1,"value":1.5}`))
	if len(r.errs) != 0 {
		t.Errorf("got failures %q, want none", r.errs)
	}
}

func TestCovered(t *testing.T) {
	doc := LoadFile(t, filepath.Join("testdata", "openapi.json"))
	tests := []struct {
		name string
		seen map[string]bool
		want string // the failure; "" for none
	}{
		{
			name: "all, with and without the base path",
			seen: map[string]bool{Key("get", "/api/things/{id}"): true, Key("GET", "/things"): true, Key("GET", "/api/healthz"): true},
		},
		{
			name: "one missing",
			seen: map[string]bool{Key("GET", "/api/things/{id}"): true, Key("GET", "/api/healthz"): true},
			want: "contract: 1 documented operations never checked: GET /things",
		},
		{
			name: "none",
			seen: nil,
			want: "contract: 3 documented operations never checked: GET /healthz, GET /things, GET /things/{id}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Covered(r, doc, tt.seen)
			got := strings.Join(r.errs, "\n")
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadFileInvalid(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text, want string
	}{
		{"missing", "", "contract: load"},
		{"not OpenAPI 3", `{"openapi":"3.0.3","info":{"title":"x"},"paths":{}}`, "is not a valid OpenAPI 3 document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".json")
			if tt.text != "" {
				if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := &recorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				LoadFile(r, path)
			}()
			<-done
			if len(r.fatals) != 1 || !strings.Contains(r.fatals[0], tt.want) {
				t.Errorf("got fatal failures %q, want one mentioning %q", r.fatals, tt.want)
			}
		})
	}
}

func TestFindRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := apidocs.FindRoot(deep)
	if err != nil {
		t.Fatal(err)
	}
	if got != root {
		t.Errorf("got %s, want %s", got, root)
	}
}
