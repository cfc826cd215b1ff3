package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// A link checked on one instance and followed on the other: the check
// spends nothing, and after the accept both instances call it used; the
// prune forgets it once it would have expired.
func TestLinkChecksAcrossInstances(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	_, err := in.one.InviteUser(usermgmt.AsSystem(ctx), "acme", usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err)
	token := in.mail.Token("ana@acme.test")

	c, err := in.one.CheckInvite(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.LinkCheck{State: usermgmt.LinkValid, Email: "ana@acme.test", Product: "Acme"}, c)
	_, err = in.two.AcceptInvite(ctx, token, "correct horse battery staple")
	require.NoError(t, err)
	for _, m := range []*usermgmt.Manager{in.one, in.two} {
		c, err := m.CheckInvite(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.LinkUsed, c.State)
	}
	_, err = in.one.AcceptInvite(ctx, token, "correct horse battery staple")
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "used once")

	in.clock.Advance(8 * 24 * time.Hour)
	_, err = in.one.PruneExpired(ctx)
	require.NoError(t, err)
	_, err = in.two.CheckInvite(ctx, token)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "forgotten once it would have expired")
}
