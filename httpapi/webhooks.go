package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// WebhookEndpoint is a webhook endpoint as the API shows it: where the
// tenant's user events go and how that goes, never its secret.
type WebhookEndpoint struct {
	ID                  uuid.UUID            `json:"id"`
	URL                 string               `json:"url"`
	Description         string               `json:"description"`
	EventTypes          []usermgmt.EventType `json:"event_types"`
	CreatedAt           time.Time            `json:"created_at"`
	UpdatedAt           time.Time            `json:"updated_at"`
	DisabledAt          *time.Time           `json:"disabled_at"` // null while enabled
	DisabledReason      string               `json:"disabled_reason"`
	Failures            int                  `json:"failures"`              // failed deliveries in a row
	PreviousSecretUntil *time.Time           `json:"previous_secret_until"` // null outside a rotation's grace period
}

// WebhookEndpoints is GET /webhooks, oldest first.
type WebhookEndpoints struct {
	Endpoints []WebhookEndpoint `json:"endpoints"`
}

// WebhookEndpointRequest is the body of POST /webhooks and
// PUT /webhooks/{wid}.
type WebhookEndpointRequest struct {
	URL         string               `json:"url"`
	EventTypes  []usermgmt.EventType `json:"event_types"`
	Description string               `json:"description"`
}

// WebhookSecret answers POST /webhooks and POST
// /webhooks/{wid}/secret/rotate: the endpoint and its new signing secret,
// which no other answer carries.
type WebhookSecret struct {
	Endpoint WebhookEndpoint `json:"endpoint"`
	Secret   string          `json:"secret"`
}

// WebhookDelivery is one message to one endpoint: its state and its last
// attempt.
type WebhookDelivery struct {
	MessageID       uuid.UUID          `json:"message_id"`
	WebhookID       string             `json:"webhook_id"` // the message's webhook-id header
	UserID          uuid.UUID          `json:"user_id"`
	EventType       usermgmt.EventType `json:"event_type"`
	Status          string             `json:"status"` // pending, delivered or failed
	Attempts        int                `json:"attempts"`
	LastStatusCode  *int               `json:"last_status_code"` // null when no attempt got an answer
	LastError       string             `json:"last_error"`
	ResponseExcerpt string             `json:"response_excerpt"`
	CreatedAt       time.Time          `json:"created_at"`
	LastAttemptAt   *time.Time         `json:"last_attempt_at"`
	NextAttemptAt   *time.Time         `json:"next_attempt_at"`
	DeliveredAt     *time.Time         `json:"delivered_at"`
}

// WebhookDeliveryPage is GET /webhooks/{wid}/deliveries, newest first.
type WebhookDeliveryPage struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
	NextCursor string            `json:"next_cursor"`
}

func webhookEndpoint(e usermgmt.WebhookEndpoint) WebhookEndpoint {
	types := e.EventTypes
	if types == nil {
		types = []usermgmt.EventType{}
	}
	return WebhookEndpoint{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: types, CreatedAt: e.CreatedAt,
		UpdatedAt: e.UpdatedAt, DisabledAt: e.DisabledAt, DisabledReason: e.DisabledReason, Failures: e.Failures,
		PreviousSecretUntil: e.PreviousSecretUntil}
}

func webhookDelivery(d usermgmt.WebhookDelivery) WebhookDelivery {
	out := WebhookDelivery{MessageID: d.MessageID, WebhookID: usermgmt.WebhookMessageID(d.MessageID), UserID: d.UserID, EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, LastError: d.LastError, ResponseExcerpt: d.ResponseExcerpt, CreatedAt: d.CreatedAt,
		LastAttemptAt: d.LastAttemptAt, NextAttemptAt: d.NextAttemptAt, DeliveredAt: d.DeliveredAt}
	if d.LastStatusCode != 0 {
		out.LastStatusCode = &d.LastStatusCode
	}
	return out
}

