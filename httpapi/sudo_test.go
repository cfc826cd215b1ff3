package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// Sudo mode over HTTP: the admin's session may grant tenant_admin while
// fresh; past SudoWindow it answers mfa_required until POST /auth/sudo
// with a code renews the session's window.
func TestSudoRoute(t *testing.T) {
	f := newFixture(t, nil)
	_, admin, secret := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	ana, _, _ := f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	grant := func() *http.Response {
		return f.do(t, req{method: "PUT", path: "/users/" + ana.ID.String() + "/roles/tenant_admin", bearer: admin}).Result()
	}
	sudo := func(body, bearer string, cookies ...*http.Cookie) *http.Response {
		return f.do(t, req{method: "POST", path: "/auth/sudo", body: body, bearer: bearer, cookies: cookies}).Result()
	}

	if res := grant(); res.StatusCode != 200 {
		t.Fatalf("grant from a fresh session: %d", res.StatusCode)
	}
	f.clock.Advance(15 * time.Minute)
	wantError(t, f.do(t, req{method: "PUT", path: "/users/" + ana.ID.String() + "/roles/tenant_admin", bearer: admin}), 401, "mfa_required")
	wantError(t, f.do(t, req{method: "POST", path: "/users/invitations", bearer: admin,
		body: `{"email":"boss@acme.test","roles":["tenant_admin"]}`}), 401, "mfa_required")

	t.Run("Refusals", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/auth/sudo", body: `{"code":"000000"}`}), 401, "unauthenticated")
		wantError(t, f.do(t, req{method: "POST", path: "/auth/sudo", body: `{"code":"000000"}`, bearer: "ums_nope"}), 401, "unauthenticated")
		wantError(t, f.do(t, req{method: "POST", path: "/auth/sudo", bearer: admin}), 400, "invalid")
		wantError(t, f.do(t, req{method: "POST", path: "/auth/sudo", body: `{"code":"000000"}`, bearer: admin}), 401, "unauthenticated")
		wantError(t, f.do(t, req{method: "GET", path: "/auth/sudo", bearer: admin}), 405, "method_not_allowed")
		if res := grant(); res.StatusCode != 401 {
			t.Fatalf("grant after a wrong code: %d", res.StatusCode)
		}
	})

	res := sudo(`{"code":"`+f.code(t, secret)+`"}`, admin)
	if res.StatusCode != 204 || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("sudo: %d %v", res.StatusCode, res.Header)
	}
	if res := grant(); res.StatusCode != 200 {
		t.Fatalf("grant after sudo: %d", res.StatusCode)
	}

	t.Run("SessionCookie", func(t *testing.T) {
		f.clock.Advance(15 * time.Minute)
		cookie := &http.Cookie{Name: "__Host-usermgmt_session", Value: admin}
		if res := sudo(`{"code":"`+f.code(t, secret)+`"}`, "", cookie); res.StatusCode != 204 {
			t.Fatalf("sudo with the session cookie: %d", res.StatusCode)
		}
		w := f.do(t, req{method: "POST", path: "/users/invitations", cookies: []*http.Cookie{cookie},
			body: `{"email":"boss@acme.test","roles":["tenant_admin"]}`})
		if w.Code != 201 {
			t.Fatalf("invite a tenant_admin after sudo: %d %s", w.Code, w.Body)
		}
	})
}

// A host with sessions of its own vouches with Principal.VerifiedAt:
// zero is never, so the Manager answers mfa_required (fail closed).
func TestSudoWithHostSessions(t *testing.T) {
	var verified time.Time
	var boss usermgmt.User
	f := newFixture(t, func(o *httpapi.Options) {
		o.Authenticate = func(*http.Request) (usermgmt.Principal, error) {
			return usermgmt.Principal{UserID: boss.ID, TenantID: "acme", VerifiedAt: verified}, nil
		}
	})
	boss, _, _ = f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	ana, _, _ := f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	grant := req{method: "PUT", path: "/users/" + ana.ID.String() + "/roles/tenant_admin"}

	wantError(t, f.do(t, grant), 401, "mfa_required")
	verified = f.clock.Now().Add(-16 * time.Minute)
	wantError(t, f.do(t, grant), 401, "mfa_required")
	verified = f.clock.Now().Add(-time.Minute)
	if w := f.do(t, grant); w.Code != 200 {
		t.Fatalf("grant vouched by the host: %d %s", w.Code, w.Body)
	}
}
