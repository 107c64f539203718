package handlers

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// populationRoute is the contract of GET /v1/population.
var populationRoute = listRoute("region", "from", "to")

// PopulationList is the response of GET /v1/population.
type PopulationList struct {
	Data  []store.PopulationFigure `json:"data"`
	Links Links                    `json:"links"`
	Meta  PopulationMeta           `json:"meta"`
} // @name PopulationList

// PopulationMeta describes a population response.
type PopulationMeta struct {
	Release string         `json:"release" example:"20250414-3da80bd7"`
	Count   int            `json:"count" example:"2"`
	Sources []store.Source `json:"sources"`
} // @name PopulationMeta

// listPopulation godoc
//
//	@Summary		List population figures
//	@Description	Population on 1 January by region, as published (Norway: Statistics Norway table 07459). These are the denominators Krimstat uses for rates; none is estimated.
//	@Tags			data
//	@ID				listPopulation
//	@Produce		json
//	@Produce		text/csv
//	@Param			region	query		[]string	false	"Region ids"	collectionFormat(csv)	example(NO)
//	@Param			from	query		string		false	"First year (figures dated on or after its start)"	example(2009)
//	@Param			to		query		string		false	"Last year (figures dated on or before its end)"	example(2010)
//	@Param			format	query		string		false	"Representation (default json)"	Enums(json, csv)
//	@Param			csv_dialect	query		string		false	"CSV dialect: rfc4180 (default) or excel-no (UTF-8 BOM, semicolons, decimal comma)"	Enums(rfc4180, excel-no)
//	@Param			release	query		string		false	"Release id (default: the current release)"
//	@Success		200		{object}	PopulationList
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/population [get]
func (h *Handler) listPopulation(c *gin.Context) error {
	req, err := h.beginList(c, populationRoute)
	if err != nil {
		return err
	}
	q, rel := req.q, req.rel
	var f store.PopulationFilter
	if f.Regions, err = q.list("region"); err != nil {
		return err
	}
	from, err := q.period("from")
	if err != nil {
		return err
	}
	to, err := q.period("to")
	if err != nil {
		return err
	}
	if from != nil {
		f.From = from.Start()
	}
	if to != nil {
		f.To = to.End()
	}
	ctx := c.Request.Context()
	cat, err := h.catalogue(ctx, rel.ID)
	if err != nil {
		return err
	}
	if err := knownIDs("region", f.Regions, cat.regions, "/v1/regions"); err != nil {
		return err
	}
	pop, err := h.store.Population(ctx, rel.ID, f)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, p := range pop {
		used[p.Source] = true
	}
	sources := []store.Source{}
	for _, s := range cat.sourceList {
		if used[s.ID] {
			sources = append(sources, s)
		}
	}
	if req.format == formatCSV {
		t := table{name: "krimstat-population", dialect: req.dialect, header: []string{"region", "date", "value", "source", "locator"}}
		for _, p := range pop {
			t.rows = append(t.rows, []string{p.Region, p.Date, strconv.FormatFloat(p.Value, 'f', -1, 64), p.Source, p.Locator})
		}
		writeCSV(c, t)
		return nil
	}
	writeJSON(c, PopulationList{Data: pop, Links: Links{Self: req.self}, Meta: PopulationMeta{Release: rel.ID, Count: len(pop), Sources: sources}})
	return nil
}
