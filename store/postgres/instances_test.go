package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/scim"
)

// Two app instances behind a load balancer: two Managers on two pools
// over one schema (twoManagers), each with its own httpapi handler. What
// one instance counts, the other sees.

type apis struct {
	*instances
	a, b    http.Handler
	secrets sync.Map // email → TOTP secret, of signUp
}

// twoAPIs returns the two instances with a handler each, the rate limits
// given, and wrap around each instance's store (as twoManagers).
func twoAPIs(t *testing.T, limits httpapi.RateLimits, log *slog.Logger, wrap ...func(usermgmt.Store) usermgmt.Store) *apis {
	t.Helper()
	in := twoManagers(t, wrap...)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	handler := func(m *usermgmt.Manager) http.Handler {
		h, err := httpapi.NewHandler(m, httpapi.Options{Insecure: true, ReturnTokens: true, RateLimits: limits,
			Clock: in.clock.Now, Logger: log})
		require.NoError(t, err)
		return h
	}
	return &apis{instances: in, a: handler(in.one), b: handler(in.two)}
}

// call sends a JSON request from ip to h, with token as the bearer when
// it is not empty, and decodes a 2xx answer into out when out is not nil.
func call(t *testing.T, h http.Handler, ip, method, path, token string, body, out any) *httptest.ResponseRecorder {
	t.Helper()
	var buf bytes.Buffer
	if body != nil {
		require.NoError(t, json.NewEncoder(&buf).Encode(body))
	}
	r := httptest.NewRequest(method, path, &buf)
	r.RemoteAddr = ip + ":40000"
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if out != nil && w.Code/100 == 2 {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), out), w.Body.String())
	}
	return w
}

// wrongLogins signs in n times with a wrong password, alternating between
// the instances, each from ip and email of its own when given by the
// functions; it returns the statuses.
func (x *apis) wrongLogins(t *testing.T, n int, ip, email func(i int) string) []int {
	t.Helper()
	codes := make([]int, n)
	for i := range n {
		h := x.a
		if i%2 == 1 {
			h = x.b
		}
		w := call(t, h, ip(i), "POST", "/auth/login", "",
			httpapi.LoginRequest{Tenant: "acme", Email: email(i), Password: "not the password at all"}, nil)
		codes[i] = w.Code
		if w.Code == http.StatusTooManyRequests {
			assert.NotEmpty(t, w.Header().Get("Retry-After"))
		}
	}
	return codes
}

func statuses(first, firstN, rest, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = rest
		if i < firstN {
			s[i] = first
		}
	}
	return s
}

// TestRateLimitsHoldAcrossInstances: sign-in attempts that alternate
// between two instances stop at each limit once, not once per instance:
// the per-account limit (one email from many addresses), the per-IP limit
// (many emails from one address), and a provisioning token's limit on
// SCIM.
func TestRateLimitsHoldAcrossInstances(t *testing.T) {
	const n = 10
	t.Run("PerAccount", func(t *testing.T) {
		x := twoAPIs(t, httpapi.RateLimits{PerIP: httpapi.Limit{Burst: 100, Per: time.Hour},
			PerAccount: httpapi.Limit{Burst: 4, Per: time.Hour}}, nil)
		codes := x.wrongLogins(t, n, func(i int) string { return "198.51.100." + strconv.Itoa(i+1) },
			func(int) string { return "ana@acme.test" })
		assert.Equal(t, statuses(http.StatusUnauthorized, 4, http.StatusTooManyRequests, n), codes)
		x.clock.Advance(15 * time.Minute) // one token back (4 per hour), on both
		codes = x.wrongLogins(t, 2, func(int) string { return "198.51.100.99" }, func(int) string { return "ANA@acme.test " })
		assert.Equal(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, codes)
	})
	t.Run("PerIP", func(t *testing.T) {
		x := twoAPIs(t, httpapi.RateLimits{PerIP: httpapi.Limit{Burst: 3, Per: time.Hour},
			PerAccount: httpapi.Limit{Burst: 100, Per: time.Hour}}, nil)
		codes := x.wrongLogins(t, n, func(int) string { return "203.0.113.9" },
			func(i int) string { return "user" + strconv.Itoa(i) + "@acme.test" })
		assert.Equal(t, statuses(http.StatusUnauthorized, 3, http.StatusTooManyRequests, n), codes)
		codes = x.wrongLogins(t, 1, func(int) string { return "203.0.113.10" }, func(int) string { return "other@acme.test" })
		assert.Equal(t, []int{http.StatusUnauthorized}, codes, "another address has its own bucket")
	})
	t.Run("SCIMPerToken", func(t *testing.T) {
		in := twoManagers(t)
		_, secret, err := in.one.CreateProvisioningToken(usermgmt.AsSystem(context.Background()), "acme", "Okta")
		require.NoError(t, err)
		opts := scim.Options{RateLimit: scim.RateLimit{PerSecond: 0.001, Burst: 3}, Clock: in.clock.Now,
			Logger: slog.New(slog.DiscardHandler)}
		hs := []http.Handler{scim.New(in.one, opts), scim.New(in.two, opts)}
		codes := make([]int, 8)
		for i := range codes {
			codes[i] = call(t, hs[i%2], "192.0.2.1", "GET", "/Users", secret, nil, nil).Code
		}
		assert.Equal(t, statuses(http.StatusOK, 3, http.StatusTooManyRequests, 8), codes)
	})
}

