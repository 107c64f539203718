package handlers

import (
	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// sourcesRoute is the contract of GET /v1/sources.
var sourcesRoute = listRoute()

// SourceList is the response of GET /v1/sources.
type SourceList struct {
	Data  []store.Source `json:"data"`
	Links Links          `json:"links"`
	Meta  Meta           `json:"meta"`
} // @name SourceList

// SourceItem is the response of GET /v1/sources/{id}.
type SourceItem struct {
	Data store.Source `json:"data"`
	Meta Meta         `json:"meta"`
} // @name SourceItem

// listSources godoc
//
//	@Summary		List sources
//	@Description	Every publication observations are taken from: publisher, title, URL, table id, publication and retrieval dates where known, kind and licence.
//	@Tags			metadata
//	@ID				listSources
//	@Produce		json
//	@Produce		text/csv
//	@Param			format	query		string	false	"Representation (default json)"	Enums(json, csv)
//	@Param			csv_dialect	query		string		false	"CSV dialect: rfc4180 (default) or excel-no (UTF-8 BOM, semicolons, decimal comma)"	Enums(rfc4180, excel-no)
//	@Param			release	query		string	false	"Release id (default: the current release)"
//	@Success		200		{object}	SourceList
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/sources [get]
func (h *Handler) listSources(c *gin.Context) error {
	req, err := h.beginList(c, sourcesRoute)
	if err != nil {
		return err
	}
	rel := req.rel
	ss, err := h.store.Sources(c.Request.Context(), rel.ID)
	if err != nil {
		return err
	}
	if req.format == formatCSV {
		t := table{name: "krimstat-sources", dialect: req.dialect, header: []string{"id", "publisher", "title", "url", "table_id", "published", "retrieved", "kind", "licence"}}
		for _, s := range ss {
			t.rows = append(t.rows, []string{s.ID, s.Publisher, s.Title, s.URL, s.TableID, s.Published, s.Retrieved, s.Kind, s.Licence})
		}
		writeCSV(c, t)
		return nil
	}
	writeJSON(c, SourceList{Data: ss, Links: Links{Self: req.self}, Meta: Meta{Release: rel.ID, Count: len(ss)}})
	return nil
}

// getSource godoc
//
//	@Summary		Get a source
//	@Tags			metadata
//	@ID				getSource
//	@Produce		json
//	@Param			id		path		string	true	"Source id"	example(stortinget-54169)
//	@Param			release	query		string	false	"Release id (default: the current release)"
//	@Success		200		{object}	SourceItem
//	@Failure		400,404,500,503	{object}	problem.Problem
//	@Router			/v1/sources/{id} [get]
func (h *Handler) getSource(c *gin.Context) error {
	q, err := itemRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return err
	}
	s, err := h.store.Source(c.Request.Context(), rel.ID, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, SourceItem{Data: s, Meta: Meta{Release: rel.ID, Count: 1}})
	return nil
}
