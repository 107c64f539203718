package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/store"
)

// errNotAcceptable is returned when no representation fits the request.
var errNotAcceptable = errors.New("not acceptable")

// errRouteNotFound is the error behind 404s for paths no route serves.
var errRouteNotFound = errors.New("no such route")

// errMethodNotAllowed is the error behind 405s.
var errMethodNotAllowed = errors.New("method not allowed")

// errURITooLong is the error behind a request target over maxRequestLine.
var errURITooLong = errors.New("request target too long")

// errBodyNotAllowed is the error behind a read request that carries a body.
var errBodyNotAllowed = errors.New("request body not allowed")

// errSelectionTooLarge is the error behind a whole-file request for more
// rows than a file of its route holds.
var errSelectionTooLarge = errors.New("selection too large")

// errNotReady is the error behind a failed readiness check.
var errNotReady = errors.New("not ready")

// errFormatNotImplemented is the error behind an oEmbed request for a
// format other than JSON: oEmbed answers it with 501.
var errFormatNotImplemented = errors.New("format not implemented")

// problemKinds maps errors to problems, walked in order with errors.Is.
// It is the one place where errors become HTTP statuses.
var problemKinds = []struct {
	err    error
	status int
	slug   string
	title  string
}{
	{errNotReady, http.StatusServiceUnavailable, "not-ready", "Not ready"},
	{errRouteNotFound, http.StatusNotFound, "route-not-found", "No such route"},
	{errMethodNotAllowed, http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed"},
	{errNotAcceptable, http.StatusNotAcceptable, "not-acceptable", "Not acceptable"},
	{errURITooLong, http.StatusRequestURITooLong, "uri-too-long", "Request target too long"},
	{errBodyNotAllowed, http.StatusRequestEntityTooLarge, "body-not-allowed", "Request body not allowed"},
	{errSelectionTooLarge, http.StatusBadRequest, "selection-too-large", "Selection too large for one file"},
	{errFormatNotImplemented, http.StatusNotImplemented, "format-not-implemented", "Format not implemented"},
	{store.ErrNotFound, http.StatusNotFound, "not-found", "Not found"},
	{store.ErrInvalid, http.StatusBadRequest, "invalid-parameter", "Invalid parameter"},
	{store.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "timeout", "Request timed out"},
}

// retryAfterSeconds is sent with 503s: the store is expected back soon.
const retryAfterSeconds = "5"

// writeError renders err as problem+json. Errors outside the table are
// logged with the request id and shown to the client only as an internal
// error, so no internal detail leaks.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	p := problem.Problem{
		Type:      problem.TypeBase + "internal-error",
		Title:     "Internal error",
		Status:    http.StatusInternalServerError,
		Detail:    "internal error; quote the request id when reporting it",
		Instance:  c.Request.URL.RequestURI(),
		RequestID: problem.RequestID(c.Writer.Header()),
	}
	matched := false
	for _, k := range problemKinds {
		if errors.Is(err, k.err) {
			p.Type, p.Title, p.Status, p.Detail = problem.TypeBase+k.slug, k.title, k.status, err.Error()
			if serverFault(k.status) {
				// A server-side error's text names hosts and databases: it
				// goes to the log with the request id, not to the client.
				p.Detail = k.title + "; retry later and quote the request id if it persists"
			}
			matched = true
			break
		}
	}
	var pe *store.ParamError
	if errors.As(err, &pe) {
		p.Parameter = pe.Param
	}
	if !matched || serverFault(p.Status) {
		level := slog.LevelError
		if matched {
			// An expected outage (the database away): worth a line, not an alarm.
			level = slog.LevelWarn
		}
		log.Log(c.Request.Context(), level, "request failed", "err", err, "status", p.Status,
			"path", c.Request.URL.Path, "request_id", p.RequestID)
		c.Set(loggedKey, true)
	}
	if p.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", retryAfterSeconds)
	}
	problem.Write(c.Writer, p)
	c.Abort()
}

// serverFault reports whether a status is the server's failure, whose
// detail is not shown and which is logged: a 5xx but 501, which answers
// what the client asked for (a format no route implements).
func serverFault(status int) bool {
	return status >= 500 && status != http.StatusNotImplemented
}

// loggedKey marks a request whose failure writeError has logged already.
const loggedKey = "krimstat.logged"
