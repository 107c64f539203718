package handlers

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/problem"
)

// withRequestID takes the client's X-Request-ID when it is short and plain,
// or makes one, and echoes it so clients and logs can be matched.
func withRequestID(c *gin.Context) {
	id := c.GetHeader(problem.RequestIDHeader)
	if !plainID(id) {
		// Request ids need to be unique, not secret: the runtime's fast
		// random source is enough and avoids a system call per request.
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], rand.Uint64())
		id = hex.EncodeToString(b[:])
	}
	// Direct map writes skip header-name canonicalisation on the hot path;
	// the names are written in canonical form.
	c.Writer.Header()[problem.RequestIDHeader] = []string{id}
	c.Next()
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// logRequests writes one structured line per request: at debug level for
// ordinary requests (a line per cached hit would cost more than the hit), at
// warn level for server errors, so production logs stay small and no failure
// goes unlogged.
func logRequests(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelDebug
		if c.Writer.Status() >= 500 && !c.GetBool(loggedKey) {
			level = slog.LevelWarn
		}
		if !log.Enabled(c.Request.Context(), level) {
			return
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", problem.RequestID(c.Writer.Header())),
		)
	}
}

// recoverProblem turns a panic into a logged 500 problem.
func recoverProblem(log *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, v any) {
		writeError(c, log, fmt.Errorf("panic: %v", v))
	})
}

// boundRequest refuses, before any other work, what no read of this API
// needs: a request target longer than maxRequestLine (414) and a body
// (413). A body is refused with Connection: close, so the server does not
// wait to read a body that may never end.
func (h *Handler) boundRequest(c *gin.Context) {
	r := c.Request
	switch {
	case len(r.RequestURI) > maxRequestLine:
		writeError(c, h.log, fmt.Errorf("%d bytes, more than %d: %w", len(r.RequestURI), maxRequestLine, errURITooLong))
	case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
		c.Header("Connection", "close")
		writeError(c, h.log, fmt.Errorf("%s requests take no body: %w", r.Method, errBodyNotAllowed))
	default:
		c.Next()
	}
}

// withTimeout gives each request a deadline that the store's queries obey;
// the server's WriteTimeout backs it up for anything that ignores it.
func withTimeout(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if d <= 0 {
			c.Next()
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// Header values shared by every response; net/http only reads them.
var (
	nosniff    = []string{"nosniff"}
	noReferrer = []string{"no-referrer"}
)

// securityHeaders sets headers every response should carry.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h["X-Content-Type-Options"] = nosniff
	h["Referrer-Policy"] = noReferrer
	c.Next()
}

// swaggerCSP confines the Swagger UI page to this origin. The UI's own
// bootstrap is an inline script, so scripts from 'self' and inline ones are
// allowed, and nothing from anywhere else.
func swaggerCSP(c *gin.Context) {
	c.Writer.Header()["Content-Security-Policy"] = []string{
		"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
	}
	c.Next()
}
