package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// A database that cannot be reached answers unavailable with a RetryAfter,
// from real failures of a real driver: a closed port, a server that
// accepts only reads, connections the server ends.

// closedPort returns a local TCP port nobody listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// storeAt is a Store in schema on a pool of its own for url.
func storeAt(t *testing.T, url, schema string) *postgres.Store {
	t.Helper()
	sqldb, err := sql.Open("pgx", url)
	require.NoError(t, err)
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { db.Close() })
	s, err := postgres.New(db, postgres.WithSchema(schema))
	require.NoError(t, err)
	return s
}

// requireUnavailable checks that err is unavailable with a RetryAfter and
// a message that says the database cannot be reached.
func requireUnavailable(t *testing.T, err error, msg string) {
	t.Helper()
	require.Equal(t, usermgmt.CodeUnavailable, usermgmt.ErrorCode(err), "%v", err)
	var ue *usermgmt.Error
	require.ErrorAs(t, err, &ue)
	assert.Positive(t, ue.RetryAfter)
	assert.Contains(t, ue.Message, msg)
}

// write is an invite-shaped write of one new user.
func write(s *postgres.Store, email string) error {
	return s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, newUser("t1", email, usermgmt.StatusInvited))
	})
}

// read counts the users in a read-only transaction.
func read(s *postgres.Store) error {
	return s.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.CountUsers(ctx, "t1")
		return err
	})
}

// touch is the hot path of Authenticate, a statement outside a
// transaction; an unknown token is not an error here.
func touch(s *postgres.Store) error {
	_, _, err := s.TouchSession(context.Background(), hashOf("nobody"), t0, time.Minute)
	if usermgmt.ErrorCode(err) == usermgmt.CodeUnauthenticated {
		return nil
	}
	return err
}

func TestUnavailableWhenNoHostAnswers(t *testing.T) {
	requireServer(t)
	one := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/test?sslmode=disable&connect_timeout=2", closedPort(t))
	both := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/test?sslmode=disable&connect_timeout=2&target_session_attrs=read-write",
		closedPort(t), closedPort(t))
	for name, url := range map[string]string{"OneHost": one, "MultiHost": both} {
		t.Run(name, func(t *testing.T) {
			s := storeAt(t, url, "usermgmt")
			requireUnavailable(t, write(s, "a@x.io"), "nothing was changed")
			requireUnavailable(t, touch(s), "nothing was changed")
		})
	}
}

// A host that takes the TCP connection and then never answers (a server
// that hangs, a half-dead machine): the driver's connect_timeout ends the
// attempt, and that is unavailable; the caller's own deadline passing
// first stays a deadline (internal), as for any other statement.
func TestHostThatNeverAnswers(t *testing.T) {
	requireServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0") // the kernel completes the handshake; nobody reads
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	url := fmt.Sprintf("postgres://postgres@%s/test?sslmode=disable&connect_timeout=1", l.Addr())
	t.Run("ConnectTimeoutIsUnavailable", func(t *testing.T) {
		s := storeAt(t, url, "usermgmt")
		requireUnavailable(t, write(s, "a@x.io"), "nothing was changed")
		requireUnavailable(t, touch(s), "nothing was changed")
	})
	t.Run("CallersDeadlineStaysADeadline", func(t *testing.T) {
		s := storeAt(t, url, "usermgmt")
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, _, err := s.TouchSession(ctx, hashOf("x"), t0, time.Minute)
		assert.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err), "%v", err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// A server that takes only reads is a standby to the library: with
// target_session_attrs=read-write no host qualifies, and without it a
// write is refused (SQLSTATE 25006). Both are unavailable.
func TestUnavailableOnAStandby(t *testing.T) {
	s := newStore(t)
	readOnly := testURL() + "&options=" + "-c%20default_transaction_read_only%3Don"
	t.Run("TargetReadWriteFindsNone", func(t *testing.T) {
		ro := storeAt(t, readOnly+"&target_session_attrs=read-write", s.Schema())
		requireUnavailable(t, write(ro, "a@x.io"), "nothing was changed")
		requireUnavailable(t, touch(ro), "nothing was changed")
	})
	t.Run("WriteRefused", func(t *testing.T) {
		ro := storeAt(t, readOnly, s.Schema())
		requireUnavailable(t, write(ro, "a@x.io"), "nothing was changed")
		require.NoError(t, read(ro), "a read works on a standby")
	})
	assert.Equal(t, 0, count(t, openDB(t), s, "users", ""))
}

// A connection the server ends during COMMIT leaves the outcome unknown,
// and the message says so. A deferred trigger holds the COMMIT open.
func TestUnavailableDuringCommitSaysTheChangeMayBeSaved(t *testing.T) {
	base := newStore(t)
	admin := openDB(t)
	_, err := admin.Exec(fmt.Sprintf(`
		CREATE FUNCTION %[1]q.slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN PERFORM pg_sleep(5); RETURN NULL; END $$;
		CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON %[1]q.users
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION %[1]q.slow_commit()`, base.Schema()))
	require.NoError(t, err)
	app := "usermgmt_commit_" + base.Schema()
	s, err := postgres.New(openDBWith(t, "application_name="+app), postgres.WithSchema(base.Schema()))
	require.NoError(t, err)
	go func() {
		for range 100 { // until the COMMIT sleeps in the trigger
			time.Sleep(50 * time.Millisecond)
			var n int
			err := admin.DB.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE application_name = $1 AND lower(query) = 'commit'`, app).Scan(&n)
			if err != nil || n > 0 {
				return
			}
		}
	}()
	requireUnavailable(t, write(s, "a@x.io"), "may or may not have been saved")
}

// The pool drops connections the server ended: each costs at most one
// failed call, unavailable, and the Store works again on the same pool.
func TestPoolDropsConnectionsTheServerEnded(t *testing.T) {
	base := newStore(t)
	app := "usermgmt_drop_" + base.Schema()
	db := openDBWith(t, "application_name="+app)
	const conns = 4
	db.SetMaxIdleConns(conns)
	s, err := postgres.New(db, postgres.WithSchema(base.Schema()))
	require.NoError(t, err)
	// Fill the pool with conns idle connections.
	held := make([]*sql.Conn, conns)
	for i := range held {
		held[i], err = db.DB.Conn(context.Background())
		require.NoError(t, err)
		require.NoError(t, held[i].PingContext(context.Background()))
	}
	for _, c := range held {
		require.NoError(t, c.Close())
	}
	admin := openDB(t).DB
	var ended int
	require.NoError(t, admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1`, app).Scan(&ended))
	require.Equal(t, conns, ended)
	require.Eventually(t, func() bool { // the backends exit after the signal
		var left int
		return admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&left) == nil && left == 0
	}, 10*time.Second, 20*time.Millisecond)

	failed := 0
	for i := range 2*conns + 1 {
		err := touch(s)
		if i > conns {
			require.NoError(t, err, "call %d: the pool still hands out ended connections", i)
		}
		if err != nil {
			requireUnavailable(t, err, "nothing was changed")
			failed++
		}
	}
	t.Logf("%d calls failed on ended connections", failed)
	assert.LessOrEqual(t, failed, conns)
	require.NoError(t, write(s, "after@x.io"))
}
