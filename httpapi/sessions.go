package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// A user's sessions and trusted devices: the admin's routes under
// /users/{id}, and the person's own under /account.

// ActiveSession is one live session in GET /users/{id}/sessions and GET
// /account/sessions. Device and Browser are read from the User-Agent
// ("macOS", "Chrome 131"), "" when not recognised; Current marks the
// session that made the request.
type ActiveSession struct {
	ID         uuid.UUID `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Device     string    `json:"device"`
	Browser    string    `json:"browser"`
	Current    bool      `json:"current"`
}

// TrustedDevice is a browser that skips TOTP at sign-in until ExpiresAt;
// IP and UserAgent are where it was trusted from.
type TrustedDevice struct {
	ID        uuid.UUID `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Device    string    `json:"device"`
	Browser   string    `json:"browser"`
}

// Sessions is GET /users/{id}/sessions and GET /account/sessions, newest
// first.
type Sessions struct {
	Sessions []ActiveSession `json:"sessions"`
	Devices  []TrustedDevice `json:"devices"`
}

func sessionsJSON(in usermgmt.UserSessions) Sessions {
	out := Sessions{Sessions: make([]ActiveSession, len(in.Sessions)), Devices: make([]TrustedDevice, len(in.Devices))}
	for i, s := range in.Sessions {
		out.Sessions[i] = ActiveSession{ID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
			IP: s.IP, UserAgent: s.UserAgent, Device: s.Device, Browser: s.Browser, Current: s.Current}
	}
	for i, d := range in.Devices {
		out.Devices[i] = TrustedDevice{ID: d.ID, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt, IP: d.IP,
			UserAgent: d.UserAgent, Device: d.Device, Browser: d.Browser}
	}
	return out
}

// pathID reads the UUID path value name; what names it in an error.
func pathID(r *http.Request, name, what string) (uuid.UUID, error) {
	v := r.PathValue(name)
	id, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		return uuid.Nil, errorf(usermgmt.CodeInvalid, "the "+what+" id is not a valid UUID")
	}
	return id, nil
}

// listSessions serves GET /users/{id}/sessions and, for the caller's own
// user, GET /account/sessions.
func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	return h.writeSessions(w, r, p.TenantID, id)
}

func (h *Handler) writeSessions(w http.ResponseWriter, r *http.Request, tenantID string, userID uuid.UUID) error {
	if err := onlyParams(r.URL.Query()); err != nil {
		return err
	}
	got, err := h.m.ListSessions(r.Context(), tenantID, userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionsJSON(got))
	return nil
}

// revokeSession serves DELETE /users/{id}/sessions/{sid}.
func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.action(w, r, p, func(r *http.Request, t string, id uuid.UUID) error {
		sid, err := pathID(r, "sid", "session")
		if err != nil {
			return err
		}
		if err := h.m.RevokeSession(r.Context(), t, id, sid); err != nil {
			return err
		}
		if sid == p.SessionID {
			h.clearSession(w) // the caller ended the session of this very request
		}
		return nil
	})
}

// revokeDevice serves DELETE /users/{id}/devices/{did}.
func (h *Handler) revokeDevice(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.action(w, r, p, func(r *http.Request, t string, id uuid.UUID) error {
		did, err := pathID(r, "did", "device")
		if err != nil {
			return err
		}
		return h.m.RevokeDevice(r.Context(), t, id, did)
	})
}

// asPerson makes a self route act as the signed-in person on their own
// records: the Manager then knows the session of the request (to mark
// the current one) and logs the person as the actor. It needs no
// permission: the Manager lets anyone act on their own sessions, and
// these routes name no other user.
func (h *Handler) asPerson(r *http.Request, p usermgmt.Principal) *http.Request {
	r = r.WithContext(usermgmt.WithActor(r.Context(), h.actor(r, p)))
	r.SetPathValue("id", p.UserID.String())
	return r
}

// ownSessions serves GET /account/sessions.
func (h *Handler) ownSessions(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.listSessions(w, h.asPerson(r, p), p)
}

// revokeOwnSession serves DELETE /account/sessions/{sid}. Ending the
// session of the request itself signs the caller out here (its cookies
// are cleared).
func (h *Handler) revokeOwnSession(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.revokeSession(w, h.asPerson(r, p), p)
}

// revokeOwnDevice serves DELETE /account/devices/{did}.
func (h *Handler) revokeOwnDevice(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.revokeDevice(w, h.asPerson(r, p), p)
}
