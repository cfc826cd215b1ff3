package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

func (f *fixture) rotate(r usermgmt.SessionRotation) error {
	return f.do(func(tx usermgmt.Tx) error { return tx.RotateSession(f.ctx, r) })
}

// mustRotate rotates s to fresh hashes and returns the session as it then
// is.
func (f *fixture) mustRotate(s usermgmt.SessionRecord, roles ...usermgmt.Role) usermgmt.SessionRecord {
	f.t.Helper()
	r := usermgmt.SessionRotation{
		ID: s.ID, OldRefresh: s.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(),
		Roles: roles, IdleExpiresAt: s.IdleExpiresAt.Add(time.Minute),
	}
	require.NoError(f.t, f.rotate(r))
	s.TokenHash, s.RefreshHash, s.Roles, s.IdleExpiresAt = r.TokenHash, r.RefreshHash, roles, r.IdleExpiresAt
	return s
}

func (f *fixture) hasDevice(h usermgmt.TokenHash) bool {
	f.t.Helper()
	_, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.DeviceRecord, error) { return tx.GetDevice(f.ctx, h) })
	if usermgmt.ErrorCode(err) == usermgmt.CodeNotFound {
		return false
	}
	require.NoError(f.t, err)
	return true
}

// requireSessionGone checks that no hash of s finds it any more.
func requireSessionGone(t *testing.T, f *fixture, s usermgmt.SessionRecord, spent ...usermgmt.TokenHash) {
	t.Helper()
	_, err := f.touch(s.TokenHash, base)
	requireCode(t, err, usermgmt.CodeUnauthenticated, "TouchSession of a revoked session")
	for _, h := range append([]usermgmt.TokenHash{s.RefreshHash}, spent...) {
		_, _, err = f.sessionByRefresh(h)
		requireCode(t, err, usermgmt.CodeNotFound, "SessionByRefresh of a revoked session")
	}
	_, err = probe(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.RevokeSession(f.ctx, s.TokenHash) })
	requireCode(t, err, usermgmt.CodeNotFound, "RevokeSession of a revoked session")
}

func testCreateSessionThenSessionByRefreshReturnsIt(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleHRAdmin, usermgmt.RoleAgent)
	s := f.mustSession(u)
	got, spent, err := f.sessionByRefresh(s.RefreshHash)
	require.NoError(t, err)
	require.False(t, spent)
	requireSession(t, s, got, "SessionByRefresh")

	_, _, err = f.sessionByRefresh(newHash())
	requireCode(t, err, usermgmt.CodeNotFound, "unknown refresh hash")
	_, _, err = f.sessionByRefresh(s.TokenHash)
	requireCode(t, err, usermgmt.CodeNotFound, "a session token is not a refresh token")

	// A session without roles, never verified, is a session too.
	bare := newSession(u)
	bare.Roles = nil
	bare.VerifiedAt = time.Time{}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, bare) })
	got, _, err = f.sessionByRefresh(bare.RefreshHash)
	require.NoError(t, err)
	requireSession(t, *bare, got, "session without roles")
}

func testTouchSessionMovesIdleExpiry(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s := f.mustSession(u) // idle until base+30m

	got, err := f.touch(s.TokenHash, base.Add(20*time.Minute))
	require.NoError(t, err)
	require.Equal(t, s.ID, got.ID)
	require.Equal(t, s.UserID, got.UserID)
	require.Equal(t, s.TenantID, got.TenantID)
	require.Equal(t, s.Roles, got.Roles)
	stored, _, err := f.sessionByRefresh(s.RefreshHash)
	require.NoError(t, err)
	require.True(t, base.Add(50*time.Minute).Equal(stored.IdleExpiresAt), "idle expiry moved to now+idle, got %v", stored.IdleExpiresAt)

	// Past the first idle deadline but within the moved one.
	_, err = f.touch(s.TokenHash, base.Add(45*time.Minute))
	require.NoError(t, err, "the touch moved the idle deadline")
	_, err = f.touch(s.TokenHash, base.Add(45*time.Minute+29*time.Minute))
	require.NoError(t, err)
	_, err = f.touch(s.TokenHash, base.Add(45*time.Minute+29*time.Minute+31*time.Minute))
	requireCode(t, err, usermgmt.CodeExpired, "idle for longer than idle")
}

