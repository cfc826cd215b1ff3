package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

func (t *tx) CreateSession(ctx context.Context, s *usermgmt.SessionRecord) error {
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.q().createSession,
		uuidArg(s.ID), s.TenantID, uuidArg(s.UserID), hashArg(s.TokenHash), hashArg(s.RefreshHash),
		rolesArg(s.Roles), s.IP, s.UserAgent, s.CreatedAt, s.IdleExpiresAt, s.ExpiresAt, timeArg(s.VerifiedAt),
		timeArg(s.LastSeenAt),
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "session already exists")
	}
	return mapErr(err)
}

func (t *tx) SessionByRefresh(ctx context.Context, hash usermgmt.TokenHash) (usermgmt.SessionRecord, *usermgmt.SpentRefresh, error) {
	var (
		spent     bool
		spentAt   sql.NullTime
		successor []byte
	)
	s, err := scanSession(t.db.QueryRowContext(ctx, t.q().sessionByRefresh, hashArg(hash)), &spent, &spentAt, &successor)
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.SessionRecord{}, nil, errorf(usermgmt.CodeNotFound, "refresh token not found")
	}
	if err != nil {
		return usermgmt.SessionRecord{}, nil, mapErr(err)
	}
	if !spent {
		return s, nil, nil
	}
	return s, &usermgmt.SpentRefresh{At: timeOrZero(spentAt), Successor: successor}, nil
}

func (t *tx) GetSession(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.SessionRecord, error) {
	s, err := scanSession(t.db.QueryRowContext(ctx, t.q().getSession, tenantID, uuidArg(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.SessionRecord{}, errorf(usermgmt.CodeNotFound, "session not found")
	}
	return s, mapErr(err)
}

func (t *tx) ListSessions(ctx context.Context, tenantID string, userID uuid.UUID) ([]usermgmt.SessionRecord, error) {
	rows, err := t.db.QueryContext(ctx, t.q().listSessions, tenantID, uuidArg(userID))
	return collect(rows, err, func(r rowScanner) (usermgmt.SessionRecord, error) { return scanSession(r) }, 4)
}

func (t *tx) MarkSessionVerified(ctx context.Context, tenantID string, id uuid.UUID, at time.Time) error {
	var got uuid.UUID
	err := t.db.QueryRowContext(ctx, t.q().markSessionVerified, timeArg(at), tenantID, uuidArg(id)).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeNotFound, "session not found")
	}
	return mapErr(err)
}

func (t *tx) RotateSession(ctx context.Context, r usermgmt.SessionRotation) error {
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.q().rotateSession,
		hashArg(r.TokenHash), hashArg(r.RefreshHash), rolesArg(r.Roles), r.IdleExpiresAt,
		uuidArg(r.ID), hashArg(r.OldRefresh), timeArg(r.SpentAt), bytesArg(r.Successor), hashArg(r.OldRefresh),
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "refresh token was already rotated")
	}
	return mapErr(err)
}

func (t *tx) RevokeSession(ctx context.Context, hash usermgmt.TokenHash) (usermgmt.SessionRecord, error) {
	s, err := scanSession(t.db.QueryRowContext(ctx, t.q().revokeSession, hashArg(hash)))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.SessionRecord{}, errorf(usermgmt.CodeNotFound, "session not found")
	}
	return s, mapErr(err)
}

func (t *tx) RevokeSessionByID(ctx context.Context, id uuid.UUID) error {
	_, err := t.db.ExecContext(ctx, t.q().revokeSessionByID, uuidArg(id))
	return mapErr(err)
}

// RevokeUserExcept deletes sessions and devices in one statement; refresh
// tokens go with their sessions (ON DELETE CASCADE).
func (t *tx) RevokeUserExcept(ctx context.Context, tenantID string, userID, keep uuid.UUID) (usermgmt.Revoked, error) {
	var r usermgmt.Revoked
	err := t.db.QueryRowContext(ctx, t.q().revokeUser, tenantID, uuidArg(userID), uuidArg(keep), tenantID, uuidArg(userID)).
		Scan(&r.Sessions, &r.Devices)
	return r, mapErr(err)
}

