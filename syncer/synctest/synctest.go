// Package synctest provides fake servers that speak Statistics Norway's
// PxWebApi v2 and Eurostat's statistics API closely enough for the sync to
// be tested without the internet: they answer with JSON-stat 2.0 documents
// of the real shapes (SSB's extension, role, status and nulls; Eurostat's
// sparse value and status objects and extension), select categories as the
// APIs do, let a test revise the tables between calls, and inject the
// faults a sync must survive: a reset connection, a hang, 5xx and 429
// answers, a truncated body, and documents changed in one response only.
//
// The tables are in testdata: eurostat-crim_off_cat-NO.json holds Eurostat's
// real crim_off_cat figures for Norway (from shared/data); ssb-99999.json is
// a test-only table whose categories and figures were made up for the tests
// and say so in their labels.
package synctest

import (
	"embed"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed testdata/*.json
var testdata embed.FS

// The tables the fakes start with.
const (
	SSBTable      = "99999"        // test-only SSB table; lang no
	EurostatTable = "crim_off_cat" // Norway's real figures
)

// Server is a fake API. Its tables can be replaced or edited between
// requests, and a fault can be set on any path.
type Server struct {
	*httptest.Server
	eurostat bool

	mu       sync.Mutex
	tables   map[string]*Doc // by table id or dataset code
	langs    map[string]string
	faults   map[string]Fault // by URL path
	requests []*url.URL
	closed   chan struct{}
}

// NewSSB starts a fake PxWebApi v2 serving the test table SSBTable at
// /tables/99999/metadata and /tables/99999/data. It is closed when the test
// ends.
func NewSSB(t testing.TB) *Server {
	s := newServer(t, false)
	s.SetTable(SSBTable, "no", mustDoc(t, "testdata/ssb-99999.json"))
	return s
}

// NewEurostat starts a fake statistics API serving crim_off_cat for Norway
// at /data/crim_off_cat. It is closed when the test ends.
func NewEurostat(t testing.TB) *Server {
	s := newServer(t, true)
	s.SetTable(EurostatTable, "en", mustDoc(t, "testdata/eurostat-crim_off_cat-NO.json"))
	return s
}

func newServer(t testing.TB, eurostat bool) *Server {
	s := &Server{eurostat: eurostat, tables: map[string]*Doc{}, langs: map[string]string{},
		faults: map[string]Fault{}, closed: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.closed)
		s.Server.Close()
	})
	return s
}

func mustDoc(t testing.TB, name string) *Doc {
	b, err := testdata.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDoc(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// SetTable serves doc, the whole table with every figure, as table id in
// the language lang (no or en for SSB; en for Eurostat).
func (s *Server) SetTable(id, lang string, doc *Doc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables[id] = doc.Clone()
	s.langs[id] = lang
}

// Table returns a copy of a table as served now, to edit and set again.
func (s *Server) Table(id string) *Doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tables[id].Clone()
}

// Edit changes a table in place, as a publisher revises it: every later
// response reflects the change.
func (s *Server) Edit(id string, f func(*Doc)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.tables[id])
}

// MetadataPath and DataPath are the paths of a table's documents, on which
// faults are set.
func (s *Server) MetadataPath(id string) string { return "/tables/" + id + "/metadata" }

// DataPath is the path of a table's data.
func (s *Server) DataPath(id string) string {
	if s.eurostat {
		return "/data/" + id
	}
	return "/tables/" + id + "/data"
}

// Fail makes every request to path fail with f until Clear.
func (s *Server) Fail(path string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = f
}

// Clear removes every fault.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// Requests returns the URLs requested so far.
func (s *Server) Requests() []*url.URL {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*url.URL, len(s.requests))
	copy(out, s.requests)
	return out
}

// Fault is what a path answers instead of its document.
type Fault struct {
	kind   string
	status int
	edit   func(*Doc)
}

// Reset closes the connection without an answer, as a peer that resets it.
func Reset() Fault { return Fault{kind: "reset"} }

// Hang answers nothing until the client gives up.
func Hang() Fault { return Fault{kind: "hang"} }

// Status answers with an HTTP error status (500, 503, 429, 404, ...).
func Status(code int) Fault { return Fault{kind: "status", status: code} }

// Truncated promises the whole document in Content-Length and hangs up
// halfway through it.
func Truncated() Fault { return Fault{kind: "truncated"} }

// Rewrite answers with the document changed by edit, in this response
// only: a table that changes between the metadata and the data, or a
// response that differs from what the table says.
func Rewrite(edit func(*Doc)) Fault { return Fault{kind: "rewrite", edit: edit} }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL)
	fault, faulty := s.faults[r.URL.Path]
	s.mu.Unlock()
	if faulty {
		switch fault.kind {
		case "reset":
			reset(w)
			return
		case "hang":
			select {
			case <-r.Context().Done():
			case <-s.closed:
			case <-time.After(time.Minute):
			}
			return
		case "status":
			if fault.status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "60")
			}
			s.problem(w, fault.status, http.StatusText(fault.status))
			return
		}
	}
	doc, status, msg := s.document(r)
	if doc == nil {
		s.problem(w, status, msg)
		return
	}
	if faulty && fault.kind == "rewrite" {
		doc = doc.Clone()
		fault.edit(doc)
	}
	body := doc.Bytes()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if faulty && fault.kind == "truncated" {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		// An orderly close: the client sees the body end early.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	w.Write(body)
}

// reset hangs up at once, with a reset rather than an orderly close where
// the platform allows it.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// document answers a request as the API would: the document, or an error
// status and message.
func (s *Server) document(r *http.Request) (*Doc, int, string) {
	if r.Method != http.MethodGet {
		return nil, http.StatusMethodNotAllowed, "GET only"
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eurostat {
		id, ok := strings.CutPrefix(r.URL.Path, "/data/")
		table := s.tables[id]
		if !ok || table == nil {
			return nil, http.StatusNotFound, "Unknown dataset"
		}
		if q.Get("format") != "JSON" || !strings.EqualFold(q.Get("lang"), s.langs[id]) {
			return nil, http.StatusBadRequest, "format=JSON and lang=EN are required"
		}
		sel := map[string][]string{}
		for k, v := range q {
			if k == "format" || k == "lang" {
				continue
			}
			if table.hasDim(k) {
				sel[k] = v
				continue
			}
			return nil, http.StatusBadRequest, fmt.Sprintf("Invalid filter %q", k)
		}
		d, err := table.selectCells(sel)
		if err != nil {
			return nil, http.StatusBadRequest, err.Error()
		}
		return d, 0, ""
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/tables/")
	id, endpoint, _ := strings.Cut(rest, "/")
	table := s.tables[id]
	if !ok || table == nil {
		return nil, http.StatusNotFound, "Table not found"
	}
	if q.Get("lang") != s.langs[id] {
		return nil, http.StatusNotFound, fmt.Sprintf("Table %s is not available in language %q", id, q.Get("lang"))
	}
	if q.Get("outputFormat") != "json-stat2" {
		return nil, http.StatusBadRequest, "this fake speaks outputFormat=json-stat2 only"
	}
	switch endpoint {
	case "metadata":
		return table.metadata(), 0, ""
	case "data":
		sel := map[string][]string{}
		for k, v := range q {
			dim, ok := strings.CutPrefix(k, "valueCodes[")
			if !ok {
				continue
			}
			dim = strings.TrimSuffix(dim, "]")
			if !table.hasDim(dim) {
				return nil, http.StatusBadRequest, fmt.Sprintf("Non-existent variable %q", dim)
			}
			for _, codes := range v {
				sel[dim] = append(sel[dim], strings.Split(codes, ",")...)
			}
		}
		// PxWebApi answers 400 when a mandatory dimension is not selected,
		// and sums over an eliminable one to its elimination value.
		for _, dim := range table.IDs() {
			if _, ok := sel[dim]; ok {
				continue
			}
			code, ok := table.eliminationValue(dim)
			if !ok {
				return nil, http.StatusBadRequest, fmt.Sprintf("Missing selection for mandantory variable %s", dim)
			}
			sel[dim] = []string{code}
		}
		d, err := table.selectCells(sel)
		if err != nil {
			return nil, http.StatusBadRequest, err.Error()
		}
		return d, 0, ""
	}
	return nil, http.StatusNotFound, "Not found"
}

func (d *Doc) hasDim(id string) bool {
	_, ok := d.m["dimension"].(map[string]any)[id]
	return ok
}

func (d *Doc) eliminationValue(id string) (string, bool) {
	ext, _ := d.dim(id)["extension"].(map[string]any)
	if ext == nil || ext["elimination"] != true {
		return "", false
	}
	code, ok := ext["eliminationValueCode"].(string)
	return code, ok
}

// problem writes an error body in the style of the API.
func (s *Server) problem(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	var body any
	if s.eurostat {
		body = map[string]any{"error": []any{map[string]any{"status": status, "id": status, "label": msg}}, "version": "2.0", "class": "error"}
	} else {
		body = map[string]any{"type": "https://tools.ietf.org/html/rfc7231", "title": msg, "status": status}
	}
	json.NewEncoder(w).Encode(body)
}