// webhookInput reads the body of POST /webhooks and PUT /webhooks/{wid}.
func (h *Handler) webhookInput(w http.ResponseWriter, r *http.Request) (usermgmt.WebhookEndpointInput, error) {
	var req WebhookEndpointRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return usermgmt.WebhookEndpointInput{}, err
	}
	return usermgmt.WebhookEndpointInput{URL: req.URL, EventTypes: req.EventTypes, Description: req.Description}, nil
}

// listWebhookEndpoints serves GET /webhooks.
func (h *Handler) listWebhookEndpoints(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	if err := onlyParams(r.URL.Query()); err != nil {
		return err
	}
	es, err := h.m.ListWebhookEndpoints(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := WebhookEndpoints{Endpoints: make([]WebhookEndpoint, len(es))}
	for i, e := range es {
		out.Endpoints[i] = webhookEndpoint(e)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createWebhookEndpoint serves POST /webhooks; outside sudo mode it
// answers mfa_required.
func (h *Handler) createWebhookEndpoint(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	in, err := h.webhookInput(w, r)
	if err != nil {
		return err
	}
	e, secret, err := h.m.CreateWebhookEndpoint(r.Context(), p.TenantID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, WebhookSecret{Endpoint: webhookEndpoint(e), Secret: secret})
	return nil
}

// getWebhookEndpoint serves GET /webhooks/{wid}.
func (h *Handler) getWebhookEndpoint(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "wid", "endpoint")
	if err != nil {
		return err
	}
	if err := onlyParams(r.URL.Query()); err != nil {
		return err
	}
	e, err := h.m.GetWebhookEndpoint(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookEndpoint(e))
	return nil
}

// updateWebhookEndpoint serves PUT /webhooks/{wid}; outside sudo mode it
// answers mfa_required.
func (h *Handler) updateWebhookEndpoint(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "wid", "endpoint")
	if err != nil {
		return err
	}
	in, err := h.webhookInput(w, r)
	if err != nil {
		return err
	}
	e, err := h.m.UpdateWebhookEndpoint(r.Context(), p.TenantID, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookEndpoint(e))
	return nil
}

// deleteWebhookEndpoint serves DELETE /webhooks/{wid}.
func (h *Handler) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "wid", "endpoint")
	if err != nil {
		return err
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	if err := h.m.DeleteWebhookEndpoint(r.Context(), p.TenantID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// enableWebhookEndpoint serves POST /webhooks/{wid}/enable.
func (h *Handler) enableWebhookEndpoint(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "wid", "endpoint")
	if err != nil {
		return err
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	e, err := h.m.EnableWebhookEndpoint(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookEndpoint(e))
	return nil
}

// rotateWebhookSecret serves POST /webhooks/{wid}/secret/rotate; outside
// sudo mode it answers mfa_required.
func (h *Handler) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "wid", "endpoint")
	if err != nil {
		return err
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	secret, err := h.m.RotateWebhookSecret(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	e, err := h.m.GetWebhookEndpoint(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, WebhookSecret{Endpoint: webhookEndpoint(e), Secret: secret})
	return nil
}

// listWebhookDeliveries serves GET /webhooks/{wid}/deliveries.
func (h *Handler) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "wid", "endpoint")
	if err != nil {
		return err
	}
	limit, cursor, err := pageQuery(r)
	if err != nil {
		return err
	}
	page, err := h.m.ListWebhookDeliveries(r.Context(), p.TenantID, id, usermgmt.WebhookDeliveryQuery{Limit: limit, Cursor: cursor})
	if err != nil {
		return err
	}
	out := WebhookDeliveryPage{Deliveries: make([]WebhookDelivery, len(page.Deliveries)), NextCursor: page.NextCursor}
	for i, d := range page.Deliveries {
		out.Deliveries[i] = webhookDelivery(d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// resendWebhook serves POST /webhooks/{wid}/deliveries/{mid}/resend: the
// message goes again, with its id and body, to that endpoint.
func (h *Handler) resendWebhook(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "wid", "endpoint")
	if err != nil {
		return err
	}
	mid, err := pathID(r, "mid", "message")
	if err != nil {
		return err
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	if err := h.m.ResendWebhook(r.Context(), p.TenantID, id, mid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