// TouchSession is one read on the hot path; a second statement moves the
// idle expiry once it lags a step behind (about once a minute per active
// session), and only a refusal costs a second query, to tell expired from
// unauthenticated.
func (s *Store) TouchSession(ctx context.Context, hash usermgmt.TokenHash, now time.Time, idle time.Duration) (usermgmt.SessionRecord, usermgmt.User, error) {
	var (
		u      usermgmt.User
		groups []byte
	)
	row := s.db.DB.QueryRowContext(ctx, s.q.touchSession, hashArg(hash), now, now)
	sess, err := scanSession(scanFunc(func(sd ...any) error {
		var err error
		u, err = scanUser(scanFunc(func(ud ...any) error { return row.Scan(append(append(sd, ud...), &groups)...) }))
		return err
	}))
	if err == nil {
		if err := groupRolesFromJSON(groups, &u); err != nil {
			return usermgmt.SessionRecord{}, usermgmt.User{}, err
		}
		return sess, u, s.bump(ctx, &sess, now, idle)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return usermgmt.SessionRecord{}, usermgmt.User{}, mapErrIn(ctx, err)
	}
	var (
		status         sql.NullString
		expires, idleT time.Time
	)
	err = s.db.DB.QueryRowContext(ctx, s.q.sessionState, hashArg(hash)).Scan(&status, &expires, &idleT)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return usermgmt.SessionRecord{}, usermgmt.User{}, errorf(usermgmt.CodeUnauthenticated, "session not found")
	case err != nil:
		return usermgmt.SessionRecord{}, usermgmt.User{}, mapErrIn(ctx, err)
	case status.String != string(usermgmt.StatusActive):
		return usermgmt.SessionRecord{}, usermgmt.User{}, errorf(usermgmt.CodeUnauthenticated, "user is not active")
	case !now.Before(expires) || !now.Before(idleT):
		return usermgmt.SessionRecord{}, usermgmt.User{}, errorf(usermgmt.CodeExpired, "session expired")
	default:
		// Changed between the two statements (refreshed, say): refuse
		// rather than guess; the client retries.
		return usermgmt.SessionRecord{}, usermgmt.User{}, errorf(usermgmt.CodeUnauthenticated, "session changed")
	}
}

// bump moves sess's idle expiry to the earlier of now+idle and its
// ExpiresAt, and LastSeenAt to now, when the expiry lags more than
// usermgmt.IdleStep(idle) behind. A session revoked, or moved by another
// request, since the read is left as it is.
func (s *Store) bump(ctx context.Context, sess *usermgmt.SessionRecord, now time.Time, idle time.Duration) error {
	next, bump := sess.IdleBump(now, idle)
	if !bump {
		return nil
	}
	var moved, seen time.Time
	err := s.db.DB.QueryRowContext(ctx, s.q.bumpSession, next, now, uuidArg(sess.ID), next).Scan(&moved, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return mapErrIn(ctx, err)
	}
	sess.IdleExpiresAt, sess.LastSeenAt = moved.UTC(), seen.UTC()
	return nil
}

// groupRolesFromJSON sets u's GroupRoles from the JSON array the
// touchSession statement reads (nil: none).
func groupRolesFromJSON(groups []byte, u *usermgmt.User) error {
	if groups == nil {
		return nil
	}
	var held []struct {
		Role string    `json:"role"`
		ID   uuid.UUID `json:"id"`
		Name string    `json:"name"`
	}
	if err := json.Unmarshal(groups, &held); err != nil {
		return mapErr(err)
	}
	u.GroupRoles = make([]usermgmt.GroupRole, len(held))
	for i, h := range held {
		u.GroupRoles[i] = usermgmt.GroupRole{Role: usermgmt.Role(h.Role), GroupID: h.ID, Group: h.Name}
	}
	return nil
}

// scanFunc is a rowScanner made of a function: it lets one row be scanned
// by two scan functions, each handing its destinations to the next.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }
