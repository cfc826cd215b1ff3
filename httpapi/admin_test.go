package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// routeExample is a request of a signed-in route that succeeds for a
// caller who holds the route's permission and no other (a tenant_admin,
// for a route only they may call). {id} in path is replaced by the
// target's id, {sid} and {did} by a session and a trusted device of the
// target (of the caller, for a self route).
type routeExample struct {
	path string
	body string
	ok   int
	// target is a user ("invited", "active", "signed-in" with a spare
	// session and device), "token" (a provisioning token), "group" or ""
	// (no {id}).
	target string
	// self: the route serves the caller's own records as trusted code and
	// needs no permission; every other example is of an admin route.
	self bool
}

// routeExamples holds one example for every admin and self route of the
// table, by pattern: TestRouteTable fails for a route without one.
var routeExamples = map[string]routeExample{
	"GET /me":                            {"/me", "", 200, "", true},
	"GET /roles":                         {"/roles", "", 200, "", true},
	"GET /account":                       {"/account", "", 200, "", true},
	"GET /users":                         {"/users?status=invited&role=agent&q=acme&limit=10", "", 200, "", false},
	"GET /users/export":                  {"/users/export?format=jsonl&status=invited&role=agent&q=acme", "", 200, "", false},
	"GET /activity/export":               {"/activity/export?format=csv&from=2026-01-01T00:00:00Z", "", 200, "", false},
	"POST /users/invitations":            {"/users/invitations", `{"email":"fresh@acme.test","roles":["recruiter"]}`, 201, "", false},
	"GET /users/{id}":                    {"/users/{id}", "", 200, "invited", false},
	"POST /users/{id}/invitation/resend": {"/users/{id}/invitation/resend", "", 204, "invited", false},
	"PUT /users/{id}/roles/{role}":       {"/users/{id}/roles/supervisor", "", 200, "invited", false},
	"DELETE /users/{id}/roles/{role}":    {"/users/{id}/roles/supervisor", "", 200, "invited", false},
	"POST /users/{id}/password-reset":    {"/users/{id}/password-reset", "", 204, "active", false},
	"POST /users/{id}/logout":            {"/users/{id}/logout", "", 204, "active", false},
	"GET /users/{id}/activity":           {"/users/{id}/activity?limit=5", "", 200, "active", false},
	"POST /users/{id}/deactivate":        {"/users/{id}/deactivate", "", 200, "active", false},
	"POST /users/{id}/activate":          {"/users/{id}/activate", "", 200, "active", false},
	"POST /users/{id}/mfa-reset":         {"/users/{id}/mfa-reset", "", 204, "active", false},
	"POST /users/{id}/erase":             {"/users/{id}/erase", "", 204, "active", false},
	"POST /users/{id}/unlock":            {"/users/{id}/unlock", "", 200, "active", false},
	"GET /mail/undelivered":              {"/mail/undelivered?limit=10", "", 200, "", false},
	"GET /users/{id}/sessions":           {"/users/{id}/sessions", "", 200, "signed-in", false},
	"DELETE /users/{id}/sessions/{sid}":  {"/users/{id}/sessions/{sid}", "", 204, "signed-in", false},
	"DELETE /users/{id}/devices/{did}":   {"/users/{id}/devices/{did}", "", 204, "signed-in", false},
	"GET /account/sessions":              {"/account/sessions", "", 200, "", true},
	"DELETE /account/sessions/{sid}":     {"/account/sessions/{sid}", "", 204, "", true},
	"DELETE /account/devices/{did}":      {"/account/devices/{did}", "", 204, "", true},
	"GET /provisioning/tokens":           {"/provisioning/tokens", "", 200, "", false},
	"POST /provisioning/tokens":          {"/provisioning/tokens", `{"name":"Okta"}`, 201, "", false},
	"DELETE /provisioning/tokens/{id}":   {"/provisioning/tokens/{id}", "", 204, "token", false},
	"GET /groups":                        {"/groups?offset=0&limit=10", "", 200, "", false},
	"PUT /groups/{id}/roles":             {"/groups/{id}/roles", `{"roles":["supervisor","agent"]}`, 200, "group", false},
}

