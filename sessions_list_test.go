package usermgmt_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

const (
	uaChromeMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) " +
		"Chrome/131.0.0.0 Safari/537.36"
	uaSafariPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
		"Version/17.1 Mobile/15E148 Safari/604.1"
)

// from is a person's context before signing in: where the request comes
// from, as httpapi passes it.
func from(ip, ua string) context.Context {
	return usermgmt.WithActor(context.Background(), usermgmt.Actor{IP: ip, UserAgent: ua})
}

// signInFrom signs email in with password and TOTP from a browser and
// returns the session and its principal.
func signInFrom(t *testing.T, e *env, email, secret, ip, ua string, trust bool) (usermgmt.Session, usermgmt.Principal) {
	t.Helper()
	ctx := from(ip, ua)
	res, err := e.m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: goodPassword})
	require.NoError(t, err)
	require.NotEmpty(t, res.MFAChallenge)
	s, err := e.m.VerifyMFA(ctx, res.MFAChallenge, e.code(t, secret), trust)
	require.NoError(t, err)
	e.clock.Advance(30 * time.Second)
	p, err := e.m.Authenticate(context.Background(), s.Token)
	require.NoError(t, err)
	return s, p
}

// asSession acts as the holder of a session, as httpapi does.
func asSession(p usermgmt.Principal) context.Context {
	return usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: p.UserID, SessionID: p.SessionID,
		IP: "198.51.100.4", UserAgent: uaChromeMac})
}

