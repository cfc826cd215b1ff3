package usermgmt_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// okta is a provisioning token of the tenant, as AuthenticateProvisioning
// returns one.
func (e *env) okta(tenantID string) context.Context {
	return usermgmt.AsProvisioner(context.Background(), usermgmt.ProvisioningToken{ID: uuid.Must(uuid.NewV7()),
		TenantID: tenantID, Name: "Okta"})
}

// group creates a group as the system, with members, mapped to roles
// (none: unmapped).
func (e *env) group(t *testing.T, name string, roles []usermgmt.Role, members ...uuid.UUID) usermgmt.Group {
	t.Helper()
	g, err := e.m.CreateGroup(system, tenant, usermgmt.NewGroup{DisplayName: name, ExternalID: "ext-" + name, Members: members})
	require.NoError(t, err)
	if len(roles) > 0 {
		g, err = e.m.SetGroupRoles(system, tenant, g.ID, roles)
		require.NoError(t, err)
	}
	return g
}

func (e *env) roles(t *testing.T, id uuid.UUID) (roles, direct []usermgmt.Role) {
	t.Helper()
	u, err := e.m.GetUser(system, tenant, id)
	require.NoError(t, err)
	return u.Roles, u.DirectRoles
}

func rs(roles ...usermgmt.Role) []usermgmt.Role { return roles }

