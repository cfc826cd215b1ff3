package postgres_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// migrated returns a pool and a migrated Store in a fresh schema.
func migrated(t *testing.T) (*bun.DB, *postgres.Store) {
	t.Helper()
	db := openDB(t)
	s, err := postgres.New(db, postgres.WithSchema(freshSchema(t)))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	return db, s
}

// month is the first instant (UTC) of the month n months after now's.
func month(n int) time.Time {
	now := time.Now().UTC()
	return time.Date(now.Year(), now.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
}

// eventOn is an event of user u whose UUIDv7 id and CreatedAt are at.
func eventOn(u *usermgmt.UserRecord, at time.Time) *usermgmt.Event {
	id := uuid.Must(uuid.NewV7())
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(id[:6], ms[2:])
	return &usermgmt.Event{ID: id, TenantID: u.TenantID, UserID: u.ID, Type: usermgmt.EventLoginSucceeded,
		ActorID: u.ID, CreatedAt: at}
}

// partitions lists the partitions of events, oldest first.
func partitions(t *testing.T, db *bun.DB, s *postgres.Store) []string {
	t.Helper()
	rows, err := db.DB.QueryContext(context.Background(), `SELECT part::text FROM "`+s.Schema()+`".events_partitions()
		ORDER BY lo NULLS FIRST`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		require.NoError(t, rows.Scan(&p))
		out = append(out, p)
	}
	require.NoError(t, rows.Err())
	return out
}

func partName(s *postgres.Store, m time.Time) string {
	return s.Schema() + "." + m.Format("events_2006_01")
}

// Migrate opens this month and the next two, and an open-ended one after
// them; the table of before is the first partition.
func TestMigrateOpensTheComingMonths(t *testing.T) {
	db, s := migrated(t)
	assert.Equal(t, []string{s.Schema() + ".events_legacy", partName(s, month(0)), partName(s, month(1)),
		partName(s, month(2)), partName(s, month(3))}, partitions(t, db, s))
}

// The append-only rule holds on the parent and on every partition,
// those of the migration and those opened later; dropping a partition is
// the way out.
func TestEventsAreAppendOnlyOnEveryPartition(t *testing.T) {
	db, s := migrated(t)
	ctx := context.Background()
	u := newUser("t1", "a@x.io", usermgmt.StatusActive)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.DeleteExpired(ctx, month(3)); err != nil { // opens months 3 to 5
			return err
		}
		for _, at := range []time.Time{month(-2), month(0), month(1), month(2), month(4), month(7)} {
			if err := tx.AppendEvent(ctx, eventOn(u, at.Add(time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	parts := partitions(t, db, s)
	require.Len(t, parts, 8, "legacy, months 0 to 5, open-ended: %v", parts)
	for _, table := range append([]string{s.Schema() + ".events"}, parts...) {
		for _, stmt := range []string{`UPDATE ` + table + ` SET detail = 'x'`, `DELETE FROM ` + table} {
			_, err := db.DB.ExecContext(ctx, stmt)
			require.Error(t, err, stmt)
			assert.Contains(t, err.Error(), "append-only", stmt)
		}
	}
	assert.Equal(t, 6, count(t, db, s, "events", ""))
}

// A host that calls neither Migrate nor PruneExpired for months loses no
// event: the open-ended partition takes them, and the next prune closes
// it after its newest event and opens the months after.
func TestNeglectedMonthsStillInsert(t *testing.T) {
	db, s := migrated(t)
	u := newUser("t1", "a@x.io", usermgmt.StatusActive)
	late := eventOn(u, month(5).Add(time.Hour))
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, late)
	})
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.DeleteExpired(ctx, month(6))
		return err
	})
	parts := partitions(t, db, s)
	assert.Equal(t, []string{partName(s, month(3)), partName(s, month(6)), partName(s, month(7)),
		partName(s, month(8)), partName(s, month(9))}, parts[len(parts)-5:], "months 3 to 5 in one; then one a month")
	assert.Equal(t, 1, count(t, db, s, month(3).Format("events_2006_01"), ""))
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		page, err := tx.ListEvents(ctx, "t1", u.ID, uuid.Nil, 10)
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Equal(t, late.ID, page[0].ID)
		n, err := tx.DropEvents(ctx, month(6))
		assert.Equal(t, 1, n, "dropped with its months")
		return err
	})
	assert.Zero(t, count(t, db, s, "events", ""))
}

// Two instances pruning at once: the second finds the first at it and
// does nothing, at once, instead of waiting for its lock or failing.
func TestDropEventsLeavesTheWorkToWhoeverIsAtIt(t *testing.T) {
	db, s := migrated(t)
	ctx := context.Background()
	other, err := db.DB.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer other.Rollback()
	_, err = other.ExecContext(ctx, `LOCK TABLE "`+s.Schema()+`".events IN SHARE UPDATE EXCLUSIVE MODE`)
	require.NoError(t, err)
	before := partitions(t, db, s)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		n, err := tx.DropEvents(ctx, month(2))
		assert.Zero(t, n)
		return err
	})
	assert.Equal(t, before, partitions(t, db, s))
	require.NoError(t, other.Rollback())
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.DropEvents(ctx, month(2))
		return err
	})
	assert.Equal(t, before[3:], partitions(t, db, s), "legacy, this month and the next: dropped")
}

// An existing log is attached as the first partition, not copied: its
// rows stay where they are and read as before.
func TestMigrate0011KeepsTheEventsOfBefore(t *testing.T) {
	db, s := migratedBackTo(t, 10)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	u := newUser("t1", "a@x.io", usermgmt.StatusActive)
	oldUser(t, db, s, u)
	var want []uuid.UUID
	for _, at := range []time.Time{month(-30), month(-1), time.Now().UTC().Truncate(time.Microsecond)} {
		e := eventOn(u, at)
		_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.events (tenant_id, user_id, id, type, actor_id, created_at)
			VALUES ($1, $2, $3, 'login.succeeded', $2, $4)`, e.TenantID, e.UserID, e.ID, e.CreatedAt)
		require.NoError(t, err)
		want = append([]uuid.UUID{e.ID}, want...)
	}
	var relid int
	require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT $1::regclass::oid`, q+`.events`).Scan(&relid))

	require.NoError(t, s.Migrate(ctx))
	var legacy int
	require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT $1::regclass::oid`, q+`.events_legacy`).Scan(&legacy))
	assert.Equal(t, relid, legacy, "the same table")
	assert.Equal(t, 3, count(t, db, s, "events_legacy", ""))
	assert.Equal(t, []string{s.Schema() + ".events_legacy", partName(s, month(1)), partName(s, month(2)),
		partName(s, month(3))}, partitions(t, db, s), "the legacy partition ends after its newest event")
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		page, err := tx.ListEvents(ctx, "t1", u.ID, uuid.Nil, 10)
		require.NoError(t, err)
		var got []uuid.UUID
		for _, e := range page {
			got = append(got, e.ID)
		}
		assert.Equal(t, want, got)
		return tx.AppendEvent(ctx, eventOn(u, time.Now().UTC()))
	})
}
