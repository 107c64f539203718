package handlers

import (
	"log/slog"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// Handler serves the API. Its methods are the route handlers; Routes wires
// them with the middleware.
type Handler struct {
	store   store.Store
	log     *slog.Logger
	openapi []byte // the OpenAPI 3 document served at /openapi.json
	// catalogues memoises catalogue by release id. A release never
	// changes once loaded, and there are few, so entries are kept.
	catalogues sync.Map
	// routes maps each route's pattern to its contract, for CacheKey;
	// Routes fills it.
	routes sync.Map
}

// New returns a Handler reading from s. openapiJSON is the OpenAPI 3
// document to serve at /openapi.json.
func New(s store.Store, log *slog.Logger, openapiJSON []byte) *Handler {
	return &Handler{store: s, log: log, openapi: openapiJSON}
}

// Links holds the URLs of a list response, relative to the API's origin.
type Links struct {
	Self string `json:"self" example:"/v1/observations?offence=sex-purchase&limit=100"`
	Next string `json:"next,omitempty" example:"/v1/observations?cursor=eyJyIjoi...&limit=100"`
} // @name Links

// Meta describes the data a response comes from.
type Meta struct {
	Release string `json:"release" example:"20250414-3da80bd7"`
	Count   int    `json:"count" example:"2"`
} // @name Meta

// itemRoute is the contract of the routes that return one item by id.
var itemRoute = route{params: []string{"release"}}

// releaseHeader names the release a response comes from.
const releaseHeader = "X-Krimstat-Release"

// releaseFor resolves the release a request reads: the release parameter,
// or the current release. Every response says which one it used.
func (h *Handler) releaseFor(c *gin.Context, q query) (store.Release, error) {
	id, err := q.one("release")
	if err != nil {
		return store.Release{}, err
	}
	ctx := c.Request.Context()
	var rel store.Release
	if id == "" {
		rel, err = h.store.CurrentRelease(ctx)
	} else {
		rel, err = h.store.Release(ctx, id)
	}
	if err != nil {
		return store.Release{}, err
	}
	c.Header(releaseHeader, rel.ID)
	return rel, nil
}

// writeJSON sends v as JSON without HTML escaping: "<5" stays "<5".
func writeJSON(c *gin.Context, v any) {
	c.PureJSON(http.StatusOK, v)
}

// selfLink is the request's path with its canonical query: every spelling
// of a request, cached under one key, names itself the same way.
func selfLink(c *gin.Context, rt route, release string) (string, error) {
	canon, err := rt.canonical(c.Request.URL.Query(), release)
	if err != nil {
		return "", err
	}
	return link(c.Request.URL.Path, canon), nil
}

// listRequest is what a list route knows after its common first steps.
type listRequest struct {
	q       query
	format  string // formatJSON or formatCSV
	dialect string // the CSV dialect
	rel     store.Release
	self    string // the request's canonical link
}

// beginList does the first steps every metadata list route shares: it reads
// the query strictly (params plus format, csv_dialect and release),
// negotiates JSON or CSV, and resolves the release.
func (h *Handler) beginList(c *gin.Context, rt route) (listRequest, error) {
	var r listRequest
	var err error
	if r.q, err = rt.query(c.Request.URL.RawQuery); err != nil {
		return r, err
	}
	if r.format, r.dialect, err = rt.representation(r.q, c.GetHeader("Accept")); err != nil {
		return r, err
	}
	if r.rel, err = h.releaseFor(c, r.q); err != nil {
		return r, err
	}
	if r.self, err = selfLink(c, rt, r.rel.ID); err != nil {
		return r, err
	}
	return r, nil
}
