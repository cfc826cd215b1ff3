package memory

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// group is a stored group with its members. Its Members count is
// len(members).
type group struct {
	usermgmt.Group
	members map[uuid.UUID]struct{}
}

// groupKey names a group by its name in a tenant, folded as the Store
// interface says (strings.ToLower).
type groupKey struct {
	tenantID string
	name     string
}

func nameKey(tenantID, name string) groupKey { return groupKey{tenantID, strings.ToLower(name)} }

// groups is the store's part for groups: each group by id, by folded name
// and by tenant, and for each user the groups they are a member of, so
// that a member change touches only that member and a tenant's list only
// that tenant.
type groups struct {
	byID     map[uuid.UUID]*group
	byName   map[groupKey]uuid.UUID
	byTenant map[string]map[uuid.UUID]*group
	memberOf map[uuid.UUID]map[uuid.UUID]struct{} // user id -> group ids
}

func (s *Store) groupsOf() *groups {
	if s.grp.byID == nil {
		s.grp = groups{byID: map[uuid.UUID]*group{}, byName: map[groupKey]uuid.UUID{},
			byTenant: map[string]map[uuid.UUID]*group{}, memberOf: map[uuid.UUID]map[uuid.UUID]struct{}{}}
	}
	return &s.grp
}

// lookupGroup returns the tenant's group, or nil.
func (s *Store) lookupGroup(tenantID string, id uuid.UUID) *group {
	g := s.groupsOf().byID[id]
	if g == nil || g.TenantID != tenantID {
		return nil
	}
	return g
}

// shownGroup is g as the store returns it: sharing nothing with it.
func shownGroup(g *group) usermgmt.Group {
	out := g.Group
	out.Roles = slices.Clone(g.Roles)
	out.Members = len(g.members)
	return out
}

func checkGroup(g *usermgmt.Group) error {
	if err := checkText(g.TenantID, g.DisplayName, g.ExternalID); err != nil {
		return err
	}
	return checkRoles(g.Roles)
}

func (t *tx) CreateGroup(_ context.Context, in *usermgmt.Group) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkGroup(in); err != nil {
		return err
	}
	gs := t.s.groupsOf()
	if _, ok := gs.byID[in.ID]; ok {
		return conflict("a group with id %s already exists", in.ID)
	}
	k := nameKey(in.TenantID, in.DisplayName)
	if _, ok := gs.byName[k]; ok {
		return nameConflict(in.DisplayName)
	}
	in.Members, in.Version = 0, 1
	g := &group{Group: *in, members: map[uuid.UUID]struct{}{}}
	g.Roles = slices.Clone(in.Roles)
	gs.add(g, k)
	t.onUndo(func() { gs.remove(g, k) })
	return nil
}

func nameConflict(name string) error {
	e := usermgmt.Errorf(usermgmt.CodeConflict, "a group named %q already exists", name)
	e.Field = usermgmt.FieldName
	return e
}

func (t *tx) GetGroup(_ context.Context, tenantID string, id uuid.UUID) (usermgmt.Group, error) {
	if err := t.read(); err != nil {
		return usermgmt.Group{}, err
	}
	if err := checkText(tenantID); err != nil {
		return usermgmt.Group{}, err
	}
	g := t.s.lookupGroup(tenantID, id)
	if g == nil {
		return usermgmt.Group{}, notFound("group")
	}
	return shownGroup(g), nil
}

// LockGroup is GetGroup: the transaction already holds the store's write
// lock. A read-only transaction refuses it.
func (t *tx) LockGroup(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.Group, error) {
	if err := t.write(); err != nil {
		return usermgmt.Group{}, err
	}
	return t.GetGroup(ctx, tenantID, id)
}

func (t *tx) UpdateGroup(_ context.Context, in *usermgmt.Group) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkGroup(in); err != nil {
		return err
	}
	g := t.s.lookupGroup(in.TenantID, in.ID)
	if g == nil {
		return notFound("group")
	}
	gs := t.s.groupsOf()
	oldKey, newKey := nameKey(g.TenantID, g.DisplayName), nameKey(in.TenantID, in.DisplayName)
	if id, ok := gs.byName[newKey]; ok && id != g.ID {
		return nameConflict(in.DisplayName)
	}
	old := g.Group
	g.DisplayName, g.ExternalID, g.Roles, g.UpdatedAt = in.DisplayName, in.ExternalID, slices.Clone(in.Roles), in.UpdatedAt
	g.Version++
	delete(gs.byName, oldKey)
	gs.byName[newKey] = g.ID
	in.Version, in.Members = g.Version, len(g.members)
	t.onUndo(func() {
		delete(gs.byName, newKey)
		gs.byName[oldKey] = g.ID
		g.Group = old
	})
	return nil
}

func (t *tx) DeleteGroup(_ context.Context, tenantID string, id uuid.UUID) ([]uuid.UUID, error) {
	g, err := t.writeGroup(tenantID, id)
	if err != nil {
		return nil, err
	}
	members := slices.Collect(maps.Keys(g.members))
	t.leave(g, members)
	gs := t.s.groupsOf()
	k := nameKey(g.TenantID, g.DisplayName)
	gs.remove(g, k)
	t.onUndo(func() { gs.add(g, k) })
	return members, nil
}

