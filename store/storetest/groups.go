package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

func groupCases() []testCase {
	return []testCase{
		{"CreateGroupThenGetReturnsIt", testCreateGroupThenGetReturnsIt},
		{"GroupNameIsUniquePerTenantIgnoringCase", testGroupNameIsUniquePerTenantIgnoringCase},
		{"GroupsOfOtherTenantAreNotFound", testGroupsOfOtherTenantAreNotFound},
		{"AddRemoveMembersReturnChangesAndCount", testAddRemoveMembersReturnChangesAndCount},
		{"MembersMustBeUsersOfTheTenant", testMembersMustBeUsersOfTheTenant},
		{"ReplaceMembersSaysWhoJoinedAndLeft", testReplaceMembersSaysWhoJoinedAndLeft},
		{"ListMembersPagesByUserID", testListMembersPagesByUserID},
		{"FindGroupsFiltersOrdersAndCounts", testFindGroupsFiltersOrdersAndCounts},
		{"DeleteGroupReturnsItsMembers", testDeleteGroupReturnsItsMembers},
		{"GroupRolesOfNamesEachGroup", testGroupRolesOfNamesEachGroup},
		{"ListUsersReadsGroupRolesWithThePage", testListUsersReadsGroupRolesWithThePage},
		{"SyncRolesUnionsDirectAndGroupRoles", testSyncRolesUnionsDirectAndGroupRoles},
		{"SyncRolesWritesOnlyChangedUsers", testSyncRolesWritesOnlyChangedUsers},
		{"AppendEventsAddsEveryEvent", testAppendEventsAddsEveryEvent},
		{"FailedTxLeavesGroupsAsTheyWere", testFailedTxLeavesGroupsAsTheyWere},
	}
}

// catalogue is the role order SyncRoles is given: DefaultRoles' order.
func catalogue() []usermgmt.Role {
	var out []usermgmt.Role
	for _, d := range usermgmt.DefaultRoles() {
		out = append(out, d.Name)
	}
	return out
}

func newGroup(tenantID, name string, roles ...usermgmt.Role) *usermgmt.Group {
	return &usermgmt.Group{ID: newID(), TenantID: tenantID, DisplayName: name, ExternalID: "ext-" + name,
		Roles: roles, CreatedAt: base, UpdatedAt: base}
}

func (f *fixture) mustGroup(tenantID, name string, roles ...usermgmt.Role) usermgmt.Group {
	f.t.Helper()
	g := newGroup(tenantID, name, roles...)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateGroup(f.ctx, g) })
	return *g
}

func (f *fixture) getGroup(tenantID string, id uuid.UUID) (usermgmt.Group, error) {
	return inTx(f, func(tx usermgmt.Tx) (usermgmt.Group, error) { return tx.GetGroup(f.ctx, tenantID, id) })
}

func (f *fixture) mustGetGroup(tenantID string, id uuid.UUID) usermgmt.Group {
	f.t.Helper()
	g, err := f.getGroup(tenantID, id)
	require.NoError(f.t, err)
	return normGroup(g)
}

func (f *fixture) add(g usermgmt.Group, ids ...uuid.UUID) ([]uuid.UUID, error) {
	return inTx(f, func(tx usermgmt.Tx) ([]uuid.UUID, error) { return tx.AddMembers(f.ctx, g.TenantID, g.ID, ids, base) })
}

func (f *fixture) mustAdd(g usermgmt.Group, ids ...uuid.UUID) []uuid.UUID {
	f.t.Helper()
	added, err := f.add(g, ids...)
	require.NoError(f.t, err)
	return added
}

func (f *fixture) find(p usermgmt.GroupFindParams) ([]string, int) {
	f.t.Helper()
	var total int
	groups := mustTx(f, func(tx usermgmt.Tx) (gs []usermgmt.Group, err error) {
		gs, total, err = tx.FindGroups(f.ctx, p)
		return gs, err
	})
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.DisplayName
	}
	return names, total
}

