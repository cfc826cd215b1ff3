package usermgmt_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// revocations are the admin actions that end a user's sessions; each must
// also end what a person had started with the old credentials.
var revocations = map[string]func(t *testing.T, e *env, u usermgmt.User){
	"ForceLogout": func(t *testing.T, e *env, u usermgmt.User) { require.NoError(t, e.m.ForceLogout(e.ctx, tenant, u.ID)) },
	"Deactivate": func(t *testing.T, e *env, u usermgmt.User) {
		_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = e.m.Activate(e.ctx, tenant, u.ID) // what was killed stays dead
		require.NoError(t, err)
	},
	"ResetMFA": func(t *testing.T, e *env, u usermgmt.User) {
		require.NoError(t, e.m.ResetMFA(e.sudo(e.admin), tenant, u.ID))
	},
	"PasswordReset": func(t *testing.T, e *env, u usermgmt.User) {
		e.clock.Advance(time.Minute) // past the mail interval
		require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
		require.NoError(t, e.m.ResetPassword(context.Background(), e.lastToken(t, u.Email), "a brand new passphrase"))
	},
}

// An MFA challenge won with the old password must not yield a session
// once an admin has revoked the user's access.
func TestRevocationKillsPendingChallenges(t *testing.T) {
	for name, revoke := range revocations {
		t.Run(name, func(t *testing.T) {
			e := mustManager(t)
			u, secret, _, _ := e.onboard(t, "ana@acme.test")
			res, err := login(t, e, u.Email, goodPassword)
			require.NoError(t, err)
			require.NotEmpty(t, res.MFAChallenge)
			revoke(t, e, u)
			e.clock.Advance(30 * time.Second)
			_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), false)
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		})
	}
}

// An enrolment in progress (after an MFA reset, the person logs in and
// gets a new secret) must not finish after a revocation either.
func TestRevocationKillsPendingEnrolments(t *testing.T) {
	for name, revoke := range revocations {
		if name == "ResetMFA" || name == "PasswordReset" {
			continue // the enrolment below starts with an MFA reset; a reset needs MFA to log in
		}
		t.Run(name, func(t *testing.T) {
			e := mustManager(t)
			u, _, _, _ := e.onboard(t, "ana@acme.test")
			require.NoError(t, e.m.ResetMFA(e.sudo(e.admin), tenant, u.ID))
			res, err := login(t, e, u.Email, goodPassword)
			require.NoError(t, err)
			require.NotNil(t, res.Enrollment)
			revoke(t, e, u)
			_, err = e.m.CompleteMFAEnrollment(context.Background(), res.Enrollment.Token, e.code(t, res.Enrollment.Secret))
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		})
	}
	t.Run("InviteeDeactivatedMidEnrolment", func(t *testing.T) {
		e := mustManager(t)
		u, token := e.invite(t, "new@acme.test")
		enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
		require.NoError(t, err)
		_, err = e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = e.m.Activate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	})
}

// Deactivation deletes the sessions, refresh tokens and trusted devices,
// not only refuses them while the status says so: after Activate none of
// the old ones works again.
func TestDeactivateThenActivateRevivesNothing(t *testing.T) {
	e := mustManager(t)
	u, secret, first, _ := e.onboard(t, "ana@acme.test")
	s := signIn(t, e, u.Email, secret, true)
	require.NotEmpty(t, s.DeviceToken)
	_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	back, err := e.m.Activate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	require.Equal(t, usermgmt.StatusActive, back.Status)

	for _, tok := range []string{first.Token, s.Token} {
		_, err := e.m.Authenticate(context.Background(), tok)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "session")
	}
	for _, tok := range []string{first.RefreshToken, s.RefreshToken} {
		_, err := e.m.Refresh(context.Background(), tok)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "refresh token")
	}
	res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email,
		Password: goodPassword, DeviceToken: s.DeviceToken})
	require.NoError(t, err)
	assert.Nil(t, res.Session, "the trusted device no longer skips TOTP")
	assert.NotEmpty(t, res.MFAChallenge)
}

// Invitation and reset links die with a deactivation: Activate does not
// bring them back.
func TestDeactivateKillsLinks(t *testing.T) {
	t.Run("Invitation", func(t *testing.T) {
		e := mustManager(t)
		u, token := e.invite(t, "new@acme.test")
		_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = e.m.Activate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = e.m.AcceptInvite(context.Background(), token, goodPassword)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.ResendInvite(e.ctx, tenant, u.ID), "a new invitation is the way back")
		_, err = e.m.AcceptInvite(context.Background(), e.lastToken(t, u.Email), goodPassword)
		assert.NoError(t, err)
	})
	t.Run("PasswordReset", func(t *testing.T) {
		e := mustManager(t)
		u, _, _, _ := e.onboard(t, "ana@acme.test")
		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
		token := e.lastToken(t, u.Email)
		_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = e.m.Activate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		err = e.m.ResetPassword(context.Background(), token, "a brand new passphrase")
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = login(t, e, u.Email, goodPassword)
		assert.NoError(t, err, "the old password still works")
	})
}
