package usermgmt

import (
	"cmp"
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
// taken at login or the last Refresh, so it may be up to
// Options.SessionMaxAge old: a role change reaches it at the next Refresh,
// and ForceLogout makes one bite at once. The Manager's own permission
// checks read the current roles. Callers must not modify Roles.
// VerifiedAt is when the session last verified a password or a code (see
// Options.SudoWindow). User is the session's user, read with the session,
// as GetUser returns it to trusted code (zero in a Principal that a host
// made itself).
type Principal struct {
	UserID     uuid.UUID
	TenantID   string
	Roles      []Role
	SessionID  uuid.UUID
	VerifiedAt time.Time
	User       User

	read actorRead // set by Authenticate
}

// Actor returns the actor of this principal's requests, for WithActor; the
// caller adds IP and UserAgent. For a Principal of Authenticate it carries
// the user read with the session, and the Manager's operations in the
// same request check the actor's permission against it instead of reading
// the actor again: an active user's current roles, read a moment before
// (at most a second: past that, or in another tenant, the Manager reads
// the actor again as for any Actor).
func (p Principal) Actor() Actor {
	return Actor{UserID: p.UserID, SessionID: p.SessionID, VerifiedAt: p.VerifiedAt, read: p.read}
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
	return fieldErrorf(FieldToken, CodeUnauthenticated, "this link or code is not valid; ask for a new one")
}

// Login checks a person's password. Wrong password, unknown email,
// deactivated user and locked sign-in key all return the same
// unauthenticated after the same work (see lockout.go).
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
	now := m.now().UTC()
	var (
		u     UserRecord
		known bool
		at    attempt
	)
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		var err error
		u, err = tx.GetUserByEmail(ctx, req.TenantID, email)
		if known = err == nil; !known && ErrorCode(err) != CodeNotFound {
			return err
		}
		at, err = m.reserve(ctx, tx, req.TenantID, email, now)
		return err
	})
	if err != nil {
		return LoginResult{}, wrapInternal(err)
	}
	var checked *UserRecord // whose password is checked; nil: the dummy is hashed
	if known && at.allowed && u.PasswordHash != "" {
		checked = &u
	}
	phc := u.PasswordHash
	ok := turn.verify(ctx, checked, req.Password) && checked != nil && (u.Status == StatusActive || u.Status == StatusInvited)
	newHash := ""
	if ok && needsRehash(phc, m.opts.Argon2) {
		newHash, _ = turn.hash(req.Password) // no re-hash if it fails: the login goes on
	}
	turn.done() // the writes below need no slot
	if !ok {
		var who *UserRecord
		if known {
			who = &u
		}
		return LoginResult{}, cmp.Or(m.passwordFailed(ctx, who, at, now, ""), errUnauthenticated())
	}
	var res LoginResult
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		u, err := tx.LockUser(ctx, u.TenantID, u.ID)
		if err != nil {
			return err
		}
		// The password checked must still be the password: a reset or
		// change that committed meanwhile wins, and the old hash is
		// never written back (compare-and-set under the row lock).
		if u.Status == StatusDeactivated || u.PasswordHash != phc {
			return errUnauthenticated()
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
			if err != nil {
				return err
			}
			return m.release(ctx, tx, at)
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
		if err := tx.CreateToken(ctx, &TokenRecord{Hash: hash, Purpose: PurposeMFAChallenge, TenantID: u.TenantID,
			UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(m.opts.ChallengeTTL)}); err != nil {
			return err
		}
		return m.release(ctx, tx, at)
	})
	if err != nil {
		return LoginResult{}, wrapInternal(err)
	}
	return res, nil
}

// trustedDevice reports whether token is a live trusted device of u.
func (m *Manager) trustedDevice(ctx context.Context, tx Tx, u *UserRecord, token string, now time.Time) bool {
	if !wellFormed(token, prefixDevice) {
		return false
	}
	d, err := tx.GetDevice(ctx, hashToken(token))
	return err == nil && d.TenantID == u.TenantID && d.UserID == u.ID && now.Before(d.ExpiresAt)
}

