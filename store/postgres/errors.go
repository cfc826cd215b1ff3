package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/usermgmt/usermgmt"
)

// SQLSTATE codes the Store acts on.
const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
	sqlstateCheckViolation      = "23514"
	sqlstateSerialization       = "40001"
	sqlstateDeadlock            = "40P01"
	sqlstateQueryCanceled       = "57014"
	sqlstateReadOnlyTx          = "25006"
	sqlstateAdminShutdown       = "57P01"
	sqlstateCrashShutdown       = "57P02"
	sqlstateCannotConnectNow    = "57P03"
	sqlstateUndefinedTable      = "42P01"
	// Text a column cannot hold: a NUL byte or bytes that are not UTF-8
	// (character_not_in_repertoire), or a \u0000 escape in JSON
	// (untranslatable_character).
	sqlstateBadText        = "22021"
	sqlstateUntranslatable = "22P05"
)

// sqlState returns the SQLSTATE of the first PostgreSQL error in err's
// chain, or "". It reads the code through interfaces so that it works with
// pgx (*pgconn.PgError), lib/pq and bun's pgdriver without importing them.
func sqlState(err error) string {
	var withState interface{ SQLState() string }
	if errors.As(err, &withState) {
		return withState.SQLState()
	}
	var withField interface{ Field(byte) string } // bun's pgdriver.Error
	if errors.As(err, &withField) {
		return withField.Field('C')
	}
	return ""
}

// constraintName returns the constraint a PostgreSQL error names, or "".
func constraintName(err error) string {
	var withName interface{ ConstraintName() string } // lib/pq
	if errors.As(err, &withName) {
		return withName.ConstraintName()
	}
	var withField interface{ Field(byte) string }
	if errors.As(err, &withField) {
		return withField.Field('n')
	}
	// pgx exposes it as a struct field, which no interface reaches; the
	// message names it too.
	return ""
}

// oneRow turns the result of a statement that changes one row by its key
// into not_found when the row is gone.
func oneRow(res sql.Result, err error, notFound string) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(err)
	}
	if n == 0 {
		return errorf(usermgmt.CodeNotFound, "%s", notFound)
	}
	return nil
}

func isRetryable(err error) bool {
	switch sqlState(err) {
	case sqlstateSerialization, sqlstateDeadlock:
		return true
	}
	return false
}

// mapErr is the one place where database errors become usermgmt codes.
// nil stays nil and an *usermgmt.Error passes unchanged; the cause stays in
// the chain (errors.Is(err, context.Canceled) still works) and its text is
// never in the Message.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var ue *usermgmt.Error
	if errors.As(err, &ue) {
		return err
	}
	coded := func(code usermgmt.Code, msg string) error {
		return &usermgmt.Error{Code: code, Message: msg, Err: err}
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return coded(usermgmt.CodeNotFound, "not found")
	case errors.Is(err, context.Canceled):
		return coded(usermgmt.CodeInternal, "postgres: request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return coded(usermgmt.CodeInternal, "postgres: request deadline exceeded")
	case unreachable(err):
		return unavailable(err)
	case errors.Is(err, sql.ErrConnDone), errors.Is(err, sql.ErrTxDone):
		return coded(usermgmt.CodeInternal, "postgres: connection or transaction already closed")
	}
	switch state := sqlState(err); state {
	case sqlstateUniqueViolation:
		return coded(usermgmt.CodeConflict, conflictMessage(err))
	case sqlstateForeignKeyViolation:
		return coded(usermgmt.CodeNotFound, "postgres: referenced row does not exist")
	case sqlstateCheckViolation:
		return coded(usermgmt.CodeInvalid, "postgres: value out of range")
	case sqlstateBadText, sqlstateUntranslatable:
		return coded(usermgmt.CodeInvalid, errBadText)
	case sqlstateSerialization, sqlstateDeadlock:
		return coded(usermgmt.CodeInternal, "postgres: transaction kept conflicting with concurrent ones (serialization failure or deadlock); retries exhausted")
	case sqlstateQueryCanceled:
		return coded(usermgmt.CodeInternal, "postgres: statement cancelled (statement_timeout or a cancel request)")
	case sqlstateUndefinedTable:
		return coded(usermgmt.CodeInternal, "postgres: table missing; run Migrate")
	case "":
		if strings.Contains(err.Error(), "sql: database is closed") {
			return coded(usermgmt.CodeInternal, "postgres: database pool is closed")
		}
		return coded(usermgmt.CodeInternal, "postgres: database error")
	default:
		return coded(usermgmt.CodeInternal, "postgres: database error "+state)
	}
}

// mapErrIn is mapErr for a call on ctx that may have connected to the
// server (RunInTx's BEGIN, a statement outside a transaction): a deadline
// in err that is not ctx's own is the driver's connect_timeout expiring on
// a host that does not answer, an outage like a refused connection.
func mapErrIn(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && unreachable(err) {
		var ue *usermgmt.Error
		if !errors.As(err, &ue) {
			return unavailable(err)
		}
	}
	return mapErr(err)
}

func unavailable(err error) *usermgmt.Error {
	return &usermgmt.Error{Code: usermgmt.CodeUnavailable, Message: msgUnavailable, RetryAfter: unavailableRetryAfter, Err: err}
}

// unavailableRetryAfter is the RetryAfter of an unavailable error, in
// seconds: about how long a restart or a failover to a standby takes.
const unavailableRetryAfter = 2

const (
	msgUnavailable = "the database cannot be reached right now; nothing was changed, try again in a few seconds"
	// A connection lost during COMMIT leaves the outcome unknown: the
	// server may have committed before it went away.
	msgCommitUnknown = "the database connection was lost while saving; the change may or may not have been saved, check before trying again"
)

// unreachable reports whether err says that no server could be reached or
// that the connection to it broke, as during a restart or a failover: the
// server shut the connection down (SQLSTATE class 08, 57P01-57P03), a
// standby answered a write (25006), the socket failed (refused, reset,
// EOF mid-statement) or no host of the URL accepted a connection (pgx's
// ConnectError, also when target_session_attrs=read-write found only
// standbys). An error the server answered for another reason (a wrong
// password, a missing database) is not an outage.
func unreachable(err error) bool {
	switch state := sqlState(err); {
	case strings.HasPrefix(state, "08"), state == sqlstateAdminShutdown, state == sqlstateCrashShutdown,
		state == sqlstateCannotConnectNow, state == sqlstateReadOnlyTx:
		return true
	case state != "":
		return false
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.As(err, &netErr) || errors.As(err, &connectErr)
}

const errBadText = "postgres: text holds a NUL byte or is not valid UTF-8"

// checkText answers as PostgreSQL does for text it cannot hold (SQLSTATE
// 22021, which mapErr makes invalid), for the values bun inlines into a
// statement: bun would turn a NUL into a syntax error and bytes that are
// not UTF-8 into U+FFFD, so they must not reach it.
func checkText(ss ...string) error {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return errorf(usermgmt.CodeInvalid, errBadText)
		}
	}
	return nil
}

func conflictMessage(err error) string {
	name := constraintName(err)
	text := err.Error()
	switch {
	case name == "users_tenant_email_key" || strings.Contains(text, "users_tenant_email_key"):
		return "a user with this email already exists"
	case strings.Contains(name+text, "sessions_token_hash_key"), strings.Contains(name+text, "refresh_tokens_pkey"):
		return "session token already exists"
	}
	return "already exists"
}
