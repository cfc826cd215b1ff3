// Package httpapi serves the Manager as a JSON API over net/http: the
// admin routes of the Settings → Users page and the person routes of
// signing in, accepting an invitation and resetting a password.
//
// Mount it under a prefix with http.StripPrefix:
//
//	api, err := httpapi.NewHandler(m, httpapi.Options{})
//	mux.Handle("/api/", http.StripPrefix("/api", api))
//
// Admin routes act only in the caller's own tenant, taken from the session,
// and pass the caller to the Manager as the actor (usermgmt.WithActor), so
// the Manager decides what the caller may do. Every error is
// {"error":{"code":"…","message":"…"}} with the status from one table
// (see StatusOf): invalid 400, unauthenticated, expired and mfa_required
// 401, permission_denied 403 (also a refused cross-origin request),
// not_found 404, method_not_allowed 405, conflict 409, too_large 413,
// unsupported_media_type 415, rate_limited 429 with Retry-After,
// internal 500 (logged, never echoed), delivery_failed 502 (the change is
// saved and the outbox retries the mail), unavailable 503 with Retry-After
// (the database cannot be reached, as during a failover). Every answer, error or not,
// carries Cache-Control: no-store.
//
// The routes are described, with their parameters, bodies, answers and
// errors, by the OpenAPI 3.1 document served at GET /openapi.json (the file
// openapi.json, also OpenAPI()); a client can be generated from it. The
// signed-in routes act in the caller's tenant (/me, /roles, /users and
// /users/{id}/…, /mail/undelivered) or on the caller's own account
// (/account/…); the person routes sign in (/auth/…), accept an invitation
// (/invitations/…) and reset a password (/password/…). GET /health, for a
// load balancer, answers 200 while the store answers and 503 with
// Retry-After when it does not.
//
// Sudo mode: granting tenant_admin (PUT /users/{id}/roles/tenant_admin, or
// an invitation with that role) and resetting MFA (POST
// /users/{id}/mfa-reset) need the caller's session to have
// verified a password or code within the Manager's Options.SudoWindow;
// otherwise the answer is mfa_required (401). POST /auth/sudo with
// {"code":"…"} (a TOTP or recovery code) renews the window for the
// session of the request (cookie or bearer token); then the client
// retries. A user without TOTP confirms by signing in again.
//
// A Handler is safe for concurrent use. Its rate limits (RateLimits) are
// kept in the Manager's store when the store is a usermgmt.RateLimiter
// (Manager.SharedLimiter; store/postgres is one), so every instance on
// one database shares them, and in memory otherwise (the memory store,
// one process). When the store fails a limit check, this process's own
// buckets decide it and the failure is logged: a limit check never
// answers 500. The limiter starts no goroutine, so there is nothing to
// close.
package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/ratelimit"
)

// Options configures a Handler. Zero values take the documented defaults.
type Options struct {
	// TenantFromRequest finds the tenant of the person routes that carry
	// no token (login and forgot-password), e.g. from the host name. An
	// error it returns is answered as is (an *usermgmt.Error keeps its
	// code; anything else is internal). When nil, those routes read the
	// tenant from the body's "tenant" field. When set, the routes that
	// spend a link or challenge token (accept, MFA, reset) also refuse a
	// token of another tenant (usermgmt.ForTenant).
	TenantFromRequest func(*http.Request) (string, error)

	// Authenticate lets a host with sessions of its own supply the
	// Principal of an admin request. When nil, the Handler reads the
	// session token from "Authorization: Bearer …" or the session cookie
	// and asks the Manager. It should return an *usermgmt.Error with
	// code unauthenticated when there is no caller. Such a host leaves
	// Principal.SessionID zero (it names a session of the Manager) and
	// sets Principal.VerifiedAt to when its own session last verified the
	// caller's password or second factor: zero is never, and sudo-mode
	// operations then answer mfa_required. POST /auth/sudo works only on
	// the Manager's sessions; such a host confirms the caller its own way.
	Authenticate func(*http.Request) (usermgmt.Principal, error)

	// Cookie names. Defaults: "__Host-usermgmt_session",
	// "__Host-usermgmt_refresh" and "__Host-usermgmt_device"; under
	// Insecure the "__Host-" prefix is dropped, since browsers refuse it
	// without Secure.
	SessionCookie, RefreshCookie, DeviceCookie string

	// Insecure is for development on http://localhost: cookies lose
	// Secure and the __Host- prefix. Never set it in production.
	Insecure bool

	// ReturnTokens also puts the session and refresh tokens in JSON
	// answers, for API clients that send "Authorization: Bearer". Leave
	// it off when only browsers sign in: then no page script ever sees a
	// token, only HttpOnly cookies hold them.
	ReturnTokens bool

	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// when finding a client's IP (for rate limits and the activity log).
	// Empty: the header is ignored and the TCP peer is the client.
	TrustedProxies []netip.Prefix

	// TrustedOrigins may send cross-origin unsafe requests, as
	// "scheme://host[:port]". Every other cross-origin POST, PUT or
	// DELETE is refused with 403 (http.CrossOriginProtection), and so is
	// one whose Origin is the request's host with another scheme: the
	// request's scheme is https, unless it came without TLS under
	// Insecure (see sameScheme in origin.go).
	TrustedOrigins []string

	// MaxBodyBytes caps request bodies (413 above it). Default 1 MiB.
	MaxBodyBytes int64

	// RateLimits limit the person routes; see RateLimits.
	RateLimits RateLimits

	// Logger receives internal errors. Default: slog.Default().
	Logger *slog.Logger

	// Clock tells the time for rate limits and relative times. Default
	// time.Now; give it the Manager's clock in tests.
	Clock func() time.Time
}