// completeLogin ends a successful login: clears the sign-in key's
// failures, stamps the last login, logs it and issues a session.
func (m *Manager) completeLogin(ctx context.Context, tx Tx, u *UserRecord, now time.Time, how string) (Session, error) {
	if err := tx.ClearAttempts(ctx, u.TenantID, u.Email); err != nil {
		return Session{}, err
	}
	u.LastLoginAt = &now
	if err := tx.UpdateUser(ctx, u); err != nil {
		return Session{}, err
	}
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventLoginSucceeded, how)); err != nil {
		return Session{}, err
	}
	return m.createSession(ctx, tx, u, now)
}

// createSession issues a session. Every session is made right after the
// person proved who they are (a password, a code, or both), so it starts
// verified for sudo mode.
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
		IdleExpiresAt: now.Add(m.opts.SessionIdleTimeout), ExpiresAt: now.Add(m.opts.SessionMaxAge), VerifiedAt: now,
		LastSeenAt: now}
	if err := tx.CreateSession(ctx, rec); err != nil {
		return Session{}, err
	}
	return Session{Token: token, RefreshToken: refresh, ExpiresAt: rec.ExpiresAt, IdleTimeout: m.opts.SessionIdleTimeout}, nil
}

// VerifyMFA answers an MFA challenge with a TOTP code or a recovery code.
// Success issues a session and, with trustDevice, a device token that
// skips TOTP for Options.DeviceTrustTTL. A wrong code counts as a failed
// attempt on the user's sign-in key and may be retried on the same
// challenge until it expires; while the key is locked every code is
// answered as a wrong one, unchecked. It returns invalid for a code shaped
// like neither a TOTP code nor a recovery code (neither checked nor
// counted), unauthenticated for a wrong code or unknown challenge, and
// expired for an expired one.
func (m *Manager) VerifyMFA(ctx context.Context, challenge, code string, trustDevice bool) (Session, error) {
	if !wellFormed(challenge, prefixChallenge) {
		return Session{}, errBadToken()
	}
	if err := checkCodeShape(code, true); err != nil {
		return Session{}, err
	}
	now := m.now().UTC()
	var s Session
	var failed *outgoing
	wrong := false
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		u, t, err := m.spendToken(ctx, tx, PurposeMFAChallenge, challenge, now)
		if err != nil {
			return err
		}
		if u.Status != StatusActive || u.MFASecret == nil {
			return errBadToken()
		}
		how, err := m.passCode(ctx, tx, &u, code, now, &t, &failed)
		if wrong = err == errWrongCodeCounted; wrong {
			return nil // commit the count
		}
		if err != nil {
			return err
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
	if errors.Is(err, errRetry) || (err == nil && wrong) {
		m.sendLater(ctx, failed)
		return Session{}, errWrongCode()
	}
	if err != nil {
		return Session{}, wrapInternal(err)
	}
	return s, nil
}

// errRetry rolls back a code check refused unchecked because the key is
// locked, so that the challenge or enrolment token stays usable.
var errRetry = errors.New("usermgmt: sign-in paused")

func (m *Manager) trustDevice(ctx context.Context, tx Tx, u *UserRecord, now time.Time, s *Session) error {
	token, hash := newToken(prefixDevice)
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	a, _ := ActorFromContext(ctx)
	d := &DeviceRecord{ID: id, Hash: hash, TenantID: u.TenantID, UserID: u.ID, IP: a.IP, UserAgent: a.UserAgent,
		CreatedAt: now, ExpiresAt: now.Add(m.opts.DeviceTrustTTL)}
	if err := tx.CreateDevice(ctx, d); err != nil {
		return err
	}
	s.DeviceToken, s.DeviceExpiresAt = token, d.ExpiresAt
	return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventDeviceTrusted, ""))
}

// Authenticate returns who holds a session token, and their user, in one
// store call (one statement on PostgreSQL). It refuses revoked and expired
// sessions and those of users no longer active (unauthenticated or
// expired), and extends the session's idle limit (see
// Options.SessionIdleTimeout).
func (m *Manager) Authenticate(ctx context.Context, sessionToken string) (Principal, error) {
	if !wellFormed(sessionToken, prefixSession) {
		return Principal{}, errSession
	}
	now := m.now()
	s, u, err := m.store.TouchSession(ctx, hashToken(sessionToken), now, m.opts.SessionIdleTimeout)
	if err != nil {
		return Principal{}, err
	}
	m.orderGroupRoles(u.GroupRoles)
	az := authz{system: true}
	m.present(&az, m.permMask(&az), &u, now)
	return Principal{UserID: s.UserID, TenantID: s.TenantID, Roles: s.Roles, SessionID: s.ID, VerifiedAt: s.VerifiedAt, User: u,
		read: actorRead{by: m, at: now, userID: u.ID, tenantID: u.TenantID, email: u.Email, roles: u.Roles}}, nil
}

