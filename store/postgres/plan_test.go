package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/usermgmt/usermgmt/store/postgres"
)

// planStore is a migrated store on a handle of one connection, so that
// the statements the store runs (pgx prepares and caches them) are the
// test's to find in pg_prepared_statements and explain.
func planStore(t *testing.T) (*bun.DB, *postgres.Store) {
	t.Helper()
	db := openDB(t)
	db.SetMaxOpenConns(1)
	s, err := postgres.New(db, postgres.WithSchema(freshSchema(t)))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	return db, s
}

// preparedLike is the name of the one prepared statement whose text is
// LIKE pattern; why says what it is, in the failure.
func preparedLike(t *testing.T, db *sql.DB, pattern, why string) string {
	t.Helper()
	var name string
	err := db.QueryRowContext(context.Background(), `SELECT name FROM pg_prepared_statements WHERE statement LIKE $1`,
		pattern).Scan(&name)
	require.NoError(t, err, why)
	return name
}

// eachPlan hands check the plan of EXECUTE name(args) as a custom plan
// (for the values passed) and as the generic plan PostgreSQL may switch
// to after a few executions, and logs both when the test is verbose.
func eachPlan(t *testing.T, db *sql.DB, name, args string, check func(mode, plan string)) {
	t.Helper()
	ctx := context.Background()
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		_, err := db.ExecContext(ctx, "SET plan_cache_mode = "+mode)
		require.NoError(t, err)
		plan := explain(t, db, `EXPLAIN EXECUTE "`+name+`"`+args)
		check(mode, plan)
		if testing.Verbose() {
			t.Logf("%s:\n%s", mode, plan)
		}
	}
	_, err := db.ExecContext(ctx, "RESET plan_cache_mode")
	require.NoError(t, err)
}

// explain runs an EXPLAIN and returns its lines.
func explain(t *testing.T, db *sql.DB, query string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	require.NoError(t, err)
	defer rows.Close()
	var plan string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan += line + "\n"
	}
	require.NoError(t, rows.Err())
	return plan
}
