// Package problem writes Krimstat's error responses: RFC 9457 problem
// details as application/problem+json. It is the one writer every layer
// uses (the handlers, the rate limiter, anything that answers with an error
// later), so every error has one shape, one media type, one caching rule and
// one request-id header.
//
// It imports only the standard library, so any package may use it without
// an import cycle.
package problem

import (
	"encoding/json"
	"net/http"
)

// MediaType is the media type of every problem body.
const MediaType = "application/problem+json"

// TypeBase prefixes the type URIs of Krimstat's problems: TypeBase + a slug
// such as "invalid-parameter". Each type is documented in the README's
// error section.
const TypeBase = "https://krimstat.no/problems/"

// RequestIDHeader carries the request id in both directions, written in
// canonical form so that direct header-map access finds it.
const RequestIDHeader = "X-Request-Id"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type      string `json:"type" example:"https://krimstat.no/problems/invalid-parameter"`
	Title     string `json:"title" example:"Invalid parameter"`
	Status    int    `json:"status" example:"400"`
	Detail    string `json:"detail" example:"from: period \"20x9\": want YYYY, YYYY-H1, YYYY-T1, YYYY-Q1 or YYYY-MM"`
	Instance  string `json:"instance,omitempty" example:"/v1/observations?from=20x9"`
	Parameter string `json:"parameter,omitempty" example:"from"`
	RequestID string `json:"request_id,omitempty" example:"6f1c2a8e9b7d4c3a"`
} // @name Problem

// RequestID is the request id already set on a response's headers, or "".
// The id lives on the response header rather than in a request context:
// one map write per request, readable by every layer.
func RequestID(h http.Header) string {
	if v := h[RequestIDHeader]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Write sends p with its status. A problem is about one request at one
// moment, so it is never stored by any cache (Cache-Control: no-store).
// Headers the caller set before (Retry-After, X-Request-Id) are kept.
func Write(w http.ResponseWriter, p Problem) {
	h := w.Header()
	h["Content-Type"] = []string{MediaType}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// A struct of strings and an int always encodes; a write error means
	// the client went away, and there is no one left to tell.
	_ = enc.Encode(p)
}
