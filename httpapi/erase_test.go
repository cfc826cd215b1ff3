package httpapi_test

import (
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// TestEraseRoute: POST /users/{id}/erase erases the user (204): the user
// answers with "erased": true and a placeholder email, and the activity
// log names what the user did as "Erased user". An hr_admin may not (403),
// nor an admin on themselves (403); another tenant's user is not found
// (404), and past SudoWindow the admin is asked to confirm (mfa_required).
func TestEraseRoute(t *testing.T) {
	f := newFixture(t, nil)
	admin, adminTok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, hrTok, _ := f.active(t, "acme", "hr@acme.test", usermgmt.RoleHRAdmin)
	ana, anaTok, _ := f.active(t, "acme", "ana@acme.test", usermgmt.RoleHRAdmin)
	bob, _, _ := f.active(t, "acme", "bob@acme.test", usermgmt.RoleAgent)
	foreign, _, _ := f.active(t, "globex", "someone@globex.test", usermgmt.RoleAgent)
	erase := func(id, bearer string) req {
		return req{method: "POST", path: "/users/" + id + "/erase", bearer: bearer}
	}
	get := func(u usermgmt.User) httpapi.User {
		t.Helper()
		return decodeBody[httpapi.User](t, f.do(t, req{method: "GET", path: "/users/" + u.ID.String(), bearer: adminTok}))
	}
	if w := f.do(t, req{method: "PUT", path: "/users/" + bob.ID.String() + "/roles/supervisor", bearer: anaTok}); w.Code != 200 {
		t.Fatalf("ana grants bob a role: %d %s", w.Code, w.Body)
	}

	wantError(t, f.do(t, erase(bob.ID.String(), hrTok)), 403, "permission_denied")
	wantError(t, f.do(t, erase(admin.ID.String(), adminTok)), 403, "permission_denied")
	wantError(t, f.do(t, erase(foreign.ID.String(), adminTok)), 404, "not_found")
	if u := get(ana); u.Erased || u.Email != "ana@acme.test" {
		t.Fatalf("refused erasures changed ana: %+v", u)
	}
	if w := f.do(t, erase(ana.ID.String(), adminTok)); w.Code != 204 || w.Body.Len() != 0 {
		t.Fatalf("erase: %d %s", w.Code, w.Body)
	}
	u := get(ana)
	if !u.Erased || u.Email != usermgmt.ErasedEmail(ana.ID) || u.Status != usermgmt.StatusDeactivated ||
		len(u.AllowedActions) != 1 || u.AllowedActions[0] != usermgmt.ActionReadActivity {
		t.Fatalf("after the erasure: %+v", u)
	}
	wantError(t, f.do(t, req{method: "GET", path: "/me", bearer: anaTok}), 401, "unauthenticated")
	log := decodeBody[httpapi.ActivityPage](t, f.do(t, req{method: "GET", path: "/users/" + bob.ID.String() + "/activity",
		bearer: adminTok}))
	var byAna *httpapi.Event
	for i := range log.Events {
		if e := &log.Events[i]; e.ActorID != nil && *e.ActorID == ana.ID {
			byAna = e
		}
	}
	if byAna == nil || byAna.ActorName != "Erased user" || byAna.ActorEmail != "" || byAna.IP != "" {
		t.Fatalf("what ana did, after the erasure: %+v", byAna)
	}

	f.clock.Advance(16 * time.Minute) // the admin's sign-in is older than SudoWindow
	wantError(t, f.do(t, erase(bob.ID.String(), adminTok)), 401, "mfa_required")
	if get(bob).Erased {
		t.Fatal("erased outside sudo mode")
	}
}
