package usermgmt_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// ListActivity names each actor with the page; the system is unnamed, and
// a caller whose roles may read activity but not list users sees ids only.
func TestListActivityNamesActors(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) {
		o.Roles = append(usermgmt.DefaultRoles(), usermgmt.RoleDef{Name: "auditor",
			Permissions: []usermgmt.Permission{usermgmt.PermReadActivity}})
	})
	u, _ := e.invite(t, "u@acme.test", usermgmt.RoleAgent) // by the admin
	_, err := e.m.GrantRole(system, tenant, u.ID, usermgmt.RoleSupervisor)
	require.NoError(t, err)
	auditor := e.seedActive(t, tenant, "auditor@acme.test", "auditor")

	byActor := func(page usermgmt.ActivityPage) map[usermgmt.EventType]string {
		out := map[usermgmt.EventType]string{}
		for _, ev := range page.Events {
			out[ev.Type] = ev.ActorEmail
		}
		return out
	}
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	require.Equal(t, map[usermgmt.EventType]string{
		usermgmt.EventUserCreated: "admin@acme.test", usermgmt.EventInvited: "admin@acme.test",
		usermgmt.EventRoleGranted: "",
	}, byActor(page), "the admin is named, the system is not")

	page, err = e.m.ListActivity(e.as(auditor), tenant, u.ID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, page.Events, 3)
	require.Equal(t, e.admin.ID, page.Events[2].ActorID, "the auditor still sees who acted, by id")
	require.Equal(t, map[usermgmt.EventType]string{
		usermgmt.EventUserCreated: "", usermgmt.EventInvited: "", usermgmt.EventRoleGranted: "",
	}, byActor(page), "without users.list, no email")
}
