package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/krimstat/krimstat/jsonstat"
	"github.com/krimstat/krimstat/store"
)

// Base URLs of the APIs; Config overrides them (tests point them at fakes).
const (
	DefaultSSBBase      = "https://data.ssb.no/api/pxwebapi/v2"
	DefaultEurostatBase = "https://ec.europa.eu/eurostat/api/dissemination/statistics/1.0"
)

// DefaultMaxBytes bounds one downloaded document.
const DefaultMaxBytes = 64 << 20

// Config is how Collect reaches the APIs. Zero fields take the defaults.
type Config struct {
	SSBBase      string        // PxWebApi v2 base URL; DefaultSSBBase
	EurostatBase string        // statistics API base URL; DefaultEurostatBase
	Client       *http.Client  // the HTTP client; one without a timeout of its own, as Timeout bounds each request
	Timeout      time.Duration // per request, body included; jsonstat.DefaultFetchTimeout
	MaxBytes     int64         // per document; DefaultMaxBytes
	Now          func() time.Time
}

func (c Config) withDefaults() Config {
	if c.SSBBase == "" {
		c.SSBBase = DefaultSSBBase
	}
	if c.EurostatBase == "" {
		c.EurostatBase = DefaultEurostatBase
	}
	c.SSBBase = strings.TrimSuffix(c.SSBBase, "/")
	c.EurostatBase = strings.TrimSuffix(c.EurostatBase, "/")
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.Timeout <= 0 {
		c.Timeout = jsonstat.DefaultFetchTimeout
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Fetched is what one enabled entry gave: its source as retrieved today,
// its observations, the categories its mapping chose by label, and the
// documents as downloaded, for the release's file list.
type Fetched struct {
	Entry        Entry
	Source       store.Source
	Observations []store.Observation
	Resolutions  []jsonstat.Resolution
	Documents    []Document
}

// Document is one downloaded document.
type Document struct {
	URL  string
	Body []byte
}

// Collect fetches every enabled entry of src, in order, and maps it. A
// PxWebApi entry is read as its metadata (against which labels are
// resolved) and then the data, selected to the categories the mapping
// uses; a Eurostat entry is read as the data alone. The data must still
// have the shape the mapping was written for: every dimension it names is
// there, no dimension is new, and every category keeps the label it had in
// the metadata and the label it was chosen by.
//
// Any fault in any entry fails the whole call, so that no candidate is ever
// built from part of the sources. Errors name the entry and wrap
// store.ErrUnavailable (network faults, timeouts, 5xx and 429: retrying
// later may succeed), store.ErrNotFound (a 404) or store.ErrInvalid (a
// truncated or oversized download, a malformed document, a changed shape or
// label, a label that matches no category or several, a mapping that does
// not fit, or no enabled entry at all).
func Collect(ctx context.Context, cfg Config, src Sources) ([]Fetched, error) {
	cfg = cfg.withDefaults()
	entries := src.Enabled()
	if len(entries) == 0 {
		return nil, invalid("sync: %s has no enabled entry", src.Path)
	}
	out := make([]Fetched, 0, len(entries))
	for _, e := range entries {
		f, err := collect(ctx, cfg, src, e)
		if err != nil {
			return nil, fmt.Errorf("sync %s: %w", e.ID, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func collect(ctx context.Context, cfg Config, src Sources, e Entry) (Fetched, error) {
	m, err := jsonstat.LoadMapping(src.MappingPath(e))
	if err != nil {
		return Fetched{}, err
	}
	f := Fetched{Entry: e}
	var meta, ds *jsonstat.Dataset
	switch e.Kind {
	case KindPxWebAPI:
		table := cfg.SSBBase + "/tables/" + url.PathEscape(e.Table)
		params := [][2]string{{"lang", e.lang()}, {"outputFormat", "json-stat2"}}
		metaURL := table + "/metadata?" + encode(params)
		body, err := fetch(ctx, cfg, metaURL)
		if err != nil {
			return Fetched{}, err
		}
		f.Documents = append(f.Documents, Document{metaURL, body})
		if meta, err = jsonstat.DecodeMetadata(bytes.NewReader(body), metaURL); err != nil {
			return Fetched{}, err
		}
		if m, f.Resolutions, err = m.Resolve(meta); err != nil {
			return Fetched{}, err
		}
		for _, p := range query(e.Query) {
			if p[0] != "lang" { // already first
				params = append(params, p)
			}
		}
		params = append(params, selection(m, f.Resolutions)...)
		dataURL := table + "/data?" + encode(params)
		if ds, err = fetchData(ctx, cfg, dataURL, &f); err != nil {
			return Fetched{}, err
		}
	case KindEurostat:
		params := append([][2]string{{"format", "JSON"}, {"lang", "EN"}}, query(e.Query)...)
		dataURL := cfg.EurostatBase + "/data/" + url.PathEscape(e.Table) + "?" + encode(params)
		if ds, err = fetchData(ctx, cfg, dataURL, &f); err != nil {
			return Fetched{}, err
		}
		if m, f.Resolutions, err = m.Resolve(ds); err != nil {
			return Fetched{}, err
		}
	default:
		return Fetched{}, invalid("kind %q: want %s or %s", e.Kind, KindPxWebAPI, KindEurostat)
	}
	if err := checkShape(meta, ds, m, f.Resolutions); err != nil {
		return Fetched{}, err
	}
	if f.Observations, err = jsonstat.Map(ds, m); err != nil {
		return Fetched{}, err
	}
	f.Source = source(m.Source, cfg.Now(), ds, f)
	return f, nil
}

// fetchData downloads and decodes the data document, recording it in f.
func fetchData(ctx context.Context, cfg Config, dataURL string, f *Fetched) (*jsonstat.Dataset, error) {
	body, err := fetch(ctx, cfg, dataURL)
	if err != nil {
		return nil, err
	}
	f.Documents = append(f.Documents, Document{dataURL, body})
	return jsonstat.Decode(bytes.NewReader(body), dataURL)
}

// fetch downloads one document within the per-request timeout.
func fetch(ctx context.Context, cfg Config, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	return jsonstat.Fetch(ctx, cfg.Client, u, cfg.MaxBytes)
}

// query splits the entry's key=value parameters, which LoadSources checked.
func query(q []string) [][2]string {
	out := make([][2]string, 0, len(q))
	for _, p := range q {
		k, v, _ := strings.Cut(p, "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

// selection asks PxWebApi for exactly the categories the mapping uses in
// every dimension it selects by label: the resolved codes and the codes
// mapped beside them. Without it the data would carry every other category
// of the dimension (hundreds of offence types), each of which the mapping
// would have to ignore by a code nobody has confirmed.
func selection(m jsonstat.Mapping, res []jsonstat.Resolution) [][2]string {
	dims := map[string]bool{}
	for _, r := range res {
		dims[r.Dimension] = true
	}
	var out [][2]string
	for _, dim := range sortedKeys(dims) {
		var codes []string
		if c, ok := m.Filter[dim]; ok {
			codes = []string{c}
		}
		for _, r := range axisRefs(m) {
			if r.a.Dimension == dim {
				codes = append(codes, sortedKeys(r.a.Codes)...)
			}
		}
		out = append(out, [2]string{"valueCodes[" + dim + "]", strings.Join(codes, ",")})
	}
	return out
}

// encode writes parameters in the given order, each part escaped except
// for the brackets, stars and commas of PxWebApi's selections, which are
// left as the API documents them (valueCodes[Tid]=*) so that the URL
// recorded in the release reads as the request was meant.
func encode(params [][2]string) string {
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = url.QueryEscape(p[0]) + "=" + url.QueryEscape(p[1])
	}
	return strings.NewReplacer("%5B", "[", "%5D", "]", "%2A", "*", "%2C", ",").Replace(strings.Join(parts, "&"))
}

// checkShape holds the data to the shape the mapping was written and
// resolved for. meta is nil where the API has no metadata document.
func checkShape(meta, ds *jsonstat.Dataset, m jsonstat.Mapping, res []jsonstat.Resolution) error {
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, &jsonstat.Error{File: ds.Name, Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	named := map[string]string{}
	for _, r := range axisRefs(m) {
		if r.a.Dimension != "" {
			named[r.a.Dimension] = r.path
		}
	}
	for dim := range m.Filter {
		named[dim] = "filter"
	}
	for _, dim := range sortedKeys(named) {
		if _, ok := ds.Dimension[dim]; !ok {
			bad("id", "dimension %q, which mapping %s uses as %s, is gone (the data has %s)", dim, m.Name, named[dim], strings.Join(ds.ID, ", "))
		}
	}
	for i, dim := range ds.ID {
		if _, ok := named[dim]; !ok {
			bad(fmt.Sprintf("id[%d]", i), "new dimension %q: mapping %s neither maps, filters nor fixes it", dim, m.Name)
		}
	}
	if meta != nil {
		for _, dim := range ds.ID {
			md, ok := meta.Dimension[dim]
			if !ok {
				bad("dimension"+pathKey(dim), "dimension %q is in the data but not in the metadata %s", dim, meta.Name)
				continue
			}
			d := ds.Dimension[dim]
			for _, code := range d.Codes {
				if _, ok := md.Index(code); !ok {
					bad("dimension"+pathKey(dim), "category %q is in the data but not in the metadata %s", code, meta.Name)
					continue
				}
				if got, want := d.CategoryLabel(code), md.CategoryLabel(code); got != want {
					bad("dimension"+pathKey(dim), "category %q is labelled %q in the data but %q in the metadata %s: the table changed while it was read", code, got, want, meta.Name)
				}
			}
		}
	}
	for _, r := range res {
		d, ok := ds.Dimension[r.Dimension]
		if !ok {
			continue // reported above
		}
		if _, ok := d.Index(r.Code); !ok {
			bad("dimension"+pathKey(r.Dimension), "category %q, chosen by the label %q, is not in the data", r.Code, r.Label)
			continue
		}
		if got := d.Labels[r.Code]; got != r.Label {
			bad("dimension"+pathKey(r.Dimension), "category %q was chosen by the label %q, but the data labels it %q", r.Code, r.Label, got)
		}
	}
	return errors.Join(errs...)
}

// pathKey renders a dimension id as a step of a JSON path.
func pathKey(k string) string {
	if k != "" && only(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$-") {
		return "." + k
	}
	return fmt.Sprintf("[%q]", k)
}

// source is the mapping's source as retrieved now: dated, with the table's
// last update as its publication date where the document gives one, and
// with the labels the mapping chose its categories by in its notes.
func source(s store.Source, now time.Time, ds *jsonstat.Dataset, f Fetched) store.Source {
	s.Notes = slices.Clone(s.Notes)
	s.Retrieved = now.UTC().Format("2006-01-02")
	if d, ok := updatedDate(ds.Updated); ok {
		s.Published = d
	}
	data := f.Documents[len(f.Documents)-1].URL
	s.Notes = append(s.Notes, "Retrieved by krimstat sync from "+data+".")
	for _, r := range f.Resolutions {
		s.Notes = append(s.Notes, "Selected by its published label: "+r.String()+".")
	}
	return s
}

// updatedDate takes the date of a JSON-stat updated stamp
// (2025-03-13T07:00:00Z, 2024-12-01T11:00:00+0100).
func updatedDate(s string) (string, bool) {
	if len(s) < 10 {
		return "", false
	}
	if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
		return "", false
	}
	return s[:10], true
}
