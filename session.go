package usermgmt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Session is what a person holds after logging in. Token authenticates
// requests; RefreshToken gets a new Token (and the current roles) once the
// old one is near its idle limit. DeviceToken is set when the person asked
// to trust this device: presented at the next login, it skips TOTP.
type Session struct {
	Token           string
	RefreshToken    string
	ExpiresAt       time.Time // absolute end of the session
	IdleTimeout     time.Duration
	DeviceToken     string
	DeviceExpiresAt time.Time
}

// Principal is who a session token belongs to. Roles is the snapshot
// taken at login or the last Refresh; callers must not modify it.
type Principal struct {
	UserID    uuid.UUID
	TenantID  string
	Roles     []Role
	SessionID uuid.UUID
}

// LoginRequest is what a person types on the login page, plus the device
// token a trusted browser holds.
type LoginRequest struct {
	TenantID    string
	Email       string
	Password    string
	DeviceToken string
}

// LoginResult is the outcome of a correct password: a Session (trusted
// device, or TOTP optional and not enrolled), an MFAChallenge to answer
// with VerifyMFA, or an Enrollment when the person must enrol TOTP first
// (setup interrupted, or MFA reset by an admin).
type LoginResult struct {
	Session      *Session
	MFAChallenge string
	Enrollment   *MFAEnrollment
}

// errUnauthenticated is the one answer to every failed login.
func errUnauthenticated() error {
	return Errorf(CodeUnauthenticated, "email or password is incorrect")
}

func errBadToken() error {
	return Errorf(CodeUnauthenticated, "this link or code is not valid; ask for a new one")
}

// Login checks a person's password. Wrong password, unknown email and
// deactivated user all return unauthenticated after the same work; a
// locked account returns rate_limited.
func (m *Manager) Login(ctx context.Context, req LoginRequest) (LoginResult, error) {
	turn, err := m.takeHashTurn(ctx) // before the read: a storm of logins waits here, not in the store
	if err != nil {
		return LoginResult{}, err
	}
	defer turn.done()
	email, err := NormalizeEmail(req.Email)
	if err != nil || checkTenant(req.TenantID) != nil {
		turn.verify(ctx, nil, req.Password)
		return LoginResult{}, errUnauthenticated()
	}
	var u UserRecord
	err = m.store.RunInTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		u, err = tx.GetUserByEmail(ctx, req.TenantID, email)
		return err
	})
	if ErrorCode(err) == CodeNotFound {
		turn.verify(ctx, nil, req.Password)
		return LoginResult{}, errUnauthenticated()
	}
	if err != nil {
		return LoginResult{}, wrapInternal(err)
	}
	now := m.now().UTC()
	if err := m.checkLock(&u, now); err != nil {
		return LoginResult{}, err
	}
	ok := turn.verify(ctx, &u, req.Password) && (u.Status == StatusActive || u.Status == StatusInvited)
	newHash := ""
	if ok && needsRehash(u.PasswordHash, m.opts.Argon2) {
		newHash, _ = turn.hash(req.Password)
	}
	turn.done() // the writes below need no slot
	if !ok {
		return LoginResult{}, m.recordFailure(ctx, &u.User, EventLoginFailed, errUnauthenticated())
	}
	var res LoginResult
	err = m.store.RunInTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		u, err := tx.LockUser(ctx, u.TenantID, u.ID)
		if err != nil {
			return err
		}
		if u.Status == StatusDeactivated || u.PasswordHash == "" {
			return errUnauthenticated()
		}
		if err := m.checkLock(&u, now); err != nil {
			return err
		}
		if newHash != "" {
			u.PasswordHash = newHash
			if err := tx.UpdateUser(ctx, &u); err != nil {
				return err
			}
		}
		switch {
		case u.MFASecret == nil && (u.Status == StatusInvited || !m.opts.MFAOptional):
			enr, err := m.startEnrollment(ctx, tx, &u, now)
			res.Enrollment = &enr
			return err
		case u.MFASecret == nil:
			s, err := m.completeLogin(ctx, tx, &u, now, "password")
			res.Session = &s
			return err
		case m.trustedDevice(ctx, tx, &u, req.DeviceToken, now):
			s, err := m.completeLogin(ctx, tx, &u, now, "trusted device")
			res.Session = &s
			return err
		}
		token, hash := newToken(prefixChallenge)
		res.MFAChallenge = token
		return tx.CreateToken(ctx, &TokenRecord{Hash: hash, Purpose: PurposeMFAChallenge, TenantID: u.TenantID,
			UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(m.opts.ChallengeTTL)})
	})
	if err != nil {
		return LoginResult{}, wrapInternal(err)
	}
	return res, nil
}