// TestRouteTable: the mux serves exactly the table's routes; an admin route
// names the permission it needs, no other kind names one, every signed-in
// route has an example for TestAdminRoutes, and no admin route turns into a
// self route (which runs as trusted code) or a person route (no session).
func TestRouteTable(t *testing.T) {
	f := newFixture(t, nil)
	routes := httpapi.Routes()
	var table []string
	for _, rt := range routes {
		table = append(table, rt.Pattern())
		switch rt.Kind {
		case "admin":
			if rt.TenantAdmin && rt.Permission != "" {
				t.Errorf("admin route %s is for tenant admins, yet names permission %q", rt.Pattern(), rt.Permission)
			} else if !rt.TenantAdmin && !slices.Contains(usermgmt.AllPermissions(), rt.Permission) {
				t.Errorf("admin route %s needs permission %q, which is none of the Manager's", rt.Pattern(), rt.Permission)
			}
		case "self", "person", "redeem":
			if rt.Permission != "" || rt.TenantAdmin {
				t.Errorf("%s route %s names permission %q (tenant admins only: %v), which it does not check",
					rt.Kind, rt.Pattern(), rt.Permission, rt.TenantAdmin)
			}
		default:
			t.Errorf("route %s has kind %q", rt.Pattern(), rt.Kind)
		}
		if _, ok := routeExamples[rt.Pattern()]; (rt.Kind == "admin" || rt.Kind == "self") && !ok {
			t.Errorf("route %s has no example in routeExamples", rt.Pattern())
		}
	}
	served := httpapi.Patterns(f.api)
	if !slices.Equal(served, table) {
		t.Errorf("the mux serves %v\nthe table lists %v", served, table)
	}
	for p, ex := range routeExamples {
		i := slices.Index(table, p)
		switch {
		case i < 0:
			t.Errorf("example of %s, which is not in the table", p)
		case ex.self && routes[i].Kind != "self":
			t.Errorf("%s is a self route, the table makes it %s", p, routes[i].Kind)
		case !ex.self && routes[i].Kind != "admin":
			t.Errorf("%s is an admin route, the table makes it %s", p, routes[i].Kind)
		}
	}
	if !slices.Contains(table, "GET /mail/undelivered") {
		t.Error("GET /mail/undelivered is not in the table")
	}
	t.Run("APatternBesideTheTableIsNotServed", func(t *testing.T) {
		_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
		called := false
		httpapi.HandleBeside(f.api, "GET /mail/count", func(http.ResponseWriter, *http.Request) { called = true })
		wantError(t, f.do(t, req{method: "GET", path: "/mail/count", bearer: tok}), 404, "not_found")
		if called {
			t.Fatal("the handler beside the table ran")
		}
	})
}

