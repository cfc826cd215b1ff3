package storetest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// kinds are every MessageKind, in a fixed order.
var kinds = []usermgmt.MessageKind{usermgmt.MessageInvite, usermgmt.MessagePasswordReset, usermgmt.MessagePasswordChanged, usermgmt.MessageMFAReset}

// farFuture is a "now" at which every pending mail is due.
var farFuture = base.Add(365 * 24 * time.Hour)

// newIDs returns n fresh UUIDv7s in increasing order, for cases whose
// expectations depend on the order of ids.
func newIDs(n int) []uuid.UUID {
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = newID()
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// newMail returns a pending mail about u, due at base, ready to enqueue.
func newMail(u usermgmt.UserRecord, kind usermgmt.MessageKind) *usermgmt.MailRecord {
	return &usermgmt.MailRecord{
		ID: newID(), TenantID: u.TenantID, UserID: u.ID, Kind: kind, To: u.Email,
		Sealed:        []byte("sealed:" + string(kind)),
		NextAttemptAt: base, CreatedAt: base,
		DeliverBy: base.Add(72 * time.Hour), ExpiresAt: base.Add(7 * 24 * time.Hour),
	}
}

// failedMail returns a mail about u that was given up at base after five
// attempts.
func failedMail(u usermgmt.UserRecord, kind usermgmt.MessageKind) *usermgmt.MailRecord {
	m := newMail(u, kind)
	m.Attempts, m.LastError, m.FailedAt = 5, "smtp: 550 5.1.1 mailbox unavailable", base
	m.NextAttemptAt = base.Add(-time.Hour)
	return m
}

// enqueue adds ms to the outbox in one transaction.
func (f *fixture) enqueue(ms ...*usermgmt.MailRecord) {
	f.t.Helper()
	f.mustDo(func(tx usermgmt.Tx) error {
		for _, m := range ms {
			if err := tx.EnqueueMail(f.ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *fixture) mustMail(u usermgmt.UserRecord, kind usermgmt.MessageKind) usermgmt.MailRecord {
	f.t.Helper()
	m := newMail(u, kind)
	f.enqueue(m)
	return *m
}

func (f *fixture) claim(now, until time.Time) (usermgmt.MailRecord, error) {
	return inTx(f, func(tx usermgmt.Tx) (usermgmt.MailRecord, error) { return tx.ClaimMail(f.ctx, now, until) })
}

func (f *fixture) mustClaim(now, until time.Time) usermgmt.MailRecord {
	f.t.Helper()
	m, err := f.claim(now, until)
	require.NoError(f.t, err)
	return m
}

func (f *fixture) mails(tenantID string, before uuid.UUID, limit int) []usermgmt.MailRecord {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.MailRecord, error) {
		return tx.ListMail(f.ctx, usermgmt.MailListParams{TenantID: tenantID, Before: before, Limit: limit})
	})
}

// storedMail returns the mail with id as ListMail shows it, normalised,
// and whether there is one.
func (f *fixture) storedMail(tenantID string, id uuid.UUID) (usermgmt.MailRecord, bool) {
	f.t.Helper()
	for _, m := range f.mails(tenantID, uuid.Nil, 1000) {
		if m.ID == id {
			return normMail(m), true
		}
	}
	return usermgmt.MailRecord{}, false
}

func (f *fixture) requireStoredMail(want usermgmt.MailRecord, what string) {
	f.t.Helper()
	got, ok := f.storedMail(want.TenantID, want.ID)
	require.True(f.t, ok, "%s: mail %s not listed", what, want.ID)
	require.Equal(f.t, normMail(want), got, what)
}

func (f *fixture) cancel(tenantID string, userID uuid.UUID, kind usermgmt.MessageKind) int {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) (int, error) { return tx.CancelMail(f.ctx, tenantID, userID, kind) })
}

// claimed is m as ClaimMail returns and keeps it.
func claimed(m usermgmt.MailRecord, until time.Time) usermgmt.MailRecord {
	m.Attempts++
	m.NextAttemptAt = until
	return m
}

func normMail(m usermgmt.MailRecord) usermgmt.MailRecord {
	m.Sealed = nilIfEmpty(m.Sealed)
	m.NextAttemptAt, m.FailedAt, m.CreatedAt = utc(m.NextAttemptAt), utc(m.FailedAt), utc(m.CreatedAt)
	m.DeliverBy, m.ExpiresAt = utc(m.DeliverBy), utc(m.ExpiresAt)
	return m
}

func normMails(ms []usermgmt.MailRecord) []usermgmt.MailRecord {
	if len(ms) == 0 {
		return nil
	}
	out := make([]usermgmt.MailRecord, len(ms))
	for i, m := range ms {
		out[i] = normMail(m)
	}
	return out
}

func mailIDs(ms []usermgmt.MailRecord) []uuid.UUID {
	out := make([]uuid.UUID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func testEnqueueMailThenListReturnsEveryField(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	ids := newIDs(2)
	full := &usermgmt.MailRecord{
		ID: ids[0], TenantID: acme, UserID: ada.ID, Kind: usermgmt.MessagePasswordReset, To: "ada@example.com",
		Sealed:        []byte{0, 1, 2, 250, 251, 252},
		Attempts:      3,
		NextAttemptAt: base.Add(-5 * time.Minute),
		LastError:     "smtp: 451 4.7.1 try again later",
		FailedAt:      base.Add(-time.Minute),
		CreatedAt:     base.Add(-time.Hour),
		DeliverBy:     base.Add(23 * time.Hour),
		ExpiresAt:     base.Add(7 * 24 * time.Hour),
	}
	fresh := newMail(ada, usermgmt.MessageInvite) // never tried: no error, not failed
	fresh.ID = ids[1]
	want := []usermgmt.MailRecord{normMail(*fresh), normMail(*full)}
	f.enqueue(full, fresh)

	got := f.mails(acme, uuid.Nil, 10)
	require.Equal(t, want, normMails(got), "ListMail")
	require.Empty(t, got[0].LastError, "a mail never tried has no error")
	require.True(t, got[0].FailedAt.IsZero(), "a pending mail has a zero FailedAt")
	require.Zero(t, got[0].Attempts)

	var readOnly []usermgmt.MailRecord
	require.NoError(t, f.s.RunInTx(f.ctx, usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		var err error
		readOnly, err = tx.ListMail(ctx, usermgmt.MailListParams{TenantID: acme, Limit: 10})
		return err
	}))
	require.Equal(t, want, normMails(readOnly), "ListMail in a read-only transaction")

	for _, k := range kinds {
		m := f.mustMail(ada, k)
		f.requireStoredMail(m, "a mail of kind "+string(k))
	}
}

func testEnqueueMailDuplicateIDIsConflict(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	ids := newIDs(2)
	first := newMail(ada, usermgmt.MessageInvite)
	first.ID = ids[0]
	f.enqueue(first)
	again := newMail(ada, usermgmt.MessagePasswordReset)
	again.ID = first.ID
	err := f.do(func(tx usermgmt.Tx) error { return tx.EnqueueMail(f.ctx, again) })
	requireCode(t, err, usermgmt.CodeConflict, "second mail with the same id")
	require.Equal(t, normMails([]usermgmt.MailRecord{*first}), normMails(f.mails(acme, uuid.Nil, 10)), "first mail kept")

	// A conflict leaves the transaction usable: it reads, writes and
	// commits.
	other := newMail(ada, usermgmt.MessagePasswordChanged)
	other.ID = ids[1]
	f.mustDo(func(tx usermgmt.Tx) error {
		requireCode(t, tx.EnqueueMail(f.ctx, again), usermgmt.CodeConflict, "second mail with the same id, in a transaction")
		listed, err := tx.ListMail(f.ctx, usermgmt.MailListParams{TenantID: acme, Limit: 10})
		require.NoError(t, err, "ListMail after the conflict")
		require.Equal(t, normMails([]usermgmt.MailRecord{*first}), normMails(listed), "ListMail after the conflict")
		return tx.EnqueueMail(f.ctx, other)
	})
	require.Equal(t, normMails([]usermgmt.MailRecord{*other, *first}), normMails(f.mails(acme, uuid.Nil, 10)),
		"the transaction that met the conflict committed its other write")
}

func testClaimMailTakesEarliestDueFirst(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	bob := f.mustUser(globex, "bob@example.com", usermgmt.StatusActive)
	ids := newIDs(5)
	mk := func(id uuid.UUID, u usermgmt.UserRecord, k usermgmt.MessageKind, next time.Time) *usermgmt.MailRecord {
		m := newMail(u, k)
		m.ID, m.NextAttemptAt = id, next
		return m
	}
	late := mk(ids[0], ada, usermgmt.MessageInvite, base.Add(-time.Minute)) // lowest id, due last
	other := mk(ids[1], bob, usermgmt.MessageInvite, base.Add(-time.Hour))  // claims span tenants
	tieFirst := mk(ids[2], ada, usermgmt.MessagePasswordChanged, base.Add(-2*time.Hour))
	tieSecond := mk(ids[3], ada, usermgmt.MessagePasswordReset, base.Add(-2*time.Hour))
	tieSecond.Attempts, tieSecond.LastError = 2, "smtp: i/o timeout" // a retry keeps its error
	atNow := mk(ids[4], ada, usermgmt.MessageMFAReset, base)         // NextAttemptAt == now is due
	f.enqueue(late, tieSecond, atNow, tieFirst, other)

	until := base.Add(10 * time.Minute)
	for _, want := range []*usermgmt.MailRecord{tieFirst, tieSecond, other, late, atNow} {
		got := f.mustClaim(base, until)
		require.Equal(t, normMail(claimed(*want, until)), normMail(got), "ClaimMail returns the mail claimed")
		f.requireStoredMail(claimed(*want, until), "the stored mail after its claim")
	}
	_, err := f.claim(base, until)
	requireCode(t, err, usermgmt.CodeNotFound, "every mail claimed")
}

func testClaimMailSkipsNotDueAndFailed(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	_, err := f.claim(farFuture, farFuture.Add(time.Minute))
	requireCode(t, err, usermgmt.CodeNotFound, "empty outbox")

	notYet := newMail(ada, usermgmt.MessageInvite)
	notYet.NextAttemptAt = base.Add(time.Microsecond)
	failed := failedMail(ada, usermgmt.MessagePasswordReset) // due long ago, but given up
	f.enqueue(notYet, failed)

	_, err = f.claim(base, base.Add(time.Minute))
	requireCode(t, err, usermgmt.CodeNotFound, "nothing due yet")
	f.requireStoredMail(*notYet, "a mail not due is left as it is")

	got := f.mustClaim(notYet.NextAttemptAt, farFuture.Add(time.Hour)) // not due again below
	require.Equal(t, notYet.ID, got.ID, "due at its NextAttemptAt")
	_, err = f.claim(farFuture, farFuture.Add(time.Minute))
	requireCode(t, err, usermgmt.CodeNotFound, "a failed mail is never claimed")
	f.requireStoredMail(*failed, "a failed mail is left as it is")
}

// testClaimedMailIsDueAgainAtUntil: a claim is a lease. Until it lapses no
// one else takes the mail; after it, a worker that crashed mid-delivery
// has lost nothing.
func testClaimedMailIsDueAgainAtUntil(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	ids := newIDs(2)
	a, b := newMail(ada, usermgmt.MessageInvite), newMail(ada, usermgmt.MessagePasswordChanged)
	a.ID, b.ID = ids[0], ids[1]
	a.NextAttemptAt = base.Add(-time.Minute)
	f.enqueue(b, a)

	until := base.Add(5 * time.Minute)
	f.mustDo(func(tx usermgmt.Tx) error {
		for _, want := range []*usermgmt.MailRecord{a, b} {
			got, err := tx.ClaimMail(f.ctx, base, until)
			require.NoError(t, err)
			require.Equal(t, want.ID, got.ID, "claims in one transaction")
		}
		_, err := tx.ClaimMail(f.ctx, base, until)
		requireCode(t, err, usermgmt.CodeNotFound, "a mail claimed earlier in the same transaction")
		return nil
	})
	_, err := f.claim(until.Add(-time.Microsecond), until.Add(time.Hour))
	requireCode(t, err, usermgmt.CodeNotFound, "claimed mails before until")

	later := until.Add(5 * time.Minute)
	for _, want := range []*usermgmt.MailRecord{a, b} { // both due at until: by id
		got := f.mustClaim(until, later)
		require.Equal(t, normMail(claimed(claimed(*want, until), later)), normMail(got), "claimed again at until")
	}
	_, err = f.claim(until, later)
	requireCode(t, err, usermgmt.CodeNotFound, "claimed again")
}

// testClaimMailConcurrentClaimsEachOnce: claimers in their own
// transactions, each holding its claim a moment before committing so
// that the claims overlap, claim every mail exactly once between them.
func testClaimMailConcurrentClaimsEachOnce(t *testing.T, f *fixture) {
	const mails, claimers = 24, 8
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	bob := f.mustUser(globex, "bob@example.com", usermgmt.StatusActive)
	var all []*usermgmt.MailRecord
	for i := range mails {
		m := newMail([]usermgmt.UserRecord{ada, bob}[i%2], kinds[i%len(kinds)])
		m.NextAttemptAt = base.Add(-time.Duration(i) * time.Microsecond)
		all = append(all, m)
	}
	f.enqueue(all...)

	until := base.Add(time.Minute)
	got := make([][]uuid.UUID, claimers)
	errs := race(claimers, func(i int) error {
		for {
			var m usermgmt.MailRecord
			err := f.do(func(tx usermgmt.Tx) error {
				var err error
				if m, err = tx.ClaimMail(f.ctx, base, until); err != nil {
					return err
				}
				// Hold the claim, so that the other claimers run into it:
				// what keeps them apart must be the store, not timing.
				time.Sleep(2 * time.Millisecond)
				return nil
			})
			if usermgmt.ErrorCode(err) == usermgmt.CodeNotFound {
				return nil
			}
			if err != nil {
				return err
			}
			if m.Attempts != 1 || !m.NextAttemptAt.Equal(until) {
				return fmt.Errorf("claimed %s with %d attempts, due %v", m.ID, m.Attempts, m.NextAttemptAt)
			}
			got[i] = append(got[i], m.ID)
		}
	})
	require.Equal(t, map[usermgmt.Code]int{"": claimers}, codes(errs), "errors: %v", errs)
	var claimedIDs, want []uuid.UUID
	for _, ids := range got {
		claimedIDs = append(claimedIDs, ids...)
	}
	for _, m := range all {
		want = append(want, m.ID)
	}
	cmp := func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }
	slices.SortFunc(claimedIDs, cmp)
	slices.SortFunc(want, cmp)
	require.Equal(t, want, claimedIDs, "every mail claimed once: none twice, none missed")
	for _, m := range all {
		f.requireStoredMail(claimed(*m, until), "stored after the concurrent claims")
	}
}

func testClaimMailRolledBackLeavesItClaimable(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	m := newMail(ada, usermgmt.MessagePasswordReset)
	m.Attempts, m.LastError, m.NextAttemptAt = 1, "smtp: 421 service not available", base.Add(-time.Minute)
	f.enqueue(m)

	until := base.Add(time.Minute)
	got, err := probe(f, func(tx usermgmt.Tx) (usermgmt.MailRecord, error) { return tx.ClaimMail(f.ctx, base, until) })
	require.NoError(t, err)
	require.Equal(t, normMail(claimed(*m, until)), normMail(got), "the claim before the rollback")
	f.requireStoredMail(*m, "a rolled-back claim leaves Attempts and NextAttemptAt as they were")

	got = f.mustClaim(base, until)
	require.Equal(t, normMail(claimed(*m, until)), normMail(got), "claimable again, counted once")
	f.requireStoredMail(claimed(*m, until), "claimed")
}

func testUpdateMailStoresOnlyDeliveryState(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	m := f.mustMail(ada, usermgmt.MessageInvite)
	keep := f.mustMail(ada, usermgmt.MessagePasswordReset)
	update := func(r usermgmt.MailRecord) error {
		return f.do(func(tx usermgmt.Tx) error { return tx.UpdateMail(f.ctx, &r) })
	}

	// Given up: every other field of r is ignored.
	r := m
	r.TenantID, r.UserID, r.Kind, r.To, r.Sealed = globex, newID(), usermgmt.MessageMFAReset, "mallory@example.com", []byte("other")
	r.CreatedAt, r.DeliverBy, r.ExpiresAt = base.Add(time.Hour), base.Add(2*time.Hour), base.Add(3*time.Hour)
	r.Attempts, r.NextAttemptAt, r.LastError, r.FailedAt = 4, base.Add(30*time.Minute), "smtp: 550 mailbox unavailable", base.Add(time.Minute)
	require.NoError(t, update(r))
	want := m
	want.Attempts, want.NextAttemptAt, want.LastError, want.FailedAt = r.Attempts, r.NextAttemptAt, r.LastError, r.FailedAt
	f.requireStoredMail(want, "only Attempts, NextAttemptAt, LastError and FailedAt change")
	require.Empty(t, f.mails(globex, uuid.Nil, 10), "the tenant does not change")
	f.requireStoredMail(keep, "another mail is untouched")

	got := f.mustClaim(farFuture, farFuture.Add(time.Minute))
	require.Equal(t, keep.ID, got.ID, "the pending mail")
	_, err := f.claim(farFuture, farFuture.Add(time.Minute))
	requireCode(t, err, usermgmt.CodeNotFound, "a mail marked failed is not claimed")

	// Pending again, with the error and FailedAt cleared.
	want.Attempts, want.NextAttemptAt, want.LastError, want.FailedAt = 0, base.Add(-time.Minute), "", time.Time{}
	require.NoError(t, update(want))
	f.requireStoredMail(want, "an empty LastError and a zero FailedAt are stored")
	got = f.mustClaim(base, base.Add(time.Minute))
	require.Equal(t, normMail(claimed(want, base.Add(time.Minute))), normMail(got), "a mail back to pending is claimed")

	// A pending mail's due time moves both ways.
	want = claimed(want, base.Add(time.Minute))
	want.NextAttemptAt = base.Add(2 * time.Hour)
	require.NoError(t, update(want))
	_, err = f.claim(base.Add(time.Hour), base.Add(3*time.Hour))
	requireCode(t, err, usermgmt.CodeNotFound, "due later after the update")
	want.NextAttemptAt = base
	require.NoError(t, update(want))
	got = f.mustClaim(base, base.Add(time.Minute))
	require.Equal(t, want.ID, got.ID, "due earlier after the update")

	unknown := newMail(ada, usermgmt.MessageInvite)
	requireCode(t, update(*unknown), usermgmt.CodeNotFound, "unknown mail")
	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteMail(f.ctx, keep.ID) })
	requireCode(t, update(keep), usermgmt.CodeNotFound, "deleted mail")
}

