package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/rs/cors"

	"github.com/krimstat/krimstat/problem"
)

// publicCORS lets any origin read the API: the data are public and no
// route uses cookies or credentials. Preflight requests are answered here
// with 204 and never reach a handler.
func publicCORS() gin.HandlerFunc {
	c := cors.New(cors.Options{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodGet, http.MethodHead},
		AllowedHeaders: []string{"Accept", "If-None-Match", problem.RequestIDHeader},
		ExposedHeaders: []string{"ETag", "Link", releaseHeader, problem.RequestIDHeader, "RateLimit", "RateLimit-Policy", "Retry-After", "Content-Disposition"},
		MaxAge:         86400,
	})
	return func(ctx *gin.Context) {
		r := ctx.Request
		// Without an Origin header the request is not a CORS request, and
		// since every origin gets the same answer no Vary: Origin is owed.
		if r.Header.Get("Origin") == "" {
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
