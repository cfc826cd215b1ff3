package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// Naming the actors does not move the activity page off its index: the
// page walks events_pkey backwards from the cursor, with no sort and no
// sequential scan, and each actor is one probe of the users primary key.
// Checked on the statements ListEvents ran (first page and with a
// cursor), as custom and as generic plans.
func TestListEventsWalksThePrimaryKey(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`

	// 4,000 users in 20 tenants; 5,000 events on one user, done by 200
	// actors of its tenant; 5 events on every other user.
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.users (tenant_id, id, email, status, created_at, updated_at)
		SELECT 't' || (g % 20), gen_random_uuid(), 'u' || g || '@example.com', 'active', now(), now()
		FROM generate_series(1, 4000) g`)
	require.NoError(t, err)
	var heavy uuid.UUID
	require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT id FROM `+q+`.users WHERE tenant_id = 't1' LIMIT 1`).Scan(&heavy))
	_, err = db.DB.ExecContext(ctx, `INSERT INTO `+q+`.events (tenant_id, user_id, id, type, actor_id, created_at)
		SELECT 't1', $1, gen_random_uuid(), 'role.granted', a.ids[1 + g % array_length(a.ids, 1)], now()
		FROM generate_series(1, 5000) g, (SELECT array_agg(id) ids FROM `+q+`.users WHERE tenant_id = 't1') a`, heavy)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `INSERT INTO `+q+`.events (tenant_id, user_id, id, type, actor_id, created_at)
		SELECT u.tenant_id, u.id, gen_random_uuid(), 'login.succeeded', u.id, now()
		FROM `+q+`.users u, generate_series(1, 5) WHERE u.id <> $1`, heavy)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE `+q+`.users; ANALYZE `+q+`.events`)
	require.NoError(t, err)

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
	for name, a := range args {
		eachPlan(t, db.DB, name, a, func(mode, plan string) {
			ok := strings.Contains(plan, "Index Scan Backward using events_pkey on") &&
				strings.Contains(plan, "using users_pkey on") &&
				!strings.Contains(plan, "Seq Scan") && !strings.Contains(plan, "Sort")
			assert.True(t, ok, "%s: the page must walk events_pkey backwards and probe users_pkey, with no scan or sort:\n%s", mode, plan)
		})
	}
}
