package handlers

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// offencesRoute is the contract of GET /v1/offences.
var offencesRoute = listRoute()

// OffenceList is the response of GET /v1/offences.
type OffenceList struct {
	Data  []store.Offence `json:"data"`
	Links Links           `json:"links"`
	Meta  Meta            `json:"meta"`
} // @name OffenceList

// OffenceItem is the response of GET /v1/offences/{id}.
type OffenceItem struct {
	Data store.Offence `json:"data"`
	Meta Meta          `json:"meta"`
} // @name OffenceItem

// listOffences godoc
//
//	@Summary		List offences
//	@Description	Every offence Krimstat counts: Krimstat's own (sex-purchase, human-trafficking, pimping and their breakdowns such as human-trafficking/aggravated) and the Eurostat ICCS categories (iccs/0302, ...), with names in English and Norwegian, legal basis with validity dates, and definitions.
//	@Tags			metadata
//	@ID				listOffences
//	@Produce		json
//	@Produce		text/csv
//	@Param			format	query		string	false	"Representation (default json; or use the Accept header)"	Enums(json, csv)
//	@Param			csv_dialect	query		string		false	"CSV dialect: rfc4180 (default) or excel-no (UTF-8 BOM, semicolons, decimal comma)"	Enums(rfc4180, excel-no)
//	@Param			release	query		string	false	"Release id (default: the current release)"
//	@Success		200		{object}	OffenceList
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/offences [get]
func (h *Handler) listOffences(c *gin.Context) error {
	req, err := h.beginList(c, offencesRoute)
	if err != nil {
		return err
	}
	rel := req.rel
	offs, err := h.store.Offences(c.Request.Context(), rel.ID)
	if err != nil {
		return err
	}
	if req.format == formatCSV {
		t := table{name: "krimstat-offences", dialect: req.dialect, header: []string{"id", "parent", "classification", "code", "name_en", "name_nb", "legal_basis", "definition_en"}}
		for _, o := range offs {
			var basis []string
			for _, b := range o.LegalBasis {
				basis = append(basis, strings.TrimSpace(b.Law+" "+b.Section+" "+b.ValidFrom+".."+b.ValidTo))
			}
			t.rows = append(t.rows, []string{o.ID, o.Parent, o.Classification, o.Code, o.Name.EN, o.Name.NB, strings.Join(basis, "; "), o.Definition.EN})
		}
		writeCSV(c, t)
		return nil
	}
	writeJSON(c, OffenceList{Data: offs, Links: Links{Self: req.self}, Meta: Meta{Release: rel.ID, Count: len(offs)}})
	return nil
}

// getOffence godoc
//
//	@Summary		Get an offence
//	@Description	One offence by id. Ids of breakdowns contain a slash (human-trafficking/aggravated, iccs/0302); write it as is.
//	@Tags			metadata
//	@ID				getOffence
//	@Produce		json
//	@Param			id		path		string	true	"Offence id"	example(sex-purchase)
//	@Param			release	query		string	false	"Release id (default: the current release)"
//	@Success		200		{object}	OffenceItem
//	@Failure		400,404,500,503	{object}	problem.Problem
//	@Router			/v1/offences/{id} [get]
func (h *Handler) getOffence(c *gin.Context) error {
	q, err := itemRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return err
	}
	o, err := h.store.Offence(c.Request.Context(), rel.ID, strings.TrimPrefix(c.Param("id"), "/"))
	if err != nil {
		return err
	}
	writeJSON(c, OffenceItem{Data: o, Meta: Meta{Release: rel.ID, Count: 1}})
	return nil
}
