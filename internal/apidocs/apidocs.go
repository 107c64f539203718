// Package apidocs generates Krimstat's API documentation from the swag
// annotations in package handlers: the Swagger 2.0 files in docs/ (what
// `swag init` would write, without docs.go) and the OpenAPI 3 files in
// openapi/ derived from them.
//
// Both sets are committed. TestGeneratedDocsUpToDate regenerates them and
// fails when a byte differs, so the annotations and the committed documents
// cannot drift apart.
package apidocs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/swaggo/swag/gen"
	"sigs.k8s.io/yaml"
)

// ProblemMediaType is the media type of every error response (RFC 9457).
const ProblemMediaType = "application/problem+json"

// Generate parses the swag annotations of the module at root (package
// handlers, with general API info in handlers/doc.go, and the types of
// package store) and writes swagger.json and swagger.yaml to docsDir and
// openapi.json and openapi.yaml to openapiDir.
//
// The output depends only on the annotated source, so running Generate twice
// writes the same bytes. It returns an error when swag fails or warns (an
// annotation it could not use is a mistake, not noise), when the conversion
// to OpenAPI 3 fails, or when the OpenAPI 3 document does not validate.
func Generate(root, docsDir, openapiDir string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("apidocs: %w", err)
	}
	if err := generateSwagger(root, docsDir); err != nil {
		return fmt.Errorf("apidocs: swag: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(docsDir, "swagger.json"))
	if err != nil {
		return fmt.Errorf("apidocs: %w", err)
	}
	doc, err := Convert(raw)
	if err != nil {
		return fmt.Errorf("apidocs: %w", err)
	}
	jsonDoc, yamlDoc, err := Marshal(doc)
	if err != nil {
		return fmt.Errorf("apidocs: %w", err)
	}
	if err := os.MkdirAll(openapiDir, 0o755); err != nil {
		return fmt.Errorf("apidocs: %w", err)
	}
	if err := os.WriteFile(filepath.Join(openapiDir, "openapi.json"), jsonDoc, 0o644); err != nil {
		return fmt.Errorf("apidocs: %w", err)
	}
	if err := os.WriteFile(filepath.Join(openapiDir, "openapi.yaml"), yamlDoc, 0o644); err != nil {
		return fmt.Errorf("apidocs: %w", err)
	}
	return nil
}

// generateSwagger runs swag's generator over root's handlers and store
// packages and writes swagger.json and swagger.yaml to docsDir.
func generateSwagger(root, docsDir string) error {
	var log warnings
	cfg := &gen.Config{
		Debugger: &log,
		// Response types live in handlers, series, problem, store and changes;
		// naming them here lets swag resolve them without walking every
		// dependency (gin and the rest of the module graph), which would be
		// slow and could pull unrelated types in.
		SearchDir: searchDirs(root),
		// swag resolves MainAPIFile against the first search dir.
		MainAPIFile: "doc.go",
		OutputDir:   docsDir,
		// No docs.go: it registers itself from an init function, which the
		// project does not allow; the UI loads /openapi.json instead.
		OutputTypes: []string{"json", "yaml"},
		// encoding/json always writes a field without omitempty, so the
		// schema marks it required and the contract test catches a missing
		// one; omitempty, binding:"optional" or validate:"optional" make a
		// field optional.
		RequiredByDefault:  true,
		ParseDepth:         100,
		Strict:             true,
		PropNamingStrategy: "camelcase",
		// A timestamp would change the output on every run.
		GeneratedTime: false,
	}
	if err := gen.New().Build(cfg); err != nil {
		return err
	}
	return log.err()
}

// warnings is the swag debugger: it drops swag's progress messages and keeps
// its warnings, which Generate reports as an error.
type warnings struct {
	mu    sync.Mutex
	lines []string
}

// Printf records a swag message if it is a warning.
func (w *warnings) Printf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	if !strings.HasPrefix(strings.ToLower(msg), "warning") {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, msg)
}

func (w *warnings) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lines) == 0 {
		return nil
	}
	return errors.New(strings.Join(w.lines, "; "))
}

