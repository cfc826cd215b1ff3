package usermgmt_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// personIP is where the person to be erased signs in from; the admin acts
// from 203.0.113.7 (env.as).
const personIP = "198.51.100.23"

func (e *env) asPerson(u usermgmt.User) context.Context {
	return usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: u.ID, IP: personIP, UserAgent: "Ana's phone"})
}

// TestEraseUser: a person with a password, TOTP, a session and a history
// (their own sign-ins, a role they granted as hr_admin) is erased by a
// tenant_admin in sudo mode. What identified them is gone, the log keeps
// its events under an opaque id, and the same address can be invited anew.
func TestEraseUser(t *testing.T) {
	var revoked, after []uuid.UUID
	e := mustManager(t, func(o *usermgmt.Options) {
		o.SudoWindow = time.Hour
		o.Revokers = []usermgmt.SessionRevoker{revokerFunc(func(_ context.Context, _ string, id uuid.UUID) error {
			revoked = append(revoked, id)
			return nil
		})}
		o.AfterDeactivate = func(_ context.Context, u usermgmt.User) {
			require.True(t, u.Erased(), "the hook sees the erased user")
			after = append(after, u.ID)
		}
	})
	e.ctx = e.sudo(e.admin)
	ana, _, sess, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleHRAdmin)
	bob, _, _, _ := e.onboard(t, "bob@acme.test", usermgmt.RoleAgent)
	_, err := e.m.Login(e.asPerson(ana), usermgmt.LoginRequest{TenantID: tenant, Email: ana.Email, Password: "wrong password!!"})
	require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	_, err = e.m.GrantRole(e.asPerson(ana), tenant, bob.ID, usermgmt.RoleSupervisor)
	require.NoError(t, err)
	before, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
	require.NoError(t, err)

	require.NoError(t, e.m.EraseUser(e.ctx, tenant, ana.ID))

	got, err := e.m.GetUser(e.ctx, tenant, ana.ID)
	require.NoError(t, err)
	assert.True(t, got.Erased())
	assert.Equal(t, usermgmt.ErasedEmail(ana.ID), got.Email)
	assert.Equal(t, usermgmt.StatusDeactivated, got.Status)
	assert.False(t, got.MFAEnabled)
	assert.Empty(t, got.Roles)
	assert.Equal(t, []usermgmt.Action{usermgmt.ActionReadActivity}, got.Actions.Allowed(), "nothing left to do but read the log")
	assert.Equal(t, []uuid.UUID{ana.ID}, revoked, "the host's sessions end too")
	assert.Equal(t, []uuid.UUID{ana.ID}, after)

	_, err = e.m.Authenticate(context.Background(), sess.Token)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "the session ended")
	_, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: ana.Email, Password: goodPassword})
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "the password is gone")

	page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusCounts{Active: before.Counts.Active - 1, Deactivated: before.Counts.Deactivated + 1,
		All: before.Counts.All}, page.Counts)
	found, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "ana"})
	require.NoError(t, err)
	assert.Empty(t, found.Users, "the old address is found nowhere")

	log, err := e.m.ListActivity(e.ctx, tenant, ana.ID, usermgmt.ActivityQuery{Limit: 200})
	require.NoError(t, err)
	require.Equal(t, usermgmt.EventErased, log.Events[0].Type, "the erasure is logged, last")
	assert.Equal(t, e.admin.ID, log.Events[0].ActorID)
	assert.Equal(t, "admin@acme.test", log.Events[0].ActorEmail, "who erased stays known")
	assert.Empty(t, log.Events[0].Detail, "the event does not carry the email")
	for _, ev := range log.Events[1:] {
		assert.Empty(t, ev.IP+ev.UserAgent, "%s: IP and User-Agent go", ev.Type)
		assert.NotContains(t, ev.Detail, "ana", "%s", ev.Type)
		if ev.ActorID == ana.ID {
			assert.Equal(t, "Erased user", ev.ActorName, "%s", ev.Type)
			assert.Empty(t, ev.ActorEmail)
		}
	}
	types := map[usermgmt.EventType]bool{}
	for _, ev := range log.Events {
		types[ev.Type] = true
	}
	for _, typ := range []usermgmt.EventType{usermgmt.EventInvited, usermgmt.EventLoginFailed, usermgmt.EventDeactivated,
		usermgmt.EventSessionsRevoked} {
		assert.True(t, types[typ], "%s is still in the log", typ)
	}

	bobs, err := e.m.ListActivity(e.ctx, tenant, bob.ID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	require.Equal(t, usermgmt.EventRoleGranted, bobs.Events[0].Type)
	assert.Equal(t, ana.ID, bobs.Events[0].ActorID, "what the erased user did keeps their opaque id")
	assert.Equal(t, "Erased user", bobs.Events[0].ActorName)
	assert.Empty(t, bobs.Events[0].ActorEmail+bobs.Events[0].IP+bobs.Events[0].UserAgent)
	assert.Equal(t, "supervisor", bobs.Events[0].Detail)

	_, err = e.m.Activate(e.ctx, tenant, ana.ID)
	assert.Equal(t, usermgmt.CodeConflict, code(err), "an erased user never comes back")
	require.NoError(t, e.m.EraseUser(e.ctx, tenant, ana.ID), "erasing again is nothing")
	again, err := e.m.ListActivity(e.ctx, tenant, ana.ID, usermgmt.ActivityQuery{Limit: 200})
	require.NoError(t, err)
	assert.Len(t, again.Events, len(log.Events), "and logs nothing")

	anew, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err, "the address is free for a new account")
	assert.NotEqual(t, ana.ID, anew.ID)
	_, err = e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: usermgmt.ErasedEmail(uuid.New()), Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "nobody can be invited at an erased placeholder")
}

