package usermgmt_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The person's pages check their link before asking for a password: the
// check tells valid, expired and used apart, names the account and the
// product, and never spends the link.
func TestCheckLink(t *testing.T) {
	ctx := context.Background()
	t.Run("InviteValidThenUsed", func(t *testing.T) {
		e := mustManager(t)
		_, token := e.invite(t, "new@acme.test")
		for range 2 {
			c, err := e.m.CheckInvite(ctx, token)
			require.NoError(t, err)
			assert.Equal(t, usermgmt.LinkCheck{State: usermgmt.LinkValid, Email: "new@acme.test", Product: "Acme HR"}, c)
		}
		_, err := e.m.AcceptInvite(ctx, token, goodPassword)
		require.NoError(t, err, "checking spent nothing")
		c, err := e.m.CheckInvite(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.LinkUsed, c.State, "used, not unknown")
		assert.Equal(t, "new@acme.test", c.Email)
		_, err = e.m.AcceptInvite(ctx, token, goodPassword)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "a used link still works once only")
	})
	t.Run("InviteExpired", func(t *testing.T) {
		e := mustManager(t)
		_, token := e.invite(t, "new@acme.test")
		e.clock.Advance(8 * 24 * time.Hour)
		c, err := e.m.CheckInvite(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.LinkExpired, c.State)
	})
	t.Run("ReplacedInviteIsNotALink", func(t *testing.T) {
		e := mustManager(t)
		u, old := e.invite(t, "new@acme.test")
		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.ResendInvite(e.ctx, tenant, u.ID))
		_, err := e.m.CheckInvite(ctx, old)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	})
	t.Run("UnknownAndMalformedAreNotLinks", func(t *testing.T) {
		e := mustManager(t)
		_, token := e.invite(t, "new@acme.test")
		last := "A" // another last character: one the token does not end in
		if strings.HasSuffix(token, last) {
			last = "B"
		}
		for _, bad := range []string{"", "nonsense", token[:len(token)-1] + last, "umr_" + token[4:]} {
			_, err := e.m.CheckInvite(ctx, bad)
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "%q", bad)
		}
		_, err := e.m.CheckPasswordReset(ctx, token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "an invitation is no reset link")
	})
	t.Run("OtherTenantIsNotALink", func(t *testing.T) {
		e := mustManager(t)
		_, token := e.invite(t, "new@acme.test")
		_, err := e.m.CheckInvite(usermgmt.ForTenant(ctx, "globex"), token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.CheckInvite(usermgmt.ForTenant(ctx, tenant), token)
		assert.NoError(t, err)
	})
	t.Run("Reset", func(t *testing.T) {
		e := mustManager(t)
		u, _, _, _ := e.onboard(t, "ana@acme.test")
		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
		token := e.lastToken(t, u.Email)
		c, err := e.m.CheckPasswordReset(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.LinkCheck{State: usermgmt.LinkValid, Email: "ana@acme.test", Product: "Acme HR"}, c)
		require.NoError(t, e.m.ResetPassword(ctx, token, "a brand new passphrase"))
		c, err = e.m.CheckPasswordReset(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.LinkUsed, c.State)

		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
		token = e.lastToken(t, u.Email)
		e.clock.Advance(2 * time.Hour)
		c, err = e.m.CheckPasswordReset(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.LinkExpired, c.State)
	})
}