func testDeleteMailDeletesOnce(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	m := f.mustMail(ada, usermgmt.MessageInvite)
	keep := f.mustMail(ada, usermgmt.MessagePasswordReset)
	failed := failedMail(ada, usermgmt.MessagePasswordChanged)
	f.enqueue(failed)
	del := func(id uuid.UUID) error { return f.do(func(tx usermgmt.Tx) error { return tx.DeleteMail(f.ctx, id) }) }

	require.NoError(t, del(m.ID))
	require.NoError(t, del(failed.ID), "a failed mail is deleted too")
	require.Equal(t, []uuid.UUID{keep.ID}, mailIDs(f.mails(acme, uuid.Nil, 10)), "only the deleted mails are gone")
	got := f.mustClaim(base, base.Add(time.Minute))
	require.Equal(t, keep.ID, got.ID, "a deleted mail is not claimed")
	_, err := f.claim(base, base.Add(time.Minute))
	requireCode(t, err, usermgmt.CodeNotFound, "nothing else to claim")

	requireCode(t, del(m.ID), usermgmt.CodeNotFound, "second delete")
	requireCode(t, del(newID()), usermgmt.CodeNotFound, "unknown mail")
	err = f.do(func(tx usermgmt.Tx) error {
		if err := tx.DeleteMail(f.ctx, keep.ID); err != nil {
			return err
		}
		return tx.DeleteMail(f.ctx, keep.ID)
	})
	requireCode(t, err, usermgmt.CodeNotFound, "second delete in the same transaction")
	f.requireStoredMail(got, "the failed transaction deleted nothing")
}

