package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// One mailbox is one user on PostgreSQL too: the Manager stores one form
// of every spelling, and the unique index does the rest.
func TestInviteAnotherSpellingIsConflictOnPostgres(t *testing.T) {
	in := twoManagers(t)
	sys := usermgmt.AsSystem(context.Background())
	invite := func(m *usermgmt.Manager, email string) (usermgmt.User, error) {
		return m.InviteUser(sys, "acme", usermgmt.Invite{Email: email, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	}
	u, err := invite(in.one, "Ana@BÜCHER.example")
	require.NoError(t, err)
	assert.Equal(t, "ana@bücher.example", u.Email)
	for _, other := range []string{"ana@bücher.example", "ana@xn--bcher-kva.example", "ana@bu\u0308cher.example"} {
		_, err := invite(in.two, other)
		assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err), "%q", other)
	}
	page, err := in.one.ListUsers(sys, "acme", usermgmt.ListUsersQuery{Search: "BÜCHER"})
	require.NoError(t, err)
	require.Len(t, page.Users, 1)
	assert.Equal(t, u.ID, page.Users[0].ID)
}