var errSession = &Error{Code: CodeUnauthenticated, Message: "not signed in"}

// Refresh rotates a session's tokens and re-reads the user's roles: the
// "token refresh" at which role changes take effect. A refresh token works
// once, but for Options.RefreshReuseWindow after it was spent it answers
// again with the same new tokens, as long as they are still the session's
// current ones (two tabs refreshing at once; a retry after a lost
// answer). Presenting a spent one otherwise revokes the whole session. It
// returns unauthenticated and expired.
func (m *Manager) Refresh(ctx context.Context, refreshToken string) (Session, error) {
	if !wellFormed(refreshToken, prefixRefresh) {
		return Session{}, errSession
	}
	hash := hashToken(refreshToken)
	now := m.now().UTC()
	var out Session
	var refused error
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		refused = nil
		for try := 0; ; try++ {
			s, spent, err := tx.SessionByRefresh(ctx, hash)
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
			again := spent != nil && m.successor(&s, hash, spent, now, &out)
			switch {
			case spent != nil && !again:
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
			case again:
				return nil
			}
			out, err = m.rotate(ctx, tx, &s, &u, now)
			if ErrorCode(err) != CodeConflict {
				return err
			}
			if try > 0 {
				return errSession
			}
			// A concurrent Refresh of the same token rotated it first
			// (PostgreSQL made this one wait for its commit): read
			// again, and answer with its successor.
		}
	})
	if err == nil && refused != nil {
		return Session{}, refused
	}
	if err != nil {
		return Session{}, wrapInternal(err)
	}
	return out, nil
}

// deleteTokens deletes u's single-use tokens of each purpose.
func deleteTokens(ctx context.Context, tx Tx, u *User, purposes ...TokenPurpose) error {
	for _, p := range purposes {
		if err := tx.DeleteTokens(ctx, u.TenantID, u.ID, p); err != nil {
			return err
		}
	}
	return nil
}

// rotate gives session s new tokens and u's current roles, keeping the
// new tokens, sealed, beside the spent refresh hash for the reuse window.
// It returns conflict when s.RefreshHash is no longer current.
func (m *Manager) rotate(ctx context.Context, tx Tx, s *SessionRecord, u *UserRecord, now time.Time) (Session, error) {
	token, th := newToken(prefixSession)
	refresh, rh := newToken(prefixRefresh)
	out := Session{Token: token, RefreshToken: refresh, ExpiresAt: s.ExpiresAt, IdleTimeout: m.opts.SessionIdleTimeout}
	idleAt, _ := s.IdleBump(now, m.opts.SessionIdleTimeout)
	err := tx.RotateSession(ctx, SessionRotation{ID: s.ID, OldRefresh: s.RefreshHash, TokenHash: th, RefreshHash: rh,
		Roles: slices.Clone(u.Roles), IdleExpiresAt: idleAt,
		SpentAt: now, Successor: sealWith(m.refreshAEAD, []byte(token+refresh), successorAD(s.ID, s.RefreshHash))})
	return out, err
}

// successor reports whether a spent refresh hash of session s may still
// be answered: it was spent less than RefreshReuseWindow ago (either way,
// for instances whose clocks differ a little), and the tokens it was
// rotated to are still the session's. It puts them in out.
func (m *Manager) successor(s *SessionRecord, hash TokenHash, spent *SpentRefresh, now time.Time, out *Session) bool {
	w := m.opts.RefreshReuseWindow
	if d := now.Sub(spent.At); spent.At.IsZero() || d >= w || d <= -w {
		return false
	}
	plain, err := openWith(m.refreshAEAD, spent.Successor, successorAD(s.ID, hash))
	if err != nil || len(plain) != 2*tokenLen {
		return false // a changed SecretKey: the reuse is refused, as it was before the window
	}
	token, refresh := string(plain[:tokenLen]), string(plain[tokenLen:])
	if hashToken(token) != s.TokenHash || hashToken(refresh) != s.RefreshHash {
		return false
	}
	*out = Session{Token: token, RefreshToken: refresh, ExpiresAt: s.ExpiresAt, IdleTimeout: m.opts.SessionIdleTimeout}
	return true
}