// A touch within usermgmt.IdleStep of the last bump is a pure read: the
// idle limit still counts from that bump, so a session then unused ends
// at most one step early, never late.
func testTouchSessionWritesOnlyPastIdleStep(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s := f.mustSession(u) // created (bumped) at base, idle until base+30m
	step := usermgmt.IdleStep(30 * time.Minute)
	require.Equal(t, time.Minute, step)

	got, err := f.touch(s.TokenHash, base.Add(step))
	require.NoError(t, err)
	require.True(t, s.IdleExpiresAt.Equal(got.IdleExpiresAt), "within the step: returned as stored, got %v", got.IdleExpiresAt)
	stored := mustTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.GetSession(f.ctx, acme, s.ID) })
	requireSession(t, s, stored, "a touch within the step writes nothing")

	_, err = f.touch(s.TokenHash, s.IdleExpiresAt)
	requireCode(t, err, usermgmt.CodeExpired, "idle since the last bump: refused although used a step later")

	live := f.mustSession(u)
	at := base.Add(step + time.Second)
	got, err = f.touch(live.TokenHash, at)
	require.NoError(t, err)
	require.True(t, at.Add(30*time.Minute).Equal(got.IdleExpiresAt), "past the step: moved, got %v", got.IdleExpiresAt)
	require.True(t, at.Equal(got.LastSeenAt), "and LastSeenAt with it, got %v", got.LastSeenAt)
	stored = mustTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.GetSession(f.ctx, acme, live.ID) })
	require.True(t, at.Add(30*time.Minute).Equal(stored.IdleExpiresAt), "stored, got %v", stored.IdleExpiresAt)
	require.True(t, at.Equal(stored.LastSeenAt), "stored, got %v", stored.LastSeenAt)

	// Revocation needs no bump to bite: the next touch is refused.
	f.mustDo(func(tx usermgmt.Tx) error { _, err := tx.RevokeSession(f.ctx, live.TokenHash); return err })
	_, err = f.touch(live.TokenHash, at.Add(time.Second))
	requireCode(t, err, usermgmt.CodeUnauthenticated, "revoked within the step")
}

// TouchSession returns the session's user as GetUser reads it (its
// sign-in lock included), with the roles each of its groups grants.
func testTouchSessionReturnsTheUser(t *testing.T, f *fixture) {
	u := f.direct(acme, "ada@example.com", usermgmt.RoleAgent)
	bob := f.direct(acme, "bob@example.com")
	g := f.mustGroup(acme, "Night shift", usermgmt.RoleSupervisor, usermgmt.RoleAgent)
	f.mustAdd(g, u.ID)
	other := f.mustGroup(acme, "Day shift", usermgmt.RoleRecruiter)
	f.mustAdd(other, bob.ID) // bob's, not ada's
	until := base.Add(time.Hour)
	f.putAttempts(&usermgmt.LoginAttempts{TenantID: acme, Email: u.Email, Failures: 5, LockedUntil: until, ExpiresAt: until})
	s := f.mustSession(u)

	got, user, err := f.s.TouchSession(f.ctx, s.TokenHash, base.Add(time.Minute), 30*time.Minute)
	require.NoError(t, err)
	require.Equal(t, s.ID, got.ID)
	want := f.mustGetUser(acme, u.ID).User
	held := user.GroupRoles
	user.GroupRoles = nil
	require.Equal(t, want, user)
	require.NotNil(t, user.LockedUntil, "the sign-in lock is read with the user")
	require.ElementsMatch(t, []usermgmt.GroupRole{{Role: usermgmt.RoleSupervisor, GroupID: g.ID, Group: "Night shift"},
		{Role: usermgmt.RoleAgent, GroupID: g.ID, Group: "Night shift"}}, held)
}

