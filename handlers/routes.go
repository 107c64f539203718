package handlers

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	ginSwagger "github.com/swaggo/gin-swagger"
)

// Options are the router's optional layers, wired by the caller so that
// handlers stay unaware of them. Nil fields are left out.
type Options struct {
	// Gate caps the requests in flight, per client and in all, on the data
	// routes, so slow or numerous connections cannot pin memory.
	Gate gin.HandlerFunc
	// Cache serves and stores whole responses of the data routes.
	Cache gin.HandlerFunc
	// MissGate caps, per client and in all, the responses being computed,
	// and MissBudget limits, per client, how many a client may ask for:
	// both run after the cache, so only computed responses meet them.
	MissGate   gin.HandlerFunc
	MissBudget gin.HandlerFunc
	// RateLimit limits requests per client on the data routes.
	RateLimit gin.HandlerFunc
	// Metrics observes every request (count and latency by route and status).
	Metrics gin.HandlerFunc
	// MetricsHandler serves /metrics.
	MetricsHandler http.Handler
	// RequestTimeout is each request's deadline; zero means none.
	RequestTimeout time.Duration
	// Checks are the dependencies /readyz reports on.
	Checks []Check
}

// Routes returns the API's router: every route and middleware is listed here.
func (h *Handler) Routes(opt Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.Use(withRequestID)
	// A deprecated route says so on every response, refusals included, so
	// its headers are added first of all (and sent last; see route.go).
	r.Use(h.stampDeprecation)
	// Metrics sit outside recovery, so a request that panics is counted as
	// the 500 it becomes.
	if opt.Metrics != nil {
		r.Use(opt.Metrics)
	}
	r.Use(recoverProblem(h.log), logRequests(h.log), securityHeaders, publicCORS())
	// Every request meets the gate (requests in flight): a load balancer
	// probes with a request or two at a time and never waits there, while
	// a client hammering the probes waits for its places like any other.
	// Every request but the health probes then meets the rate limit (a
	// cached answer, a refusal and a 404 still cost a token), so a probe
	// is never refused with 429; then the bounds on what a request may
	// carry.
	if opt.Gate != nil {
		r.Use(opt.Gate)
	}
	if opt.RateLimit != nil {
		r.Use(exceptProbes(opt.RateLimit))
	}
	r.Use(h.boundRequest)
	r.NoRoute(h.handle(func(*gin.Context) error { return errRouteNotFound }))
	r.NoMethod(h.handle(func(*gin.Context) error { return errMethodNotAllowed }))

	// Health probes: never cached, never limited (load balancers probe
	// them; readiness checks its dependencies at most once a second).
	ops := &r.RouterGroup
	h.get(ops, "/healthz", route{}, h.healthz)
	h.get(ops, "/readyz", route{}, h.readyz(opt.Checks))
	if opt.MetricsHandler != nil {
		r.GET("/metrics", gin.WrapH(opt.MetricsHandler))
	}

	// Everything else goes through the cache, then for computed answers
	// only the gate and budget of computations, and the request deadline.
	data := []gin.HandlerFunc{}
	for _, mw := range []gin.HandlerFunc{opt.Cache, opt.MissGate, opt.MissBudget, withTimeout(opt.RequestTimeout)} {
		if mw != nil {
			data = append(data, mw)
		}
	}
	docs := r.Group("", data...)
	h.get(docs, "/openapi.json", route{}, h.openapiJSON)
	// The Swagger UI's assets are compressed and counted like any answer.
	// Its CSP is set before the cache, so cached assets carry it too.
	swagger := r.Group("/swagger", append([]gin.HandlerFunc{swaggerCSP}, data...)...)
	h.get(swagger, "/*any", route{}, swaggerUI(ginSwagger.WrapHandler(swaggerAssets(), ginSwagger.URL("/openapi.json"))))

	v1 := r.Group("/v1", data...)
	h.get(v1, "/offences", offencesRoute, h.listOffences)
	h.get(v1, "/offences/*id", itemRoute, h.getOffence)
	h.get(v1, "/regions", regionsRoute, h.listRegions)
	h.get(v1, "/regions/:id", itemRoute, h.getRegion)
	h.get(v1, "/measures", measuresRoute, h.listMeasures)
	h.get(v1, "/sources", sourcesRoute, h.listSources)
	h.get(v1, "/sources/:id", itemRoute, h.getSource)
	h.get(v1, "/observations", observationsRoute, h.listObservations)
	h.get(v1, "/series", seriesRoute, h.getSeries)
	h.get(v1, "/series.svg", seriesViewRoute, h.getSeriesSVG)
	h.get(v1, "/series.png", seriesPNGRoute, h.getSeriesPNG)
	h.get(v1, "/compare.svg", compareRoute, h.getCompareSVG)
	h.get(v1, "/compare.png", comparePNGRoute, h.getComparePNG)
	h.get(v1, "/cite", citeRoute, h.getCite)
	h.get(v1, "/population", populationRoute, h.listPopulation)
	h.get(v1, "/releases", releasesRoute, h.listReleases)
	h.get(v1, strings.TrimPrefix(feedPath, "/v1"), feedRoute, h.getReleasesFeed)
	h.get(v1, "/releases/:id", route{}, h.getRelease)
	h.get(v1, "/releases/:id/changes", changesRoute, h.getReleaseChanges)
	// The release bundle keeps its own memo, strong ETag and byte ranges,
	// so it skips the response cache; the gate and rate limit still apply.
	h.get(r.Group("/v1", withTimeout(opt.RequestTimeout)), "/releases/:id/download", route{}, h.newBundles().downloadRelease)

	// Pages for other sites to frame; the cache replays their
	// Content-Security-Policy header with the body.
	embed := r.Group("/embed", data...)
	h.get(embed, "/series", embedSeriesRoute, h.embedSeries)
	h.get(embed, "/compare", embedCompareRoute, h.embedCompare)
	// oEmbed for the embed pages: what a CMS asks when a page URL is pasted.
	h.get(r.Group("", data...), "/oembed", oembedRoute, h.getOEmbed)
	return r
}