func (f *fixture) sync(tenantID string, groupID uuid.UUID, ids []uuid.UUID, now time.Time) int {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) (int, error) {
		return tx.SyncRoles(f.ctx, tenantID, groupID, ids, catalogue(), now)
	})
}

// direct inserts an active user whose direct roles are roles (and so are
// their Roles).
func (f *fixture) direct(tenantID, email string, roles ...usermgmt.Role) usermgmt.UserRecord {
	f.t.Helper()
	u := newUser(tenantID, email, usermgmt.StatusActive, roles...)
	u.DirectRoles = slices.Clone(roles)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
	return *u
}

func normGroup(g usermgmt.Group) usermgmt.Group {
	g.Roles = nilIfEmpty(g.Roles)
	g.CreatedAt, g.UpdatedAt = utc(g.CreatedAt), utc(g.UpdatedAt)
	return g
}

func sortedIDs(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return nilIfEmpty(out)
}

func testCreateGroupThenGetReturnsIt(t *testing.T, f *fixture) {
	g := newGroup(acme, "HR Team", usermgmt.RoleHRAdmin, usermgmt.RoleAgent)
	g.Members, g.Version = 7, 9 // the store decides these
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateGroup(f.ctx, g) })
	assert.Equal(t, 0, g.Members)
	assert.Equal(t, int64(1), g.Version)
	require.Equal(t, normGroup(*g), f.mustGetGroup(acme, g.ID))

	got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.Group, error) { return tx.LockGroup(f.ctx, acme, g.ID) })
	require.Equal(t, normGroup(*g), normGroup(got), "LockGroup reads as GetGroup")

	g.DisplayName, g.ExternalID, g.Roles, g.UpdatedAt = "People", "ext-2", []usermgmt.Role{usermgmt.RoleAgent}, base.Add(time.Hour)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateGroup(f.ctx, g) })
	assert.Equal(t, int64(2), g.Version, "UpdateGroup adds one to the version")
	require.Equal(t, normGroup(*g), f.mustGetGroup(acme, g.ID))
	assert.Equal(t, base, f.mustGetGroup(acme, g.ID).CreatedAt, "CreatedAt is kept")

	dup := newGroup(acme, "Other")
	dup.ID = g.ID
	requireCode(t, f.do(func(tx usermgmt.Tx) error { return tx.CreateGroup(f.ctx, dup) }), usermgmt.CodeConflict, "same id")
}

func testGroupNameIsUniquePerTenantIgnoringCase(t *testing.T, f *fixture) {
	hr := f.mustGroup(acme, "HR Team")
	err := f.do(func(tx usermgmt.Tx) error { return tx.CreateGroup(f.ctx, newGroup(acme, "hr team")) })
	requireCode(t, err, usermgmt.CodeConflict, "the same name in another case")
	assert.Equal(t, usermgmt.FieldName, usermgmt.ErrorField(err))
	f.mustGroup(globex, "HR TEAM") // another tenant's name is its own

	other := f.mustGroup(acme, "Agents")
	other.DisplayName = "HR team"
	err = f.do(func(tx usermgmt.Tx) error { return tx.UpdateGroup(f.ctx, &other) })
	requireCode(t, err, usermgmt.CodeConflict, "renaming to a taken name")
	assert.Equal(t, usermgmt.FieldName, usermgmt.ErrorField(err))

	// The transaction stays usable after the conflict.
	f.mustDo(func(tx usermgmt.Tx) error {
		requireCode(t, tx.UpdateGroup(f.ctx, &other), usermgmt.CodeConflict, "taken")
		_, err := tx.GetGroup(f.ctx, acme, other.ID)
		return err
	})

	hr.DisplayName = "HR TEAM"
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateGroup(f.ctx, &hr) })
	assert.Equal(t, "HR TEAM", f.mustGetGroup(acme, hr.ID).DisplayName, "a group may change the case of its own name")
}

