package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// ProvisioningToken is a provisioning token as the API shows it: what the
// tenant admin called it and when it was made and last used, never its
// secret.
type ProvisioningToken struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"` // null: never used; kept to the minute
}

// ProvisioningTokens is GET /provisioning/tokens, oldest first.
type ProvisioningTokens struct {
	Tokens []ProvisioningToken `json:"tokens"`
}

// ProvisioningTokenRequest is the body of POST /provisioning/tokens.
type ProvisioningTokenRequest struct {
	Name string `json:"name"`
}

// NewProvisioningToken answers POST /provisioning/tokens: the token and
// its secret, which no other answer carries.
type NewProvisioningToken struct {
	Token  ProvisioningToken `json:"token"`
	Secret string            `json:"secret"`
}

func provisioningToken(t usermgmt.ProvisioningToken) ProvisioningToken {
	return ProvisioningToken{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
}

// listProvisioningTokens serves GET /provisioning/tokens.
func (h *Handler) listProvisioningTokens(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	if err := onlyParams(r.URL.Query()); err != nil {
		return err
	}
	ts, err := h.m.ListProvisioningTokens(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := ProvisioningTokens{Tokens: make([]ProvisioningToken, len(ts))}
	for i, t := range ts {
		out.Tokens[i] = provisioningToken(t)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createProvisioningToken serves POST /provisioning/tokens; outside sudo
// mode it answers mfa_required.
func (h *Handler) createProvisioningToken(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	var req ProvisioningTokenRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	t, secret, err := h.m.CreateProvisioningToken(r.Context(), p.TenantID, req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, NewProvisioningToken{Token: provisioningToken(t), Secret: secret})
	return nil
}

// revokeProvisioningToken serves DELETE /provisioning/tokens/{id}: the
// identity provider's requests with it fail from now on.
func (h *Handler) revokeProvisioningToken(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "id", "token")
	if err != nil {
		return err
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	if err := h.m.RevokeProvisioningToken(r.Context(), p.TenantID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
