// Package pgtest gives the tests of packages outside store/postgres a
// migrated PostgreSQL Store on the test server, in a schema of its own
// that is dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the driver under bun
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// DefaultURL is the test server when USERMGMT_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL is the test server's address: USERMGMT_TEST_DATABASE_URL, or
// DefaultURL.
func URL() string {
	if u := os.Getenv("USERMGMT_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// PgBouncerURL is PgBouncer in transaction pooling mode in front of the
// test server (scripts/pgbouncer.sh starts one and prints this URL):
// USERMGMT_TEST_PGBOUNCER_URL. Without it, or when nothing answers there,
// the test skips, unless USERMGMT_REQUIRE_PGBOUNCER=1, where it fails.
func PgBouncerURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("USERMGMT_TEST_PGBOUNCER_URL")
	if url == "" {
		skipOrFail(t, "USERMGMT_REQUIRE_PGBOUNCER", "USERMGMT_TEST_PGBOUNCER_URL is unset (scripts/pgbouncer.sh starts PgBouncer and prints it)")
	}
	if err := Ping(url); err != nil {
		skipOrFail(t, "USERMGMT_REQUIRE_PGBOUNCER", "no PgBouncer at "+url+": "+err.Error())
	}
	return url
}

// skipOrFail skips the test with why, or fails it when the variable
// require is "1".
func skipOrFail(t testing.TB, require, why string) {
	t.Helper()
	if os.Getenv(require) == "1" {
		t.Fatalf("%s (%s=1 requires it)", why, require)
	}
	t.Skipf("%s; set %s=1 to fail instead", why, require)
}

// Ping says whether a server answers at url, within three seconds.
func Ping(url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Store returns a migrated Store in a fresh schema on its own pool; both
// go when the test ends. Without a server the test skips, unless
// USERMGMT_REQUIRE_POSTGRES=1, where it fails.
func Store(t testing.TB) *postgres.Store {
	t.Helper()
	sqldb, err := sql.Open("pgx", URL())
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { db.Close() })
	if err := Ping(URL()); err != nil {
		skipOrFail(t, "USERMGMT_REQUIRE_POSTGRES", "no postgres at "+URL()+": "+err.Error())
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "usermgmt_pgtest_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	s, err := postgres.New(db, postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Unreachable returns a Store whose database cannot be reached: its URL
// names a local port nobody listens on. Every call answers unavailable,
// with the driver's real error, and no server is needed.
func Unreachable(t testing.TB) *postgres.Store {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	sqldb, err := sql.Open("pgx", "postgres://postgres@"+addr+"/test?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { db.Close() })
	s, err := postgres.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Stores runs fn as a subtest on a fresh memory store and as one on
// PostgreSQL (skipped without a server unless USERMGMT_REQUIRE_POSTGRES=1):
// newStore gives the subtest its store.
func Stores(t *testing.T, fn func(t *testing.T, newStore func(testing.TB) usermgmt.Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, func(testing.TB) usermgmt.Store { return memory.New() }) })
	t.Run("postgres", func(t *testing.T) { fn(t, func(t testing.TB) usermgmt.Store { return Store(t) }) })
}
