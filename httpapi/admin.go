package httpapi

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

func (h *Handler) me(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	u := p.User // read with the session by the Manager's Authenticate
	if u.ID != p.UserID {
		// A host's own Principal: the caller's own record needs no
		// permission (self marks the context AsSystem).
		var err error
		if u, err = h.m.GetUser(r.Context(), p.TenantID, p.UserID); err != nil {
			if usermgmt.ErrorCode(err) == usermgmt.CodeNotFound {
				return errorf(usermgmt.CodeUnauthenticated, "not signed in")
			}
			return err
		}
	}
	perms := []usermgmt.Permission{}
	for _, perm := range usermgmt.AllPermissions() {
		if h.m.Can(u.Roles, perm) {
			perms = append(perms, perm)
		}
	}
	writeJSON(w, http.StatusOK, Me{User: h.user(u, h.now()), TenantID: p.TenantID, SessionID: p.SessionID, Permissions: perms})
	return nil
}

func (h *Handler) listRoles(w http.ResponseWriter, _ *http.Request, _ usermgmt.Principal) error {
	out := make([]Role, len(h.roles))
	for i, d := range h.roles {
		out[i] = Role{Name: d.Name, DisplayName: d.Label(), Description: d.Description}
	}
	writeJSON(w, http.StatusOK, map[string][]Role{"roles": out})
	return nil
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	q := r.URL.Query()
	if err := onlyParams(q, "status", "role", "q", "limit", "cursor"); err != nil {
		return err
	}
	limit, err := queryInt(q, "limit")
	if err != nil {
		return err
	}
	status := usermgmt.Status(q.Get("status"))
	if status == "all" {
		status = ""
	}
	page, err := h.m.ListUsers(r.Context(), p.TenantID, usermgmt.ListUsersQuery{
		Status: status, Role: usermgmt.Role(q.Get("role")), Search: q.Get("q"), Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	now := h.now()
	out := UserPage{Users: make([]User, len(page.Users)), NextCursor: page.NextCursor,
		Counts: Counts{Active: page.Counts.Active, Invited: page.Counts.Invited,
			Deactivated: page.Counts.Deactivated, All: page.Counts.All}}
	for i, u := range page.Users {
		out.Users[i] = h.user(u, now)
	}
	writeUserPage(w, &out)
	return nil
}

// InviteRequest is the body of POST /users/invitations.
type InviteRequest struct {
	Email string          `json:"email"`
	Roles []usermgmt.Role `json:"roles"`
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	var req InviteRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	u, err := h.m.InviteUser(r.Context(), p.TenantID, usermgmt.Invite{Email: req.Email, Roles: req.Roles})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, h.user(u, h.now()))
	return nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	u, err := h.m.GetUser(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.user(u, h.now()))
	return nil
}

// action runs a Manager call on the {id} user that has no answer body.
// The request may carry an empty JSON body or none.
func (h *Handler) action(w http.ResponseWriter, r *http.Request, p usermgmt.Principal,
	f func(r *http.Request, tenant string, id uuid.UUID) error) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	if err := f(r, p.TenantID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// change runs a Manager call on the {id} user that returns the user.
func (h *Handler) change(w http.ResponseWriter, r *http.Request, p usermgmt.Principal,
	f func(r *http.Request, tenant string, id uuid.UUID) (usermgmt.User, error)) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	u, err := f(r, p.TenantID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.user(u, h.now()))
	return nil
}

func (h *Handler) resendInvite(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.action(w, r, p, func(r *http.Request, t string, id uuid.UUID) error {
		return h.m.ResendInvite(r.Context(), t, id)
	})
}

func (h *Handler) sendPasswordReset(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.action(w, r, p, func(r *http.Request, t string, id uuid.UUID) error {
		return h.m.SendPasswordReset(r.Context(), t, id)
	})
}

func (h *Handler) forceLogout(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.action(w, r, p, func(r *http.Request, t string, id uuid.UUID) error {
		return h.m.ForceLogout(r.Context(), t, id)
	})
}

// resetMFA serves POST /users/{id}/mfa-reset; outside sudo mode it
// answers mfa_required.
func (h *Handler) resetMFA(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.action(w, r, p, func(r *http.Request, t string, id uuid.UUID) error {
		return h.m.ResetMFA(r.Context(), t, id)
	})
}

// erase serves POST /users/{id}/erase (Manager.EraseUser): a tenant_admin
// only, in sudo mode (else mfa_required).
func (h *Handler) erase(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.action(w, r, p, func(r *http.Request, t string, id uuid.UUID) error {
		return h.m.EraseUser(r.Context(), t, id)
	})
}

func (h *Handler) grantRole(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.change(w, r, p, func(r *http.Request, t string, id uuid.UUID) (usermgmt.User, error) {
		return h.m.GrantRole(r.Context(), t, id, usermgmt.Role(r.PathValue("role")))
	})
}

func (h *Handler) revokeRole(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.change(w, r, p, func(r *http.Request, t string, id uuid.UUID) (usermgmt.User, error) {
		return h.m.RevokeRole(r.Context(), t, id, usermgmt.Role(r.PathValue("role")))
	})
}

func (h *Handler) deactivate(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.change(w, r, p, func(r *http.Request, t string, id uuid.UUID) (usermgmt.User, error) {
		return h.m.Deactivate(r.Context(), t, id)
	})
}

// unlock serves POST /users/{id}/unlock: the user's sign-in pause is
// lifted and the user returned.
func (h *Handler) unlock(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.change(w, r, p, func(r *http.Request, t string, id uuid.UUID) (usermgmt.User, error) {
		return h.m.UnlockUser(r.Context(), t, id)
	})
}

func (h *Handler) activate(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	return h.change(w, r, p, func(r *http.Request, t string, id uuid.UUID) (usermgmt.User, error) {
		return h.m.Activate(r.Context(), t, id)
	})
}

// listUndeliveredMail serves GET /mail/undelivered: the tenant's mail the
// outbox has not delivered yet, newest first.
func (h *Handler) listUndeliveredMail(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	limit, cursor, err := pageQuery(r)
	if err != nil {
		return err
	}
	page, err := h.m.ListUndeliveredMail(r.Context(), p.TenantID, usermgmt.MailQuery{Limit: limit, Cursor: cursor})
	if err != nil {
		return err
	}
	out := MailPage{Mail: make([]UndeliveredMail, len(page.Mail)), NextCursor: page.NextCursor}
	for i, m := range page.Mail {
		u := UndeliveredMail{ID: m.ID, UserID: m.UserID, To: m.To, Kind: m.Kind, Attempts: m.Attempts,
			LastError: mailProblem(m.LastError), Failed: m.Failed, CreatedAt: m.CreatedAt}
		if m.Failed {
			u.FailedAt = &m.FailedAt
		} else {
			u.NextAttemptAt = &m.NextAttemptAt
		}
		out.Mail[i] = u
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) listActivity(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	limit, cursor, err := pageQuery(r)
	if err != nil {
		return err
	}
	page, err := h.m.ListActivity(r.Context(), p.TenantID, id, usermgmt.ActivityQuery{Limit: limit, Cursor: cursor})
	if err != nil {
		return err
	}
	out := ActivityPage{Events: make([]Event, len(page.Events)), NextCursor: page.NextCursor}
	for i, e := range page.Events {
		ev := Event{ID: e.ID, Type: e.Type, ActorName: e.ActorName, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail,
			CreatedAt: e.CreatedAt}
		if e.ActorID != uuid.Nil {
			// The Manager named the actor with the page, in the same
			// transaction, when the caller may list users.
			a := e.ActorID
			ev.ActorID = &a
			ev.ActorEmail = e.ActorEmail
		}
		out.Events[i] = ev
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// mailProblem says in a sentence for a tenant admin why a mail is not
// delivered yet. The Mailer's own text (an SMTP server's host and port,
// its reply) is the operator's, who finds it in the log; the page shows
// only what kind of trouble it was.
func mailProblem(reason string) string {
	if reason == "" {
		return ""
	}
	r := strings.ToLower(reason)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(r, w) {
				return true
			}
		}
		return false
	}
	switch m := smtpReply.FindStringSubmatch(r); {
	case m != nil && m[1] == "4":
		return "The mail server could not take the mail for now."
	case m != nil && m[1] == "5":
		return "The mail server refused the mail."
	case has("timeout", "deadline", "timed out"):
		return "The mail server did not answer in time."
	case has("refused", "no such host", "dial", "connect", "unreachable", "reset by peer", "eof"):
		return "The mail server could not be reached."
	}
	return "The mail server did not accept the mail."
}

// smtpReply finds an SMTP reply code (RFC 5321: 4yz is transient, 5yz
// permanent) in a Mailer's error.
var smtpReply = regexp.MustCompile(`\b([45])[0-9]{2}[ -]`)
