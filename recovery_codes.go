package usermgmt

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Recovery codes are made at enrolment (MFAEnrollment.RecoveryCodes) and
// spent one by one in place of a TOTP code. The person sees how many are
// left on their account page and may replace them all at once.

// RecoveryCodesLeft returns how many of the user's recovery codes are
// still unspent: 0 for a user without TOTP. The person may ask about
// themselves (an Actor whose UserID is userID), trusted code about anyone,
// and an actor who may list users about a user of the tenant. It returns
// invalid for a bad tenant, not_found and permission_denied.
func (m *Manager) RecoveryCodesLeft(ctx context.Context, tenantID string, userID uuid.UUID) (int, error) {
	if err := checkTenant(tenantID); err != nil {
		return 0, err
	}
	n := 0
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		if a, ok := ActorFromContext(ctx); !ok || a.UserID != userID {
			if _, err := m.authorize(ctx, tx, tenantID, PermListUsers); err != nil {
				return err
			}
		}
		u, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		if u.MFASecret != nil {
			n = len(u.RecoveryCodes)
		}
		return nil
	})
	return n, wrapInternal(err)
}

// RegenerateRecoveryCodes replaces every recovery code of the person
// holding sessionToken with ten new ones, which it returns: they are shown
// only now, and the old ones stop working at once. The person confirms
// with a TOTP code from the authenticator app (a recovery code is refused
// as invalid: whoever holds only those must not make more). The code is
// checked as VerifyMFA checks it: a wrong one counts on the user's sign-in
// key, and while the key is locked every code is answered as a wrong one.
// The session, having just verified a code, is fresh for sudo mode. The
// change and mfa.recovery_codes_regenerated commit together; nothing is
// mailed (the person is signed in and holds the authenticator: the
// activity log records it).
//
// It returns invalid for a code that is not six digits (neither checked
// nor counted), unauthenticated for a bad session or a wrong code,
// expired, and conflict for a user without an authenticator app.
func (m *Manager) RegenerateRecoveryCodes(ctx context.Context, sessionToken, code string) ([]string, error) {
	var codes []string
	err := m.withOwnCode(ctx, sessionToken, code, false, "your account has no authenticator app, so it has no recovery codes",
		func(ctx context.Context, tx Tx, u *UserRecord, _ string, now time.Time) error {
			var hashes []TokenHash
			codes, hashes = m.newRecoveryCodes()
			u.RecoveryCodes, u.UpdatedAt = hashes, now
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventMFARecoveryRegenerated, ""))
		})
	if err != nil {
		return nil, err
	}
	return codes, nil
}