// Convert turns a Swagger 2.0 document (swag's swagger.json) into an OpenAPI 3
// document, applies the content-type rules below and validates the result.
//
// swag can only declare one list of media types per operation (@Produce) and
// repeats it on every response, so two rules put back what it cannot say:
//
//   - Problem responses: every 4xx or 5xx response whose schema references the
//     Problem definition (named Problem, or ending in .Problem such as
//     handlers.Problem) is served as application/problem+json and is documented
//     with that media type only.
//   - Non-JSON media types: a response's JSON schema does not describe its
//     text/csv or text/html rendering, so those media types get a plain string
//     schema. JSON media types (application/json and any +json) keep the
//     schema the annotation gave.
func Convert(swaggerJSON []byte) (*openapi3.T, error) {
	var doc2 openapi2.T
	if err := json.Unmarshal(swaggerJSON, &doc2); err != nil {
		return nil, fmt.Errorf("read swagger 2.0 document: %w", err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("convert to openapi 3: %w", err)
	}
	fixContentTypes(doc)
	addJSONStat(doc)
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi 3 document: %w", err)
	}
	return doc, nil
}

// JSONStatSchema names the schema of a JSON-stat 2.0 dataset in the
// contract's components.
const JSONStatSchema = "JSONStatDataset"

// addJSONStat documents the JSON-stat representation. A route whose format
// parameter offers jsonstat serves it as application/json (the type its
// publishers and client libraries use), so its 200 JSON body is either the
// route's own schema or a JSON-stat 2.0 dataset: oneOf the two, which a
// validating proxy can tell apart (a dataset has class "dataset").
// OpenAPI 2, which swag writes, cannot say this; it is added here.
func addJSONStat(doc *openapi3.T) {
	if doc.Paths == nil {
		return
	}
	added := false
	dataset := jsonStatDataset()
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !offersJSONStat(op) || op.Responses == nil {
				continue
			}
			ok := op.Responses.Value("200")
			if ok == nil || ok.Value == nil {
				continue
			}
			mt := ok.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				continue
			}
			mt.Schema = openapi3.NewSchemaRef("", &openapi3.Schema{OneOf: openapi3.SchemaRefs{
				mt.Schema, openapi3.NewSchemaRef("#/components/schemas/"+JSONStatSchema, dataset),
			}})
			added = true
		}
	}
	if !added {
		return
	}
	if doc.Components == nil {
		doc.Components = &openapi3.Components{}
	}
	if doc.Components.Schemas == nil {
		doc.Components.Schemas = openapi3.Schemas{}
	}
	doc.Components.Schemas[JSONStatSchema] = openapi3.NewSchemaRef("", dataset)
}

// jsonStatDataset is the schema of a JSON-stat 2.0 dataset
// (https://json-stat.org/full/): the parts every dataset has.
func jsonStatDataset() *openapi3.Schema {
	s := openapi3.NewObjectSchema()
	s.Description = "A JSON-stat 2.0 dataset (https://json-stat.org/full/), served for format=jsonstat or Accept: application/json+stat."
	s.Required = []string{"version", "class", "id", "size", "dimension", "value"}
	s.Properties = openapi3.Schemas{
		"version":   openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithEnum("2.0")),
		"class":     openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithEnum("dataset")),
		"label":     openapi3.NewSchemaRef("", openapi3.NewStringSchema()),
		"href":      openapi3.NewSchemaRef("", openapi3.NewStringSchema()),
		"updated":   openapi3.NewSchemaRef("", openapi3.NewStringSchema()),
		"source":    openapi3.NewSchemaRef("", openapi3.NewStringSchema()),
		"id":        openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema())),
		"size":      openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(openapi3.NewIntegerSchema())),
		"role":      openapi3.NewSchemaRef("", openapi3.NewObjectSchema()),
		"dimension": openapi3.NewSchemaRef("", openapi3.NewObjectSchema()),
		"value": openapi3.NewSchemaRef("", &openapi3.Schema{OneOf: openapi3.SchemaRefs{
			openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(openapi3.NewFloat64Schema().WithNullable())),
			openapi3.NewSchemaRef("", openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewFloat64Schema())),
		}}),
		"status":    openapi3.NewSchemaRef("", openapi3.NewSchema()),
		"note":      openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema())),
		"extension": openapi3.NewSchemaRef("", openapi3.NewObjectSchema()),
	}
	return s
}