func testGroupsOfOtherTenantAreNotFound(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "HR", usermgmt.RoleHRAdmin)
	ana := f.direct(acme, "ana@acme.test")
	f.mustAdd(g, ana.ID)
	gx := f.direct(globex, "bob@globex.test")

	_, err := f.getGroup(globex, g.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "GetGroup")
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.Group, error) { return tx.LockGroup(f.ctx, globex, g.ID) })
	requireCode(t, err, usermgmt.CodeNotFound, "LockGroup")
	moved := g
	moved.TenantID, moved.DisplayName = globex, "Mine now"
	requireCode(t, f.do(func(tx usermgmt.Tx) error { return tx.UpdateGroup(f.ctx, &moved) }), usermgmt.CodeNotFound, "UpdateGroup")
	_, err = inTx(f, func(tx usermgmt.Tx) ([]uuid.UUID, error) {
		return tx.AddMembers(f.ctx, globex, g.ID, []uuid.UUID{gx.ID}, base)
	})
	requireCode(t, err, usermgmt.CodeNotFound, "AddMembers")
	_, err = inTx(f, func(tx usermgmt.Tx) ([]uuid.UUID, error) {
		return tx.RemoveMembers(f.ctx, globex, g.ID, []uuid.UUID{ana.ID}, base)
	})
	requireCode(t, err, usermgmt.CodeNotFound, "RemoveMembers")
	err = f.do(func(tx usermgmt.Tx) error {
		_, _, err := tx.ReplaceMembers(f.ctx, globex, g.ID, nil, base)
		return err
	})
	requireCode(t, err, usermgmt.CodeNotFound, "ReplaceMembers")
	_, err = inTx(f, func(tx usermgmt.Tx) ([]uuid.UUID, error) { return tx.DeleteGroup(f.ctx, globex, g.ID) })
	requireCode(t, err, usermgmt.CodeNotFound, "DeleteGroup")

	members := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.GroupMember, error) {
		return tx.ListMembers(f.ctx, globex, g.ID, uuid.Nil, 10)
	})
	assert.Empty(t, members, "ListMembers")
	names, total := f.find(usermgmt.GroupFindParams{TenantID: globex, ID: g.ID, Limit: 10})
	assert.Empty(t, names)
	assert.Zero(t, total, "FindGroups by id")
	_, total = f.find(usermgmt.GroupFindParams{TenantID: globex, Member: ana.ID, Limit: 10})
	assert.Zero(t, total, "FindGroups by member")
	held := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.UserGroupRole, error) {
		return tx.GroupRolesOf(f.ctx, globex, []uuid.UUID{ana.ID})
	})
	assert.Empty(t, held, "GroupRolesOf")
	assert.Zero(t, f.sync(globex, g.ID, nil, base.Add(time.Hour)), "SyncRoles by group")
	assert.Zero(t, f.sync(globex, uuid.Nil, []uuid.UUID{ana.ID}, base.Add(time.Hour)), "SyncRoles by user")

	// Nothing moved in acme.
	got := f.mustGetGroup(acme, g.ID)
	assert.Equal(t, "HR", got.DisplayName)
	assert.Equal(t, 1, got.Members)
	assert.Equal(t, []usermgmt.Role(nil), f.mustGetUser(acme, ana.ID).Roles, "never synced in acme")
}