func TestGroups(t *testing.T) {
	t.Run("CreateGroupWithMembersLogsEachJoin", func(t *testing.T) {
		e := mustManager(t)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		g, err := e.m.CreateGroup(e.ctx, tenant, usermgmt.NewGroup{DisplayName: "  HR Team ", ExternalID: "okta-1",
			Members: []uuid.UUID{ana.ID, ana.ID}})
		require.NoError(t, err)
		assert.Equal(t, "HR Team", g.DisplayName, "trimmed")
		assert.Equal(t, 1, g.Members)
		got, err := e.m.GetGroup(e.ctx, tenant, g.ID)
		require.NoError(t, err)
		assert.Equal(t, g, got)
		page, err := e.m.ListActivity(e.ctx, tenant, ana.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		require.NotEmpty(t, page.Events)
		assert.Equal(t, usermgmt.EventGroupJoined, page.Events[0].Type)
		assert.Equal(t, "HR Team", page.Events[0].Detail)
		assert.Equal(t, e.admin.ID, page.Events[0].ActorID)
	})

	t.Run("CreateGroupRefusesBadInput", func(t *testing.T) {
		e := mustManager(t)
		e.group(t, "HR", nil)
		_, err := e.m.CreateGroup(e.ctx, tenant, usermgmt.NewGroup{DisplayName: "  "})
		assert.Equal(t, usermgmt.CodeInvalid, code(err))
		assert.Equal(t, usermgmt.FieldName, usermgmt.ErrorField(err))
		for _, bad := range []string{strings.Repeat("n", 257), "HR\nTeam", "HR\xff"} {
			_, err = e.m.CreateGroup(e.ctx, tenant, usermgmt.NewGroup{DisplayName: bad})
			assert.Equal(t, usermgmt.CodeInvalid, code(err), "%q", bad)
			assert.Equal(t, usermgmt.FieldName, usermgmt.ErrorField(err))
		}
		_, err = e.m.CreateGroup(e.ctx, tenant, usermgmt.NewGroup{DisplayName: "Ext", ExternalID: strings.Repeat("x", 257)})
		assert.Equal(t, usermgmt.CodeInvalid, code(err), "a long externalId")
		_, err = e.m.CreateGroup(e.ctx, tenant, usermgmt.NewGroup{DisplayName: "hr"})
		assert.Equal(t, usermgmt.CodeConflict, code(err), "names are unique ignoring case")
		assert.Equal(t, usermgmt.FieldName, usermgmt.ErrorField(err))
		stranger := e.seedActive(t, "globex", "s@globex.test", usermgmt.RoleAgent)
		for _, id := range []uuid.UUID{stranger.ID, uuid.Must(uuid.NewV7())} {
			_, err = e.m.CreateGroup(e.ctx, tenant, usermgmt.NewGroup{DisplayName: "New", Members: []uuid.UUID{e.admin.ID, id}})
			assert.Equal(t, usermgmt.CodeInvalid, code(err), "a member must be a user of the tenant")
			assert.Contains(t, usermgmt.ErrorMessage(err), id.String(), "naming the id")
		}
		res, err := e.m.FindGroups(e.ctx, tenant, usermgmt.GroupQuery{DisplayName: "new"})
		require.NoError(t, err)
		assert.Zero(t, res.Total, "nothing of a refused create is kept")
	})

	t.Run("ReadingGroupsNeedsListUsers", func(t *testing.T) {
		e := mustManager(t)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		g := e.group(t, "HR", nil, ana.ID)
		agent := e.as(ana)
		_, err := e.m.GetGroup(agent, tenant, g.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "GetGroup")
		_, err = e.m.FindGroups(agent, tenant, usermgmt.GroupQuery{})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "FindGroups")
		_, err = e.m.ListGroupMembers(agent, tenant, g.ID, usermgmt.MemberQuery{})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "ListGroupMembers")
		_, err = e.m.GroupsOf(agent, tenant, ana.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "GroupsOf")
		_, err = e.m.GetGroup(context.Background(), tenant, g.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "no actor")

		auditor := e.as(e.seedActive(t, tenant, "audit@acme.test", usermgmt.RoleComplianceOfficer))
		_, err = e.m.GetGroup(auditor, tenant, g.ID)
		require.NoError(t, err)
		groups, err := e.m.GroupsOf(auditor, tenant, ana.ID)
		require.NoError(t, err)
		require.Len(t, groups, 1)
		assert.Equal(t, g.ID, groups[0].ID)
	})

	t.Run("ChangingGroupsNeedsChangeRoles", func(t *testing.T) {
		e := mustManager(t)
		g := e.group(t, "HR", nil)
		manager := e.as(e.seedActive(t, tenant, "m@acme.test", usermgmt.RoleHRManager))
		_, err := e.m.CreateGroup(manager, tenant, usermgmt.NewGroup{DisplayName: "Mine"})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "CreateGroup")
		_, err = e.m.UpdateGroup(manager, tenant, g.ID, usermgmt.GroupChange{Add: []uuid.UUID{e.admin.ID}})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "UpdateGroup")
		assert.Equal(t, usermgmt.CodePermissionDenied, code(e.m.DeleteGroup(manager, tenant, g.ID)), "DeleteGroup")

		hr := e.as(e.seedActive(t, tenant, "hr@acme.test", usermgmt.RoleHRAdmin))
		_, err = e.m.CreateGroup(hr, tenant, usermgmt.NewGroup{DisplayName: "Mine"})
		require.NoError(t, err, "hr_admin may change roles, so groups")
	})

	t.Run("OnlyATenantAdminMapsGroups", func(t *testing.T) {
		e := mustManager(t)
		g := e.group(t, "HR", nil)
		hr := e.as(e.seedActive(t, tenant, "hr@acme.test", usermgmt.RoleHRAdmin))
		_, err := e.m.SetGroupRoles(hr, tenant, g.ID, rs(usermgmt.RoleAgent))
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "hr_admin")
		_, err = e.m.SetGroupRoles(e.okta(tenant), tenant, g.ID, rs(usermgmt.RoleAgent))
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "the identity provider")
		_, err = e.m.SetGroupRoles(e.ctx, tenant, g.ID, rs("pilot"))
		assert.Equal(t, usermgmt.CodeInvalid, code(err), "unknown role")
		_, err = e.m.SetGroupRoles(e.ctx, tenant, g.ID, rs(usermgmt.RoleTenantAdmin))
		assert.Equal(t, usermgmt.CodeMFARequired, code(err), "tenant_admin needs sudo")
		g, err = e.m.SetGroupRoles(e.ctx, tenant, g.ID, rs(usermgmt.RoleAgent, usermgmt.RoleSupervisor, usermgmt.RoleAgent))
		require.NoError(t, err)
		assert.Equal(t, rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), g.Roles, "catalogue order, once each")
		g, err = e.m.SetGroupRoles(e.sudo(e.admin), tenant, g.ID, rs(usermgmt.RoleTenantAdmin))
		require.NoError(t, err)
		assert.Equal(t, rs(usermgmt.RoleTenantAdmin), g.Roles)
	})

	t.Run("MembersHoldTheGroupsRoles", func(t *testing.T) {
		e := mustManager(t)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		bob := e.seedActive(t, tenant, "bob@acme.test", usermgmt.RoleAgent)
		g := e.group(t, "Leads", rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), ana.ID)
		roles, direct := e.roles(t, ana.ID)
		assert.Equal(t, rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), roles)
		assert.Equal(t, rs(usermgmt.RoleAgent), direct)

		u, err := e.m.GetUser(e.ctx, tenant, ana.ID)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.GroupRole{{Role: usermgmt.RoleSupervisor, GroupID: g.ID, Group: "Leads"},
			{Role: usermgmt.RoleAgent, GroupID: g.ID, Group: "Leads"}}, u.GroupRoles)
		page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Role: usermgmt.RoleSupervisor})
		require.NoError(t, err)
		require.Len(t, page.Users, 1, "the role filter reads effective roles")
		assert.Equal(t, u.GroupRoles, page.Users[0].GroupRoles)

		_, err = e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{Add: []uuid.UUID{bob.ID}, Remove: []uuid.UUID{ana.ID}})
		require.NoError(t, err)
		roles, _ = e.roles(t, ana.ID)
		assert.Equal(t, rs(usermgmt.RoleAgent), roles, "a member who left loses the group's roles")
		roles, _ = e.roles(t, bob.ID)
		assert.Equal(t, rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), roles)

		_, err = e.m.SetGroupRoles(e.ctx, tenant, g.ID, nil)
		require.NoError(t, err)
		roles, _ = e.roles(t, bob.ID)
		assert.Equal(t, rs(usermgmt.RoleAgent), roles, "unmapping takes the roles back")
		_, err = e.m.SetGroupRoles(e.ctx, tenant, g.ID, rs(usermgmt.RoleRecruiter))
		require.NoError(t, err)
		require.NoError(t, e.m.DeleteGroup(e.ctx, tenant, g.ID))
		roles, _ = e.roles(t, bob.ID)
		assert.Equal(t, rs(usermgmt.RoleAgent), roles, "deleting the group takes them back")
		page, err = e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Role: usermgmt.RoleRecruiter})
		require.NoError(t, err)
		assert.Empty(t, page.Users)
	})

	t.Run("DirectToggleKeepsARoleHeldThroughAGroup", func(t *testing.T) {
		e := mustManager(t)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		g := e.group(t, "Leads", rs(usermgmt.RoleSupervisor), ana.ID)

		u, err := e.m.RevokeRole(e.ctx, tenant, ana.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err, "not held directly: nothing to revoke")
		assert.Equal(t, rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), u.Roles)
		assert.Equal(t, []usermgmt.GroupRole{{Role: usermgmt.RoleSupervisor, GroupID: g.ID, Group: "Leads"}}, u.GroupRoles,
			"the user returned says where the role comes from")
		u, err = e.m.GrantRole(e.ctx, tenant, ana.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err)
		assert.Equal(t, rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), u.DirectRoles, "granted directly as well")
		_, err = e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{Remove: []uuid.UUID{ana.ID}})
		require.NoError(t, err)
		roles, _ := e.roles(t, ana.ID)
		assert.Equal(t, rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), roles, "still held directly")
		_, err = e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{Add: []uuid.UUID{ana.ID}})
		require.NoError(t, err)
		u, err = e.m.RevokeRole(e.ctx, tenant, ana.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err)
		assert.Equal(t, rs(usermgmt.RoleAgent), u.DirectRoles)
		assert.Equal(t, rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), u.Roles, "still held through the group")
		page, err := e.m.ListActivity(e.ctx, tenant, ana.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.EventRoleRevoked, page.Events[0].Type, "the direct revoke is logged")
	})

	t.Run("InviteGrantsDirectRoles", func(t *testing.T) {
		e := mustManager(t)
		u, _ := e.invite(t, "new@acme.test", usermgmt.RoleAgent, usermgmt.RoleRecruiter)
		assert.Equal(t, rs(usermgmt.RoleRecruiter, usermgmt.RoleAgent), u.DirectRoles)
		assert.Equal(t, u.DirectRoles, u.Roles)
	})

	t.Run("LastAdminKeepsTheRoleThroughEveryGroupChange", func(t *testing.T) {
		e := mustManager(t)
		admins := e.group(t, "Admins", nil, e.admin.ID)
		_, err := e.m.SetGroupRoles(e.sudo(e.admin), tenant, admins.ID, rs(usermgmt.RoleTenantAdmin))
		require.NoError(t, err)
		// The only admin now holds the role through the group alone.
		_, err = e.m.RevokeRole(e.ctx, tenant, e.admin.ID, usermgmt.RoleTenantAdmin)
		require.NoError(t, err)
		roles, direct := e.roles(t, e.admin.ID)
		require.Equal(t, rs(usermgmt.RoleTenantAdmin), roles)
		require.Empty(t, direct)
		other := e.seedActive(t, tenant, "other@acme.test", usermgmt.RoleAgent)

		changes := []struct {
			name   string
			change func() error
		}{
			{"member removed", func() error {
				_, err := e.m.UpdateGroup(e.ctx, tenant, admins.ID, usermgmt.GroupChange{Remove: []uuid.UUID{e.admin.ID}})
				return err
			}},
			{"members replaced", func() error {
				_, err := e.m.UpdateGroup(e.ctx, tenant, admins.ID, usermgmt.GroupChange{Members: &[]uuid.UUID{}})
				return err
			}},
			{"mapping changed", func() error {
				_, err := e.m.SetGroupRoles(e.ctx, tenant, admins.ID, rs(usermgmt.RoleAgent))
				return err
			}},
			{"group deleted", func() error { return e.m.DeleteGroup(e.ctx, tenant, admins.ID) }},
		}
		for _, c := range changes {
			assert.Equal(t, usermgmt.CodeConflict, code(c.change()), c.name)
			roles, _ := e.roles(t, e.admin.ID)
			assert.Equal(t, rs(usermgmt.RoleTenantAdmin), roles, "%s: nothing kept", c.name)
			g, err := e.m.GetGroup(e.ctx, tenant, admins.ID)
			require.NoError(t, err, c.name)
			assert.Equal(t, 1, g.Members, c.name)
			assert.Equal(t, rs(usermgmt.RoleTenantAdmin), g.Roles, c.name)
		}

		// Replacing the last admin by another is no loss.
		_, err = e.m.UpdateGroup(e.ctx, tenant, admins.ID, usermgmt.GroupChange{Members: &[]uuid.UUID{other.ID, e.admin.ID}})
		require.NoError(t, err)
		_, err = e.m.UpdateGroup(e.ctx, tenant, admins.ID, usermgmt.GroupChange{Members: &[]uuid.UUID{other.ID}})
		require.NoError(t, err, "another member keeps the role")
		roles, _ = e.roles(t, other.ID)
		assert.Equal(t, rs(usermgmt.RoleTenantAdmin, usermgmt.RoleAgent), roles)
		e.ctx = e.sudo(other)
		_, err = e.m.UpdateGroup(e.ctx, tenant, admins.ID, usermgmt.GroupChange{Add: []uuid.UUID{e.admin.ID}})
		require.NoError(t, err)

		// With another admin, the group may go.
		e.seedActive(t, tenant, "second@acme.test", usermgmt.RoleTenantAdmin)
		require.NoError(t, e.m.DeleteGroup(e.ctx, tenant, admins.ID))
		roles, _ = e.roles(t, e.admin.ID)
		assert.Empty(t, roles)
	})

	t.Run("AddingToAnAdminGroupIsGrantingAdmin", func(t *testing.T) {
		e := mustManager(t)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		bob := e.seedActive(t, tenant, "bob@acme.test", usermgmt.RoleAgent)
		admins := e.group(t, "Admins", rs(usermgmt.RoleTenantAdmin))
		plain := e.group(t, "Plain", rs(usermgmt.RoleAgent))
		hr := e.as(e.seedActive(t, tenant, "hr@acme.test", usermgmt.RoleHRAdmin))

		_, err := e.m.UpdateGroup(hr, tenant, admins.ID, usermgmt.GroupChange{Add: []uuid.UUID{ana.ID}})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "hr_admin adding to an admin group")
		_, err = e.m.CreateGroup(hr, tenant, usermgmt.NewGroup{DisplayName: "More"})
		require.NoError(t, err)
		_, err = e.m.UpdateGroup(hr, tenant, plain.ID, usermgmt.GroupChange{Add: []uuid.UUID{ana.ID}})
		require.NoError(t, err, "a group without tenant_admin is hr_admin's to fill")

		g, err := e.m.UpdateGroup(e.okta(tenant), tenant, admins.ID, usermgmt.GroupChange{Add: []uuid.UUID{bob.ID}})
		require.NoError(t, err, "the identity provider may: a tenant admin made the mapping")
		assert.Equal(t, 1, g.Members)
		roles, _ := e.roles(t, bob.ID)
		assert.Equal(t, rs(usermgmt.RoleTenantAdmin, usermgmt.RoleAgent), roles)
		_, err = e.m.UpdateGroup(hr, tenant, admins.ID, usermgmt.GroupChange{Remove: []uuid.UUID{bob.ID}})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "nor take it from a tenant admin")
		assert.Equal(t, usermgmt.CodePermissionDenied, code(e.m.DeleteGroup(hr, tenant, admins.ID)))
	})

	t.Run("TheIdentityProviderStaysInItsTenant", func(t *testing.T) {
		e := mustManager(t)
		okta := e.okta(tenant)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		g, err := e.m.CreateGroup(okta, tenant, usermgmt.NewGroup{DisplayName: "Pushed", Members: []uuid.UUID{ana.ID}})
		require.NoError(t, err)
		_, err = e.m.FindGroups(okta, tenant, usermgmt.GroupQuery{ExternalID: "x"})
		require.NoError(t, err)
		g, err = e.m.UpdateGroup(okta, tenant, g.ID, usermgmt.GroupChange{Remove: []uuid.UUID{ana.ID}})
		require.NoError(t, err)
		assert.Zero(t, g.Members)

		globex := e.okta("globex")
		_, err = e.m.GetGroup(globex, tenant, g.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "another tenant's token")
		_, err = e.m.CreateGroup(globex, tenant, usermgmt.NewGroup{DisplayName: "Sneaky"})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		assert.Equal(t, usermgmt.CodePermissionDenied, code(e.m.DeleteGroup(globex, tenant, g.ID)))
	})

	t.Run("OtherTenantIsNotFound", func(t *testing.T) {
		e := mustManager(t)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		g := e.group(t, "HR", rs(usermgmt.RoleAgent), ana.ID)
		boss := e.seedActive(t, "globex", "boss@globex.test", usermgmt.RoleTenantAdmin)
		gx := e.sudo(boss)
		mine, err := e.m.CreateGroup(gx, "globex", usermgmt.NewGroup{DisplayName: "Globex"})
		require.NoError(t, err)

		_, err = e.m.GetGroup(gx, "globex", g.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "GetGroup")
		_, err = e.m.ListGroupMembers(gx, "globex", g.ID, usermgmt.MemberQuery{})
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "ListGroupMembers")
		_, err = e.m.UpdateGroup(gx, "globex", g.ID, usermgmt.GroupChange{Remove: []uuid.UUID{ana.ID}})
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "UpdateGroup")
		_, err = e.m.SetGroupRoles(gx, "globex", g.ID, nil)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "SetGroupRoles")
		assert.Equal(t, usermgmt.CodeNotFound, code(e.m.DeleteGroup(gx, "globex", g.ID)), "DeleteGroup")
		_, err = e.m.GroupsOf(gx, "globex", ana.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "GroupsOf")
		res, err := e.m.FindGroups(gx, "globex", usermgmt.GroupQuery{Member: ana.ID, Limit: 10})
		require.NoError(t, err)
		assert.Zero(t, res.Total, "FindGroups by member")
		res, err = e.m.FindGroups(gx, "globex", usermgmt.GroupQuery{DisplayName: "HR", Limit: 10})
		require.NoError(t, err)
		assert.Zero(t, res.Total, "FindGroups by name")
		_, err = e.m.UpdateGroup(gx, "globex", mine.ID, usermgmt.GroupChange{Add: []uuid.UUID{ana.ID}})
		assert.Equal(t, usermgmt.CodeInvalid, code(err), "another tenant's user is no member")

		// An admin of acme reaching into globex is no actor there.
		_, err = e.m.GetGroup(e.ctx, "globex", mine.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))

		got, err := e.m.GetGroup(e.ctx, tenant, g.ID)
		require.NoError(t, err)
		assert.Equal(t, g, got, "untouched")
	})

	t.Run("IfVersionGuardsAStaleChange", func(t *testing.T) {
		e := mustManager(t)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		g := e.group(t, "HR", nil)
		name := "People"
		g2, err := e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{DisplayName: &name, IfVersion: g.Version})
		require.NoError(t, err)
		assert.Equal(t, g.Version+1, g2.Version)
		_, err = e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{Add: []uuid.UUID{ana.ID}, IfVersion: g.Version})
		assert.Equal(t, usermgmt.CodeConflict, code(err))
		assert.Equal(t, usermgmt.FieldVersion, usermgmt.ErrorField(err))
		g3, err := e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{Add: []uuid.UUID{ana.ID}})
		require.NoError(t, err)
		assert.Equal(t, g2.Version+1, g3.Version, "a member change is a change")
		g4, err := e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{DisplayName: &name, Add: []uuid.UUID{ana.ID}})
		require.NoError(t, err)
		assert.Equal(t, g3.Version, g4.Version, "nothing changed: the version stays")
		_, err = e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{Members: &[]uuid.UUID{}, Add: []uuid.UUID{ana.ID}})
		assert.Equal(t, usermgmt.CodeInvalid, code(err), "replace and add at once")
	})

	t.Run("LeavingIsLoggedOnEachMember", func(t *testing.T) {
		e := mustManager(t)
		ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
		bob := e.seedActive(t, tenant, "bob@acme.test", usermgmt.RoleAgent)
		g := e.group(t, "HR", nil, ana.ID, bob.ID)
		_, err := e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{Members: &[]uuid.UUID{bob.ID}})
		require.NoError(t, err)
		last := func(id uuid.UUID) usermgmt.Event {
			page, err := e.m.ListActivity(e.ctx, tenant, id, usermgmt.ActivityQuery{})
			require.NoError(t, err)
			return page.Events[0]
		}
		assert.Equal(t, usermgmt.EventGroupLeft, last(ana.ID).Type)
		assert.Equal(t, usermgmt.EventGroupJoined, last(bob.ID).Type, "a member who stays is not logged again")
		require.NoError(t, e.m.DeleteGroup(e.ctx, tenant, g.ID))
		assert.Equal(t, usermgmt.EventGroupLeft, last(bob.ID).Type)
		assert.Equal(t, "HR", last(bob.ID).Detail)
	})

	t.Run("FindAndListMembers", func(t *testing.T) {
		e := mustManager(t)
		var ids []uuid.UUID
		for _, name := range []string{"c", "a", "b"} {
			ids = append(ids, e.seedActive(t, tenant, name+"@acme.test", usermgmt.RoleAgent).ID)
		}
		g := e.group(t, "Zeta", nil, ids...)
		e.group(t, "alpha", nil, ids[0])
		res, err := e.m.FindGroups(e.ctx, tenant, usermgmt.GroupQuery{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 2, res.Total)
		assert.Equal(t, "alpha", res.Groups[0].DisplayName)
		res, err = e.m.FindGroups(e.ctx, tenant, usermgmt.GroupQuery{DisplayName: "ZETA", Limit: 1})
		require.NoError(t, err)
		require.Len(t, res.Groups, 1)
		assert.Equal(t, g.ID, res.Groups[0].ID)
		_, err = e.m.FindGroups(e.ctx, tenant, usermgmt.GroupQuery{Limit: usermgmt.MaxFindLimit + 1})
		assert.Equal(t, usermgmt.CodeInvalid, code(err))
		_, err = e.m.FindGroups(e.ctx, tenant, usermgmt.GroupQuery{Offset: -1})
		assert.Equal(t, usermgmt.CodeInvalid, code(err))

		first, err := e.m.ListGroupMembers(e.ctx, tenant, g.ID, usermgmt.MemberQuery{Limit: 2})
		require.NoError(t, err)
		require.Len(t, first, 2)
		rest, err := e.m.ListGroupMembers(e.ctx, tenant, g.ID, usermgmt.MemberQuery{After: first[1].UserID, Limit: 2})
		require.NoError(t, err)
		require.Len(t, rest, 1)
		seen := map[uuid.UUID]string{first[0].UserID: first[0].Email, first[1].UserID: first[1].Email, rest[0].UserID: rest[0].Email}
		assert.Len(t, seen, 3)
		_, err = e.m.ListGroupMembers(e.ctx, tenant, g.ID, usermgmt.MemberQuery{Limit: usermgmt.MaxMemberPage + 1})
		assert.Equal(t, usermgmt.CodeInvalid, code(err))
		_, err = e.m.ListGroupMembers(e.ctx, tenant, uuid.Must(uuid.NewV7()), usermgmt.MemberQuery{})
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
	})

	t.Run("SessionsSeeGroupRolesOnRefresh", func(t *testing.T) {
		e := mustManager(t)
		u, _, s, _ := e.onboard(t, "agent@acme.test", usermgmt.RoleAgent)
		g := e.group(t, "Leads", rs(usermgmt.RoleSupervisor))
		_, err := e.m.UpdateGroup(e.ctx, tenant, g.ID, usermgmt.GroupChange{Add: []uuid.UUID{u.ID}})
		require.NoError(t, err)
		p, err := e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		assert.Equal(t, rs(usermgmt.RoleAgent), p.Roles, "a session holds its snapshot")
		s, err = e.m.Refresh(context.Background(), s.RefreshToken)
		require.NoError(t, err)
		p, err = e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		assert.Equal(t, rs(usermgmt.RoleSupervisor, usermgmt.RoleAgent), p.Roles, "Refresh re-reads the roles")

		require.NoError(t, e.m.DeleteGroup(e.ctx, tenant, g.ID))
		s, err = e.m.Refresh(context.Background(), s.RefreshToken)
		require.NoError(t, err)
		p, err = e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		assert.Equal(t, rs(usermgmt.RoleAgent), p.Roles)
	})
}