// successorAD binds a sealed successor to its session and the refresh
// hash it replaced.
func successorAD(id uuid.UUID, spent TokenHash) []byte {
	return append(id[:len(id):len(id)], spent[:]...)
}

// Logout ends one session. An unknown or already ended session is no error.
func (m *Manager) Logout(ctx context.Context, sessionToken string) error {
	if !wellFormed(sessionToken, prefixSession) {
		return nil
	}
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
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
// (examples/server runs it every ten minutes). On a store that is a
// RateLimiter it also deletes the buckets that have refilled. With
// Options.ActivityRetention set it also drops the activity older than
// that (Tx.DropEvents), in a transaction of its own: on PostgreSQL that
// drops tables, and the lock it takes on the events is then held for
// that alone.
func (m *Manager) PruneExpired(ctx context.Context) (Pruned, error) {
	var p Pruned
	now := m.now()
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		var err error
		p, err = tx.DeleteExpired(ctx, now)
		return err
	})
	if err == nil && m.opts.ActivityRetention > 0 {
		err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
			var err error
			p.Events, err = tx.DropEvents(ctx, now.Add(-m.opts.ActivityRetention))
			return err
		})
	}
	return p, wrapInternal(err)
}

// revokeInTx is the one revocation path: it deletes every session, refresh
// token and trusted device of u, and the MFA challenges and enrolments in
// progress (a password typed before the revocation must not finish a
// login after it), and records it. callRevokers follows it after the
// commit.
func (m *Manager) revokeInTx(ctx context.Context, tx Tx, u *User) error {
	return m.revokeExcept(ctx, tx, u, uuid.Nil)
}

// revokeExcept is revokeInTx keeping the session keep (uuid.Nil: none).
func (m *Manager) revokeExcept(ctx context.Context, tx Tx, u *User, keep uuid.UUID) error {
	n, err := tx.RevokeUserExcept(ctx, u.TenantID, u.ID, keep)
	if err != nil {
		return err
	}
	if err := deleteTokens(ctx, tx, u, PurposeMFAChallenge, PurposeMFAEnrollment); err != nil {
		return err
	}
	detail := fmt.Sprintf("%d sessions, %d trusted devices", n.Sessions, n.Devices)
	if keep != uuid.Nil {
		detail = fmt.Sprintf("%d other sessions, %d trusted devices", n.Sessions, n.Devices)
	}
	return tx.AppendEvent(ctx, m.event(ctx, u, EventSessionsRevoked, detail))
}

// callRevokers tells every SessionRevoker that all of u's sessions ended
// here (tellRevokers).
func (m *Manager) callRevokers(ctx context.Context, u *User) error {
	return m.tellRevokers(ctx, u.TenantID, u.ID, uuid.Nil)
}

// tellRevokers calls the host's revokers after sessions ended here: for
// every session of the user (session uuid.Nil), each revoker's
// RevokeUserSessions; for one session, RevokeSession of the revokers that
// implement SingleSessionRevoker, and no other (ending one session must
// not end all of the host's). A failure is logged and, once every revoker
// had its turn, internal.
func (m *Manager) tellRevokers(ctx context.Context, tenantID string, userID, session uuid.UUID) error {
	var errs []error
	for _, r := range m.opts.Revokers {
		var err error
		if session == uuid.Nil {
			err = r.RevokeUserSessions(ctx, tenantID, userID)
		} else if one, ok := r.(SingleSessionRevoker); ok {
			err = one.RevokeSession(ctx, tenantID, userID, session)
		}
		if err != nil {
			m.log.ErrorContext(ctx, "usermgmt: session revoker failed", "tenant", tenantID, "user", userID, "session", session, "err", err)
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	msg := "sessions were revoked here, but a host session revoker failed; retry"
	if session != uuid.Nil {
		msg = "the session was revoked here, but a host session revoker failed; retry"
	}
	return &Error{Code: CodeInternal, Message: msg, Err: errors.Join(errs...)}
}
