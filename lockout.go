package usermgmt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Failed sign-in attempts are counted per sign-in key, a tenant and a
// normalised email, for every address typed, whether or not the tenant
// has a user with it, in the store, so that every app instance shares
// the count. After Options.MaxFailedAttempts failures in a row the key
// is locked for Options.Lockout, doubled at each further failure up to
// Options.LockoutMax. A locked key is answered exactly as a wrong
// password, after the same hash work, so the lock tells nobody whether
// the address is a user's; the person learns of it by mail instead
// (MessageSignInPaused), once per pause, and the admin from the activity
// log (EventLoginLocked).
//
// A password is checked only after an attempt is reserved on its key: the
// reservation counts as a failure before the slow hash starts, so however
// many guesses arrive at once, at most MaxFailedAttempts are checked. A
// session issued clears the key, a password reset too; a right password
// that leads on to a second factor gives its reservation back. A
// reservation whose outcome never comes (a crash) stays a failure: the
// lock it may cause lapses like any other, and the key is forgotten
// failureMemory after its last failure.

// failureMemory is how long a key's count outlives its last failure or
// the end of its lock, whichever is later. A quiet day forgets it.
const failureMemory = 24 * time.Hour

// pausedDetail marks the login.failed event of an attempt refused
// unchecked because its key was locked.
const pausedDetail = "sign-in paused"

// attempt is a password attempt reserved (or refused) on a key: the key's
// record before and after the reservation.
type attempt struct {
	allowed bool // reserved: the password may be checked
	locks   bool // the reservation locked the key
	before  LoginAttempts
	after   LoginAttempts
}

// reserve counts one attempt on the key in tx before its password is
// checked, unless the key is locked: then it is refused, and nothing is
// written.
func (m *Manager) reserve(ctx context.Context, tx Tx, tenantID, email string, now time.Time) (attempt, error) {
	a, err := tx.LockAttempts(ctx, tenantID, email)
	if err != nil {
		return attempt{}, err
	}
	forgetExpired(&a, now)
	at := attempt{before: a, after: a}
	if now.Before(a.LockedUntil) {
		return at, nil
	}
	at.allowed = true
	at.locks = m.countFailure(&a, now)
	at.after = a
	return at, tx.PutAttempts(ctx, &a)
}

// release gives back what a right password reserved when the login goes
// on to a second factor: the password was no failure, but the key is not
// cleared, so that wrong codes keep counting until a session is issued.
// When nobody counted on the key since, it is restored as it was;
// otherwise only this attempt is taken off.
func (m *Manager) release(ctx context.Context, tx Tx, at attempt) error {
	a, err := tx.LockAttempts(ctx, at.after.TenantID, at.after.Email)
	if err != nil || a.Failures == 0 { // or cleared meanwhile
		return err
	}
	if a.Failures == at.after.Failures {
		a.Failures, a.LockedUntil = at.before.Failures, at.before.LockedUntil
	} else {
		a.Failures--
	}
	return tx.PutAttempts(ctx, &a)
}

// countFailure adds a failure to a, locks it after MaxFailedAttempts, and
// reports whether it locked it. Times are whole microseconds, as stores
// keep them.
func (m *Manager) countFailure(a *LoginAttempts, now time.Time) bool {
	now = now.Truncate(time.Microsecond)
	a.Failures++
	over := a.Failures - m.opts.MaxFailedAttempts
	if over >= 0 {
		d := m.opts.Lockout << min(over, 20)
		if d > m.opts.LockoutMax || d <= 0 {
			d = m.opts.LockoutMax
		}
		a.LockedUntil = now.Add(d)
	}
	a.ExpiresAt = later(now, a.LockedUntil).Add(failureMemory)
	return over >= 0
}

// forgetExpired resets a record past its ExpiresAt (not yet pruned) to
// none.
func forgetExpired(a *LoginAttempts, now time.Time) {
	if !now.Before(a.ExpiresAt) {
		*a = LoginAttempts{TenantID: a.TenantID, Email: a.Email}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// passwordFailed records a failed password attempt (a login, or the
// current password of a change, what says which in the event): the key's
// record is written and, for a user, the login.failed event with it, and
// the pause mail when this attempt locked the key. An address nobody has
// costs the same transaction, the same write and the same commit as a
// user's, but the event: no timing tells them apart. u is nil for nobody.
// It returns only the store's errors.
func (m *Manager) passwordFailed(ctx context.Context, u *UserRecord, at attempt, now time.Time, what string) error {
	var out *outgoing
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		a, err := tx.LockAttempts(ctx, at.after.TenantID, at.after.Email)
		if err != nil {
			return err
		}
		// The day after which the key is forgotten counts from its last
		// failure, a refused attempt included.
		a.ExpiresAt = later(now, a.LockedUntil).Truncate(time.Microsecond).Add(failureMemory)
		if u != nil {
			detail := what
			if !at.allowed {
				detail = strings.TrimPrefix(what+"; "+pausedDetail, "; ")
			}
			if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventLoginFailed, detail)); err != nil {
				return err
			}
			if at.locks {
				if out, err = m.pauseNotice(ctx, tx, u, &a, now); err != nil {
					return err
				}
			}
		}
		return tx.PutAttempts(ctx, &a)
	})
	if err != nil {
		return wrapInternal(err)
	}
	m.sendLater(ctx, out)
	return nil
}

