package handlers

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/changes"
	"github.com/krimstat/krimstat/store"
)

// changesRoute is the contract of GET /v1/releases/{id}/changes.
var changesRoute = route{
	params:  []string{"since", "limit", "cursor", "format", "csv_dialect"},
	formats: []string{formatJSON, formatCSV},
}

// defaultChangesLimit is the page size of a release's changes: larger than
// a page of observations, since most releases change little and one page
// then holds them all. The largest page is maxLimit.
const defaultChangesLimit = 1000

// ReleaseChanges is the response of GET /v1/releases/{id}/changes.
type ReleaseChanges struct {
	Data  ChangeList  `json:"data"`
	Links Links       `json:"links"`
	Meta  ChangesMeta `json:"meta"`
} // @name ReleaseChanges

// ChangeList is the summary of every change between two releases and one
// page of the changes themselves, in the order of observations.
type ChangeList struct {
	Summary changes.Summary     `json:"summary"`
	Added   []store.Observation `json:"added"`
	Removed []store.Observation `json:"removed"`
	Revised []changes.Revision  `json:"revised"`
	// VanishedSeries lists series of the earlier release that the later
	// does not continue, on the first page only, at most limit of them;
	// summary.vanished_series counts them all.
	VanishedSeries []changes.SeriesKey `json:"vanished_series"`
} // @name ChangeList

// ChangesMeta describes a page of changes.
type ChangesMeta struct {
	Release string `json:"release" example:"2025-01-15"`
	Since   string `json:"since" example:"2024-06-01"`
	Count   int    `json:"count" example:"3"`
	Limit   int    `json:"limit" example:"1000"`
} // @name ChangesMeta

// changeColumns is the CSV header of changes: what changed, the
// observation's identity, then each field before and after.
var changeColumns = []string{
	"change", "offence", "region", "period", "measure", "sex", "age", "citizenship", "repatriation_country", "source",
	"old_value", "new_value", "old_value_text", "new_value_text", "old_flags", "new_flags",
	"old_confidence", "new_confidence", "old_locator", "new_locator",
}

// getReleaseChanges godoc
//
//	@Summary		What changed in a release
//	@Description	How the observations of release id differ from those of release since (by default the release id superseded, its changes.since): counts of the observations added, removed, revised (value or value_text changed, including a value become text or the reverse), revised in metadata only (flags, confidence or locator) and unchanged, in all and per source; the series of since that id does not continue; the offences, regions, measures and sources that only id's observations use; and the changes themselves with the old and the new figure, in the order of observations, paged with limit and an opaque cursor (follow links.next). Every page carries the whole summary. A revised figure of a release also carries the revised flag and its previous value (revision) wherever it is served. Releases never change, so neither does this answer.
//	@Tags			releases
//	@ID				getReleaseChanges
//	@Produce		json
//	@Produce		text/csv
//	@Param			id			path		string	true	"Release id"	example(2025-01-15)
//	@Param			since		query		string	false	"The release to compare with (default: the one id superseded, changes.since of the release)"
//	@Param			limit		query		int		false	"Changes per page"	minimum(1)	maximum(10000)	default(1000)
//	@Param			cursor		query		string	false	"Opaque cursor from links.next"
//	@Param			format		query		string	false	"Representation (default json): json or csv (one row per change, old and new fields side by side; change is added, removed, value or metadata)"	Enums(json, csv)
//	@Param			csv_dialect	query		string	false	"CSV dialect: rfc4180 (default) or excel-no"	Enums(rfc4180, excel-no)
//	@Success		200			{object}	ReleaseChanges
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/releases/{id}/changes [get]
func (h *Handler) getReleaseChanges(c *gin.Context) error {
	q, err := changesRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	format, dialect, err := changesRoute.representation(q, c.GetHeader("Accept"))
	if err != nil {
		return err
	}
	limit, err := changesLimit(q)
	if err != nil {
		return err
	}
	id := c.Param("id")
	after, err := changesCursor(q, id)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	rel, err := h.store.Release(ctx, id)
	if err != nil {
		return err
	}
	since, err := q.one("since")
	if err != nil {
		return err
	}
	if since == "" {
		if rel.Changes == nil {
			return store.InvalidParam("since", "release %s records no release it superseded; name one to compare with (see /v1/releases)", rel.ID)
		}
		since = rel.Changes.Since
	}
	prev, err := h.store.Release(ctx, since)
	if err != nil {
		return fmt.Errorf("since: %w", err)
	}
	c.Header(releaseHeader, rel.ID)
	r, err := changes.Compare(changes.StoreInput(ctx, h.store, prev.ID), changes.StoreInput(ctx, h.store, rel.ID),
		changes.Options{After: after, Limit: limit})
	if err != nil {
		return err
	}
	links, err := changesLinks(c, q, rel.ID, format, r.Next)
	if err != nil {
		return err
	}
	if links.Next != "" {
		c.Header("Link", "<"+links.Next+`>; rel="next"`)
	}
	if format == formatCSV {
		t := changesTable(r)
		t.name, t.dialect = fileName("krimstat-changes-since", prev.ID), dialect
		writeCSV(c, t)
		return nil
	}
	writeJSON(c, ReleaseChanges{
		Data:  ChangeList{Summary: r.Summary, Added: r.Added, Removed: r.Removed, Revised: r.Revised, VanishedSeries: r.VanishedSeries},
		Links: links,
		Meta:  ChangesMeta{Release: rel.ID, Since: prev.ID, Count: len(r.Added) + len(r.Removed) + len(r.Revised), Limit: limit},
	})
	return nil
}

