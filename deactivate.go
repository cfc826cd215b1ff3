package usermgmt

import (
	"context"

	"github.com/google/uuid"
)

// Deactivate stops the user from logging in and ends all their sessions,
// keeping their data; mail to them not yet delivered is dropped. It is
// idempotent. Options.BeforeDeactivate may refuse it;
// Options.AfterDeactivate runs after it. It returns not_found,
// permission_denied, conflict for the tenant's last active tenant_admin,
// and internal if a SessionRevoker failed (the deactivation stands; calling
// Deactivate again retries the revokers).
func (m *Manager) Deactivate(ctx context.Context, tenantID string, userID uuid.UUID) (User, error) {
	if err := m.beforeDeactivate(ctx, tenantID, userID); err != nil {
		return User{}, err
	}
	var out User
	changed := false
	err := m.onUser(ctx, tenantID, userID, PermDeactivate, func(ctx context.Context, tx Tx, az authz, u *UserRecord) error {
		if err := az.refuseSelf(&u.User, ActionDeactivate); err != nil {
			return err
		}
		var err error
		changed, err = m.deactivateInTx(ctx, tx, u)
		out = m.shown(&az, u.User)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return out, m.afterDeactivate(ctx, &out, changed)
}

// beforeDeactivate runs Options.BeforeDeactivate on the user, unless they
// are deactivated already: before the deactivation's transaction, so that
// the host's hook never runs while a lock is held.
func (m *Manager) beforeDeactivate(ctx context.Context, tenantID string, userID uuid.UUID) error {
	if m.opts.BeforeDeactivate == nil {
		return nil
	}
	u, err := m.readUser(ctx, tenantID, userID, PermDeactivate)
	if err != nil || u.Status == StatusDeactivated {
		return err
	}
	return m.opts.BeforeDeactivate(ctx, u)
}

// deactivateInTx is the work of a deactivation inside the caller's
// transaction: unless u is deactivated already (then it changes nothing
// and reports false), it refuses the last active tenant_admin, stores u
// deactivated (with whatever else the caller changed in it), logs it,
// kills u's links and undelivered mail, and ends every session, refresh
// token, trusted device and challenge (revokeInTx). afterDeactivate
// follows it after the commit.
func (m *Manager) deactivateInTx(ctx context.Context, tx Tx, u *UserRecord) (bool, error) {
	if u.Status == StatusDeactivated {
		return false, nil
	}
	if err := keepsAnAdmin(ctx, tx, u); err != nil {
		return false, err
	}
	u.Status = StatusDeactivated
	u.UpdatedAt = m.now().UTC()
	// The invitation link dies below: an invited user activated again
	// shows it expired, with Resend as the way out.
	if u.InviteExpiresAt != nil && u.UpdatedAt.Before(*u.InviteExpiresAt) {
		at := u.UpdatedAt
		u.InviteExpiresAt = &at
	}
	if err := tx.UpdateUser(ctx, u); err != nil {
		return false, err
	}
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventDeactivated, "")); err != nil {
		return false, err
	}
	// Links die with the deactivation, so that Activate does not
	// revive them, and mail not yet delivered would carry them.
	if err := deleteTokens(ctx, tx, &u.User, PurposeInvite, PurposePasswordReset); err != nil {
		return false, err
	}
	if _, err := tx.CancelMail(ctx, u.TenantID, u.ID, ""); err != nil {
		return false, err
	}
	return true, m.revokeInTx(ctx, tx, &u.User)
}

// afterDeactivate tells the host, after the commit, that u's sessions
// ended (every SessionRevoker, on every call, so a retry retries them)
// and, when this call deactivated u, runs Options.AfterDeactivate.
func (m *Manager) afterDeactivate(ctx context.Context, u *User, changed bool) error {
	err := m.callRevokers(ctx, u)
	if changed && m.opts.AfterDeactivate != nil {
		m.opts.AfterDeactivate(ctx, *u)
	}
	return err
}

// Activate restores a deactivated user to active, or to invited if they
// never finished setup. It is idempotent. It returns not_found,
// permission_denied, and conflict for an erased user (EraseUser).
func (m *Manager) Activate(ctx context.Context, tenantID string, userID uuid.UUID) (User, error) {
	var out User
	err := m.onUser(ctx, tenantID, userID, PermDeactivate, func(ctx context.Context, tx Tx, az authz, u *UserRecord) error {
		_, err := m.activateInTx(ctx, tx, u)
		out = m.shown(&az, u.User)
		return err
	})
	return out, err
}

// activateInTx is the work of Activate inside the caller's transaction:
// unless u is not deactivated (then it changes nothing and reports false),
// it stores u active, or invited if they never finished setup (with
// whatever else the caller changed in it), and logs it.
func (m *Manager) activateInTx(ctx context.Context, tx Tx, u *UserRecord) (bool, error) {
	if u.Status != StatusDeactivated {
		return false, nil
	}
	if u.Erased() {
		return false, Errorf(CodeConflict, "this user was erased: an erased user cannot be activated; invite the person again")
	}
	u.Status = StatusInvited
	if u.ActivatedAt != nil {
		u.Status = StatusActive
	}
	u.UpdatedAt = m.now().UTC()
	if err := tx.UpdateUser(ctx, u); err != nil {
		return false, err
	}
	return true, tx.AppendEvent(ctx, m.event(ctx, &u.User, EventActivated, string(u.Status)))
}

// setActiveInTx activates or deactivates u as active says (activateInTx,
// deactivateInTx), which store u with whatever else the caller changed in
// it; when neither had to and dirty is set, it stores u itself. It reports
// whether u's status changed.
func (m *Manager) setActiveInTx(ctx context.Context, tx Tx, u *UserRecord, active, dirty bool) (bool, error) {
	set := m.deactivateInTx
	if active {
		set = m.activateInTx
	}
	wrote, err := set(ctx, tx, u)
	if err != nil || wrote || !dirty {
		return wrote, err
	}
	u.UpdatedAt = m.now().UTC()
	return false, tx.UpdateUser(ctx, u)
}
