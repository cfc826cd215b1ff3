package usermgmt_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

const newPassword = "a brand new passphrase"

// TestChangePasswordEndsEverythingElse: the person changes the password
// from one session; every other way in or half-way in ends (sessions,
// refresh tokens, trusted devices, MFA challenges, a reset link), the
// calling session stays, the revokers are told, a notice is mailed and
// the change is logged as the person's.
func TestChangePasswordEndsEverythingElse(t *testing.T) {
	var told atomic.Int32
	e := mustManager(t, func(o *usermgmt.Options) {
		o.Revokers = []usermgmt.SessionRevoker{revokerFunc(func(context.Context, string, uuid.UUID) error {
			told.Add(1)
			return nil
		})}
	})
	u, secret, here, _ := e.onboard(t, "ana@acme.test")
	elsewhere := signIn(t, e, u.Email, secret, true)
	pending, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	require.NotEmpty(t, pending.MFAChallenge)
	require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
	resetLink := e.lastToken(t, u.Email)
	mailsBefore := len(e.mail.Messages())

	require.NoError(t, e.m.ChangePassword(context.Background(), here.Token, goodPassword, newPassword))

	_, err = e.m.Authenticate(context.Background(), here.Token)
	require.NoError(t, err, "the calling session stays")
	refreshed, err := e.m.Refresh(context.Background(), here.RefreshToken)
	require.NoError(t, err, "with its refresh token")
	_, err = e.m.Authenticate(context.Background(), refreshed.Token)
	require.NoError(t, err)

	_, err = e.m.Authenticate(context.Background(), elsewhere.Token)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "another session ends")
	_, err = e.m.Refresh(context.Background(), elsewhere.RefreshToken)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "and its refresh token")
	_, err = e.m.VerifyMFA(context.Background(), pending.MFAChallenge, e.code(t, secret), false)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "a pending challenge ends")
	err = e.m.ResetPassword(context.Background(), resetLink, "yet another passphrase")
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "a reset link ends")
	res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: newPassword,
		DeviceToken: elsewhere.DeviceToken})
	require.NoError(t, err, "the new password works")
	assert.Nil(t, res.Session, "a trusted device ends: TOTP is asked")
	_, err = login(t, e, u.Email, goodPassword)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "the old password does not")
	assert.Equal(t, int32(1), told.Load(), "the revokers are told")

	require.NoError(t, e.m.Close())
	var notices int
	for _, msg := range e.mail.Messages()[mailsBefore:] {
		if msg.To == u.Email && msg.Kind == usermgmt.MessagePasswordChanged {
			notices++
		}
	}
	assert.Equal(t, 1, notices, "one notice mailed")

	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 100})
	require.NoError(t, err)
	var changed, revoked *usermgmt.Event
	for _, ev := range page.Events {
		switch ev.Type {
		case usermgmt.EventPasswordChanged:
			changed = &ev
		case usermgmt.EventSessionsRevoked:
			if revoked == nil {
				revoked = &ev
			}
		}
	}
	require.NotNil(t, changed, "password.changed is logged")
	assert.Equal(t, u.ID, changed.ActorID, "as the person's doing")
	require.NotNil(t, revoked)
	assert.Equal(t, "1 other sessions, 1 trusted devices", revoked.Detail)
}

// TestChangePasswordChecksTheCurrentLikeALogin: a wrong current password
// counts on the sign-in key as a wrong login does; once the key is
// locked even the right one is refused as a wrong one and nothing
// changes; logins are locked too, and the person is mailed once.
func TestChangePasswordChecksTheCurrentLikeALogin(t *testing.T) {
	e := mustManager(t)
	u, _, s, _ := e.onboard(t, "ana@acme.test")
	wrong := answerOf(t, e.m.ChangePassword(context.Background(), s.Token, "not my password", newPassword))
	require.Equal(t, usermgmt.CodeUnauthenticated, wrong.Code)
	for range 4 {
		require.Equal(t, wrong, answerOf(t, e.m.ChangePassword(context.Background(), s.Token, "not my password", newPassword)))
	}
	require.Equal(t, wrong, answerOf(t, e.m.ChangePassword(context.Background(), s.Token, goodPassword, newPassword)),
		"locked: the right password answers as a wrong one")
	_, err := login(t, e, u.Email, goodPassword)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "one key for logins and changes")
	_, err = e.m.Authenticate(context.Background(), s.Token)
	require.NoError(t, err, "the session is not touched")
	require.NoError(t, e.m.Close())
	last, ok := e.mail.LastTo(u.Email)
	require.True(t, ok)
	assert.Equal(t, pausedMail, last.Kind)

	e.clock.Advance(61 * time.Second)
	require.NoError(t, e.m.ChangePassword(context.Background(), s.Token, goodPassword, newPassword))
	_, err = login(t, e, u.Email, newPassword)
	require.NoError(t, err, "the change cleared the key")
}

// TestChangePasswordPolicyApplies: the new password passes the policy,
// the email included; a refusal counts nothing and changes nothing.
func TestChangePasswordPolicyApplies(t *testing.T) {
	e := mustManager(t)
	u, _, s, _ := e.onboard(t, "ana.lopez.long@acme.test")
	for name, pw := range map[string]string{
		"TooShort": "short", "Common": "Password123!", "IsTheEmail": "ana.lopez.long@acme.test", "IsTheLocalPart": "Ana.Lopez.Long",
	} {
		t.Run(name, func(t *testing.T) {
			for range 3 { // more than MaxFailedAttempts in all
				assert.Equal(t, usermgmt.CodeInvalid, code(e.m.ChangePassword(context.Background(), s.Token, goodPassword, pw)))
			}
		})
	}
	require.NoError(t, e.m.ChangePassword(context.Background(), s.Token, goodPassword, newPassword), "nothing was counted")
	_, err := login(t, e, u.Email, newPassword)
	require.NoError(t, err)
}

// TestChangePasswordNeedsALiveSession: no session, a garbled, ended or
// expired one, or a deactivated user's, changes nothing.
func TestChangePasswordNeedsALiveSession(t *testing.T) {
	e := mustManager(t)
	u, secret, s, _ := e.onboard(t, "ana@acme.test")
	for name, tok := range map[string]string{"Empty": "", "Garbage": "ums_nope", "Refresh": s.RefreshToken} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(e.m.ChangePassword(context.Background(), tok, goodPassword, newPassword)))
		})
	}
	t.Run("Expired", func(t *testing.T) {
		e.clock.Advance(31 * time.Minute)
		assert.Equal(t, usermgmt.CodeExpired, code(e.m.ChangePassword(context.Background(), s.Token, goodPassword, newPassword)))
	})
	t.Run("LoggedOut", func(t *testing.T) {
		s2 := signIn(t, e, u.Email, secret, false)
		require.NoError(t, e.m.Logout(context.Background(), s2.Token))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(e.m.ChangePassword(context.Background(), s2.Token, goodPassword, newPassword)))
	})
	_, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err, "the password is unchanged")
}
