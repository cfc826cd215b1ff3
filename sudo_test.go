package usermgmt_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// sudoCase is a tenant_admin with TOTP signed in, acting through that
// session, and a user to act on.
type sudoCase struct {
	*env
	boss    usermgmt.User
	secret  string
	codes   []string
	session usermgmt.Session
	act     context.Context // acting as boss through session
	target  usermgmt.User
	invites int
}

func newSudoCase(t *testing.T, edit ...func(*usermgmt.Options)) *sudoCase {
	t.Helper()
	e := mustManager(t, edit...)
	boss, secret, _, codes := e.onboard(t, "boss@acme.test", usermgmt.RoleHRAdmin)
	boss, err := e.m.GrantRole(usermgmt.AsSystem(context.Background()), tenant, boss.ID, usermgmt.RoleTenantAdmin)
	require.NoError(t, err)
	target, _, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	s := signIn(t, e, boss.Email, secret, false)
	return &sudoCase{env: e, boss: boss, secret: secret, codes: codes, session: s, target: target,
		act: e.through(t, boss, s)}
}

// through returns a context acting as u through session s, as httpapi
// builds it.
func (e *env) through(t *testing.T, u usermgmt.User, s usermgmt.Session) context.Context {
	t.Helper()
	p, err := e.m.Authenticate(context.Background(), s.Token)
	require.NoError(t, err)
	return usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: u.ID, SessionID: p.SessionID, IP: "203.0.113.9"})
}

