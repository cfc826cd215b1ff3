package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
)

// groupQueries are the statements of groups and their members (0009).
type groupQueries struct {
	createGroup, groupNameTaken, getGroup, lockGroup, updateGroup, deleteGroup string
	addMembers, removeMembers, replaceMembers, listMembers, groupRolesOf       string
	syncGroupRoles, syncUserRoles, appendEvents                                string
	findGroups                                                                 string // completed by FindGroups
}

const groupCols = `tenant_id, id, display_name, external_id, roles, members, created_at, updated_at, version`

// wantIDs is the ids of a member change ($3, an array literal), once
// each.
const wantIDs = `want AS (SELECT DISTINCT x AS user_id FROM unnest($3::text::uuid[]) x)`

// wantMembers is the CTEs every change that adds members starts with,
// the tenant as $1: want, and missing, the first wanted id that is not a
// user of the tenant. Each id is one probe of users_pkey on (tenant_id,
// id): a LATERAL subquery with a LIMIT is never flattened into a join,
// so no plan can do otherwise. As a NOT EXISTS it was an anti join, and
// the generic plan PostgreSQL switches to after five executions, which
// expects the average tenant's few users, walked users_pkey on tenant_id
// alone (93,000 entries for one member of a big tenant).
const wantMembers = wantIDs + `,
	missing AS (SELECT w.user_id FROM want w LEFT JOIN LATERAL (
			SELECT u.id FROM {s}.users u WHERE u.tenant_id = $1 AND u.id = w.user_id LIMIT 1) u ON true
		WHERE u.id IS NULL LIMIT 1)`

// deleteWanted removes the wanted users from the group $2. Each is found
// by one probe of group_members by key (a LATERAL subquery, as in
// wantMembers) and deleted by its row's address: the planner may read
// "user_id = ANY (…)" as a filter over the group's rows rather than as
// an index condition, and does so when group_members has no statistics.
const deleteWanted = `del AS (DELETE FROM {s}.group_members WHERE ctid = ANY (ARRAY(
		SELECT k.ctid FROM want w CROSS JOIN LATERAL (SELECT k.ctid FROM {s}.group_members k
			WHERE k.tenant_id = $1 AND k.group_id = $2 AND k.user_id = w.user_id LIMIT 1) k))
		RETURNING user_id)`

// insertWanted adds the wanted users to the group $2 unless one is
// missing; the count of the group follows from what was inserted, not
// from the member list.
const insertWanted = `ins AS (INSERT INTO {s}.group_members (tenant_id, group_id, user_id)
		SELECT $1, $2, w.user_id FROM want w WHERE NOT EXISTS (SELECT 1 FROM missing)
			AND EXISTS (SELECT 1 FROM {s}.groups g WHERE g.tenant_id = $1 AND g.id = $2)
		ON CONFLICT DO NOTHING RETURNING user_id)`

// touched moves a group's version and time ($4) with a change of its
// members, in the statement that makes it.
const touched = `version = version + 1, updated_at = $4`

// memberResult is what every member change returns: whether the group
// exists, the missing id, and who joined and who left.
const memberResult = `SELECT EXISTS (SELECT 1 FROM {s}.groups WHERE tenant_id = $1 AND id = $2),
	(SELECT user_id FROM missing), ARRAY(SELECT user_id FROM ins), ARRAY(SELECT user_id FROM del)`

// effectiveRoles is what the user u holds: its direct roles and the roles
// of its groups (through group_members_user, then each group by key: a
// join would walk the tenant's groups), once each, ordered as the
// catalogue $4 lists them, roles it lacks last by name.
const effectiveRoles = `ARRAY(SELECT x.r FROM (
		SELECT unnest(u.direct_roles)
		UNION SELECT unnest((SELECT g.roles FROM {s}.groups g WHERE g.tenant_id = m.tenant_id AND g.id = m.group_id))
			FROM {s}.group_members m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id) x(r)
	ORDER BY array_position($4::text::text[], x.r) NULLS LAST, x.r COLLATE "C")`

