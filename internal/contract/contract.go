// Package contract checks the API's real responses against its committed
// OpenAPI 3 document (openapi/openapi.json), for the handlers' contract tests:
// every route's status, content type and JSON body must be the documented
// ones, and every documented operation must be exercised.
//
// A table-driven test loads the document once, sends each request through the
// real router, calls Check with the route's path template and records the
// route with Key; Covered then fails if the table missed an operation.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/krimstat/krimstat/internal/apidocs"
)

// Load loads and validates openapi/openapi.json from the module root, the
// nearest directory at or above the test's working directory that holds a
// go.mod. It stops the test when the file is missing or invalid.
func Load(t testing.TB) *openapi3.T {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("contract: %v", err)
	}
	root, err := apidocs.FindRoot(wd)
	if err != nil {
		t.Fatalf("contract: %s: %v", wd, err)
	}
	return LoadFile(t, filepath.Join(root, "openapi", "openapi.json"))
}

// LoadFile loads and validates the OpenAPI 3 document at path. It stops the
// test when the file is missing or invalid.
func LoadFile(t testing.TB, path string) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("contract: load %s: %v", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("contract: %s is not a valid OpenAPI 3 document: %v", path, err)
	}
	return doc
}

// Key names an operation the way Covered expects it in its seen map: the
// upper-case method, a space and the path template, as "GET /v1/offences/{id}".
func Key(method, pathTemplate string) string {
	return strings.ToUpper(method) + " " + pathTemplate
}

// Check fails the test (without stopping it) unless the recorded response is
// one the document allows for the operation at method and pathTemplate:
//
//   - the operation is documented;
//   - the status code is documented for it (or a default response is);
//   - the Content-Type is one documented for that status;
//   - a JSON body (application/json or +json) is valid against the schema.
//
// Other media types (text/csv, text/html, ...) are checked for the media type
// only. The path template is passed rather than matched from the request's
// URL because some ids contain "/". It may include the path of the document's
// server URL (for a server "/v1", "/v1/offences" and "/offences" both name
// the path "/offences"). req is the request that produced rec; nil stands for
// a bare request to the template.
func Check(t testing.TB, doc *openapi3.T, method, pathTemplate string, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	method = strings.ToUpper(method)
	route := Key(method, pathTemplate)
	if req != nil && req.URL != nil && req.URL.RequestURI() != pathTemplate {
		route += " (" + req.URL.RequestURI() + ")"
	}

	path, item := findPath(doc, pathTemplate)
	if item == nil {
		t.Errorf("contract: %s: path %s is not documented", route, pathTemplate)
		return
	}
	op := item.GetOperation(method)
	if op == nil {
		t.Errorf("contract: %s: method %s is not documented for %s", route, method, path)
		return
	}

	status := rec.Code
	ct := rec.Header().Get("Content-Type")
	where := fmt.Sprintf("%s: status %d, content type %q", route, status, ct)

	resp := op.Responses.Status(status)
	if resp == nil {
		resp = op.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		t.Errorf("contract: %s: status not documented (documented: %s)", where, strings.Join(statuses(op), ", "))
		return
	}
	if content := resp.Value.Content; len(content) > 0 && content.Get(ct) == nil {
		t.Errorf("contract: %s: content type not documented for this status (documented: %s)",
			where, strings.Join(mediaTypes(content), ", "))
		return
	}

	if req == nil {
		req = &http.Request{Method: method, URL: &url.URL{Path: pathTemplate}, Header: http.Header{}}
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route: &routers.Route{
				Spec:      doc,
				Path:      path,
				PathItem:  item,
				Method:    method,
				Operation: op,
			},
		},
		Status: status,
		Header: rec.Header(),
		Body:   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			// Only JSON bodies are validated: a CSV or HTML body is not
			// described by a schema worth checking.
			ExcludeResponseBody: !isJSON(ct),
		},
	}
	// The default messages print the whole schema and value of each error,
	// which buries the point in a large response.
	input.Options.WithCustomSchemaErrorFunc(schemaMessage)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		t.Errorf("contract: %s: %s", where, describe(err))
	}
}

