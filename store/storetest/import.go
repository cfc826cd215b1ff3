package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The batch writes of an import (issue 14): CreateUsers and
// GetUsersByEmail.
func importCases() []testCase {
	return []testCase{
		{"CreateUsersInsertsEveryFieldOfEach", testCreateUsersInsertsEveryFieldOfEach},
		{"CreateUsersKeepsCountsAndRoleIndex", testCreateUsersKeepsCountsAndRoleIndex},
		{"CreateUsersWithAnExistingEmailInsertsNone", testCreateUsersWithAnExistingEmailInsertsNone},
		{"CreateUsersWithARepeatInsertsNone", testCreateUsersWithARepeatInsertsNone},
		{"GetUsersByEmailFindsTheTenantsOnly", testGetUsersByEmailFindsTheTenantsOnly},
	}
}

func testCreateUsersInsertsEveryFieldOfEach(t *testing.T, f *fixture) {
	full := newUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleSupervisor, usermgmt.RoleTenantAdmin)
	full.DirectRoles = []usermgmt.Role{usermgmt.RoleTenantAdmin}
	full.MFAEnabled, full.MFASecret, full.MFALastStep = true, []byte{0, 1, 2, 250, 251, 252}, 7
	full.LastLoginAt, full.InviteExpiresAt = ptr(base.Add(-2*time.Hour)), ptr(base.Add(time.Hour))
	full.CreatedAt, full.UpdatedAt = base.Add(-72*time.Hour), base.Add(-time.Hour)
	full.RecoveryCodes, full.LastMailAt = []usermgmt.TokenHash{newHash()}, base.Add(-time.Minute)
	full.Profile = usermgmt.Profile{DisplayName: "Ada L.", GivenName: "Ada", FamilyName: "Lovelace", ExternalID: "X-1",
		EmployeeNumber: "7", Department: "Engines", ManagerID: "m-1"}
	full.DeprovisionedAt = ptr(base.Add(-time.Minute))
	bare := newUser(acme, "bob@example.com", usermgmt.StatusInvited)
	us := []usermgmt.UserRecord{*full, *bare}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUsers(f.ctx, us) })

	for i, want := range []usermgmt.UserRecord{*full, *bare} {
		require.Equal(t, int64(1), us[i].Version, "Version set on the input")
		want.Version = 1
		got := f.mustGetUser(acme, want.ID)
		requireUser(t, want, got, want.Email)
		require.Equal(t, int64(1), got.Version, want.Email)
	}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUsers(f.ctx, nil) })
}

func testCreateUsersKeepsCountsAndRoleIndex(t *testing.T, f *fixture) {
	f.mustUser(acme, "old@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	var us []usermgmt.UserRecord
	for i, st := range []usermgmt.Status{usermgmt.StatusActive, usermgmt.StatusActive, usermgmt.StatusInvited,
		usermgmt.StatusDeactivated} {
		us = append(us, *newUser(acme, fmt.Sprintf("u%d@example.com", i), st, usermgmt.RoleAgent))
	}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUsers(f.ctx, us) })

	require.Equal(t, usermgmt.StatusCounts{Active: 3, Invited: 1, Deactivated: 1, All: 5}, f.counts(acme))
	require.Equal(t, 3, f.activeWithRole(acme, usermgmt.RoleAgent))
	agents := f.list(usermgmt.UserListParams{TenantID: acme, Role: usermgmt.RoleAgent, Limit: 10})
	require.Equal(t, []string{"old@example.com", "u0@example.com", "u1@example.com", "u2@example.com", "u3@example.com"},
		emails(agents))
	invited := f.list(usermgmt.UserListParams{TenantID: acme, Status: usermgmt.StatusInvited, Limit: 10})
	require.Equal(t, []string{"u2@example.com"}, emails(invited))
}

func testCreateUsersWithAnExistingEmailInsertsNone(t *testing.T, f *fixture) {
	f.mustUser(acme, "taken@example.com", usermgmt.StatusActive)
	us := []usermgmt.UserRecord{*newUser(acme, "new@example.com", usermgmt.StatusActive),
		*newUser(acme, "taken@example.com", usermgmt.StatusActive)}
	after := newUser(acme, "after@example.com", usermgmt.StatusActive)
	f.mustDo(func(tx usermgmt.Tx) error {
		requireCode(t, tx.CreateUsers(f.ctx, us), usermgmt.CodeConflict, "batch with a taken email")
		// The transaction goes on: what it does next commits.
		return tx.CreateUser(f.ctx, after)
	})
	require.Equal(t, usermgmt.StatusCounts{Active: 2, All: 2}, f.counts(acme))
	_, err := f.getUser(acme, us[0].ID)
	requireCode(t, err, usermgmt.CodeNotFound, "the batch's new user")
	f.mustGetUser(acme, after.ID)

	// The same email in another tenant is no conflict.
	other := []usermgmt.UserRecord{*newUser(globex, "taken@example.com", usermgmt.StatusActive)}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUsers(f.ctx, other) })
}

func testCreateUsersWithARepeatInsertsNone(t *testing.T, f *fixture) {
	a := newUser(acme, "a@example.com", usermgmt.StatusActive)
	sameEmail := newUser(acme, "a@example.com", usermgmt.StatusInvited)
	b := newUser(acme, "b@example.com", usermgmt.StatusActive)
	sameID := newUser(acme, "c@example.com", usermgmt.StatusActive)
	sameID.ID = b.ID
	for name, us := range map[string][]usermgmt.UserRecord{
		"email twice": {*a, *sameEmail},
		"id twice":    {*b, *sameID},
	} {
		requireCode(t, f.do(func(tx usermgmt.Tx) error { return tx.CreateUsers(f.ctx, us) }), usermgmt.CodeConflict, name)
	}
	existing := f.mustUser(acme, "d@example.com", usermgmt.StatusActive)
	reused := newUser(acme, "e@example.com", usermgmt.StatusActive)
	reused.ID = existing.ID
	requireCode(t, f.do(func(tx usermgmt.Tx) error {
		return tx.CreateUsers(f.ctx, []usermgmt.UserRecord{*reused})
	}), usermgmt.CodeConflict, "an existing id")
	require.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, f.counts(acme))
}

func testGetUsersByEmailFindsTheTenantsOnly(t *testing.T, f *fixture) {
	a := f.mustUser(acme, "a@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	b := f.mustUser(acme, "b@example.com", usermgmt.StatusInvited)
	f.mustUser(globex, "c@example.com", usermgmt.StatusActive)
	got := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.UserRecord, error) {
		return tx.GetUsersByEmail(f.ctx, acme, []string{"b@example.com", "c@example.com", "nobody@example.com",
			"a@example.com", "b@example.com"})
	})
	slices.SortFunc(got, func(x, y usermgmt.UserRecord) int { return strings.Compare(x.Email, y.Email) })
	require.Len(t, got, 2)
	requireUser(t, a, got[0], "a")
	requireUser(t, b, got[1], "b")
	none := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.UserRecord, error) {
		return tx.GetUsersByEmail(f.ctx, acme, nil)
	})
	require.Empty(t, none)
}