func testCancelMailDeletesOnlyThatUsersKind(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	grace := f.mustUser(acme, "grace@example.com", usermgmt.StatusInvited)
	bob := f.mustUser(globex, "bob@example.com", usermgmt.StatusInvited)
	adaInvite := newMail(ada, usermgmt.MessageInvite)
	adaInviteFailed := failedMail(ada, usermgmt.MessageInvite)
	adaReset := newMail(ada, usermgmt.MessagePasswordReset)
	adaChanged := failedMail(ada, usermgmt.MessagePasswordChanged)
	graceInvite := newMail(grace, usermgmt.MessageInvite)
	bobInvite := newMail(bob, usermgmt.MessageInvite)
	f.enqueue(adaInvite, adaInviteFailed, adaReset, adaChanged, graceInvite, bobInvite)

	require.Equal(t, 2, f.cancel(acme, ada.ID, usermgmt.MessageInvite), "ada's invites, pending and failed")
	require.ElementsMatch(t, []uuid.UUID{adaReset.ID, adaChanged.ID, graceInvite.ID}, mailIDs(f.mails(acme, uuid.Nil, 10)))
	require.Equal(t, []uuid.UUID{bobInvite.ID}, mailIDs(f.mails(globex, uuid.Nil, 10)))

	require.Zero(t, f.cancel(acme, ada.ID, usermgmt.MessageInvite), "nothing left of that kind")
	require.Zero(t, f.cancel(acme, ada.ID, usermgmt.MessageMFAReset), "no mail of that kind")
	require.Zero(t, f.cancel(globex, ada.ID, ""), "ada's mail is in acme")
	require.Zero(t, f.cancel(acme, bob.ID, ""), "bob's mail is in globex")
	require.Zero(t, f.cancel(acme, newID(), ""), "unknown user")
	require.Len(t, f.mails(acme, uuid.Nil, 10), 3, "the zero cancels deleted nothing")

	require.Equal(t, 2, f.cancel(acme, ada.ID, ""), "every kind of ada's mail")
	require.Equal(t, []uuid.UUID{graceInvite.ID}, mailIDs(f.mails(acme, uuid.Nil, 10)))
	require.Equal(t, []uuid.UUID{bobInvite.ID}, mailIDs(f.mails(globex, uuid.Nil, 10)))
	var claimedIDs []uuid.UUID
	for range 2 {
		claimedIDs = append(claimedIDs, f.mustClaim(base, base.Add(time.Minute)).ID)
	}
	require.ElementsMatch(t, []uuid.UUID{graceInvite.ID, bobInvite.ID}, claimedIDs, "cancelled mail is not claimed")
	_, err := f.claim(base, base.Add(time.Minute))
	requireCode(t, err, usermgmt.CodeNotFound, "nothing else to claim")
}