// sensitive runs each sensitive operation as ctx and returns their
// errors: grant tenant_admin, invite a tenant_admin, reset MFA. Each may
// run again: a grant of a role held, or a reset of MFA already reset, is
// still checked.
func (c *sudoCase) sensitive(ctx context.Context) map[string]error {
	c.invites++
	_, grant := c.m.GrantRole(ctx, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
	_, invite := c.m.InviteUser(ctx, tenant, usermgmt.Invite{Email: fmt.Sprintf("boss%d@acme.test", c.invites),
		Roles: []usermgmt.Role{usermgmt.RoleAgent, usermgmt.RoleTenantAdmin}})
	return map[string]error{"GrantRole": grant, "InviteUser": invite, "ResetMFA": c.m.ResetMFA(ctx, tenant, c.target.ID)}
}

func (c *sudoCase) requireAll(t *testing.T, ctx context.Context, want usermgmt.Code, why string) {
	t.Helper()
	for op, err := range c.sensitive(ctx) {
		require.Equal(t, want, code(err), "%s %s: %v", op, why, err)
	}
}

func TestSudoMode(t *testing.T) {
	t.Run("FreshSessionMayThenMayNot", func(t *testing.T) {
		c := newSudoCase(t)
		_, err := c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.NoError(t, err, "the login verified the session")
		_, err = c.m.RevokeRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.NoError(t, err)

		c.clock.Advance(15*time.Minute - 31*time.Second) // signIn moved it 30 s
		_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.NoError(t, err, "a second before SudoWindow ends")
		_, err = c.m.RevokeRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.NoError(t, err)
		c.clock.Advance(time.Second)
		_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.Equal(t, usermgmt.CodeMFARequired, code(err))
		_, err = c.m.InviteUser(c.act, tenant, usermgmt.Invite{Email: "boss2@acme.test", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
		require.Equal(t, usermgmt.CodeMFARequired, code(err))
		require.Equal(t, usermgmt.CodeMFARequired, code(c.m.ResetMFA(c.act, tenant, c.target.ID)))

		u, err := c.m.GetUser(c.ctx, tenant, c.target.ID)
		require.NoError(t, err)
		assert.False(t, u.HasRole(usermgmt.RoleTenantAdmin), "a refused grant changes nothing")
		assert.True(t, u.MFAEnabled, "a refused reset changes nothing")
		page, err := c.m.ListUsers(c.ctx, tenant, usermgmt.ListUsersQuery{Search: "boss2"})
		require.NoError(t, err)
		assert.Empty(t, page.Users, "a refused invitation creates nobody")

		// What is not sensitive goes on as before.
		_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err)
		_, err = c.m.InviteUser(c.act, tenant, usermgmt.Invite{Email: "carl@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		require.NoError(t, c.m.ForceLogout(c.act, tenant, c.target.ID))
	})

	t.Run("SudoRenewsTheWindow", func(t *testing.T) {
		c := newSudoCase(t)
		c.clock.Advance(20 * time.Minute)
		s, err := c.m.Refresh(context.Background(), c.session.RefreshToken)
		require.NoError(t, err, "refresh keeps the session alive, not verified")
		_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.Equal(t, usermgmt.CodeMFARequired, code(err))

		require.NoError(t, c.m.Sudo(context.Background(), s.Token, c.code(t, c.secret)))
		assert.Equal(t, usermgmt.EventSudoVerified, lastEvent(t, c.env, c.boss).Type)
		assert.Equal(t, "totp", lastEvent(t, c.env, c.boss).Detail)
		_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.NoError(t, err)

		c.clock.Advance(5 * time.Minute)
		s, err = c.m.Refresh(context.Background(), s.RefreshToken)
		require.NoError(t, err)
		p, err := c.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		assert.True(t, c.clock.Now().Add(-5*time.Minute).Equal(p.VerifiedAt), "Refresh keeps VerifiedAt: %v", p.VerifiedAt)
		require.NoError(t, c.m.ResetMFA(c.act, tenant, c.target.ID))

		c.clock.Advance(10 * time.Minute)
		_, err = c.m.Refresh(context.Background(), s.RefreshToken)
		require.NoError(t, err)
		c.requireAll(t, c.act, usermgmt.CodeMFARequired, "SudoWindow after Sudo")
	})

	t.Run("RecoveryCodeWorksOnce", func(t *testing.T) {
		c := newSudoCase(t)
		c.clock.Advance(20 * time.Minute)
		require.NoError(t, c.m.Sudo(context.Background(), c.session.Token, c.codes[0]))
		assert.Equal(t, "recovery code", lastEvent(t, c.env, c.boss).Detail)
		_, err := c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.NoError(t, err)
		c.clock.Advance(20 * time.Minute)
		err = c.m.Sudo(context.Background(), c.session.Token, c.codes[0])
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err), "a recovery code is spent")
	})

	t.Run("WrongCodeIsACountedFailure", func(t *testing.T) {
		c := newSudoCase(t)
		c.clock.Advance(20 * time.Minute)
		err := c.m.Sudo(context.Background(), c.session.Token, "000000")
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		assert.Equal(t, usermgmt.EventMFAFailed, lastEvent(t, c.env, c.boss).Type)
		_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.Equal(t, usermgmt.CodeMFARequired, code(err), "a wrong code renews nothing")
		err = c.m.Sudo(context.Background(), c.session.Token, "12345")
		require.Equal(t, usermgmt.CodeInvalid, code(err), "a malformed code is a typo, not a guess")
		for range 3 {
			_ = c.m.Sudo(context.Background(), c.session.Token, "000000")
		}
		require.NoError(t, c.m.Sudo(context.Background(), c.session.Token, c.code(t, c.secret)),
			"four counted failures, not five: the malformed code was not counted")
		c.clock.Advance(30 * time.Second)
		for range 5 {
			_ = c.m.Sudo(context.Background(), c.session.Token, "000000")
		}
		err = c.m.Sudo(context.Background(), c.session.Token, c.code(t, c.secret))
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err), "MaxFailedAttempts wrong codes pause the key: the right code is answered as wrong")
		_, err = login(t, c.env, c.boss.Email, goodPassword)
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err), "for sign-in too")
	})

	t.Run("SudoNeedsALiveSessionAndAnAuthenticator", func(t *testing.T) {
		c := newSudoCase(t)
		require.Equal(t, usermgmt.CodeUnauthenticated, code(c.m.Sudo(context.Background(), "ums_garbage", c.code(t, c.secret))))
		require.NoError(t, c.m.Logout(context.Background(), c.session.Token))
		require.Equal(t, usermgmt.CodeUnauthenticated, code(c.m.Sudo(context.Background(), c.session.Token, c.code(t, c.secret))))

		e := mustManager(t, func(o *usermgmt.Options) { o.MFAOptional = true })
		u, token := e.invite(t, "plain@acme.test", usermgmt.RoleAgent)
		enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
		require.NoError(t, err)
		s, err := e.m.CompleteMFAEnrollment(context.Background(), enr.Token, "")
		require.NoError(t, err)
		err = e.m.Sudo(context.Background(), s.Token, "123456")
		require.Equal(t, usermgmt.CodeConflict, code(err), "no authenticator: sign in again instead")
		got, err := e.m.GetUser(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		require.False(t, got.MFAEnabled)
	})

	t.Run("TrustedCodeIsNotAffected", func(t *testing.T) {
		c := newSudoCase(t)
		c.clock.Advance(time.Hour)
		c.requireAll(t, usermgmt.AsSystem(context.Background()), "", "as the system")
	})

	t.Run("HostVouchesWithVerifiedAt", func(t *testing.T) {
		c := newSudoCase(t)
		host := func(verified time.Time) context.Context {
			return usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: c.boss.ID, VerifiedAt: verified})
		}
		c.requireAll(t, host(time.Time{}), usermgmt.CodeMFARequired, "with no session and no VerifiedAt (fail closed)")
		c.requireAll(t, host(c.clock.Now().Add(-15*time.Minute)), usermgmt.CodeMFARequired, "vouched SudoWindow ago")
		c.requireAll(t, host(c.clock.Now().Add(-14*time.Minute)), "", "vouched within SudoWindow")

		// A session decides when named, whatever VerifiedAt says.
		c.clock.Advance(20 * time.Minute)
		p, err := c.m.Authenticate(context.Background(), c.session.Token)
		require.NoError(t, err)
		stale := usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: c.boss.ID, SessionID: p.SessionID, VerifiedAt: c.clock.Now()})
		c.requireAll(t, stale, usermgmt.CodeMFARequired, "through a stale session")
	})

	t.Run("AnotherUsersSessionVouchesForNobody", func(t *testing.T) {
		c := newSudoCase(t)
		other, secret, _, _ := c.onboard(t, "zoe@acme.test", usermgmt.RoleAgent)
		s := signIn(t, c.env, other.Email, secret, false)
		p, err := c.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		borrowed := usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: c.boss.ID, SessionID: p.SessionID})
		c.requireAll(t, borrowed, usermgmt.CodeMFARequired, "through zoe's fresh session")
	})

	t.Run("AnEndedSessionVouchesForNobody", func(t *testing.T) {
		c := newSudoCase(t, func(o *usermgmt.Options) { o.SudoWindow = time.Hour })
		c.clock.Advance(30 * time.Minute) // idle since sign-in, within SudoWindow
		c.requireAll(t, c.act, usermgmt.CodeMFARequired, "through an idle-expired session")
	})

	t.Run("PermissionsComeFirst", func(t *testing.T) {
		c := newSudoCase(t)
		hr, secret, _, _ := c.onboard(t, "hr@acme.test", usermgmt.RoleHRAdmin)
		s := signIn(t, c.env, hr.Email, secret, false)
		act := c.through(t, hr, s)
		_, err := c.m.GrantRole(act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.Equal(t, usermgmt.CodePermissionDenied, code(err), "hr_admin never grants tenant_admin, fresh or not")
		_, err = c.m.InviteUser(act, tenant, usermgmt.Invite{Email: "boss2@acme.test", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
		require.Equal(t, usermgmt.CodePermissionDenied, code(err))
		require.Equal(t, usermgmt.CodePermissionDenied, code(c.m.ResetMFA(act, tenant, c.boss.ID)), "nor acts on a tenant_admin")
		require.NoError(t, c.m.ResetMFA(act, tenant, c.target.ID), "hr_admin resets an agent's MFA in sudo mode")

		c.clock.Advance(15 * time.Minute)
		_, err = c.m.GrantRole(act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.Equal(t, usermgmt.CodePermissionDenied, code(err), "stale or not")
		require.Equal(t, usermgmt.CodeMFARequired, code(c.m.ResetMFA(act, tenant, c.target.ID)))
	})

	t.Run("SudoWindowOption", func(t *testing.T) {
		e := mustManager(t)
		_, err := usermgmt.New(e.store, usermgmt.Options{Mailer: e.mail, SecretKey: testKey,
			Links: usermgmt.Links{BaseURL: "https://app.example.com"}, SudoWindow: -time.Minute})
		require.Equal(t, usermgmt.CodeInvalid, code(err))

		c := newSudoCase(t, func(o *usermgmt.Options) { o.SudoWindow = time.Minute })
		c.clock.Advance(30 * time.Second)
		_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.Equal(t, usermgmt.CodeMFARequired, code(err), "the window is the option's")
	})
}

// Changing the password verifies it: the session is fresh for sudo mode
// again, as after Sudo.
func TestChangePasswordRenewsSudo(t *testing.T) {
	c := newSudoCase(t)
	c.clock.Advance(20 * time.Minute)
	_, err := c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
	require.Equal(t, usermgmt.CodeMFARequired, code(err))
	require.NoError(t, c.m.ChangePassword(context.Background(), c.session.Token, goodPassword, "a brand new passphrase"))
	_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
	assert.NoError(t, err)
}
