package httpapi

import (
	"context"
	"net/http"

	"github.com/usermgmt/usermgmt"
)

// Meta is GET /meta: the domain's lists and policy as the Manager has
// them, so that a page keeps no copy of its own. It names no user and
// needs no session. WebhookEventTypes are the event types a webhook
// endpoint may ask for; ErrorFields lists what an error's field may name;
// MaxBulkInvites is how many people POST /users/invitations/bulk takes.
type Meta struct {
	Product           string   `json:"product"`
	PasswordMinLength int      `json:"password_min_length"`
	PasswordMaxLength int      `json:"password_max_length"`
	MaxBulkInvites    int      `json:"max_bulk_invites"`
	EventTypes        []Label  `json:"event_types"`
	WebhookEventTypes []Label  `json:"webhook_event_types"`
	MailKinds         []Label  `json:"mail_kinds"`
	Permissions       []string `json:"permissions"`
	ErrorFields       []string `json:"error_fields"`
}

// Label names one value of a list (an event type, a mail kind) the way
// the page shows it.
type Label struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// metaMaxAge is how long a browser may keep GET /meta: it changes only
// when the host redeploys.
const metaMaxAge = "300"

func (h *Handler) meta(w http.ResponseWriter, _ *http.Request) error {
	pol := h.m.PasswordPolicy()
	out := Meta{Product: h.m.Product(), PasswordMinLength: pol.MinLength, PasswordMaxLength: pol.MaxLength,
		MaxBulkInvites: usermgmt.MaxBulkInvites,
		ErrorFields: []string{usermgmt.FieldEmail, usermgmt.FieldPassword, usermgmt.FieldCurrentPassword,
			usermgmt.FieldCode, usermgmt.FieldRole, usermgmt.FieldToken, usermgmt.FieldURL, usermgmt.FieldEventTypes,
			usermgmt.FieldDescription}}
	labels := map[usermgmt.EventType]string{}
	for _, l := range usermgmt.EventLabels() {
		out.EventTypes = append(out.EventTypes, Label{Value: string(l.Type), Label: l.Label})
		labels[l.Type] = l.Label
	}
	for _, t := range usermgmt.WebhookEventTypes() {
		out.WebhookEventTypes = append(out.WebhookEventTypes, Label{Value: string(t), Label: labels[t]})
	}
	for _, l := range usermgmt.MessageKindLabels() {
		out.MailKinds = append(out.MailKinds, Label{Value: string(l.Kind), Label: l.Label})
	}
	for _, p := range usermgmt.AllPermissions() {
		out.Permissions = append(out.Permissions, string(p))
	}
	// The same for everyone and free of any user's data: the one answer
	// of the API a cache may keep (ServeHTTP sets no-store first).
	w.Header().Set("Cache-Control", "public, max-age="+metaMaxAge)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// LinkCheckRequest is the body of POST /invitations/check and
// POST /password/check.
type LinkCheckRequest struct {
	Token string `json:"token"`
}

// LinkCheck is the answer of a link check: State is valid, expired or
// used (usermgmt.LinkState); Email is the account the link is for and
// Product the product's name.
type LinkCheck struct {
	State   usermgmt.LinkState `json:"state"`
	Email   string             `json:"email"`
	Product string             `json:"product"`
}

func (h *Handler) checkInvite(w http.ResponseWriter, r *http.Request) error {
	return h.checkLink(w, r, h.m.CheckInvite)
}

func (h *Handler) checkReset(w http.ResponseWriter, r *http.Request) error {
	return h.checkLink(w, r, h.m.CheckPasswordReset)
}

// checkLink answers a link check. It spends nothing, but it is rate
// limited with the routes that redeem links (one bucket per IP and per
// token), so that it is no cheaper a way to try tokens.
func (h *Handler) checkLink(w http.ResponseWriter, r *http.Request,
	check func(context.Context, string) (usermgmt.LinkCheck, error)) error {
	var req LinkCheckRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	if err := h.limit(r, groupAccept, accountKey(req.Token)); err != nil {
		return err
	}
	c, err := check(r.Context(), req.Token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, LinkCheck{State: c.State, Email: c.Email, Product: c.Product})
	return nil
}
