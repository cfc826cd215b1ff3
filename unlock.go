package usermgmt

import (
	"context"

	"github.com/google/uuid"
)

// UnlockUser lifts a pause on the user's sign-in (see lockout.go): the
// failed attempts counted on the user's (tenant, email) key are cleared,
// so the next password is checked at once, and login.unlocked is logged
// with the change. A user whose sign-in is not paused is returned as is;
// only failures short of a pause are then forgotten, without an event. It
// needs PermResetPassword (a password reset clears the same key), and
// returns not_found, and permission_denied when the actor may not reset
// passwords or acts on a tenant_admin without being one.
func (m *Manager) UnlockUser(ctx context.Context, tenantID string, userID uuid.UUID) (User, error) {
	var out User
	err := m.onUser(ctx, tenantID, userID, PermResetPassword, func(ctx context.Context, tx Tx, az authz, u *UserRecord) error {
		now := m.now().UTC()
		a, err := tx.LockAttempts(ctx, u.TenantID, u.Email)
		if err != nil {
			return err
		}
		forgetExpired(&a, now)
		u.LockedUntil = nil
		out = m.shown(&az, u.User)
		if a.Failures == 0 && a.LockedUntil.IsZero() {
			return nil
		}
		if err := tx.ClearAttempts(ctx, u.TenantID, u.Email); err != nil {
			return err
		}
		if !now.Before(a.LockedUntil) {
			return nil
		}
		return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventLoginUnlocked, ""))
	})
	return out, err
}
