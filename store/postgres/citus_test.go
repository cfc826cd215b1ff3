package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// The layout of docs/citus.md: how each table of the schema would sit on
// Citus with tenant_id as the distribution column. TestCitusLayout holds
// the migrated schema to it, so that a new table, column, key or foreign
// key that would not distribute is a decision made in the doc, not found
// on the day of the move.

// citusDistributed are the tables distributed by tenant_id and co-located:
// every row has a tenant_id, and every unique key and every foreign key
// between them includes it, except the hash-keyed ones the table names
// (docs/citus.md, "Hash-keyed lookups"), which become (tenant_id, …) keys
// when those lookups learn the tenant.
var citusDistributed = map[string]citusTable{
	"users":               {},
	"tenant_counts":       {},
	"user_roles":          {},
	"login_attempts":      {},
	"events":              {},
	"groups":              {},
	"group_members":       {},
	"tokens":              {hashKeyed: []string{"tokens_pkey"}},
	"sessions":            {hashKeyed: []string{"sessions_pkey", "sessions_token_hash_key"}},
	"refresh_tokens":      {hashKeyed: []string{"refresh_tokens_pkey", "refresh_tokens_session_id_fkey"}, noTenant: true},
	"devices":             {hashKeyed: []string{"devices_pkey", "devices_id_key"}},
	"provisioning_tokens": {hashKeyed: []string{"provisioning_tokens_pkey", "provisioning_tokens_id_key"}},
	"outbox":              {hashKeyed: []string{"outbox_pkey"}},
	"webhook_endpoints":   {},
	"webhook_messages":    {},
	"webhook_deliveries":  {},
}

// citusReference are the tables copied whole to every node: small, global,
// rarely written.
var citusReference = []string{"schema_migrations"}

// citusOwnKey are the tables whose rows belong to no tenant, each
// distributed by a column of its own (table → column), not co-located
// with the tenants' tables: every unique key includes that column.
var citusOwnKey = map[string]string{"rate_limits": "key_hash"}

type citusTable struct {
	// hashKeyed names the unique constraints and indexes, and the foreign
	// keys, that do not include tenant_id yet.
	hashKeyed []string
	// noTenant: the table has no tenant_id column yet (its rows reach
	// their tenant through a hash-keyed foreign key).
	noTenant bool
}

func TestCitusLayout(t *testing.T) {
	db := openDB(t).DB
	s := newStore(t)
	ctx := context.Background()
	schema := s.Schema()

	// Tables, partitions left out (they follow their parent).
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`, schema)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, tables, "users")

	columns := map[string][]string{}
	rows, err = db.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = $1`, schema)
	require.NoError(t, err)
	for rows.Next() {
		var table, column string
		require.NoError(t, rows.Scan(&table, &column))
		columns[table] = append(columns[table], column)
	}
	require.NoError(t, rows.Err())

	for _, table := range tables {
		d, distributed := citusDistributed[table]
		own, byOwnKey := citusOwnKey[table]
		hasTenant := slices.Contains(columns[table], "tenant_id")
		switch {
		case distributed && d.noTenant:
			assert.False(t, hasTenant, "%s has tenant_id now: drop noTenant in citusDistributed and docs/citus.md", table)
		case distributed:
			assert.True(t, hasTenant, "%s is distributed by tenant_id (docs/citus.md) but has no tenant_id column", table)
		case byOwnKey:
			assert.Contains(t, columns[table], own, "%s is distributed by %s (citusOwnKey), which it does not have", table, own)
		case slices.Contains(citusReference, table):
		default:
			t.Errorf("table %s is in no list of docs/citus.md: distributed by tenant_id (citusDistributed), by a key "+
				"of its own (citusOwnKey) or a reference table (citusReference)", table)
		}
	}
	for name := range citusDistributed {
		assert.Contains(t, tables, name, "citusDistributed names a table the schema does not have")
	}
	for name := range citusOwnKey {
		assert.Contains(t, tables, name, "citusOwnKey names a table the schema does not have")
	}

	// Unique constraints and unique indexes (a primary key is both), and
	// foreign keys: the columns of each, on tables of the schema.
	type key struct {
		table, name, kind string
		cols, refCols     []string
		refTable          string
	}
	var keys []key
	rows, err = db.QueryContext(ctx, `
		SELECT t.relname, i.relname, 'unique',
			ARRAY(SELECT a.attname FROM unnest(x.indkey) k JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k),
			'{}'::text[], ''
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = $1 AND x.indisunique AND NOT t.relispartition
		UNION ALL
		SELECT t.relname, c.conname, 'foreign key',
			ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
			ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o),
			r.relname
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = $1 AND c.contype = 'f' AND NOT t.relispartition`, schema)
	require.NoError(t, err)
	for rows.Next() {
		var k key
		require.NoError(t, rows.Scan(&k.table, &k.name, &k.kind, pgdialect.Array(&k.cols), pgdialect.Array(&k.refCols), &k.refTable))
		keys = append(keys, k)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, keys)

	for _, k := range keys {
		if own, ok := citusOwnKey[k.table]; ok {
			assert.True(t, k.kind != "unique" || slices.Contains(k.cols, own),
				"unique %s on %s%v does not include %s, the table's distribution column (citusOwnKey)", k.name, k.table, k.cols, own)
			continue
		}
		d, distributed := citusDistributed[k.table]
		if !distributed {
			continue
		}
		_, toDistributed := citusDistributed[k.refTable]
		ok := slices.Contains(k.cols, "tenant_id")
		if k.kind == "foreign key" && toDistributed {
			// Co-located: the tenant_id of one side is the tenant_id of the other.
			i := slices.Index(k.cols, "tenant_id")
			ok = i >= 0 && k.refCols[i] == "tenant_id"
		}
		if k.kind == "foreign key" && slices.Contains(citusReference, k.refTable) {
			ok = true // a reference table is on every node
		}
		hashKeyed := slices.Contains(d.hashKeyed, k.name)
		switch {
		case !ok && !hashKeyed:
			t.Errorf("%s %s on %s%v does not include tenant_id: it cannot hold on Citus; include tenant_id, or add it to "+
				"the table's hashKeyed list and to docs/citus.md with the way its lookup will learn the tenant",
				k.kind, k.name, k.table, k.cols)
		case ok && hashKeyed:
			t.Errorf("%s %s on %s%v includes tenant_id now: take it out of hashKeyed and docs/citus.md", k.kind, k.name, k.table, k.cols)
		}
	}
	for table, d := range citusDistributed {
		for _, name := range d.hashKeyed {
			assert.True(t, slices.ContainsFunc(keys, func(k key) bool { return k.table == table && k.name == name }),
				"hashKeyed names %s on %s, which the schema does not have", name, table)
		}
	}
}
