package httpapi_test

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"

	"github.com/usermgmt/usermgmt/httpapi"
)

// TestOriginOfAnotherSchemeIsRefused: http.CrossOriginProtection compares
// an Origin with the Host only, so http://app.example.com passed as the
// same origin as https://app.example.com. A browser without Sec-Fetch-Site
// sends only Origin; then the scheme must match the request's too. The
// request's scheme is https over TLS, and also without TLS unless
// Options.Insecure: the handler's Secure __Host- cookies only work on
// https, so a plain-HTTP request has come through a TLS-terminating proxy.
func TestOriginOfAnotherSchemeIsRefused(t *testing.T) {
	logout := func(t *testing.T, f *fixture, origin string, overTLS bool) int {
		t.Helper()
		r := httptest.NewRequest("POST", "/auth/logout", nil)
		r.Header.Set("Origin", origin)
		if overTLS {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code == 403 {
			wantError(t, w, 403, "permission_denied")
		}
		return w.Code
	}
	secure := newFixture(t, nil)
	insecure := newFixture(t, func(o *httpapi.Options) { o.Insecure = true })
	trusted := newFixture(t, func(o *httpapi.Options) { o.TrustedOrigins = []string{"http://example.com"} })
	for _, c := range []struct {
		name    string
		f       *fixture
		origin  string
		overTLS bool
		want    int
	}{
		{"HTTPOriginToTLSIsRefused", secure, "http://example.com", true, 403},
		{"HTTPOriginBehindAProxyIsRefused", secure, "http://example.com", false, 403},
		{"HTTPSOriginToTLSPasses", secure, "https://example.com", true, 204},
		{"HTTPSOriginBehindAProxyPasses", secure, "https://example.com", false, 204},
		{"InsecureHTTPSOriginToHTTPIsRefused", insecure, "https://example.com", false, 403},
		{"InsecureHTTPOriginToTLSIsRefused", insecure, "http://example.com", true, 403},
		{"InsecureHTTPOriginToHTTPPasses", insecure, "http://example.com", false, 204},
		{"InsecureHTTPSOriginToTLSPasses", insecure, "https://example.com", true, 204},
		{"TrustedOriginPasses", trusted, "http://example.com", true, 204},
		{"OtherHostIsStillRefused", secure, "https://evil.example", true, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := logout(t, c.f, c.origin, c.overTLS); got != c.want {
				t.Fatalf("POST with Origin %s (TLS %v): %d, want %d", c.origin, c.overTLS, got, c.want)
			}
		})
	}
	t.Run("SafeMethodsPass", func(t *testing.T) {
		w := secure.do(t, req{method: "GET", path: "/roles", header: map[string]string{"Origin": "http://example.com"}})
		if w.Code != 401 {
			t.Fatalf("GET with an http Origin: %d, want 401 (not signed in)", w.Code)
		}
	})
}
