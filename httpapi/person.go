package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usermgmt/usermgmt"
)

// Route groups of the rate limits.
const (
	groupLogin  = "login"
	groupMFA    = "mfa"
	groupForgot = "forgot"
	groupAccept = "accept"
)

// limit takes a token from the client IP's bucket and the account's bucket
// of a route group, answering rate_limited with Retry-After when either is
// empty.
func (h *Handler) limit(r *http.Request, group, account string) error {
	ip, acct := h.opts.RateLimits.PerIP, h.opts.RateLimits.PerAccount
	ok, wait := h.limits.Allow(r.Context(), group+"|ip|"+h.clientIP(r), ip.Burst, ip.Per)
	if ok && account != "" {
		ok, wait = h.limits.Allow(r.Context(), group+"|acct|"+account, acct.Burst, acct.Per)
	}
	if ok {
		return nil
	}
	secs := int64(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &usermgmt.Error{Code: usermgmt.CodeRateLimited,
		Message: "too many attempts; try again in " + strconv.FormatInt(secs, 10) + "s", RetryAfter: secs}
}

// accountKey names an account for the limiter without keeping a secret or
// unbounded input in memory.
func accountKey(parts ...string) string {
	s := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(s[:12])
}

// emailAccountKey names a tenant's account by its email as the Manager
// reads it, so that every spelling of one address (case, spaces, Unicode
// normal form) takes from one bucket. An address the Manager refuses
// keys by its raw text.
func emailAccountKey(tenant, email string) string {
	if e, err := usermgmt.NormalizeEmail(email); err == nil {
		email = e
	}
	return accountKey(tenant, email)
}

// LoginRequest is the body of POST /auth/login. Tenant is read only when
// Options.TenantFromRequest is nil. DeviceToken is for API clients; a
// browser's trusted-device cookie is read on its own.
type LoginRequest struct {
	Tenant      string `json:"tenant"`
	Email       string `json:"email"`
	Password    string `json:"password"`
	DeviceToken string `json:"device_token"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var req LoginRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	tenant, err := h.tenant(r, req.Tenant)
	if err != nil {
		return err
	}
	if err := h.limit(r, groupLogin, emailAccountKey(tenant, req.Email)); err != nil {
		return err
	}
	device := req.DeviceToken
	if device == "" {
		if c, err := r.Cookie(h.opts.DeviceCookie); err == nil {
			device = c.Value
		}
	}
	res, err := h.m.Login(r.Context(), usermgmt.LoginRequest{TenantID: tenant, Email: req.Email, Password: req.Password, DeviceToken: device})
	if err != nil {
		return err
	}
	switch {
	case res.Session != nil:
		h.signedIn(w, *res.Session)
	case res.Enrollment != nil:
		writeJSON(w, http.StatusOK, AuthResult{Status: StatusEnrollmentRequired, Enrollment: enrollment(*res.Enrollment)})
	default:
		writeJSON(w, http.StatusOK, AuthResult{Status: StatusMFARequired, Challenge: res.MFAChallenge})
	}
	return nil
}

// MFARequest is the body of POST /auth/mfa.
type MFARequest struct {
	Challenge   string `json:"challenge"`
	Code        string `json:"code"`
	TrustDevice bool   `json:"trust_device"`
}

func (h *Handler) verifyMFA(w http.ResponseWriter, r *http.Request) error {
	var req MFARequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	if err := h.limit(r, groupMFA, accountKey(req.Challenge)); err != nil {
		return err
	}
	s, err := h.m.VerifyMFA(r.Context(), req.Challenge, req.Code, req.TrustDevice)
	if err != nil {
		return err
	}
	h.signedIn(w, s)
	return nil
}

// RefreshRequest is the body of POST /auth/refresh; a browser sends none
// and the refresh cookie is read.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) error {
	var req RefreshRequest
	if err := h.decode(w, r, &req, true); err != nil {
		return err
	}
	tok := req.RefreshToken
	if tok == "" {
		if c, err := r.Cookie(h.opts.RefreshCookie); err == nil {
			tok = c.Value
		}
	}
	s, err := h.m.Refresh(r.Context(), tok)
	if err != nil {
		code := usermgmt.ErrorCode(err)
		if code == usermgmt.CodeUnauthenticated || code == usermgmt.CodeExpired {
			h.clearSession(w)
		}
		return err
	}
	h.signedIn(w, s)
	return nil
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	if tok := h.sessionToken(r); tok != "" {
		if err := h.m.Logout(r.Context(), tok); err != nil {
			return err
		}
	}
	// The trusted-device cookie stays: logging out does not untrust the browser.
	h.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// PasswordRequest is the body of POST /auth/password: the signed-in
// person's current password and the new one.
type PasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword changes the password of the person whose library session
// (bearer token or cookie) makes the request; the calling session stays,
// every other ends. A host that signs people in with sessions of its own
// (Options.Authenticate) has no library session to give: it calls
// Manager.ChangePassword itself.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req PasswordRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	tok, err := h.ownSession(r, groupLogin)
	if err != nil {
		return err
	}
	if err := h.m.ChangePassword(r.Context(), tok, req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ownSession returns the session token of a person acting on their own
// session (a password change, sudo), counted against the session's bucket
// of the route group's rate limit.
func (h *Handler) ownSession(r *http.Request, group string) (string, error) {
	tok := h.sessionToken(r)
	if tok == "" {
		return "", errorf(usermgmt.CodeUnauthenticated, "not signed in")
	}
	return tok, h.limit(r, group, accountKey(tok))
}

// SudoRequest is the body of POST /auth/sudo: a TOTP or recovery code of
// the signed-in person.
type SudoRequest struct {
	Code string `json:"code"`
}

// sudo renews the sudo-mode window of the request's session; the client
// then retries the operation that answered mfa_required.
func (h *Handler) sudo(w http.ResponseWriter, r *http.Request) error {
	var req SudoRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	tok, err := h.ownSession(r, groupMFA)
	if err != nil {
		return err
	}
	if err := h.m.Sudo(r.Context(), tok, req.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AcceptRequest is the body of POST /invitations/accept.
type AcceptRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	var req AcceptRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	if err := h.limit(r, groupAccept, accountKey(req.Token)); err != nil {
		return err
	}
	enr, err := h.m.AcceptInvite(r.Context(), req.Token, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, AuthResult{Status: StatusEnrollmentRequired, Enrollment: enrollment(enr)})
	return nil
}

// EnrollRequest is the body of POST /invitations/mfa: the enrolment token
// and the first code from the app.
type EnrollRequest struct {
	Token string `json:"token"`
	Code  string `json:"code"`
}

func (h *Handler) completeEnrollment(w http.ResponseWriter, r *http.Request) error {
	var req EnrollRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	if err := h.limit(r, groupMFA, accountKey(req.Token)); err != nil {
		return err
	}
	s, err := h.m.CompleteMFAEnrollment(r.Context(), req.Token, req.Code)
	if err != nil {
		return err
	}
	h.signedIn(w, s)
	return nil
}

// ForgotRequest is the body of POST /password/forgot.
type ForgotRequest struct {
	Tenant string `json:"tenant"`
	Email  string `json:"email"`
}

func (h *Handler) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var req ForgotRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	tenant, err := h.tenant(r, req.Tenant)
	if err != nil {
		return err
	}
	if err := h.limit(r, groupForgot, emailAccountKey(tenant, req.Email)); err != nil {
		return err
	}
	if err := h.m.RequestPasswordReset(r.Context(), tenant, req.Email); err != nil {
		return err
	}
	// The same answer whether or not the email exists.
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent_if_known"})
	return nil
}

// ResetRequest is the body of POST /password/reset.
type ResetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var req ResetRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	if err := h.limit(r, groupAccept, accountKey(req.Token)); err != nil {
		return err
	}
	if err := h.m.ResetPassword(r.Context(), req.Token, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signedIn sets the session cookies and answers signed_in.
func (h *Handler) signedIn(w http.ResponseWriter, s usermgmt.Session) {
	h.setCookie(w, h.opts.SessionCookie, s.Token, s.ExpiresAt)
	h.setCookie(w, h.opts.RefreshCookie, s.RefreshToken, s.ExpiresAt)
	out := &Session{ExpiresAt: s.ExpiresAt, IdleTimeoutSeconds: int64(s.IdleTimeout / time.Second)}
	if s.DeviceToken != "" {
		h.setCookie(w, h.opts.DeviceCookie, s.DeviceToken, s.DeviceExpiresAt)
		exp := s.DeviceExpiresAt
		out.DeviceExpiresAt = &exp
	}
	if h.opts.ReturnTokens {
		out.Token, out.RefreshToken, out.DeviceToken = s.Token, s.RefreshToken, s.DeviceToken
	}
	writeJSON(w, http.StatusOK, AuthResult{Status: StatusSignedIn, Session: out})
}

// setCookie sets a cookie with the attributes every cookie of the API has:
// HttpOnly, SameSite=Lax, Path=/, no Domain (so a __Host- name is valid),
// and Secure unless Options.Insecure.
func (h *Handler) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: !h.opts.Insecure,
		SameSite: http.SameSiteLaxMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		// Max-Age wins over Expires in browsers, and follows the
		// Manager's clock; Expires is for old clients.
		c.Expires = expires
		c.MaxAge = int(expires.Sub(h.now()).Seconds())
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	http.SetCookie(w, c)
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	h.setCookie(w, h.opts.SessionCookie, "", time.Time{})
	h.setCookie(w, h.opts.RefreshCookie, "", time.Time{})
}
