package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

func (f *fixture) deleteExpired(now time.Time) usermgmt.Pruned {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) (usermgmt.Pruned, error) { return tx.DeleteExpired(f.ctx, now) })
}

// expiringToken inserts a token of u that expires at at.
func (f *fixture) expiringToken(u usermgmt.UserRecord, p usermgmt.TokenPurpose, at time.Time) usermgmt.TokenRecord {
	f.t.Helper()
	r := newToken(u, p)
	r.ExpiresAt = at
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateToken(f.ctx, r) })
	return *r
}

func (f *fixture) expiringSession(u usermgmt.UserRecord, idle, hard time.Time) usermgmt.SessionRecord {
	f.t.Helper()
	s := newSession(u)
	s.IdleExpiresAt, s.ExpiresAt = idle, hard
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, s) })
	return *s
}

func (f *fixture) expiringDevice(u usermgmt.UserRecord, at time.Time) usermgmt.DeviceRecord {
	f.t.Helper()
	d := newDevice(u)
	d.ExpiresAt = at
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateDevice(f.ctx, d) })
	return *d
}

// testDeleteExpiredRemovesOnlyExpired prunes at now-1ns (only what expired
// before now goes), at now (what expires exactly at now goes too), and at
// now again (nothing left), and checks that everything else, in both
// tenants, is exactly as it was.
func testDeleteExpiredRemovesOnlyExpired(t *testing.T, f *fixture) {
	now := base.Add(24 * time.Hour)
	early, later := now.Add(-time.Hour), now.Add(time.Microsecond)
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	grace := f.mustUser(acme, "grace@example.com", usermgmt.StatusInvited)
	bob := f.mustUser(globex, "bob@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	users := []usermgmt.UserRecord{ada, grace, bob}
	for _, u := range users {
		f.mustDo(func(tx usermgmt.Tx) error {
			return tx.AppendEvent(f.ctx, newEvent(u, usermgmt.EventLoginSucceeded, ""))
		})
	}

	// Tokens of every purpose: one expired before now (globex), one
	// expiring at now (acme), one a microsecond later.
	purposes := []usermgmt.TokenPurpose{usermgmt.PurposeInvite, usermgmt.PurposePasswordReset, usermgmt.PurposeMFAEnrollment, usermgmt.PurposeMFAChallenge}
	var tokBefore, tokAt, tokLive []usermgmt.TokenRecord
	for _, p := range purposes {
		tokBefore = append(tokBefore, f.expiringToken(bob, p, early))
		tokAt = append(tokAt, f.expiringToken(grace, p, now))
		tokLive = append(tokLive, f.expiringToken(ada, p, later))
	}

	// Sessions, each with spent refresh hashes: gone before now by idle
	// (acme) and by the hard limit (globex); at now by idle and by the
	// hard limit alone (its idle limit is later, as a store allows); live
	// by a microsecond on both limits.
	type spentSession struct {
		s     usermgmt.SessionRecord
		spent []usermgmt.TokenHash
	}
	withSpent := func(s usermgmt.SessionRecord) spentSession {
		s0 := s
		s1 := f.mustRotate(s0, s0.Roles...)
		s2 := f.mustRotate(s1, s0.Roles...) // mustRotate moves the idle limit a minute each time
		return spentSession{s: s2, spent: []usermgmt.TokenHash{s0.RefreshHash, s1.RefreshHash}}
	}
	sessBefore := []spentSession{
		withSpent(f.expiringSession(ada, early.Add(-2*time.Minute), now.Add(time.Hour))),
		withSpent(f.expiringSession(bob, early, early)),
	}
	sessAt := []spentSession{
		withSpent(f.expiringSession(ada, now.Add(-2*time.Minute), now.Add(11*time.Hour))),
		withSpent(f.expiringSession(bob, now.Add(time.Hour), now)),
	}
	live := withSpent(f.expiringSession(ada, later.Add(-2*time.Minute), later))
	liveBob := f.expiringSession(bob, now.Add(30*time.Minute), now.Add(12*time.Hour))

	devBefore := f.expiringDevice(bob, early)
	devAt := f.expiringDevice(ada, now)
	devLive := f.expiringDevice(ada, later)
	devLiveBob := f.expiringDevice(bob, now.Add(30*24*time.Hour))

	// Mails, pending and failed: expired before now in both tenants, at
	// now, and live by a microsecond. The pending ones are due.
	mailBefore := []*usermgmt.MailRecord{newMail(bob, usermgmt.MessageInvite), failedMail(ada, usermgmt.MessagePasswordReset)}
	mailAt := []*usermgmt.MailRecord{newMail(grace, usermgmt.MessageInvite), failedMail(ada, usermgmt.MessageMFAReset)}
	mailLive := newMail(ada, usermgmt.MessagePasswordChanged)
	mailLiveBob := failedMail(bob, usermgmt.MessagePasswordReset)
	for _, m := range mailBefore {
		m.ExpiresAt = early
	}
	for _, m := range mailAt {
		m.ExpiresAt = now
	}
	mailLive.ExpiresAt, mailLiveBob.ExpiresAt = later, later
	f.enqueue(append(append(mailBefore, mailAt...), mailLive, mailLiveBob)...)
	listed := func(tenantID string) []uuid.UUID { return mailIDs(f.mails(tenantID, uuid.Nil, 50)) }

	type snapshot struct {
		users  map[uuid.UUID]usermgmt.UserRecord
		events map[uuid.UUID][]usermgmt.Event
		counts map[string]usermgmt.StatusCounts
	}
	snap := func() snapshot {
		s := snapshot{users: map[uuid.UUID]usermgmt.UserRecord{}, events: map[uuid.UUID][]usermgmt.Event{}, counts: map[string]usermgmt.StatusCounts{}}
		for _, u := range users {
			s.users[u.ID] = normRecord(f.mustGetUser(u.TenantID, u.ID))
			s.events[u.ID] = normEvents(f.events(u.TenantID, u.ID, uuid.Nil, 10))
		}
		for _, tn := range []string{acme, globex} {
			s.counts[tn] = f.counts(tn)
		}
		return s
	}
	before := snap()

	require.Equal(t, usermgmt.Pruned{Tokens: 4, Sessions: 2, Devices: 1, Mail: 2}, f.deleteExpired(now.Add(-time.Nanosecond)),
		"at now-1ns: only what expired before now")
	for i, p := range purposes {
		require.False(t, f.hasToken(p, tokBefore[i].Hash), "expired %s token deleted", p)
		require.True(t, f.hasToken(p, tokAt[i].Hash), "%s token expiring at now kept at now-1ns", p)
	}
	for _, ss := range sessBefore {
		requireSessionGone(t, f, ss.s, ss.spent...)
	}
	for _, ss := range sessAt {
		_, spent, err := f.sessionByRefresh(ss.spent[0])
		require.NoError(t, err, "session expiring at now kept at now-1ns")
		require.True(t, spent)
	}
	require.False(t, f.hasDevice(devBefore.Hash), "expired device deleted")
	require.True(t, f.hasDevice(devAt.Hash), "device expiring at now kept at now-1ns")
	require.ElementsMatch(t, []uuid.UUID{mailAt[0].ID, mailAt[1].ID, mailLive.ID}, listed(acme), "mails expiring at now kept at now-1ns")
	require.Equal(t, []uuid.UUID{mailLiveBob.ID}, listed(globex), "expired mail deleted")

	require.Equal(t, usermgmt.Pruned{Tokens: 4, Sessions: 2, Devices: 1, Mail: 2}, f.deleteExpired(now),
		"at now: what expires at now")
	for i, p := range purposes {
		require.False(t, f.hasToken(p, tokAt[i].Hash), "%s token expiring at now deleted", p)
	}
	for _, ss := range sessAt {
		requireSessionGone(t, f, ss.s, ss.spent...)
	}
	require.False(t, f.hasDevice(devAt.Hash), "device expiring at now deleted")
	require.Equal(t, []uuid.UUID{mailLive.ID}, listed(acme), "mails expiring at now deleted")

	require.Equal(t, usermgmt.Pruned{}, f.deleteExpired(now), "nothing left to prune")

	// What is not expired is untouched and still usable.
	for i, p := range purposes {
		got, err := f.consume(p, tokLive[i].Hash)
		require.NoError(t, err, "live %s token", p)
		require.Equal(t, normToken(tokLive[i]), normToken(got))
	}
	got, spent, err := f.sessionByRefresh(live.s.RefreshHash)
	require.NoError(t, err)
	require.False(t, spent)
	requireSession(t, live.s, got, "live session untouched")
	for _, h := range live.spent {
		_, spent, err := f.sessionByRefresh(h)
		require.NoError(t, err)
		require.True(t, spent, "a live session's spent refresh hash is still spent")
	}
	_, err = f.touch(live.s.TokenHash, now)
	require.NoError(t, err, "live session")
	_, err = f.touch(liveBob.TokenHash, now)
	require.NoError(t, err, "live session in the other tenant")
	f.mustRotate(live.s)
	for _, d := range []usermgmt.DeviceRecord{devLive, devLiveBob} {
		got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.DeviceRecord, error) { return tx.GetDevice(f.ctx, d.Hash) })
		require.Equal(t, normDevice(d), normDevice(got), "live device untouched")
	}
	for _, m := range []*usermgmt.MailRecord{mailLive, mailLiveBob} {
		f.requireStoredMail(*m, "live mail untouched")
	}
	claimedMail := f.mustClaim(now, now.Add(time.Minute))
	require.Equal(t, mailLive.ID, claimedMail.ID, "only the live pending mail is left to claim")
	_, err = f.claim(now, now.Add(time.Minute))
	requireCode(t, err, usermgmt.CodeNotFound, "pruned mail is not claimed")

	// Users, their counts and their events are untouched.
	require.Equal(t, before, snap())

	// The per-user bookkeeping forgot what was pruned: revoking a user
	// finds only the live rows, and deleting tokens works.
	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteTokens(f.ctx, acme, grace.ID, usermgmt.PurposeInvite) })
	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteTokens(f.ctx, globex, bob.ID, usermgmt.PurposeInvite) })
	require.Equal(t, usermgmt.Revoked{Sessions: 1, Devices: 1},
		mustTx(f, func(tx usermgmt.Tx) (usermgmt.Revoked, error) {
			return tx.RevokeUserExcept(f.ctx, acme, ada.ID, uuid.Nil)
		}))
	require.Equal(t, usermgmt.Revoked{Sessions: 1, Devices: 1},
		mustTx(f, func(tx usermgmt.Tx) (usermgmt.Revoked, error) {
			return tx.RevokeUserExcept(f.ctx, globex, bob.ID, uuid.Nil)
		}))
	require.Equal(t, 1, f.cancel(acme, ada.ID, ""), "ada's live mail")
	require.Zero(t, f.cancel(acme, grace.ID, ""), "grace's mail was pruned")
	require.Equal(t, 1, f.cancel(globex, bob.ID, ""), "bob's live mail")
}