// changesLimit reads the page size of changes.
func changesLimit(q query) (int, error) {
	s, err := q.one("limit")
	if err != nil || s == "" {
		return defaultChangesLimit, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, store.InvalidParam("limit", "%q: want a whole number from 1 to %d", s, maxLimit)
	}
	return n, nil
}

// changesCursor reads the cursor of a page of the changes of release id:
// the key of the last change of the page before, or "" for the first page.
func changesCursor(q query, id string) (string, error) {
	s, err := q.one("cursor")
	if err != nil || s == "" {
		return "", err
	}
	cur, err := decodeCursor(s)
	if err != nil {
		return "", err
	}
	if cur.Release != id {
		return "", store.InvalidParam("cursor", "the cursor belongs to the changes of release %s, not %s", cur.Release, id)
	}
	return cur.After, nil
}

// changesLinks are a page's canonical self link and, when there is a next
// page (after is its position), the link to it in the same format.
func changesLinks(c *gin.Context, q query, release, format, after string) (Links, error) {
	canon, err := changesRoute.canonical(q.values, release)
	if err != nil {
		return Links{}, err
	}
	links := Links{Self: link(c.Request.URL.Path, canon)}
	if after == "" {
		return links, nil
	}
	rest := maps.Clone(q.values)
	delete(rest, "cursor")
	if canon, err = changesRoute.canonical(rest, release); err != nil {
		return Links{}, err
	}
	links.Next = link(c.Request.URL.Path, canon, "cursor="+cursor{Release: release, After: after}.encode(), formatParam(changesRoute, format))
	return links, nil
}

// changesTable renders a page of changes as CSV rows of changeColumns, in
// the order of observations.
func changesTable(r changes.Report) table {
	type keyed struct {
		key string
		row []string
	}
	var rows []keyed
	add := func(kind string, old, new *store.Observation) {
		o := new
		if o == nil {
			o = old
		}
		b := o.Breakdown
		row := []string{kind, o.Offence, o.Region, o.Period, o.Measure, orTotal(b.Sex), orTotal(b.Age), orTotal(b.Citizenship),
			orTotal(b.RepatriationCountry), o.Source}
		var fields [2][4]string
		for i, x := range []*store.Observation{old, new} {
			if x == nil {
				continue
			}
			if x.Value != nil {
				fields[i][0] = strconv.FormatFloat(*x.Value, 'f', -1, 64)
			}
			fields[i][1], fields[i][2] = x.ValueText, strings.Join(x.Flags, ";")
			fields[i][3] = x.Confidence
		}
		oldLoc, newLoc := "", ""
		if old != nil {
			oldLoc = old.Locator
		}
		if new != nil {
			newLoc = new.Locator
		}
		row = append(row, fields[0][0], fields[1][0], fields[0][1], fields[1][1], fields[0][2], fields[1][2],
			fields[0][3], fields[1][3], oldLoc, newLoc)
		rows = append(rows, keyed{o.Key(), row})
	}
	for i := range r.Added {
		add(changes.Added, nil, &r.Added[i])
	}
	for i := range r.Removed {
		add(changes.Removed, &r.Removed[i], nil)
	}
	for i := range r.Revised {
		add(r.Revised[i].Kind, &r.Revised[i].Old, &r.Revised[i].New)
	}
	slices.SortFunc(rows, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	t := table{name: "krimstat-changes", header: changeColumns, numeric: []string{"old_value", "new_value"}}
	for _, k := range rows {
		t.rows = append(t.rows, k.row)
	}
	return t
}
