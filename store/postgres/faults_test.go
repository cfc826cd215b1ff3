package postgres_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// openDBWith opens a pool whose connections start with extra settings
// (URL query parameters such as statement_timeout or application_name).
func openDBWith(t *testing.T, params string) *bun.DB {
	t.Helper()
	requireServer(t)
	sqldb, err := sql.Open("pgx", testURL()+"&"+params)
	require.NoError(t, err)
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { db.Close() })
	return db
}

// holdUserLock locks u's row from another pool until the returned func is
// called.
func holdUserLock(t *testing.T, schema string, u *usermgmt.UserRecord) (release func()) {
	t.Helper()
	other, err := postgres.New(openDB(t), postgres.WithSchema(schema))
	require.NoError(t, err)
	locked, done := make(chan struct{}), make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		_ = other.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			if _, err := tx.LockUser(ctx, u.TenantID, u.ID); err != nil {
				close(locked)
				return err
			}
			close(locked)
			<-done
			return nil
		})
	}()
	<-locked
	var once sync.Once
	return func() { once.Do(func() { close(done); <-finished }) }
}

// faultCase runs an invite-shaped transaction (a new user and its event)
// that then blocks on a locked row, and checks that the fault gives the
// error code want (with a RetryAfter when it is unavailable), that nothing
// of the transaction is left, and that the next call on the same Store
// works.
func faultCase(t *testing.T, s *postgres.Store, ctx context.Context, fault func(), want usermgmt.Code, wantCause error, wantMsg string) {
	t.Helper()
	locked := newUser("t1", "locked@x.io", usermgmt.StatusActive)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateUser(ctx, locked) })
	release := holdUserLock(t, s.Schema(), locked)
	defer release()

	invited := newUser("t1", "new@x.io", usermgmt.StatusInvited)
	go fault()
	err := s.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		if err := tx.CreateUser(ctx, invited); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, &usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: invited.ID,
			Type: usermgmt.EventInvited, CreatedAt: t0}); err != nil {
			return err
		}
		_, err := tx.LockUser(ctx, "t1", locked.ID) // blocks until the fault
		return err
	})
	require.Error(t, err)
	assert.Equal(t, want, usermgmt.ErrorCode(err), "%v", err)
	var ue *usermgmt.Error
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Message, wantMsg)
	assert.Equal(t, want == usermgmt.CodeUnavailable, ue.RetryAfter > 0, "RetryAfter %d", ue.RetryAfter)
	if wantCause != nil {
		assert.ErrorIs(t, err, wantCause)
	}
	release()

	// No partial rows.
	check := openDB(t)
	assert.Equal(t, 0, count(t, check, s, "users", "email = 'new@x.io'"))
	assert.Equal(t, 0, count(t, check, s, "events", ""))
	assert.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, countsOf(t, s, "t1"))

	// The next call works.
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateUser(ctx, invited) })
}

func TestFaultCancelledContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	faultCase(t, s, ctx, func() { time.Sleep(100 * time.Millisecond); cancel() }, usermgmt.CodeInternal, context.Canceled, "cancelled")
}

func TestFaultDeadline(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	faultCase(t, s, ctx, func() {}, usermgmt.CodeInternal, context.DeadlineExceeded, "deadline")
}

func TestFaultStatementTimeout(t *testing.T) {
	base := newStore(t)
	s, err := postgres.New(openDBWith(t, "statement_timeout=100"), postgres.WithSchema(base.Schema()))
	require.NoError(t, err)
	faultCase(t, s, context.Background(), func() {}, usermgmt.CodeInternal, nil, "statement_timeout")
}

func TestFaultConnectionKilled(t *testing.T) {
	base := newStore(t)
	app := "usermgmt_kill_" + base.Schema()
	s, err := postgres.New(openDBWith(t, "application_name="+app), postgres.WithSchema(base.Schema()))
	require.NoError(t, err)
	admin := openDB(t)
	faultCase(t, s, context.Background(), func() {
		time.Sleep(100 * time.Millisecond)
		_, err := admin.DB.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app)
		assert.NoError(t, err)
	}, usermgmt.CodeUnavailable, nil, "nothing was changed")
}