func testAddRemoveMembersReturnChangesAndCount(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "HR")
	a, b, c := f.direct(acme, "a@acme.test"), f.direct(acme, "b@acme.test"), f.direct(acme, "c@acme.test")

	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	change := func(minutes int, fn func(tx usermgmt.Tx, now time.Time) ([]uuid.UUID, error)) []uuid.UUID {
		t.Helper()
		return mustTx(f, func(tx usermgmt.Tx) ([]uuid.UUID, error) { return fn(tx, at(minutes)) })
	}
	add := func(minutes int, ids ...uuid.UUID) []uuid.UUID {
		return change(minutes, func(tx usermgmt.Tx, now time.Time) ([]uuid.UUID, error) {
			return tx.AddMembers(f.ctx, acme, g.ID, ids, now)
		})
	}
	require.Equal(t, sortedIDs([]uuid.UUID{a.ID, b.ID}), sortedIDs(add(1, a.ID, b.ID, a.ID)), "each new member once")
	require.Equal(t, []uuid.UUID{c.ID}, add(2, b.ID, c.ID), "members already in are not added again")
	got := f.mustGetGroup(acme, g.ID)
	assert.Equal(t, 3, got.Members)
	assert.Equal(t, int64(3), got.Version, "each member change moves the version")
	assert.Equal(t, at(2), got.UpdatedAt)
	assert.Empty(t, add(3, a.ID))
	got = f.mustGetGroup(acme, g.ID)
	assert.Equal(t, int64(3), got.Version, "a change of nobody moves nothing")
	assert.Equal(t, at(2), got.UpdatedAt)

	removed := change(4, func(tx usermgmt.Tx, now time.Time) ([]uuid.UUID, error) {
		return tx.RemoveMembers(f.ctx, acme, g.ID, []uuid.UUID{a.ID, a.ID, newID()}, now)
	})
	require.Equal(t, []uuid.UUID{a.ID}, removed, "non-members are no error")
	got = f.mustGetGroup(acme, g.ID)
	assert.Equal(t, 2, got.Members)
	assert.Equal(t, int64(4), got.Version)
	assert.Equal(t, at(4), got.UpdatedAt)
	assert.Empty(t, change(5, func(tx usermgmt.Tx, now time.Time) ([]uuid.UUID, error) {
		return tx.RemoveMembers(f.ctx, acme, g.ID, []uuid.UUID{a.ID}, now)
	}))
	assert.Equal(t, int64(4), f.mustGetGroup(acme, g.ID).Version)

	g.UpdatedAt = at(6)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateGroup(f.ctx, &g) })
	assert.Equal(t, 2, g.Members, "UpdateGroup reports the members")
	assert.Equal(t, int64(5), g.Version, "and the version")
}

func testMembersMustBeUsersOfTheTenant(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "HR")
	a := f.direct(acme, "a@acme.test")
	stranger := f.direct(globex, "s@globex.test")
	nobody := newID()
	for _, bad := range []uuid.UUID{stranger.ID, nobody} {
		_, err := f.add(g, a.ID, bad)
		requireCode(t, err, usermgmt.CodeInvalid, "AddMembers")
		assert.Contains(t, usermgmt.ErrorMessage(err), bad.String(), "the error names the id")
		err = f.do(func(tx usermgmt.Tx) error {
			_, _, err := tx.ReplaceMembers(f.ctx, acme, g.ID, []uuid.UUID{bad}, base)
			return err
		})
		requireCode(t, err, usermgmt.CodeInvalid, "ReplaceMembers")
	}
	assert.Equal(t, 0, f.mustGetGroup(acme, g.ID).Members, "nobody was added")
	_, total := f.find(usermgmt.GroupFindParams{TenantID: acme, Member: a.ID})
	assert.Zero(t, total)
}

func testReplaceMembersSaysWhoJoinedAndLeft(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "HR")
	a, b, c := f.direct(acme, "a@acme.test"), f.direct(acme, "b@acme.test"), f.direct(acme, "c@acme.test")
	f.mustAdd(g, a.ID, b.ID)
	var added, removed []uuid.UUID
	f.mustDo(func(tx usermgmt.Tx) (err error) {
		added, removed, err = tx.ReplaceMembers(f.ctx, acme, g.ID, []uuid.UUID{b.ID, c.ID, c.ID}, base)
		return err
	})
	assert.Equal(t, []uuid.UUID{c.ID}, added)
	assert.Equal(t, []uuid.UUID{a.ID}, removed)
	got := f.mustGetGroup(acme, g.ID)
	assert.Equal(t, 2, got.Members)
	assert.Equal(t, int64(3), got.Version, "created, filled, replaced")
	f.mustDo(func(tx usermgmt.Tx) (err error) {
		added, removed, err = tx.ReplaceMembers(f.ctx, acme, g.ID, []uuid.UUID{c.ID, b.ID}, base)
		return err
	})
	assert.Empty(t, added)
	assert.Empty(t, removed)
	assert.Equal(t, int64(3), f.mustGetGroup(acme, g.ID).Version, "the same members: nothing moves")

	f.mustDo(func(tx usermgmt.Tx) (err error) {
		added, removed, err = tx.ReplaceMembers(f.ctx, acme, g.ID, nil, base)
		return err
	})
	assert.Empty(t, added)
	assert.Equal(t, sortedIDs([]uuid.UUID{b.ID, c.ID}), sortedIDs(removed))
	assert.Equal(t, 0, f.mustGetGroup(acme, g.ID).Members)
}

