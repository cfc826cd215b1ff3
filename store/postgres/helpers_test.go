package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// testURL is the test server, as every package's tests find it.
func testURL() string { return pgtest.URL() }

// reach holds, for each server URL the tests used, a func that pings it
// once and then returns what it found.
var reach sync.Map

// requireServer skips the test when no PostgreSQL answers at testURL(),
// or fails it under USERMGMT_REQUIRE_POSTGRES=1.
func requireServer(t testing.TB) {
	t.Helper()
	url := testURL()
	ping, _ := reach.LoadOrStore(url, sync.OnceValue(func() error { return pgtest.Ping(url) }))
	if err := ping.(func() error)(); err != nil {
		if os.Getenv("USERMGMT_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("postgres at USERMGMT_TEST_DATABASE_URL (or %s) is required but unreachable: %v", pgtest.DefaultURL, err)
		}
		t.Skipf("postgres unreachable (set USERMGMT_TEST_DATABASE_URL; default %s): %v", pgtest.DefaultURL, err)
	}
}

// openDB opens a new pool on the test server, closed at the end of the test.
func openDB(t testing.TB) *bun.DB {
	t.Helper()
	requireServer(t)
	sqldb, err := sql.Open("pgx", testURL())
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { db.Close() })
	return db
}

// freshSchema returns the name of a schema no other test uses, and drops
// it (with everything in it) when the test ends. It skips first when there
// is no server, so that a skipped test has no drop to fail.
func freshSchema(t testing.TB) string {
	t.Helper()
	requireServer(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "usermgmt_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		sqldb, err := sql.Open("pgx", testURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer sqldb.Close()
		if _, err := sqldb.Exec(`DROP SCHEMA IF EXISTS "` + name + `" CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a migrated Store in a fresh schema on its own pool.
func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	db := openDB(t)
	s, err := postgres.New(db, postgres.WithSchema(freshSchema(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// count runs a count(*) query on db in the store's schema.
func count(t testing.TB, db *bun.DB, s *postgres.Store, table, where string, args ...any) int {
	t.Helper()
	var n int
	q := `SELECT count(*) FROM "` + s.Schema() + `".` + table
	if where != "" {
		q += " WHERE " + where
	}
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// together runs fn(0, ready), …, fn(n-1, ready) in n goroutines and
// returns how many returned true. Each fn calls ready once it holds what
// it races with (an open transaction: a connection of its own); ready
// returns when every fn has called it or returned. Contenders merely
// started together still run one after the other (the first takes the
// pool's one open connection while the others are still connecting), and
// a race test then passes whether the code is atomic or not.
func together(n int, fn func(i int, ready func()) bool) int {
	var wins atomic.Int32
	var wg, arrived sync.WaitGroup
	arrived.Add(n)
	for i := range n {
		wg.Go(func() {
			arrive := sync.OnceFunc(arrived.Done)
			defer arrive() // a contender that fails early holds nobody up
			if fn(i, func() { arrive(); arrived.Wait() }) {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	return int(wins.Load())
}
