package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

func (t *tx) CreateUser(ctx context.Context, u *usermgmt.UserRecord) error {
	if u.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return mapErr(err)
		}
		u.ID = id
	}
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.q().createUser,
		uuidArg(u.ID), u.TenantID, u.Email, string(u.Status), rolesArg(u.Roles), u.MFAEnabled,
		timePtrArg(u.LastLoginAt), timePtrArg(u.ActivatedAt), u.CreatedAt, u.UpdatedAt,
		u.PasswordHash, bytesArg(u.MFASecret), u.MFALastStep, joinHashes(u.RecoveryCodes),
		u.FailedAttempts, timeArg(u.LockedUntil), timeArg(u.LastMailAt),
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "a user with email %q already exists", u.Email)
	}
	return mapErr(err)
}

func (t *tx) GetUser(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.UserRecord, error) {
	return t.oneUser(ctx, t.q().getUser, tenantID, uuidArg(id))
}

func (t *tx) LockUser(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.UserRecord, error) {
	return t.oneUser(ctx, t.q().lockUser, tenantID, uuidArg(id))
}

func (t *tx) GetUserByEmail(ctx context.Context, tenantID, email string) (usermgmt.UserRecord, error) {
	return t.oneUser(ctx, t.q().getUserByEmail, tenantID, email)
}

func (t *tx) oneUser(ctx context.Context, query string, args ...any) (usermgmt.UserRecord, error) {
	u, err := scanUserRecord(t.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.UserRecord{}, errorf(usermgmt.CodeNotFound, "user not found")
	}
	return u, mapErr(err)
}

// UpdateUser writes every mutable field; the tenant_counts trigger follows
// a status change in the same statement.
func (t *tx) UpdateUser(ctx context.Context, u *usermgmt.UserRecord) error {
	res, err := t.db.ExecContext(ctx, t.q().updateUser,
		string(u.Status), rolesArg(u.Roles), u.MFAEnabled, timePtrArg(u.LastLoginAt),
		timePtrArg(u.ActivatedAt), u.UpdatedAt, u.PasswordHash, bytesArg(u.MFASecret), u.MFALastStep,
		joinHashes(u.RecoveryCodes), u.FailedAttempts, timeArg(u.LockedUntil), timeArg(u.LastMailAt),
		u.TenantID, uuidArg(u.ID))
	if err != nil {
		return mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapErr(err)
	} else if n == 0 {
		return errorf(usermgmt.CodeNotFound, "user not found")
	}
	return nil
}

func (t *tx) AdvanceMFAStep(ctx context.Context, tenantID string, id uuid.UUID, step int64) (bool, error) {
	res, err := t.db.ExecContext(ctx, t.q().advanceMFA, step, tenantID, uuidArg(id), step)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, mapErr(err)
	}
	if n == 1 {
		return true, nil
	}
	// Nothing changed: an older or equal step, or no such user.
	var ok bool
	err = t.db.QueryRowContext(ctx, t.q().userExists, tenantID, uuidArg(id)).Scan(&ok)
	if errors.Is(err, sql.ErrNoRows) {
		return false, errorf(usermgmt.CodeNotFound, "user not found")
	}
	return false, mapErr(err)
}

// ListUsers reads one keyset page. The unfiltered list walks the
// (tenant_id, email) unique index, a status filter walks (tenant_id, status,
// email), and a search uses the tenant-scoped trigram index when the
// planner finds the term rare enough.
func (t *tx) ListUsers(ctx context.Context, p usermgmt.UserListParams) ([]usermgmt.User, error) {
	var b strings.Builder
	b.WriteString(t.q().listUsers)
	args := []any{p.TenantID}
	if p.Status != "" {
		b.WriteString(" AND status = ?")
		args = append(args, string(p.Status))
	}
	if p.After != "" {
		b.WriteString(" AND email > ?")
		args = append(args, p.After)
	}
	if p.Search != "" {
		b.WriteString(` AND email LIKE ?`)
		args = append(args, "%"+escapeLike(p.Search)+"%")
	}
	if p.Limit <= 0 {
		return []usermgmt.User{}, nil
	}
	limit := p.Limit
	b.WriteString(" ORDER BY email LIMIT ?")
	args = append(args, limit)

	var (
		rows *sql.Rows
		err  error
	)
	if p.Search != "" {
		rows, err = t.bun.QueryContext(ctx, b.String(), args...) // the pattern inlined: see queries
	} else {
		rows, err = t.db.QueryContext(ctx, numbered(b.String()), args...)
	}
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	users := make([]usermgmt.User, 0, limit)
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		users = append(users, u)
	}
	return users, mapErr(rows.Err())
}

// escapeLike makes s match itself in LIKE, whose escape character is \ by
// default.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (t *tx) CountUsers(ctx context.Context, tenantID string) (usermgmt.StatusCounts, error) {
	var invited, active, deactivated int
	err := t.db.QueryRowContext(ctx, t.q().countUsers, tenantID).Scan(&invited, &active, &deactivated)
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.StatusCounts{}, nil
	}
	if err != nil {
		return usermgmt.StatusCounts{}, mapErr(err)
	}
	return usermgmt.StatusCounts{
		Active: active, Invited: invited, Deactivated: deactivated,
		All: active + invited + deactivated,
	}, nil
}

// CountActiveWithRole takes a transaction-scoped advisory lock on the
// tenant first, so two transactions that each count before removing a
// tenant_admin run one after the other and the second sees the first's
// change.
func (t *tx) CountActiveWithRole(ctx context.Context, tenantID string, role usermgmt.Role) (int, error) {
	if _, err := t.db.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", t.s.lockKey("role-count", tenantID)); err != nil {
		return 0, mapErr(err)
	}
	var n int
	err := t.bun.QueryRowContext(ctx, t.q().countActiveWithRole, tenantID, string(role)).Scan(&n)
	return n, mapErr(err)
}
