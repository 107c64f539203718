package handlers

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// feedPath is where the feed is served; embed pages link to it.
const feedPath = "/v1/releases.atom"

// feedRoute is the contract of GET /v1/releases.atom. Its links are
// absolute, made from the origin the client used.
var feedRoute = route{origin: true}

// Bounds and names of the release feed.
const (
	// feedReleases is how many releases the feed lists, newest first.
	feedReleases = 50
	// atomMedia is the feed's media type (RFC 4287).
	atomMedia = "application/atom+xml; charset=utf-8"
	// atomNS is the Atom namespace.
	atomNS = "http://www.w3.org/2005/Atom"
	// tagBase starts the id of every feed and entry: tag URIs (RFC 4151)
	// do not depend on the host a client used, so a reader that meets
	// the feed under two names still sees each entry once.
	tagBase = "tag:krimstat.no,2025:"
)

// atomFeed is an Atom 1.0 feed document (RFC 4287), as much of it as the
// release feed uses.
type atomFeed struct {
	XMLName  xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID       string      `xml:"id"`
	Title    string      `xml:"title"`
	Subtitle string      `xml:"subtitle,omitempty"`
	Updated  string      `xml:"updated"`
	Author   atomPerson  `xml:"author"`
	Links    []atomLink  `xml:"link"`
	Entries  []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomEntry struct {
	ID      string     `xml:"id"`
	Title   string     `xml:"title"`
	Updated string     `xml:"updated"`
	Summary string     `xml:"summary"`
	Links   []atomLink `xml:"link"`
}

// getReleasesFeed godoc
//
//	@Summary		Release feed (Atom)
//	@Description	An Atom 1.0 feed (RFC 4287) of the newest 50 releases, to follow new data with any feed reader: each entry is dated by its release, summarises its changes since the release it superseded (added, removed, revised, per source) and links to the release, its changes (GET /v1/releases/{id}/changes) and its download. Deprecations of API routes are entries too, dated by their deprecation, with their sunset and successor (see STABILITY.md). Links are absolute, made from the host the client used; entry ids are tag URIs that do not depend on it.
//	@Tags			releases
//	@ID				getReleasesFeed
//	@Produce		application/atom+xml
//	@Success		200	{string}	string	"Atom 1.0 feed"
//	@Failure		400,500,503	{object}	problem.Problem
//	@Router			/v1/releases.atom [get]
func (h *Handler) getReleasesFeed(c *gin.Context) error {
	if _, err := feedRoute.query(c.Request.URL.RawQuery); err != nil {
		return err
	}
	rels, err := h.store.Releases(c.Request.Context())
	if err != nil {
		return err
	}
	if len(rels) > 0 {
		// Releases lists the current one among them; any will do for
		// the header, which names the data the feed was made from.
		c.Header(releaseHeader, rels[0].ID)
	}
	base := origin(c)
	feed := atomFeed{
		ID:       tagBase + "releases",
		Title:    "Krimstat releases",
		Subtitle: "New releases of Krimstat's data, what each changed, and deprecations of the API",
		Author:   atomPerson{Name: "Krimstat"},
		Links: []atomLink{
			{Href: base + c.Request.URL.Path, Rel: "self", Type: "application/atom+xml"},
			{Href: base + "/v1/releases", Rel: "alternate", Type: "application/json"},
		},
	}
	// An empty feed is dated at the epoch: Atom requires a date.
	newest := time.Unix(0, 0).UTC()
	for _, r := range rels[:min(len(rels), feedReleases)] {
		t := atomTime(r.Created)
		newest = later(newest, t)
		feed.Entries = append(feed.Entries, releaseEntry(r, t, base))
	}
	for _, e := range h.deprecationEntries(base) {
		newest = later(newest, e.at)
		feed.Entries = append(feed.Entries, e.entry)
	}
	feed.Updated = newest.Format(time.RFC3339)
	b, err := xml.MarshalIndent(feed, "", "  ")
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, atomMedia, append([]byte(xml.Header), append(b, '\n')...))
	return nil
}

