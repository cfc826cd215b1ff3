package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// claimTimeout bounds every claim in these tests: a claim that waits for
// another transaction's lock instead of skipping it runs into it.
const claimTimeout = 5 * time.Second

func newMail(tenant string, userID uuid.UUID, kind usermgmt.MessageKind, due time.Time) *usermgmt.MailRecord {
	return &usermgmt.MailRecord{
		ID: uuid.Must(uuid.NewV7()), TenantID: tenant, UserID: userID, Kind: kind, To: "a@x.io",
		Sealed: []byte("sealed"), NextAttemptAt: due, CreatedAt: t0,
		DeliverBy: t0.Add(24 * time.Hour), ExpiresAt: t0.Add(7 * 24 * time.Hour),
	}
}

// claimAndHold claims a mail through s in a transaction that stays open
// until release is called (at the latest when the test ends), and fails
// the test if the claim does not finish within claimTimeout.
func claimAndHold(t *testing.T, s *postgres.Store, now, until time.Time) (m usermgmt.MailRecord, release func() error) {
	t.Helper()
	type claim struct {
		m   usermgmt.MailRecord
		err error
	}
	claimed, done, finished := make(chan claim, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		finished <- s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			cctx, cancel := context.WithTimeout(ctx, claimTimeout)
			m, err := tx.ClaimMail(cctx, now, until)
			cancel()
			claimed <- claim{m, err}
			if err != nil {
				return err
			}
			<-done
			return nil
		})
	}()
	var (
		once sync.Once
		err  error
	)
	release = func() error {
		once.Do(func() { close(done); err = <-finished })
		return err
	}
	t.Cleanup(func() { release() })
	select {
	case c := <-claimed:
		require.NoError(t, c.err, "the claim must skip rows other transactions hold, not wait for them")
		return c.m, release
	case <-time.After(claimTimeout + 5*time.Second):
		t.Fatal("claim neither finished nor honoured its deadline")
		return usermgmt.MailRecord{}, nil
	}
}

// Three app instances (three pools) claim one after the other while every
// claim's transaction stays open: each gets a different mail, in claim
// order, at once. Without SKIP LOCKED the second would wait for the first
// and fail on claimTimeout.
func TestClaimSkipsMailsOtherInstancesHold(t *testing.T) {
	one := newStore(t)
	instances := []*postgres.Store{one}
	for range 2 {
		s, err := postgres.New(openDB(t), postgres.WithSchema(one.Schema()))
		require.NoError(t, err)
		instances = append(instances, s)
	}
	user := uuid.Must(uuid.NewV7())
	now, until := t0.Add(time.Hour), t0.Add(time.Hour+5*time.Minute)
	mails := []*usermgmt.MailRecord{
		newMail("t1", user, usermgmt.MessageInvite, t0),
		newMail("t2", user, usermgmt.MessagePasswordReset, t0.Add(time.Minute)),
		newMail("t1", user, usermgmt.MessagePasswordChanged, t0.Add(2*time.Minute)),
	}
	inTx(t, one, func(ctx context.Context, tx usermgmt.Tx) error {
		for _, m := range mails {
			require.NoError(t, tx.EnqueueMail(ctx, m))
		}
		return nil
	})

	var releases []func() error
	for i, s := range instances {
		m, release := claimAndHold(t, s, now, until)
		releases = append(releases, release)
		assert.Equal(t, mails[i].ID, m.ID, "instance %d gets the earliest mail the others do not hold", i)
		assert.Equal(t, 1, m.Attempts)
		assert.Equal(t, until, m.NextAttemptAt)
	}
	// A fourth claim while all three are held finds nothing, at once.
	ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
	defer cancel()
	err := one.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.ClaimMail(ctx, now, until)
		return err
	})
	assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))

	for _, release := range releases {
		require.NoError(t, release())
	}
	// Committed claims are not due again until until.
	err = one.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.ClaimMail(ctx, until.Add(-time.Microsecond), until.Add(time.Hour))
		return err
	})
	assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
}