func testTouchSessionCapsIdleExpiryAtExpiresAt(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	s := newSession(u)
	s.ExpiresAt = base.Add(time.Hour)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, s) })

	_, err := f.touch(s.TokenHash, base.Add(25*time.Minute))
	require.NoError(t, err)
	_, err = f.touch(s.TokenHash, base.Add(50*time.Minute))
	require.NoError(t, err)
	stored, _, err := f.sessionByRefresh(s.RefreshHash)
	require.NoError(t, err)
	require.True(t, s.ExpiresAt.Equal(stored.IdleExpiresAt), "idle expiry capped at ExpiresAt, got %v", stored.IdleExpiresAt)
	require.True(t, s.ExpiresAt.Equal(stored.ExpiresAt), "ExpiresAt is never moved")
	_, err = f.touch(s.TokenHash, s.ExpiresAt.Add(-time.Microsecond))
	require.NoError(t, err)
	_, err = f.touch(s.TokenHash, s.ExpiresAt)
	requireCode(t, err, usermgmt.CodeExpired, "at ExpiresAt")
}

func testTouchSessionRefusesExpiredIdleAndDeactivated(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)

	_, err := f.touch(newHash(), base)
	requireCode(t, err, usermgmt.CodeUnauthenticated, "unknown token")

	s := f.mustSession(u)
	_, err = f.touch(s.RefreshHash, base)
	requireCode(t, err, usermgmt.CodeUnauthenticated, "a refresh token is not a session token")

	_, err = f.touch(s.TokenHash, s.IdleExpiresAt)
	requireCode(t, err, usermgmt.CodeExpired, "at IdleExpiresAt")
	_, err = f.touch(s.TokenHash, s.IdleExpiresAt.Add(time.Hour))
	requireCode(t, err, usermgmt.CodeExpired, "after IdleExpiresAt")
	_, err = f.touch(s.TokenHash, s.IdleExpiresAt.Add(-time.Microsecond))
	require.NoError(t, err, "a refused touch changes nothing")

	odd := newSession(u) // idle deadline after the hard one
	odd.ExpiresAt = base.Add(10 * time.Minute)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, odd) })
	_, err = f.touch(odd.TokenHash, odd.ExpiresAt)
	requireCode(t, err, usermgmt.CodeExpired, "at ExpiresAt, before IdleExpiresAt")

	live := f.mustSession(u)
	deactivated := f.mustGetUser(acme, u.ID)
	deactivated.Status = usermgmt.StatusDeactivated
	f.mustUpdate(deactivated)
	_, err = f.touch(live.TokenHash, base)
	requireCode(t, err, usermgmt.CodeUnauthenticated, "a deactivated user's session")
	deactivated.Status = usermgmt.StatusInvited
	f.mustUpdate(deactivated)
	_, err = f.touch(live.TokenHash, base)
	requireCode(t, err, usermgmt.CodeUnauthenticated, "an invited user's session")
	deactivated.Status = usermgmt.StatusActive
	f.mustUpdate(deactivated)
	_, err = f.touch(live.TokenHash, base)
	require.NoError(t, err, "the user is active again")

	f.mustDo(func(tx usermgmt.Tx) error { _, err := tx.RevokeSession(f.ctx, live.TokenHash); return err })
	_, err = f.touch(live.TokenHash, base)
	requireCode(t, err, usermgmt.CodeUnauthenticated, "a revoked session")
}

