package postgres_test

import (
	"context"
	"io/fs"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	for _, table := range []string{"users", "tenant_counts", "tokens", "sessions", "refresh_tokens", "devices", "events"} {
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
		assert.Contains(t, string(b), `"`+schema+`".users`)
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

func mustMigrations(t *testing.T, schema string) fs.FS {
	t.Helper()
	fsys, err := postgres.Migrations(schema)
	require.NoError(t, err)
	return fsys
}
