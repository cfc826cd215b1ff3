package usermgmt_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// Authenticate moves the idle limit only once it lags a step
// (usermgmt.IdleStep) behind: no session outlives its idle limit, one may
// end up to a step early, and revocation bites on the next request.
func TestIdleLimitUnderCoarseBump(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	idle := 30 * time.Minute // the default
	step := usermgmt.IdleStep(idle)

	t.Run("IdleSinceTheLastBumpIsRefused", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		e.clock.Advance(step - 30*time.Second) // a step after the login (signIn waits 30 s): no bump
		_, err := e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		e.clock.Advance(idle - step) // idle since login
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeExpired, code(err), "idle limit counted from the login, a step early at most")
	})
	t.Run("UsePastTheStepMovesTheLimit", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		e.clock.Advance(step + time.Second)
		_, err := e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		e.clock.Advance(idle - time.Second)
		_, err = e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err, "idle less than idle since the bump")
		e.clock.Advance(idle)
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeExpired, code(err), "never later than idle after the last use")
	})
	t.Run("RevokedWithinTheStepIsRefused", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		_, err := e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		require.NoError(t, e.m.ForceLogout(e.ctx, tenant, u.ID))
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	})
	t.Run("DeactivatedWithinTheStepIsRefused", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		_, err := e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		_, err = e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.Activate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
	})
}

// The Principal carries the session's user as GetUser shows it to trusted
// code, read in the same store call: /me needs no second read. Its group
// roles are in GetUser's order (the store returns them in any order).
func TestAuthenticateReturnsTheUser(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	e.group(t, "Zulu", []usermgmt.Role{usermgmt.RoleAgent, usermgmt.RoleSupervisor}, u.ID)
	e.group(t, "Alpha", []usermgmt.Role{usermgmt.RoleAgent, usermgmt.RoleRecruiter}, u.ID)
	e.group(t, "Mike", []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent, usermgmt.RoleRecruiter}, u.ID)
	s := signIn(t, e, u.Email, secret, false)
	p, err := e.m.Authenticate(context.Background(), s.Token)
	require.NoError(t, err)
	want, err := e.m.GetUser(usermgmt.AsSystem(context.Background()), tenant, u.ID)
	require.NoError(t, err)
	require.Len(t, want.GroupRoles, 7)
	assert.Equal(t, want, p.User)
}
