package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/usermgmt/usermgmt"
)

// Health is the answer of GET /health: Status is "ok" (200) or
// "unavailable" (503, with Retry-After).
type Health struct {
	Status string `json:"status"`
}

// healthTimeout bounds the store's answer to a health check, below the
// 5 s a load balancer's check usually waits: a database that answers
// slower than this is not healthy either.
const healthTimeout = 2 * time.Second

// health is GET /health, for a load balancer or an orchestrator's
// readiness probe: no session, one round trip to the store
// (usermgmt.Manager.Ping). When the store does not answer within
// healthTimeout it answers 503 with Retry-After, and logs why at warning
// level, so that the instance is taken out of rotation until the
// database is back.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	err := h.m.Ping(ctx)
	if err == nil {
		writeJSON(w, http.StatusOK, Health{Status: "ok"})
		return nil
	}
	h.log.WarnContext(r.Context(), "httpapi: health check failed", "err", err)
	var ue *usermgmt.Error
	if errors.As(err, &ue) && ue.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(ue.RetryAfter, 10))
	}
	writeJSON(w, http.StatusServiceUnavailable, Health{Status: "unavailable"})
	return nil
}