func testListMembersPagesByUserID(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "HR")
	var ids []uuid.UUID
	for _, e := range []string{"c@acme.test", "a@acme.test", "b@acme.test", "d@acme.test"} {
		u := newUser(acme, e, usermgmt.StatusActive)
		u.DisplayName = "Name of " + e
		f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
		ids = append(ids, u.ID)
	}
	f.mustUser(acme, "outsider@acme.test", usermgmt.StatusActive)
	f.mustAdd(g, ids...)
	ids = sortedIDs(ids)
	page := func(after uuid.UUID, limit int) []usermgmt.GroupMember {
		return mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.GroupMember, error) {
			return tx.ListMembers(f.ctx, acme, g.ID, after, limit)
		})
	}
	first := page(uuid.Nil, 3)
	require.Len(t, first, 3)
	for i, m := range first {
		assert.Equal(t, ids[i], m.UserID)
		u := f.mustGetUser(acme, m.UserID)
		assert.Equal(t, u.Email, m.Email)
		assert.Equal(t, "Name of "+u.Email, m.DisplayName)
	}
	rest := page(first[2].UserID, 3)
	require.Len(t, rest, 1)
	assert.Equal(t, ids[3], rest[0].UserID)
	assert.Empty(t, page(ids[3], 3))
}

func testFindGroupsFiltersOrdersAndCounts(t *testing.T, f *fixture) {
	names := []string{"beta", "Alpha", "gamma", "Delta", "epsilon"}
	groups := map[string]usermgmt.Group{}
	for _, n := range names {
		groups[n] = f.mustGroup(acme, n)
	}
	f.mustGroup(globex, "Alpha2")
	ana := f.direct(acme, "ana@acme.test")
	f.mustAdd(groups["gamma"], ana.ID)
	f.mustAdd(groups["Alpha"], ana.ID)

	all, total := f.find(usermgmt.GroupFindParams{TenantID: acme, Limit: 10})
	assert.Equal(t, []string{"Alpha", "beta", "Delta", "epsilon", "gamma"}, all, "by name ignoring case")
	assert.Equal(t, 5, total)
	page, total := f.find(usermgmt.GroupFindParams{TenantID: acme, Offset: 1, Limit: 2})
	assert.Equal(t, []string{"beta", "Delta"}, page)
	assert.Equal(t, 5, total)
	page, total = f.find(usermgmt.GroupFindParams{TenantID: acme, Offset: 9, Limit: 2})
	assert.Empty(t, page)
	assert.Equal(t, 5, total, "the total past the end")
	page, total = f.find(usermgmt.GroupFindParams{TenantID: acme})
	assert.Empty(t, page)
	assert.Equal(t, 5, total, "limit 0 counts")

	byName, _ := f.find(usermgmt.GroupFindParams{TenantID: acme, DisplayName: "DELTA", Limit: 10})
	assert.Equal(t, []string{"Delta"}, byName)
	byExt, _ := f.find(usermgmt.GroupFindParams{TenantID: acme, ExternalID: "ext-beta", Limit: 10})
	assert.Equal(t, []string{"beta"}, byExt)
	byExt, _ = f.find(usermgmt.GroupFindParams{TenantID: acme, ExternalID: "EXT-BETA", Limit: 10})
	assert.Empty(t, byExt, "externalId is exact")
	byID, _ := f.find(usermgmt.GroupFindParams{TenantID: acme, ID: groups["epsilon"].ID, Limit: 10})
	assert.Equal(t, []string{"epsilon"}, byID)
	mine, total := f.find(usermgmt.GroupFindParams{TenantID: acme, Member: ana.ID, Limit: 10})
	assert.Equal(t, []string{"Alpha", "gamma"}, mine)
	assert.Equal(t, 2, total)
	both, _ := f.find(usermgmt.GroupFindParams{TenantID: acme, Member: ana.ID, DisplayName: "beta", Limit: 10})
	assert.Empty(t, both, "every field must match")
}