func testSessionByRefreshReportsSpentHashes(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s0 := f.mustSession(u)
	s1 := f.mustRotate(s0, usermgmt.RoleAgent)
	s2 := f.mustRotate(s1, usermgmt.RoleAgent, usermgmt.RoleSupervisor)

	for _, h := range []usermgmt.TokenHash{s0.RefreshHash, s1.RefreshHash} {
		got, spent, err := f.sessionByRefresh(h)
		require.NoError(t, err)
		require.True(t, spent, "a rotated-away refresh hash is spent")
		requireSession(t, s2, got, "a spent hash finds the session as it is now")
	}
	got, spent, err := f.sessionByRefresh(s2.RefreshHash)
	require.NoError(t, err)
	require.False(t, spent, "the current refresh hash")
	requireSession(t, s2, got, "current")

	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, s2.ID) })
	requireSessionGone(t, f, s2, s0.RefreshHash, s1.RefreshHash)
}

func testRotateSessionReplacesHashesAndRoles(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s0 := f.mustSession(u)
	r := usermgmt.SessionRotation{
		ID: s0.ID, OldRefresh: s0.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(),
		Roles: []usermgmt.Role{usermgmt.RoleSupervisor}, IdleExpiresAt: base.Add(time.Hour),
	}
	require.NoError(t, f.rotate(r))

	want := s0
	want.TokenHash, want.RefreshHash, want.Roles, want.IdleExpiresAt = r.TokenHash, r.RefreshHash, r.Roles, r.IdleExpiresAt
	got, spent, err := f.sessionByRefresh(r.RefreshHash)
	require.NoError(t, err)
	require.False(t, spent)
	requireSession(t, want, got, "only the hashes, roles and idle expiry change")

	_, err = f.touch(s0.TokenHash, base)
	requireCode(t, err, usermgmt.CodeUnauthenticated, "the old session token")
	touched, err := f.touch(r.TokenHash, base.Add(50*time.Minute))
	require.NoError(t, err, "the new token, past the old idle deadline")
	require.Equal(t, r.Roles, touched.Roles, "the new roles snapshot")
	_, err = probe(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.RevokeSession(f.ctx, s0.TokenHash) })
	requireCode(t, err, usermgmt.CodeNotFound, "RevokeSession with the old token")
}

func testRotateSessionCompareAndSet(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	s0 := f.mustSession(u)
	s1 := f.mustRotate(s0)

	stale := usermgmt.SessionRotation{ID: s0.ID, OldRefresh: s0.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(), IdleExpiresAt: base.Add(time.Hour)}
	requireCode(t, f.rotate(stale), usermgmt.CodeConflict, "rotating from a spent refresh hash")
	other := usermgmt.SessionRotation{ID: s0.ID, OldRefresh: newHash(), TokenHash: newHash(), RefreshHash: newHash(), IdleExpiresAt: base.Add(time.Hour)}
	requireCode(t, f.rotate(other), usermgmt.CodeConflict, "rotating from a refresh hash that never was the session's")
	got, _, err := f.sessionByRefresh(s1.RefreshHash)
	require.NoError(t, err)
	requireSession(t, s1, got, "a refused rotation changes nothing")

	unknown := usermgmt.SessionRotation{ID: newID(), OldRefresh: s1.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(), IdleExpiresAt: base.Add(time.Hour)}
	requireCode(t, f.rotate(unknown), usermgmt.CodeConflict, "rotating a session that does not exist: oldRefresh is not its refresh hash")

	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, s1.ID) })
	revoked := usermgmt.SessionRotation{ID: s1.ID, OldRefresh: s1.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(), IdleExpiresAt: base.Add(time.Hour)}
	requireCode(t, f.rotate(revoked), usermgmt.CodeConflict, "rotating a revoked session: oldRefresh is no longer its refresh hash")
	requireSessionGone(t, f, s1, s0.RefreshHash)
}

