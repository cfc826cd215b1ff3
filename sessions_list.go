package usermgmt

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// A user's sessions and trusted devices, one at a time: listed for the
// admin's panel and the person's account page, and revoked one by one.
// Revoking all of them is ForceLogout.

// SingleSessionRevoker is an optional interface of a SessionRevoker: a
// revoker that also implements it is told when one session ends
// (RevokeSession), with the id of the Manager's session
// (Principal.SessionID), so that a host keeping something of its own per
// session can drop just that. A revoker that does not implement it is not
// called then: ending one session must not end all of the user's sessions
// the host keeps.
type SingleSessionRevoker interface {
	RevokeSession(ctx context.Context, tenantID string, userID, sessionID uuid.UUID) error
}

// ActiveSession is one live session of a user, as ListSessions shows it.
// Browser and Device are read from UserAgent ("Chrome 131", "macOS"); each
// is "" when not recognised. Current marks the session the actor acts
// through (Actor.SessionID).
type ActiveSession struct {
	ID         uuid.UUID
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
	Browser    string
	Device     string
	Current    bool
}

// TrustedDevice is a browser of the user that skips TOTP at login until
// ExpiresAt; IP and UserAgent are where it was trusted from.
type TrustedDevice struct {
	ID        uuid.UUID
	CreatedAt time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
	Browser   string
	Device    string
}

// UserSessions is what ListSessions returns: live sessions and trusted
// devices, newest first.
type UserSessions struct {
	Sessions []ActiveSession
	Devices  []TrustedDevice
}

// ListSessions returns the user's live sessions and trusted devices. An
// actor may list their own; another user's need PermForceLogout, and a
// tenant_admin's need the actor to be one. It returns not_found and
// permission_denied.
func (m *Manager) ListSessions(ctx context.Context, tenantID string, userID uuid.UUID) (UserSessions, error) {
	if err := checkTenant(tenantID); err != nil {
		return UserSessions{}, err
	}
	now := m.now()
	var out UserSessions
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		az, _, err := m.authorizeSessions(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		ss, err := tx.ListSessions(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		ds, err := tx.ListDevices(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		out = UserSessions{Sessions: []ActiveSession{}, Devices: []TrustedDevice{}}
		for _, s := range ss {
			if !now.Before(s.ExpiresAt) || !now.Before(s.IdleExpiresAt) {
				continue
			}
			a := ActiveSession{ID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: m.lastSeen(&s), ExpiresAt: s.ExpiresAt,
				IP: s.IP, UserAgent: s.UserAgent, Current: !az.system && s.ID == az.actor.SessionID}
			a.Browser, a.Device = describeUserAgent(s.UserAgent)
			out.Sessions = append(out.Sessions, a)
		}
		for _, d := range ds {
			if !now.Before(d.ExpiresAt) {
				continue
			}
			t := TrustedDevice{ID: d.ID, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt, IP: d.IP, UserAgent: d.UserAgent}
			t.Browser, t.Device = describeUserAgent(d.UserAgent)
			out.Devices = append(out.Devices, t)
		}
		return nil
	})
	return out, wrapInternal(err)
}

// lastSeen is s.LastSeenAt, or for a session stored before stores kept it
// the latest it can be known from: its idle expiry less the idle timeout.
func (m *Manager) lastSeen(s *SessionRecord) time.Time {
	if !s.LastSeenAt.IsZero() {
		return s.LastSeenAt
	}
	if t := s.IdleExpiresAt.Add(-m.opts.SessionIdleTimeout); t.After(s.CreatedAt) {
		return t
	}
	return s.CreatedAt
}

// RevokeSession ends one session of the user: its token and refresh
// token stop working at once. It then calls every SessionRevoker that
// implements SingleSessionRevoker. Authorized as ListSessions; it returns
// not_found for a session that is not the user's (or has ended),
// permission_denied, and internal when a revoker failed (the session has
// ended here).
func (m *Manager) RevokeSession(ctx context.Context, tenantID string, userID, sessionID uuid.UUID) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		_, u, err := m.authorizeSessions(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		s, err := tx.GetSession(ctx, tenantID, sessionID)
		if err == nil && s.UserID != userID {
			err = Errorf(CodeNotFound, "session not found")
		}
		if err != nil {
			return err
		}
		if err := tx.RevokeSessionByID(ctx, s.ID); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventSessionRevoked, describeDevice(s.UserAgent)))
	})
	if err != nil {
		return wrapInternal(err)
	}
	return m.tellRevokers(ctx, tenantID, userID, sessionID)
}

// RevokeDevice ends the trust of one device of the user: its next login
// asks for TOTP again. Sessions are untouched. Authorized as
// ListSessions; it returns not_found for a device that is not the user's
// and permission_denied.
func (m *Manager) RevokeDevice(ctx context.Context, tenantID string, userID, deviceID uuid.UUID) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		_, u, err := m.authorizeSessions(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		d, err := tx.DeleteDevice(ctx, tenantID, userID, deviceID)
		if err != nil {
			return err
		}
		return tx.AppendEvent(ctx, m.event(ctx, &u.User, EventDeviceRevoked, describeDevice(d.UserAgent)))
	})
	return wrapInternal(err)
}

// authorizeSessions lets the actor act on their own sessions and devices
// (a person's account page), and on another user's with PermForceLogout,
// never on a tenant_admin's without being one. Trusted code may act on
// any. It returns the user.
func (m *Manager) authorizeSessions(ctx context.Context, tx Tx, tenantID string, userID uuid.UUID) (authz, UserRecord, error) {
	p := PermForceLogout
	if a, ok := ActorFromContext(ctx); ok && a.UserID == userID {
		p = "" // one's own: any active user of the tenant
	}
	az, err := m.authorize(ctx, tx, tenantID, p)
	if err != nil {
		return authz{}, UserRecord{}, err
	}
	u, err := tx.GetUser(ctx, tenantID, userID)
	if err != nil {
		return authz{}, UserRecord{}, err
	}
	return az, u, az.actOn(&u)
}