// maxErrors is how many schema errors of one response Check prints; a
// mistake in a list item type repeats for every item.
const maxErrors = 5

// describe renders a validation error, cutting a long list of schema errors.
func describe(err error) string {
	var re *openapi3filter.ResponseError
	if !errors.As(err, &re) {
		return err.Error()
	}
	me, ok := re.Err.(openapi3.MultiError)
	if !ok || len(me) <= maxErrors {
		return err.Error()
	}
	msgs := make([]string, 0, maxErrors+1)
	for _, e := range me[:maxErrors] {
		msgs = append(msgs, e.Error())
	}
	msgs = append(msgs, fmt.Sprintf("and %d more", len(me)-maxErrors))
	return re.Reason + ": " + strings.Join(msgs, " | ")
}

// Covered fails the test (without stopping it) for every operation in doc
// whose Key is not in seen. A key may use the path as documented or with the
// path of a server URL in front, as Check accepts.
func Covered(t testing.TB, doc *openapi3.T, seen map[string]bool) {
	t.Helper()
	var missing []string
	for _, path := range documentedPaths(doc) {
		item := doc.Paths.Value(path)
		for method := range item.Operations() {
			covered := false
			for _, prefix := range serverPrefixes(doc) {
				if seen[Key(method, prefix+path)] {
					covered = true
					break
				}
			}
			if !covered {
				missing = append(missing, Key(method, path))
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("contract: %d documented operations never checked: %s", len(missing), strings.Join(missing, ", "))
	}
}

// findPath returns the documented path that pathTemplate names, directly or
// under a server URL's path, and its item; the item is nil if there is none.
func findPath(doc *openapi3.T, pathTemplate string) (string, *openapi3.PathItem) {
	if doc.Paths == nil {
		return "", nil
	}
	for _, prefix := range serverPrefixes(doc) {
		path, ok := strings.CutPrefix(pathTemplate, prefix)
		if !ok {
			continue
		}
		if item := doc.Paths.Value(path); item != nil {
			return path, item
		}
	}
	return "", nil
}

// serverPrefixes returns "" and the path of each server URL, without a
// trailing slash, longest first.
func serverPrefixes(doc *openapi3.T) []string {
	prefixes := []string{""}
	for _, s := range doc.Servers {
		if s == nil {
			continue
		}
		u, err := url.Parse(s.URL)
		if err != nil {
			continue
		}
		if p := strings.TrimSuffix(u.Path, "/"); p != "" && !slices.Contains(prefixes, p) {
			prefixes = append(prefixes, p)
		}
	}
	slices.SortFunc(prefixes, func(a, b string) int { return len(b) - len(a) })
	return prefixes
}

func documentedPaths(doc *openapi3.T) []string {
	if doc.Paths == nil {
		return nil
	}
	paths := make([]string, 0, doc.Paths.Len())
	for path := range doc.Paths.Map() {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	return paths
}

func statuses(op *openapi3.Operation) []string {
	var codes []string
	for code := range op.Responses.Map() {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}

func mediaTypes(content openapi3.Content) []string {
	var types []string
	for mt := range content {
		types = append(types, mt)
	}
	slices.Sort(types)
	return types
}

// schemaMessage describes a schema error in one line: where in the body, why,
// and the offending value when it is short enough to read.
func schemaMessage(err *openapi3.SchemaError) string {
	reason := err.Reason
	if err.Origin != nil {
		reason = err.Origin.Error()
	}
	if reason == "" {
		reason = "does not match schema field " + err.SchemaField
	}
	msg := fmt.Sprintf("at %q: %s", "/"+strings.Join(err.JSONPointer(), "/"), reason)
	switch err.Value.(type) {
	case nil, string, bool, float64, json.Number:
		if v, jerr := json.Marshal(err.Value); jerr == nil && len(v) <= 80 {
			msg += " (got " + string(v) + ")"
		}
	}
	return msg
}

// isJSON reports whether a Content-Type is application/json or a +json type.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