func newGroupQueries(inline func(string) string) groupQueries {
	r := func(q string) string { return numbered(inline(q)) } // inline alone: written with $n
	return groupQueries{
		createGroup: r(`INSERT INTO {s}.groups (` + groupCols + `, name_key)
			VALUES (?, ?, ?, ?, ?::text::text[], 0, ?, ?, 1, ?) ON CONFLICT DO NOTHING RETURNING id`),
		groupNameTaken: r(`SELECT EXISTS (SELECT 1 FROM {s}.groups WHERE tenant_id = ? AND name_key = ? AND id <> ?)`),
		getGroup:       r(`SELECT ` + groupCols + ` FROM {s}.groups WHERE tenant_id = ? AND id = ?`),
		lockGroup:      r(`SELECT ` + groupCols + ` FROM {s}.groups WHERE tenant_id = ? AND id = ? FOR UPDATE`),
		// The name's uniqueness is checked in the statement, so a taken
		// name updates nothing instead of aborting the transaction.
		updateGroup: inline(`UPDATE {s}.groups SET display_name = $3, name_key = $4, external_id = $5,
				roles = $6::text::text[], updated_at = $7, version = version + 1
			WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS (
				SELECT 1 FROM {s}.groups o WHERE o.tenant_id = $1 AND o.name_key = $4 AND o.id <> $2)
			RETURNING version, members`),
		// The memberships go in the same statement; the foreign key's
		// cascade then finds none left.
		deleteGroup: inline(`WITH g AS (DELETE FROM {s}.groups WHERE tenant_id = $1 AND id = $2 RETURNING id),
				m AS (DELETE FROM {s}.group_members WHERE tenant_id = $1 AND group_id = $2 RETURNING user_id)
			SELECT EXISTS (SELECT 1 FROM g), ARRAY(SELECT user_id FROM m)`),
		addMembers: inline(`WITH ` + wantMembers + `, ` + insertWanted + `,
				del AS (SELECT NULL::uuid AS user_id WHERE false),
				cnt AS (UPDATE {s}.groups SET members = members + (SELECT count(*) FROM ins), ` + touched + `
					WHERE tenant_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM ins))
			` + memberResult),
		removeMembers: inline(`WITH ` + wantIDs + `,
				missing AS (SELECT NULL::uuid AS user_id WHERE false),
				ins AS (SELECT NULL::uuid AS user_id WHERE false),
				` + deleteWanted + `,
				cnt AS (UPDATE {s}.groups SET members = members - (SELECT count(*) FROM del), ` + touched + `
					WHERE tenant_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM del))
			` + memberResult),
		// The one change that reads the member list, as it must: an
		// anti-join of the group's members against the wanted ids.
		replaceMembers: inline(`WITH ` + wantMembers + `, ` + insertWanted + `,
				del AS (DELETE FROM {s}.group_members m WHERE m.tenant_id = $1 AND m.group_id = $2
					AND NOT EXISTS (SELECT 1 FROM missing)
					AND NOT EXISTS (SELECT 1 FROM want w WHERE w.user_id = m.user_id) RETURNING user_id),
				cnt AS (UPDATE {s}.groups SET members = members + (SELECT count(*) FROM ins) - (SELECT count(*) FROM del),
					` + touched + `
					WHERE tenant_id = $1 AND id = $2 AND (EXISTS (SELECT 1 FROM ins) OR EXISTS (SELECT 1 FROM del)))
			` + memberResult),
		// A keyset walk of the group_members primary key, each member's
		// user by key.
		listMembers: r(`SELECT m.user_id, u.email, u.display_name FROM {s}.group_members m
			JOIN {s}.users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
			WHERE m.tenant_id = ? AND m.group_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?`),
		// Through group_members_user: the groups of the page's users only.
		groupRolesOf: r(`SELECT m.user_id, r.role, g.id, g.display_name FROM {s}.group_members m
			JOIN {s}.groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
			CROSS JOIN LATERAL unnest(g.roles) r(role)
			WHERE m.tenant_id = ? AND m.user_id = ANY (?::text::uuid[])`),
		// A group's members: every one of them is read, by the nature of
		// the change (a mapping changed, or the group went).
		syncGroupRoles: inline(`UPDATE {s}.users u SET roles = ` + effectiveRoles + `, updated_at = $3,
				version = u.version + 1
			WHERE u.tenant_id = $1 AND u.id IN (SELECT m.user_id FROM {s}.group_members m
				WHERE m.tenant_id = $1 AND m.group_id = $2)
			AND u.roles IS DISTINCT FROM ` + effectiveRoles),
		// A few users: one probe of users' primary key each, in any plan
		// (a statement of its own, so that a generic plan made for a whole
		// group never serves one member).
		syncUserRoles: inline(`UPDATE {s}.users u SET roles = ` + effectiveRoles + `, updated_at = $3,
				version = u.version + 1
			WHERE u.tenant_id = $1 AND u.id = ANY ($2::text::uuid[])
			AND u.roles IS DISTINCT FROM ` + effectiveRoles),
		appendEvents: inline(`INSERT INTO {s}.events (` + eventCols + `)
			SELECT * FROM unnest($1::text::uuid[], $2::text::text[], $3::text::uuid[], $4::text::text[],
				$5::text::uuid[], $6::text::text[], $7::text::text[], $8::text::text[], $9::text::timestamptz[],
				$10::text::text[])`),
		findGroups: inline(`FROM {s}.groups g WHERE g.tenant_id = $1`),
	}
}