func testDeleteGroupReturnsItsMembers(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "HR", usermgmt.RoleHRAdmin)
	keep := f.mustGroup(acme, "Keep", usermgmt.RoleAgent)
	a, b := f.direct(acme, "a@acme.test"), f.direct(acme, "b@acme.test")
	f.mustAdd(g, a.ID, b.ID)
	f.mustAdd(keep, a.ID)
	members := mustTx(f, func(tx usermgmt.Tx) ([]uuid.UUID, error) { return tx.DeleteGroup(f.ctx, acme, g.ID) })
	assert.Equal(t, sortedIDs([]uuid.UUID{a.ID, b.ID}), sortedIDs(members))
	_, err := f.getGroup(acme, g.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "deleted")
	mine, _ := f.find(usermgmt.GroupFindParams{TenantID: acme, Member: a.ID, Limit: 10})
	assert.Equal(t, []string{"Keep"}, mine)
	f.mustGroup(acme, "hr") // the name is free again
	_, err = inTx(f, func(tx usermgmt.Tx) ([]uuid.UUID, error) { return tx.DeleteGroup(f.ctx, acme, g.ID) })
	requireCode(t, err, usermgmt.CodeNotFound, "twice")
}

func testGroupRolesOfNamesEachGroup(t *testing.T, f *fixture) {
	hr := f.mustGroup(acme, "HR", usermgmt.RoleHRAdmin, usermgmt.RoleAgent)
	sup := f.mustGroup(acme, "Supervisors", usermgmt.RoleSupervisor, usermgmt.RoleAgent)
	none := f.mustGroup(acme, "Nothing")
	a, b, c := f.direct(acme, "a@acme.test"), f.direct(acme, "b@acme.test"), f.direct(acme, "c@acme.test")
	f.mustAdd(hr, a.ID, b.ID)
	f.mustAdd(sup, a.ID)
	f.mustAdd(none, c.ID)
	held := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.UserGroupRole, error) {
		return tx.GroupRolesOf(f.ctx, acme, []uuid.UUID{a.ID, c.ID})
	})
	type row struct {
		user  uuid.UUID
		role  usermgmt.Role
		group string
	}
	var got []row
	for _, h := range held {
		want := map[string]uuid.UUID{"HR": hr.ID, "Supervisors": sup.ID}[h.Group]
		assert.Equal(t, want, h.GroupID, h.Group)
		got = append(got, row{h.UserID, h.Role, h.Group})
	}
	assert.ElementsMatch(t, []row{
		{a.ID, usermgmt.RoleHRAdmin, "HR"}, {a.ID, usermgmt.RoleAgent, "HR"},
		{a.ID, usermgmt.RoleSupervisor, "Supervisors"}, {a.ID, usermgmt.RoleAgent, "Supervisors"},
	}, got)
}

