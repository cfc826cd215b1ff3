package usermgmt_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// TestPruneExpired: what has expired is deleted and counted; what has not
// keeps working; a pruned link or session answers as an unknown one does.
func TestPruneExpired(t *testing.T) {
	e := mustManager(t)
	u, secret, first, _ := e.onboard(t, "ana@acme.test")
	_, lateInvite := e.invite(t, "late@acme.test")
	old := signIn(t, e, u.Email, secret, true) // a session and a trusted device
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	require.NotEmpty(t, res.MFAChallenge, "a challenge never answered")

	p, err := e.m.PruneExpired(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usermgmt.Pruned{}, p, "nothing has expired yet")

	// A month later: the invitations (7 days; ana's, spent, was kept until
	// then to tell a used link from an unknown one), the challenge (5 minutes),
	// both sessions (30 minutes idle) and the device (30 days) are past.
	e.clock.Advance(31 * 24 * time.Hour)
	_, err = e.m.Authenticate(context.Background(), old.Token)
	assert.Equal(t, usermgmt.CodeExpired, code(err), "expired, before the prune")
	live := signIn(t, e, u.Email, secret, true)
	_, freshInvite := e.invite(t, "fresh@acme.test")
	activity := func() []usermgmt.Event {
		page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 100})
		require.NoError(t, err)
		return page.Events
	}
	users := func() usermgmt.UserPage {
		page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Limit: 100})
		require.NoError(t, err)
		return page
	}
	eventsBefore, usersBefore := activity(), users()

	p, err = e.m.PruneExpired(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usermgmt.Pruned{Tokens: 3, Sessions: 2, Devices: 1}, p)
	p, err = e.m.PruneExpired(context.Background())
	require.NoError(t, err)
	assert.Equal(t, usermgmt.Pruned{}, p, "pruned once")
	assert.Equal(t, eventsBefore, activity(), "pruning logs nothing and deletes no event")
	assert.Equal(t, usersBefore, users(), "users are untouched")

	// Pruned: answered as unknown.
	_, err = e.m.AcceptInvite(context.Background(), lateInvite, goodPassword)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "expired, then pruned invitation")
	for _, s := range []usermgmt.Session{first, old} {
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "pruned session")
		_, err = e.m.Refresh(context.Background(), s.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "pruned session's refresh token")
	}
	res, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: goodPassword, DeviceToken: old.DeviceToken})
	require.NoError(t, err)
	assert.Nil(t, res.Session, "a pruned device no longer skips TOTP")
	assert.NotEmpty(t, res.MFAChallenge)

	// Live: still working.
	p1, err := e.m.Authenticate(context.Background(), live.Token)
	require.NoError(t, err)
	assert.Equal(t, u.ID, p1.UserID)
	refreshed, err := e.m.Refresh(context.Background(), live.RefreshToken)
	require.NoError(t, err)
	_, err = e.m.Authenticate(context.Background(), refreshed.Token)
	require.NoError(t, err)
	res, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: goodPassword, DeviceToken: live.DeviceToken})
	require.NoError(t, err)
	assert.NotNil(t, res.Session, "a live trusted device still skips TOTP")
	_, err = e.m.AcceptInvite(context.Background(), freshInvite, goodPassword)
	require.NoError(t, err, "a live invitation")
}
