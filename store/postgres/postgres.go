package postgres

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/usermgmt/usermgmt"
)

// DefaultSchema is the schema the Store uses unless WithSchema says otherwise.
const DefaultSchema = "usermgmt"

// defaultTxRetries is how many times RunInTx runs a transaction again after a
// serialization failure or deadlock.
const defaultTxRetries = 3

var _ usermgmt.Store = (*Store)(nil)

// Store is a usermgmt.Store on PostgreSQL. Build it with New.
type Store struct {
	db      *bun.DB
	schema  string
	retries int
	q       queries
	prov    provQueries
}

// Option configures New.
type Option func(*config)

type config struct {
	schema  string
	retries int
}

// WithSchema puts the tables in schema name instead of "usermgmt". The name
// must be a plain lower-case identifier: a letter or underscore, then
// letters, digits or underscores, at most 63 bytes, not starting with "pg_".
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithTxRetries sets how many times RunInTx runs a transaction again after a
// serialization failure or a deadlock (default 3; 0 disables retries).
func WithTxRetries(n int) Option {
	return func(c *config) { c.retries = n }
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// New returns a Store on db, which must use the PostgreSQL dialect. It does
// not touch the database; call Migrate (or run Migrations) before use.
func New(db *bun.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "postgres: db is nil")
	}
	if name := db.Dialect().Name(); name != dialect.PG {
		return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "postgres: db uses the %s dialect, want pgdialect", name)
	}
	c := config{schema: DefaultSchema, retries: defaultTxRetries}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := checkSchema(c.schema); err != nil {
		return nil, err
	}
	if c.retries < 0 {
		return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "postgres: tx retries must not be negative, got %d", c.retries)
	}
	return &Store{db: db, schema: c.schema, retries: c.retries, q: newQueries(quoteIdent(c.schema)),
		prov: newProvQueries(quoteIdent(c.schema))}, nil
}

func checkSchema(name string) error {
	if !identRe.MatchString(name) || strings.HasPrefix(name, "pg_") {
		return usermgmt.Errorf(usermgmt.CodeInvalid,
			"postgres: schema %q is not a plain lower-case identifier (a-z, 0-9, _; at most 63 bytes; not pg_*)", name)
	}
	return nil
}

func quoteIdent(name string) string { return `"` + name + `"` }

// Schema returns the schema that holds the Store's tables.
func (s *Store) Schema() string { return s.schema }

// RunInTx runs fn in one READ COMMITTED transaction (READ ONLY when
// opts.ReadOnly). An error fn returns rolls the transaction back and is
// returned as is. A transaction that fails with a serialization failure or
// a deadlock is run again, fn included, up to the retry limit; then the
// error is internal. A database that cannot be reached is unavailable;
// when the connection broke during COMMIT the message says that the
// change may have been saved.
func (s *Store) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(ctx context.Context, tx usermgmt.Tx) error) error {
	txOpts := &sql.TxOptions{ReadOnly: opts.ReadOnly}
	for attempt := 0; ; attempt++ {
		var began bool
		var fnErr error
		err := s.db.RunInTx(ctx, txOpts, func(ctx context.Context, btx bun.Tx) error {
			began = true
			fnErr = fn(ctx, &tx{s: s, bun: btx, db: btx.Tx})
			return fnErr
		})
		if err == nil {
			return nil
		}
		if isRetryable(err) && attempt < s.retries && ctx.Err() == nil {
			if sleepCtx(ctx, backoff(attempt)) == nil {
				continue
			}
		}
		if opts.ReadOnly && sqlState(err) == sqlstateReadOnlyTx {
			// A write in our own read-only transaction is a bug, not a standby.
			return &usermgmt.Error{Code: usermgmt.CodeInternal, Message: "postgres: write in a read-only transaction", Err: err}
		}
		if fnErr != nil && err == fnErr && !isRetryable(err) {
			return err
		}
		mapped := mapErrIn(ctx, err)
		var ue *usermgmt.Error
		if began && fnErr == nil && errors.As(mapped, &ue) && ue.Code == usermgmt.CodeUnavailable {
			ue.Message = msgCommitUnknown
		}
		return mapped
	}
}

func backoff(attempt int) time.Duration {
	return time.Duration(attempt+1) * 5 * time.Millisecond
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// tx is a usermgmt.Tx on one bun transaction: db runs the parameterised
// statements, bun the two that bun formats.
type tx struct {
	s   *Store
	bun bun.Tx
	db  *sql.Tx
}

func (t *tx) q() *queries { return &t.s.q }

// errorf is a shorthand for coded errors of this package.
func errorf(code usermgmt.Code, format string, args ...any) error {
	return usermgmt.Errorf(code, format, args...)
}
