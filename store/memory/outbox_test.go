package memory_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/memory"
)

// TestOutboxStaysRightAtScale drives the claim heap, the per-tenant lists
// and the per-user index through thousands of claims, updates, deletes,
// cancels and rolled-back transactions (the conformance suite's outboxes
// are too small for a deep heap) and checks every answer against a plain
// model.
func TestOutboxStaysRightAtScale(t *testing.T) {
	s := memory.New()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tenants := []string{"acme", "globex", "initech"}
	kinds := []usermgmt.MessageKind{usermgmt.MessageInvite, usermgmt.MessagePasswordReset, usermgmt.MessagePasswordChanged, usermgmt.MessageMFAReset}
	type user struct {
		tenantID string
		id       uuid.UUID
	}
	users := make([]user, 60)
	for i := range users {
		users[i] = user{tenants[i%len(tenants)], uuid.Must(uuid.NewV7())}
	}
	model := map[uuid.UUID]usermgmt.MailRecord{}
	var ids []uuid.UUID // every id ever enqueued, some since deleted

	rollback := errors.New("roll back")
	// do runs fn; one transaction in four is rolled back, and then the
	// model is left as it was.
	do := func(fn func(tx usermgmt.Tx) error, apply func()) {
		t.Helper()
		undo := rng.IntN(4) == 0
		err := s.RunInTx(ctx, usermgmt.TxOptions{}, func(_ context.Context, tx usermgmt.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			if undo {
				return rollback
			}
			return nil
		})
		if undo {
			require.ErrorIs(t, err, rollback)
			return
		}
		require.NoError(t, err)
		apply()
	}
	at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }
	// due is the model's claim order: pending mails by (NextAttemptAt, ID).
	due := func() []usermgmt.MailRecord {
		var out []usermgmt.MailRecord
		for _, m := range model {
			if m.FailedAt.IsZero() {
				out = append(out, m)
			}
		}
		slices.SortFunc(out, func(a, b usermgmt.MailRecord) int {
			if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
				return c
			}
			return bytes.Compare(a.ID[:], b.ID[:])
		})
		return out
	}
	pick := func() (usermgmt.MailRecord, bool) {
		m, ok := model[ids[rng.IntN(len(ids))]]
		return m, ok
	}

	for range 8_000 {
		switch op := rng.IntN(10); {
		case op < 4 || len(ids) == 0:
			u := users[rng.IntN(len(users))]
			m := usermgmt.MailRecord{
				ID: uuid.Must(uuid.NewV7()), TenantID: u.tenantID, UserID: u.id, Kind: kinds[rng.IntN(len(kinds))],
				To: "someone@example.com", Sealed: []byte("sealed"), NextAttemptAt: at(rng.IntN(600)),
				CreatedAt: t0, DeliverBy: at(600), ExpiresAt: at(rng.IntN(2000)),
			}
			if rng.IntN(50) == 0 && len(ids) > 0 { // an id from the past, out of order
				m.ID = ids[rng.IntN(len(ids))]
				if _, ok := model[m.ID]; ok {
					m.ID = uuid.Must(uuid.NewV7())
				}
			}
			ids = append(ids, m.ID)
			do(func(tx usermgmt.Tx) error { return tx.EnqueueMail(ctx, &m) }, func() { model[m.ID] = m })
		case op < 6:
			now := at(rng.IntN(700))
			until := now.Add(time.Duration(1+rng.IntN(120)) * time.Minute)
			var want *usermgmt.MailRecord
			if d := due(); len(d) > 0 && !d[0].NextAttemptAt.After(now) {
				want = &d[0]
			}
			var got usermgmt.MailRecord
			do(func(tx usermgmt.Tx) error {
				var err error
				got, err = tx.ClaimMail(ctx, now, until)
				if want == nil {
					require.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
					return nil
				}
				require.NoError(t, err)
				require.Equal(t, want.ID, got.ID, "the earliest due mail")
				return nil
			}, func() {
				if want != nil {
					want.Attempts++
					want.NextAttemptAt = until
					model[want.ID] = *want
				}
			})
		case op < 8:
			m, ok := pick()
			if !ok {
				continue
			}
			m.Attempts = rng.IntN(6)
			m.NextAttemptAt = at(rng.IntN(700))
			m.LastError, m.FailedAt = "", time.Time{}
			if rng.IntN(3) == 0 {
				m.LastError, m.FailedAt = "smtp: 550", at(rng.IntN(700))
			}
			do(func(tx usermgmt.Tx) error { return tx.UpdateMail(ctx, &m) }, func() { model[m.ID] = m })
		case op < 9:
			m, ok := pick()
			if !ok {
				continue
			}
			do(func(tx usermgmt.Tx) error { return tx.DeleteMail(ctx, m.ID) }, func() { delete(model, m.ID) })
		default:
			u := users[rng.IntN(len(users))]
			tenantID := u.tenantID
			if rng.IntN(5) == 0 {
				tenantID = tenants[rng.IntN(len(tenants))]
			}
			kind := usermgmt.MessageKind("")
			if rng.IntN(2) == 0 {
				kind = kinds[rng.IntN(len(kinds))]
			}
			var gone []uuid.UUID
			for id, m := range model {
				if m.TenantID == tenantID && m.UserID == u.id && (kind == "" || m.Kind == kind) {
					gone = append(gone, id)
				}
			}
			do(func(tx usermgmt.Tx) error {
				n, err := tx.CancelMail(ctx, tenantID, u.id, kind)
				require.Equal(t, len(gone), n)
				return err
			}, func() {
				for _, id := range gone {
					delete(model, id)
				}
			})
		}
	}

	// Every tenant's list, page by page.
	for _, tn := range tenants {
		var want []uuid.UUID
		for id, m := range model {
			if m.TenantID == tn {
				want = append(want, id)
			}
		}
		slices.SortFunc(want, func(a, b uuid.UUID) int { return bytes.Compare(b[:], a[:]) })
		var got []uuid.UUID
		before := uuid.Nil
		for {
			var page []usermgmt.MailRecord
			require.NoError(t, s.RunInTx(ctx, usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
				var err error
				page, err = tx.ListMail(ctx, usermgmt.MailListParams{TenantID: tn, Before: before, Limit: 97})
				return err
			}))
			for _, m := range page {
				require.Equal(t, model[m.ID], m)
				got = append(got, m.ID)
			}
			if len(page) < 97 {
				break
			}
			before = page[len(page)-1].ID
		}
		require.Equal(t, want, got, "ListMail of %s", tn)
	}

	// DeleteExpired, then the claim order of everything left.
	cut := at(1000)
	var expired int
	for id, m := range model {
		if !cut.Before(m.ExpiresAt) {
			expired++
			delete(model, id)
		}
	}
	require.NoError(t, s.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		p, err := tx.DeleteExpired(ctx, cut)
		require.Equal(t, expired, p.Mail)
		return err
	}))
	var want, got []uuid.UUID
	for _, m := range due() {
		want = append(want, m.ID)
	}
	require.NoError(t, s.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		for {
			m, err := tx.ClaimMail(ctx, at(100_000), at(200_000))
			if usermgmt.ErrorCode(err) == usermgmt.CodeNotFound {
				return nil
			}
			if err != nil {
				return err
			}
			got = append(got, m.ID)
		}
	}))
	require.Equal(t, want, got, "claim order")
	require.NotEmpty(t, got)
}