// checkLock returns rate_limited while the account is locked.
func (m *Manager) checkLock(u *UserRecord, now time.Time) error {
	if now.Before(u.LockedUntil) {
		secs := int64(u.LockedUntil.Sub(now)/time.Second) + 1
		return &Error{Code: CodeRateLimited, Message: "too many failed attempts; try again later", RetryAfter: secs}
	}
	return nil
}

// recordFailure counts a failed password or code against the account,
// locks it for a growing time after MaxFailedAttempts, logs the event, and
// returns answer.
func (m *Manager) recordFailure(ctx context.Context, u *User, typ EventType, answer error) error {
	err := m.store.RunInTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		r, err := tx.LockUser(ctx, u.TenantID, u.ID)
		if err != nil {
			return err
		}
		m.countFailure(&r)
		if err := tx.UpdateUser(ctx, &r); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, m.event(ctx, &r.User, typ, ""))
	})
	if err != nil {
		return wrapInternal(err)
	}
	return answer
}

func (m *Manager) countFailure(u *UserRecord) {
	u.FailedAttempts++
	if over := u.FailedAttempts - m.opts.MaxFailedAttempts; over >= 0 {
		d := m.opts.Lockout << min(over, 20)
		if d > m.opts.LockoutMax || d <= 0 {
			d = m.opts.LockoutMax
		}
		u.LockedUntil = m.now().UTC().Add(d)
	}
}

// trustedDevice reports whether token is a live trusted device of u.
func (m *Manager) trustedDevice(ctx context.Context, tx Tx, u *UserRecord, token string, now time.Time) bool {
	if !wellFormed(token, prefixDevice) {
		return false
	}
	d, err := tx.GetDevice(ctx, hashToken(token))
	return err == nil && d.TenantID == u.TenantID && d.UserID == u.ID && now.Before(d.ExpiresAt)
}

// completeLogin ends a successful login: clears failures, stamps the last
// login, logs it and issues a session.
func (m *Manager) completeLogin(ctx context.Context, tx Tx, u *UserRecord, now time.Time, how string) (Session, error) {
	u.FailedAttempts, u.LockedUntil = 0, time.Time{}
	u.LastLoginAt = &now
	if err := tx.UpdateUser(ctx, u); err != nil {
		return Session{}, err
	}
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventLoginSucceeded, how)); err != nil {
		return Session{}, err
	}
	return m.createSession(ctx, tx, u, now)
}

func (m *Manager) createSession(ctx context.Context, tx Tx, u *UserRecord, now time.Time) (Session, error) {
	token, th := newToken(prefixSession)
	refresh, rh := newToken(prefixRefresh)
	id, err := uuid.NewV7()
	if err != nil {
		return Session{}, err
	}
	a, _ := ActorFromContext(ctx)
	rec := &SessionRecord{ID: id, TenantID: u.TenantID, UserID: u.ID, TokenHash: th, RefreshHash: rh,
		Roles: slices.Clone(u.Roles), IP: a.IP, UserAgent: a.UserAgent, CreatedAt: now,
		IdleExpiresAt: now.Add(m.opts.SessionIdleTimeout), ExpiresAt: now.Add(m.opts.SessionMaxAge)}
	if err := tx.CreateSession(ctx, rec); err != nil {
		return Session{}, err
	}
	return Session{Token: token, RefreshToken: refresh, ExpiresAt: rec.ExpiresAt, IdleTimeout: m.opts.SessionIdleTimeout}, nil
}

