package postgres_test

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/postgres"
)

func TestMigrateFromEmptyIsIdempotent(t *testing.T) {
	db := openDB(t)
	schema := freshSchema(t)
	s, err := postgres.New(db, postgres.WithSchema(schema))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Migrate(ctx))

	files, err := fs.Glob(mustMigrations(t, schema), "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	assert.Equal(t, len(files), count(t, db, s, "schema_migrations", ""))
	for _, table := range []string{"users", "tenant_counts", "tokens", "sessions", "refresh_tokens", "devices", "events",
		"outbox", "login_attempts"} {
		assert.Equal(t, 0, count(t, db, s, table, ""), table)
	}
	var ext int
	require.NoError(t, db.QueryRowContext(ctx,
		"SELECT count(*) FROM pg_extension WHERE extname IN ('pg_trgm', 'btree_gin')").Scan(&ext))
	assert.Equal(t, 2, ext)
}

func TestMigrateConcurrently(t *testing.T) {
	schema := freshSchema(t)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		db := openDB(t) // one pool each: as many app instances starting at once
		s, err := postgres.New(db, postgres.WithSchema(schema))
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Migrate(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "instance %d", i)
	}
	db := openDB(t)
	s, err := postgres.New(db, postgres.WithSchema(schema))
	require.NoError(t, err)
	files, _ := fs.Glob(mustMigrations(t, schema), "*.sql")
	assert.Equal(t, len(files), count(t, db, s, "schema_migrations", ""), "each migration recorded once")
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, newUser("t1", "a@x.io", usermgmt.StatusActive))
	})
}

// oldUser inserts u into a schema of an earlier version, which the
// Store's own CreateUser (written for the latest) may not fit.
func oldUser(t *testing.T, db *bun.DB, s *postgres.Store, u *usermgmt.UserRecord) {
	t.Helper()
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	_, err := db.DB.ExecContext(context.Background(), `INSERT INTO "`+s.Schema()+`".users
		(tenant_id, id, email, status, roles, created_at, updated_at) VALUES ($1, $2, $3, $4, string_to_array($5, ','), $6, $6)`,
		u.TenantID, u.ID.String(), u.Email, string(u.Status), strings.Join(roles, ","), u.CreatedAt)
	require.NoError(t, err)
}

