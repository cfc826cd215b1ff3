package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/usermgmt/usermgmt"
)

// Naming the actors does not move the activity page off its index: the
// page walks the primary key of each monthly partition backwards from the
// cursor, the partitions newest first (an ordered Append, no Merge
// Append), with no sort and no sequential scan, and each actor is one
// probe of the users primary key. Checked on the statements ListEvents
// ran (first page and with a cursor), as custom and as generic plans; and
// a page that crosses a month reads those two partitions and stops.
func TestListEventsWalksThePrimaryKey(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`

	heavy := seedActivity(t, db, q)

	var page []usermgmt.Event
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
		page, err = tx.ListEvents(ctx, "t1", heavy, uuid.Nil, 51)
		if err != nil {
			return err
		}
		_, err = tx.ListEvents(ctx, "t1", heavy, page[50].ID, 51)
		return err
	})
	require.Len(t, page, 51)
	for _, e := range page {
		require.NotEmpty(t, e.ActorEmail, "every actor of the seed is a user of the tenant")
	}

	rows, err := db.DB.QueryContext(ctx, `SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE $1`,
		"%LEFT JOIN%.users a%")
	require.NoError(t, err)
	args := map[string]string{}
	for rows.Next() {
		var name, stmt string
		require.NoError(t, rows.Scan(&name, &stmt))
		if strings.Contains(stmt, "e.id <") {
			args[name] = `('t1', '` + heavy.String() + `', '` + page[50].ID.String() + `', 51)`
		} else {
			args[name] = `('t1', '` + heavy.String() + `', 51)`
		}
	}
	require.NoError(t, rows.Err())
	require.Len(t, args, 2, "both ListEvents statements are prepared on the store's connection")
	var before string
	for name, a := range args {
		eachPlan(t, db.DB, name, a, func(mode, plan string) {
			ok := strings.Contains(plan, "Index Scan Backward using events_") &&
				strings.Contains(plan, "using users_pkey on") && !strings.Contains(plan, "Merge Append") &&
				!strings.Contains(plan, "Seq Scan") && !strings.Contains(plan, "Sort")
			assert.True(t, ok, "%s: the page must walk the partitions' primary keys backwards in order and probe users_pkey, "+
				"with no scan or sort:\n%s", mode, plan)
		})
		if strings.Contains(a, page[50].ID.String()) {
			before = name
		}
	}

	// A cursor 10 events into next month: 10 events of it, 41 of this one.
	var cursor uuid.UUID
	require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT id FROM `+q+`.events WHERE user_id = $1
		AND id >= `+q+`.events_bound(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month')
		ORDER BY id OFFSET 10 LIMIT 1`, heavy).Scan(&cursor))
	plan := explain(t, db.DB, `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE "`+before+
		`"('t1', '`+heavy.String()+`', '`+cursor.String()+`', 51)`)
	var read []string
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, "Index Scan Backward using events_") && !strings.Contains(line, "never executed") {
			read = append(read, line)
		}
	}
	assert.Len(t, read, 2, "the page reads two months and stops:\n%s", plan)
	assert.Contains(t, plan, "rows=51 loops=1", plan)
}

// seedActivity fills the schema q with 4,000 users in 20 tenants (t0 …
// t19); 5,000 events, 45 minutes apart from two months before this one
// (five months: the legacy partition, this month's, the next two and the
// open-ended last one), on one user of t1, heavy, done by 200 actors of
// its tenant; and 5 events, one a day before now, on every other user.
func seedActivity(t *testing.T, db *bun.DB, q string) (heavy uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.users (tenant_id, id, email, status, created_at, updated_at)
		SELECT 't' || (g % 20), gen_random_uuid(), 'u' || g || '@example.com', 'active', now(), now()
		FROM generate_series(1, 4000) g`)
	require.NoError(t, err)
	require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT id FROM `+q+`.users WHERE tenant_id = 't1' LIMIT 1`).Scan(&heavy))
	_, err = db.DB.ExecContext(ctx, `INSERT INTO `+q+`.events (tenant_id, user_id, id, type, actor_id, created_at)
		SELECT 't1', $1, `+v7+`, 'role.granted', a.ids[1 + g % array_length(a.ids, 1)], x.ts
		FROM generate_series(1, 5000) g, (SELECT array_agg(id) ids FROM `+q+`.users WHERE tenant_id = 't1') a,
			LATERAL (SELECT date_trunc('month', now()) - interval '2 months' + g * interval '45 minutes' AS ts) x`, heavy)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `INSERT INTO `+q+`.events (tenant_id, user_id, id, type, actor_id, created_at)
		SELECT u.tenant_id, u.id, `+v7+`, 'login.succeeded', u.id, x.ts
		FROM `+q+`.users u, generate_series(1, 5) g, LATERAL (SELECT now() - g * interval '1 day' AS ts) x WHERE u.id <> $1`, heavy)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE `+q+`.users; ANALYZE `+q+`.events`)
	require.NoError(t, err)
	return heavy
}

// v7 is SQL for a UUIDv7 of the time x.ts, as the Manager stamps events.
const v7 = `(lpad(to_hex(floor(extract(epoch FROM x.ts) * 1000)::bigint), 12, '0') || '7' ||
	substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid`

// An export's walk of a tenant's log is a range scan of the (tenant_id,
// id) index of 0015 in each partition, read in order (no Merge Append),
// with no sort and no scan of the tenant, each actor one probe of
// users_pkey; as custom and as generic plan. A page inside one month
// reads that month's partition only, and stops at the LIMIT.
func TestListTenantEventsWalksTheTenantIndex(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	seedActivity(t, db, q)

	var nextMonth uuid.UUID
	require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT `+q+`.events_bound(date_trunc('month', now() AT TIME ZONE 'UTC')
		+ interval '1 month')`).Scan(&nextMonth))
	var page []usermgmt.Event
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
		page, err = tx.ListTenantEvents(ctx, "t1", nextMonth, uuid.Nil, 101)
		return err
	})
	require.Len(t, page, 101)
	for i, e := range page {
		require.Equal(t, "t1", e.TenantID)
		require.NotEmpty(t, e.ActorEmail)
		if i > 0 {
			require.Positive(t, strings.Compare(e.ID.String(), page[i-1].ID.String()), "oldest first")
		}
	}

	name := preparedLike(t, db.DB, "%e.id > %ORDER BY e.id LIMIT%", "ListTenantEvents ran on the store's connection")
	args := `('t1', '` + nextMonth.String() + `', '` + uuid.Max.String() + `', 101)`
	eachPlan(t, db.DB, name, args, func(mode, plan string) {
		ok := strings.Contains(plan, "Index Scan using events_") && strings.Contains(plan, "tenant_id_id_idx") &&
			strings.Contains(plan, "using users_pkey on") && !strings.Contains(plan, "Merge Append") &&
			!strings.Contains(plan, "Seq Scan") && !strings.Contains(plan, "Sort") && !strings.Contains(plan, "Bitmap")
		assert.True(t, ok, "%s: the page must be a range of (tenant_id, id) in each partition, in order, "+
			"probing users_pkey, with no scan or sort:\n%s", mode, plan)
	})

	plan := explain(t, db.DB, `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE "`+name+`"`+args)
	var read []string
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, "Index Scan using events_") && !strings.Contains(line, "never executed") {
			read = append(read, line)
		}
	}
	assert.Len(t, read, 1, "the page reads next month's partition and stops:\n%s", plan)
	assert.Contains(t, read[0], "rows=101 loops=1", plan)
}
