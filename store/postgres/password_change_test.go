package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// TestChangePasswordAcrossInstances: a change through one instance keeps
// the calling session and ends the others, as the other instance sees at
// once.
func TestChangePasswordAcrossInstances(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	u, secret, here := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	res, err := in.two.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
	require.NoError(t, err)
	elsewhere, err := in.two.VerifyMFA(ctx, res.MFAChallenge, in.code(t, secret), true)
	require.NoError(t, err)
	in.clock.Advance(30 * time.Second)
	pending, err := in.two.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
	require.NoError(t, err)

	const next = "a brand new passphrase"
	require.NoError(t, in.one.ChangePassword(ctx, here.Token, pw, next))
	_, err = in.two.Authenticate(ctx, here.Token)
	assert.NoError(t, err, "the calling session stays")
	_, err = in.two.Authenticate(ctx, elsewhere.Token)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "another ends")
	_, err = in.two.Refresh(ctx, elsewhere.RefreshToken)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
	_, err = in.two.VerifyMFA(ctx, pending.MFAChallenge, in.code(t, secret), false)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "a pending challenge ends")
	res, err = in.two.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: next, DeviceToken: elsewhere.DeviceToken})
	require.NoError(t, err)
	assert.Nil(t, res.Session, "trusted devices end")
	_, err = in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
}
