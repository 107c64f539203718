package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Health is the body of the health and readiness checks.
type Health struct {
	Status  string `json:"status" example:"ok"`
	Release string `json:"release,omitempty" example:"20250414-3da80bd7"`
} // @name Health

// healthz godoc
//
//	@Summary		Liveness
//	@Description	200 while the process serves HTTP.
//	@Tags			operations
//	@ID				healthz
//	@Produce		json
//	@Success		200	{object}	Health
//	@Router			/healthz [get]
func (h *Handler) healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.PureJSON(http.StatusOK, Health{Status: "ok"})
}

// readyz godoc
//
//	@Summary		Readiness
//	@Description	200 once a release is loaded and the store answers; 503 otherwise.
//	@Tags			operations
//	@ID				readyz
//	@Produce		json
//	@Success		200	{object}	Health
//	@Failure		503	{object}	Problem
//	@Router			/readyz [get]
func (h *Handler) readyz(c *gin.Context) {
	rel, err := h.store.CurrentRelease(c.Request.Context())
	if err != nil {
		h.fail(c, notReady{err})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.PureJSON(http.StatusOK, Health{Status: "ready", Release: rel.ID})
}

// notReady turns any store failure during the readiness check into a 503.
type notReady struct{ err error }

func (e notReady) Error() string { return "not ready: " + e.err.Error() }
func (e notReady) Unwrap() []error {
	return []error{e.err, errNotReady}
}
