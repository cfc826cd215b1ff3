package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// A user's sessions and trusted devices on PostgreSQL: listed through one
// instance with a readable device and browser, revoked one at a time
// through the other, and refused at once everywhere.
func TestSessionsAndDevicesOnPostgres(t *testing.T) {
	in := twoManagers(t)
	admin, _, _ := in.onboard(t, "admin@acme.test", usermgmt.RoleTenantAdmin)
	asAdmin := usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: admin.ID, IP: "203.0.113.1"})
	ana, secret, _ := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	signIn := func(ua string, trust bool) (usermgmt.Session, usermgmt.Principal) {
		t.Helper()
		ctx := usermgmt.WithActor(context.Background(), usermgmt.Actor{IP: "198.51.100.9", UserAgent: ua})
		res, err := in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: ana.Email, Password: pw})
		require.NoError(t, err)
		s, err := in.two.VerifyMFA(ctx, res.MFAChallenge, in.code(t, secret), trust)
		require.NoError(t, err)
		in.clock.Advance(2 * time.Minute) // past usermgmt.IdleStep: Authenticate moves last seen
		p, err := in.one.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		return s, p
	}
	mac, macP := signIn("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "+
		"Chrome/131.0.0.0 Safari/537.36", true)
	win, winP := signIn("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", false)

	got, err := in.two.ListSessions(asAdmin, "acme", ana.ID)
	require.NoError(t, err)
	require.Len(t, got.Sessions, 3, "enrolment's and two sign-ins")
	assert.Equal(t, winP.SessionID, got.Sessions[0].ID)
	assert.Equal(t, "Firefox 133", got.Sessions[0].Browser)
	assert.Equal(t, "Windows", got.Sessions[0].Device)
	assert.Equal(t, macP.SessionID, got.Sessions[1].ID)
	assert.Equal(t, "Chrome 131", got.Sessions[1].Browser)
	assert.True(t, in.clock.Now().Equal(got.Sessions[0].LastSeenAt),
		"seen at its Authenticate: %v", got.Sessions[0].LastSeenAt)
	require.Len(t, got.Devices, 1)
	assert.Equal(t, "macOS", got.Devices[0].Device)
	assert.Equal(t, "198.51.100.9", got.Devices[0].IP)

	own, err := in.one.ListSessions(usermgmt.WithActor(context.Background(),
		usermgmt.Actor{UserID: ana.ID, SessionID: macP.SessionID}), "acme", ana.ID)
	require.NoError(t, err)
	assert.True(t, own.Sessions[1].Current)
	assert.False(t, own.Sessions[0].Current)

	require.NoError(t, in.one.RevokeSession(asAdmin, "acme", ana.ID, winP.SessionID))
	_, err = in.two.Authenticate(context.Background(), win.Token)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "revoked through one, refused by two")
	_, err = in.two.Authenticate(context.Background(), mac.Token)
	assert.NoError(t, err, "the other session goes on")

	require.NoError(t, in.two.RevokeDevice(asAdmin, "acme", ana.ID, got.Devices[0].ID))
	res, err := in.one.Login(context.Background(), usermgmt.LoginRequest{TenantID: "acme", Email: ana.Email,
		Password: pw, DeviceToken: mac.DeviceToken})
	require.NoError(t, err)
	assert.Nil(t, res.Session, "the revoked device asks for TOTP")

	other := usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: admin.ID})
	err = in.one.RevokeSession(other, "globex", ana.ID, macP.SessionID)
	assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err), "not an actor of that tenant")
	acts, err := in.two.ListActivity(asAdmin, "acme", ana.ID, usermgmt.ActivityQuery{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.EventDeviceRevoked, acts.Events[0].Type)
	assert.Equal(t, usermgmt.EventSessionRevoked, acts.Events[1].Type)
	assert.Equal(t, "Firefox 133 on Windows", acts.Events[1].Detail)
}
