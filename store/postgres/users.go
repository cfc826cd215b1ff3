package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

func (t *tx) CreateUser(ctx context.Context, u *usermgmt.UserRecord) error {
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.q().createUser,
		uuidArg(u.ID), u.TenantID, u.Email, string(u.Status), rolesArg(u.Roles), u.MFAEnabled,
		timePtrArg(u.LastLoginAt), timePtrArg(u.ActivatedAt), u.CreatedAt, u.UpdatedAt, timePtrArg(u.InviteExpiresAt),
		rolesArg(u.DirectRoles), u.DisplayName, u.GivenName, u.FamilyName, u.ExternalID, timePtrArg(u.DeprovisionedAt),
		u.EmployeeNumber, u.Department, u.ManagerID,
		u.PasswordHash, bytesArg(u.MFASecret), u.MFALastStep, joinHashes(u.RecoveryCodes), timeArg(u.LastMailAt),
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "a user with email %q already exists", u.Email)
	}
	if err == nil {
		u.Version = 1
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

// UpdateUser writes every mutable field and moves the version on (into
// u.Version); the tenant_counts trigger follows a status change in the
// same statement.
func (t *tx) UpdateUser(ctx context.Context, u *usermgmt.UserRecord) error {
	var version int64
	err := t.db.QueryRowContext(ctx, t.q().updateUser,
		string(u.Status), rolesArg(u.Roles), u.MFAEnabled, timePtrArg(u.LastLoginAt),
		timePtrArg(u.ActivatedAt), u.UpdatedAt, u.PasswordHash, bytesArg(u.MFASecret), u.MFALastStep,
		joinHashes(u.RecoveryCodes), timeArg(u.LastMailAt), timePtrArg(u.InviteExpiresAt),
		rolesArg(u.DirectRoles), u.DisplayName, u.GivenName, u.FamilyName, u.ExternalID, timePtrArg(u.DeprovisionedAt),
		u.EmployeeNumber, u.Department, u.ManagerID,
		u.TenantID, uuidArg(u.ID)).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeNotFound, "user not found")
	}
	if err != nil {
		return mapErr(err)
	}
	u.Version = version
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

// ListUsers reads one keyset page, each user with their lock and group
// roles in the same statement. The unfiltered list walks the
// (tenant_id, email) unique index and a status filter walks (tenant_id,
// status, email): a page costs the same at any depth. A search is two
// steps, see searchUsers. Each user's lock is read with the page
// (withLocks: one primary-key lookup a row of the page, in the same
// statement).
//
// A role filter walks user_roles (0007), keyed (tenant_id, role, email):
// a page costs the same whatever the role's size or where its holders
// fall in email order. With a search, the role is one more condition of
// searchUsers' two steps (roleMatch).
func (t *tx) ListUsers(ctx context.Context, p usermgmt.UserListParams) ([]usermgmt.User, error) {
	if p.Limit <= 0 {
		return []usermgmt.User{}, nil
	}
	if err := checkText(string(p.Role)); err != nil {
		return nil, err
	}
	if p.Search != "" {
		return t.searchUsers(ctx, p)
	}
	if p.Role != "" {
		inner, args := t.q().listRoleInner, []any{p.TenantID, string(p.Role)}
		if p.Status != "" {
			inner += " AND r.status = ?"
			args = append(args, string(p.Status))
		}
		if p.After != "" {
			inner += " AND r.email > ?"
			args = append(args, p.After)
		}
		page := fmt.Sprintf(t.q().listRole, inner+" ORDER BY r.email LIMIT ?")
		args = append(args, p.Limit)
		rows, err := t.db.QueryContext(ctx, t.s.numbered(fmt.Sprintf(t.q().withLocks, page)), args...)
		return collectUsers(rows, err, p.Limit)
	}
	where, args := listWhere(p)
	page := t.q().listUsers + where + " ORDER BY email LIMIT ?"
	args = append(args, p.Limit)
	rows, err := t.db.QueryContext(ctx, t.s.numbered(fmt.Sprintf(t.q().withLocks, page)), args...)
	return collectUsers(rows, err, p.Limit)
}

