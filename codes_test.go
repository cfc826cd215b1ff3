package usermgmt_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// A code that could not be a TOTP or recovery code is a typo, not a
// guess: invalid, not verified, not counted towards the lockout.
func TestMalformedCodeIsInvalidAndNotCounted(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.MaxFailedAttempts = 2 })
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	for _, c := range []string{"", "12345", "1234567", "abcdef", "12 456", "１２３４５６", "abcde-fghi", "abcde-fghij-k"} {
		_, err := e.m.VerifyMFA(context.Background(), res.MFAChallenge, c, false)
		assert.Equal(t, usermgmt.CodeInvalid, code(err), "%q", c)
	}
	_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), false)
	assert.NoError(t, err, "eight typos did not lock the account, nor spend the challenge")

	t.Run("AtEnrolment", func(t *testing.T) {
		_, token := e.invite(t, "new@acme.test")
		enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
		require.NoError(t, err)
		for _, c := range []string{"", "12345", "abcdef", enr.RecoveryCodes[0]} {
			_, err := e.m.CompleteMFAEnrollment(context.Background(), enr.Token, c)
			assert.Equal(t, usermgmt.CodeInvalid, code(err), "%q", c)
		}
		_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
		assert.NoError(t, err)
	})
}

// RFC 6238's window is one step each way: T-1 and T+1 pass, T-2 and T+2
// do not (TestTOTPWindowAndReplay covers the last three on a shared user).
func TestTOTPPreviousStepIsAccepted(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	e.clock.Advance(5 * 30 * time.Second)
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	now := e.clock.Now()
	e.clock.Advance(-30 * time.Second)
	previous := e.code(t, secret)
	e.clock.Advance(now.Sub(e.clock.Now()))
	_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, previous, false)
	assert.NoError(t, err)
}

// The code that confirmed the enrolment has spent its time step: it cannot
// be used again as the first login's code.
func TestEnrolmentCodeCannotLogIn(t *testing.T) {
	e := mustManager(t)
	u, token := e.invite(t, "ana@acme.test")
	enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	first := e.code(t, enr.Secret)
	_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, first)
	require.NoError(t, err)
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, first, false)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
}
