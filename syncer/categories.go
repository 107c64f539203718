package syncer

import (
	"bytes"
	"context"
	"net/url"

	"github.com/krimstat/krimstat/jsonstat"
)

// Categories downloads what an entry's table publishes about its
// dimensions: for a PxWebApi table its metadata, for a Eurostat dataset the
// data the entry's query selects (the statistics API has no separate
// metadata document). It reads no mapping, so that the categories of a
// table whose mapping is still a template can be listed, and a mapping's
// labels written from them.
func Categories(ctx context.Context, cfg Config, e Entry) (*jsonstat.Dataset, error) {
	cfg = cfg.withDefaults()
	switch e.Kind {
	case KindPxWebAPI:
		u := cfg.SSBBase + "/tables/" + url.PathEscape(e.Table) + "/metadata?" + encode([][2]string{{"lang", e.lang()}, {"outputFormat", "json-stat2"}})
		body, err := fetch(ctx, cfg, u)
		if err != nil {
			return nil, err
		}
		return jsonstat.DecodeMetadata(bytes.NewReader(body), u)
	case KindEurostat:
		params := append([][2]string{{"format", "JSON"}, {"lang", "EN"}}, query(e.Query)...)
		u := cfg.EurostatBase + "/data/" + url.PathEscape(e.Table) + "?" + encode(params)
		body, err := fetch(ctx, cfg, u)
		if err != nil {
			return nil, err
		}
		return jsonstat.Decode(bytes.NewReader(body), u)
	}
	return nil, invalid("entry %s: kind %q: want %s or %s", e.ID, e.Kind, KindPxWebAPI, KindEurostat)
}