// Handler is the JSON API. It is an http.Handler.
type Handler struct {
	m       *usermgmt.Manager
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	handler http.Handler
	limits  *ratelimit.Limiter
	roles   []usermgmt.RoleDef
	// patterns are the routes of routeTable, as registered; routed holds
	// them too, and serve answers no other pattern of the mux.
	patterns       []string
	routed         map[string]bool
	trustedOrigins map[string]bool
}

// New returns the API as an http.Handler. It is NewHandler for hosts that
// set options known to be valid: if NewHandler would fail, every request
// is answered 500 and the configuration error is logged.
func New(m *usermgmt.Manager, opts Options) http.Handler {
	h, err := NewHandler(m, opts)
	if err != nil {
		log := opts.Logger
		if log == nil {
			log = slog.Default()
		}
		return &Handler{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.ErrorContext(r.Context(), "httpapi: misconfigured", "err", err)
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: usermgmt.CodeInternal, Message: "internal error"}})
		})}
	}
	return h
}

// NewHandler returns the API. It returns invalid for a nil Manager, a
// negative body limit or a malformed trusted origin.
func NewHandler(m *usermgmt.Manager, opts Options) (*Handler, error) {
	if m == nil {
		return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "httpapi: a Manager is required")
	}
	if opts.MaxBodyBytes < 0 {
		return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "httpapi: Options.MaxBodyBytes must not be negative")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	prefix := "__Host-"
	if opts.Insecure {
		prefix = ""
	}
	for _, c := range []struct {
		p   *string
		def string
	}{
		{&opts.SessionCookie, "usermgmt_session"},
		{&opts.RefreshCookie, "usermgmt_refresh"},
		{&opts.DeviceCookie, "usermgmt_device"},
	} {
		if *c.p == "" {
			*c.p = prefix + c.def
		}
		if strings.ContainsAny(*c.p, " =;,\t\r\n\"") {
			return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "httpapi: cookie name %q is not valid", *c.p)
		}
	}
	opts.RateLimits.PerIP = opts.RateLimits.PerIP.orDefault(Limit{Burst: 30, Per: time.Minute})
	opts.RateLimits.PerAccount = opts.RateLimits.PerAccount.orDefault(Limit{Burst: 10, Per: 5 * time.Minute})
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{m: m, opts: opts, log: opts.Logger, now: opts.Clock,
		limits:         ratelimit.New(opts.Clock, m.SharedLimiter(), opts.Logger),
		roles:          m.Roles(),
		trustedOrigins: map[string]bool{}}
	cop := http.NewCrossOriginProtection()
	for _, o := range opts.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "httpapi: trusted origin %q: %v", o, err)
		}
		h.trustedOrigins[o] = true
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errorf(usermgmt.CodePermissionDenied, "cross-origin request refused"))
	}))
	if err := h.routes(); err != nil {
		return nil, err
	}
	h.handler = cop.Handler(h.sameScheme(http.HandlerFunc(h.serve)))
	return h, nil
}

// ServeHTTP serves the API. No answer may be kept by a cache, whatever
// its status: it is set here, once, before any route or check can answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.handler.ServeHTTP(w, r)
}

// serve routes a request, answering the mux's own 404 and 405 in JSON. A
// pattern put on the mux beside routeTable, which would miss the checks
// of its kind, is never served.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	_, pattern := h.mux.Handler(r)
	if pattern != "" && !h.routed[pattern] {
		h.writeError(w, r, errorf(usermgmt.CodeNotFound, "no such route"))
		return
	}
	if pattern == "" {
		rec := &statusOnly{header: http.Header{}}
		h.mux.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		if rec.status == http.StatusMethodNotAllowed {
			h.writeError(w, r, errorf(CodeMethodNotAllowed, "method not allowed"))
		} else {
			h.writeError(w, r, errorf(usermgmt.CodeNotFound, "no such route"))
		}
		return
	}
	h.mux.ServeHTTP(w, r)
}

// statusOnly records the status and headers the mux gives an unmatched
// request, dropping its text body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

// principal is who makes an admin request.
func (h *Handler) principal(r *http.Request) (usermgmt.Principal, error) {
	if h.opts.Authenticate != nil {
		p, err := h.opts.Authenticate(r)
		if err == nil && (p.UserID == uuid.Nil || p.TenantID == "") {
			err = errorf(usermgmt.CodeUnauthenticated, "not signed in")
		}
		return p, err
	}
	tok := h.sessionToken(r)
	if tok == "" {
		return usermgmt.Principal{}, errorf(usermgmt.CodeUnauthenticated, "not signed in")
	}
	return h.m.Authenticate(r.Context(), tok)
}

// sessionToken reads the bearer token, else the session cookie.
func (h *Handler) sessionToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			return strings.TrimSpace(a[7:])
		}
		return ""
	}
	if c, err := r.Cookie(h.opts.SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

func (h *Handler) actor(r *http.Request, p usermgmt.Principal) usermgmt.Actor {
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	a := p.Actor()
	a.IP, a.UserAgent = h.clientIP(r), ua
	return a
}

// tenant finds the tenant of a login or forgot-password request.
func (h *Handler) tenant(r *http.Request, fromBody string) (string, error) {
	if h.opts.TenantFromRequest != nil {
		t, err := h.opts.TenantFromRequest(r)
		if err != nil {
			var ue *usermgmt.Error
			if errors.As(err, &ue) {
				return "", err
			}
			return "", &usermgmt.Error{Code: usermgmt.CodeInternal, Message: "tenant lookup failed", Err: err}
		}
		if t == "" {
			return "", errorf(usermgmt.CodeInvalid, "no tenant for this request")
		}
		return t, nil
	}
	if fromBody == "" {
		return "", errorf(usermgmt.CodeInvalid, "tenant is required")
	}
	return fromBody, nil
}