func testListUsersReadsGroupRolesWithThePage(t *testing.T, f *fixture) {
	hr := f.mustGroup(acme, "HR", usermgmt.RoleHRAdmin, usermgmt.RoleAgent)
	sup := f.mustGroup(acme, "Supervisors", usermgmt.RoleSupervisor)
	a, b := f.direct(acme, "a@acme.test", usermgmt.RoleAgent), f.direct(acme, "b@acme.test", usermgmt.RoleAgent)
	f.direct(acme, "c@acme.test", usermgmt.RoleAgent)
	f.mustAdd(hr, a.ID)
	f.mustAdd(sup, a.ID, b.ID)
	other := f.mustGroup(globex, "HR", usermgmt.RoleHRAdmin)
	f.mustAdd(other, f.direct(globex, "a@acme.test").ID)
	want := map[string][]usermgmt.GroupRole{
		"a@acme.test": {{Role: usermgmt.RoleHRAdmin, GroupID: hr.ID, Group: "HR"}, {Role: usermgmt.RoleAgent, GroupID: hr.ID, Group: "HR"},
			{Role: usermgmt.RoleSupervisor, GroupID: sup.ID, Group: "Supervisors"}},
		"b@acme.test": {{Role: usermgmt.RoleSupervisor, GroupID: sup.ID, Group: "Supervisors"}},
	}
	for name, p := range map[string]usermgmt.UserListParams{
		"All":    {TenantID: acme, Limit: 10},
		"Status": {TenantID: acme, Status: usermgmt.StatusActive, Limit: 10},
		"Role":   {TenantID: acme, Role: usermgmt.RoleAgent, Limit: 10},
		"Search": {TenantID: acme, Search: "@acme", Limit: 10},
	} {
		t.Run(name, func(t *testing.T) {
			users := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.User, error) { return tx.ListUsers(f.ctx, p) })
			require.Len(t, users, 3)
			for _, u := range users {
				assert.ElementsMatch(t, want[u.Email], u.GroupRoles, u.Email)
				if want[u.Email] == nil {
					assert.Empty(t, u.GroupRoles, u.Email)
				}
			}
		})
	}
}

func testSyncRolesUnionsDirectAndGroupRoles(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "Admins", usermgmt.RoleAgent, usermgmt.RoleTenantAdmin)
	other := f.mustGroup(acme, "Sup", usermgmt.RoleSupervisor)
	a := f.direct(acme, "a@acme.test", usermgmt.RoleAgent, usermgmt.RoleHRManager)
	b := f.direct(acme, "b@acme.test")
	f.mustAdd(g, a.ID, b.ID)
	f.mustAdd(other, b.ID)
	later := base.Add(time.Hour)

	assert.Equal(t, 2, f.sync(acme, g.ID, nil, later), "both members changed")
	ga, gb := f.mustGetUser(acme, a.ID), f.mustGetUser(acme, b.ID)
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleTenantAdmin, usermgmt.RoleHRManager, usermgmt.RoleAgent}, ga.Roles,
		"direct and group roles, once each, in catalogue order")
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent, usermgmt.RoleHRManager}, ga.DirectRoles, "direct roles untouched")
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleTenantAdmin, usermgmt.RoleSupervisor, usermgmt.RoleAgent}, gb.Roles,
		"every group of the member counts, not only the one synced")
	assert.Equal(t, later, ga.UpdatedAt.UTC())
	assert.Equal(t, a.Version+1, ga.Version)
	assert.Equal(t, 2, f.activeWithRole(acme, usermgmt.RoleTenantAdmin), "counts follow")
	listed := f.list(usermgmt.UserListParams{TenantID: acme, Role: usermgmt.RoleTenantAdmin, Limit: 10})
	assert.Equal(t, []string{"a@acme.test", "b@acme.test"}, emails(listed), "the role filter follows")

	// By user ids, after the group lost its roles.
	g.Roles = nil
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateGroup(f.ctx, &g) })
	assert.Equal(t, 2, f.sync(acme, uuid.Nil, []uuid.UUID{a.ID, b.ID}, later.Add(time.Hour)))
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleHRManager, usermgmt.RoleAgent}, f.mustGetUser(acme, a.ID).Roles)
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor}, f.mustGetUser(acme, b.ID).Roles)
	assert.Zero(t, f.activeWithRole(acme, usermgmt.RoleTenantAdmin))
}