// VerifyMFA answers an MFA challenge with a TOTP code or a recovery code.
// Success issues a session and, with trustDevice, a device token that
// skips TOTP for Options.DeviceTrustTTL. A wrong code may be retried on the
// same challenge until it expires or the account locks. It returns
// unauthenticated for a wrong code or unknown challenge, expired for an
// expired one, and rate_limited while the account is locked.
func (m *Manager) VerifyMFA(ctx context.Context, challenge, code string, trustDevice bool) (Session, error) {
	if !wellFormed(challenge, prefixChallenge) {
		return Session{}, errBadToken()
	}
	now := m.now().UTC()
	var s Session
	var failed *User
	err := m.store.RunInTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		u, _, err := m.spendToken(ctx, tx, PurposeMFAChallenge, challenge, now)
		if err != nil {
			return err
		}
		if u.Status != StatusActive || u.MFASecret == nil {
			return errBadToken()
		}
		if err := m.checkLock(&u, now); err != nil {
			return err
		}
		ok, how, err := m.checkCode(ctx, tx, &u, code, now)
		if err != nil {
			return err
		}
		if !ok {
			failed = &u.User
			return errRetry
		}
		if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventMFAVerified, how)); err != nil {
			return err
		}
		if s, err = m.completeLogin(ctx, tx, &u, now, "mfa"); err != nil {
			return err
		}
		if trustDevice {
			return m.trustDevice(ctx, tx, &u, now, &s)
		}
		return nil
	})
	if errors.Is(err, errRetry) {
		return Session{}, m.recordFailure(ctx, failed, EventMFAFailed, Errorf(CodeUnauthenticated, "the code is not correct"))
	}
	if err != nil {
		return Session{}, wrapInternal(err)
	}
	return s, nil
}

// errRetry rolls a transaction back (so a challenge or enrolment token can
// be tried again) before a failure is recorded in a transaction of its own.
var errRetry = errors.New("usermgmt: wrong code")

func (m *Manager) trustDevice(ctx context.Context, tx Tx, u *UserRecord, now time.Time, s *Session) error {
	token, hash := newToken(prefixDevice)
	d := &DeviceRecord{Hash: hash, TenantID: u.TenantID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(m.opts.DeviceTrustTTL)}
	if err := tx.CreateDevice(ctx, d); err != nil {
		return err
	}
	s.DeviceToken, s.DeviceExpiresAt = token, d.ExpiresAt
	return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventDeviceTrusted, ""))
}

// Authenticate returns who holds a session token. It refuses revoked and
// expired sessions and those of users no longer active (unauthenticated or
// expired), and extends the session's idle limit.
func (m *Manager) Authenticate(ctx context.Context, sessionToken string) (Principal, error) {
	if !wellFormed(sessionToken, prefixSession) {
		return Principal{}, errSession
	}
	s, err := m.store.TouchSession(ctx, hashToken(sessionToken), m.now(), m.opts.SessionIdleTimeout)
	if err != nil {
		return Principal{}, err
	}
	return Principal{UserID: s.UserID, TenantID: s.TenantID, Roles: s.Roles, SessionID: s.ID}, nil
}

var errSession = &Error{Code: CodeUnauthenticated, Message: "not signed in"}