func testListMailNewestFirstKeyset(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	grace := f.mustUser(acme, "grace@example.com", usermgmt.StatusInvited)
	bob := f.mustUser(globex, "bob@example.com", usermgmt.StatusInvited)
	ids := newIDs(14)
	var mine, theirs, all []*usermgmt.MailRecord
	for i, id := range ids {
		u := []usermgmt.UserRecord{ada, grace}[i/2%2]
		if i%2 == 1 {
			u = bob
		}
		m := newMail(u, kinds[i%len(kinds)])
		if i%3 == 0 {
			m = failedMail(u, kinds[i%len(kinds)])
		}
		m.ID = id
		if u.TenantID == acme {
			mine = append(mine, m)
		} else {
			theirs = append(theirs, m)
		}
		all = append(all, m)
	}
	// Enqueue in a shuffled order: newest first means by id (UUIDv7).
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	f.enqueue(all...)
	newestFirst := func(ms []*usermgmt.MailRecord) []usermgmt.MailRecord {
		out := make([]usermgmt.MailRecord, len(ms))
		for i, m := range ms {
			out[len(ms)-1-i] = normMail(*m)
		}
		return out
	}
	want := newestFirst(mine)

	require.Equal(t, want, normMails(f.mails(acme, uuid.Nil, 50)), "one page, pending and failed")
	var paged []usermgmt.MailRecord
	before := uuid.Nil
	for range 10 {
		page := f.mails(acme, before, 3)
		require.LessOrEqual(t, len(page), 3)
		paged = append(paged, normMails(page)...)
		if len(page) == 0 {
			break
		}
		before = page[len(page)-1].ID
	}
	require.Equal(t, want, paged, "pages of 3, keyed by the last id")

	require.Equal(t, want[:2], normMails(f.mails(acme, uuid.Nil, 2)), "limit")
	require.Equal(t, want[:2], normMails(f.mails(acme, newID(), 2)), "before a newer id")
	require.Equal(t, want[3:], normMails(f.mails(acme, want[2].ID, 50)), "before is exclusive")
	require.Equal(t, newestFirst(mine[:4]), normMails(f.mails(acme, ids[7], 50)), "before an id of another tenant")
	require.Empty(t, f.mails(acme, want[len(want)-1].ID, 50), "nothing older than the oldest")

	require.Equal(t, newestFirst(theirs), normMails(f.mails(globex, uuid.Nil, 50)), "the other tenant sees only its own")
	require.Empty(t, f.mails("initech", uuid.Nil, 50), "a tenant without mail")
}