// roleMatch is the condition "holds role" with the role as a literal.
// Roles are names of the Manager's catalogue, free of NUL (checkText);
// standard_conforming_strings (on since PostgreSQL 9.1) leaves
// backslashes alone, so doubling quotes is all the quoting needed.
func roleMatch(role usermgmt.Role) string {
	return " AND roles @> ARRAY['" + strings.ReplaceAll(string(role), "'", "''") + "']::text[]"
}

// listWhere is the tenant, status, role and cursor part of a list query.
func listWhere(p usermgmt.UserListParams) (string, []any) {
	where, args := "", []any{p.TenantID}
	if p.Status != "" {
		where += " AND status = ?"
		args = append(args, string(p.Status))
	}
	if p.Role != "" {
		where += roleMatch(p.Role)
	}
	if p.After != "" {
		where += " AND email > ?"
		args = append(args, p.After)
	}
	return where, args
}

// searchWindow is how many users, in email order, a search reads before it
// looks at how common the term is; searchWalkMax is the most it then walks
// on in email order instead of turning to the trigram index.
const (
	searchWindow  = 200
	searchWalkMax = 6000
)

// searchUsers finds a page of users whose email contains p.Search.
//
// Neither a walk nor an index alone is safe: walking the tenant in email
// order and filtering is instant for a common term but reads the whole
// tenant for a rare one, or for a term whose matches all sort late
// ("maria." in a tenant of 100,000: 58,000 rows read); a trigram index is
// fast for a rare term but fetches and sorts every match of a common one.
// The planner cannot tell these apart (it assumes matches are spread
// evenly). So the first step walks searchWindow users in email order. If
// the matches it found say that walking on would fill the page within
// searchWalkMax rows (twice the rows their density predicts), the second
// step walks that far. What is still missing then comes from after the
// last row walked, as two kinds of match (searchRest).
func (t *tx) searchUsers(ctx context.Context, p usermgmt.UserListParams) ([]usermgmt.User, error) {
	pattern := "%" + escapeLike(p.Search) + "%"
	users, last, walked, err := t.searchWalk(ctx, p, pattern, searchWindow)
	if err != nil || len(users) == p.Limit || walked < searchWindow {
		return users, err // page full, or the window reached the end of the list
	}
	if k := len(users); k > 0 {
		if n := 2 * (p.Limit - k) * searchWindow / k; n <= searchWalkMax {
			rest := p
			rest.After, rest.Limit = last, p.Limit-k
			more, end, w, err := t.searchWalk(ctx, rest, pattern, n)
			users = append(users, more...)
			if err != nil || len(users) == p.Limit || w < n {
				return users, err
			}
			last = end
		}
	}
	rest := p
	rest.After, rest.Limit = last, p.Limit-len(users)
	found, err := t.searchRest(ctx, rest)
	if err != nil {
		return nil, err
	}
	return append(users, found...), nil
}