// TestEraseUserPermissions: only a tenant_admin in sudo mode (or trusted
// code) erases, never themselves, never the last active tenant_admin, and
// never through a provisioning token; the page is offered exactly that.
func TestEraseUserPermissions(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.SudoWindow = time.Hour })
	e.ctx = e.sudo(e.admin)
	hr, _, _, _ := e.onboard(t, "hr@acme.test", usermgmt.RoleHRAdmin)
	ana, _, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	other := e.seedActive(t, "globex", "ana@acme.test", usermgmt.RoleAgent)

	for name, c := range map[string]struct {
		ctx    context.Context
		target uuid.UUID
		want   usermgmt.Code
	}{
		"HRAdminMayNot":         {e.sudo(hr), ana.ID, usermgmt.CodePermissionDenied},
		"NoSudoIsMFARequired":   {e.as(e.admin), ana.ID, usermgmt.CodeMFARequired},
		"NotOneself":            {e.ctx, e.admin.ID, usermgmt.CodePermissionDenied},
		"NotTheLastAdmin":       {system, e.admin.ID, usermgmt.CodeConflict},
		"NoActorIsDenied":       {context.Background(), ana.ID, usermgmt.CodePermissionDenied},
		"NotAProvisioner":       {e.okta(tenant), ana.ID, usermgmt.CodePermissionDenied},
		"OtherTenantIsNotFound": {e.ctx, other.ID, usermgmt.CodeNotFound},
		"UnknownIsNotFound":     {e.ctx, uuid.Must(uuid.NewV7()), usermgmt.CodeNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, c.want, code(e.m.EraseUser(c.ctx, tenant, c.target)))
		})
	}
	got, err := e.m.GetUser(system, tenant, ana.ID)
	require.NoError(t, err)
	assert.False(t, got.Erased(), "no refused call changed anything")
	assert.Equal(t, usermgmt.StatusActive, got.Status)

	offered := func(ctx context.Context, id uuid.UUID) (bool, string) {
		u, err := e.m.GetUser(ctx, tenant, id)
		require.NoError(t, err)
		return u.Actions.Allows(usermgmt.ActionErase), u.Actions.Reason(usermgmt.ActionErase)
	}
	ok, _ := offered(e.ctx, ana.ID)
	assert.True(t, ok, "a tenant_admin is offered it")
	ok, why := offered(e.ctx, e.admin.ID)
	assert.False(t, ok)
	assert.Equal(t, "You cannot erase yourself. Ask another admin.", why)
	ok, _ = offered(e.sudo(hr), ana.ID)
	assert.False(t, ok, "an hr_admin is not, whatever the catalogue's permissions")
	u, err := e.m.GetUser(e.sudo(hr), tenant, ana.ID)
	require.NoError(t, err)
	u.Actions.Reasons(func(a usermgmt.Action, _ string) {
		assert.NotEqual(t, usermgmt.ActionErase, a, "and the page does not show it")
	})

	require.NoError(t, e.m.EraseUser(system, tenant, ana.ID), "trusted code erases")
	assert.True(t, func() bool { u, _ := e.m.GetUser(system, tenant, ana.ID); return u.Erased() }())
}

// An identity provider's user, deprovisioned or not, is erased like any
// other and is gone for the identity provider afterwards.
func TestEraseProvisionedUser(t *testing.T) {
	e := mustManager(t)
	idp := e.okta(tenant)
	u, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "pat@acme.test", Active: true,
		Profile: usermgmt.Profile{GivenName: "Pat", FamilyName: "Doe", ExternalID: "00u1", Department: "Sales"}})
	require.NoError(t, err)
	require.NoError(t, e.m.EraseUser(system, tenant, u.ID))
	got, err := e.m.GetUser(system, tenant, u.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.Profile{}, got.Profile)
	assert.NotNil(t, got.DeprovisionedAt, "hidden from SCIM, as after a DELETE")
	_, err = e.m.UpdateProvisionedUser(idp, tenant, u.ID, usermgmt.ProvisionUpdate{Active: true, Profile: usermgmt.Profile{GivenName: "Pat"}})
	assert.Equal(t, usermgmt.CodeNotFound, code(err), "the IdP cannot write the person back")
	again, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "pat@acme.test", Active: true})
	require.NoError(t, err)
	assert.NotEqual(t, u.ID, again.ID, "the same userName later is a new user")
}
