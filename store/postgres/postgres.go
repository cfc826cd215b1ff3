package postgres

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"sync"
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
	hooks   hookQueries
	// stmts holds the statements ListUsers builds, numbered (numbered):
	// a few shapes (filters present or not), built once each.
	stmts sync.Map // string -> string
}

// numbered is numbered(q), remembered: the page statements are built per
// call from a few shapes, and numbering one costs more than the lookup.
func (s *Store) numbered(q string) string {
	if n, ok := s.stmts.Load(q); ok {
		return n.(string)
	}
	n := numbered(q)
	s.stmts.Store(q, n)
	return n
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
		prov: newProvQueries(quoteIdent(c.schema)), hooks: newHookQueries(quoteIdent(c.schema))}, nil
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

// RunInTx runs fn in one READ COMMITTED transaction. A read-only fn
// (opts.ReadOnly) runs without one: each of its statements commits on its
// own, which READ COMMITTED makes no different to read (every statement
// sees what was committed when it began), and saves the BEGIN and COMMIT
// round trips; a statement of it that is not a SELECT is refused
// (internal). An error fn returns rolls the transaction back and is
// returned as is. A transaction that fails with a serialization failure or
// a deadlock is run again, fn included, up to the retry limit; then the
// error is internal. A database that cannot be reached is unavailable;
// when the connection broke during COMMIT the message says that the
// change may have been saved.
func (s *Store) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(ctx context.Context, tx usermgmt.Tx) error) error {
	if opts.ReadOnly {
		return fn(ctx, &tx{s: s, bun: s.db, db: readOnly{s.db.DB}}) // the Tx methods map their own errors
	}
	for attempt := 0; ; attempt++ {
		var began bool
		var fnErr error
		err := s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, btx bun.Tx) error {
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

// tx is a usermgmt.Tx on one bun transaction, or on the pool for a
// read-only fn: db runs the parameterised statements, bun the two that bun
// formats.
type tx struct {
	s   *Store
	bun bun.IDB
	db  conn
}

// conn is *sql.Tx, or readOnly on the pool.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readOnly runs a read-only fn's statements on the pool, each on its own,
// and refuses any but a SELECT, as a READ ONLY transaction would refuse a
// write.
type readOnly struct{ db *sql.DB }

var errWriteInReadOnly = errors.New("postgres: a write in a read-only transaction")

// refuseWrite fails, naming why (invalid_text_representation).
const refuseWrite = `SELECT 'postgres: a write in a read-only transaction'::int`

func isSelect(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

func (r readOnly) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !isSelect(query) {
		return nil, errWriteInReadOnly
	}
	return r.db.ExecContext(ctx, query, args...)
}

func (r readOnly) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !isSelect(query) {
		return nil, errWriteInReadOnly
	}
	return r.db.QueryContext(ctx, query, args...)
}

func (r readOnly) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if !isSelect(query) {
		query, args = refuseWrite, nil // a *sql.Row carries no error of ours: the server's surfaces at Scan
	}
	return r.db.QueryRowContext(ctx, query, args...)
}

func (t *tx) q() *queries { return &t.s.q }

// errorf is a shorthand for coded errors of this package.
func errorf(code usermgmt.Code, format string, args ...any) error {
	return usermgmt.Errorf(code, format, args...)
}
