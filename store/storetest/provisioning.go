package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// newProvToken returns a provisioning token of the tenant ready to insert.
func newProvToken(tenantID, name string, createdAt time.Time) *usermgmt.ProvisioningTokenRecord {
	return &usermgmt.ProvisioningTokenRecord{Hash: newHash(), ProvisioningToken: usermgmt.ProvisioningToken{
		ID: newID(), TenantID: tenantID, Name: name, CreatedAt: createdAt, CreatedBy: newID()}}
}

func (f *fixture) mustProvToken(tenantID, name string, createdAt time.Time) usermgmt.ProvisioningTokenRecord {
	f.t.Helper()
	r := newProvToken(tenantID, name, createdAt)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateProvisioningToken(f.ctx, r) })
	return *r
}

func (f *fixture) provTokens(tenantID string) []usermgmt.ProvisioningToken {
	f.t.Helper()
	list := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.ProvisioningToken, error) {
		return tx.ListProvisioningTokens(f.ctx, tenantID)
	})
	for i := range list {
		list[i] = normProvToken(list[i])
	}
	return list
}

func (f *fixture) useProvToken(h usermgmt.TokenHash, now time.Time) (usermgmt.ProvisioningToken, error) {
	tok, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.ProvisioningToken, error) {
		return tx.UseProvisioningToken(f.ctx, h, now, time.Minute)
	})
	return normProvToken(tok), err
}

func normProvToken(t usermgmt.ProvisioningToken) usermgmt.ProvisioningToken {
	t.CreatedAt, t.LastUsedAt = utc(t.CreatedAt), utcPtr(t.LastUsedAt)
	return t
}

func testProvisioningTokensListOldestFirstPerTenant(t *testing.T, f *fixture) {
	ids := []uuid.UUID{newID(), newID()}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	trusted := newProvToken(acme, "Set-up", base.Add(time.Second))
	trusted.ID, trusted.CreatedBy = ids[1], uuid.Nil
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateProvisioningToken(f.ctx, trusted) })
	second := newProvToken(acme, "Entra ID", base.Add(time.Second))
	second.ID = ids[0]
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateProvisioningToken(f.ctx, second) })
	first := f.mustProvToken(acme, "Okta", base)
	theirs := f.mustProvToken(globex, "Okta", base)

	require.Equal(t, []usermgmt.ProvisioningToken{first.ProvisioningToken, second.ProvisioningToken, trusted.ProvisioningToken},
		f.provTokens(acme), "oldest first, then by id; CreatedBy uuid.Nil kept")
	require.Equal(t, []usermgmt.ProvisioningToken{theirs.ProvisioningToken}, f.provTokens(globex))
	require.Empty(t, f.provTokens("initech"))
}

func testProvisioningTokenDuplicateHashIsConflict(t *testing.T, f *fixture) {
	first := f.mustProvToken(acme, "Okta", base)
	again := newProvToken(globex, "Okta", base)
	again.Hash = first.Hash
	err := f.do(func(tx usermgmt.Tx) error { return tx.CreateProvisioningToken(f.ctx, again) })
	requireCode(t, err, usermgmt.CodeConflict, "a second token with the same hash, even of another tenant")
	got, err := f.useProvToken(first.Hash, base)
	require.NoError(t, err)
	require.Equal(t, first.ID, got.ID, "the first is kept")
	require.Empty(t, f.provTokens(globex))
}

func testDeleteProvisioningTokenIsTenantScoped(t *testing.T, f *fixture) {
	tok := f.mustProvToken(acme, "Okta", base)
	_, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.ProvisioningToken, error) {
		return tx.DeleteProvisioningToken(f.ctx, globex, tok.ID)
	})
	requireCode(t, err, usermgmt.CodeNotFound, "another tenant's token")
	require.Equal(t, []usermgmt.ProvisioningToken{tok.ProvisioningToken}, f.provTokens(acme), "still there")

	got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.ProvisioningToken, error) {
		return tx.DeleteProvisioningToken(f.ctx, acme, tok.ID)
	})
	require.Equal(t, tok.ProvisioningToken, normProvToken(got))
	_, err = f.useProvToken(tok.Hash, base)
	requireCode(t, err, usermgmt.CodeNotFound, "deleted: unknown at once")
	require.Empty(t, f.provTokens(acme))
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.ProvisioningToken, error) {
		return tx.DeleteProvisioningToken(f.ctx, acme, tok.ID)
	})
	requireCode(t, err, usermgmt.CodeNotFound, "deleted twice")
}

func testUseProvisioningTokenWritesLastUsedWhenStale(t *testing.T, f *fixture) {
	tok := f.mustProvToken(acme, "Okta", base)
	_, err := f.useProvToken(newHash(), base)
	requireCode(t, err, usermgmt.CodeNotFound, "unknown hash")

	_, err = probe(f, func(tx usermgmt.Tx) (usermgmt.ProvisioningToken, error) {
		return tx.UseProvisioningToken(f.ctx, tok.Hash, base, time.Minute)
	})
	require.NoError(t, err)
	require.Nil(t, f.provTokens(acme)[0].LastUsedAt, "a rolled back use leaves no trace")

	got, err := f.useProvToken(tok.Hash, base)
	require.NoError(t, err)
	want := tok.ProvisioningToken
	want.LastUsedAt = ptr(base)
	require.Equal(t, want, got, "first use: written and returned")
	for _, at := range []time.Time{base.Add(30 * time.Second), base.Add(time.Minute)} {
		got, err = f.useProvToken(tok.Hash, at)
		require.NoError(t, err)
		require.Equal(t, ptr(base), got.LastUsedAt, "%s later: not stale yet", at.Sub(base))
		require.Equal(t, ptr(base), f.provTokens(acme)[0].LastUsedAt)
	}
	later := base.Add(time.Minute + time.Microsecond)
	got, err = f.useProvToken(tok.Hash, later)
	require.NoError(t, err)
	require.Equal(t, ptr(later), got.LastUsedAt, "stale: written")
	require.Equal(t, ptr(later), f.provTokens(acme)[0].LastUsedAt)
}