func (t *tx) gq() *groupQueries { return &t.s.q.g }

// nameKey is how a group's name is compared (the Store interface's
// strings.ToLower), computed here so both stores fold alike.
func nameKey(name string) string { return strings.ToLower(name) }

// uuidsArg renders ids as a uuid[] literal (sent as text).
func uuidsArg(ids []uuid.UUID) string {
	var b strings.Builder
	b.Grow(2 + 37*len(ids))
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id.String())
	}
	b.WriteByte('}')
	return b.String()
}

func toUUIDs(ss []string) ([]uuid.UUID, error) {
	out := make([]uuid.UUID, 0, len(ss))
	for _, s := range ss {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

func scanGroup(r rowScanner) (usermgmt.Group, error) {
	var (
		g     usermgmt.Group
		roles []string
	)
	if err := r.Scan(&g.TenantID, &g.ID, &g.DisplayName, &g.ExternalID, pgdialect.Array(&roles), &g.Members,
		&g.CreatedAt, &g.UpdatedAt, &g.Version); err != nil {
		return usermgmt.Group{}, err
	}
	g.Roles = toRoles(roles)
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	return g, nil
}

func (t *tx) CreateGroup(ctx context.Context, g *usermgmt.Group) error {
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.gq().createGroup, g.TenantID, uuidArg(g.ID), g.DisplayName, g.ExternalID,
		rolesArg(g.Roles), g.CreatedAt, g.UpdatedAt, nameKey(g.DisplayName)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return t.groupConflict(ctx, g)
	}
	if err != nil {
		return mapErr(err)
	}
	g.Members, g.Version = 0, 1
	return nil
}

// groupConflict says why g could not be written: its name is taken, or
// (for a create) its id.
func (t *tx) groupConflict(ctx context.Context, g *usermgmt.Group) error {
	var taken bool
	if err := t.db.QueryRowContext(ctx, t.gq().groupNameTaken, g.TenantID, nameKey(g.DisplayName), uuidArg(g.ID)).
		Scan(&taken); err != nil {
		return mapErr(err)
	}
	if taken {
		e := usermgmt.Errorf(usermgmt.CodeConflict, "a group named %q already exists", g.DisplayName)
		e.Field = usermgmt.FieldName
		return e
	}
	return errorf(usermgmt.CodeConflict, "a group with id %s already exists", g.ID)
}

func (t *tx) GetGroup(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.Group, error) {
	return t.oneGroup(ctx, t.gq().getGroup, tenantID, id)
}

func (t *tx) LockGroup(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.Group, error) {
	return t.oneGroup(ctx, t.gq().lockGroup, tenantID, id)
}

func (t *tx) oneGroup(ctx context.Context, query, tenantID string, id uuid.UUID) (usermgmt.Group, error) {
	g, err := scanGroup(t.db.QueryRowContext(ctx, query, tenantID, uuidArg(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.Group{}, errorf(usermgmt.CodeNotFound, "group not found")
	}
	return g, mapErr(err)
}

func (t *tx) UpdateGroup(ctx context.Context, g *usermgmt.Group) error {
	err := t.db.QueryRowContext(ctx, t.gq().updateGroup, g.TenantID, uuidArg(g.ID), g.DisplayName,
		nameKey(g.DisplayName), g.ExternalID, rolesArg(g.Roles), g.UpdatedAt).Scan(&g.Version, &g.Members)
	if !errors.Is(err, sql.ErrNoRows) {
		return mapErr(err)
	}
	if _, err := t.GetGroup(ctx, g.TenantID, g.ID); err != nil {
		return err
	}
	return t.groupConflict(ctx, g)
}

func (t *tx) DeleteGroup(ctx context.Context, tenantID string, id uuid.UUID) ([]uuid.UUID, error) {
	var (
		found   bool
		members []string
	)
	err := t.db.QueryRowContext(ctx, t.gq().deleteGroup, tenantID, uuidArg(id)).Scan(&found, pgdialect.Array(&members))
	if err != nil {
		return nil, mapErr(err)
	}
	if !found {
		return nil, errorf(usermgmt.CodeNotFound, "group not found")
	}
	return toUUIDs(members)
}

// FindGroups counts, then reads the page in name order: the
// (tenant_id, name_key) key serves both, and a member's groups come
// through group_members_user.
func (t *tx) FindGroups(ctx context.Context, p usermgmt.GroupFindParams) ([]usermgmt.Group, int, error) {
	if err := checkText(p.TenantID, p.DisplayName, p.ExternalID); err != nil {
		return nil, 0, err
	}
	where, args := t.gq().findGroups, []any{p.TenantID}
	add := func(cond string, v any) {
		args = append(args, v)
		where += " AND " + strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args)))
	}
	if p.ID != uuid.Nil {
		add("g.id = ?", uuidArg(p.ID))
	}
	if p.DisplayName != "" {
		add("g.name_key = ?", nameKey(p.DisplayName))
	}
	if p.ExternalID != "" {
		add("g.external_id = ?", p.ExternalID)
	}
	if p.Member != uuid.Nil {
		add("g.id IN (SELECT m.group_id FROM "+quoteIdent(t.s.schema)+".group_members m WHERE m.tenant_id = $1 AND m.user_id = ?)",
			uuidArg(p.Member))
	}
	var total int
	if err := t.db.QueryRowContext(ctx, "SELECT count(*) "+where, args...).Scan(&total); err != nil {
		return nil, 0, mapErr(err)
	}
	if p.Limit <= 0 || p.Offset >= total {
		return []usermgmt.Group{}, total, nil
	}
	n := len(args)
	args = append(args, p.Offset, p.Limit)
	rows, err := t.db.QueryContext(ctx, "SELECT "+prefixed("g.", groupCols)+" "+where+
		" ORDER BY g.name_key, g.id OFFSET $"+strconv.Itoa(n+1)+" LIMIT $"+strconv.Itoa(n+2), args...)
	groups, err := collect(rows, err, scanGroup, min(p.Limit, total-p.Offset))
	return groups, total, err
}