// TestAdminRoutes walks every signed-in route of the table. Each refuses a
// request without a session (401); an admin route refuses a caller whose
// roles grant every permission but its own (403), and serves one whose
// roles grant its permission alone; a route for tenant admins refuses a
// caller whose roles grant every permission (hr_admin) and serves a
// tenant_admin; a route on a user, token or group refuses another
// tenant's as not found and a malformed id as invalid.
func TestAdminRoutes(t *testing.T) {
	catalogue := usermgmt.DefaultRoles()
	only := func(p usermgmt.Permission) usermgmt.Role {
		return usermgmt.Role("only_" + strings.ReplaceAll(string(p), ".", "_"))
	}
	without := func(p usermgmt.Permission) usermgmt.Role {
		return usermgmt.Role("without_" + strings.ReplaceAll(string(p), ".", "_"))
	}
	for _, p := range usermgmt.AllPermissions() {
		others := slices.DeleteFunc(usermgmt.AllPermissions(), func(q usermgmt.Permission) bool { return q == p })
		catalogue = append(catalogue,
			usermgmt.RoleDef{Name: only(p), Permissions: []usermgmt.Permission{p}},
			usermgmt.RoleDef{Name: without(p), Permissions: others})
	}
	f := newFixtureRoles(t, catalogue, nil)
	f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, agent, agentSecret := f.active(t, "acme", "agent@acme.test", usermgmt.RoleAgent)
	onlyTok, withoutTok := map[usermgmt.Permission]string{}, map[usermgmt.Permission]string{}
	for _, p := range usermgmt.AllPermissions() {
		_, onlyTok[p], _ = f.active(t, "acme", string(only(p))+"@acme.test", only(p))
		_, withoutTok[p], _ = f.active(t, "acme", string(without(p))+"@acme.test", without(p))
	}
	invited := f.invite(t, "acme", "invited@acme.test", usermgmt.RoleRecruiter)
	act, _, _ := f.active(t, "acme", "active@acme.test", usermgmt.RoleSupervisor)
	foreign := f.invite(t, "globex", "someone@globex.test", usermgmt.RoleAgent)
	signed, _, signedSecret := f.active(t, "acme", "signed-in@acme.test", usermgmt.RoleSupervisor)
	// A spare session and trusted device each, of the "signed-in" target
	// and of the caller of the self routes, for the routes that end one.
	spare := func(email, secret string) (sid, did string) {
		s := f.signIn(t, "acme", email, secret, uaChromeMac, true)
		return s.id.String(), f.sessions(t, "/account/sessions", s.token).Devices[0].ID.String()
	}
	signedSID, signedDID := spare(signed.Email, signedSecret)
	agentSID, agentDID := spare("agent@acme.test", agentSecret)
	_, hrAdmin, _ := f.active(t, "acme", "hr@acme.test", usermgmt.RoleHRAdmin)
	f.clock.Advance(2 * time.Minute)                                                     // past the mail interval of the invitations
	_, tenantAdmin, _ := f.active(t, "acme", "boss@acme.test", usermgmt.RoleTenantAdmin) // in sudo mode: just signed in
	// A provisioning token and a group, of acme and of globex, made when a
	// route first needs them: only those routes fail while they cannot be.
	var tokens, groups [2]uuid.UUID
	other := func(t *testing.T, kind string) (own, foreign string) {
		t.Helper()
		ids := &tokens
		if kind == "group" {
			ids = &groups
		}
		if ids[0] == uuid.Nil {
			for i, tenant := range []string{"acme", "globex"} {
				ids[i] = f.provisioned(t, kind, tenant)
			}
		}
		return ids[0].String(), ids[1].String()
	}

	walked := 0
	for _, rt := range httpapi.Routes() {
		if rt.Kind != "admin" && rt.Kind != "self" {
			continue
		}
		ex, ok := routeExamples[rt.Pattern()]
		if !ok {
			t.Errorf("route %s has no example in routeExamples", rt.Pattern())
			continue
		}
		walked++
		sid, did := signedSID, signedDID
		if ex.self {
			sid, did = agentSID, agentDID
		}
		path := func(id string) string {
			return strings.NewReplacer("{id}", id, "{sid}", sid, "{did}", did).Replace(ex.path)
		}
		target, foreignID := invited.ID.String(), foreign.ID.String()
		t.Run(rt.Method+" "+strings.TrimPrefix(rt.Path, "/"), func(t *testing.T) {
			switch ex.target {
			case "active":
				target = act.ID.String()
			case "signed-in":
				target = signed.ID.String()
			case "token", "group":
				target, foreignID = other(t, ex.target)
			}
			t.Run("WithoutSessionIs401", func(t *testing.T) {
				wantError(t, f.do(t, req{method: rt.Method, path: path(target), body: ex.body}), 401, "unauthenticated")
			})
			t.Run("GarbageTokenIs401", func(t *testing.T) {
				w := f.do(t, req{method: rt.Method, path: path(target), body: ex.body, bearer: "ums_nope"})
				wantError(t, w, 401, "unauthenticated")
			})
			caller := agent
			if rt.Kind == "admin" {
				t.Run("WithoutAnyPermissionIs403", func(t *testing.T) {
					w := f.do(t, req{method: rt.Method, path: path(target), body: ex.body, bearer: agent})
					wantError(t, w, 403, "permission_denied")
				})
				if rt.TenantAdmin {
					t.Run("WithEveryPermissionButNotTenantAdminIs403", func(t *testing.T) {
						w := f.do(t, req{method: rt.Method, path: path(target), body: ex.body, bearer: hrAdmin})
						wantError(t, w, 403, "permission_denied")
					})
					caller = tenantAdmin
				} else {
					t.Run("WithEveryOtherPermissionIs403", func(t *testing.T) {
						w := f.do(t, req{method: rt.Method, path: path(target), body: ex.body, bearer: withoutTok[rt.Permission]})
						wantError(t, w, 403, "permission_denied")
					})
					caller = onlyTok[rt.Permission]
				}
			}
			t.Run("SucceedsWithItsPermissionAlone", func(t *testing.T) {
				w := f.do(t, req{method: rt.Method, path: path(target), body: ex.body, bearer: caller})
				if w.Code != ex.ok {
					t.Fatalf("status = %d, want %d: %s", w.Code, ex.ok, w.Body)
				}
				ct := w.Header().Get("Content-Type")
				attachment := strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment;") // an export
				if ex.ok != 204 && !strings.HasPrefix(ct, "application/json") && !(attachment && strings.HasPrefix(ct, "text/csv")) {
					t.Fatalf("Content-Type = %q", ct)
				}
				if w.Header().Get("Cache-Control") != "no-store" {
					t.Fatalf("Cache-Control = %q", w.Header().Get("Cache-Control"))
				}
			})
			if ex.target != "" {
				t.Run("OtherTenantsIs404", func(t *testing.T) {
					w := f.do(t, req{method: rt.Method, path: path(foreignID), body: ex.body, bearer: tenantAdmin})
					wantError(t, w, 404, "not_found")
				})
				t.Run("BadUUIDIs400", func(t *testing.T) {
					for _, bad := range []string{"not-a-uuid", "123", "%00", strings.Repeat("a", 300),
						"{" + act.ID.String() + "}", strings.ReplaceAll(act.ID.String(), "-", "")} {
						w := f.do(t, req{method: rt.Method, path: path(bad), body: ex.body, bearer: tenantAdmin})
						wantError(t, w, 400, "invalid")
					}
				})
			}
		})
	}
	if walked != len(routeExamples) {
		t.Errorf("walked %d routes, but there are %d examples", walked, len(routeExamples))
	}
}