// offersJSONStat reports whether an operation's format parameter offers
// jsonstat.
func offersJSONStat(op *openapi3.Operation) bool {
	for _, p := range op.Parameters {
		if p.Value == nil || p.Value.Name != "format" || p.Value.Schema == nil || p.Value.Schema.Value == nil {
			continue
		}
		for _, e := range p.Value.Schema.Value.Enum {
			if e == "jsonstat" {
				return true
			}
		}
	}
	return false
}

// fixContentTypes applies the rules documented on Convert.
func fixContentTypes(doc *openapi3.T) {
	if doc.Paths == nil {
		return
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Responses == nil {
				continue
			}
			for code, ref := range op.Responses.Map() {
				if ref == nil || ref.Ref != "" || ref.Value == nil || len(ref.Value.Content) == 0 {
					continue
				}
				fixResponse(code, ref.Value)
			}
		}
	}
}

func fixResponse(code string, resp *openapi3.Response) {
	if isErrorStatus(code) {
		for _, mt := range resp.Content {
			if mt != nil && mt.Schema != nil && isProblemRef(mt.Schema.Ref) {
				resp.Content = openapi3.Content{ProblemMediaType: mt}
				return
			}
		}
	}
	for mime, mt := range resp.Content {
		if mt == nil || mt.Schema == nil || IsJSON(mime) {
			continue
		}
		// The media types of one response share one schema pointer, so the
		// media type gets a new schema rather than a changed one.
		mt.Schema = openapi3.NewSchemaRef("", openapi3.NewStringSchema())
	}
}

func isErrorStatus(code string) bool {
	n, err := strconv.Atoi(code)
	return err == nil && n >= 400 && n <= 599
}

func isProblemRef(ref string) bool {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	return ok && (name == "Problem" || strings.HasSuffix(name, ".Problem"))
}

// IsJSON reports whether a media type (parameters allowed) is JSON:
// application/json or a structured +json type such as
// application/problem+json.
func IsJSON(mediaType string) bool {
	base, _, _ := strings.Cut(mediaType, ";")
	base = strings.ToLower(strings.TrimSpace(base))
	return base == "application/json" || (strings.HasPrefix(base, "application/") && strings.HasSuffix(base, "+json"))
}

// Marshal renders an OpenAPI 3 document as indented JSON with a trailing
// newline and as YAML. Object keys are sorted in both, so the same document
// always gives the same bytes.
func Marshal(doc *openapi3.T) (jsonDoc, yamlDoc []byte, err error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal openapi 3 document: %w", err)
	}
	// A round trip through a generic value sorts object keys and lets the
	// encoder leave '<', '>' and '&' unescaped, so texts such as "<5" stay
	// readable.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, fmt.Errorf("marshal openapi 3 document: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, nil, fmt.Errorf("marshal openapi 3 document: %w", err)
	}
	jsonDoc = buf.Bytes()
	yamlDoc, err = yaml.JSONToYAML(jsonDoc)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal openapi 3 document as yaml: %w", err)
	}
	return jsonDoc, yamlDoc, nil
}

// Files lists the generated files relative to the module root, in the order
// Generate writes them.
func Files() []string {
	return []string{
		"docs/swagger.json",
		"docs/swagger.yaml",
		"openapi/openapi.json",
		"openapi/openapi.yaml",
	}
}

// FindRoot returns the module root: dir or the nearest parent of dir that
// holds a go.mod. It returns an error when there is none.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in this directory or any parent")
		}
		dir = parent
	}
}

// searchDirs lists the packages whose types the API documents: handlers
// (first: swag reads the general API info from its doc.go), then those of
// series, problem, store and changes that exist under root.
func searchDirs(root string) string {
	dirs := []string{filepath.Join(root, "handlers")}
	for _, name := range []string{"series", "problem", "store", "changes"} {
		if st, err := os.Stat(filepath.Join(root, name)); err == nil && st.IsDir() {
			dirs = append(dirs, filepath.Join(root, name))
		}
	}
	return strings.Join(dirs, ",")
}