// get registers a read route for GET and HEAD, and its contract for the
// response cache's key and the deprecation headers.
func (h *Handler) get(g *gin.RouterGroup, path string, rt route, fn func(*gin.Context) error) {
	hf := h.handle(fn)
	g.GET(path, hf)
	g.HEAD(path, hf)
	rt.stamp = rt.deprecationHeaders()
	h.routes.Store(joinPaths(g.BasePath(), path), rt)
}

// joinPaths joins a group's base path and a route's path as gin does.
func joinPaths(base, path string) string {
	if base == "/" || base == "" {
		return path
	}
	return strings.TrimSuffix(base, "/") + path
}

// handle adapts a handler that returns an error: the error is rendered
// here, once, as a problem, so no handler writes its own error response.
func (h *Handler) handle(fn func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			writeError(c, h.log, err)
		}
	}
}

// openapiJSON godoc
//
//	@Summary		OpenAPI contract
//	@Description	The OpenAPI 3 document of this API, generated from the handlers' annotations; the Swagger UI at /swagger/index.html reads it.
//	@Tags			operations
//	@ID				openapi
//	@Produce		json
//	@Success		200	{object}	object
//	@Router			/openapi.json [get]
func (h *Handler) openapiJSON(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json; charset=utf-8", h.openapi)
	return nil
}

// swaggerUI serves the Swagger UI's files. The UI reads the contract from
// /openapi.json; the doc.json that gin-swagger would serve from swag's
// global registry (which this project does not fill) is not there.
func swaggerUI(ui gin.HandlerFunc) func(*gin.Context) error {
	return func(c *gin.Context) error {
		if c.Param("any") == "/doc.json" {
			return errRouteNotFound
		}
		ui(c)
		return nil
	}
}

// probes are the paths load balancers poll; limits never apply to them.
var probes = []string{"/healthz", "/readyz"}

// exceptProbes runs mw on every request but the health probes.
func exceptProbes(mw gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if slices.Contains(probes, c.Request.URL.Path) {
			c.Next()
			return
		}
		mw(c)
	}
}
