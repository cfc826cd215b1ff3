package usermgmt_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// lockOut fails sign-in on email until the key is paused.
func lockOut(t *testing.T, e *env, email string) {
	t.Helper()
	for range 5 {
		_, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: "wrong password 1"})
		require.Error(t, err)
	}
}

// pause sets a lock on email's sign-in key straight in the store.
func pause(t *testing.T, e *env, email string) {
	t.Helper()
	now := e.clock.Now()
	require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.PutAttempts(ctx, &usermgmt.LoginAttempts{TenantID: tenant, Email: email, Failures: 5,
			LockedUntil: now.Add(time.Hour), ExpiresAt: now.Add(25 * time.Hour)})
	}))
}

func TestUnlockUser(t *testing.T) {
	e := mustManager(t)
	ana, _, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	lockOut(t, e, ana.Email)

	t.Run("ListAndGetShowTheLock", func(t *testing.T) {
		got, err := e.m.GetUser(e.ctx, tenant, ana.ID)
		require.NoError(t, err)
		require.NotNil(t, got.LockedUntil)
		assert.True(t, got.LockedUntil.After(e.clock.Now()))
		assert.True(t, got.Actions.Allows(usermgmt.ActionUnlock))
		page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "ana"})
		require.NoError(t, err)
		require.Len(t, page.Users, 1)
		assert.Equal(t, got.LockedUntil, page.Users[0].LockedUntil)
	})
	t.Run("AnEndedPauseIsNone", func(t *testing.T) {
		e.clock.Advance(2 * time.Hour)
		defer e.clock.Advance(-2 * time.Hour)
		got, err := e.m.GetUser(e.ctx, tenant, ana.ID)
		require.NoError(t, err)
		assert.Nil(t, got.LockedUntil)
		assert.False(t, got.Actions.Allows(usermgmt.ActionUnlock))
	})
	t.Run("NeedsResetPasswordPermission", func(t *testing.T) {
		officer := e.seedActive(t, tenant, "officer@acme.test", usermgmt.RoleComplianceOfficer)
		_, err := e.m.UnlockUser(e.as(officer), tenant, ana.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
	})
	t.Run("HRAdminNotOnATenantAdmin", func(t *testing.T) {
		hr := e.seedActive(t, tenant, "hr@acme.test", usermgmt.RoleHRAdmin)
		boss := e.seedActive(t, tenant, "boss@acme.test", usermgmt.RoleTenantAdmin)
		lockOut(t, e, boss.Email)
		got, err := e.m.GetUser(e.as(hr), tenant, boss.ID)
		require.NoError(t, err)
		assert.False(t, got.Actions.Allows(usermgmt.ActionUnlock))
		assert.Equal(t, "Only a tenant admin can do this to a tenant admin.", got.Actions.Reason(usermgmt.ActionUnlock))
		_, err = e.m.UnlockUser(e.as(hr), tenant, boss.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
	})
	t.Run("UnlockClearsTheKeyAndLogsIt", func(t *testing.T) {
		got, err := e.m.UnlockUser(e.ctx, tenant, ana.ID)
		require.NoError(t, err)
		assert.Nil(t, got.LockedUntil)
		assert.False(t, got.Actions.Allows(usermgmt.ActionUnlock))
		page, err := e.m.ListActivity(e.ctx, tenant, ana.ID, usermgmt.ActivityQuery{Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.EventLoginUnlocked, page.Events[0].Type)
		assert.Equal(t, e.admin.ID, page.Events[0].ActorID)
		// The next password is checked at once (a wrong one counts from zero).
		_, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: ana.Email, Password: goodPassword})
		require.NoError(t, err)
	})
	t.Run("UnlockingAnUnlockedUserLogsNothing", func(t *testing.T) {
		before, err := e.m.ListActivity(e.ctx, tenant, ana.ID, usermgmt.ActivityQuery{Limit: 1})
		require.NoError(t, err)
		_, err = e.m.UnlockUser(e.ctx, tenant, ana.ID)
		require.NoError(t, err)
		after, err := e.m.ListActivity(e.ctx, tenant, ana.ID, usermgmt.ActivityQuery{Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, before.Events[0].ID, after.Events[0].ID)
	})
}

func TestInviteExpiry(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.InviteTTL = 24 * time.Hour })
	ana, token := e.invite(t, "ana@acme.test", usermgmt.RoleAgent)
	get := func() usermgmt.User {
		t.Helper()
		u, err := e.m.GetUser(e.ctx, tenant, ana.ID)
		require.NoError(t, err)
		return u
	}
	require.NotNil(t, get().InviteExpiresAt)
	assert.Equal(t, e.clock.Now().Add(24*time.Hour), get().InviteExpiresAt.UTC())
	assert.False(t, get().InviteExpired(e.clock.Now()))
	e.clock.Advance(24 * time.Hour)
	assert.True(t, get().InviteExpired(e.clock.Now()), "the link expires with InviteTTL")
	_, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	assert.Equal(t, usermgmt.CodeExpired, code(err), "and the link agrees")

	require.NoError(t, e.m.ResendInvite(e.ctx, tenant, ana.ID))
	assert.False(t, get().InviteExpired(e.clock.Now()), "right after a resend")
	assert.Equal(t, e.clock.Now().Add(24*time.Hour), get().InviteExpiresAt.UTC())

	_, err = e.m.Deactivate(e.ctx, tenant, ana.ID)
	require.NoError(t, err)
	back, err := e.m.Activate(e.ctx, tenant, ana.ID)
	require.NoError(t, err)
	assert.True(t, back.InviteExpired(e.clock.Now()), "deactivation killed the link")

	e.clock.Advance(time.Hour)
	require.NoError(t, e.m.ResendInvite(e.ctx, tenant, ana.ID))
	_, err = e.m.AcceptInvite(context.Background(), e.lastToken(t, ana.Email), goodPassword)
	require.NoError(t, err)
	assert.Nil(t, get().InviteExpiresAt, "a spent link expires no more")
	e.clock.Advance(48 * time.Hour)
	assert.False(t, get().InviteExpired(e.clock.Now()))
}