func testMailsDoNotAliasStore(t *testing.T, f *fixture) {
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	in := newMail(ada, usermgmt.MessageInvite)
	want := normMail(*in)
	want.Sealed = slices.Clone(in.Sealed)
	f.enqueue(in)
	in.Sealed[0] = 'X'
	f.requireStoredMail(want, "after modifying the record passed to EnqueueMail")

	listed := f.mails(acme, uuid.Nil, 10)
	listed[0].Sealed[0] = 'Y'
	f.requireStoredMail(want, "after modifying what ListMail returned")

	// Modifying what a write returns, inside its transaction, before it
	// commits, does not reach the store either.
	until := base.Add(time.Minute)
	f.mustDo(func(tx usermgmt.Tx) error {
		got, err := tx.ClaimMail(f.ctx, base, until)
		if err != nil {
			return err
		}
		got.Sealed[0] = 'Z'
		listed, err := tx.ListMail(f.ctx, usermgmt.MailListParams{TenantID: acme, Limit: 10})
		if err == nil {
			listed[0].Sealed[1] = 'Z'
		}
		return err
	})
	want = claimed(want, until)
	f.requireStoredMail(want, "after modifying what ClaimMail and ListMail returned in the transaction")

	r := want
	r.Sealed = slices.Clone(want.Sealed)
	r.LastError = "smtp: 451"
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateMail(f.ctx, &r) })
	r.Sealed[0] = 'W'
	want.LastError = "smtp: 451"
	f.requireStoredMail(want, "after modifying the record passed to UpdateMail")
}

