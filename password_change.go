package usermgmt

import (
	"context"

	"github.com/google/uuid"
)

// errWrongCurrentPassword is the one answer to a wrong current password,
// and to any while the sign-in key is locked.
func errWrongCurrentPassword() error {
	return fieldErrorf(FieldCurrentPassword, CodeUnauthenticated, "the current password is not correct")
}

// ChangePassword sets a new password for the person holding sessionToken,
// who must give the current one. The current password is checked as Login
// checks it: an attempt is counted on the user's sign-in key before the
// hash, and while the key is locked every password is answered as a wrong
// one, unchecked (see lockout.go). The password policy applies to the new
// password, the email included. Every other session of the user ends with
// its refresh tokens, and so do every trusted device (this browser's too:
// the next login here asks for TOTP), pending MFA challenge, enrolment and
// password reset link; the calling session stays. The SessionRevokers are
// then called (a host's own sessions of the user all end: the library
// cannot tell which of them made this call), a notice is mailed and
// password.changed is logged.
//
// It returns unauthenticated for a bad session or a wrong current
// password, expired for an expired session, invalid for a new password
// the policy refuses (nothing is counted), and internal when a revoker
// failed (the password is changed; the library's other sessions are gone).
func (m *Manager) ChangePassword(ctx context.Context, sessionToken, currentPassword, newPassword string) error {
	p, err := m.Authenticate(ctx, sessionToken)
	if err != nil {
		return err
	}
	a, _ := ActorFromContext(ctx) // where the request came from, for the activity log
	ctx = WithActor(ctx, Actor{UserID: p.UserID, IP: a.IP, UserAgent: a.UserAgent})
	// The turn comes before the attempt is counted, so that a wait refused
	// for load (rate_limited) costs no attempt.
	turn, err := m.takeHashTurn(ctx)
	if err != nil {
		return err
	}
	defer turn.done()
	now := m.now().UTC()
	var (
		u  UserRecord
		pw string
		at attempt
	)
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		var err error
		if u, err = tx.GetUser(ctx, p.TenantID, p.UserID); err != nil {
			return err
		}
		if pw, err = m.checkPassword(newPassword, u.Email, u.TenantID); err != nil {
			return err
		}
		at, err = m.reserve(ctx, tx, u.TenantID, u.Email, now)
		return err
	})
	if ErrorCode(err) == CodeNotFound {
		return errSession
	}
	if err != nil {
		return wrapInternal(err)
	}
	var checked *UserRecord // nil: the key is paused, the dummy is hashed
	if at.allowed && u.PasswordHash != "" {
		checked = &u
	}
	phc := u.PasswordHash
	ok := turn.verify(ctx, checked, currentPassword) && checked != nil
	newHash := ""
	if ok {
		newHash, err = turn.hash(pw)
	}
	turn.done() // the writes below need no slot
	if err != nil {
		return err
	}
	if !ok {
		if err := m.passwordFailed(ctx, &u, at, now, "password change"); err != nil {
			return err
		}
		return errWrongCurrentPassword()
	}
	var out *outgoing
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		r, err := tx.LockUser(ctx, u.TenantID, u.ID)
		if err != nil {
			return err
		}
		// As in Login: a password changed or reset meanwhile wins.
		if r.Status != StatusActive || r.PasswordHash != phc {
			return errWrongCurrentPassword()
		}
		r.PasswordHash, r.UpdatedAt = newHash, now
		if err := tx.UpdateUser(ctx, &r); err != nil {
			return err
		}
		u = r
		if err := tx.ClearAttempts(ctx, u.TenantID, u.Email); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventPasswordChanged, "")); err != nil {
			return err
		}
		if err := m.endOtherSessions(ctx, tx, &u.User, p.SessionID); err != nil {
			return err
		}
		// The session just verified a password: it is fresh for sudo mode.
		if err := tx.MarkSessionVerified(ctx, u.TenantID, p.SessionID, now); err != nil {
			return tokenErr(err)
		}
		out, err = m.queueMail(ctx, tx, MessagePasswordChanged, &u.User, "", "", 0)
		return err
	})
	if err != nil {
		return wrapInternal(err)
	}
	revokeErr := m.callRevokers(ctx, &u.User)
	_, _ = m.attempt(ctx, out) // a notice: a failure is logged and retried, not the caller's concern
	return revokeErr
}

// endOtherSessions ends, in tx, everything that could sign u in again or
// finish signing in but the session keep: the other sessions with their
// refresh tokens, the trusted devices, the pending MFA challenges and
// enrolments, and a password reset link with its mail.
func (m *Manager) endOtherSessions(ctx context.Context, tx Tx, u *User, keep uuid.UUID) error {
	if err := deleteTokens(ctx, tx, u, PurposePasswordReset); err != nil {
		return err
	}
	if _, err := tx.CancelMail(ctx, u.TenantID, u.ID, MessagePasswordReset); err != nil {
		return err
	}
	return m.revokeExcept(ctx, tx, u, keep)
}
