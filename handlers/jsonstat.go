package handlers

import (
	"bytes"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/jsonstat"
	"github.com/krimstat/krimstat/store"
)

// writeJSONStat sends observations as a JSON-stat 2.0 dataset. JSON-stat
// has no registered media type; the publishers it comes from (Statistics
// Norway, Eurostat) and its client libraries use application/json, so
// Krimstat does too and names the format with format=jsonstat.
func (h *Handler) writeJSONStat(c *gin.Context, obs []store.Observation, sources []store.Source, rel store.Release, href, label string, notes []string) error {
	cat, err := h.catalogue(c.Request.Context(), rel.ID)
	if err != nil {
		return err
	}
	lang := requestLanguage(c)
	l := cat.labels[lang]
	meta := jsonstat.EncodeMeta{
		Label: "Krimstat: " + label, Updated: rel.Created, Href: href, Note: notes, Release: rel.ID, Sources: sources,
		// Labels, in the request's language, make the dataset readable in
		// clients that show them.
		Labels: map[string]map[string]string{jsonstat.DimOffence: l.offence, jsonstat.DimRegion: l.region, jsonstat.DimMeasure: l.measure},
		Units:  l.unit,
	}
	if lang == langNB {
		meta.DimensionLabels = map[string]string{
			jsonstat.DimOffence: "lovbrudd", jsonstat.DimRegion: "region", jsonstat.DimMeasure: "mål",
			jsonstat.DimSex: "kjønn", jsonstat.DimAge: "alder", jsonstat.DimCitizenship: "statsborgerskap",
			jsonstat.DimRepatriationCountry: "land for retur", jsonstat.DimSource: "kilde", jsonstat.DimPeriod: "periode",
		}
	}
	c.Header("Content-Language", lang)
	var buf bytes.Buffer
	if err := jsonstat.Encode(&buf, obs, meta); err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", buf.Bytes())
	return nil
}
