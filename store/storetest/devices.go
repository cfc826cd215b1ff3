package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// A user's sessions and trusted devices, listed and revoked one by one.

func (f *fixture) listSessions(tenantID string, userID uuid.UUID) []usermgmt.SessionRecord {
	f.t.Helper()
	ss := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.SessionRecord, error) {
		return tx.ListSessions(f.ctx, tenantID, userID)
	})
	for i := range ss {
		ss[i] = normSession(ss[i])
	}
	return ss
}

func (f *fixture) listDevices(tenantID string, userID uuid.UUID) []usermgmt.DeviceRecord {
	f.t.Helper()
	ds := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.DeviceRecord, error) { return tx.ListDevices(f.ctx, tenantID, userID) })
	for i := range ds {
		ds[i] = normDevice(ds[i])
	}
	return ds
}

func (f *fixture) sessionAt(u usermgmt.UserRecord, created time.Time) usermgmt.SessionRecord {
	f.t.Helper()
	s := newSession(u)
	s.CreatedAt, s.LastSeenAt = created, created
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, s) })
	return normSession(*s)
}

func (f *fixture) deviceAt(u usermgmt.UserRecord, created time.Time) usermgmt.DeviceRecord {
	f.t.Helper()
	d := newDevice(u)
	d.CreatedAt = created
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateDevice(f.ctx, d) })
	return normDevice(*d)
}

func testListSessionsOfOneUserNewestFirst(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	v := f.mustUser(acme, "bob@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	other := f.mustUser(globex, "ada@example.com", usermgmt.StatusActive)
	older := f.sessionAt(u, base)
	newer := f.sessionAt(u, base.Add(time.Minute))
	f.sessionAt(v, base.Add(2*time.Minute))
	f.sessionAt(other, base.Add(3*time.Minute))

	require.Equal(t, []usermgmt.SessionRecord{newer, older}, f.listSessions(acme, u.ID), "every field, newest first")
	require.Empty(t, f.listSessions(globex, u.ID), "the user's id in another tenant")
	require.Empty(t, f.listSessions(acme, newID()), "an unknown user")

	expired := newSession(u)
	expired.CreatedAt, expired.IdleExpiresAt = base.Add(-time.Hour), base.Add(-time.Minute)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, expired) })
	require.Len(t, f.listSessions(acme, u.ID), 3, "expired sessions not yet deleted are listed (the Manager filters)")

	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, older.ID) })
	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, expired.ID) })
	require.Equal(t, []usermgmt.SessionRecord{newer}, f.listSessions(acme, u.ID), "a revoked session is gone")
}

func testTouchSessionSetsLastSeenAt(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s := f.mustSession(u)
	keep := f.mustSession(u)
	at := base.Add(7 * time.Minute)
	got, err := f.touch(s.TokenHash, at)
	require.NoError(t, err)
	require.True(t, at.Equal(got.LastSeenAt), "TouchSession returns the new LastSeenAt, got %v", got.LastSeenAt)
	stored := mustTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.GetSession(f.ctx, acme, s.ID) })
	require.True(t, at.Equal(stored.LastSeenAt), "stored LastSeenAt, got %v", stored.LastSeenAt)
	other := mustTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.GetSession(f.ctx, acme, keep.ID) })
	requireSession(t, keep, other, "another session of the user is untouched")

	// A session stored without it reads back zero.
	bare := newSession(u)
	bare.LastSeenAt = time.Time{}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, bare) })
	stored = mustTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.GetSession(f.ctx, acme, bare.ID) })
	require.True(t, stored.LastSeenAt.IsZero(), "got %v", stored.LastSeenAt)
}

func testListDevicesOfOneUserNewestFirst(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	v := f.mustUser(acme, "bob@example.com", usermgmt.StatusActive)
	other := f.mustUser(globex, "ada@example.com", usermgmt.StatusActive)
	older := f.deviceAt(u, base)
	newer := f.deviceAt(u, base.Add(time.Minute))
	f.deviceAt(v, base.Add(2*time.Minute))
	f.deviceAt(other, base.Add(3*time.Minute))

	require.Equal(t, []usermgmt.DeviceRecord{newer, older}, f.listDevices(acme, u.ID), "every field, newest first")
	require.Empty(t, f.listDevices(globex, u.ID), "the user's id in another tenant")
	require.Empty(t, f.listDevices(acme, newID()), "an unknown user")
}

func testDeleteDeviceIsUserAndTenantScoped(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	v := f.mustUser(acme, "bob@example.com", usermgmt.StatusActive)
	other := f.mustUser(globex, "ada@example.com", usermgmt.StatusActive)
	d := f.deviceAt(u, base)
	keep := f.deviceAt(u, base.Add(time.Minute))
	bobs := f.deviceAt(v, base)
	theirs := f.deviceAt(other, base)
	del := func(tenantID string, userID, id uuid.UUID) (usermgmt.DeviceRecord, error) {
		return inTx(f, func(tx usermgmt.Tx) (usermgmt.DeviceRecord, error) {
			return tx.DeleteDevice(f.ctx, tenantID, userID, id)
		})
	}

	_, err := del(acme, u.ID, bobs.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "another user's device")
	_, err = del(globex, u.ID, d.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "the device named in another tenant")
	_, err = del(acme, other.ID, theirs.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "another tenant's device")
	_, err = del(acme, u.ID, newID())
	requireCode(t, err, usermgmt.CodeNotFound, "an unknown device")
	_, err = probe(f, func(tx usermgmt.Tx) (usermgmt.DeviceRecord, error) { return tx.DeleteDevice(f.ctx, acme, u.ID, d.ID) })
	require.NoError(t, err)
	require.True(t, f.hasDevice(d.Hash), "a rolled-back delete leaves the device")

	got, err := del(acme, u.ID, d.ID)
	require.NoError(t, err)
	require.Equal(t, d, normDevice(got), "DeleteDevice returns the device")
	require.False(t, f.hasDevice(d.Hash), "its token no longer finds it")
	_, err = del(acme, u.ID, d.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "deleted twice")
	require.Equal(t, []usermgmt.DeviceRecord{keep}, f.listDevices(acme, u.ID))
	require.True(t, f.hasDevice(bobs.Hash) && f.hasDevice(theirs.Hash), "the others are untouched")
}