func TestFaultClosedPool(t *testing.T) {
	base := newStore(t)
	db := openDB(t)
	s, err := postgres.New(db, postgres.WithSchema(base.Schema()))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	u := newUser("t1", "a@x.io", usermgmt.StatusInvited)
	err = s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, u)
	})
	assert.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err))
	var ue *usermgmt.Error
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Message, "closed")
	_, _, err = s.TouchSession(context.Background(), hashOf("x"), t0, time.Minute)
	assert.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err))

	check := openDB(t)
	assert.Equal(t, 0, count(t, check, base, "users", ""))
	// The host's next pool works.
	inTx(t, base, func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateUser(ctx, u) })
}

// A unique violation in the middle of an invite rolls back what came
// before it.
func TestConflictMidInviteLeavesNothing(t *testing.T) {
	s := newStore(t)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, newUser("t1", "taken@x.io", usermgmt.StatusActive))
	})
	err := s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		other := newUser("t1", "fresh@x.io", usermgmt.StatusInvited)
		if err := tx.CreateUser(ctx, other); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &usermgmt.TokenRecord{Hash: hashOf("t"), Purpose: usermgmt.PurposeInvite, TenantID: "t1",
			UserID: other.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			return err
		}
		return tx.CreateUser(ctx, newUser("t1", "taken@x.io", usermgmt.StatusInvited))
	})
	assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err))
	check := openDB(t)
	assert.Equal(t, 1, count(t, check, s, "users", ""))
	assert.Equal(t, 0, count(t, check, s, "tokens", ""))
	assert.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, countsOf(t, s, "t1"))
}

func TestReadOnlyTxRefusesWrites(t *testing.T) {
	s := newStore(t)
	err := s.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, newUser("t1", "a@x.io", usermgmt.StatusActive))
	})
	assert.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err))
	err = s.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.DeleteExpired(ctx, t0)
		return err
	})
	assert.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err), "DeleteExpired")
}

// Two transactions locking two users in opposite orders deadlock; the one
// PostgreSQL aborts is run again by RunInTx and both succeed.
func TestDeadlockIsRetried(t *testing.T) {
	s := newStore(t)
	a := newUser("t1", "a@x.io", usermgmt.StatusActive)
	b := newUser("t1", "b@x.io", usermgmt.StatusActive)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateUser(ctx, a))
		return tx.CreateUser(ctx, b)
	})
	firstLocked := make(chan struct{}, 2)
	var runs [2]atomic.Int32
	run := func(i int, first, second *usermgmt.UserRecord) error {
		return s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			n := runs[i].Add(1)
			if _, err := tx.LockUser(ctx, "t1", first.ID); err != nil {
				return err
			}
			if n == 1 {
				firstLocked <- struct{}{}
				for len(firstLocked) < 2 {
					time.Sleep(5 * time.Millisecond)
				}
			}
			_, err := tx.LockUser(ctx, "t1", second.ID)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- run(0, a, b) }()
	go func() { errs <- run(1, b, a) }()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	assert.EqualValues(t, 3, runs[0].Load()+runs[1].Load(), "one transaction ran twice")
}

func TestEventsAreAppendOnly(t *testing.T) {
	s := newStore(t)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.AppendEvent(ctx, &usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: uuid.New(),
			Type: usermgmt.EventLogout, CreatedAt: t0})
	})
	db := openDB(t)
	_, err := db.DB.Exec(`UPDATE "` + s.Schema() + `".events SET detail = 'x'`)
	assert.Error(t, err)
	_, err = db.DB.Exec(`DELETE FROM "` + s.Schema() + `".events`)
	assert.Error(t, err)
	assert.Equal(t, 1, count(t, db, s, "events", ""))
}
