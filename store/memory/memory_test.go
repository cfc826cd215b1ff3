package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) usermgmt.Store { return memory.New() })
}

// TestIndexesStayRightAtScale drives the sorted email indexes through
// many chunk splits and merges (the conformance suite's tenants are too
// small for that) and checks every list against a plain model.
func TestIndexesStayRightAtScale(t *testing.T) {
	s := memory.New()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []usermgmt.Status{usermgmt.StatusInvited, usermgmt.StatusActive, usermgmt.StatusDeactivated}
	model := map[uuid.UUID]usermgmt.UserRecord{}
	var ids []uuid.UUID

	do := func(fn func(tx usermgmt.Tx) error) error {
		return s.RunInTx(ctx, usermgmt.TxOptions{}, func(_ context.Context, tx usermgmt.Tx) error { return fn(tx) })
	}
	for _, n := range rng.Perm(6000) {
		u := usermgmt.UserRecord{User: usermgmt.User{
			ID: uuid.Must(uuid.NewV7()), TenantID: "acme", Email: fmt.Sprintf("u%05d@x%d.io", n, n%10),
			Status: statuses[rng.IntN(3)], Roles: []usermgmt.Role{usermgmt.RoleAgent},
		}}
		require.NoError(t, do(func(tx usermgmt.Tx) error { return tx.CreateUser(ctx, &u) }))
		model[u.ID] = u
		ids = append(ids, u.ID)
	}
	check := func() {
		t.Helper()
		var want usermgmt.StatusCounts
		for _, u := range model {
			want.Add(u.Status, 1)
		}
		got := mustCount(t, s, "acme")
		require.Equal(t, want, got)
		for _, st := range append([]usermgmt.Status{""}, statuses...) {
			for _, search := range []string{"", "7", "@x3"} {
				var exp []string
				for _, u := range model {
					if (st == "" || u.Status == st) && strings.Contains(u.Email, search) {
						exp = append(exp, u.Email)
					}
				}
				slices.Sort(exp)
				var paged []string
				after := ""
				for {
					var page []usermgmt.User
					require.NoError(t, s.RunInTx(ctx, usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
						var err error
						page, err = tx.ListUsers(ctx, usermgmt.UserListParams{TenantID: "acme", Status: st, Search: search, After: after, Limit: 97})
						return err
					}))
					for _, u := range page {
						paged = append(paged, u.Email)
					}
					if len(page) < 97 {
						break
					}
					after = page[len(page)-1].Email
				}
				require.Equal(t, exp, paged, "status %q search %q", st, search)
			}
		}
	}
	check()

	rollback := errors.New("roll back")
	for round := range 4 {
		for i := range 10000 {
			u := model[ids[rng.IntN(len(ids))]]
			// Each round drains two statuses into the third, so chunks
			// both split and merge.
			u.Status = statuses[round%3]
			err := do(func(tx usermgmt.Tx) error {
				if err := tx.UpdateUser(ctx, &u); err != nil || i%5 != 0 {
					return err
				}
				return rollback
			})
			if i%5 == 0 {
				require.ErrorIs(t, err, rollback)
				continue
			}
			require.NoError(t, err)
			model[u.ID] = u
		}
		check()
	}
}

func mustCount(t *testing.T, s *memory.Store, tenantID string) usermgmt.StatusCounts {
	t.Helper()
	var c usermgmt.StatusCounts
	require.NoError(t, s.RunInTx(t.Context(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		var err error
		c, err = tx.CountUsers(ctx, tenantID)
		return err
	}))
	return c
}

func TestReadOnlyTxRefusesDeleteExpired(t *testing.T) {
	s := memory.New()
	err := s.RunInTx(t.Context(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.DeleteExpired(ctx, time.Now())
		return err
	})
	require.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err))
}

// TestTxAfterRunInTxIsRefused: a Tx kept past its RunInTx would read and
// write without the lock; it answers internal instead.
func TestTxAfterRunInTxIsRefused(t *testing.T) {
	s := memory.New()
	for _, ro := range []bool{false, true} {
		var kept usermgmt.Tx
		require.NoError(t, s.RunInTx(t.Context(), usermgmt.TxOptions{ReadOnly: ro}, func(_ context.Context, tx usermgmt.Tx) error {
			kept = tx
			return nil
		}))
		_, err := kept.CountUsers(t.Context(), "acme")
		require.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err), "read, read-only=%v", ro)
		err = kept.CreateUser(t.Context(), &usermgmt.UserRecord{User: usermgmt.User{ID: uuid.Must(uuid.NewV7()), TenantID: "acme", Email: "late@example.com"}})
		require.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err), "write, read-only=%v", ro)
	}
	require.Equal(t, usermgmt.StatusCounts{}, mustCount(t, s, "acme"), "nothing was written")
}

// TestReadOnlyTxsRunSideBySide: a read-only transaction takes the read
// lock, so a second one runs while the first is still open. Were readers
// serialised, the first would wait for the second forever; the timeout
// only turns that deadlock into a failure.
func TestReadOnlyTxsRunSideBySide(t *testing.T) {
	s := memory.New()
	ro := usermgmt.TxOptions{ReadOnly: true}
	read := func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.CountUsers(ctx, "acme")
		return err
	}
	second := make(chan error, 1)
	require.NoError(t, s.RunInTx(t.Context(), ro, func(ctx context.Context, tx usermgmt.Tx) error {
		go func() { second <- s.RunInTx(ctx, ro, read) }()
		select {
		case err := <-second:
			return err
		case <-time.After(time.Minute):
			return errors.New("a second read-only transaction waited for the first")
		}
	}))
}
