package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/usermgmt/usermgmt"
)

// LockAttempts takes the key's transaction-scoped advisory lock, then
// reads its row. A key may have no row to lock with FOR UPDATE (a first
// attempt, or an address nobody has), hence the advisory lock; and it is
// a statement of its own, before the read, because under READ COMMITTED
// a statement's snapshot is taken when it starts: a read in the same
// statement as the wait would miss what the holder committed meanwhile.
func (t *tx) LockAttempts(ctx context.Context, tenantID, email string) (usermgmt.LoginAttempts, error) {
	a := usermgmt.LoginAttempts{TenantID: tenantID, Email: email}
	if _, err := t.db.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", t.s.lockKey("login-attempts", tenantID+"\x00"+email)); err != nil {
		return a, mapErr(err)
	}
	var locked sql.NullTime
	err := t.db.QueryRowContext(ctx, t.q().getAttempts, tenantID, email).Scan(&a.Failures, &locked, &a.Notified, &a.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil
	}
	if err != nil {
		return usermgmt.LoginAttempts{TenantID: tenantID, Email: email}, mapErr(err)
	}
	a.LockedUntil = timeOrZero(locked)
	a.ExpiresAt = a.ExpiresAt.UTC()
	return a, nil
}

func (t *tx) PutAttempts(ctx context.Context, a *usermgmt.LoginAttempts) error {
	_, err := t.db.ExecContext(ctx, t.q().putAttempts, a.TenantID, a.Email, a.Failures, timeArg(a.LockedUntil),
		a.Notified, a.ExpiresAt)
	return mapErr(err)
}

func (t *tx) ClearAttempts(ctx context.Context, tenantID, email string) error {
	_, err := t.db.ExecContext(ctx, t.q().clearAttempts, tenantID, email)
	return mapErr(err)
}