// releaseEntry is the feed entry of release r, dated t.
func releaseEntry(r store.Release, t time.Time, base string) atomEntry {
	path := "/v1/releases/" + url.PathEscape(r.ID)
	e := atomEntry{
		ID:      tagBase + "release/" + url.PathEscape(r.ID),
		Title:   "Release " + r.ID,
		Updated: t.Format(time.RFC3339),
		Summary: releaseSummary(r),
		Links: []atomLink{
			{Href: base + path, Rel: "alternate", Type: "application/json"},
			{Href: base + path + "/download", Rel: "enclosure", Type: "application/zip"},
		},
	}
	if r.Changes != nil {
		e.Links = append(e.Links, atomLink{Href: base + path + "/changes", Rel: "related", Type: "application/json"})
	}
	return e
}

// releaseSummary says in a few sentences what a release changed.
func releaseSummary(r store.Release) string {
	var b strings.Builder
	if r.Note != "" {
		b.WriteString(strings.TrimSuffix(r.Note, "."))
		b.WriteString(". ")
	}
	if obs, ok := r.Counts["observations"]; ok {
		fmt.Fprintf(&b, "%d observations. ", obs)
	}
	ch := r.Changes
	if ch == nil {
		b.WriteString("No change summary is recorded for this release.")
		return b.String()
	}
	fmt.Fprintf(&b, "Since release %s: %s.", ch.Since, countsText(ch.ChangeCounts, true))
	for _, s := range ch.Sources {
		if t := countsText(s.ChangeCounts, false); t != "" {
			fmt.Fprintf(&b, " %s: %s.", s.Source, t)
		}
	}
	return b.String()
}

// countsText reads change counts as a list: the counts that are not zero,
// or, with all, every count.
func countsText(n store.ChangeCounts, all bool) string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{
		{n.Added, "added"}, {n.Removed, "removed"}, {n.Revised, "revised"},
		{n.MetadataRevised, "revised in flags or locator only"}, {n.Unchanged, "unchanged"},
	} {
		if all || c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return strings.Join(parts, ", ")
}

// deprecationEntry is a feed entry for a deprecated route, dated by its
// deprecation.
type deprecationEntry struct {
	at    time.Time
	entry atomEntry
}

// deprecationEntries lists the deprecated routes as feed entries, newest
// deprecation first.
func (h *Handler) deprecationEntries(base string) []deprecationEntry {
	var out []deprecationEntry
	h.routes.Range(func(k, v any) bool {
		pattern, rt := k.(string), v.(route)
		if rt.deprecated.IsZero() {
			return true
		}
		var b strings.Builder
		fmt.Fprintf(&b, "GET %s is deprecated since %s", pattern, rt.deprecated.Format(time.DateOnly))
		if !rt.sunset.IsZero() {
			fmt.Fprintf(&b, " and stops answering on %s", rt.sunset.Format(time.DateOnly))
		}
		b.WriteString(".")
		links := []atomLink{{Href: stabilityPolicy, Rel: "alternate", Type: "text/html"}}
		if rt.successor != "" {
			fmt.Fprintf(&b, " Use %s instead.", rt.successor)
			links = append(links, atomLink{Href: base + rt.successor, Rel: "successor-version"})
		}
		out = append(out, deprecationEntry{at: rt.deprecated, entry: atomEntry{
			ID:      tagBase + "deprecation" + pattern,
			Title:   "Deprecated: GET " + pattern,
			Updated: rt.deprecated.UTC().Format(time.RFC3339),
			Summary: b.String(),
			Links:   links,
		}})
		return true
	})
	slices.SortFunc(out, func(a, b deprecationEntry) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(a.entry.ID, b.entry.ID)
	})
	return out
}

// atomTime reads a release's date, RFC 3339 or YYYY-MM-DD, as the UTC time
// an Atom date needs. A date that is neither reads as the Unix epoch, so a
// malformed date sorts last rather than breaking the feed.
func atomTime(s string) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t
	}
	return time.Unix(0, 0).UTC()
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
