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
	ctx := c.Request.Context()
	meta := jsonstat.EncodeMeta{
		Label: "Krimstat: " + label, Updated: rel.Created, Href: href, Note: notes, Release: rel.ID, Sources: sources,
		Labels: map[string]map[string]string{jsonstat.DimOffence: {}, jsonstat.DimRegion: {}, jsonstat.DimMeasure: {}},
		Units:  map[string]string{},
	}
	// Labels make the dataset readable in clients that show them.
	if offs, err := h.store.Offences(ctx, rel.ID); err == nil {
		for _, o := range offs {
			meta.Labels[jsonstat.DimOffence][o.ID] = o.Name.EN
		}
	}
	if regs, err := h.store.Regions(ctx, rel.ID, store.RegionFilter{}); err == nil {
		for _, r := range regs {
			meta.Labels[jsonstat.DimRegion][r.ID] = r.Name.EN
		}
	}
	if ms, err := h.store.Measures(ctx, rel.ID); err == nil {
		for _, m := range ms {
			meta.Labels[jsonstat.DimMeasure][m.ID] = m.Name.EN
			meta.Units[m.ID] = m.Unit
		}
	}
	var buf bytes.Buffer
	if err := jsonstat.Encode(&buf, obs, meta); err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", buf.Bytes())
	return nil
}
