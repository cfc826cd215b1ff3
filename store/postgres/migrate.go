package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing/fstest"
	"time"

	"github.com/uptrace/bun"

	"github.com/usermgmt/usermgmt"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// schemaToken is replaced by the quoted schema name in every migration.
const schemaToken = "{{schema}}"

// Migration is one numbered SQL file, ready to run in the schema it was
// rendered for.
type Migration struct {
	Version int    // from the file name: 0001_init.sql is 1
	Name    string // the file name
	SQL     string
}

// Migrations returns the migrations rendered for schema, in order, as an
// fs.FS of numbered .sql files (0001_init.sql, …) for a host that runs
// migrations with its own tool. Each file must run once, in order, in one
// transaction; Migrate does exactly that and records it.
func Migrations(schema string) (fs.FS, error) {
	ms, err := migrations(schema)
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	for _, m := range ms {
		out[m.Name] = &fstest.MapFile{Data: []byte(m.SQL), Mode: 0o444}
	}
	return out, nil
}

func migrations(schema string) ([]Migration, error) {
	if err := checkSchema(schema); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || path.Ext(name) != ".sql" {
			return nil, fmt.Errorf("postgres: migration %q is not named NNNN_name.sql", name)
		}
		b, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name,
			SQL: strings.ReplaceAll(string(b), schemaToken, quoteIdent(schema))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("postgres: migration %q out of sequence, want version %d", m.Name, i+1)
		}
	}
	return ms, nil
}

// Migrate brings the schema up to date. Each pending migration runs in its
// own transaction that first takes an advisory lock shared by every
// usermgmt schema in the database, re-reads what is applied, applies the
// file and records it in <schema>.schema_migrations. Several processes may
// call Migrate at once: one applies, the others wait and find nothing to do.
// It then makes sure the activity log has its partitions up to two months
// ahead (see DropEvents).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.schema)
	if err != nil {
		return mapErr(err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	// Every start opens the activity log's coming months, as PruneExpired does.
	_, err = s.db.DB.ExecContext(ctx, s.q.prepareEvents, time.Now())
	return mapErr(err)
}

func (s *Store) apply(ctx context.Context, m Migration) error {
	schema := quoteIdent(s.schema)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, btx bun.Tx) error {
		// Raw *sql.Tx: migration text must not go through bun's ? formatter.
		tx := btx.Tx
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema+`;
			CREATE TABLE IF NOT EXISTS `+schema+`.schema_migrations (
				version    integer PRIMARY KEY,
				name       text NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
			)`); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRowContext(ctx,
			"SELECT EXISTS (SELECT 1 FROM "+schema+".schema_migrations WHERE version = $1)", m.Version).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO "+schema+".schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
		return err
	})
	if err != nil {
		mapped := mapErr(err)
		if ue, ok := mapped.(*usermgmt.Error); ok && ue.Code == usermgmt.CodeInternal {
			ue.Message = "postgres: migration " + m.Name + " failed"
		}
		return mapped
	}
	return nil
}
