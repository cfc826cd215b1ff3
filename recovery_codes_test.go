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

// codesLeft reads, as the user themselves, how many recovery codes u has.
func codesLeft(t *testing.T, e *env, u usermgmt.User) int {
	t.Helper()
	n, err := e.m.RecoveryCodesLeft(e.as(u), tenant, u.ID)
	require.NoError(t, err)
	return n
}

// loginWith signs u in with the password and code and returns the error
// of the code step.
func loginWith(t *testing.T, e *env, u usermgmt.User, code string) error {
	t.Helper()
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, code, false)
	return err
}

func TestRecoveryCodesLeft(t *testing.T) {
	e := mustManager(t)
	ana, _, _, codes := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	assert.Equal(t, 10, codesLeft(t, e, ana))
	require.NoError(t, loginWith(t, e, ana, codes[0]))
	assert.Equal(t, 9, codesLeft(t, e, ana), "a spent code is gone")

	t.Run("WhoMayAsk", func(t *testing.T) {
		bob, _, _, _ := e.onboard(t, "bob@acme.test", usermgmt.RoleAgent)
		_, err := e.m.RecoveryCodesLeft(e.as(bob), tenant, ana.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "an agent about someone else")
		n, err := e.m.RecoveryCodesLeft(e.ctx, tenant, ana.ID)
		require.NoError(t, err, "an admin who may list users")
		assert.Equal(t, 9, n)
		n, err = e.m.RecoveryCodesLeft(system, tenant, ana.ID)
		require.NoError(t, err)
		assert.Equal(t, 9, n)
		_, err = e.m.RecoveryCodesLeft(context.Background(), tenant, ana.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "no actor: fail closed")
		_, err = e.m.RecoveryCodesLeft(system, "other", ana.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "another tenant")
		_, err = e.m.RecoveryCodesLeft(system, tenant, uuid.Must(uuid.NewV7()))
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
	})

	t.Run("NoneWithoutTOTP", func(t *testing.T) {
		require.NoError(t, e.m.ResetMFA(e.sudo(e.admin), tenant, ana.ID))
		assert.Equal(t, 0, codesLeft(t, e, ana))
	})
}

