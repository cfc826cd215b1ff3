package usermgmt

import (
	"context"

	"github.com/google/uuid"
)

// Deactivate stops the user from logging in and ends all their sessions,
// keeping their data; mail to them not yet delivered is dropped. It is idempotent. Options.BeforeDeactivate may refuse
// it; Options.AfterDeactivate runs after it. It returns not_found,
// permission_denied, conflict for the tenant's last active tenant_admin,
// and internal if a SessionRevoker failed (the deactivation stands; calling
// Deactivate again retries the revokers).
func (m *Manager) Deactivate(ctx context.Context, tenantID string, userID uuid.UUID) (User, error) {
	if m.opts.BeforeDeactivate != nil {
		u, err := m.readUser(ctx, tenantID, userID, PermDeactivate)
		if err != nil {
			return User{}, err
		}
		if u.Status != StatusDeactivated {
			if err := m.opts.BeforeDeactivate(ctx, u); err != nil {
				return User{}, err
			}
		}
	}
	var out User
	changed := false
	err := m.onUser(ctx, tenantID, userID, PermDeactivate, func(ctx context.Context, tx Tx, az authz, u *UserRecord) error {
		if err := az.refuseSelf(&u.User, ActionDeactivate); err != nil {
			return err
		}
		out = m.shown(&az, u.User)
		if u.Status == StatusDeactivated {
			return nil
		}
		if err := keepsAnAdmin(ctx, tx, u); err != nil {
			return err
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
			return err
		}
		out, changed = m.shown(&az, u.User), true
		if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventDeactivated, "")); err != nil {
			return err
		}
		// Links die with the deactivation, so that Activate does not
		// revive them, and mail not yet delivered would carry them.
		if err := deleteTokens(ctx, tx, &u.User, PurposeInvite, PurposePasswordReset); err != nil {
			return err
		}
		if _, err := tx.CancelMail(ctx, u.TenantID, u.ID, ""); err != nil {
			return err
		}
		return m.revokeInTx(ctx, tx, &u.User)
	})
	if err != nil {
		return User{}, err
	}
	err = m.callRevokers(ctx, &out)
	if changed && m.opts.AfterDeactivate != nil {
		m.opts.AfterDeactivate(ctx, out)
	}
	return out, err
}

// Activate restores a deactivated user to active, or to invited if they
// never finished setup. It is idempotent. It returns not_found and
// permission_denied.
func (m *Manager) Activate(ctx context.Context, tenantID string, userID uuid.UUID) (User, error) {
	var out User
	err := m.onUser(ctx, tenantID, userID, PermDeactivate, func(ctx context.Context, tx Tx, az authz, u *UserRecord) error {
		out = m.shown(&az, u.User)
		if u.Status != StatusDeactivated {
			return nil
		}
		u.Status = StatusInvited
		if u.ActivatedAt != nil {
			u.Status = StatusActive
		}
		u.UpdatedAt = m.now().UTC()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		out = m.shown(&az, u.User)
		return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventActivated, string(u.Status)))
	})
	return out, err
}
