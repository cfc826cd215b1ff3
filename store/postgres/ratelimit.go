package postgres

import (
	"context"
	"crypto/sha256"
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
// later, unless that passes now + per, when the bucket is empty and stays
// as it was. Arguments: key hash, now, interval (µs), now + per.
const allowQuery = `INSERT INTO {s}.rate_limits AS b (key_hash, full_at, took)
	VALUES ($1, $2::timestamptz + $3::bigint * interval '1 microsecond', true)
	ON CONFLICT (key_hash) DO UPDATE SET
		took = GREATEST(b.full_at, $2) + $3 * interval '1 microsecond' <= $4::timestamptz,
		full_at = CASE WHEN GREATEST(b.full_at, $2) + $3 * interval '1 microsecond' <= $4
			THEN GREATEST(b.full_at, $2) + $3 * interval '1 microsecond' ELSE b.full_at END
	RETURNING took, full_at`

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
	interval := per / time.Duration(burst) / time.Microsecond
	if interval < 1 {
		interval = 1
	}
	hash := sha256.Sum256([]byte(key))
	var took bool
	var full time.Time
	err := s.db.DB.QueryRowContext(ctx, s.q.allow, hash[:], now, int64(interval), now.Add(per)).Scan(&took, &full)
	if err != nil {
		return false, 0, mapErr(err)
	}
	if took {
		return true, 0, nil
	}
	// The next token is back when full_at is less than per ahead.
	return false, full.Add(interval * time.Microsecond).Sub(now.Add(per)), nil
}