// testDeleteExpiredSeesItsOwnTx: rows written earlier in the same
// transaction are pruned with the rest, and a pruned hash or mail id may
// be used again.
func testDeleteExpiredSeesItsOwnTx(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	tok := newToken(u, usermgmt.PurposeMFAChallenge)
	tok.ExpiresAt = base
	s := newSession(u)
	s.IdleExpiresAt = base
	d := newDevice(u)
	d.ExpiresAt = base
	m := newMail(u, usermgmt.MessagePasswordChanged)
	m.ExpiresAt = base
	f.mustDo(func(tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateToken(f.ctx, tok))
		require.NoError(t, tx.CreateSession(f.ctx, s))
		require.NoError(t, tx.CreateDevice(f.ctx, d))
		require.NoError(t, tx.EnqueueMail(f.ctx, m))
		p, err := tx.DeleteExpired(f.ctx, base)
		require.NoError(t, err)
		require.Equal(t, usermgmt.Pruned{Tokens: 1, Sessions: 1, Devices: 1, Mail: 1}, p)
		_, err = tx.ConsumeToken(f.ctx, tok.Purpose, tok.Hash)
		requireCode(t, err, usermgmt.CodeNotFound, "pruned token in the same transaction")
		_, _, err = tx.SessionByRefresh(f.ctx, s.RefreshHash)
		requireCode(t, err, usermgmt.CodeNotFound, "pruned session in the same transaction")
		_, err = tx.GetDevice(f.ctx, d.Hash)
		requireCode(t, err, usermgmt.CodeNotFound, "pruned device in the same transaction")
		_, err = tx.ClaimMail(f.ctx, base, base.Add(time.Minute))
		requireCode(t, err, usermgmt.CodeNotFound, "pruned mail in the same transaction")
		return nil
	})
	require.Empty(t, f.mails(acme, uuid.Nil, 10))
	require.False(t, f.hasToken(tok.Purpose, tok.Hash))
	require.False(t, f.hasDevice(d.Hash))
	requireSessionGone(t, f, *s)

	// The hashes are free again.
	tok.ExpiresAt = base.Add(time.Hour)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateToken(f.ctx, tok) })
	s.IdleExpiresAt = base.Add(time.Hour)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, s) })
	d.ExpiresAt = base.Add(time.Hour)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateDevice(f.ctx, d) })
	m.ExpiresAt = base.Add(time.Hour)
	f.enqueue(m)
	_, err := f.touch(s.TokenHash, base)
	require.NoError(t, err)
}