// searchRest finds the first p.Limit matches after p.After as two kinds,
// each in its own statement, and merges them in email order: those that
// begin with the term, a range of the email index walked in order (a page
// costs the same however many there are), and those that hold it further
// in, from the trigram index over the email without its first character
// (0014), which returns none of the first kind; only this second kind is
// fetched whole and sorted, so its cost grows with their number.
func (t *tx) searchRest(ctx context.Context, p usermgmt.UserListParams) ([]usermgmt.User, error) {
	// In byte order (COLLATE "C"), the emails that begin with the term are
	// those from the term up to the term followed by the last code point.
	from, to := p.Search, p.Search+"\U0010FFFF"
	where, args := listWhere(p)
	args = append(args, from, to, p.Limit)
	rows, err := t.db.QueryContext(ctx, t.s.numbered(fmt.Sprintf(t.q().withLocks,
		t.q().listUsers+where+` AND email >= ? AND email < ? ORDER BY email LIMIT ?`)), args...)
	begin, err := collectUsers(rows, err, p.Limit)
	if err != nil {
		return nil, err
	}
	// An email that begins with the term may hold it further in too: it
	// is one of the first kind only.
	where, args = listWhere(p)
	where += ` AND NOT (email >= ? AND email < ?)`
	args = append(args, from, to)
	if len(begin) == p.Limit {
		// Nothing after the last of a full first kind can be on the page.
		where += ` AND email < ?`
		args = append(args, begin[len(begin)-1].Email)
	}
	args = append(args, "%"+escapeLike(p.Search)+"%", p.Limit)
	// bun inlines the pattern so that the planner sees the term and can
	// estimate it from the index's statistics; the ORDER BY is one the
	// email index cannot serve, so the planner does not turn to walking.
	more, err := t.bun.QueryContext(ctx, fmt.Sprintf(t.q().withLocks,
		t.q().listUsers+where+` AND substr(email, 2) LIKE ? ORDER BY email || '' LIMIT ?`), args...)
	within, err := collectUsers(more, err, p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]usermgmt.User, 0, p.Limit)
	for len(out) < p.Limit && (len(begin) > 0 || len(within) > 0) {
		if len(within) == 0 || (len(begin) > 0 && begin[0].Email < within[0].Email) {
			out, begin = append(out, begin[0]), begin[1:]
		} else {
			out, within = append(out, within[0]), within[1:]
		}
	}
	return out, nil
}

// searchWalk reads up to window users of p in email order (after p.After)
// in one statement and returns those whose email matches pattern (at most
// p.Limit), the email of the last user read, and how many it read.
func (t *tx) searchWalk(ctx context.Context, p usermgmt.UserListParams, pattern string, window int) (users []usermgmt.User, last string, walked int, err error) {
	where, args := listWhere(p)
	q := `SELECT ` + storedCols + `, CASE WHEN hit THEN ` + t.q().lockedX + ` END, CASE WHEN hit THEN ` + t.q().groupsX + ` END,
			hit, n FROM (
			SELECT ` + storedCols + `, email LIKE ? AS hit,
				row_number() OVER (ORDER BY email) AS rn, count(*) OVER () AS n
			FROM (` + t.q().listUsers + where + ` ORDER BY email LIMIT ?) w) x
		WHERE hit OR rn = n ORDER BY email`
	args = append([]any{pattern}, append(args, window)...)
	rows, err := t.db.QueryContext(ctx, t.s.numbered(q), args...)
	if err != nil {
		return nil, "", 0, mapErr(err)
	}
	defer rows.Close()
	users = make([]usermgmt.User, 0, p.Limit)
	for rows.Next() {
		var hit bool
		u, err := scanListedUser(rows, &hit, &walked)
		if err != nil {
			return nil, "", 0, mapErr(err)
		}
		last = u.Email
		if hit && len(users) < p.Limit {
			users = append(users, u)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", 0, mapErr(err)
	}
	return users, last, walked, nil
}

func collectUsers(rows *sql.Rows, err error, limit int) ([]usermgmt.User, error) {
	return collect(rows, err, func(r rowScanner) (usermgmt.User, error) { return scanListedUser(r) }, limit)
}

// scanListedUser scans a user of a page: the user, its lock and its
// group roles (withLocks), then extra.
func scanListedUser(r rowScanner, extra ...any) (usermgmt.User, error) {
	var groups []byte
	u, err := scanUser(r, append([]any{&groups}, extra...)...)
	if err == nil {
		err = groupRolesFromJSON(groups, &u)
	}
	return u, err
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
	if err := checkText(tenantID, string(role)); err != nil {
		return 0, err
	}
	if _, err := t.db.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", t.s.lockKey("role-count", tenantID)); err != nil {
		return 0, mapErr(err)
	}
	var n int
	err := t.bun.QueryRowContext(ctx, t.q().countActiveWithRole, tenantID, string(role)).Scan(&n)
	return n, mapErr(err)
}