// add indexes g under its id, its name key k and its tenant.
func (gs *groups) add(g *group, k groupKey) {
	gs.byID[g.ID], gs.byName[k] = g, g.ID
	if gs.byTenant[g.TenantID] == nil {
		gs.byTenant[g.TenantID] = map[uuid.UUID]*group{}
	}
	gs.byTenant[g.TenantID][g.ID] = g
}

// remove is the inverse of add.
func (gs *groups) remove(g *group, k groupKey) {
	delete(gs.byID, g.ID)
	delete(gs.byName, k)
	delete(gs.byTenant[g.TenantID], g.ID)
	if len(gs.byTenant[g.TenantID]) == 0 {
		delete(gs.byTenant, g.TenantID)
	}
}

func (t *tx) FindGroups(_ context.Context, p usermgmt.GroupFindParams) ([]usermgmt.Group, int, error) {
	if err := t.read(); err != nil {
		return nil, 0, err
	}
	if err := checkText(p.TenantID, p.DisplayName, p.ExternalID); err != nil {
		return nil, 0, err
	}
	gs := t.s.groupsOf()
	var found []*group
	keep := func(g *group) {
		if g != nil && g.TenantID == p.TenantID && (p.ID == uuid.Nil || g.ID == p.ID) &&
			(p.DisplayName == "" || strings.ToLower(g.DisplayName) == strings.ToLower(p.DisplayName)) &&
			(p.ExternalID == "" || g.ExternalID == p.ExternalID) {
			if _, ok := g.members[p.Member]; p.Member == uuid.Nil || ok {
				found = append(found, g)
			}
		}
	}
	switch {
	case p.ID != uuid.Nil:
		keep(gs.byID[p.ID])
	case p.DisplayName != "":
		if id, ok := gs.byName[nameKey(p.TenantID, p.DisplayName)]; ok {
			keep(gs.byID[id])
		}
	case p.Member != uuid.Nil:
		for id := range gs.memberOf[p.Member] {
			keep(gs.byID[id])
		}
	default:
		for _, g := range gs.byTenant[p.TenantID] {
			keep(g)
		}
	}
	slices.SortFunc(found, func(a, b *group) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)),
			strings.Compare(a.ID.String(), b.ID.String()))
	})
	total := len(found)
	found = found[min(p.Offset, total):]
	found = found[:min(p.Limit, len(found))]
	out := make([]usermgmt.Group, len(found))
	for i, g := range found {
		out[i] = shownGroup(g)
	}
	return out, total, nil
}

