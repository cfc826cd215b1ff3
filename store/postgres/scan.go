package postgres

import (
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
)

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// collect scans every row of a query's result with scan (size is a
// capacity hint) and closes rows; err is the query's own error.
func collect[T any](rows *sql.Rows, err error, scan func(rowScanner) (T, error), size int) ([]T, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := make([]T, 0, size)
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

func scanUser(r rowScanner, extra ...any) (usermgmt.User, error) {
	var (
		u         usermgmt.User
		status    string
		roles     []string
		lastLogin sql.NullTime
		activated sql.NullTime
		inviteExp sql.NullTime
		locked    sql.NullTime
		direct    []string
		deprov    sql.NullTime
	)
	dest := append([]any{&u.ID, &u.TenantID, &u.Email, &status, pgdialect.Array(&roles), &u.MFAEnabled,
		&lastLogin, &activated, &u.CreatedAt, &u.UpdatedAt, &inviteExp, pgdialect.Array(&direct), &u.DisplayName,
		&u.GivenName, &u.FamilyName, &u.ExternalID, &u.Version, &deprov, &locked}, extra...)
	if err := r.Scan(dest...); err != nil {
		return usermgmt.User{}, err
	}
	u.Status = usermgmt.Status(status)
	u.Roles = toRoles(roles)
	u.DirectRoles = toRoles(direct)
	u.DeprovisionedAt = timePtr(deprov)
	u.LastLoginAt = timePtr(lastLogin)
	u.ActivatedAt = timePtr(activated)
	u.InviteExpiresAt = timePtr(inviteExp)
	u.LockedUntil = timePtr(locked)
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
	return u, nil
}

// scanUserRecord scans a user row followed by its secret columns.
func scanUserRecord(r rowScanner) (usermgmt.UserRecord, error) {
	var (
		u        usermgmt.UserRecord
		recovery []byte
		lastMail sql.NullTime
		err      error
	)
	u.User, err = scanUser(r, &u.PasswordHash, &u.MFASecret, &u.MFALastStep, &recovery, &lastMail)
	if err != nil {
		return usermgmt.UserRecord{}, err
	}
	u.RecoveryCodes = splitHashes(recovery)
	u.LastMailAt = timeOrZero(lastMail)
	return u, nil
}

func scanSession(r rowScanner, extra ...any) (usermgmt.SessionRecord, error) {
	var (
		s        usermgmt.SessionRecord
		token    []byte
		refresh  []byte
		roles    []string
		verified sql.NullTime
		seen     sql.NullTime
	)
	dest := append([]any{&s.ID, &s.TenantID, &s.UserID, &token, &refresh, pgdialect.Array(&roles),
		&s.IP, &s.UserAgent, &s.CreatedAt, &s.IdleExpiresAt, &s.ExpiresAt, &verified, &seen}, extra...)
	if err := r.Scan(dest...); err != nil {
		return usermgmt.SessionRecord{}, err
	}
	s.TokenHash = toHash(token)
	s.RefreshHash = toHash(refresh)
	s.Roles = toRoles(roles)
	s.CreatedAt = s.CreatedAt.UTC()
	s.IdleExpiresAt = s.IdleExpiresAt.UTC()
	s.ExpiresAt = s.ExpiresAt.UTC()
	s.VerifiedAt = timeOrZero(verified)
	s.LastSeenAt = timeOrZero(seen)
	return s, nil
}

// scanDevice reads a row of deviceCols.
func scanDevice(r rowScanner) (usermgmt.DeviceRecord, error) {
	var (
		d usermgmt.DeviceRecord
		h []byte
	)
	if err := r.Scan(&d.ID, &h, &d.TenantID, &d.UserID, &d.IP, &d.UserAgent, &d.CreatedAt, &d.ExpiresAt); err != nil {
		return usermgmt.DeviceRecord{}, err
	}
	d.Hash = toHash(h)
	d.CreatedAt = d.CreatedAt.UTC()
	d.ExpiresAt = d.ExpiresAt.UTC()
	return d, nil
}

func scanToken(r rowScanner) (usermgmt.TokenRecord, error) {
	var (
		t       usermgmt.TokenRecord
		hash    []byte
		purpose string
	)
	if err := r.Scan(&hash, &purpose, &t.TenantID, &t.UserID, &t.Data, &t.CreatedAt, &t.ExpiresAt); err != nil {
		return usermgmt.TokenRecord{}, err
	}
	t.Hash = toHash(hash)
	t.Purpose = usermgmt.TokenPurpose(purpose)
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt = t.ExpiresAt.UTC()
	return t, nil
}

func scanEvent(r rowScanner) (usermgmt.Event, error) {
	var (
		e   usermgmt.Event
		typ string
	)
	if err := r.Scan(&e.ID, &e.TenantID, &e.UserID, &typ, &e.ActorID, &e.IP, &e.UserAgent, &e.Detail, &e.CreatedAt, &e.ActorName, &e.ActorEmail); err != nil {
		return usermgmt.Event{}, err
	}
	e.Type = usermgmt.EventType(typ)
	e.CreatedAt = e.CreatedAt.UTC()
	return e, nil
}

// Arguments. They are plain values every database/sql driver takes, so the
// Store works over pgx, lib/pq or bun's pgdriver alike.

// rolesArg renders roles as a text[] literal, sent as text and cast by the
// statement (?::text::text[]).
func rolesArg(roles []usermgmt.Role) string { return arrayArg(roles) }

// arrayArg renders xs as an array literal of quoted elements, sent as text
// and cast by the statement (?::text::text[], ?::text::uuid[], …): one
// parameter however long the list.
func arrayArg[S ~string](xs []S) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, r := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		// Byte by byte: text that is not UTF-8 must reach PostgreSQL as
		// it is, to be refused, not be turned into U+FFFD.
		for j := range len(r) {
			if r[j] == '"' || r[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(r[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func toRoles(ss []string) []usermgmt.Role {
	if len(ss) == 0 {
		return nil
	}
	roles := make([]usermgmt.Role, len(ss))
	for i, s := range ss {
		roles[i] = usermgmt.Role(s)
	}
	return roles
}

func hashArg(h usermgmt.TokenHash) []byte { return h[:] }

func toHash(b []byte) usermgmt.TokenHash {
	var h usermgmt.TokenHash
	copy(h[:], b)
	return h
}

func joinHashes(hs []usermgmt.TokenHash) []byte {
	b := make([]byte, 0, len(hs)*len(usermgmt.TokenHash{}))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

func splitHashes(b []byte) []usermgmt.TokenHash {
	if len(b) == 0 {
		return nil
	}
	hs := make([]usermgmt.TokenHash, len(b)/32)
	for i := range hs {
		copy(hs[i][:], b[i*32:])
	}
	return hs
}

// bytesArg keeps nil as NULL and anything else as bytea.
func bytesArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func timePtrArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func timeOrZero(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func uuidArg(id uuid.UUID) any { return id.String() }