func TestListSessions(t *testing.T) {
	e := mustManager(t)
	u, secret, first, _ := e.onboard(t, "ana@acme.test")
	_, mac := signInFrom(t, e, u.Email, secret, "198.51.100.4", uaChromeMac, false)
	e.clock.Advance(time.Minute)
	_, phone := signInFrom(t, e, u.Email, secret, "198.51.100.5", uaSafariPhone, true)

	t.Run("AdminSeesLiveSessionsNewestFirstWithDeviceAndBrowser", func(t *testing.T) {
		got, err := e.m.ListSessions(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		require.Len(t, got.Sessions, 3, "enrolment's session and two sign-ins")
		s := got.Sessions[0]
		assert.Equal(t, phone.SessionID, s.ID)
		assert.Equal(t, "Safari 17", s.Browser)
		assert.Equal(t, "iPhone", s.Device)
		assert.Equal(t, "198.51.100.5", s.IP)
		assert.Equal(t, uaSafariPhone, s.UserAgent)
		assert.False(t, s.Current, "the admin acts through no session of ana's")
		assert.Equal(t, mac.SessionID, got.Sessions[1].ID)
		assert.Equal(t, "Chrome 131", got.Sessions[1].Browser)
		assert.Equal(t, "macOS", got.Sessions[1].Device)
		require.Len(t, got.Devices, 1, "the phone was trusted")
		d := got.Devices[0]
		assert.NotEqual(t, uuid.Nil, d.ID)
		assert.Equal(t, "Safari 17", d.Browser)
		assert.Equal(t, "iPhone", d.Device)
		assert.Equal(t, "198.51.100.5", d.IP)
		assert.True(t, d.ExpiresAt.After(d.CreatedAt))
	})
	t.Run("ThePersonSeesTheirOwnWithTheCurrentOneMarked", func(t *testing.T) {
		got, err := e.m.ListSessions(asSession(mac), tenant, u.ID)
		require.NoError(t, err)
		current := 0
		for _, s := range got.Sessions {
			if s.Current {
				current++
				assert.Equal(t, mac.SessionID, s.ID)
			}
		}
		assert.Equal(t, 1, current)
	})
	t.Run("LastSeenFollowsRequests", func(t *testing.T) {
		e.clock.Advance(5 * time.Minute)
		_, err := e.m.Authenticate(context.Background(), first.Token)
		require.NoError(t, err)
		got, err := e.m.ListSessions(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		for _, s := range got.Sessions {
			if s.ID == phone.SessionID {
				assert.True(t, s.LastSeenAt.Before(e.clock.Now()), "not used since it began")
			}
			if s.CreatedAt.Equal(got.Sessions[2].CreatedAt) {
				assert.True(t, e.clock.Now().Equal(s.LastSeenAt), "used just now: %v", s.LastSeenAt)
			}
		}
	})
	t.Run("EndedSessionsAreNotListed", func(t *testing.T) {
		e.clock.Advance(25 * time.Minute) // past the idle timeout of all but the one just used
		got, err := e.m.ListSessions(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		require.Len(t, got.Sessions, 1)
		assert.Len(t, got.Devices, 1, "a device outlives sessions")
	})
}

func TestListSessionsAuthorization(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	e.clock.Advance(time.Minute)
	hr, _, _, _ := e.onboard(t, "hr@acme.test", usermgmt.RoleHRAdmin)
	e.clock.Advance(time.Minute)
	peer, _, _, _ := e.onboard(t, "peer@acme.test", usermgmt.RoleAgent)
	_, p := signInFrom(t, e, u.Email, secret, "198.51.100.4", uaChromeMac, false)
	foreign := e.seedActive(t, "globex", "someone@globex.test", usermgmt.RoleTenantAdmin)

	cases := []struct {
		name string
		ctx  context.Context
		user uuid.UUID
		want usermgmt.Code
	}{
		{"AnAgentOnTheirOwn", asSession(p), u.ID, ""},
		{"AnAgentOnAnother", e.as(peer), u.ID, usermgmt.CodePermissionDenied},
		{"AnHRAdminOnAnAgent", e.as(hr), u.ID, ""},
		{"AnHRAdminOnATenantAdmin", e.as(hr), e.admin.ID, usermgmt.CodePermissionDenied},
		{"ATenantAdminOnAnotherTenantsUser", e.ctx, foreign.ID, usermgmt.CodeNotFound},
		{"NoActor", context.Background(), u.ID, usermgmt.CodePermissionDenied},
		{"TrustedCode", system, u.ID, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.m.ListSessions(c.ctx, tenant, c.user)
			assert.Equal(t, c.want, code(err), "ListSessions: %v", err)
			err = e.m.RevokeSession(c.ctx, tenant, c.user, uuid.Must(uuid.NewV7()))
			want := c.want
			if want == "" {
				want = usermgmt.CodeNotFound // authorized, and no such session
			}
			assert.Equal(t, want, code(err), "RevokeSession: %v", err)
			err = e.m.RevokeDevice(c.ctx, tenant, c.user, uuid.Must(uuid.NewV7()))
			assert.Equal(t, want, code(err), "RevokeDevice: %v", err)
		})
	}
}

// singleRevoker records both kinds of call.
type singleRevoker struct {
	mu       sync.Mutex
	users    []uuid.UUID
	sessions []uuid.UUID
	fail     error
}

func (r *singleRevoker) RevokeUserSessions(_ context.Context, _ string, userID uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users = append(r.users, userID)
	return nil
}

func (r *singleRevoker) RevokeSession(_ context.Context, _ string, _, sessionID uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions = append(r.sessions, sessionID)
	return r.fail
}

func TestRevokeSession(t *testing.T) {
	single := &singleRevoker{}
	plain := 0
	e := mustManager(t, func(o *usermgmt.Options) {
		o.Revokers = []usermgmt.SessionRevoker{single, revokerFunc(func(context.Context, string, uuid.UUID) error {
			plain++
			return nil
		})}
	})
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	mac, macP := signInFrom(t, e, u.Email, secret, "198.51.100.4", uaChromeMac, false)
	phone, _ := signInFrom(t, e, u.Email, secret, "198.51.100.5", uaSafariPhone, false)
	other, otherSecret, _, _ := e.onboard(t, "bo@acme.test")
	e.clock.Advance(time.Minute)
	_, otherP := signInFrom(t, e, other.Email, otherSecret, "198.51.100.6", uaChromeMac, false)

	t.Run("AnotherUsersSessionIsNotFound", func(t *testing.T) {
		err := e.m.RevokeSession(e.ctx, tenant, u.ID, otherP.SessionID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
		err = e.m.RevokeSession(asSession(macP), tenant, u.ID, otherP.SessionID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "not even the person's own way")
	})
	t.Run("EndsThatSessionOnly", func(t *testing.T) {
		require.NoError(t, e.m.RevokeSession(e.ctx, tenant, u.ID, macP.SessionID))
		_, err := e.m.Authenticate(context.Background(), mac.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.Refresh(context.Background(), mac.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "its refresh token too")
		_, err = e.m.Authenticate(context.Background(), phone.Token)
		assert.NoError(t, err, "the other session goes on")
		err = e.m.RevokeSession(e.ctx, tenant, u.ID, macP.SessionID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "twice")
	})
	t.Run("TellsSingleSessionRevokersOnly", func(t *testing.T) {
		assert.Equal(t, []uuid.UUID{macP.SessionID}, single.sessions)
		assert.Empty(t, single.users, "no revoker is asked to end all the user's sessions")
		assert.Zero(t, plain, "a revoker without the optional interface is not called")
	})
	t.Run("IsInTheActivityLog", func(t *testing.T) {
		page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		ev := page.Events[0]
		assert.Equal(t, usermgmt.EventSessionRevoked, ev.Type)
		assert.Equal(t, e.admin.ID, ev.ActorID)
		assert.Equal(t, "Chrome 131 on macOS", ev.Detail)
	})
	t.Run("AFailingRevokerIsInternalAndTheSessionStaysEnded", func(t *testing.T) {
		single.fail = errors.New("host cache down")
		_, phoneP := signInFrom(t, e, u.Email, secret, "198.51.100.5", uaSafariPhone, false)
		err := e.m.RevokeSession(e.ctx, tenant, u.ID, phoneP.SessionID)
		assert.Equal(t, usermgmt.CodeInternal, code(err))
		got, err := e.m.ListSessions(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		for _, s := range got.Sessions {
			assert.NotEqual(t, phoneP.SessionID, s.ID)
		}
	})
	t.Run("ThePersonEndsTheirOwnCurrentSession", func(t *testing.T) {
		s, p := signInFrom(t, e, u.Email, secret, "198.51.100.4", uaChromeMac, false)
		single.fail = nil
		require.NoError(t, e.m.RevokeSession(asSession(p), tenant, u.ID, p.SessionID))
		_, err := e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		assert.Equal(t, u.ID, page.Events[0].ActorID, "the person did it")
	})
}

func TestRevokeDevice(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	phone, _ := signInFrom(t, e, u.Email, secret, "198.51.100.5", uaSafariPhone, true)
	mac, _ := signInFrom(t, e, u.Email, secret, "198.51.100.4", uaChromeMac, true)
	other, otherSecret, _, _ := e.onboard(t, "bo@acme.test")
	signInFrom(t, e, other.Email, otherSecret, "198.51.100.6", uaChromeMac, true)
	list := func(id uuid.UUID) usermgmt.UserSessions {
		t.Helper()
		got, err := e.m.ListSessions(e.ctx, tenant, id)
		require.NoError(t, err)
		return got
	}
	devices := list(u.ID).Devices
	require.Len(t, devices, 2)
	require.Equal(t, "iPhone", devices[1].Device)
	theirs := list(other.ID).Devices[0]

	err := e.m.RevokeDevice(e.ctx, tenant, u.ID, theirs.ID)
	assert.Equal(t, usermgmt.CodeNotFound, code(err), "another user's device")
	require.NoError(t, e.m.RevokeDevice(e.ctx, tenant, u.ID, devices[1].ID))

	res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email,
		Password: goodPassword, DeviceToken: phone.DeviceToken})
	require.NoError(t, err)
	assert.Nil(t, res.Session, "the revoked device asks for TOTP again")
	assert.NotEmpty(t, res.MFAChallenge)
	res, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email,
		Password: goodPassword, DeviceToken: mac.DeviceToken})
	require.NoError(t, err)
	assert.NotNil(t, res.Session, "the other device is still trusted")
	_, err = e.m.Authenticate(context.Background(), phone.Token)
	assert.NoError(t, err, "the device's session goes on: revoke it on its own")

	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	found := false
	for _, ev := range page.Events {
		if ev.Type == usermgmt.EventDeviceRevoked {
			found = true
			assert.Equal(t, "Safari 17 on iPhone", ev.Detail)
		}
	}
	assert.True(t, found, "device.revoked is logged")
	assert.Len(t, list(u.ID).Devices, 1)
	err = e.m.RevokeDevice(e.ctx, tenant, u.ID, devices[1].ID)
	assert.Equal(t, usermgmt.CodeNotFound, code(err), "twice")
}
