package handlers

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// Health is the body of the health and readiness checks.
type Health struct {
	Status  string            `json:"status" example:"ready"`
	Release string            `json:"release,omitempty" example:"20250414-3da80bd7"`
	Checks  map[string]string `json:"checks,omitempty"`
} // @name Health

// Check is one dependency that readiness reports on.
type Check struct {
	Name string
	// Check returns nil when the dependency answers.
	Check func(ctx context.Context) error
}

// checkTimeout bounds each readiness check, so a hanging dependency makes
// the check report it instead of hanging too.
const checkTimeout = time.Second

// readyFor is how long a readiness result is reused.
const readyFor = time.Second

// healthz godoc
//
//	@Summary		Liveness
//	@Description	200 while the process serves HTTP.
//	@Tags			operations
//	@ID				healthz
//	@Produce		json
//	@Success		200	{object}	Health
//	@Router			/healthz [get]
func (h *Handler) healthz(c *gin.Context) error {
	c.Header("Cache-Control", "no-store")
	c.PureJSON(http.StatusOK, Health{Status: "ok"})
	return nil
}

// readyz godoc
//
//	@Summary		Readiness
//	@Description	200 once a release is loaded, so the API can answer. checks reports each dependency (store, Redis) as ok, unavailable or disabled; with any unavailable the status is "degraded" but still 200, since cached responses are still served and requests that need a missing dependency get 503 on their own. 503 when no release can be read.
//	@Tags			operations
//	@ID				readyz
//	@Produce		json
//	@Success		200	{object}	Health
//	@Failure		503	{object}	problem.Problem
//	@Router			/readyz [get]
func (h *Handler) readyz(checks []Check) func(*gin.Context) error {
	type result struct {
		at     time.Time
		checks map[string]string
		ok     bool
	}
	var last atomic.Pointer[result]
	// run checks every dependency, at most once per readyFor: a client
	// polling /readyz cannot make the server ping its dependencies at will.
	run := func(ctx context.Context) *result {
		if r := last.Load(); r != nil && time.Since(r.at) < readyFor {
			return r
		}
		r := &result{at: time.Now(), checks: map[string]string{}, ok: true}
		for _, chk := range checks {
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			err := chk.Check(cctx)
			cancel()
			if err != nil {
				r.checks[chk.Name], r.ok = "unavailable", false
				continue
			}
			r.checks[chk.Name] = "ok"
		}
		last.Store(r)
		return r
	}
	return func(c *gin.Context) error {
		rel, err := h.store.CurrentRelease(c.Request.Context())
		if err != nil {
			return notReady{err}
		}
		r := run(c.Request.Context())
		body := Health{Status: "ready", Release: rel.ID, Checks: r.checks}
		if !r.ok {
			body.Status = "degraded"
		}
		c.Header("Cache-Control", "no-store")
		c.PureJSON(http.StatusOK, body)
		return nil
	}
}

// notReady turns any store failure during the readiness check into a 503.
type notReady struct{ err error }

func (e notReady) Error() string { return "not ready: " + e.err.Error() }
func (e notReady) Unwrap() []error {
	return []error{e.err, errNotReady}
}
