package handlers

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// releasesRoute is the contract of GET /v1/releases.
var releasesRoute = route{params: []string{"format"}, formats: []string{formatJSON, formatCSV}}

// ReleaseList is the response of GET /v1/releases.
type ReleaseList struct {
	Data  []store.Release `json:"data"`
	Links Links           `json:"links"`
	Meta  Meta            `json:"meta"`
} // @name ReleaseList

// ReleaseItem is the response of GET /v1/releases/{id}.
type ReleaseItem struct {
	Data store.Release `json:"data"`
	Meta Meta          `json:"meta"`
} // @name ReleaseItem

// listReleases godoc
//
//	@Summary		List releases
//	@Description	Every loaded release of the data, newest first; one is current. Pass release=<id> to any data route to read an earlier release, so a cited figure can always be found again. A release that superseded another counts its changes since it (changes; the details are at /v1/releases/{id}/changes). /v1/releases.atom is the same list as a feed.
//	@Tags			releases
//	@ID				listReleases
//	@Produce		json
//	@Produce		text/csv
//	@Param			format	query		string	false	"Representation (default json)"	Enums(json, csv)
//	@Success		200		{object}	ReleaseList
//	@Failure		400,406,500,503	{object}	problem.Problem
//	@Router			/v1/releases [get]
func (h *Handler) listReleases(c *gin.Context) error {
	q, err := releasesRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	format, err := q.format(c.GetHeader("Accept"), releasesRoute.formats...)
	if err != nil {
		return err
	}
	cur, err := h.store.CurrentRelease(c.Request.Context())
	if err != nil {
		return err
	}
	c.Header(releaseHeader, cur.ID)
	rs, err := h.store.Releases(c.Request.Context())
	if err != nil {
		return err
	}
	if format == formatCSV {
		// The change columns come after the columns files had before, so
		// that readers by position keep working; they are empty for a
		// release that records no changes.
		t := table{name: "krimstat-releases", header: []string{"id", "created", "current", "observations", "note",
			"changes_since", "added", "removed", "revised", "metadata_revised"}}
		for _, r := range rs {
			row := []string{r.ID, r.Created, strconv.FormatBool(r.Current), strconv.Itoa(r.Counts["observations"]), r.Note}
			if ch := r.Changes; ch != nil {
				row = append(row, ch.Since, strconv.Itoa(ch.Added), strconv.Itoa(ch.Removed), strconv.Itoa(ch.Revised), strconv.Itoa(ch.MetadataRevised))
			} else {
				row = append(row, "", "", "", "", "")
			}
			t.rows = append(t.rows, row)
		}
		writeCSV(c, t)
		return nil
	}
	writeJSON(c, ReleaseList{Data: rs, Links: Links{Self: link(c.Request.URL.Path, "")}, Meta: Meta{Release: cur.ID, Count: len(rs)}})
	return nil
}

// getRelease godoc
//
//	@Summary		Get a release
//	@Description	One release: its date, input files with SHA-256 checksums, row counts per source, and the counts of its changes since the release it superseded (changes, absent for a release that records none; the changes themselves are at /v1/releases/{id}/changes).
//	@Tags			releases
//	@ID				getRelease
//	@Produce		json
//	@Param			id	path		string	true	"Release id"
//	@Success		200	{object}	ReleaseItem
//	@Failure		400,404,500,503	{object}	problem.Problem
//	@Router			/v1/releases/{id} [get]
func (h *Handler) getRelease(c *gin.Context) error {
	if _, err := (route{}).query(c.Request.URL.RawQuery); err != nil {
		return err
	}
	r, err := h.store.Release(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.Header(releaseHeader, r.ID)
	writeJSON(c, ReleaseItem{Data: r, Meta: Meta{Release: r.ID, Count: 1}})
	return nil
}