// The claim reads the outbox_claim index in claim order and stops at the
// first row it can lock: no sequential scan and no sort, however many
// mails wait for a retry or are kept as failed. The plan checked is that
// of the statement ClaimMail ran, found among the connection's prepared
// statements, both as a custom plan (for the values passed) and as the
// generic plan PostgreSQL may switch to after a few executions.
func TestClaimUsesThePartialIndex(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()

	// A backlog: 2,000 mails waiting for a retry over the next day, 2,000
	// failed ones kept for listing, and one due.
	now := t0.Add(time.Hour)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		for i := range 4000 {
			m := newMail(fmt.Sprintf("t%d", i%20), uuid.Must(uuid.NewV7()), usermgmt.MessageInvite,
				now.Add(time.Duration(1+i)*20*time.Second))
			if i%2 == 1 {
				m.Attempts, m.LastError, m.FailedAt = 5, "550 mailbox unavailable", now.Add(-time.Minute)
			}
			require.NoError(t, tx.EnqueueMail(ctx, m))
		}
		return tx.EnqueueMail(ctx, newMail("t1", uuid.Must(uuid.NewV7()), usermgmt.MessageInvite, t0))
	})
	_, err := db.DB.ExecContext(ctx, `ANALYZE "`+s.Schema()+`".outbox`)
	require.NoError(t, err)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.ClaimMail(ctx, now, now.Add(5*time.Minute))
		return err
	})

	name := preparedLike(t, db.DB, "%FOR UPDATE SKIP LOCKED%",
		"the claim statement is prepared on the store's connection (pgx caches statements)")
	at := "'" + now.Format(time.RFC3339Nano) + "'"
	eachPlan(t, db.DB, name, `(`+at+`, `+at+`)`, func(mode, plan string) {
		inOrder := strings.Contains(plan, "Index Scan using outbox_claim on") &&
			!strings.Contains(plan, "Seq Scan") && !strings.Contains(plan, "Sort")
		assert.True(t, inOrder, "%s: the claim must read outbox_claim in order, with no scan or sort:\n%s", mode, plan)
	})
}

// A schema at version 2, as a deployed app's is, gets the outbox from the
// next Migrate and keeps its rows.
func TestMigrateUpgradesAVersion2Schema(t *testing.T) {
	db, s := migratedBackTo(t, 2)
	ctx := context.Background()
	require.Equal(t, 2, count(t, db, s, "schema_migrations", ""))
	u := newUser("t1", "a@x.io", usermgmt.StatusActive)
	oldUser(t, db, s, u)

	require.NoError(t, s.Migrate(ctx))
	assert.Equal(t, latestVersion(t), count(t, db, s, "schema_migrations", ""))
	assert.Equal(t, 1, count(t, db, s, "schema_migrations", "version = 3 AND name = '0003_outbox.sql'"))
	var indexes []string
	rows, err := db.DB.QueryContext(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'outbox'
		ORDER BY indexname`, s.Schema())
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		indexes = append(indexes, name)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"outbox_claim", "outbox_expires_at", "outbox_pkey", "outbox_tenant_id", "outbox_tenant_user_kind"}, indexes)
	assert.Equal(t, 1, count(t, db, s, "users", ""))

	m := newMail("t1", u.ID, usermgmt.MessageInvite, t0)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.EnqueueMail(ctx, m))
		got, err := tx.ClaimMail(ctx, t0, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, m.ID, got.ID)
		return nil
	})
	require.NoError(t, s.Migrate(ctx), "and again: nothing to do")
	assert.Equal(t, latestVersion(t), count(t, db, s, "schema_migrations", ""))
}

// Every field survives the round trip; a NULL failed_at is the zero time,
// and every time comes back in UTC whatever the session's time zone.
func TestMailRoundTrip(t *testing.T) {
	s, err := postgres.New(openDBWith(t, "timezone=Asia/Kolkata"), postgres.WithSchema(newStore(t).Schema()))
	require.NoError(t, err)
	pending := newMail("t1", uuid.Must(uuid.NewV7()), usermgmt.MessageMFAReset, t0.Add(123456*time.Microsecond))
	failed := newMail("t1", pending.UserID, usermgmt.MessageInvite, t0)
	failed.Attempts, failed.LastError, failed.FailedAt = 5, "550 5.1.1 no such user", t0.Add(time.Hour)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.EnqueueMail(ctx, pending))
		require.NoError(t, tx.EnqueueMail(ctx, failed))
		got, err := tx.ListMail(ctx, usermgmt.MailListParams{TenantID: "t1", Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.MailRecord{*failed, *pending}, got)
		for _, m := range got {
			assert.Equal(t, time.UTC, m.CreatedAt.Location())
		}
		return nil
	})
}