func (t *tx) AddMembers(ctx context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	added, _, err := t.changeMembers(ctx, t.gq().addMembers, tenantID, groupID, userIDs, now)
	return added, err
}

func (t *tx) RemoveMembers(ctx context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	_, removed, err := t.changeMembers(ctx, t.gq().removeMembers, tenantID, groupID, userIDs, now)
	return removed, err
}

func (t *tx) ReplaceMembers(ctx context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID,
	now time.Time) (added, removed []uuid.UUID, err error) {
	return t.changeMembers(ctx, t.gq().replaceMembers, tenantID, groupID, userIDs, now)
}

// changeMembers runs one member change (a statement ending in
// memberResult) and reads its result.
func (t *tx) changeMembers(ctx context.Context, query, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID,
	now time.Time) (added, removed []uuid.UUID, err error) {
	var (
		found     bool
		missing   sql.NullString
		ins, dels []string
	)
	err = t.db.QueryRowContext(ctx, query, tenantID, uuidArg(groupID), uuidsArg(userIDs), now).
		Scan(&found, &missing, pgdialect.Array(&ins), pgdialect.Array(&dels))
	switch {
	case err != nil:
		return nil, nil, mapErr(err)
	case !found:
		return nil, nil, errorf(usermgmt.CodeNotFound, "group not found")
	case missing.Valid:
		return nil, nil, errorf(usermgmt.CodeInvalid, "%s is not a user of this tenant", missing.String)
	}
	if added, err = toUUIDs(ins); err != nil {
		return nil, nil, mapErr(err)
	}
	removed, err = toUUIDs(dels)
	return added, removed, mapErr(err)
}

