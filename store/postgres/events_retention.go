package postgres

import (
	"context"
	"time"
)

// The activity log is partitioned by month of its UUIDv7 ids (migration
// 0011, which says why and how). The SQL functions it creates do the
// work, so that a host's own job can run them too; these are their calls.

// DropEvents drops every monthly partition whose events are all older
// than before (DROP TABLE: no row is deleted, so no trigger fires) and
// returns how many events they held, counted just before the drop. An
// event of the month that before falls in stays until that whole month
// is past. It does nothing while another transaction is at it.
func (t *tx) DropEvents(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := t.db.QueryRowContext(ctx, t.q().dropEvents, before).Scan(&n)
	return n, mapErr(err)
}

// prepareEvents makes sure the months up to two after now's have their
// partitions (events_prepare); normally that is a read of the catalog.
func (t *tx) prepareEvents(ctx context.Context, now time.Time) error {
	_, err := t.db.ExecContext(ctx, t.q().prepareEvents, now)
	return mapErr(err)
}
