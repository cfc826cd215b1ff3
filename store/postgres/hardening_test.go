package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The revocation, link and throttle rules of the Manager hold on
// PostgreSQL across two instances, as on the memory store.
func TestRevocationAndLinksOnPostgres(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	sys := usermgmt.AsSystem(ctx)

	t.Run("ForceLogoutKillsAPendingChallenge", func(t *testing.T) {
		u, secret, _ := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
		res, err := in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
		require.NoError(t, err)
		require.NoError(t, in.two.ForceLogout(sys, "acme", u.ID))
		_, err = in.one.VerifyMFA(ctx, res.MFAChallenge, in.code(t, secret), false)
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
	})

	t.Run("DeactivateThenActivateRevivesNoLink", func(t *testing.T) {
		u, err := in.one.InviteUser(sys, "acme", usermgmt.Invite{Email: "new@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		token := in.mail.Token(u.Email)
		_, err = in.two.Deactivate(sys, "acme", u.ID)
		require.NoError(t, err)
		_, err = in.one.Activate(sys, "acme", u.ID)
		require.NoError(t, err)
		_, err = in.two.AcceptInvite(ctx, token, pw)
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
	})

	t.Run("ALinkOfAnotherTenantIsRefusedAndKept", func(t *testing.T) {
		u, err := in.one.InviteUser(sys, "globex", usermgmt.Invite{Email: "bo@globex.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		token := in.mail.Token(u.Email)
		_, err = in.two.AcceptInvite(usermgmt.ForTenant(ctx, "acme"), token, pw)
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
		_, err = in.one.AcceptInvite(usermgmt.ForTenant(ctx, "globex"), token, pw)
		assert.NoError(t, err)
	})

	t.Run("AdminResetsAreSpacedAcrossInstances", func(t *testing.T) {
		u, _, _ := in.onboard(t, "cy@acme.test", usermgmt.RoleAgent)
		in.clock.Advance(time.Minute)
		require.NoError(t, in.one.SendPasswordReset(sys, "acme", u.ID))
		err := in.two.SendPasswordReset(sys, "acme", u.ID)
		require.Equal(t, usermgmt.CodeRateLimited, usermgmt.ErrorCode(err))
		var ue *usermgmt.Error
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, int64(60), ue.RetryAfter)
	})
}