func testSyncRolesWritesOnlyChangedUsers(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "Agents", usermgmt.RoleAgent)
	same := f.direct(acme, "same@acme.test", usermgmt.RoleAgent)
	f.mustAdd(g, same.ID)
	assert.Zero(t, f.sync(acme, g.ID, nil, base.Add(time.Hour)))
	got := f.mustGetUser(acme, same.ID)
	assert.Equal(t, same.Version, got.Version, "an unchanged user keeps its version")
	assert.Equal(t, base, got.UpdatedAt.UTC(), "and its UpdatedAt")
}

func testAppendEventsAddsEveryEvent(t *testing.T, f *fixture) {
	a, b := f.direct(acme, "a@acme.test"), f.direct(acme, "b@acme.test")
	es := []usermgmt.Event{*newEvent(a, usermgmt.EventGroupJoined, `HR "Team"`), *newEvent(b, usermgmt.EventGroupJoined, "HR, {x}"),
		*newEvent(a, usermgmt.EventGroupLeft, `back\slash`)}
	es[1].ActorID = a.ID
	es[2].ActorName = "provisioning: Okta"
	f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvents(f.ctx, es) })
	f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvents(f.ctx, nil) })
	gotA := normEvents(f.events(acme, a.ID, uuid.Nil, 10))
	gotB := normEvents(f.events(acme, b.ID, uuid.Nil, 10))
	require.Len(t, gotA, 2)
	require.Len(t, gotB, 1)
	gotA[0].ActorEmail, gotA[1].ActorEmail = "", ""
	assert.Equal(t, "a@acme.test", gotB[0].ActorEmail)
	gotB[0].ActorEmail = ""
	assert.Equal(t, normEvents([]usermgmt.Event{es[2], es[0]}), gotA)
	assert.Equal(t, normEvents([]usermgmt.Event{es[1]}), gotB)
	requireCode(t, f.do(func(tx usermgmt.Tx) error { return tx.AppendEvents(f.ctx, es[:1]) }), usermgmt.CodeConflict, "same id")
}

func testFailedTxLeavesGroupsAsTheyWere(t *testing.T, f *fixture) {
	g := f.mustGroup(acme, "HR", usermgmt.RoleHRAdmin)
	a, b := f.direct(acme, "a@acme.test"), f.direct(acme, "b@acme.test")
	f.mustAdd(g, a.ID)
	f.sync(acme, g.ID, nil, base)
	before := f.mustGetGroup(acme, g.ID)
	err := f.do(func(tx usermgmt.Tx) error {
		if _, err := tx.AddMembers(f.ctx, acme, g.ID, []uuid.UUID{b.ID}, base); err != nil {
			return err
		}
		if _, err := tx.RemoveMembers(f.ctx, acme, g.ID, []uuid.UUID{a.ID}, base); err != nil {
			return err
		}
		if _, err := tx.SyncRoles(f.ctx, acme, uuid.Nil, []uuid.UUID{a.ID, b.ID}, catalogue(), base.Add(time.Hour)); err != nil {
			return err
		}
		next := g
		next.DisplayName, next.Roles = "Renamed", nil
		if err := tx.UpdateGroup(f.ctx, &next); err != nil {
			return err
		}
		if err := tx.CreateGroup(f.ctx, newGroup(acme, "New")); err != nil {
			return err
		}
		if _, err := tx.DeleteGroup(f.ctx, acme, g.ID); err != nil {
			return err
		}
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	assert.Equal(t, before, f.mustGetGroup(acme, g.ID))
	names, _ := f.find(usermgmt.GroupFindParams{TenantID: acme, Limit: 10})
	assert.Equal(t, []string{"HR"}, names)
	mine, _ := f.find(usermgmt.GroupFindParams{TenantID: acme, Member: a.ID, Limit: 10})
	assert.Equal(t, []string{"HR"}, mine)
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleHRAdmin}, f.mustGetUser(acme, a.ID).Roles)
	assert.Empty(t, f.mustGetUser(acme, b.ID).Roles)
}