// testRotateSessionRolledBackLeavesNoTrace: a rotation that does not
// commit marks no refresh hash spent, so once the session is revoked no
// hash finds it.
func testRotateSessionRolledBackLeavesNoTrace(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s := f.mustSession(u)
	r := usermgmt.SessionRotation{ID: s.ID, OldRefresh: s.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(),
		Roles: []usermgmt.Role{usermgmt.RoleSupervisor}, IdleExpiresAt: base.Add(time.Hour)}
	_, err := probe(f, func(tx usermgmt.Tx) (struct{}, error) { return struct{}{}, tx.RotateSession(f.ctx, r) })
	require.NoError(t, err, "the rotation before the rollback")

	got, spent, err := f.sessionByRefresh(s.RefreshHash)
	require.NoError(t, err)
	require.False(t, spent, "the refresh hash is current again")
	requireSession(t, s, got, "the session as it was")
	_, _, err = f.sessionByRefresh(r.RefreshHash)
	requireCode(t, err, usermgmt.CodeNotFound, "the rolled-back refresh hash")
	_, err = f.touch(r.TokenHash, base)
	requireCode(t, err, usermgmt.CodeUnauthenticated, "the rolled-back session token")

	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, s.ID) })
	requireSessionGone(t, f, s, r.RefreshHash)
}

func testRotateSessionConcurrentOneWins(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	for _, n := range []int{2, 10} {
		s := f.mustSession(u)
		rots := make([]usermgmt.SessionRotation, n)
		for i := range rots {
			rots[i] = usermgmt.SessionRotation{ID: s.ID, OldRefresh: s.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(), IdleExpiresAt: base.Add(time.Hour)}
		}
		errs := race(n, func(i int) error { return f.rotate(rots[i]) })
		require.Equal(t, map[usermgmt.Code]int{"": 1, usermgmt.CodeConflict: n - 1}, codes(errs), "errors: %v", errs)
		win := rots[slices.IndexFunc(errs, func(err error) bool { return err == nil })]
		got, spent, err := f.sessionByRefresh(win.RefreshHash)
		require.NoError(t, err)
		require.False(t, spent)
		require.Equal(t, win.TokenHash, got.TokenHash, "the winner's token")
		for _, r := range rots {
			if r.TokenHash != win.TokenHash {
				_, _, err := f.sessionByRefresh(r.RefreshHash)
				requireCode(t, err, usermgmt.CodeNotFound, "a loser's refresh hash")
				_, err = f.touch(r.TokenHash, base)
				requireCode(t, err, usermgmt.CodeUnauthenticated, "a loser's session token")
			}
		}
	}
}

func testRevokeSessionReturnsAndDeletesIt(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s := f.mustSession(u)
	keep := f.mustSession(u)
	got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.RevokeSession(f.ctx, s.TokenHash) })
	requireSession(t, s, got, "RevokeSession returns the session")
	requireSessionGone(t, f, s)
	_, err := f.touch(keep.TokenHash, base)
	require.NoError(t, err, "the user's other session is kept")

	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.RevokeSession(f.ctx, newHash()) })
	requireCode(t, err, usermgmt.CodeNotFound, "unknown session token")
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.RevokeSession(f.ctx, keep.RefreshHash) })
	requireCode(t, err, usermgmt.CodeNotFound, "a refresh token is not a session token")
}

func testRevokeSessionByIDIgnoresUnknown(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	s := f.mustSession(u)
	keep := f.mustSession(u)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, s.ID) })
	requireSessionGone(t, f, s)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, s.ID) })
	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, newID()) })
	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, uuid.Nil) })
	_, err := f.touch(keep.TokenHash, base)
	require.NoError(t, err, "the other session is kept")
}

