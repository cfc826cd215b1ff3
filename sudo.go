package usermgmt

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Sudo mode (ASVS 7.5, as GitHub does it): a stolen session that is no
// longer fresh cannot make its holder a tenant_admin, invite one, or
// strip another user's MFA. Those operations need the acting session to
// have verified a password or a code within Options.SudoWindow: at login,
// or later by Sudo.

// errSudo is the answer to a sensitive operation the acting session has
// not confirmed recently.
func errSudo() error {
	return Errorf(CodeMFARequired, "confirm it is you: enter a code from your authenticator app, then try again")
}

// requireSudo refuses a sensitive operation unless the actor's session
// (Actor.SessionID), or for a host's own sessions the time the host
// vouches for (Actor.VerifiedAt), verified a password or a code within
// SudoWindow. Trusted code passes. It runs inside the operation's
// transaction, so a renewal and the operation see one state.
func (m *Manager) requireSudo(ctx context.Context, tx Tx, tenantID string, az authz) error {
	if az.system {
		return nil
	}
	now := m.now()
	at := az.actor.VerifiedAt
	if az.actor.SessionID != uuid.Nil {
		s, err := tx.GetSession(ctx, tenantID, az.actor.SessionID)
		switch {
		case ErrorCode(err) == CodeNotFound:
			at = time.Time{}
		case err != nil:
			return err
		case s.UserID != az.actor.UserID || !now.Before(s.ExpiresAt) || !now.Before(s.IdleExpiresAt):
			at = time.Time{} // not the actor's, or ended: it vouches for nobody
		default:
			at = s.VerifiedAt
		}
	}
	if at.IsZero() || now.Sub(at) >= m.opts.SudoWindow {
		return errSudo()
	}
	return nil
}

// Sudo confirms with a TOTP or recovery code that the person holding a
// session is still its user, and so renews the session's window for
// sensitive operations (Options.SudoWindow). A wrong code counts as a
// failed attempt on the user's sign-in key, as at login, and while the key
// is locked every code is answered as a wrong one. It returns invalid for
// a code of the wrong shape (not counted), unauthenticated for a bad
// session or a wrong code, expired, and conflict for a user without an
// authenticator app (who confirms by signing in again: a new session
// starts verified).
func (m *Manager) Sudo(ctx context.Context, sessionToken, code string) error {
	return m.withOwnCode(ctx, sessionToken, code, true,
		"your account has no authenticator app; sign out and sign in again to confirm it is you",
		func(ctx context.Context, tx Tx, u *UserRecord, how string, _ time.Time) error {
			if err := tx.UpdateUser(ctx, u); err != nil { // keeps a spent recovery code spent
				return err
			}
			return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventSudoVerified, how))
		})
}

// withOwnCode is the one way a signed-in person proves again who they are
// with a code (Sudo, RegenerateRecoveryCodes): it checks the code's shape
// (recovery codes allowed or not), the session of sessionToken, and, in
// one transaction on the person's locked row, the code as VerifyMFA does.
// A wrong code counts on the user's sign-in key and commits the count; a
// right one ends a run of wrong ones, runs change (how says which kind of
// code it was) and marks the session verified now. The person is the
// actor of what change logs. A user without an authenticator app is
// conflict with noMFA as its message.
func (m *Manager) withOwnCode(ctx context.Context, sessionToken, code string, recovery bool, noMFA string,
	change func(ctx context.Context, tx Tx, u *UserRecord, how string, now time.Time) error) error {
	if err := checkCodeShape(code, recovery); err != nil {
		return err
	}
	p, err := m.Authenticate(ctx, sessionToken)
	if err != nil {
		return err
	}
	a, _ := ActorFromContext(ctx) // where the request came from, for the activity log
	ctx = WithActor(ctx, Actor{UserID: p.UserID, IP: a.IP, UserAgent: a.UserAgent})
	now := m.now().UTC()
	var failed *outgoing
	wrong := false
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		u, err := tx.LockUser(ctx, p.TenantID, p.UserID)
		if ErrorCode(err) == CodeNotFound || (err == nil && u.Status != StatusActive) {
			return errSession
		}
		if err != nil {
			return err
		}
		if u.MFASecret == nil {
			return Errorf(CodeConflict, "%s", noMFA)
		}
		how, err := m.passCode(ctx, tx, &u, code, now, nil, &failed)
		if wrong = err == errWrongCodeCounted; wrong {
			return nil // commit the count
		}
		if err != nil {
			return err
		}
		if err := tx.ClearAttempts(ctx, u.TenantID, u.Email); err != nil { // a right code ends a run of wrong ones, as at login
			return err
		}
		if err := change(ctx, tx, &u, how, now); err != nil {
			return err
		}
		if err := tx.MarkSessionVerified(ctx, p.TenantID, p.SessionID, now); err != nil {
			if ErrorCode(err) == CodeNotFound {
				return errSession // revoked meanwhile
			}
			return err
		}
		return nil
	})
	if errors.Is(err, errRetry) || (err == nil && wrong) {
		m.sendLater(ctx, failed)
		return errWrongCode()
	}
	return wrapInternal(err)
}
