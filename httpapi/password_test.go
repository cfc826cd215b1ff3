package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/usermgmt/usermgmt"
)

func passwordBody(current, next string) string {
	return `{"current_password":"` + current + `","new_password":"` + next + `"}`
}

// TestChangePassword: POST /auth/password changes the caller's password
// with the current one, keeps the calling session and ends the others.
func TestChangePassword(t *testing.T) {
	f := newFixture(t, nil)
	u, here, secret := f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	w := f.do(t, req{method: "POST", path: "/auth/login", body: loginBody(u.Email, password)})
	challenge := decodeBody[struct {
		Challenge string `json:"challenge"`
	}](t, w).Challenge
	w = f.do(t, req{method: "POST", path: "/auth/mfa", body: `{"challenge":"` + challenge + `","code":"` + f.code(t, secret) + `"}`})
	elsewhere := cookieByName(w.Result().Cookies(), "__Host-usermgmt_session")
	if w.Code != 200 || elsewhere == nil {
		t.Fatalf("second sign-in: %d %s", w.Code, w.Body)
	}
	const next = "a brand new passphrase"

	t.Run("NoSessionIs401", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/auth/password", body: passwordBody(password, next)}), 401, "unauthenticated")
	})
	t.Run("WrongCurrentIs401", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/auth/password", body: passwordBody("not my password", next), bearer: here}),
			401, "unauthenticated")
	})
	t.Run("PolicyIs400", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/auth/password", body: passwordBody(password, "short"), bearer: here}),
			400, "invalid")
	})
	t.Run("UnknownFieldIs400", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/auth/password", body: `{"password":"x"}`, bearer: here}), 400, "invalid")
	})
	t.Run("ChangedIs204", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: "/auth/password", body: passwordBody(password, next), bearer: here})
		if w.Code != http.StatusNoContent || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("change: %d %q %s", w.Code, w.Header().Get("Cache-Control"), w.Body)
		}
		if w := f.do(t, req{method: "GET", path: "/me", bearer: here}); w.Code != 200 {
			t.Fatalf("the calling session ended: %d %s", w.Code, w.Body)
		}
		wantError(t, f.do(t, req{method: "GET", path: "/me", cookies: []*http.Cookie{elsewhere}}), 401, "unauthenticated")
		wantError(t, f.do(t, req{method: "POST", path: "/auth/login", body: loginBody(u.Email, password)}), 401, "unauthenticated")
		if w := f.do(t, req{method: "POST", path: "/auth/login", body: loginBody(u.Email, next)}); w.Code != 200 {
			t.Fatalf("login with the new password: %d %s", w.Code, w.Body)
		}
	})
}
