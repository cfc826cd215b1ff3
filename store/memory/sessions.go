package memory

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// session is a stored session and the refresh hashes it rotated away from.
// rec.Roles is never modified in place, only replaced: TouchSession hands
// it out without copying.
type session struct {
	rec   usermgmt.SessionRecord
	spent []*spentRefresh
}

// spentRefresh is a refresh hash its session rotated away from.
type spentRefresh struct {
	hash usermgmt.TokenHash
	ss   *session
	info usermgmt.SpentRefresh // Successor is never modified in place
}

func cloneSession(r usermgmt.SessionRecord) usermgmt.SessionRecord {
	r.Roles = slices.Clone(r.Roles)
	return r
}

// TouchSession takes the write lock for the few map reads and the two
// fields it may move.
func (s *Store) TouchSession(_ context.Context, hash usermgmt.TokenHash, now time.Time, idle time.Duration) (usermgmt.SessionRecord, usermgmt.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byToken[hash]
	if ss == nil {
		return usermgmt.SessionRecord{}, usermgmt.User{}, usermgmt.Errorf(usermgmt.CodeUnauthenticated, "unknown session")
	}
	u := s.lookup(ss.rec.TenantID, ss.rec.UserID)
	if u == nil || u.Status != usermgmt.StatusActive {
		return usermgmt.SessionRecord{}, usermgmt.User{}, usermgmt.Errorf(usermgmt.CodeUnauthenticated, "the user is not active")
	}
	if !now.Before(ss.rec.ExpiresAt) || !now.Before(ss.rec.IdleExpiresAt) {
		return usermgmt.SessionRecord{}, usermgmt.User{}, usermgmt.Errorf(usermgmt.CodeExpired, "session expired")
	}
	if next, bump := ss.rec.IdleBump(now, idle); bump {
		ss.rec.IdleExpiresAt = next
		ss.rec.LastSeenAt = now
	}
	user := cloneUser(u.User)
	user.LockedUntil = s.lockedUntil(u.TenantID, u.Email)
	user.GroupRoles = s.groupRoles(u.TenantID, u.ID)
	return ss.rec, user, nil
}

func (t *tx) CreateSession(_ context.Context, in *usermgmt.SessionRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(in.TenantID, in.IP, in.UserAgent); err != nil {
		return err
	}
	if err := checkRoles(in.Roles); err != nil {
		return err
	}
	s := t.s
	if _, ok := s.sessions[in.ID]; ok {
		return conflict("session %s exists", in.ID)
	}
	if s.byToken[in.TokenHash] != nil || s.byRefr[in.RefreshHash] != nil || s.spent[in.RefreshHash] != nil {
		return conflict("session token exists")
	}
	ss := &session{rec: cloneSession(*in)}
	s.addSession(ss)
	t.onUndo(func() { s.removeSession(ss) })
	return nil
}

func (s *Store) addSession(ss *session) {
	s.sessions[ss.rec.ID] = ss
	s.byToken[ss.rec.TokenHash] = ss
	s.byRefr[ss.rec.RefreshHash] = ss
	for _, sp := range ss.spent {
		s.spent[sp.hash] = sp
	}
	o := s.owner(ss.rec.UserID)
	o.sessions = append(o.sessions, ss)
}

func (s *Store) removeSession(ss *session) {
	delete(s.sessions, ss.rec.ID)
	delete(s.byToken, ss.rec.TokenHash)
	delete(s.byRefr, ss.rec.RefreshHash)
	for _, sp := range ss.spent {
		delete(s.spent, sp.hash)
	}
	o := s.owners[ss.rec.UserID]
	o.sessions = without(o.sessions, ss)
	s.dropOwner(ss.rec.UserID)
}

func (t *tx) SessionByRefresh(_ context.Context, hash usermgmt.TokenHash) (usermgmt.SessionRecord, *usermgmt.SpentRefresh, error) {
	if err := t.read(); err != nil {
		return usermgmt.SessionRecord{}, nil, err
	}
	if ss := t.s.byRefr[hash]; ss != nil {
		return cloneSession(ss.rec), nil, nil
	}
	if sp := t.s.spent[hash]; sp != nil {
		info := sp.info
		info.Successor = slices.Clone(info.Successor)
		return cloneSession(sp.ss.rec), &info, nil
	}
	return usermgmt.SessionRecord{}, nil, notFound("session")
}

