// Package pgopen opens what a program built on usermgmt and PostgreSQL
// needs at start, the same way for examples/server and cmd/usermgmt: the
// store on a database URL, migrated, and the secret key.
package pgopen

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt/store/postgres"
)

// The pool's settings besides maxConns (README: Running in production).
const (
	// connMaxLifetime renews every connection this often, so that the
	// pool moves to a promoted standby or a restarted PgBouncer, and a
	// server process's memory does not grow for days.
	connMaxLifetime = 30 * time.Minute
	// connMaxIdleTime closes a connection idle this long: a burst's
	// extra connections go back to the server.
	connMaxIdleTime = 5 * time.Minute
)

// Store opens the database at url with a pool of maxConns connections
// (all kept idle: database/sql keeps 2 unless told, and under load would
// close and open connections all the time), checks that it answers
// within 10 seconds, and returns the Store in schema with its migrations
// run, and a function that closes the pool.
func Store(ctx context.Context, url, schema string, maxConns int) (*postgres.Store, func(), error) {
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, nil, err
	}
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxLifetime(connMaxLifetime)
	sqldb.SetConnMaxIdleTime(connMaxIdleTime)
	db := bun.NewDB(sqldb, pgdialect.New())
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connect to -database-url: %w", err)
	}
	s, err := postgres.New(db, postgres.WithSchema(schema))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return s, func() { db.Close() }, nil
}

// ErrNoSecretKey is why a program on PostgreSQL does not start without a
// key.
var ErrNoSecretKey = errors.New("-database-url needs -secret-key (or env USERMGMT_SECRET_KEY): it seals the TOTP secrets " +
	"kept in the database, so a key made at each start would lock every enrolled user out after a restart. " +
	"Make one with `openssl rand -hex 32`, keep it as you keep the database password, and give every instance the same one")

// SecretKey reads -secret-key (64 hex digits). Without one, a store that
// keeps nothing (persistent false: the memory store) gets a random key,
// as nothing it seals outlives the process; a store that keeps its data
// must be given one (ErrNoSecretKey).
func SecretKey(hexKey string, persistent bool) ([]byte, error) {
	if hexKey == "" {
		if persistent {
			return nil, ErrNoSecretKey
		}
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k, nil
	}
	k, err := hex.DecodeString(hexKey)
	if err != nil || len(k) != 32 {
		return nil, errors.New("-secret-key must be 64 hex digits (32 bytes): make one with `openssl rand -hex 32`")
	}
	return k, nil
}