func TestListUsersByRole(t *testing.T) {
	e := mustManager(t)
	e.seedActive(t, tenant, "sam@acme.test", usermgmt.RoleSupervisor, usermgmt.RoleAgent)
	e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
	e.seedActive(t, tenant, "sue@acme.test", usermgmt.RoleSupervisor)
	page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Role: usermgmt.RoleSupervisor, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Users, 1)
	assert.Equal(t, "sam@acme.test", page.Users[0].Email)
	assert.Equal(t, usermgmt.StatusCounts{Active: 4, All: 4}, page.Counts, "the badges count every role")
	next, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Role: usermgmt.RoleSupervisor, Cursor: page.NextCursor})
	require.NoError(t, err)
	require.Len(t, next.Users, 1)
	assert.Equal(t, "sue@acme.test", next.Users[0].Email)
	_, err = e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Cursor: page.NextCursor})
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "a cursor of the role's list is not the whole list's")
	_, err = e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Role: "wizard"})
	assert.Equal(t, usermgmt.CodeInvalid, code(err))
}

func TestRoleDisplayNames(t *testing.T) {
	for _, d := range usermgmt.DefaultRoles() {
		assert.NotEqual(t, string(d.Name), d.Label(), "default role %s has a display name", d.Name)
		assert.NotEmpty(t, d.Description)
	}
	assert.Equal(t, "HR admin", usermgmt.DefaultRoles()[1].Label())
	assert.Equal(t, "custom", usermgmt.RoleDef{Name: "custom"}.Label(), "a host's role without one shows its name")
}

