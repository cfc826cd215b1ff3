package httpapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// actionRoutes are the API routes of the actions a page offers in a
// user's panel, for the tests that try them.
var actionRoutes = map[usermgmt.Action]req{
	usermgmt.ActionResetPassword: {method: "POST", path: "/password-reset"},
	usermgmt.ActionForceLogout:   {method: "POST", path: "/logout"},
	usermgmt.ActionResetMFA:      {method: "POST", path: "/mfa-reset"},
	usermgmt.ActionDeactivate:    {method: "POST", path: "/deactivate"},
	usermgmt.ActionChangeRoles:   {method: "PUT", path: "/roles/recruiter"},
	usermgmt.ActionReadActivity:  {method: "GET", path: "/activity"},
	usermgmt.ActionUnlock:        {method: "POST", path: "/unlock"},
	usermgmt.ActionErase:         {method: "POST", path: "/erase"},
}

// TestAllowedActionsMatchTheAPI: for a caller of each default role, on a
// tenant_admin and on themselves, GET /users/{id} offers an action in
// allowed_actions if and only if its route then answers anything but 403;
// a refused action offered with a reason names it in action_reasons.
func TestAllowedActionsMatchTheAPI(t *testing.T) {
	for _, def := range usermgmt.DefaultRoles() {
		t.Run(string(def.Name), func(t *testing.T) {
			f := newFixture(t, nil)
			boss, _, _ := f.active(t, "acme", "boss@acme.test", usermgmt.RoleTenantAdmin)
			actor, tok, _ := f.active(t, "acme", "actor@acme.test", def.Name)
			for _, target := range []usermgmt.User{boss, actor} {
				for _, a := range usermgmt.AllActions() {
					r, ok := actionRoutes[a]
					if !ok {
						continue
					}
					if target.ID == actor.ID && a == usermgmt.ActionForceLogout {
						continue // it would end the session that asks
					}
					f.clock.Advance(2 * time.Minute)
					w := f.do(t, req{method: "GET", path: "/users/" + target.ID.String(), bearer: tok})
					offered := false
					var u httpapi.User
					if w.Code == 200 {
						require.NoError(t, json.Unmarshal(w.Body.Bytes(), &u))
						offered = slices.Contains(u.AllowedActions, a)
					} else {
						require.Equal(t, 403, w.Code, w.Body.String())
					}
					if a == usermgmt.ActionUnlock {
						assert.False(t, offered, "unlock is offered only to a locked user")
						continue
					}
					got := f.do(t, req{method: r.method, path: "/users/" + target.ID.String() + r.path, bearer: tok})
					assert.Equal(t, offered, got.Code != 403, "%s on %s: offered %v, answered %d %s",
						a, target.Email, offered, got.Code, got.Body.String())
					// Erasing is a tenant_admin's whatever the catalogue: an
					// hr_admin is not shown it at all.
					if !offered && w.Code == 200 && def.Name == usermgmt.RoleHRAdmin && a != usermgmt.ActionErase {
						assert.NotEmpty(t, u.ActionReasons[a], "%s on %s says why", a, target.Email)
					}
					if a == usermgmt.ActionErase {
						continue // the last action; an erased user is not activated again
					}
					// Back as it was, for the next action.
					_, err := f.m.Activate(usermgmt.AsSystem(context.Background()), "acme", target.ID)
					require.NoError(t, err)
				}
			}
		})
	}
}

func TestUnlockRoute(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	ana, _, _ := f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	for range 5 {
		f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("ana@acme.test", "not her password 1")})
	}
	w := f.do(t, req{method: "GET", path: "/users?q=ana", bearer: tok})
	require.Equal(t, 200, w.Code, w.Body.String())
	var page httpapi.UserPage
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
	require.Len(t, page.Users, 1)
	require.NotNil(t, page.Users[0].LockedUntil, "locked_until in the list")
	assert.Contains(t, page.Users[0].AllowedActions, usermgmt.ActionUnlock)

	w = f.do(t, req{method: "POST", path: "/users/" + ana.ID.String() + "/unlock", bearer: tok})
	require.Equal(t, 200, w.Code, w.Body.String())
	var u httpapi.User
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &u))
	assert.Nil(t, u.LockedUntil)
	assert.NotContains(t, u.AllowedActions, usermgmt.ActionUnlock)
	got, err := f.m.GetUser(usermgmt.AsSystem(context.Background()), "acme", ana.ID)
	require.NoError(t, err)
	assert.Nil(t, got.LockedUntil)
}

func TestRolesAndRoleFilter(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	f.invite(t, "acme", "sam@acme.test", usermgmt.RoleSupervisor, usermgmt.RoleAgent)
	f.invite(t, "acme", "ana@acme.test", usermgmt.RoleAgent)

	w := f.do(t, req{method: "GET", path: "/roles", bearer: tok})
	require.Equal(t, 200, w.Code)
	var roles struct{ Roles []httpapi.Role }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &roles))
	assert.Equal(t, httpapi.Role{Name: usermgmt.RoleHRAdmin, DisplayName: "HR admin", Description: "HR and employee management"}, roles.Roles[1])

	w = f.do(t, req{method: "GET", path: "/users?role=supervisor", bearer: tok})
	require.Equal(t, 200, w.Code, w.Body.String())
	var page httpapi.UserPage
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
	require.Len(t, page.Users, 1)
	assert.Equal(t, "sam@acme.test", page.Users[0].Email)
	assert.Equal(t, 3, page.Counts.All, "the badges count every role")
	assert.False(t, page.Users[0].InviteExpired)
	assert.NotNil(t, page.Users[0].InviteExpiresAt)
	wantError(t, f.do(t, req{method: "GET", path: "/users?role=wizard", bearer: tok}), 400, "invalid")

	w = f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"two@acme.test","roles":["agent","supervisor"]}`, bearer: tok})
	require.Equal(t, 201, w.Code, w.Body.String())
	var u httpapi.User
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &u))
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, u.Roles)
}
