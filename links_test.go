package usermgmt_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// A host that knows the request's tenant (usermgmt.ForTenant) refuses a
// link or challenge of another tenant, and leaves it working where it
// belongs.
func TestTokensAreBoundToTheRequestTenant(t *testing.T) {
	onAcme := usermgmt.ForTenant(context.Background(), tenant)
	onGlobex := usermgmt.ForTenant(context.Background(), "globex")

	t.Run("Invitation", func(t *testing.T) {
		e := mustManager(t)
		_, token := e.invite(t, "new@acme.test")
		_, err := e.m.AcceptInvite(onGlobex, token, goodPassword)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.AcceptInvite(onAcme, token, goodPassword)
		assert.NoError(t, err, "not spent by the refused try")
	})
	t.Run("Enrolment", func(t *testing.T) {
		e := mustManager(t)
		_, token := e.invite(t, "new@acme.test")
		enr, err := e.m.AcceptInvite(onAcme, token, goodPassword)
		require.NoError(t, err)
		_, err = e.m.CompleteMFAEnrollment(onGlobex, enr.Token, e.code(t, enr.Secret))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.CompleteMFAEnrollment(onAcme, enr.Token, e.code(t, enr.Secret))
		assert.NoError(t, err)
	})
	t.Run("Reset", func(t *testing.T) {
		e := mustManager(t)
		u, _, _, _ := e.onboard(t, "ana@acme.test")
		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
		token := e.lastToken(t, u.Email)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(e.m.ResetPassword(onGlobex, token, "a brand new passphrase")))
		assert.NoError(t, e.m.ResetPassword(onAcme, token, "a brand new passphrase"))
	})
	t.Run("MFAChallenge", func(t *testing.T) {
		e := mustManager(t)
		u, secret, _, _ := e.onboard(t, "ana@acme.test")
		res, err := login(t, e, u.Email, goodPassword)
		require.NoError(t, err)
		_, err = e.m.VerifyMFA(onGlobex, res.MFAChallenge, e.code(t, secret), false)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.VerifyMFA(onAcme, res.MFAChallenge, e.code(t, secret), false)
		assert.NoError(t, err)
	})
}

// An admin's reset mails are spaced like self-service ones: at most one a
// MailInterval per user, with the time left to wait.
func TestAdminResetIsThrottled(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	other, _, _, _ := e.onboard(t, "bob@acme.test")
	e.clock.Advance(time.Minute)
	require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
	sent := len(e.mail.Messages())
	e.clock.Advance(20 * time.Second)
	for range 20 {
		err := e.m.SendPasswordReset(e.ctx, tenant, u.ID)
		require.Equal(t, usermgmt.CodeRateLimited, code(err))
		var ue *usermgmt.Error
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, int64(40), ue.RetryAfter)
	}
	assert.Len(t, e.mail.Messages(), sent, "no mail while throttled")
	assert.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, other.ID), "per user, not per admin")
	e.clock.Advance(40 * time.Second)
	assert.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
}

// A request for a reset changes nothing on the account until the link is
// used: the old password still works, and only the newest link does.
func TestResetRequestChangesNothing(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	e.clock.Advance(time.Minute)
	require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
	first := e.lastToken(t, u.Email)
	_, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err, "the old password still works after a reset request")

	e.clock.Advance(time.Minute)
	require.NoError(t, e.m.RequestPasswordReset(context.Background(), tenant, u.Email))
	require.NoError(t, e.m.Close())
	second := e.lastToken(t, u.Email)
	require.NotEqual(t, first, second)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(e.m.ResetPassword(context.Background(), first, "a brand new passphrase")),
		"the second request killed the first link")
	assert.NoError(t, e.m.ResetPassword(context.Background(), second, "a brand new passphrase"))
}

// A deactivated user's reset link is refused even if it was never deleted
// (it is, by Deactivate; this pins the status check behind it).
func TestResetLinkOfDeactivatedUserIsRefused(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	e.clock.Advance(time.Minute)
	require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
	token := e.lastToken(t, u.Email)
	// Deactivate behind the Manager's back, so the link survives and only
	// ResetPassword's own check stands between it and the account.
	err := e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		r, err := tx.LockUser(ctx, tenant, u.ID)
		if err != nil {
			return err
		}
		r.Status = usermgmt.StatusDeactivated
		return tx.UpdateUser(ctx, &r)
	})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(e.m.ResetPassword(context.Background(), token, "a brand new passphrase")))
}