// outboxWorld is an outbox with mails of every state, and the users
// whose mail the writes of testFailedTxLeavesOutboxAsItWas touch.
type outboxWorld struct {
	users []usermgmt.UserRecord
}

// observe returns everything a caller can see of the outbox, without
// changing it: each tenant's list, the order in which every pending mail
// would be claimed, and what each user's cancels would delete.
func (w *outboxWorld) observe(f *fixture) map[string]any {
	f.t.Helper()
	o := map[string]any{}
	for _, tn := range []string{acme, globex} {
		o["list "+tn] = normMails(f.mails(tn, uuid.Nil, 200))
	}
	order, err := probe(f, func(tx usermgmt.Tx) ([]string, error) {
		var out []string
		for {
			m, err := tx.ClaimMail(f.ctx, farFuture, farFuture.Add(time.Hour))
			if usermgmt.ErrorCode(err) == usermgmt.CodeNotFound {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, fmt.Sprintf("%s attempts=%d", m.ID, m.Attempts))
		}
	})
	require.NoError(f.t, err)
	o["claim order"] = order
	for _, u := range w.users {
		n, err := probe(f, func(tx usermgmt.Tx) ([]int, error) {
			var out []int
			for _, k := range append(slices.Clone(kinds), "") {
				n, err := tx.CancelMail(f.ctx, u.TenantID, u.ID, k)
				if err != nil {
					return nil, err
				}
				out = append(out, n)
			}
			return out, nil
		})
		require.NoError(f.t, err)
		o["cancel "+u.TenantID+" "+u.Email] = n
	}
	return o
}