// A version-6 schema's invited users get the expiry of their live
// invitation link from 0007, or now when they have none; users who are
// not waiting for an invitation get none; user_roles is filled from
// users.roles.
func TestMigrate0007DatesInvitationsAndIndexesRoles(t *testing.T) {
	db, s := migratedBackTo(t, 6)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	live := newUser("t1", "live@x.io", usermgmt.StatusInvited, usermgmt.RoleAgent)
	dead := newUser("t1", "dead@x.io", usermgmt.StatusInvited, usermgmt.RoleAgent)
	active := newUser("t1", "active@x.io", usermgmt.StatusActive, usermgmt.RoleAgent, usermgmt.RoleSupervisor)
	for _, u := range []*usermgmt.UserRecord{live, dead, active} {
		oldUser(t, db, s, u)
	}
	exp := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Microsecond)
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.tokens (hash, purpose, tenant_id, user_id, created_at, expires_at)
		VALUES ($1, 'invite', 't1', $2, now(), $3)`, hashArgOf("inv"), live.ID.String(), exp)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		got, err := tx.GetUser(ctx, "t1", live.ID)
		require.NoError(t, err)
		require.NotNil(t, got.InviteExpiresAt)
		assert.True(t, exp.Equal(*got.InviteExpiresAt), "%v", got.InviteExpiresAt)
		got, err = tx.GetUser(ctx, "t1", dead.ID)
		require.NoError(t, err)
		require.NotNil(t, got.InviteExpiresAt)
		assert.False(t, got.InviteExpired(time.Now().Add(-time.Hour)), "expired before the migration ran")
		assert.True(t, got.InviteExpired(time.Now().Add(time.Second)))
		got, err = tx.GetUser(ctx, "t1", active.ID)
		require.NoError(t, err)
		assert.Nil(t, got.InviteExpiresAt)
		listed, err := tx.ListUsers(ctx, usermgmt.UserListParams{TenantID: "t1", Role: usermgmt.RoleAgent, Limit: 10})
		require.NoError(t, err)
		assert.Len(t, listed, 3, "the role filter finds the users of before")
		return nil
	})
}

// undo removes what each migration after 0001 creates ({s} is the quoted
// schema). A new migration needs its entry here.
var undo = map[int]string{
	2: `DROP INDEX {s}.tokens_expires_at; DROP INDEX {s}.devices_expires_at`,
	3: `DROP TABLE {s}.outbox`,
	4: `DROP TABLE {s}.login_attempts;
		ALTER TABLE {s}.users ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0, ADD COLUMN locked_until timestamptz`,
	5: `ALTER TABLE {s}.sessions DROP COLUMN verified_at;
		ALTER TABLE {s}.refresh_tokens DROP COLUMN spent_at, DROP COLUMN successor`,
	6: `ALTER TABLE {s}.sessions DROP COLUMN last_seen_at;
		ALTER TABLE {s}.devices DROP COLUMN id, DROP COLUMN ip, DROP COLUMN user_agent`,
	7: `DROP TABLE {s}.user_roles; DROP FUNCTION {s}.users_sync_roles CASCADE;
		ALTER TABLE {s}.users DROP COLUMN invite_expires_at`,
	8: `DROP TABLE {s}.provisioning_tokens; ALTER TABLE {s}.events DROP COLUMN actor_name;
		ALTER TABLE {s}.users DROP COLUMN display_name, DROP COLUMN given_name, DROP COLUMN family_name,
		DROP COLUMN external_id, DROP COLUMN direct_roles, DROP COLUMN version, DROP COLUMN deprovisioned_at`,
	9:  `DROP TABLE {s}.group_members; DROP TABLE {s}.groups`,
	10: `ALTER TABLE {s}.users DROP COLUMN employee_number, DROP COLUMN department, DROP COLUMN manager_id`,
	11: `CREATE TABLE {s}.events_plain (LIKE {s}.events INCLUDING DEFAULTS);
		INSERT INTO {s}.events_plain SELECT * FROM {s}.events;
		DROP TABLE {s}.events;
		DROP FUNCTION {s}.events_prepare, {s}.events_drop, {s}.events_partitions, {s}.events_month, {s}.events_bound;
		ALTER TABLE {s}.events_plain RENAME TO events;
		ALTER TABLE {s}.events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, user_id, id);
		CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON {s}.events
			FOR EACH STATEMENT EXECUTE FUNCTION {s}.events_append_only()`,
	12: `DROP INDEX {s}.events_tenant_actor; DROP TRIGGER events_erasure_only ON {s}.events;
		CREATE OR REPLACE FUNCTION {s}.events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'usermgmt: activity events are append-only' USING ERRCODE = 'insufficient_privilege'; END $$`,
	13: `DROP TABLE {s}.rate_limits`,
	14: `DROP TABLE {s}.webhook_deliveries; DROP TABLE {s}.webhook_messages; DROP TABLE {s}.webhook_endpoints`,
	15: `DROP INDEX {s}.events_tenant_id`,
	16: `DROP TRIGGER users_count_insert ON {s}.users; DROP FUNCTION {s}.users_count_inserted;
		DROP TRIGGER users_count_delete ON {s}.users;
		CREATE TRIGGER users_count_insert_delete AFTER INSERT OR DELETE ON {s}.users
			FOR EACH ROW EXECUTE FUNCTION {s}.users_count_status()`,
	17: `DROP INDEX {s}.users_tenant_email_infix_trgm;
		CREATE INDEX users_tenant_email_trgm ON {s}.users USING gin (tenant_id, email gin_trgm_ops)`,
}

// migratedBackTo returns a pool and a Store on a fresh schema at version:
// migrated to the latest, then what every later migration creates is gone
// and unrecorded, as in the schema of a deployed app that has not had them.
func migratedBackTo(t *testing.T, version int) (*bun.DB, *postgres.Store) {
	t.Helper()
	db := openDB(t)
	s, err := postgres.New(db, postgres.WithSchema(freshSchema(t)))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.Migrate(ctx))
	q := `"` + s.Schema() + `"`
	for v := count(t, db, s, "schema_migrations", ""); v > version; v-- {
		sql, ok := undo[v]
		require.True(t, ok, "undo has no entry for migration %d", v)
		_, err := db.DB.ExecContext(ctx, strings.ReplaceAll(sql, "{s}", q))
		require.NoError(t, err, "undo %d", v)
	}
	_, err = db.DB.ExecContext(ctx, `DELETE FROM `+q+`.schema_migrations WHERE version > $1`, version)
	require.NoError(t, err)
	return db, s
}

// A schema migrated before 0002 existed, as a deployed app's is, gets it
// from the next Migrate and keeps its rows.
func TestMigrateUpgradesAVersion1Schema(t *testing.T) {
	db, s := migratedBackTo(t, 1)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	require.Equal(t, 1, count(t, db, s, "schema_migrations", ""))
	u := newUser("t1", "a@x.io", usermgmt.StatusActive)
	oldUser(t, db, s, u)
	// The device as version 1 stored it (the Store writes today's columns).
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.devices (hash, tenant_id, user_id, created_at, expires_at)
		VALUES ($1, 't1', $2, $3, $4)`, hashArgOf("d"), u.ID.String(), t0, t0.Add(time.Hour))
	require.NoError(t, err)

	require.NoError(t, s.Migrate(ctx))
	var versions []int
	rows, err := db.DB.QueryContext(ctx, `SELECT version FROM `+q+`.schema_migrations ORDER BY version`)
	require.NoError(t, err)
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		versions = append(versions, v)
	}
	require.NoError(t, rows.Err())
	var want []int
	for v := 1; v <= latestVersion(t); v++ {
		want = append(want, v)
	}
	assert.Equal(t, want, versions)
	var indexes int
	require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1
		AND indexname IN ('tokens_expires_at', 'devices_expires_at')`, s.Schema()).Scan(&indexes))
	assert.Equal(t, 2, indexes)
	assert.Equal(t, 1, count(t, db, s, "users", ""))
	assert.Equal(t, 1, count(t, db, s, "devices", ""))
	require.NoError(t, s.Migrate(ctx), "and again: nothing to do")
	assert.Equal(t, latestVersion(t), count(t, db, s, "schema_migrations", ""))
}

// A host that runs the exported files with its own migrator gets the same
// schema.
func TestMigrationsRunByHost(t *testing.T) {
	db := openDB(t)
	schema := freshSchema(t)
	fsys := mustMigrations(t, schema)
	files, err := fs.Glob(fsys, "*.sql")
	require.NoError(t, err)
	for _, name := range files {
		b, err := fs.ReadFile(fsys, name)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "{{schema}}")
		assert.Contains(t, string(b), `"`+schema+`".`)
		// Bypass bun's ? formatting, as a migrator would.
		_, err = db.DB.ExecContext(context.Background(), string(b))
		require.NoError(t, err, name)
	}
	s, err := postgres.New(db, postgres.WithSchema(schema))
	require.NoError(t, err)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, newUser("t1", "a@x.io", usermgmt.StatusActive))
	})
	_, err = postgres.Migrations("Bad-Name")
	assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(err))
}

func TestUnmigratedSchemaIsCodedError(t *testing.T) {
	s, err := postgres.New(openDB(t), postgres.WithSchema(freshSchema(t)))
	require.NoError(t, err)
	err = s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.CountUsers(ctx, "t1")
		return err
	})
	assert.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err))
	var ue *usermgmt.Error
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Message, "run Migrate")
}

// latestVersion is the version a fully migrated schema is at: the number
// of migration files.
func latestVersion(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(mustMigrations(t, "usermgmt"), "*.sql")
	require.NoError(t, err)
	return len(files)
}

func mustMigrations(t *testing.T, schema string) fs.FS {
	t.Helper()
	fsys, err := postgres.Migrations(schema)
	require.NoError(t, err)
	return fsys
}

// A version-3 schema keeps its users' failure counts and locks through
// 0004: they move to login_attempts, and the columns go.
func TestMigrate0004CarriesLocksOver(t *testing.T) {
	db, s := migratedBackTo(t, 3)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	until := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Microsecond)
	for i, row := range []struct {
		email    string
		failures int
		until    any
	}{{"locked@x.io", 6, until}, {"counting@x.io", 2, nil}, {"clean@x.io", 0, nil}} {
		_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.users (tenant_id, id, email, status, created_at, updated_at,
			failed_attempts, locked_until) VALUES ('t1', $1, $2, 'active', now(), now(), $3, $4)`,
			newUser("t1", row.email, usermgmt.StatusActive).ID, row.email, row.failures, row.until)
		require.NoError(t, err, "row %d", i)
	}
	require.NoError(t, s.Migrate(ctx))
	assert.Equal(t, 2, count(t, db, s, "login_attempts", ""))
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		a, err := tx.LockAttempts(ctx, "t1", "locked@x.io")
		require.NoError(t, err)
		assert.Equal(t, 6, a.Failures)
		assert.True(t, until.Equal(a.LockedUntil), "locked until %v, want %v", a.LockedUntil, until)
		assert.True(t, a.ExpiresAt.After(until.Add(23*time.Hour)))
		a, err = tx.LockAttempts(ctx, "t1", "counting@x.io")
		require.NoError(t, err)
		assert.Equal(t, 2, a.Failures)
		assert.True(t, a.LockedUntil.IsZero())
		_, err = tx.GetUserByEmail(ctx, "t1", "locked@x.io")
		return err
	})
	var cols int
	require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'users' AND column_name IN ('failed_attempts', 'locked_until')`, s.Schema()).Scan(&cols))
	assert.Zero(t, cols, "the lock state has one home")
}