func TestListUsersAnswer(t *testing.T) {
	f := newFixture(t, nil)
	_, admin, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	for _, e := range []string{"b@acme.test", "c@acme.test", "d@acme.test"} {
		f.invite(t, "acme", e, usermgmt.RoleAgent)
	}
	f.invite(t, "globex", "x@globex.test", usermgmt.RoleAgent)
	f.clock.Advance(20 * time.Minute) // inside the session idle limit

	t.Run("CountsAndRowsOfOwnTenantOnly", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/users?limit=2", bearer: admin})
		page := decodeBody[httpapi.UserPage](t, w)
		if page.Counts != (httpapi.Counts{Active: 1, Invited: 3, All: 4}) {
			t.Fatalf("counts = %+v", page.Counts)
		}
		if len(page.Users) != 2 || page.NextCursor == "" {
			t.Fatalf("page = %+v", page)
		}
		if u := page.Users[0]; u.Email != "admin@acme.test" || u.MFA != "enabled" || u.LastLogin != "20m ago" || u.Status != "active" {
			t.Fatalf("row = %+v", u)
		}
		if u := page.Users[1]; u.MFA != "not enrolled" || u.LastLogin != "never" || u.LastLoginAt != nil {
			t.Fatalf("row = %+v", u)
		}
		w = f.do(t, req{method: "GET", path: "/users?limit=2&cursor=" + page.NextCursor, bearer: admin})
		next := decodeBody[httpapi.UserPage](t, w)
		if len(next.Users) != 2 || next.NextCursor != "" || next.Users[1].Email != "d@acme.test" {
			t.Fatalf("next page = %+v", next)
		}
	})
	t.Run("StatusFilterAndSearch", func(t *testing.T) {
		page := decodeBody[httpapi.UserPage](t, f.do(t, req{method: "GET", path: "/users?status=active", bearer: admin}))
		if len(page.Users) != 1 {
			t.Fatalf("active = %+v", page.Users)
		}
		page = decodeBody[httpapi.UserPage](t, f.do(t, req{method: "GET", path: "/users?status=all&q=C%40ACME", bearer: admin}))
		if len(page.Users) != 1 || page.Users[0].Email != "c@acme.test" {
			t.Fatalf("search = %+v", page.Users)
		}
	})
	t.Run("BadQueriesAre400", func(t *testing.T) {
		for _, q := range []string{"?cursor=garbage", "?cursor=" + strings.Repeat("A", 5000), "?limit=abc", "?limit=-1",
			"?limit=100000", "?status=sleeping", "?bogus=1"} {
			wantError(t, f.do(t, req{method: "GET", path: "/users" + q, bearer: admin}), 400, "invalid")
		}
	})
	t.Run("CursorOfAnotherQueryIs400", func(t *testing.T) {
		page := decodeBody[httpapi.UserPage](t, f.do(t, req{method: "GET", path: "/users?limit=1", bearer: admin}))
		wantError(t, f.do(t, req{method: "GET", path: "/users?status=invited&limit=1&cursor=" + page.NextCursor, bearer: admin}), 400, "invalid")
	})
}

