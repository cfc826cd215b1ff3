package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// TestRegenerateRecoveryCodesAcrossInstances: codes replaced through one
// instance are counted and checked by the other at once; an old code is
// refused and a new one works once.
func TestRegenerateRecoveryCodesAcrossInstances(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	system := usermgmt.AsSystem(ctx)
	u, secret, s := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	left := func() int {
		t.Helper()
		n, err := in.two.RecoveryCodesLeft(system, "acme", u.ID)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 10, left())

	old, err := in.one.RegenerateRecoveryCodes(ctx, s.Token, in.code(t, secret))
	require.NoError(t, err)
	fresh, err := in.one.RegenerateRecoveryCodes(ctx, s.Token, in.code(t, secret))
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "the same time step again")
	assert.Nil(t, fresh)
	in.clock.Advance(30 * time.Second)
	fresh, err = in.one.RegenerateRecoveryCodes(ctx, s.Token, in.code(t, secret))
	require.NoError(t, err)
	require.Len(t, fresh, 10)

	verify := func(code string) error {
		res, err := in.two.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
		require.NoError(t, err)
		_, err = in.two.VerifyMFA(ctx, res.MFAChallenge, code, false)
		return err
	}
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(verify(old[0])), "replaced codes stop working")
	require.NoError(t, verify(fresh[3]))
	assert.Equal(t, 9, left())
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(verify(fresh[3])), "once")

	page, err := in.one.ListActivity(system, "acme", u.ID, usermgmt.ActivityQuery{Limit: 200})
	require.NoError(t, err)
	n := 0
	for _, ev := range page.Events {
		if ev.Type == usermgmt.EventMFARecoveryRegenerated {
			n++
			assert.Equal(t, u.ID, ev.ActorID)
		}
	}
	assert.Equal(t, 2, n, "one event per replacement")
}
