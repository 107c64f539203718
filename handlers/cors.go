package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/rs/cors"

	"github.com/krimstat/krimstat/problem"
)

// publicCORS lets any origin read the API: the data are public and no
// route uses cookies or credentials. Preflight requests are answered here
// with 204 and never reach a handler.
func publicCORS() gin.HandlerFunc {
	// Deprecation and Sunset tell a browser client that a route it uses
	// is going away (STABILITY.md).
	exposed := []string{"ETag", "Link", releaseHeader, problem.RequestIDHeader, "RateLimit", "RateLimit-Policy", "Retry-After", "Content-Disposition", "Deprecation", "Sunset"}
	c := cors.New(cors.Options{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodGet, http.MethodHead},
		AllowedHeaders: []string{"Accept", "If-None-Match", problem.RequestIDHeader},
		ExposedHeaders: exposed,
		MaxAge:         86400,
	})
	allowAll := []string{"*"}
	expose := []string{strings.Join(exposed, ", ")}
	return func(ctx *gin.Context) {
		r := ctx.Request
		// A request without Origin gets the same CORS headers as one with
		// any Origin: the answer is the same for every origin, so a shared
		// cache may store either and serve it to both, and no Vary: Origin
		// is owed.
		if r.Header.Get("Origin") == "" {
			h := ctx.Writer.Header()
			h["Access-Control-Allow-Origin"] = allowAll
			h["Access-Control-Expose-Headers"] = expose
			ctx.Next()
			return
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			c.HandlerFunc(ctx.Writer, r)
			ctx.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.HandlerFunc(ctx.Writer, r)
		ctx.Next()
	}
}