func TestActivityAnswer(t *testing.T) {
	f := newFixture(t, nil)
	admin, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	u := f.invite(t, "acme", "u@acme.test", usermgmt.RoleAgent)
	for _, role := range []string{"supervisor", "recruiter", "hr_manager"} {
		if w := f.do(t, req{method: "PUT", path: "/users/" + u.ID.String() + "/roles/" + role, bearer: tok}); w.Code != 200 {
			t.Fatalf("grant: %d %s", w.Code, w.Body)
		}
	}
	w := f.do(t, req{method: "GET", path: "/users/" + u.ID.String() + "/activity?limit=2", bearer: tok,
		header: map[string]string{"User-Agent": "test-agent"}})
	page := decodeBody[httpapi.ActivityPage](t, w)
	if len(page.Events) != 2 || page.NextCursor == "" {
		t.Fatalf("page = %+v", page)
	}
	e := page.Events[0]
	if e.Type != usermgmt.EventRoleGranted || e.Detail != "hr_manager" || e.ActorID == nil || *e.ActorID != admin.ID ||
		e.ActorEmail != "admin@acme.test" || e.IP != "192.0.2.1" {
		t.Fatalf("newest event = %+v", e)
	}
	var all []httpapi.Event
	cursor := ""
	for {
		p := decodeBody[httpapi.ActivityPage](t, f.do(t, req{method: "GET",
			path: "/users/" + u.ID.String() + "/activity?limit=2&cursor=" + cursor, bearer: tok}))
		all = append(all, p.Events...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	last := all[len(all)-1]
	if last.Type != usermgmt.EventUserCreated || last.ActorID != nil {
		t.Fatalf("oldest event = %+v (want user.created by the system)", last)
	}
	t.Run("BadCursorIs400", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "GET", path: "/users/" + u.ID.String() + "/activity?cursor=xyz", bearer: tok}), 400, "invalid")
		wantError(t, f.do(t, req{method: "GET", path: "/users/" + admin.ID.String() + "/activity?cursor=" + page.NextCursor, bearer: tok}), 400, "invalid")
	})
}