func testRevokeUserRemovesSessionsRefreshAndDevices(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	other := f.mustUser(acme, "grace@example.com", usermgmt.StatusActive)
	s0 := f.mustSession(u)
	s1 := f.mustRotate(s0)
	s2 := f.mustSession(u)
	d1, d2 := f.mustDevice(u), f.mustDevice(u)
	otherSession, otherDevice := f.mustSession(other), f.mustDevice(other)
	tok := f.mustToken(u, usermgmt.PurposePasswordReset)

	got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.Revoked, error) {
		return tx.RevokeUserExcept(f.ctx, acme, u.ID, uuid.Nil)
	})
	require.Equal(t, usermgmt.Revoked{Sessions: 2, Devices: 2}, got)
	requireSessionGone(t, f, s1, s0.RefreshHash)
	requireSessionGone(t, f, s2)
	require.False(t, f.hasDevice(d1.Hash), "device removed")
	require.False(t, f.hasDevice(d2.Hash), "device removed")

	_, err := f.touch(otherSession.TokenHash, base)
	require.NoError(t, err, "another user's session is kept")
	require.True(t, f.hasDevice(otherDevice.Hash), "another user's device is kept")
	require.True(t, f.hasToken(usermgmt.PurposePasswordReset, tok.Hash), "single-use tokens are not sessions")

	again := mustTx(f, func(tx usermgmt.Tx) (usermgmt.Revoked, error) {
		return tx.RevokeUserExcept(f.ctx, acme, u.ID, uuid.Nil)
	})
	require.Equal(t, usermgmt.Revoked{}, again, "nothing left to revoke")
	none := mustTx(f, func(tx usermgmt.Tx) (usermgmt.Revoked, error) {
		return tx.RevokeUserExcept(f.ctx, acme, newID(), uuid.Nil)
	})
	require.Equal(t, usermgmt.Revoked{}, none, "unknown user")
}

// testRevokeUserExceptKeepsOneSession: everything RevokeUser removes
// goes but the kept session, which still works, refresh hashes and all.
func testRevokeUserExceptKeepsOneSession(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	other := f.mustUser(acme, "grace@example.com", usermgmt.StatusActive)
	s0 := f.mustSession(u)
	s1 := f.mustRotate(s0)
	k0 := f.mustSession(u)
	keep := f.mustRotate(k0)
	d1, d2 := f.mustDevice(u), f.mustDevice(u)
	otherSession, otherDevice := f.mustSession(other), f.mustDevice(other)

	got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.Revoked, error) {
		return tx.RevokeUserExcept(f.ctx, acme, u.ID, keep.ID)
	})
	require.Equal(t, usermgmt.Revoked{Sessions: 1, Devices: 2}, got)
	requireSessionGone(t, f, s1, s0.RefreshHash)
	require.False(t, f.hasDevice(d1.Hash), "device removed")
	require.False(t, f.hasDevice(d2.Hash), "device removed")
	_, err := f.touch(keep.TokenHash, base)
	require.NoError(t, err, "the kept session works")
	s, spent, err := f.sessionByRefresh(keep.RefreshHash)
	require.NoError(t, err)
	require.False(t, spent)
	require.Equal(t, keep.ID, s.ID)
	_, spent, err = f.sessionByRefresh(k0.RefreshHash)
	require.NoError(t, err, "and its spent refresh hashes are still known as spent")
	require.True(t, spent)
	_, err = f.touch(otherSession.TokenHash, base)
	require.NoError(t, err, "another user's session is kept")
	require.True(t, f.hasDevice(otherDevice.Hash), "another user's device is kept")

	// Keeping another user's session keeps nothing of this one's.
	mine := f.mustSession(u)
	got = mustTx(f, func(tx usermgmt.Tx) (usermgmt.Revoked, error) {
		return tx.RevokeUserExcept(f.ctx, acme, u.ID, otherSession.ID)
	})
	require.Equal(t, usermgmt.Revoked{Sessions: 2}, got)
	requireSessionGone(t, f, mine)
	requireSessionGone(t, f, keep, k0.RefreshHash)
	_, err = f.touch(otherSession.TokenHash, base)
	require.NoError(t, err)
}