func TestRegenerateRecoveryCodes(t *testing.T) {
	t.Run("ReplacesAllAndTheOldStopWorking", func(t *testing.T) {
		e := mustManager(t)
		ana, secret, s, old := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
		require.NoError(t, loginWith(t, e, ana, old[0]))
		require.Equal(t, 9, codesLeft(t, e, ana))

		fresh, err := e.m.RegenerateRecoveryCodes(context.Background(), s.Token, e.code(t, secret))
		require.NoError(t, err)
		require.Len(t, fresh, 10)
		seen := map[string]bool{}
		for _, c := range fresh {
			assert.Regexp(t, `^[a-z2-9]{5}-[a-z2-9]{5}$`, c)
			assert.NotContains(t, old, c)
			seen[c] = true
		}
		assert.Len(t, seen, 10, "ten different codes")
		assert.Equal(t, 10, codesLeft(t, e, ana))

		ev := lastEvent(t, e, ana)
		assert.Equal(t, usermgmt.EventMFARecoveryRegenerated, ev.Type)
		assert.Equal(t, ana.ID, ev.ActorID, "the person did it")
		e.clock.Advance(30 * time.Second)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(loginWith(t, e, ana, old[1])), "an old code stops working")
		require.NoError(t, loginWith(t, e, ana, fresh[0]), "a new one works")
		assert.Equal(t, 9, codesLeft(t, e, ana))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(loginWith(t, e, ana, fresh[0])), "once")
	})

	t.Run("OnlyATOTPCode", func(t *testing.T) {
		e := mustManager(t)
		ana, _, s, old := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
		for _, c := range []string{old[0], "", "12345", "abcdef"} {
			_, err := e.m.RegenerateRecoveryCodes(context.Background(), s.Token, c)
			assert.Equal(t, usermgmt.CodeInvalid, code(err), "%q", c)
		}
		assert.Equal(t, 10, codesLeft(t, e, ana), "the recovery code was not spent")
		require.NoError(t, loginWith(t, e, ana, old[0]), "and still works")
	})

	t.Run("ATOTPStepWorksOnce", func(t *testing.T) {
		e := mustManager(t)
		_, secret, s, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
		c := e.code(t, secret)
		_, err := e.m.RegenerateRecoveryCodes(context.Background(), s.Token, c)
		require.NoError(t, err)
		_, err = e.m.RegenerateRecoveryCodes(context.Background(), s.Token, c)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "a replayed code")
	})

	t.Run("WrongCodesCountTowardsTheLockout", func(t *testing.T) {
		e := mustManager(t)
		ana, secret, s, old := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
		_, err := e.m.RegenerateRecoveryCodes(context.Background(), s.Token, "000000")
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		assert.Equal(t, usermgmt.EventMFAFailed, lastEvent(t, e, ana).Type)
		assert.Equal(t, 10, codesLeft(t, e, ana), "nothing changed")

		for range 4 {
			_, err = e.m.RegenerateRecoveryCodes(context.Background(), s.Token, "000000")
			require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		}
		_, err = e.m.RegenerateRecoveryCodes(context.Background(), s.Token, e.code(t, secret))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "five wrong codes pause the key: the right one is answered as wrong")
		assert.Equal(t, usermgmt.EventLoginLocked, lastEventOfType(t, e, ana, usermgmt.EventLoginLocked).Type)
		_, err = login(t, e, ana.Email, goodPassword)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "signing in is paused too")

		e.clock.Advance(2 * time.Minute)
		_, err = e.m.RegenerateRecoveryCodes(context.Background(), s.Token, e.code(t, secret))
		require.NoError(t, err, "after the pause")
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(loginWith(t, e, ana, old[0])))
	})

	t.Run("ARightCodeEndsARunOfWrongOnes", func(t *testing.T) {
		e := mustManager(t)
		ana, secret, s, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
		for range 4 {
			_, _ = e.m.RegenerateRecoveryCodes(context.Background(), s.Token, "000000")
		}
		_, err := e.m.RegenerateRecoveryCodes(context.Background(), s.Token, e.code(t, secret))
		require.NoError(t, err)
		e.clock.Advance(30 * time.Second)
		_, err = e.m.RegenerateRecoveryCodes(context.Background(), s.Token, "000000")
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		require.NoError(t, loginWith(t, e, ana, e.code(t, secret)), "one failure after the reset, not five")
	})

	t.Run("NeedsALiveSessionAndAnAuthenticator", func(t *testing.T) {
		e := mustManager(t)
		_, secret, s, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
		_, err := e.m.RegenerateRecoveryCodes(context.Background(), "ums_garbage", e.code(t, secret))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		require.NoError(t, e.m.Logout(context.Background(), s.Token))
		_, err = e.m.RegenerateRecoveryCodes(context.Background(), s.Token, e.code(t, secret))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))

		o := mustManager(t, func(o *usermgmt.Options) { o.MFAOptional = true })
		_, token := o.invite(t, "plain@acme.test")
		enr, err := o.m.AcceptInvite(context.Background(), token, goodPassword)
		require.NoError(t, err)
		plain, err := o.m.CompleteMFAEnrollment(context.Background(), enr.Token, "")
		require.NoError(t, err)
		_, err = o.m.RegenerateRecoveryCodes(context.Background(), plain.Token, "123456")
		assert.Equal(t, usermgmt.CodeConflict, code(err))
	})

	t.Run("RenewsSudo", func(t *testing.T) {
		c := newSudoCase(t)
		c.clock.Advance(20 * time.Minute)
		_, err := c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		require.Equal(t, usermgmt.CodeMFARequired, code(err))
		_, err = c.m.RegenerateRecoveryCodes(context.Background(), c.session.Token, c.code(t, c.secret))
		require.NoError(t, err)
		_, err = c.m.GrantRole(c.act, tenant, c.target.ID, usermgmt.RoleTenantAdmin)
		assert.NoError(t, err, "the code verified the session")
	})
}

// lastEventOfType returns u's newest event of type typ.
func lastEventOfType(t *testing.T, e *env, u usermgmt.User, typ usermgmt.EventType) usermgmt.Event {
	t.Helper()
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 200})
	require.NoError(t, err)
	for _, ev := range page.Events {
		if ev.Type == typ {
			return ev
		}
	}
	t.Fatalf("no %s event", typ)
	return usermgmt.Event{}
}
