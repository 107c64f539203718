package handlers

import (
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// regionsRoute is the contract of GET /v1/regions.
var regionsRoute = listRoute("type", "valid_on")

// RegionList is the response of GET /v1/regions.
type RegionList struct {
	Data  []store.Region `json:"data"`
	Links Links          `json:"links"`
	Meta  Meta           `json:"meta"`
} // @name RegionList

// RegionItem is the response of GET /v1/regions/{id}.
type RegionItem struct {
	Data store.Region `json:"data"`
	Meta Meta         `json:"meta"`
} // @name RegionItem

var regionTypes = []string{store.RegionCountry, store.RegionCountryPart, store.RegionPoliceDistrict}

// listRegions godoc
//
//	@Summary		List regions
//	@Description	Countries (Eurostat geo codes; NO is Norway, whatever code a source uses), parts of countries, and Norwegian police districts of both generations (2002-2015 and from 2016) with validity dates, successors and predecessors. The Oslo district of 2002-2015 (pd2002-oslo) and of 2016 (pd2016-oslo) are different regions.
//	@Tags			metadata
//	@ID				listRegions
//	@Produce		json
//	@Produce		text/csv
//	@Param			type		query		[]string	false	"Region types (repeat or comma-separate)"	Enums(country, country-part, police-district)	collectionFormat(csv)
//	@Param			valid_on	query		string		false	"Only regions that existed on this date (YYYY-MM-DD)"	example(2015-06-30)
//	@Param			format		query		string		false	"Representation (default json)"	Enums(json, csv)
//	@Param			csv_dialect	query		string		false	"CSV dialect: rfc4180 (default) or excel-no (UTF-8 BOM, semicolons, decimal comma)"	Enums(rfc4180, excel-no)
//	@Param			release		query		string		false	"Release id (default: the current release)"
//	@Success		200			{object}	RegionList
//	@Failure		400,404,406,500,503	{object}	problem.Problem
//	@Router			/v1/regions [get]
func (h *Handler) listRegions(c *gin.Context) error {
	req, err := h.beginList(c, regionsRoute)
	if err != nil {
		return err
	}
	q, rel := req.q, req.rel
	var f store.RegionFilter
	if f.Types, err = q.list("type"); err != nil {
		return err
	}
	for _, t := range f.Types {
		if !slices.Contains(regionTypes, t) {
			return store.InvalidParam("type", "%q: want %s", t, strings.Join(regionTypes, ", "))
		}
	}
	if f.ValidOn, err = q.date("valid_on"); err != nil {
		return err
	}
	regs, err := h.store.Regions(c.Request.Context(), rel.ID, f)
	if err != nil {
		return err
	}
	if req.format == formatCSV {
		t := table{name: "krimstat-regions", dialect: req.dialect, header: []string{"id", "type", "name_en", "name_nb", "parent", "valid_from", "valid_to", "successors", "predecessors"}}
		for _, r := range regs {
			t.rows = append(t.rows, []string{r.ID, r.Type, r.Name.EN, r.Name.NB, r.Parent, r.ValidFrom, r.ValidTo, successionIDs(r.Successors), successionIDs(r.Predecessors)})
		}
		writeCSV(c, t)
		return nil
	}
	writeJSON(c, RegionList{Data: regs, Links: Links{Self: req.self}, Meta: Meta{Release: rel.ID, Count: len(regs)}})
	return nil
}

func successionIDs(ss []store.Succession) string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.Region
	}
	return strings.Join(ids, ";")
}

// getRegion godoc
//
//	@Summary		Get a region
//	@Description	One region by id, with its successors or predecessors across the 2016 police reform.
//	@Tags			metadata
//	@ID				getRegion
//	@Produce		json
//	@Param			id		path		string	true	"Region id"	example(pd2016-trondelag)
//	@Param			release	query		string	false	"Release id (default: the current release)"
//	@Success		200		{object}	RegionItem
//	@Failure		400,404,500,503	{object}	problem.Problem
//	@Router			/v1/regions/{id} [get]
func (h *Handler) getRegion(c *gin.Context) error {
	q, err := itemRoute.query(c.Request.URL.RawQuery)
	if err != nil {
		return err
	}
	rel, err := h.releaseFor(c, q)
	if err != nil {
		return err
	}
	r, err := h.store.Region(c.Request.Context(), rel.ID, c.Param("id"))
	if err != nil {
		return err
	}
	writeJSON(c, RegionItem{Data: r, Meta: Meta{Release: rel.ID, Count: 1}})
	return nil
}