func testSessionsDoNotAliasStore(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	in := newSession(u)
	in.Roles = []usermgmt.Role{usermgmt.RoleHRAdmin, usermgmt.RoleAgent}
	want := normSession(*in)
	want.Roles = slices.Clone(in.Roles)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, in) })
	in.Roles[0] = "scribbled"
	got, _, err := f.sessionByRefresh(in.RefreshHash)
	require.NoError(t, err)
	requireSession(t, want, got, "after modifying the record passed to CreateSession")

	got.Roles[0] = "scribbled"
	got, _, err = f.sessionByRefresh(in.RefreshHash)
	require.NoError(t, err)
	requireSession(t, want, got, "after modifying what SessionByRefresh returned")

	revoked, err := probe(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.RevokeSession(f.ctx, in.TokenHash) })
	require.NoError(t, err)
	revoked.Roles[0] = "scribbled"
	got, _, err = f.sessionByRefresh(in.RefreshHash)
	require.NoError(t, err)
	requireSession(t, want, got, "after modifying what RevokeSession returned")

	r := usermgmt.SessionRotation{ID: in.ID, OldRefresh: in.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(),
		Roles: []usermgmt.Role{usermgmt.RoleSupervisor}, IdleExpiresAt: base.Add(time.Hour)}
	require.NoError(t, f.rotate(r))
	r.Roles[0] = "scribbled"
	touched, err := f.touch(r.TokenHash, base)
	require.NoError(t, err)
	require.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor}, touched.Roles, "after modifying the rotation passed to RotateSession")

	r2 := usermgmt.SessionRotation{ID: in.ID, OldRefresh: r.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(),
		IdleExpiresAt: base.Add(time.Hour), SpentAt: base, Successor: []byte("sealed successor")}
	require.NoError(t, f.rotate(r2))
	r2.Successor[0] = 'X'
	_, spent, err := f.spentRefresh(r.RefreshHash)
	require.NoError(t, err)
	require.Equal(t, []byte("sealed successor"), spent.Successor, "after modifying the rotation's successor")
	spent.Successor[0] = 'X'
	_, spent, err = f.spentRefresh(r.RefreshHash)
	require.NoError(t, err)
	require.Equal(t, []byte("sealed successor"), spent.Successor, "after modifying what SessionByRefresh returned")
}

// testRotateSessionKeepsSpentAtAndSuccessor: each spent refresh hash keeps
// when it was spent and the successor its rotation gave, for the reuse
// window; the rotation keeps the session's VerifiedAt.
func testRotateSessionKeepsSpentAtAndSuccessor(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s0 := f.mustSession(u)
	rotate := func(s usermgmt.SessionRecord, at time.Time, successor []byte) usermgmt.SessionRecord {
		t.Helper()
		r := usermgmt.SessionRotation{ID: s.ID, OldRefresh: s.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(),
			Roles: s.Roles, IdleExpiresAt: at.Add(30 * time.Minute), SpentAt: at, Successor: successor}
		require.NoError(t, f.rotate(r))
		s.TokenHash, s.RefreshHash, s.IdleExpiresAt = r.TokenHash, r.RefreshHash, r.IdleExpiresAt
		return s
	}
	s1 := rotate(s0, base.Add(time.Minute), []byte("successor one"))
	s2 := rotate(s1, base.Add(2*time.Minute), []byte("successor two"))

	got, spent, err := f.spentRefresh(s2.RefreshHash)
	require.NoError(t, err)
	require.Nil(t, spent, "the current refresh hash is not spent")
	requireSession(t, s2, got, "VerifiedAt is kept through rotations")
	require.True(t, base.Equal(got.VerifiedAt), "VerifiedAt %v", got.VerifiedAt)

	for _, c := range []struct {
		hash      usermgmt.TokenHash
		at        time.Time
		successor string
	}{{s0.RefreshHash, base.Add(time.Minute), "successor one"}, {s1.RefreshHash, base.Add(2 * time.Minute), "successor two"}} {
		got, spent, err := f.spentRefresh(c.hash)
		require.NoError(t, err)
		require.NotNil(t, spent)
		require.True(t, c.at.Equal(spent.At), "spent at %v, want %v", spent.At, c.at)
		require.Equal(t, c.successor, string(spent.Successor))
		requireSession(t, s2, got, "a spent hash finds the session as it is now")
	}

	// A rotation with neither (as from an older Manager) is spent all the same.
	s3 := rotate(s2, time.Time{}, nil)
	_, spent, err = f.spentRefresh(s2.RefreshHash)
	require.NoError(t, err)
	require.NotNil(t, spent)
	require.True(t, spent.At.IsZero(), "no spent time: %v", spent.At)
	require.Empty(t, spent.Successor)

	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, s3.ID) })
	requireSessionGone(t, f, s3, s0.RefreshHash, s1.RefreshHash, s2.RefreshHash)
}

