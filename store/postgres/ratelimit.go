package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"time"

	"github.com/usermgmt/usermgmt"
)

var _ usermgmt.RateLimiter = (*Store)(nil)

// allowQuery takes a token from a bucket of rate_limits (migration 0013)
// in one statement, on its own (no transaction, no session state: fit for
// PgBouncer's transaction pooling). A bucket is the time it will be full
// again, full_at; a token costs one interval, per/burst. A first attempt
// inserts a bucket with one token spent; a later one, holding the row's
// lock, moves full_at on by an interval from itself or now, whichever is
// later, unless that passes now + per: then the bucket is empty, nothing
// is written (a client hammering at its limit makes no row versions), and
// the second branch reads full_at for the wait, as the statement's
// snapshot saw it. Arguments: key hash, now, interval (µs), now + per.
const allowQuery = `WITH took AS (
		INSERT INTO {s}.rate_limits AS b (key_hash, full_at)
		VALUES ($1, $2::timestamptz + $3::bigint * interval '1 microsecond')
		ON CONFLICT (key_hash) DO UPDATE SET full_at = GREATEST(b.full_at, $2) + $3 * interval '1 microsecond'
		WHERE GREATEST(b.full_at, $2) + $3 * interval '1 microsecond' <= $4::timestamptz
		RETURNING full_at)
	SELECT true, full_at FROM took
	UNION ALL
	SELECT false, full_at FROM {s}.rate_limits WHERE key_hash = $1 AND NOT EXISTS (SELECT FROM took)`

// Allow is the usermgmt.RateLimiter of every instance on this database:
// a continuously refilling token bucket per key, as internal/ratelimit
// keeps in memory, written in one statement (an upsert by the primary key
// of SHA-256 of key, which is all the table keeps of it). It returns
// invalid for a zero burst or a per that is not positive, and internal
// when the database fails.
func (s *Store) Allow(ctx context.Context, key string, burst int, per time.Duration, now time.Time) (bool, time.Duration, error) {
	if burst < 0 {
		return true, 0, nil
	}
	if burst == 0 || per <= 0 {
		return false, 0, errorf(usermgmt.CodeInvalid, "postgres: a rate limit needs a positive burst and period, got %d per %v", burst, per)
	}
	// timestamptz keeps microseconds; an interval rounded down makes the
	// bucket at most burst µs more generous per period, never less.
	now = now.Truncate(time.Microsecond)
	step := max((per / time.Duration(burst)).Truncate(time.Microsecond), time.Microsecond)
	hash := sha256.Sum256([]byte(key))
	var took bool
	var full time.Time
	err := s.db.DB.QueryRowContext(ctx, s.q.allow, hash[:], now, step.Microseconds(), now.Add(per)).Scan(&took, &full)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Refused by a bucket that concurrent attempts inserted and
		// emptied after this statement's snapshot. A bucket's full_at
		// is never more than per ahead, so a token is back within an
		// interval.
		return false, step, nil
	case err != nil:
		return false, 0, mapErr(err)
	case took:
		return true, 0, nil
	}
	// The next token is back when full_at is less than per ahead; a
	// snapshot older than the refusal may put that in the past, and an
	// interval is the most it can be.
	if wait := full.Add(step).Sub(now.Add(per)); wait > 0 {
		return false, wait, nil
	}
	return false, step, nil
}
