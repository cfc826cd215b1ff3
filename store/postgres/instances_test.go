package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/usermgmt/usermgmt/scim"
)

// Two app instances behind a load balancer: two Managers on two pools
// over one schema (twoManagers), each with its own httpapi handler. What
// one instance counts, the other sees.

type apis struct {
	*instances
	a, b http.Handler
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFailedSharedLimiterFallsBackToTheInstance: when the shared limiter
// fails, a limit check neither answers 500 nor lets everything through:
// each instance's own buckets decide, and the failure is logged.
func TestFailedSharedLimiterFallsBackToTheInstance(t *testing.T) {
	var logged syncBuffer
	x := twoAPIs(t, httpapi.RateLimits{PerIP: httpapi.Limit{Burst: 100, Per: time.Hour},
		PerAccount: httpapi.Limit{Burst: 2, Per: time.Hour}}, slog.New(slog.NewTextHandler(&logged, nil)),
		func(s usermgmt.Store) usermgmt.Store { return downLimiter{s} })
	require.NotNil(t, x.one.SharedLimiter())
	codes := x.wrongLogins(t, 6, func(int) string { return "192.0.2.7" }, func(int) string { return "ana@acme.test" })
	// Two per instance, as with no shared limiter at all.
	assert.Equal(t, statuses(http.StatusUnauthorized, 4, http.StatusTooManyRequests, 6), codes)
	assert.Contains(t, logged.String(), "connection refused")
}
