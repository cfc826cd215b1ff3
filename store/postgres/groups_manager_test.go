package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The groups' story on PostgreSQL, across the two instances: what one
// changes, the other reads.
func TestGroupsOnPostgres(t *testing.T) {
	in := twoManagers(t)
	sys := usermgmt.AsSystem(context.Background())
	okta := usermgmt.AsProvisioner(context.Background(), usermgmt.ProvisioningToken{ID: uuid.Must(uuid.NewV7()),
		TenantID: "acme", Name: "Okta"})
	roles := func(t *testing.T, id uuid.UUID) usermgmt.User {
		t.Helper()
		u, err := in.two.GetUser(sys, "acme", id)
		require.NoError(t, err)
		return u
	}

	t.Run("MembersHoldTheRolesAndSessionsSeeThemOnRefresh", func(t *testing.T) {
		u, _, s := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
		g, err := in.one.CreateGroup(okta, "acme", usermgmt.NewGroup{DisplayName: "Leads", Members: []uuid.UUID{u.ID}})
		require.NoError(t, err)
		g, err = in.two.SetGroupRoles(sys, "acme", g.ID, []usermgmt.Role{usermgmt.RoleSupervisor})
		require.NoError(t, err)
		got := roles(t, u.ID)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, got.Roles)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, got.DirectRoles)
		assert.Equal(t, []usermgmt.GroupRole{{Role: usermgmt.RoleSupervisor, GroupID: g.ID, Group: "Leads"}}, got.GroupRoles)
		page, err := in.one.ListUsers(sys, "acme", usermgmt.ListUsersQuery{Role: usermgmt.RoleSupervisor})
		require.NoError(t, err)
		require.Len(t, page.Users, 1)
		assert.Equal(t, got.GroupRoles, page.Users[0].GroupRoles)

		s, err = in.one.Refresh(context.Background(), s.RefreshToken)
		require.NoError(t, err)
		p, err := in.two.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, p.Roles)

		_, err = in.two.UpdateGroup(okta, "acme", g.ID, usermgmt.GroupChange{Remove: []uuid.UUID{u.ID}})
		require.NoError(t, err)
		s, err = in.two.Refresh(context.Background(), s.RefreshToken)
		require.NoError(t, err)
		p, err = in.one.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, p.Roles)
		page2, err := in.one.ListActivity(sys, "acme", u.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.EventGroupLeft, page2.Events[0].Type)
		assert.Equal(t, "Leads", page2.Events[0].Detail)
	})

	t.Run("AMappingReachesEveryMemberInOneStatement", func(t *testing.T) {
		var ids []uuid.UUID
		for i := range 300 {
			u, err := in.one.InviteUser(sys, "acme", usermgmt.Invite{Email: fmt.Sprintf("m%d@acme.test", i),
				Roles: []usermgmt.Role{usermgmt.RoleAgent}})
			require.NoError(t, err)
			ids = append(ids, u.ID)
		}
		g, err := in.one.CreateGroup(sys, "acme", usermgmt.NewGroup{DisplayName: "Many", Members: ids})
		require.NoError(t, err)
		assert.Equal(t, 300, g.Members)
		_, err = in.two.SetGroupRoles(sys, "acme", g.ID, []usermgmt.Role{usermgmt.RoleRecruiter})
		require.NoError(t, err)
		db := openDB(t)
		assert.Equal(t, 300, count(t, db, in.store, "users", "roles = '{recruiter,agent}' AND direct_roles = '{agent}'"))
		assert.Equal(t, 300, count(t, db, in.store, "user_roles", "role = 'recruiter'"), "the role filter's table follows")
		require.NoError(t, in.one.DeleteGroup(sys, "acme", g.ID))
		assert.Zero(t, count(t, db, in.store, "user_roles", "role = 'recruiter'"))
		assert.Equal(t, 300, count(t, db, in.store, "events", "type = 'group.left' AND detail = 'Many'"), "one event a member")
		assert.Zero(t, count(t, db, in.store, "group_members", ""))
	})

	t.Run("OtherTenantIsNotFound", func(t *testing.T) {
		g, err := in.one.CreateGroup(sys, "acme", usermgmt.NewGroup{DisplayName: "Mine"})
		require.NoError(t, err)
		globex, err := in.one.CreateGroup(sys, "globex", usermgmt.NewGroup{DisplayName: "Mine"})
		require.NoError(t, err, "the same name in another tenant")
		_, err = in.two.GetGroup(sys, "globex", g.ID)
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(in.two.DeleteGroup(sys, "globex", g.ID)))
		u, err := in.one.InviteUser(sys, "acme", usermgmt.Invite{Email: "other@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		_, err = in.two.UpdateGroup(sys, "globex", globex.ID, usermgmt.GroupChange{Add: []uuid.UUID{u.ID}})
		assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(err), "another tenant's user is no member")
		res, err := in.two.FindGroups(sys, "globex", usermgmt.GroupQuery{Member: u.ID, Limit: 10})
		require.NoError(t, err)
		assert.Zero(t, res.Total)
	})

	t.Run("LastAdminRaceAcrossInstances", func(t *testing.T) {
		a, err := in.one.InviteUser(sys, "race", usermgmt.Invite{Email: "a@race.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		b, err := in.one.InviteUser(sys, "race", usermgmt.Invite{Email: "b@race.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		db := openDB(t)
		_, err = db.DB.Exec(`UPDATE "` + in.store.Schema() + `".users SET status = 'active' WHERE tenant_id = 'race'`)
		require.NoError(t, err)
		var groups []usermgmt.Group
		for i, u := range []usermgmt.User{a, b} {
			g, err := in.one.CreateGroup(sys, "race", usermgmt.NewGroup{DisplayName: fmt.Sprint("Admins ", i), Members: []uuid.UUID{u.ID}})
			require.NoError(t, err)
			g, err = in.one.SetGroupRoles(sys, "race", g.ID, []usermgmt.Role{usermgmt.RoleTenantAdmin})
			require.NoError(t, err)
			groups = append(groups, g)
		}
		ok := together(2, func(i int, ready func()) bool {
			m := []*usermgmt.Manager{in.one, in.two}[i]
			ready()
			_, err := m.UpdateGroup(sys, "race", groups[i].ID, usermgmt.GroupChange{Members: &[]uuid.UUID{}})
			if err != nil {
				assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err))
			}
			return err == nil
		})
		assert.Equal(t, 1, ok, "one admin stays")
		assert.Equal(t, 1, count(t, db, in.store, "users", "tenant_id = 'race' AND roles @> '{tenant_admin}'"))
	})
}
