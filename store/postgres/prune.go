package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/usermgmt/usermgmt"
)

// DeleteExpired is one statement of six DELETEs, the last of the rate
// limiter's full buckets, then pruneWebhooks. timestamptz keeps whole microseconds, so every
// stored expiry is one, and now is truncated to the microsecond here
// rather than left to the driver: pgx truncates, but a driver that sends
// nanoseconds has PostgreSQL round them, and a row still valid for that
// fraction of a microsecond would go. It then opens the activity log's
// coming months (prepareEvents), last, so that the moment a month's
// partition is created holds a lock on events only until the commit that
// follows.
func (t *tx) DeleteExpired(ctx context.Context, now time.Time) (usermgmt.Pruned, error) {
	now = now.Truncate(time.Microsecond)
	var p usermgmt.Pruned
	err := t.db.QueryRowContext(ctx, t.q().deleteExpired, now, now, now, now, now, now, now).
		Scan(&p.Tokens, &p.Sessions, &p.Devices, &p.Mail, &p.Attempts, &p.RateBuckets)
	if err != nil {
		return p, mapErr(err)
	}
	if p.WebhookDeliveries, p.WebhookMessages, err = t.pruneWebhooks(ctx, now); err != nil {
		return p, err
	}
	return p, t.prepareEvents(ctx, now)
}

// pruneWebhooks deletes the ended deliveries that expired, then, in a
// statement of its own (one sees the other's deletions only then), the
// messages left with no delivery: theirs, or those of deleted endpoints.
func (t *tx) pruneWebhooks(ctx context.Context, now time.Time) (deliveries, messages int, err error) {
	q := strings.NewReplacer("{s}", quoteIdent(t.s.schema)).Replace
	res, err := t.db.ExecContext(ctx, q(`DELETE FROM {s}.webhook_deliveries WHERE expires_at <= $1`), now)
	if err != nil {
		return 0, 0, mapErr(err)
	}
	n, _ := res.RowsAffected()
	res, err = t.db.ExecContext(ctx, q(`DELETE FROM {s}.webhook_messages m WHERE NOT EXISTS
		(SELECT FROM {s}.webhook_deliveries d WHERE d.tenant_id = m.tenant_id AND d.message_id = m.id)`))
	if err != nil {
		return 0, 0, mapErr(err)
	}
	k, _ := res.RowsAffected()
	return int(n), int(k), nil
}
