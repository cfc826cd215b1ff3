package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// TestResetMFARoute: POST /users/{id}/mfa-reset clears the user's TOTP and
// ends their sessions (204); an agent may not (403), another tenant's user
// is not found (404), and past SudoWindow the admin is asked to confirm
// (mfa_required) until POST /auth/sudo renews the window.
func TestResetMFARoute(t *testing.T) {
	f := newFixture(t, nil)
	_, admin, secret := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, agent, _ := f.active(t, "acme", "agent@acme.test", usermgmt.RoleAgent)
	ana, anaTok, _ := f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	bob, _, _ := f.active(t, "acme", "bob@acme.test", usermgmt.RoleAgent)
	foreign, _, _ := f.active(t, "globex", "someone@globex.test", usermgmt.RoleAgent)
	reset := func(id, bearer string) req {
		return req{method: "POST", path: "/users/" + id + "/mfa-reset", bearer: bearer}
	}
	mfaOf := func(u usermgmt.User) string {
		t.Helper()
		return decodeBody[httpapi.User](t, f.do(t, req{method: "GET", path: "/users/" + u.ID.String(), bearer: admin})).MFA
	}

	wantError(t, f.do(t, reset(ana.ID.String(), agent)), 403, "permission_denied")
	wantError(t, f.do(t, reset(foreign.ID.String(), admin)), 404, "not_found")
	if mfaOf(ana) != "enabled" {
		t.Fatal("refused resets changed ana")
	}
	if w := f.do(t, reset(ana.ID.String(), admin)); w.Code != 204 || w.Body.Len() != 0 {
		t.Fatalf("reset: %d %s", w.Code, w.Body)
	}
	if got := mfaOf(ana); got != "not enrolled" {
		t.Fatalf("after the reset ana's MFA is %q", got)
	}
	wantError(t, f.do(t, req{method: "GET", path: "/me", bearer: anaTok}), 401, "unauthenticated")
	g, err := f.m.GetUser(usermgmt.AsSystem(context.Background()), "globex", foreign.ID)
	if err != nil || !g.MFAEnabled {
		t.Fatalf("the other tenant's user: %+v %v", g, err)
	}
	// The next sign-in enrols again.
	w := f.do(t, req{method: "POST", path: "/auth/login",
		body: `{"tenant":"acme","email":"ana@acme.test","password":"` + password + `"}`})
	if lr := decodeBody[map[string]any](t, w); w.Code != 200 || lr["status"] != "enrollment_required" {
		t.Fatalf("login after the reset: %d %v", w.Code, lr)
	}

	f.clock.Advance(16 * time.Minute) // the admin's sign-in is older than SudoWindow
	wantError(t, f.do(t, reset(bob.ID.String(), admin)), 401, "mfa_required")
	if mfaOf(bob) != "enabled" {
		t.Fatal("reset outside sudo mode")
	}
	sudo := req{method: "POST", path: "/auth/sudo", body: `{"code":"` + f.code(t, secret) + `"}`, bearer: admin}
	if w := f.do(t, sudo); w.Code != 204 {
		t.Fatalf("sudo: %d %s", w.Code, w.Body)
	}
	if w := f.do(t, reset(bob.ID.String(), admin)); w.Code != 204 {
		t.Fatalf("reset after sudo: %d %s", w.Code, w.Body)
	}
	if mfaOf(bob) != "not enrolled" {
		t.Fatal("bob still enrolled after the confirmed reset")
	}
}
