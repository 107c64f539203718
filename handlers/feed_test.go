package handlers_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krimstat/krimstat/internal/testenv"
)

// atomNS is the Atom 1.0 namespace.
const atomNS = "http://www.w3.org/2005/Atom"

// Atom is an Atom 1.0 feed as RFC 4287 describes it, read independently of
// the handler's own types.
type atomDoc struct {
	XMLName  xml.Name     `xml:"feed"`
	ID       []string     `xml:"id"`
	Title    []string     `xml:"title"`
	Updated  []string     `xml:"updated"`
	Subtitle string       `xml:"subtitle"`
	Authors  []atomAuthor `xml:"author"`
	Links    []atomLinkT  `xml:"link"`
	Entries  []atomEntryT `xml:"entry"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomLinkT struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type atomEntryT struct {
	ID      []string     `xml:"id"`
	Title   []string     `xml:"title"`
	Updated []string     `xml:"updated"`
	Summary string       `xml:"summary"`
	Content *struct{}    `xml:"content"`
	Authors []atomAuthor `xml:"author"`
	Links   []atomLinkT  `xml:"link"`
}

// atomElements are the elements of RFC 4287 by parent, those a feed may
// hold; anything else, or an element outside the Atom namespace, is an
// error of parseAtom.
var atomElements = map[string][]string{
	"":       {"feed"},
	"feed":   {"id", "title", "subtitle", "updated", "author", "link", "entry", "category", "contributor", "generator", "icon", "logo", "rights"},
	"entry":  {"id", "title", "updated", "summary", "content", "author", "link", "category", "contributor", "published", "rights", "source"},
	"author": {"name", "uri", "email"},
}

// parseAtom reads body strictly as an Atom 1.0 feed and checks what RFC
// 4287 requires: every element known and in the Atom namespace; the feed
// and each entry with exactly one id (an absolute IRI, unique among the
// entries), title and updated (an RFC 3339 date); an author for the feed
// or for every entry; a self link; and an alternate link on every entry
// without content. It returns the feed.
func parseAtom(t *testing.T, body []byte) atomDoc {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	var stack []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("feed is not well-formed XML: %v\n%s", err, body)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			if el.Name.Space != atomNS {
				t.Errorf("element %s: got namespace %q, want %s", el.Name.Local, el.Name.Space, atomNS)
			}
			if allowed, ok := atomElements[parent]; ok && !slices.Contains(allowed, el.Name.Local) {
				t.Errorf("element %s in %q: not an Atom element there", el.Name.Local, parent)
			}
			stack = append(stack, el.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	var f atomDoc
	if err := xml.Unmarshal(body, &f); err != nil {
		t.Fatalf("feed: %v", err)
	}
	one := func(what string, vs []string) string {
		t.Helper()
		if len(vs) != 1 || strings.TrimSpace(vs[0]) == "" {
			t.Errorf("%s: got %q, want exactly one, not empty", what, vs)
			return ""
		}
		return vs[0]
	}
	iri := func(what, s string) {
		t.Helper()
		if u, err := url.Parse(s); err != nil || u.Scheme == "" {
			t.Errorf("%s %q: want an absolute IRI", what, s)
		}
	}
	date := func(what, s string) {
		t.Helper()
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("%s %q: want an RFC 3339 date: %v", what, s, err)
		}
	}
	iri("feed id", one("feed id", f.ID))
	one("feed title", f.Title)
	date("feed updated", one("feed updated", f.Updated))
	selfs := 0
	for _, l := range f.Links {
		iri("feed link", l.Href)
		if l.Rel == "self" {
			selfs++
		}
	}
	if selfs != 1 {
		t.Errorf("feed: got %d self links, want 1", selfs)
	}
	ids := map[string]bool{}
	for i, e := range f.Entries {
		id := one("entry id", e.ID)
		iri("entry id", id)
		if ids[id] {
			t.Errorf("entry %d: id %s repeated", i, id)
		}
		ids[id] = true
		one("entry "+id+" title", e.Title)
		date("entry "+id+" updated", one("entry "+id+" updated", e.Updated))
		if len(f.Authors) == 0 && len(e.Authors) == 0 {
			t.Errorf("entry %s: no author, and the feed has none", id)
		}
		alternate := false
		for _, l := range e.Links {
			iri("entry "+id+" link", l.Href)
			alternate = alternate || l.Rel == "alternate"
		}
		if !alternate && e.Content == nil {
			t.Errorf("entry %s: neither content nor an alternate link", id)
		}
	}
	return f
}

// links maps the rel of each link to its href.
func links(ls []atomLinkT) map[string]string {
	m := map[string]string{}
	for _, l := range ls {
		m[l.Rel] = l.Href
	}
	return m
}

func TestReleasesFeed(t *testing.T) {
	r := twoReleaseRouter(t)
	rec := do(t, r, "GET", "/v1/releases.atom", "X-Forwarded-Proto", "https")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Fatalf("got %d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	f := parseAtom(t, rec.Body.Bytes())
	if f.Updated[0] != "2024-09-01T12:00:00Z" || links(f.Links)["self"] != "https://example.com/v1/releases.atom" ||
		len(f.Authors) != 1 || f.Authors[0].Name != "Krimstat" {
		t.Errorf("feed: got updated %q, links %v, authors %v; want the newest release's date, the feed's own URL and Krimstat",
			f.Updated, links(f.Links), f.Authors)
	}
	if len(f.Entries) != 2 {
		t.Fatalf("entries: got %d, want 2", len(f.Entries))
	}
	tests := []struct {
		id, title, updated, summary string
		links                       map[string]string
	}{
		{
			"tag:krimstat.no,2025:release/2024-09-01", "Release 2024-09-01", "2024-09-01T12:00:00Z",
			"Homicide in Norway revised. Since release 2024-06-01: 1 added, 1 removed, 1 revised, 0 revised in flags or locator only, 52 unchanged. " +
				"eurostat-crim_off_cat: 1 removed, 12 unchanged. ssb-08484: 1 added, 1 revised, 37 unchanged. unodc-cts: 3 unchanged.",
			map[string]string{
				"alternate": "https://example.com/v1/releases/2024-09-01",
				"related":   "https://example.com/v1/releases/2024-09-01/changes",
				"enclosure": "https://example.com/v1/releases/2024-09-01/download",
			},
		},
		{
			"tag:krimstat.no,2025:release/2024-06-01", "Release 2024-06-01", "2024-06-01T10:00:00Z",
			"first release. 54 observations. No change summary is recorded for this release.",
			map[string]string{
				"alternate": "https://example.com/v1/releases/2024-06-01",
				"enclosure": "https://example.com/v1/releases/2024-06-01/download",
			},
		},
	}
	for i, tt := range tests {
		e := f.Entries[i]
		if e.ID[0] != tt.id || e.Title[0] != tt.title || e.Updated[0] != tt.updated || e.Summary != tt.summary {
			t.Errorf("entry %d: got %s %q %s %q, want %s %q %s %q", i, e.ID[0], e.Title[0], e.Updated[0], e.Summary,
				tt.id, tt.title, tt.updated, tt.summary)
		}
		if got := links(e.Links); !equalMaps(got, tt.links) {
			t.Errorf("entry %d links: got %v, want %v", i, got, tt.links)
		}
	}

	// Every link of the feed answers.
	for _, e := range f.Entries {
		for _, l := range e.Links {
			u, _ := url.Parse(l.Href)
			if rec := do(t, r, "HEAD", u.RequestURI()); rec.Code != 200 {
				t.Errorf("link %s: got %d, want 200", l.Href, rec.Code)
			}
		}
	}
	if rec := do(t, r, "GET", "/v1/releases.atom?limit=5"); rec.Code != 400 {
		t.Errorf("unknown parameter: got %d, want 400", rec.Code)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// feedparserScript reads the feed file named by its argument with Python's
// feedparser, the reader behind many feed aggregators, and prints what it
// understood as JSON.
const feedparserScript = `
import json, sys, feedparser
d = feedparser.parse(sys.argv[1])
print(json.dumps({
    "bozo": int(d.bozo),
    "bozo_exception": str(d.get("bozo_exception", "")),
    "version": d.version,
    "title": d.feed.get("title", ""),
    "updated": d.feed.get("updated", ""),
    "entries": [{
        "id": e.get("id", ""),
        "title": e.get("title", ""),
        "updated": e.get("updated", ""),
        "summary": e.get("summary", ""),
        "links": sorted(l.get("rel", "") + " " + l.get("href", "") for l in e.get("links", [])),
    } for e in d.entries],
}))
`

// python3WithFeedparser returns a Python 3 that can import feedparser:
// Debian's (python3-feedparser installs for /usr/bin/python3) or the one
// on PATH.
func python3WithFeedparser() (string, bool) {
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import feedparser").Run() == nil {
			return p, true
		}
	}
	return "", false
}

// TestReleasesFeedReader reads the feed with a real feed reader, Python's
// feedparser (Debian's python3-feedparser): it must find no error in it
// and read every entry as written.
func TestReleasesFeedReader(t *testing.T) {
	python, ok := python3WithFeedparser()
	if !ok {
		testenv.Missing(t, "Python 3 with feedparser (apt-get install python3-feedparser)")
	}
	r := twoReleaseRouter(t)
	rec := do(t, r, "GET", "/v1/releases.atom")
	path := filepath.Join(t.TempDir(), "releases.atom")
	if err := os.WriteFile(path, rec.Body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", feedparserScript, path).Output()
	if err != nil {
		t.Fatalf("feedparser: %v", err)
	}
	var got struct {
		Bozo          int    `json:"bozo"`
		BozoException string `json:"bozo_exception"`
		Version       string `json:"version"`
		Title         string `json:"title"`
		Updated       string `json:"updated"`
		Entries       []struct {
			ID, Title, Updated, Summary string
			Links                       []string
		} `json:"entries"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("feedparser output: %v\n%s", err, out)
	}
	if got.Bozo != 0 || got.Version != "atom10" || got.Title != "Krimstat releases" || got.Updated != "2024-09-01T12:00:00Z" {
		t.Errorf("feedparser: got bozo %d (%s), version %q, title %q, updated %q; want 0, atom10, Krimstat releases, 2024-09-01T12:00:00Z",
			got.Bozo, got.BozoException, got.Version, got.Title, got.Updated)
	}
	if len(got.Entries) != 2 {
		t.Fatalf("feedparser entries: got %d, want 2", len(got.Entries))
	}
	e := got.Entries[0]
	wantLinks := []string{
		"alternate http://example.com/v1/releases/2024-09-01",
		"enclosure http://example.com/v1/releases/2024-09-01/download",
		"related http://example.com/v1/releases/2024-09-01/changes",
	}
	if e.ID != "tag:krimstat.no,2025:release/2024-09-01" || e.Title != "Release 2024-09-01" || e.Updated != "2024-09-01T12:00:00Z" ||
		!strings.Contains(e.Summary, "Since release 2024-06-01: 1 added, 1 removed, 1 revised") || !slices.Equal(e.Links, wantLinks) {
		t.Errorf("feedparser's first entry: got %+v, want the release 2024-09-01 with its changes and links %q", e, wantLinks)
	}
}