// buildOutbox fills the outbox and returns it with one write of every
// kind that would change it. The writes touch different mails, so that
// they all succeed in any order and in one transaction.
func buildOutbox(f *fixture) (*outboxWorld, []write) {
	f.t.Helper()
	ada := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	grace := f.mustUser(acme, "grace@example.com", usermgmt.StatusInvited)
	carol := f.mustUser(acme, "carol@example.com", usermgmt.StatusActive)
	dave := f.mustUser(acme, "dave@example.com", usermgmt.StatusActive)
	bob := f.mustUser(globex, "bob@example.com", usermgmt.StatusInvited)
	w := &outboxWorld{users: []usermgmt.UserRecord{ada, grace, carol, dave, bob}}

	first := newMail(ada, usermgmt.MessageInvite) // due first: what ClaimMail takes
	first.NextAttemptAt = base.Add(-2 * time.Hour)
	toFail := newMail(ada, usermgmt.MessagePasswordReset)
	toFail.NextAttemptAt = base.Add(-time.Hour)
	toRevive := failedMail(grace, usermgmt.MessageInvite)
	toDelete := newMail(grace, usermgmt.MessagePasswordReset)
	bobPending, bobFailed := newMail(bob, usermgmt.MessageInvite), failedMail(bob, usermgmt.MessageInvite)
	carolChanged, carolMFA := newMail(carol, usermgmt.MessagePasswordChanged), failedMail(carol, usermgmt.MessageMFAReset)
	expired := failedMail(dave, usermgmt.MessageInvite)
	expired.ExpiresAt = base.Add(-time.Minute)
	notDue := newMail(ada, usermgmt.MessageMFAReset)
	notDue.NextAttemptAt = base.Add(time.Hour)
	f.enqueue(first, toFail, toRevive, toDelete, bobPending, bobFailed, carolChanged, carolMFA, expired, notDue)

	fresh := newMail(dave, usermgmt.MessagePasswordReset)
	failing := *toFail
	failing.Attempts, failing.LastError, failing.FailedAt = 3, "smtp: 554 rejected", base
	revived := *toRevive
	revived.Attempts, revived.LastError, revived.FailedAt, revived.NextAttemptAt = 0, "", time.Time{}, base.Add(-3*time.Hour)

	count := func(what string, want int, n int, err error) error {
		if err == nil && n != want {
			err = fmt.Errorf("%s deleted %d mails, want %d", what, n, want)
		}
		return err
	}
	writes := []write{
		{"EnqueueMail", func(ctx context.Context, tx usermgmt.Tx) error { return tx.EnqueueMail(ctx, fresh) }},
		{"ClaimMail", func(ctx context.Context, tx usermgmt.Tx) error {
			_, err := tx.ClaimMail(ctx, base, base.Add(time.Minute))
			return err
		}},
		{"UpdateMailToFailed", func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateMail(ctx, &failing) }},
		{"UpdateMailToPending", func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateMail(ctx, &revived) }},
		{"DeleteMail", func(ctx context.Context, tx usermgmt.Tx) error { return tx.DeleteMail(ctx, toDelete.ID) }},
		{"CancelMail", func(ctx context.Context, tx usermgmt.Tx) error {
			n, err := tx.CancelMail(ctx, globex, bob.ID, usermgmt.MessageInvite)
			return count("CancelMail", 2, n, err)
		}},
		{"CancelMailEveryKind", func(ctx context.Context, tx usermgmt.Tx) error {
			n, err := tx.CancelMail(ctx, acme, carol.ID, "")
			return count("CancelMail", 2, n, err)
		}},
		{"DeleteExpired", func(ctx context.Context, tx usermgmt.Tx) error {
			p, err := tx.DeleteExpired(ctx, base)
			return count("DeleteExpired", 1, p.Mail, err)
		}},
	}
	return w, writes
}

func testFailedTxLeavesOutboxAsItWas(t *testing.T, f *fixture) {
	w, writes := buildOutbox(f)
	checkRollback(t, f, w.observe, writes, true)
}