func (t *tx) ListMembers(ctx context.Context, tenantID string, groupID, after uuid.UUID, limit int) ([]usermgmt.GroupMember, error) {
	if limit <= 0 {
		return []usermgmt.GroupMember{}, nil
	}
	rows, err := t.db.QueryContext(ctx, t.gq().listMembers, tenantID, uuidArg(groupID), uuidArg(after), limit)
	return collect(rows, err, func(r rowScanner) (usermgmt.GroupMember, error) {
		var m usermgmt.GroupMember
		err := r.Scan(&m.UserID, &m.Email, &m.DisplayName)
		return m, err
	}, limit)
}

func (t *tx) GroupRolesOf(ctx context.Context, tenantID string, userIDs []uuid.UUID) ([]usermgmt.UserGroupRole, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	rows, err := t.db.QueryContext(ctx, t.gq().groupRolesOf, tenantID, uuidsArg(userIDs))
	return collect(rows, err, func(r rowScanner) (usermgmt.UserGroupRole, error) {
		var (
			h    usermgmt.UserGroupRole
			role string
		)
		err := r.Scan(&h.UserID, &role, &h.GroupID, &h.Group)
		h.Role = usermgmt.Role(role)
		return h, err
	}, len(userIDs))
}

func (t *tx) SyncRoles(ctx context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, order []usermgmt.Role,
	now time.Time) (int, error) {
	query, who := t.gq().syncGroupRoles, uuidArg(groupID)
	if groupID == uuid.Nil {
		if len(userIDs) == 0 {
			return 0, nil
		}
		query, who = t.gq().syncUserRoles, uuidsArg(userIDs)
	}
	res, err := t.db.ExecContext(ctx, query, tenantID, who, now, rolesArg(order))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}

// AppendEvents sends each column as one array: one statement for any
// number of events.
func (t *tx) AppendEvents(ctx context.Context, es []usermgmt.Event) error {
	if len(es) == 0 {
		return nil
	}
	var ids, users, actors []uuid.UUID
	var tenants, types, ips, agents, details, times, names []string
	for _, e := range es {
		ids, users, actors = append(ids, e.ID), append(users, e.UserID), append(actors, e.ActorID)
		tenants, types = append(tenants, e.TenantID), append(types, string(e.Type))
		ips, agents, details = append(ips, e.IP), append(agents, e.UserAgent), append(details, e.Detail)
		times, names = append(times, e.CreatedAt.UTC().Format(time.RFC3339Nano)), append(names, e.ActorName)
	}
	_, err := t.db.ExecContext(ctx, t.gq().appendEvents, uuidsArg(ids), arrayArg(tenants), uuidsArg(users),
		arrayArg(types), uuidsArg(actors), arrayArg(ips), arrayArg(agents), arrayArg(details), arrayArg(times),
		arrayArg(names))
	return mapErr(err)
}
