package handlers

import (
	"context"
	"net/http"
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
	return func(c *gin.Context) error {
		rel, err := h.store.CurrentRelease(c.Request.Context())
		if err != nil {
			return notReady{err}
		}
		body := Health{Status: "ready", Release: rel.ID, Checks: map[string]string{}}
		for _, chk := range checks {
			ctx, cancel := context.WithTimeout(c.Request.Context(), checkTimeout)
			err := chk.Check(ctx)
			cancel()
			switch {
			case err == nil:
				body.Checks[chk.Name] = "ok"
			default:
				body.Checks[chk.Name] = "unavailable"
				body.Status = "degraded"
			}
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