func TestManagerErrorsMapToOneTable(t *testing.T) {
	f := newFixture(t, nil)
	admin, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, hr, _ := f.active(t, "acme", "hr@acme.test", usermgmt.RoleHRAdmin)
	u := f.invite(t, "acme", "u@acme.test", usermgmt.RoleAgent)

	t.Run("ConflictIs409", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"U@acme.test","roles":["agent"]}`, bearer: tok})
		wantError(t, w, 409, "conflict")
		// The last tenant_admin keeps the role.
		wantError(t, f.do(t, req{method: "DELETE", path: "/users/" + admin.ID.String() + "/roles/tenant_admin", bearer: tok}), 409, "conflict")
	})
	t.Run("InvalidIs400", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"nope","roles":["agent"]}`, bearer: tok}), 400, "invalid")
		wantError(t, f.do(t, req{method: "PUT", path: "/users/" + u.ID.String() + "/roles/wizard", bearer: tok}), 400, "invalid")
	})
	t.Run("RateLimitedIs429WithRetryAfter", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: "/users/" + u.ID.String() + "/invitation/resend", bearer: tok})
		wantError(t, w, 429, "rate_limited")
		if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After = %q", ra)
		}
	})
	t.Run("DeliveryFailedIs502", func(t *testing.T) {
		f.mail.FailNext(errDelivery)
		w := f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"v@acme.test","roles":["agent"]}`, bearer: tok})
		wantError(t, w, 502, "delivery_failed")
	})
	t.Run("HRAdminMayNotTouchTenantAdminIs403", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/users/" + admin.ID.String() + "/logout", bearer: hr}), 403, "permission_denied")
		wantError(t, f.do(t, req{method: "PUT", path: "/users/" + u.ID.String() + "/roles/tenant_admin", bearer: hr}), 403, "permission_denied")
	})
	t.Run("InternalIs500LoggedNeverEchoed", func(t *testing.T) {
		f.revoker.fail.Store(true)
		defer f.revoker.fail.Store(false)
		w := f.do(t, req{method: "POST", path: "/users/" + u.ID.String() + "/logout", bearer: tok})
		wantError(t, w, 500, "internal")
		if strings.Contains(w.Body.String(), "secret-detail-42") || strings.Contains(w.Body.String(), "revoker") {
			t.Fatalf("internal detail echoed: %s", w.Body)
		}
		if !strings.Contains(f.logs.String(), "secret-detail-42") {
			t.Fatalf("internal error not logged: %q", f.logs.String())
		}
	})
	t.Run("UnknownRouteIs404JSON", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "GET", path: "/nowhere", bearer: tok}), 404, "not_found")
	})
	t.Run("WrongMethodIs405JSON", func(t *testing.T) {
		w := f.do(t, req{method: "PATCH", path: "/users/" + u.ID.String(), bearer: tok})
		wantError(t, w, 405, "method_not_allowed")
		if w.Header().Get("Allow") == "" {
			t.Fatal("no Allow header")
		}
	})
}

func TestStatusTable(t *testing.T) {
	want := map[usermgmt.Code]int{
		usermgmt.CodeInvalid: 400, usermgmt.CodeNotFound: 404, usermgmt.CodeConflict: 409,
		usermgmt.CodePermissionDenied: 403, usermgmt.CodeUnauthenticated: 401, usermgmt.CodeExpired: 401,
		usermgmt.CodeRateLimited: 429, usermgmt.CodeMFARequired: 401, usermgmt.CodeDeliveryFailed: 502,
		usermgmt.CodeInternal: 500, usermgmt.CodeUnavailable: 503, "something_new": 500,
	}
	for code, status := range want {
		if got := httpapi.StatusOf(code); got != status {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, status)
		}
	}
}

var errDelivery = &deliveryErr{}

type deliveryErr struct{}

func (*deliveryErr) Error() string { return "smtp: connection refused" }

// TestUndeliveredMailAnswer: a mail whose first attempt failed is listed
// for the admin with its error and next try, and with no link; an agent
// may not list it.
func TestUndeliveredMailAnswer(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, agent, _ := f.active(t, "acme", "agent@acme.test", usermgmt.RoleAgent)
	f.mail.FailNext(errDelivery)
	w := f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"v@acme.test","roles":["agent"]}`, bearer: tok})
	wantError(t, w, 502, "delivery_failed")

	w = f.do(t, req{method: "GET", path: "/mail/undelivered?limit=10", bearer: tok})
	page := decodeBody[httpapi.MailPage](t, w)
	if len(page.Mail) != 1 || page.NextCursor != "" {
		t.Fatalf("page = %+v", page)
	}
	m := page.Mail[0]
	if m.To != "v@acme.test" || m.Kind != usermgmt.MessageInvite || m.Attempts != 1 || m.Failed ||
		m.NextAttemptAt == nil || m.FailedAt != nil || m.LastError != "The mail server could not be reached." {
		t.Fatalf("mail = %+v", m)
	}
	if strings.Contains(w.Body.String(), "token") || strings.Contains(w.Body.String(), "https://") {
		t.Fatalf("the listing carries the link: %s", w.Body)
	}
	wantError(t, f.do(t, req{method: "GET", path: "/mail/undelivered", bearer: agent}), 403, "permission_denied")
	wantError(t, f.do(t, req{method: "GET", path: "/mail/undelivered?cursor=xyz", bearer: tok}), 400, "invalid")
	wantError(t, f.do(t, req{method: "GET", path: "/mail/undelivered?page=2", bearer: tok}), 400, "invalid")
}

