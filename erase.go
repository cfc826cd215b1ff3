package usermgmt

import (
	"context"

	"github.com/google/uuid"
)

// EraseUser is the right to erasure (GDPR art. 17): it deletes the
// person's email, names, password hash, TOTP secret, recovery codes,
// sessions, trusted devices, tokens and mail, and pseudonymises their
// activity events (the user and actor keep an opaque id; email, IP and
// User-Agent go), in one transaction, recorded as a user.erased event.
//
// The user is deactivated first, as Deactivate does (Options.BeforeDeactivate
// may refuse it, the SessionRevokers and AfterDeactivate run after the
// commit), and stays as a deactivated row that the list and the activity
// log show as "Erased user" (User.Erased): it can never be activated again,
// holds no roles and is gone for the identity provider (SCIM answers 404 for
// it, as after a DELETE; a later POST of the same address creates a new
// user). Erasing an erased user changes nothing.
//
// Only a tenant_admin in sudo mode, or trusted code, may erase; nobody
// erases themselves, and a provisioning token never erases. It returns
// not_found, permission_denied, mfa_required (sudo mode needed), conflict
// for the tenant's last active tenant_admin, and internal if a
// SessionRevoker failed (the erasure stands; calling EraseUser again does
// not retry them).
func (m *Manager) EraseUser(ctx context.Context, tenantID string, userID uuid.UUID) error {
	if err := m.beforeDeactivate(ctx, tenantID, userID); err != nil {
		return err
	}
	var out User
	erased := false
	err := m.onUser(ctx, tenantID, userID, PermDeactivate, func(ctx context.Context, tx Tx, az authz, u *UserRecord) error {
		if !az.isAdmin() {
			return Errorf(CodePermissionDenied, "only a tenant admin may erase a user")
		}
		if err := az.refuseProvisioner("erase a user"); err != nil {
			return err
		}
		if err := az.refuseSelf(&u.User, ActionErase); err != nil {
			return err
		}
		if u.Erased() {
			return nil
		}
		if err := m.requireSudo(ctx, tx, tenantID, az); err != nil {
			return err
		}
		if _, err := m.deactivateInTx(ctx, tx, u); err != nil {
			return err
		}
		if err := tx.EraseUser(ctx, tenantID, userID, m.now().UTC()); err != nil {
			return err
		}
		r, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		out, erased = r.User, true
		// After the erasure, so that it keeps who erased and from where,
		// and its webhook message carries the erased user, not their data.
		return tx.AppendEvent(ctx, m.event(ctx, &out, EventErased, ""))
	})
	if err != nil || !erased {
		return err
	}
	return m.afterDeactivate(ctx, &out, true)
}

// erasedDomain is the domain of an erased user's placeholder address:
// .invalid is reserved (RFC 2606), NormalizeEmail refuses it, so no person
// can ever hold one.
const erasedDomain = "erased.invalid"

// ErasedEmail is the address that replaces the email of the erased user
// id (Tx.EraseUser): one per user, so the tenant's unique email rule
// holds, and one no invitation can take.
func ErasedEmail(id uuid.UUID) string { return "erased+" + id.String() + "@" + erasedDomain }

// Erased reports whether the user's personal data was erased (EraseUser).
func (u User) Erased() bool { return u.Email == ErasedEmail(u.ID) }

// erasedActor is how the activity log names an actor who was erased.
const erasedActor = "Erased user"

// keptDetail are the event types whose Detail names only things of the
// library or the tenant (a role, a group, a count, how a code was given,
// which profile fields changed), never the person, their address or their
// devices: EraseUser keeps it and clears every other type's. A new event
// type loses its Detail on erasure until it is listed here.
var keptDetail = map[EventType]bool{
	EventLoginFailed: true, EventLoginLocked: true, EventLoginSucceeded: true, EventMFAVerified: true,
	EventSudoVerified: true, EventRoleGranted: true, EventRoleRevoked: true, EventSessionsRevoked: true,
	EventActivated: true, EventProfileUpdated: true, EventGroupJoined: true, EventGroupLeft: true,
}

// ErasureKeepsDetail reports whether Tx.EraseUser keeps the Detail of an
// event of type t about the erased user: true only for types whose Detail
// can hold nothing personal. mail.failed (which names the address),
// session.revoked and device.revoked (which name the browser and system)
// and every type not known to hold nothing personal lose it.
func ErasureKeepsDetail(t EventType) bool { return keptDetail[t] }