// TestAllowedActions: for an actor of each default role, on a
// tenant_admin, on an agent and on themselves, the actions the Manager
// offers (User.Actions) are exactly those it then lets the actor take:
// each action is tried, and it is refused with permission_denied if and
// only if it was not offered.
func TestAllowedActions(t *testing.T) {
	for _, def := range usermgmt.DefaultRoles() {
		t.Run(string(def.Name), func(t *testing.T) {
			e := mustManager(t, func(o *usermgmt.Options) { o.SudoWindow = time.Hour })
			e.ctx = e.sudo(e.admin)
			actor, _, _, _ := e.onboard(t, "actor@acme.test", def.Name)
			ctx := e.sudo(actor)
			boss, _, _, _ := e.onboard(t, "boss@acme.test", usermgmt.RoleTenantAdmin)
			ana, _, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
			for _, target := range []usermgmt.User{boss, ana, actor} {
				for _, a := range usermgmt.AllActions() {
					e.clock.Advance(2 * time.Minute) // mail spacing
					pause(t, e, target.Email)
					got, err := e.m.GetUser(system, tenant, target.ID)
					require.NoError(t, err)
					if a == usermgmt.ActionActivate || a == usermgmt.ActionResendInvite {
						if a == usermgmt.ActionActivate {
							if _, err := e.m.Deactivate(system, tenant, target.ID); err != nil {
								continue // the actor themselves, deactivated, can act no more
							}
						}
					}
					if target.ID == actor.ID && (a == usermgmt.ActionActivate) {
						continue // a deactivated actor is no actor
					}
					offered := false
					if u, err := e.m.GetUser(ctx, tenant, target.ID); err == nil {
						offered = u.Actions.Allows(a)
					} else {
						require.Equal(t, usermgmt.CodePermissionDenied, code(err))
						if a == usermgmt.ActionListSessions && target.ID == actor.ID {
							continue // one's own sessions are the account page's, not the list's
						}
					}
					err = try(e, ctx, a, got)
					denied := code(err) == usermgmt.CodePermissionDenied
					if a == usermgmt.ActionResendInvite {
						// Only invited users get one: the others are not offered it
						// and the Manager answers conflict.
						assert.False(t, offered)
						continue
					}
					assert.Equal(t, offered, !denied, "%s on %s: offered %v, the Manager answered %v", a, target.Email, offered, err)
					// Put the target back as it was.
					_, _ = e.m.Activate(system, tenant, target.ID)
					if a == usermgmt.ActionChangeRoles {
						_, _ = e.m.RevokeRole(system, tenant, target.ID, usermgmt.RoleRecruiter)
					}
				}
			}
		})
	}
}

// try takes action a on u as the actor of ctx.
func try(e *env, ctx context.Context, a usermgmt.Action, u usermgmt.User) error {
	var err error
	switch a {
	case usermgmt.ActionResendInvite:
		err = e.m.ResendInvite(ctx, tenant, u.ID)
	case usermgmt.ActionResetPassword:
		err = e.m.SendPasswordReset(ctx, tenant, u.ID)
	case usermgmt.ActionForceLogout:
		err = e.m.ForceLogout(ctx, tenant, u.ID)
	case usermgmt.ActionResetMFA:
		err = e.m.ResetMFA(ctx, tenant, u.ID)
	case usermgmt.ActionUnlock:
		_, err = e.m.UnlockUser(ctx, tenant, u.ID)
	case usermgmt.ActionDeactivate:
		_, err = e.m.Deactivate(ctx, tenant, u.ID)
	case usermgmt.ActionActivate:
		_, err = e.m.Activate(ctx, tenant, u.ID)
	case usermgmt.ActionChangeRoles:
		_, err = e.m.GrantRole(ctx, tenant, u.ID, usermgmt.RoleRecruiter)
	case usermgmt.ActionReadActivity:
		_, err = e.m.ListActivity(ctx, tenant, u.ID, usermgmt.ActivityQuery{})
	case usermgmt.ActionListSessions:
		_, err = e.m.ListSessions(ctx, tenant, u.ID)
	case usermgmt.ActionErase: // the last action: nothing is tried on an erased user
		err = e.m.EraseUser(ctx, tenant, u.ID)
	}
	if code(err) == usermgmt.CodeConflict && slices.Contains([]usermgmt.Action{usermgmt.ActionDeactivate, usermgmt.ActionErase}, a) {
		return nil // the last tenant_admin: allowed, refused for another reason
	}
	return err
}