func (t *tx) ListSessions(_ context.Context, tenantID string, userID uuid.UUID) ([]usermgmt.SessionRecord, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	var out []usermgmt.SessionRecord
	if o := t.s.owners[userID]; o != nil {
		for _, ss := range o.sessions {
			if ss.rec.TenantID == tenantID {
				out = append(out, cloneSession(ss.rec))
			}
		}
	}
	slices.SortFunc(out, func(a, b usermgmt.SessionRecord) int { return newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out, nil
}

// newestFirst orders by time, then id, both descending.
func newestFirst(a, b time.Time, ai, bi uuid.UUID) int {
	if c := b.Compare(a); c != 0 {
		return c
	}
	return bytes.Compare(bi[:], ai[:])
}

func (t *tx) GetSession(_ context.Context, tenantID string, id uuid.UUID) (usermgmt.SessionRecord, error) {
	if err := t.read(); err != nil {
		return usermgmt.SessionRecord{}, err
	}
	ss := t.s.sessions[id]
	if ss == nil || ss.rec.TenantID != tenantID {
		return usermgmt.SessionRecord{}, notFound("session")
	}
	return cloneSession(ss.rec), nil
}

func (t *tx) MarkSessionVerified(_ context.Context, tenantID string, id uuid.UUID, at time.Time) error {
	if err := t.write(); err != nil {
		return err
	}
	ss := t.s.sessions[id]
	if ss == nil || ss.rec.TenantID != tenantID {
		return notFound("session")
	}
	old := ss.rec.VerifiedAt
	ss.rec.VerifiedAt = at
	t.onUndo(func() { ss.rec.VerifiedAt = old })
	return nil
}

func (t *tx) RotateSession(_ context.Context, r usermgmt.SessionRotation) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkRoles(r.Roles); err != nil {
		return err
	}
	s := t.s
	ss := s.sessions[r.ID]
	if ss == nil || ss.rec.RefreshHash != r.OldRefresh {
		return conflict("the refresh token was already used")
	}
	if o := s.byToken[r.TokenHash]; o != nil && o != ss {
		return conflict("session token exists")
	}
	if o := s.byRefr[r.RefreshHash]; (o != nil && o != ss) || s.spent[r.RefreshHash] != nil {
		return conflict("refresh token exists")
	}
	old := ss.rec
	delete(s.byToken, old.TokenHash)
	delete(s.byRefr, old.RefreshHash)
	sp := &spentRefresh{hash: old.RefreshHash, ss: ss,
		info: usermgmt.SpentRefresh{At: r.SpentAt, Successor: slices.Clone(r.Successor)}}
	s.spent[old.RefreshHash] = sp
	ss.spent = append(ss.spent, sp)
	ss.rec.TokenHash = r.TokenHash
	ss.rec.RefreshHash = r.RefreshHash
	ss.rec.Roles = slices.Clone(r.Roles)
	ss.rec.IdleExpiresAt = r.IdleExpiresAt
	s.byToken[r.TokenHash] = ss
	s.byRefr[r.RefreshHash] = ss
	t.onUndo(func() {
		delete(s.byToken, ss.rec.TokenHash)
		delete(s.byRefr, ss.rec.RefreshHash)
		delete(s.spent, old.RefreshHash)
		ss.spent = ss.spent[:len(ss.spent)-1]
		ss.rec = old
		s.byToken[old.TokenHash] = ss
		s.byRefr[old.RefreshHash] = ss
	})
	return nil
}

func (t *tx) RevokeSession(_ context.Context, hash usermgmt.TokenHash) (usermgmt.SessionRecord, error) {
	if err := t.write(); err != nil {
		return usermgmt.SessionRecord{}, err
	}
	ss := t.s.byToken[hash]
	if ss == nil {
		return usermgmt.SessionRecord{}, notFound("session")
	}
	t.revoke(ss)
	return cloneSession(ss.rec), nil
}

func (t *tx) RevokeSessionByID(_ context.Context, id uuid.UUID) error {
	if err := t.write(); err != nil {
		return err
	}
	if ss := t.s.sessions[id]; ss != nil {
		t.revoke(ss)
	}
	return nil
}

func (t *tx) revoke(ss *session) {
	t.s.removeSession(ss)
	t.onUndo(func() { t.s.addSession(ss) })
}

func (t *tx) RevokeUserExcept(_ context.Context, tenantID string, userID, keep uuid.UUID) (usermgmt.Revoked, error) {
	if err := t.write(); err != nil {
		return usermgmt.Revoked{}, err
	}
	if err := checkText(tenantID); err != nil {
		return usermgmt.Revoked{}, err
	}
	s := t.s
	o := s.owners[userID]
	if o == nil {
		return usermgmt.Revoked{}, nil
	}
	var sessions []*session
	for _, ss := range o.sessions {
		if ss.rec.TenantID == tenantID && ss.rec.ID != keep {
			sessions = append(sessions, ss)
		}
	}
	var devices []*usermgmt.DeviceRecord
	for _, h := range o.devices {
		if d := s.devices[h]; d.TenantID == tenantID {
			devices = append(devices, d)
		}
	}
	for _, ss := range sessions {
		t.revoke(ss)
	}
	for _, d := range devices {
		t.removeDevice(d)
	}
	return usermgmt.Revoked{Sessions: len(sessions), Devices: len(devices)}, nil
}
