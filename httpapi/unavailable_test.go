package httpapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
)

// TestUnavailableIs503WithRetryAfter: when the database cannot be reached
// (a real driver failing on a port nobody listens on), a person route and a
// signed-in route answer 503 unavailable with Retry-After, and none is
// logged as an internal error (the shared limiter's fallback may warn).
func TestUnavailableIs503WithRetryAfter(t *testing.T) {
	f := newFixture(t, nil)
	_, token, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	m, err := usermgmt.New(pgtest.Unreachable(t), usermgmt.Options{Mailer: mailertest.New(), SecretKey: bytes.Repeat([]byte{7}, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewHandler(m, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.serve(t, h)
	for _, r := range []req{
		{method: "POST", path: "/auth/login", body: loginBody("admin@acme.test", password)},
		{method: "GET", path: "/me", bearer: token},
		{method: "GET", path: "/users", bearer: token},
	} {
		w := f.do(t, r)
		wantError(t, w, http.StatusServiceUnavailable, string(usermgmt.CodeUnavailable))
		if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("%s %s: Retry-After = %q", r.method, r.path, ra)
		}
	}
	if logs := f.logs.String(); strings.Contains(logs, "internal error") {
		t.Errorf("logged as internal: %s", logs)
	}
}