func testGetSessionIsTenantScoped(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	other := f.mustUser(globex, "ada@example.com", usermgmt.StatusActive)
	s := f.mustSession(u)
	theirs := f.mustSession(other)
	get := func(tenantID string, id uuid.UUID) (usermgmt.SessionRecord, error) {
		return inTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.GetSession(f.ctx, tenantID, id) })
	}

	got, err := get(acme, s.ID)
	require.NoError(t, err)
	requireSession(t, s, got, "GetSession returns every field")
	got.Roles[0] = "scribbled"
	got, err = get(acme, s.ID)
	require.NoError(t, err)
	requireSession(t, s, got, "after modifying what GetSession returned")

	_, err = get(globex, s.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "a session of another tenant")
	_, err = get(acme, theirs.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "a session of another tenant")
	_, err = get(acme, newID())
	requireCode(t, err, usermgmt.CodeNotFound, "an unknown session")

	s1 := f.mustRotate(s, usermgmt.RoleSupervisor)
	got, err = get(acme, s.ID)
	require.NoError(t, err)
	requireSession(t, s1, got, "the session as it is after a rotation")

	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, s.ID) })
	_, err = get(acme, s.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "a revoked session")
}

func testMarkSessionVerifiedSetsOnlyVerifiedAt(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	s := f.mustSession(u)
	keep := f.mustSession(u)
	mark := func(tenantID string, id uuid.UUID, at time.Time) error {
		return f.do(func(tx usermgmt.Tx) error { return tx.MarkSessionVerified(f.ctx, tenantID, id, at) })
	}
	get := func(id uuid.UUID) usermgmt.SessionRecord {
		t.Helper()
		return mustTx(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.GetSession(f.ctx, acme, id) })
	}

	later := base.Add(20 * time.Minute)
	require.NoError(t, mark(acme, s.ID, later))
	want := s
	want.VerifiedAt = later
	requireSession(t, want, get(s.ID), "only VerifiedAt changes")
	requireSession(t, keep, get(keep.ID), "the user's other session is untouched")
	touched, err := f.touch(s.TokenHash, base.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, later.Equal(touched.VerifiedAt), "TouchSession returns VerifiedAt, got %v", touched.VerifiedAt)

	requireCode(t, mark(globex, s.ID, base.Add(time.Hour)), usermgmt.CodeNotFound, "a session of another tenant")
	requireCode(t, mark(acme, newID(), base.Add(time.Hour)), usermgmt.CodeNotFound, "an unknown session")
	_, err = probe(f, func(tx usermgmt.Tx) (struct{}, error) {
		return struct{}{}, tx.MarkSessionVerified(f.ctx, acme, s.ID, base.Add(time.Hour))
	})
	require.NoError(t, err)
	require.True(t, later.Equal(get(s.ID).VerifiedAt), "neither a refused nor a rolled-back mark changes it")

	f.mustDo(func(tx usermgmt.Tx) error { return tx.RevokeSessionByID(f.ctx, s.ID) })
	requireCode(t, mark(acme, s.ID, base.Add(time.Hour)), usermgmt.CodeNotFound, "a revoked session")
}

func testCreateDeviceThenGetReturnsIt(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	d := f.mustDevice(u)
	got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.DeviceRecord, error) { return tx.GetDevice(f.ctx, d.Hash) })
	require.Equal(t, normDevice(d), normDevice(got))
	require.False(t, f.hasDevice(newHash()), "unknown device is not_found")
}