func testProvisioningTokensDoNotAliasStore(t *testing.T, f *fixture) {
	tok := f.mustProvToken(acme, "Okta", base)
	got, err := f.useProvToken(tok.Hash, base)
	require.NoError(t, err)
	*got.LastUsedAt = base.Add(time.Hour)
	list := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.ProvisioningToken, error) {
		return tx.ListProvisioningTokens(f.ctx, acme)
	})
	*list[0].LastUsedAt = base.Add(2 * time.Hour)
	require.Equal(t, ptr(base), f.provTokens(acme)[0].LastUsedAt)
}

// testProvisionedFieldsRoundTrip: the fields issue 12 added to a user
// (the profile, the direct roles, the version, DeprovisionedAt) are kept
// by CreateUser and UpdateUser and read back by every read.
func testProvisionedFieldsRoundTrip(t *testing.T, f *fixture) {
	u := newUser(acme, "ana@example.com", usermgmt.StatusDeactivated, usermgmt.RoleSupervisor, usermgmt.RoleAgent)
	u.DirectRoles = []usermgmt.Role{usermgmt.RoleAgent}
	u.Profile = usermgmt.Profile{DisplayName: "Ana López", GivenName: "Ana", FamilyName: "López", ExternalID: "00u1AbC"}
	u.DeprovisionedAt = ptr(base.Add(-time.Hour))
	u.Version = 41 // the store's to set
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
	require.Equal(t, int64(1), u.Version, "CreateUser stores version 1 and says so")

	reads := func(what string, want usermgmt.UserRecord) {
		t.Helper()
		got := f.mustGetUser(acme, u.ID)
		requireUser(t, want, got, what+": GetUser")
		require.Equal(t, want.Version, got.Version, what+": version")
		byEmail := mustTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
			return tx.GetUserByEmail(f.ctx, acme, want.Email)
		})
		requireUser(t, want, byEmail, what+": GetUserByEmail")
		require.Equal(t, want.Version, byEmail.Version, what+": version")
		listed := f.list(usermgmt.UserListParams{TenantID: acme, Limit: 10})
		require.Len(t, listed, 1)
		require.Equal(t, normUser(want.User), normUser(listed[0]), what+": ListUsers")
		require.Equal(t, want.Version, listed[0].Version, what+": version")
	}
	reads("created", *u)

	next := f.mustGetUser(acme, u.ID)
	next.DirectRoles = []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}
	next.Profile = usermgmt.Profile{DisplayName: "Ana", ExternalID: "e-2"}
	next.DeprovisionedAt = nil
	next.Version = 99 // ignored
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateUser(f.ctx, &next) })
	require.Equal(t, int64(2), next.Version, "UpdateUser adds one and says so")
	reads("updated", next)

	next.DirectRoles = nil
	next.DeprovisionedAt = ptr(base)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateUser(f.ctx, &next) })
	require.Equal(t, int64(3), next.Version)
	reads("updated again", next)

	rolled := next
	_, err := probe(f, func(tx usermgmt.Tx) (int64, error) {
		err := tx.UpdateUser(f.ctx, &rolled)
		return rolled.Version, err
	})
	require.NoError(t, err)
	require.Equal(t, int64(3), f.mustGetUser(acme, u.ID).Version, "a rolled back update keeps the version")
}

// testProvisionedFieldsDoNotAliasStore: the new slices and times of a
// returned user are the caller's own.
func testProvisionedFieldsDoNotAliasStore(t *testing.T, f *fixture) {
	u := newUser(acme, "ana@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	u.DirectRoles = []usermgmt.Role{usermgmt.RoleAgent}
	u.DeprovisionedAt = ptr(base)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
	u.DirectRoles[0] = usermgmt.RoleTenantAdmin
	*u.DeprovisionedAt = base.Add(time.Hour)
	got := f.mustGetUser(acme, u.ID)
	require.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, got.DirectRoles, "input not aliased")
	got.DirectRoles[0] = usermgmt.RoleTenantAdmin
	*got.DeprovisionedAt = base.Add(2 * time.Hour)
	again := f.mustGetUser(acme, u.ID)
	require.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, again.DirectRoles, "output not aliased")
	require.Equal(t, ptr(base), utcPtr(again.DeprovisionedAt))
}

func testEventActorNameRoundTrips(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ana@example.com", usermgmt.StatusActive)
	byIdP := newEvent(u, usermgmt.EventProfileUpdated, "display name")
	byIdP.ActorName = "provisioning: Okta"
	byNobody := newEvent(u, usermgmt.EventDeactivated, "")
	f.mustDo(func(tx usermgmt.Tx) error {
		if err := tx.AppendEvent(f.ctx, byIdP); err != nil {
			return err
		}
		return tx.AppendEvent(f.ctx, byNobody)
	})
	got := f.events(acme, u.ID, uuid.Nil, 10)
	require.Len(t, got, 2)
	require.Equal(t, "", got[0].ActorName)
	require.Equal(t, "provisioning: Okta", got[1].ActorName)
	require.Equal(t, uuid.Nil, got[1].ActorID)
	require.Empty(t, got[1].ActorEmail)
	require.Equal(t, normEvents([]usermgmt.Event{*byIdP}), normEvents(got[1:]))
}
