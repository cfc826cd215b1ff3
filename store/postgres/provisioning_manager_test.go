package postgres_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// Provisioning on PostgreSQL, as two app instances: tokens made and
// revoked through one are known and refused through the other at once,
// and everything an identity provider does is tenant-bound, atomic and
// logged under the token's name.
func TestProvisioningOnPostgres(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	system := usermgmt.AsSystem(ctx)
	admin, _, _ := in.onboard(t, "admin@acme.test", usermgmt.RoleTenantAdmin)
	asAdmin := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: admin.ID})
	sudoAdmin := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: admin.ID, VerifiedAt: in.clock.Now()})
	hr, hrSecret, _ := in.onboard(t, "hr@acme.test", usermgmt.RoleHRAdmin)

	tok, secret, err := in.one.CreateProvisioningToken(sudoAdmin, "acme", "Okta")
	require.NoError(t, err)
	asIdP := func(m *usermgmt.Manager) context.Context {
		t.Helper()
		got, err := m.AuthenticateProvisioning(ctx, secret)
		require.NoError(t, err)
		return usermgmt.AsProvisioner(ctx, got)
	}
	events := func(id uuid.UUID) []usermgmt.Event {
		t.Helper()
		page, err := in.two.ListActivity(system, "acme", id, usermgmt.ActivityQuery{Limit: 50})
		require.NoError(t, err)
		return page.Events
	}

	t.Run("TheSecretIsStoredAsItsSHA256Only", func(t *testing.T) {
		db := openDB(t)
		var hash []byte
		var row string
		err := db.QueryRowContext(ctx, `SELECT hash, t::text FROM "`+in.store.Schema()+`".provisioning_tokens t WHERE id = ?`,
			tok.ID).Scan(&hash, &row)
		require.NoError(t, err)
		sum := sha256.Sum256([]byte(secret))
		assert.Equal(t, sum[:], hash)
		assert.NotContains(t, row, secret[4:], "no column holds the secret")
	})

	t.Run("TokenManagementNeedsATenantAdminInSudoMode", func(t *testing.T) {
		_, _, err := in.two.CreateProvisioningToken(asAdmin, "acme", "Entra")
		assert.Equal(t, usermgmt.CodeMFARequired, usermgmt.ErrorCode(err))
		hrSudo := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: hr.ID, VerifiedAt: in.clock.Now()})
		_, _, err = in.two.CreateProvisioningToken(hrSudo, "acme", "Entra")
		assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err))
		_, err = in.two.ListProvisioningTokens(hrSudo, "acme")
		assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err))
		err = in.two.RevokeProvisioningToken(asAdmin, "acme", tok.ID)
		assert.Equal(t, usermgmt.CodeMFARequired, usermgmt.ErrorCode(err))
		_, _, err = in.two.CreateProvisioningToken(asIdP(in.one), "acme", "Mine")
		assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err), "a token mints no tokens")
		err = in.two.RevokeProvisioningToken(system, "globex", tok.ID)
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err), "another tenant's token")
		list, err := in.two.ListProvisioningTokens(asAdmin, "acme")
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, tok.ID, list[0].ID)
		assert.Equal(t, admin.ID, list[0].CreatedBy)
	})

	t.Run("LastUseIsKeptToTheMinute", func(t *testing.T) {
		lastUsed := func() time.Time {
			t.Helper()
			list, err := in.one.ListProvisioningTokens(system, "acme")
			require.NoError(t, err)
			require.NotNil(t, list[0].LastUsedAt)
			return *list[0].LastUsedAt
		}
		in.clock.Advance(2 * time.Minute)
		first := in.clock.Now()
		asIdP(in.one)
		assert.True(t, first.Equal(lastUsed()), "%v", lastUsed())
		in.clock.Advance(40 * time.Second)
		asIdP(in.two)
		assert.True(t, first.Equal(lastUsed()), "within the minute: not written")
		in.clock.Advance(40 * time.Second)
		asIdP(in.two)
		assert.True(t, in.clock.Now().Equal(lastUsed()), "stale: written")
	})

	theirAdmin := in.globexUser(t, "admin@globex.test", usermgmt.RoleTenantAdmin)
	stranger := in.globexUser(t, "eve@globex.test", usermgmt.RoleAgent)

	t.Run("NothingReachesAnotherTenant", func(t *testing.T) {
		idp := asIdP(in.two)
		_, err := in.one.GetUser(idp, "globex", stranger.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err))
		_, err = in.one.FindUsers(idp, "globex", usermgmt.UserQuery{Limit: 10})
		assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err))
		_, err = in.one.ProvisionUser(idp, "globex", usermgmt.Provision{Email: "mallory@globex.test", Active: true})
		assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err))
		_, err = in.one.UpdateProvisionedUser(idp, "globex", theirAdmin.ID, usermgmt.ProvisionUpdate{})
		assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err))
		err = in.one.DeprovisionUser(idp, "globex", stranger.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, usermgmt.ErrorCode(err))
		_, err = in.one.UpdateProvisionedUser(idp, "acme", stranger.ID, usermgmt.ProvisionUpdate{})
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err), "their user id in our tenant")
		err = in.one.DeprovisionUser(idp, "acme", stranger.ID)
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
		got, err := in.two.FindUsers(idp, "acme", usermgmt.UserQuery{Limit: 10, Filter: &usermgmt.UserFilter{
			Op: usermgmt.FilterEq, Attr: usermgmt.UserAttrEmail, Value: "EVE@globex.test"}})
		require.NoError(t, err)
		assert.Zero(t, got.Total)
		for _, u := range []usermgmt.User{theirAdmin, stranger} {
			after, err := in.two.GetUser(system, "globex", u.ID)
			require.NoError(t, err)
			assert.Equal(t, u.Status, after.Status)
			assert.Nil(t, after.DeprovisionedAt)
			assert.Equal(t, u.Version, after.Version, "untouched")
		}
	})

	t.Run("ProvisionUpdateDeprovisionRevive", func(t *testing.T) {
		u, err := in.one.ProvisionUser(asIdP(in.one), "acme", usermgmt.Provision{Email: "Ana@acme.test", SendInvite: true,
			Active: true, Roles: []usermgmt.Role{usermgmt.RoleAgent},
			Profile: usermgmt.Profile{DisplayName: "Ana Lopez", GivenName: "Ana", FamilyName: "Lopez", ExternalID: "00u1"}})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusInvited, u.Status)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, u.DirectRoles)
		assert.NotEmpty(t, in.mail.Token("ana@acme.test"), "invited")
		evs := events(u.ID)
		require.Len(t, evs, 2)
		assert.Equal(t, usermgmt.EventInvited, evs[0].Type)
		assert.Equal(t, usermgmt.EventUserCreated, evs[1].Type)
		assert.Equal(t, "provisioning: Okta", evs[1].ActorName)
		assert.Equal(t, uuid.Nil, evs[1].ActorID)

		found, err := in.two.FindUsers(asIdP(in.two), "acme", usermgmt.UserQuery{Limit: 10, Filter: &usermgmt.UserFilter{
			Op: usermgmt.FilterEq, Attr: usermgmt.UserAttrExternalID, Value: "00u1"}})
		require.NoError(t, err)
		require.Equal(t, 1, found.Total)
		assert.Equal(t, u.ID, found.Users[0].ID)

		upd, err := in.two.UpdateProvisionedUser(asIdP(in.two), "acme", u.ID, usermgmt.ProvisionUpdate{Active: true,
			IfVersion: u.Version, Profile: usermgmt.Profile{DisplayName: "Ana López", GivenName: "Ana", FamilyName: "López",
				ExternalID: "00u1"}})
		require.NoError(t, err)
		assert.Equal(t, u.Version+1, upd.Version)
		ev := events(u.ID)[0]
		assert.Equal(t, usermgmt.EventProfileUpdated, ev.Type)
		assert.Equal(t, "display name, family name", ev.Detail)
		assert.Equal(t, "provisioning: Okta", ev.ActorName)

		_, err = in.one.UpdateProvisionedUser(asIdP(in.one), "acme", u.ID, usermgmt.ProvisionUpdate{Active: false,
			IfVersion: u.Version})
		assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err), "stale version")
		assert.Equal(t, usermgmt.FieldVersion, usermgmt.ErrorField(err))
		cur, err := in.one.GetUser(system, "acme", u.ID)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusInvited, cur.Status, "nothing changed")
		assert.Equal(t, upd.Version, cur.Version)

		require.NoError(t, in.one.DeprovisionUser(asIdP(in.one), "acme", u.ID))
		gone, err := in.two.GetUser(system, "acme", u.ID)
		require.NoError(t, err, "still a user of the tenant")
		assert.Equal(t, usermgmt.StatusDeactivated, gone.Status)
		assert.NotNil(t, gone.DeprovisionedAt)
		assert.Equal(t, usermgmt.EventDeprovisioned, events(u.ID)[2].Type)
		found, err = in.two.FindUsers(asIdP(in.two), "acme", usermgmt.UserQuery{Limit: 10, Filter: &usermgmt.UserFilter{
			Op: usermgmt.FilterEq, Attr: usermgmt.UserAttrEmail, Value: "ana@acme.test"}})
		require.NoError(t, err)
		assert.Zero(t, found.Total, "hidden from provisioning")
		err = in.two.DeprovisionUser(asIdP(in.two), "acme", u.ID)
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))

		back, err := in.two.ProvisionUser(asIdP(in.two), "acme", usermgmt.Provision{Email: "ana@acme.test", Active: true,
			Profile: usermgmt.Profile{DisplayName: "Ana"}})
		require.NoError(t, err)
		assert.Equal(t, u.ID, back.ID, "the same user")
		assert.Nil(t, back.DeprovisionedAt)
		assert.Equal(t, usermgmt.StatusInvited, back.Status, "back to what she was")
		assert.Equal(t, usermgmt.Profile{DisplayName: "Ana"}, back.Profile)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, back.Roles)
		evs = events(u.ID)
		assert.Equal(t, usermgmt.EventActivated, evs[0].Type)
		assert.Equal(t, usermgmt.EventReprovisioned, evs[1].Type)
		assert.Equal(t, "provisioning: Okta", evs[1].ActorName)
	})

	t.Run("InactiveThroughUpdateEndsChallengesAndSignIn", func(t *testing.T) {
		res, err := in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: hr.Email, Password: pw})
		require.NoError(t, err)
		require.NotEmpty(t, res.MFAChallenge)
		_, err = in.two.UpdateProvisionedUser(asIdP(in.two), "acme", hr.ID, usermgmt.ProvisionUpdate{Active: false})
		require.NoError(t, err)
		_, err = in.one.VerifyMFA(ctx, res.MFAChallenge, in.code(t, hrSecret), false)
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "the challenge ended")
		_, err = in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: hr.Email, Password: pw})
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
		back, err := in.one.UpdateProvisionedUser(asIdP(in.one), "acme", hr.ID, usermgmt.ProvisionUpdate{Active: true})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusActive, back.Status)
	})

	t.Run("SessionAndRefreshTokenEndWithTheDeactivation", func(t *testing.T) {
		carl, secret, s := in.onboard(t, "carl@acme.test", usermgmt.RoleAgent)
		res, err := in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: carl.Email, Password: pw})
		require.NoError(t, err)
		s2, err := in.two.VerifyMFA(ctx, res.MFAChallenge, in.code(t, secret), false)
		require.NoError(t, err)
		_, err = in.one.UpdateProvisionedUser(asIdP(in.one), "acme", carl.ID, usermgmt.ProvisionUpdate{Active: false,
			Profile: usermgmt.Profile{DisplayName: "Carl"}})
		require.NoError(t, err)
		for _, sess := range []usermgmt.Session{s, s2} {
			_, err = in.two.Authenticate(ctx, sess.Token)
			assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
			_, err = in.two.Refresh(ctx, sess.RefreshToken)
			assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
		}
		evs := events(carl.ID)
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventSessionsRevoked, usermgmt.EventDeactivated, usermgmt.EventProfileUpdated},
			[]usermgmt.EventType{evs[0].Type, evs[1].Type, evs[2].Type})
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		before, err := in.one.GetUser(system, "acme", admin.ID)
		require.NoError(t, err)
		n := len(events(admin.ID))
		_, err = in.two.UpdateProvisionedUser(asIdP(in.two), "acme", admin.ID, usermgmt.ProvisionUpdate{Active: false,
			Profile: usermgmt.Profile{DisplayName: "Gone"}})
		assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err), "the last active tenant_admin")
		after, err := in.one.GetUser(system, "acme", admin.ID)
		require.NoError(t, err)
		assert.Equal(t, before.Profile, after.Profile, "the profile change rolled back with it")
		assert.Equal(t, before.Version, after.Version)
		assert.Equal(t, usermgmt.StatusActive, after.Status)
		assert.Len(t, events(admin.ID), n)
	})

	t.Run("ARevokedTokenStopsAtOnce", func(t *testing.T) {
		require.NoError(t, in.one.RevokeProvisioningToken(sudoAdmin, "acme", tok.ID))
		_, err := in.two.AuthenticateProvisioning(ctx, secret)
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
		_, garbage := in.two.AuthenticateProvisioning(ctx, "Bearer nonsense")
		assert.Equal(t, usermgmt.ErrorMessage(garbage), usermgmt.ErrorMessage(err), "the same answer as garbage")
	})
}

// globexUser provisions a user of the tenant globex as trusted code.
func (in *instances) globexUser(t *testing.T, email string, roles ...usermgmt.Role) usermgmt.User {
	t.Helper()
	u, err := in.one.ProvisionUser(usermgmt.AsSystem(context.Background()), "globex", usermgmt.Provision{Email: email,
		Roles: roles, Active: true})
	require.NoError(t, err)
	return u
}
