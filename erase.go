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
// Only a tenant_admin in sudo mode, or trusted code, may erase. It returns
// not_found, permission_denied and mfa_required.
func (m *Manager) EraseUser(ctx context.Context, tenantID string, userID uuid.UUID) error {
	return Errorf(CodeInternal, "EraseUser: not implemented yet")
}
