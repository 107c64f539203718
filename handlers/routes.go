package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"
)

// Options are the router's optional layers, wired by the caller so that
// handlers stay unaware of them. Nil fields are left out.
type Options struct {
	// Cache serves and stores whole responses of the data routes.
	Cache gin.HandlerFunc
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
	// Metrics sit outside recovery, so a request that panics is counted as
	// the 500 it becomes.
	if opt.Metrics != nil {
		r.Use(opt.Metrics)
	}
	r.Use(recoverProblem(h.log), logRequests(h.log), securityHeaders, publicCORS())
	r.NoRoute(h.handle(func(*gin.Context) error { return errRouteNotFound }))
	r.NoMethod(h.handle(func(*gin.Context) error { return errMethodNotAllowed }))

	// Operations: never cached.
	h.get(r, "/healthz", h.healthz)
	h.get(r, "/readyz", h.readyz(opt.Checks))
	h.get(r, "/openapi.json", h.openapiJSON)
	if opt.MetricsHandler != nil {
		r.GET("/metrics", gin.WrapH(opt.MetricsHandler))
	}
	r.GET("/swagger/*any", swaggerCSP, ginSwagger.WrapHandler(swaggerFiles.Handler, ginSwagger.URL("/openapi.json")))

	// The data routes: the limiter runs before the cache (a cached answer
	// still costs a token), and the request deadline only after it, since a
	// cached answer needs none.
	data := []gin.HandlerFunc{}
	for _, mw := range []gin.HandlerFunc{opt.RateLimit, opt.Cache, withTimeout(opt.RequestTimeout)} {
		if mw != nil {
			data = append(data, mw)
		}
	}
	v1 := r.Group("/v1", data...)
	h.get(v1, "/offences", h.listOffences)
	h.get(v1, "/offences/*id", h.getOffence)
	h.get(v1, "/regions", h.listRegions)
	h.get(v1, "/regions/:id", h.getRegion)
	h.get(v1, "/measures", h.listMeasures)
	h.get(v1, "/sources", h.listSources)
	h.get(v1, "/sources/:id", h.getSource)
	h.get(v1, "/observations", h.listObservations)
	h.get(v1, "/series", h.getSeries)
	h.get(v1, "/series.svg", h.getSeriesSVG)
	h.get(v1, "/cite", h.getCite)
	h.get(v1, "/population", h.listPopulation)
	h.get(v1, "/releases", h.listReleases)
	h.get(v1, "/releases/:id", h.getRelease)

	// Pages for other sites to frame; the cache replays their
	// Content-Security-Policy header with the body.
	embed := r.Group("/embed", data...)
	h.get(embed, "/series", h.embedSeries)
	return r
}

// get registers a read route for GET and HEAD.
func (h *Handler) get(r gin.IRoutes, path string, fn func(*gin.Context) error) {
	hf := h.handle(fn)
	r.GET(path, hf)
	r.HEAD(path, hf)
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
