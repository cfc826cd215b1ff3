package postgres

import (
	"context"
	"time"

	"github.com/usermgmt/usermgmt"
)

// DeleteExpired is one statement of six DELETEs, the last of the rate
// limiter's full buckets. timestamptz keeps whole microseconds, so every
// stored expiry is one, and now is truncated to the microsecond here
// rather than left to the driver: pgx truncates, but a driver that sends
// nanoseconds has PostgreSQL round them, and a row still valid for that
// fraction of a microsecond would go.
func (t *tx) DeleteExpired(ctx context.Context, now time.Time) (usermgmt.Pruned, error) {
	now = now.Truncate(time.Microsecond)
	var p usermgmt.Pruned
	err := t.db.QueryRowContext(ctx, t.q().deleteExpired, now, now, now, now, now, now, now).
		Scan(&p.Tokens, &p.Sessions, &p.Devices, &p.Mail, &p.Attempts, &p.RateBuckets)
	return p, mapErr(err)
}