// Refresh rotates a session's tokens and re-reads the user's roles: the
// "token refresh" at which role changes take effect. A refresh token works
// once; presenting a spent one again revokes the whole session. It returns
// unauthenticated and expired.
func (m *Manager) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	if !wellFormed(refreshToken, prefixRefresh) {
		return Session{}, errSession
	}
	now := m.now().UTC()
	var out Session
	var refused error
	err := m.store.RunInTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		s, spent, err := tx.SessionByRefresh(ctx, hashToken(refreshToken))
		if ErrorCode(err) == CodeNotFound {
			return errSession
		}
		if err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, s.TenantID, s.UserID)
		if err != nil {
			return err
		}
		switch {
		case spent:
			refused = errSession
			if err := tx.RevokeSessionByID(ctx, s.ID); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventRefreshTokenReused, ""))
		case u.Status != StatusActive:
			refused = errSession
			return tx.RevokeSessionByID(ctx, s.ID)
		case !now.Before(s.ExpiresAt) || !now.Before(s.IdleExpiresAt):
			return Errorf(CodeExpired, "the session has expired; log in again")
		}
		token, th := newToken(prefixSession)
		refresh, rh := newToken(prefixRefresh)
		err = tx.RotateSession(ctx, SessionRotation{ID: s.ID, OldRefresh: s.RefreshHash, TokenHash: th, RefreshHash: rh,
			Roles: slices.Clone(u.Roles), IdleExpiresAt: minTime(now.Add(m.opts.SessionIdleTimeout), s.ExpiresAt)})
		if ErrorCode(err) == CodeConflict {
			return errSession
		}
		out = Session{Token: token, RefreshToken: refresh, ExpiresAt: s.ExpiresAt, IdleTimeout: m.opts.SessionIdleTimeout}
		return err
	})
	if err == nil && refused != nil {
		return Session{}, refused
	}
	if err != nil {
		return Session{}, wrapInternal(err)
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Logout ends one session. An unknown or already ended session is no error.
func (m *Manager) Logout(ctx context.Context, sessionToken string) error {
	if !wellFormed(sessionToken, prefixSession) {
		return nil
	}
	err := m.store.RunInTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		s, err := tx.RevokeSession(ctx, hashToken(sessionToken))
		if ErrorCode(err) == CodeNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.AppendEvent(ctx, m.event(ctx, &User{ID: s.UserID, TenantID: s.TenantID}, EventLogout, ""))
	})
	return wrapInternal(err)
}

// ForceLogout ends every session, refresh token and trusted device of the
// user at once, then calls every SessionRevoker. It returns not_found,
// permission_denied, and internal when a revoker failed (the library's own
// sessions are gone; calling ForceLogout again retries the revokers).
func (m *Manager) ForceLogout(ctx context.Context, tenantID string, userID uuid.UUID) error {
	var u User
	err := m.onUser(ctx, tenantID, userID, PermForceLogout, func(ctx context.Context, tx Tx, _ authz, r *UserRecord) error {
		u = r.User
		return m.revokeInTx(ctx, tx, &u)
	})
	if err != nil {
		return err
	}
	return m.callRevokers(ctx, &u)
}

// PruneExpired deletes expired single-use tokens, sessions and trusted
// devices from the store, and outbox mail a week past its link's expiry;
// none of them can be used any more, so this only keeps the store small
// (a pruned link or session answers unauthenticated, as an unknown one
// does, instead of expired). Hosts call it from a periodic job
// (examples/server runs it every ten minutes).
func (m *Manager) PruneExpired(ctx context.Context) (Pruned, error) {
	var p Pruned
	err := m.store.RunInTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		var err error
		p, err = tx.DeleteExpired(ctx, m.now())
		return err
	})
	return p, wrapInternal(err)
}

// revokeInTx is the one revocation path: it deletes every session, refresh
// token and trusted device of u and records it. callRevokers follows it
// after the commit.
func (m *Manager) revokeInTx(ctx context.Context, tx Tx, u *User) error {
	n, err := tx.RevokeUser(ctx, u.TenantID, u.ID)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%d sessions, %d trusted devices", n.Sessions, n.Devices)
	return tx.AppendEvent(ctx, m.event(ctx, u, EventSessionsRevoked, detail))
}

// callRevokers tells every SessionRevoker; it calls them all even when
// one fails, and reports the failures as internal.
func (m *Manager) callRevokers(ctx context.Context, u *User) error {
	var errs []error
	for _, r := range m.opts.Revokers {
		if err := r.RevokeUserSessions(ctx, u.TenantID, u.ID); err != nil {
			m.log.ErrorContext(ctx, "usermgmt: session revoker failed", "tenant", u.TenantID, "user", u.ID, "err", err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return &Error{Code: CodeInternal, Message: "sessions were revoked here, but a host session revoker failed; retry",
			Err: errors.Join(errs...)}
	}
	return nil
}