// lockedForCode locks u's sign-in key in tx for a TOTP or recovery code
// check and reports whether it is locked: then the code is not checked.
func (m *Manager) lockedForCode(ctx context.Context, tx Tx, u *UserRecord, now time.Time) (LoginAttempts, bool, error) {
	a, err := tx.LockAttempts(ctx, u.TenantID, u.Email)
	if err != nil {
		return a, false, err
	}
	forgetExpired(&a, now)
	return a, now.Before(a.LockedUntil), nil
}

// codeFailed records a wrong code in the transaction that checked it,
// under the key's lock taken by lockedForCode: the failure counts on the
// key, the mfa.failed event is written, the pause mail is queued when it
// locks the key, and the spent challenge or enrolment token t (nil for
// none) is put back, so the person may try again.
func (m *Manager) codeFailed(ctx context.Context, tx Tx, u *UserRecord, a *LoginAttempts, t *TokenRecord, now time.Time) (*outgoing, error) {
	var out *outgoing
	if m.countFailure(a, now) {
		var err error
		if out, err = m.pauseNotice(ctx, tx, u, a, now); err != nil {
			return nil, err
		}
	}
	if err := tx.PutAttempts(ctx, a); err != nil {
		return nil, err
	}
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventMFAFailed, "")); err != nil {
		return nil, err
	}
	if t == nil {
		return out, nil
	}
	return out, tx.CreateToken(ctx, t)
}

// passCode checks a TOTP or recovery code of u in tx under u's sign-in
// key, for VerifyMFA and Sudo. A locked key answers errRetry, unchecked
// (the caller rolls back). A wrong code is counted (codeFailed: the event,
// the pause mail put in *failed, the token t put back) and answers
// errWrongCodeCounted, which the caller must turn into a commit. A right
// code answers how it passed.
func (m *Manager) passCode(ctx context.Context, tx Tx, u *UserRecord, code string, now time.Time,
	t *TokenRecord, failed **outgoing) (string, error) {
	a, locked, err := m.lockedForCode(ctx, tx, u, now)
	if err != nil || locked {
		return "", cmp.Or(err, errRetry)
	}
	ok, how, err := m.checkCode(ctx, tx, u, code, now)
	if err != nil || ok {
		return how, err
	}
	if *failed, err = m.codeFailed(ctx, tx, u, &a, t, now); err != nil {
		return "", err
	}
	return "", errWrongCodeCounted
}

// errWrongCodeCounted reports a wrong code whose failure was recorded in
// the transaction, which must therefore commit.
var errWrongCodeCounted = errors.New("usermgmt: wrong code, counted")

// errWrongCode is the one answer to a wrong code, and to any code while
// the key is locked.
func errWrongCode() error {
	return fieldErrorf(FieldCode, CodeUnauthenticated, "the code is not correct")
}

// pauseNotice tells of a lock that a just counted failure set on u's key,
// once per pause (until a success, a reset or the key is forgotten): the
// login.locked event for the admin and, when u could sign in (active, or
// invited with a password), the mail to the person, both in tx. It
// returns the mail to send after the commit, or nil.
func (m *Manager) pauseNotice(ctx context.Context, tx Tx, u *UserRecord, a *LoginAttempts, now time.Time) (*outgoing, error) {
	if a.Notified || !now.Before(a.LockedUntil) {
		return nil, nil
	}
	a.Notified = true
	resumes := a.LockedUntil.UTC().Format("2006-01-02 15:04 MST")
	detail := fmt.Sprintf("%d failed attempts; paused until %s", a.Failures, resumes)
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventLoginLocked, detail)); err != nil {
		return nil, err
	}
	if !(u.Status == StatusActive || u.Status == StatusInvited && u.PasswordHash != "") {
		return nil, nil
	}
	d := m.mailData(&u.User, "")
	d.FailedAttempts, d.Pause, d.ResumesAt = a.Failures, humanDuration(a.LockedUntil.Sub(now.Truncate(time.Microsecond))), resumes
	return m.enqueueMail(ctx, tx, MessageSignInPaused, &u.User, d, 0, attemptNow)
}
