package handlers

import (
	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// measuresRoute is the contract of GET /v1/measures.
var measuresRoute = listRoute()

// MeasureList is the response of GET /v1/measures.
type MeasureList struct {
	Data  []store.Measure `json:"data"`
	Links Links           `json:"links"`
	Meta  Meta            `json:"meta"`
} // @name MeasureList

// listMeasures godoc
//
//	@Summary		List measures
//	@Description	What observations count, with units: reported offences, persons reported, presumed victims, UNODC's detected victims, persons prosecuted and convicted, and Eurostat's published rate per 100,000. Two measures are never mixed in one series.
//	@Tags			metadata
//	@ID				listMeasures
//	@Produce		json
//	@Produce		text/csv
//	@Param			format	query		string	false	"Representation (default json)"	Enums(json, csv)
//	@Param			csv_dialect	query		string		false	"CSV dialect: rfc4180 (default) or excel-no (UTF-8 BOM, semicolons, decimal comma)"	Enums(rfc4180, excel-no)
//	@Param			release	query		string	false	"Release id (default: the current release)"
//	@Success		200		{object}	MeasureList
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/measures [get]
func (h *Handler) listMeasures(c *gin.Context) error {
	req, err := h.beginList(c, measuresRoute)
	if err != nil {
		return err
	}
	rel := req.rel
	ms, err := h.store.Measures(c.Request.Context(), rel.ID)
	if err != nil {
		return err
	}
	if req.format == formatCSV {
		t := table{name: "krimstat-measures", dialect: req.dialect, header: []string{"id", "unit", "name_en", "name_nb", "definition_en"}}
		for _, m := range ms {
			t.rows = append(t.rows, []string{m.ID, m.Unit, m.Name.EN, m.Name.NB, m.Definition.EN})
		}
		writeCSV(c, t)
		return nil
	}
	writeJSON(c, MeasureList{Data: ms, Links: Links{Self: req.self}, Meta: Meta{Release: rel.ID, Count: len(ms)}})
	return nil
}