// knownUsers returns ids once each, or invalid naming the first that is
// not a user of the tenant.
func (s *Store) knownUsers(tenantID string, ids []uuid.UUID) ([]uuid.UUID, error) {
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if s.lookup(tenantID, id) == nil {
			return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "%s is not a user of this tenant", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (t *tx) AddMembers(_ context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	g, err := t.writeGroup(tenantID, groupID)
	if err != nil {
		return nil, err
	}
	ids, err := t.s.knownUsers(tenantID, userIDs)
	if err != nil {
		return nil, err
	}
	ids = slices.DeleteFunc(ids, func(id uuid.UUID) bool { _, in := g.members[id]; return in })
	t.join(g, ids)
	t.touch(g, len(ids), now)
	return ids, nil
}

func (t *tx) RemoveMembers(_ context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	g, err := t.writeGroup(tenantID, groupID)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for _, id := range userIDs {
		if _, in := g.members[id]; in && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	t.leave(g, ids)
	t.touch(g, len(ids), now)
	return ids, nil
}

func (t *tx) ReplaceMembers(_ context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID,
	now time.Time) (added, removed []uuid.UUID, err error) {
	g, err := t.writeGroup(tenantID, groupID)
	if err != nil {
		return nil, nil, err
	}
	ids, err := t.s.knownUsers(tenantID, userIDs)
	if err != nil {
		return nil, nil, err
	}
	want := make(map[uuid.UUID]struct{}, len(ids))
	for _, id := range ids {
		want[id] = struct{}{}
		if _, in := g.members[id]; !in {
			added = append(added, id)
		}
	}
	for id := range g.members {
		if _, keep := want[id]; !keep {
			removed = append(removed, id)
		}
	}
	t.leave(g, removed)
	t.join(g, added)
	t.touch(g, len(added)+len(removed), now)
	return added, removed, nil
}

// touch moves g's Version and UpdatedAt after a member change that
// changed n memberships (none: nothing).
func (t *tx) touch(g *group, n int, now time.Time) {
	if n == 0 {
		return
	}
	version, updated := g.Version, g.UpdatedAt
	g.Version, g.UpdatedAt = g.Version+1, now
	t.onUndo(func() { g.Version, g.UpdatedAt = version, updated })
}

// writeGroup returns the tenant's group a write changes, or an error.
func (t *tx) writeGroup(tenantID string, groupID uuid.UUID) (*group, error) {
	if err := t.write(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	g := t.s.lookupGroup(tenantID, groupID)
	if g == nil {
		return nil, notFound("group")
	}
	return g, nil
}

// join makes ids, none a member yet, members of g, and logs the inverse.
func (t *tx) join(g *group, ids []uuid.UUID) {
	gs := t.s.groupsOf()
	for _, id := range ids {
		g.members[id] = struct{}{}
		of := gs.memberOf[id]
		if of == nil {
			of = map[uuid.UUID]struct{}{}
			gs.memberOf[id] = of
		}
		of[g.ID] = struct{}{}
	}
	t.onUndo(func() { t.s.unjoin(g, ids) })
}

// leave removes ids, all members, from g, and logs the inverse.
func (t *tx) leave(g *group, ids []uuid.UUID) {
	t.s.unjoin(g, ids)
	t.onUndo(func() {
		gs := t.s.groupsOf()
		for _, id := range ids {
			g.members[id] = struct{}{}
			if gs.memberOf[id] == nil {
				gs.memberOf[id] = map[uuid.UUID]struct{}{}
			}
			gs.memberOf[id][g.ID] = struct{}{}
		}
	})
}

func (s *Store) unjoin(g *group, ids []uuid.UUID) {
	gs := s.groupsOf()
	for _, id := range ids {
		delete(g.members, id)
		if of := gs.memberOf[id]; of != nil {
			delete(of, g.ID)
			if len(of) == 0 {
				delete(gs.memberOf, id)
			}
		}
	}
}

func (t *tx) ListMembers(_ context.Context, tenantID string, groupID, after uuid.UUID, limit int) ([]usermgmt.GroupMember, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	g := t.s.lookupGroup(tenantID, groupID)
	if g == nil || limit <= 0 {
		return []usermgmt.GroupMember{}, nil
	}
	var ids []uuid.UUID
	for id := range g.members {
		if after == uuid.Nil || uuidCompare(id, after) > 0 {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, uuidCompare)
	ids = ids[:min(limit, len(ids))]
	out := make([]usermgmt.GroupMember, 0, len(ids))
	for _, id := range ids {
		if u := t.s.lookup(tenantID, id); u != nil {
			out = append(out, usermgmt.GroupMember{UserID: id, Email: u.Email, DisplayName: u.DisplayName})
		}
	}
	return out, nil
}

func (t *tx) GroupRolesOf(_ context.Context, tenantID string, userIDs []uuid.UUID) ([]usermgmt.UserGroupRole, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	var out []usermgmt.UserGroupRole
	for _, uid := range userIDs {
		for _, gr := range t.s.groupRoles(tenantID, uid) {
			out = append(out, usermgmt.UserGroupRole{UserID: uid, GroupRole: gr})
		}
	}
	return out, nil
}

// groupRoles is which of the user's groups grant which role, in any order.
func (s *Store) groupRoles(tenantID string, userID uuid.UUID) []usermgmt.GroupRole {
	gs := s.groupsOf()
	var out []usermgmt.GroupRole
	for gid := range gs.memberOf[userID] {
		g := gs.byID[gid]
		if g == nil || g.TenantID != tenantID {
			continue
		}
		for _, r := range g.Roles {
			out = append(out, usermgmt.GroupRole{Role: r, GroupID: g.ID, Group: g.DisplayName})
		}
	}
	return out
}

func (t *tx) SyncRoles(_ context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, order []usermgmt.Role,
	now time.Time) (int, error) {
	if err := t.write(); err != nil {
		return 0, err
	}
	if err := checkText(tenantID); err != nil {
		return 0, err
	}
	if groupID != uuid.Nil {
		g := t.s.lookupGroup(tenantID, groupID)
		if g == nil {
			return 0, nil
		}
		userIDs = slices.Collect(maps.Keys(g.members))
	}
	rank := make(map[usermgmt.Role]int, len(order))
	for i, r := range order {
		rank[r] = i
	}
	gs := t.s.groupsOf()
	changed := 0
	for _, id := range userIDs {
		u := t.s.lookup(tenantID, id)
		if u == nil {
			continue
		}
		roles := slices.Clone(u.DirectRoles)
		for gid := range gs.memberOf[id] {
			if gs.byID[gid].TenantID != tenantID {
				continue
			}
			for _, r := range gs.byID[gid].Roles {
				if !slices.Contains(roles, r) {
					roles = append(roles, r)
				}
			}
		}
		slices.SortFunc(roles, func(a, b usermgmt.Role) int { return compareRoles(rank, a, b) })
		if slices.Equal(roles, u.Roles) {
			continue
		}
		next := stored(u)
		next.Roles, next.UpdatedAt, next.Version = roles, now, u.Version+1
		t.replace(t.s.tenants[tenantID], u, next)
		changed++
	}
	return changed, nil
}

// compareRoles orders roles as rank does, roles it lacks last by name (as
// PostgreSQL's array_position … NULLS LAST, role).
func compareRoles(rank map[usermgmt.Role]int, a, b usermgmt.Role) int {
	ra, okA := rank[a]
	rb, okB := rank[b]
	switch {
	case okA && okB:
		return ra - rb
	case okA:
		return -1
	case okB:
		return 1
	}
	return strings.Compare(string(a), string(b))
}