// downLimiter is a store whose shared limiter fails, as when the
// database is unreachable for that one statement.
type downLimiter struct{ usermgmt.Store }

func (downLimiter) Allow(context.Context, string, int, time.Duration, time.Time) (bool, time.Duration, error) {
	return false, 0, usermgmt.Errorf(usermgmt.CodeInternal, "postgres: connection refused")
}

// TestFailedSharedLimiterFallsBackToTheInstance: when the shared limiter
// fails, a limit check neither answers 500 nor lets everything through:
// each instance's own buckets decide, and the failure is logged.
func TestFailedSharedLimiterFallsBackToTheInstance(t *testing.T) {
	var logged testlog.Buffer
	x := twoAPIs(t, httpapi.RateLimits{PerIP: httpapi.Limit{Burst: 100, Per: time.Hour},
		PerAccount: httpapi.Limit{Burst: 2, Per: time.Hour}}, slog.New(slog.NewTextHandler(&logged, nil)),
		func(s usermgmt.Store) usermgmt.Store { return downLimiter{s} })
	require.NotNil(t, x.one.SharedLimiter())
	codes := x.wrongLogins(t, 6, func(int) string { return "192.0.2.7" }, func(int) string { return "ana@acme.test" })
	// Two per instance, as with no shared limiter at all.
	assert.Equal(t, statuses(http.StatusUnauthorized, 4, http.StatusTooManyRequests, 6), codes)
	assert.Contains(t, logged.String(), "connection refused")
}

