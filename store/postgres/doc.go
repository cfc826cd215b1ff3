// Package postgres is a usermgmt.Store on PostgreSQL 15 or later, through
// bun (github.com/uptrace/bun) and its pgdialect, normally over the pgx
// stdlib driver. The host opens the *bun.DB and owns its pool; the Store
// only borrows it:
//
//	sqldb, err := sql.Open("pgx", "postgres://app@db:5432/app")
//	db := bun.NewDB(sqldb, pgdialect.New())
//	store, err := postgres.New(db)                  // schema "usermgmt"
//	err = store.Migrate(ctx)                        // or run Migrations with your own migrator
//	m, err := usermgmt.New(store, usermgmt.Options{...})
//
// Every table lives in one schema (WithSchema; default "usermgmt"). The
// migrations are numbered SQL files embedded in the package; Migrate applies
// each one once, under an advisory lock, so several instances may start at
// the same time. They create the pg_trgm and btree_gin extensions (trusted
// extensions: the database owner may create them).
//
// The Store keeps nothing in memory between calls: a session revoked by one
// process is refused by every other process on the same database at once.
// It is safe for concurrent use.
//
// Nor does it keep anything on a connection beyond a transaction: its
// advisory locks are pg_advisory_xact_lock and its settings set_config(…,
// true), with no temporary tables, LISTEN or SQL PREPARE. So it works
// through PgBouncer in transaction pooling mode; before PgBouncer 1.21 add
// default_query_exec_mode=exec to the pgx URL, since pgx's default mode
// prepares each statement once per connection under a name, which such a
// PgBouncer does not keep past a transaction.
//
// The mail outbox is shared the same way: every instance may deliver any
// instance's mail. ClaimMail takes the earliest due mail with FOR UPDATE
// SKIP LOCKED, so instances claiming at once get different mails and none
// waits for another's claim; a claim lapses at the time it names, so the
// mail of an instance that stopped mid-delivery is taken up by another.
//
// Driver errors become usermgmt error codes in one place: a unique
// violation is conflict, a missing row not_found, a database that cannot
// be reached (refused or broken connections, a server shutting down, no
// host of a multi-host URL accepting writes, a standby refusing one)
// unavailable with a RetryAfter of a few seconds, and everything else
// internal (a cancelled context and a statement timeout say so in the
// message and keep the cause in the chain). RunInTx retries a transaction
// that failed on a serialization failure or a deadlock a few times before it
// gives up with internal. After a Tx method returns an error other than
// not_found or conflict, PostgreSQL has aborted the transaction: return the
// error.
package postgres