// TestMePermissionsFollowTheRoles: GET /me lists what the caller's roles
// allow, the buttons the page shows, and no more.
func TestMePermissionsFollowTheRoles(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		role usermgmt.Role
		want []usermgmt.Permission
	}{
		{usermgmt.RoleTenantAdmin, usermgmt.AllPermissions()},
		{usermgmt.RoleComplianceOfficer, []usermgmt.Permission{usermgmt.PermListUsers, usermgmt.PermReadActivity}},
		{usermgmt.RoleAgent, []usermgmt.Permission{}},
	} {
		_, tok, _ := f.active(t, "acme", string(c.role)+"@acme.test", c.role)
		me := decodeBody[httpapi.Me](t, f.do(t, req{method: "GET", path: "/me", bearer: tok}))
		if !slices.Equal(me.Permissions, c.want) || me.Permissions == nil {
			t.Errorf("%s: permissions %v, want %v", c.role, me.Permissions, c.want)
		}
	}
}

// One activity page costs one transaction however many actors it names:
// the Manager reads each actor's email with the page.
func TestActivityPageIsOneTransaction(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	u := f.invite(t, "acme", "u@acme.test", usermgmt.RoleAgent)
	const n = 50
	actors := map[uuid.UUID]string{}
	for i := range n {
		a := f.invite(t, "acme", fmt.Sprintf("actor%02d@acme.test", i), usermgmt.RoleAgent)
		actors[a.ID] = a.Email
		err := f.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			return tx.AppendEvent(ctx, &usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: "acme", UserID: u.ID,
				Type: usermgmt.EventRoleGranted, ActorID: a.ID, Detail: "agent", CreatedAt: f.clock.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	before := f.store.txs.Load()
	w := f.do(t, req{method: "GET", path: "/users/" + u.ID.String() + "/activity?limit=50", bearer: tok})
	txs := f.store.txs.Load() - before
	page := decodeBody[httpapi.ActivityPage](t, w)
	if len(page.Events) != n {
		t.Fatalf("%d events, want %d", len(page.Events), n)
	}
	for _, e := range page.Events {
		if e.ActorID == nil || e.ActorEmail == "" || actors[*e.ActorID] != e.ActorEmail {
			t.Fatalf("event %+v: actor not named", e)
		}
	}
	if txs != 1 {
		t.Fatalf("one page of %d actors cost %d transactions, want 1", n, txs)
	}
}