// TestSeedJourneyAcrossInstances walks the seed's journey over HTTP with
// its steps alternating between two instances, as a load balancer sends
// them: invite, accept, enrol TOTP, sign in with a code, an admin grants
// a role, forces a logout, deactivates. The invitation's first delivery
// fails on one instance and the other's outbox worker sends it; the
// lockout, revocations and sessions are the database's, so every step
// sees the one before it, whichever instance served it.
func TestSeedJourneyAcrossInstances(t *testing.T) {
	x := twoAPIs(t, httpapi.RateLimits{}, nil)
	const ip = "192.0.2.10"
	ctx := usermgmt.AsSystem(context.Background())

	// The host's set-up code invites the first tenant_admin, who
	// accepts on A and enrols on B.
	_, err := x.one.InviteUser(ctx, "acme", usermgmt.Invite{Email: "boss@acme.test", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
	require.NoError(t, err)
	admin := x.signUp(t, x.a, x.b, "boss@acme.test")

	// The admin invites ana on B; that first delivery fails, and A's
	// outbox worker delivers it once it is due.
	x.mail.FailNext(errors.New("smtp: 421 try later"))
	var ana httpapi.User
	w := call(t, x.b, ip, "POST", "/users/invitations", admin, httpapi.InviteRequest{Email: "ana@acme.test",
		Roles: []usermgmt.Role{usermgmt.RoleAgent}}, &ana)
	require.Equal(t, http.StatusBadGateway, w.Code, w.Body.String())
	require.Empty(t, x.mail.Token("ana@acme.test"))
	w = call(t, x.a, ip, "GET", "/users?q=ana", admin, nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	var list struct {
		Users []httpapi.User `json:"users"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &list))
	require.Len(t, list.Users, 1, "the invitation was saved")
	ana = list.Users[0]
	assert.Equal(t, usermgmt.StatusInvited, ana.Status)
	x.clock.Advance(2 * time.Minute) // past the retry delay, within the admin's idle timeout
	d, err := x.one.DeliverPending(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, d.Sent)

	// ana accepts on B and enrols on A; then signs in: password on B,
	// code on A.
	anaSession := x.signUp(t, x.b, x.a, "ana@acme.test")
	x.clock.Advance(30 * time.Second) // the enrolment's code step is spent
	var res httpapi.AuthResult
	w = call(t, x.b, ip, "POST", "/auth/login", "", httpapi.LoginRequest{Tenant: "acme", Email: "ana@acme.test", Password: pw}, &res)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, httpapi.StatusMFARequired, res.Status)
	w = call(t, x.a, ip, "POST", "/auth/mfa", "", httpapi.MFARequest{Challenge: res.Challenge, Code: x.code(t, x.secret(t, "ana@acme.test"))}, &res)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	session := res.Session
	var me httpapi.Me
	require.Equal(t, http.StatusOK, call(t, x.b, ip, "GET", "/me", session.Token, nil, &me).Code)
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, me.User.Roles)

	// The admin grants supervisor on A; ana's refresh on B carries it.
	w = call(t, x.a, ip, "PUT", "/users/"+ana.ID.String()+"/roles/supervisor", admin, nil, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = call(t, x.b, ip, "POST", "/auth/refresh", "", httpapi.RefreshRequest{RefreshToken: session.RefreshToken}, &res)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	session = res.Session
	require.Equal(t, http.StatusOK, call(t, x.a, ip, "GET", "/me", session.Token, nil, &me).Code)
	assert.ElementsMatch(t, []usermgmt.Role{usermgmt.RoleAgent, usermgmt.RoleSupervisor}, me.User.Roles)

	// Force logout on B ends ana's sessions on A at once, the first one
	// from enrolment too.
	w = call(t, x.b, ip, "POST", "/users/"+ana.ID.String()+"/logout", admin, nil, nil)
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	for _, tok := range []string{session.Token, anaSession} {
		assert.Equal(t, http.StatusUnauthorized, call(t, x.a, ip, "GET", "/me", tok, nil, nil).Code)
	}
	w = call(t, x.a, ip, "POST", "/auth/refresh", "", httpapi.RefreshRequest{RefreshToken: session.RefreshToken}, nil)
	assert.Equal(t, http.StatusUnauthorized, w.Code)

	// Deactivation on A: ana's password no longer signs her in on B.
	w = call(t, x.a, ip, "POST", "/users/"+ana.ID.String()+"/deactivate", admin, nil, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = call(t, x.b, ip, "POST", "/auth/login", "", httpapi.LoginRequest{Tenant: "acme", Email: "ana@acme.test", Password: pw}, nil)
	assert.Equal(t, http.StatusUnauthorized, w.Code)

	// B's activity log has every step, whichever instance wrote it.
	var page httpapi.ActivityPage
	require.Equal(t, http.StatusOK, call(t, x.b, ip, "GET", "/users/"+ana.ID.String()+"/activity?limit=50", admin, nil, &page).Code)
	seen := map[usermgmt.EventType]bool{}
	for _, e := range page.Events {
		seen[e.Type] = true
	}
	for _, want := range []usermgmt.EventType{usermgmt.EventInvited, usermgmt.EventInviteAccepted, usermgmt.EventMFAEnrolled,
		usermgmt.EventLoginSucceeded, usermgmt.EventMFAVerified, usermgmt.EventRoleGranted, usermgmt.EventSessionsRevoked,
		usermgmt.EventDeactivated, usermgmt.EventLoginFailed} {
		assert.True(t, seen[want], "%s missing from %v", want, page.Events)
	}
}

// signUp accepts email's invitation (from the mail) on one handler and
// enrols TOTP on the other; it returns the session token, and keeps the
// secret for x.secret.
func (x *apis) signUp(t *testing.T, accept, enrol http.Handler, email string) string {
	t.Helper()
	var res httpapi.AuthResult
	w := call(t, accept, "192.0.2.10", "POST", "/invitations/accept", "", httpapi.AcceptRequest{Token: x.mail.Token(email), Password: pw}, &res)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.NotNil(t, res.Enrollment)
	x.secrets.Store(email, res.Enrollment.Secret)
	w = call(t, enrol, "192.0.2.10", "POST", "/invitations/mfa", "", httpapi.EnrollRequest{Token: res.Enrollment.Token,
		Code: x.code(t, res.Enrollment.Secret)}, &res)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	return res.Session.Token
}

func (x *apis) secret(t *testing.T, email string) string {
	t.Helper()
	s, ok := x.secrets.Load(email)
	require.True(t, ok)
	return s.(string)
}
