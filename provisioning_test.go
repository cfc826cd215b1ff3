package usermgmt_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// provToken creates a provisioning token of the tenant as trusted code
// and returns it with its secret.
func (e *env) provToken(t testing.TB, tenantID, name string) (usermgmt.ProvisioningToken, string) {
	t.Helper()
	tok, secret, err := e.m.CreateProvisioningToken(system, tenantID, name)
	require.NoError(t, err)
	return tok, secret
}

// asIdP returns a context acting as the identity provider holding secret,
// as the scim package builds it for a request.
func (e *env) asIdP(t testing.TB, secret string) context.Context {
	t.Helper()
	tok, err := e.m.AuthenticateProvisioning(context.Background(), secret)
	require.NoError(t, err)
	return usermgmt.AsProvisioner(context.Background(), tok)
}

// events returns the types of the user's activity, newest first.
func (e *env) events(t testing.TB, tenantID string, id uuid.UUID) []usermgmt.Event {
	t.Helper()
	page, err := e.m.ListActivity(system, tenantID, id, usermgmt.ActivityQuery{Limit: 200})
	require.NoError(t, err)
	return page.Events
}

func eventTypes(es []usermgmt.Event) []usermgmt.EventType {
	out := make([]usermgmt.EventType, len(es))
	for i, ev := range es {
		out[i] = ev.Type
	}
	return out
}

// storedToken reads the token whose secret hashes to hash straight from
// the store, as UseProvisioningToken finds it.
func (e *env) storedToken(t testing.TB, hash usermgmt.TokenHash) (usermgmt.ProvisioningToken, error) {
	t.Helper()
	var tok usermgmt.ProvisioningToken
	err := e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		var err error
		tok, err = tx.UseProvisioningToken(ctx, hash, e.clock.Now(), time.Hour)
		return err
	})
	return tok, err
}

func TestProvisioningTokens(t *testing.T) {
	e := mustManager(t)
	hr := e.seedActive(t, tenant, "hr@acme.test", usermgmt.RoleHRAdmin)

	t.Run("OnlyATenantAdminInSudoModeCreates", func(t *testing.T) {
		_, _, err := e.m.CreateProvisioningToken(e.sudo(hr), tenant, "Okta")
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "hr_admin may do every user operation, not this")
		_, _, err = e.m.CreateProvisioningToken(e.ctx, tenant, "Okta")
		assert.Equal(t, usermgmt.CodeMFARequired, code(err), "a tenant_admin outside sudo mode")
		_, _, err = e.m.CreateProvisioningToken(context.Background(), tenant, "Okta")
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "no actor")
		tok, secret, err := e.m.CreateProvisioningToken(e.sudo(e.admin), tenant, "Okta")
		require.NoError(t, err)
		assert.Equal(t, e.admin.ID, tok.CreatedBy)
		assert.Equal(t, tenant, tok.TenantID)
		assert.Nil(t, tok.LastUsedAt)
		assert.True(t, strings.HasPrefix(secret, "ump_"), secret)
		assert.Len(t, secret, 47, "ump_ and 256 bits in base64url")
		sys, _ := e.provToken(t, tenant, "Entra")
		assert.Equal(t, uuid.Nil, sys.CreatedBy, "trusted code")
	})

	t.Run("NameIsTrimmedAndChecked", func(t *testing.T) {
		tok, _, err := e.m.CreateProvisioningToken(system, tenant, "  Entra ID  ")
		require.NoError(t, err)
		assert.Equal(t, "Entra ID", tok.Name)
		_, _, err = e.m.CreateProvisioningToken(system, tenant, strings.Repeat("é", 64))
		assert.NoError(t, err, "64 characters, 128 bytes")
		for _, bad := range []string{"", "   ", strings.Repeat("x", 65), "Ok\x00ta", "Ok\nta", "\xff"} {
			_, _, err := e.m.CreateProvisioningToken(system, tenant, bad)
			assert.Equal(t, usermgmt.CodeInvalid, code(err), "%q", bad)
			assert.Equal(t, usermgmt.FieldName, usermgmt.ErrorField(err), "%q", bad)
		}
	})

	t.Run("SecretIsStoredAsItsSHA256", func(t *testing.T) {
		tok, secret := e.provToken(t, tenant, "Hashed")
		got, err := e.storedToken(t, sha256.Sum256([]byte(secret)))
		require.NoError(t, err, "the store finds the token by the SHA-256 of its secret")
		assert.Equal(t, tok.ID, got.ID)
		var raw usermgmt.TokenHash
		copy(raw[:], secret[4:])
		_, err = e.storedToken(t, raw)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "nothing else of the secret is a key")
	})

	t.Run("AuthenticateKnowsOnlyLiveSecrets", func(t *testing.T) {
		tok, secret := e.provToken(t, tenant, "Live")
		got, err := e.m.AuthenticateProvisioning(context.Background(), secret)
		require.NoError(t, err)
		assert.Equal(t, tok.ID, got.ID)
		assert.Equal(t, tenant, got.TenantID)
		assert.Equal(t, "provisioning: Live", got.ActorLabel())

		unknown := "ump_" + strings.Repeat("A", 43)
		_, err = e.m.AuthenticateProvisioning(context.Background(), unknown)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		session := "ums_" + secret[4:]
		_, err = e.m.AuthenticateProvisioning(context.Background(), session)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "another purpose's prefix")
		_, err = e.m.AuthenticateProvisioning(context.Background(), "garbage")
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		garbage := usermgmt.ErrorMessage(err)

		require.NoError(t, e.m.RevokeProvisioningToken(e.sudo(e.admin), tenant, tok.ID))
		_, err = e.m.AuthenticateProvisioning(context.Background(), secret)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "revoked: refused at once")
		assert.Equal(t, garbage, usermgmt.ErrorMessage(err), "a revoked token answers as garbage does")
	})

	t.Run("LastUsedIsKeptToTheMinute", func(t *testing.T) {
		tok, secret := e.provToken(t, tenant, "Busy")
		lastUsed := func() *time.Time {
			list, err := e.m.ListProvisioningTokens(system, tenant)
			require.NoError(t, err)
			for _, x := range list {
				if x.ID == tok.ID {
					return x.LastUsedAt
				}
			}
			t.Fatal("token not listed")
			return nil
		}
		assert.Nil(t, lastUsed(), "never used")
		first := e.clock.Now()
		_, err := e.m.AuthenticateProvisioning(context.Background(), secret)
		require.NoError(t, err)
		require.NotNil(t, lastUsed())
		assert.True(t, first.Equal(*lastUsed()))
		e.clock.Advance(59 * time.Second)
		_, err = e.m.AuthenticateProvisioning(context.Background(), secret)
		require.NoError(t, err)
		assert.True(t, first.Equal(*lastUsed()), "within the minute: not written again")
		e.clock.Advance(2 * time.Second)
		_, err = e.m.AuthenticateProvisioning(context.Background(), secret)
		require.NoError(t, err)
		assert.True(t, e.clock.Now().Equal(*lastUsed()), "a minute on: written")
	})

	t.Run("ListIsOldestFirstAndTenantScoped", func(t *testing.T) {
		e := mustManager(t)
		a, _ := e.provToken(t, tenant, "First")
		e.clock.Advance(time.Second)
		b, _ := e.provToken(t, tenant, "Second")
		e.provToken(t, "globex", "Theirs")
		list, err := e.m.ListProvisioningTokens(e.ctx, tenant)
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, []uuid.UUID{a.ID, b.ID}, []uuid.UUID{list[0].ID, list[1].ID})
		_, err = e.m.ListProvisioningTokens(e.as(e.seedActive(t, tenant, "hr2@acme.test", usermgmt.RoleHRAdmin)), tenant)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
	})

	t.Run("RevokeNeedsSudoAndTheTenant", func(t *testing.T) {
		tok, secret := e.provToken(t, tenant, "Revoked")
		err := e.m.RevokeProvisioningToken(e.ctx, tenant, tok.ID)
		assert.Equal(t, usermgmt.CodeMFARequired, code(err))
		err = e.m.RevokeProvisioningToken(e.sudo(hr), tenant, tok.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		err = e.m.RevokeProvisioningToken(system, "globex", tok.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "another tenant's token")
		_, err = e.m.AuthenticateProvisioning(context.Background(), secret)
		require.NoError(t, err, "still live after the refusals")
		require.NoError(t, e.m.RevokeProvisioningToken(e.sudo(e.admin), tenant, tok.ID))
		err = e.m.RevokeProvisioningToken(e.sudo(e.admin), tenant, tok.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "gone")
	})

	t.Run("AProvisionerManagesNoTokens", func(t *testing.T) {
		tok, secret := e.provToken(t, tenant, "Okta")
		idp := e.asIdP(t, secret)
		_, _, err := e.m.CreateProvisioningToken(idp, tenant, "Mine")
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		_, err = e.m.ListProvisioningTokens(idp, tenant)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		err = e.m.RevokeProvisioningToken(idp, tenant, tok.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		// Trusted code's mark does not widen a provisioner either.
		err = e.m.RevokeProvisioningToken(usermgmt.AsSystem(idp), tenant, tok.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
	})
}

func TestProvisionerActsOnlyInItsTenant(t *testing.T) {
	e := mustManager(t)
	_, secret := e.provToken(t, tenant, "Okta")
	idp := e.asIdP(t, secret)
	theirAdmin := e.seedActive(t, "globex", "admin@globex.test", usermgmt.RoleTenantAdmin)
	theirs := e.seedActive(t, "globex", "bob@globex.test", usermgmt.RoleAgent)
	ours := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)

	t.Run("AnotherTenantIsPermissionDenied", func(t *testing.T) {
		_, err := e.m.GetUser(idp, "globex", theirs.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		_, err = e.m.FindUsers(idp, "globex", usermgmt.UserQuery{Limit: 10})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		_, err = e.m.ProvisionUser(idp, "globex", usermgmt.Provision{Email: "eve@globex.test", Active: true})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		_, err = e.m.UpdateProvisionedUser(idp, "globex", theirs.ID, usermgmt.ProvisionUpdate{})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		err = e.m.DeprovisionUser(idp, "globex", theirs.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		_, err = e.m.Deactivate(idp, "globex", theirAdmin.ID)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		after, err := e.m.GetUser(system, "globex", theirs.ID)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusActive, after.Status)
		assert.Empty(t, after.DeprovisionedAt)
	})

	t.Run("AnotherTenantsUserIsNotFound", func(t *testing.T) {
		_, err := e.m.GetUser(idp, tenant, theirs.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
		_, err = e.m.UpdateProvisionedUser(idp, tenant, theirs.ID, usermgmt.ProvisionUpdate{})
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
		err = e.m.DeprovisionUser(idp, tenant, theirs.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
	})

	t.Run("ItsOwnTenantAndItsTenantAdmins", func(t *testing.T) {
		second := e.seedActive(t, tenant, "second@acme.test", usermgmt.RoleTenantAdmin)
		u, err := e.m.UpdateProvisionedUser(idp, tenant, second.ID, usermgmt.ProvisionUpdate{Active: false})
		require.NoError(t, err, "a provisioner acts on tenant_admins")
		assert.Equal(t, usermgmt.StatusDeactivated, u.Status)
		_, err = e.m.GetUser(idp, tenant, ours.ID)
		assert.NoError(t, err)
	})

	t.Run("AnActorWinsOverTheProvisioner", func(t *testing.T) {
		agent := e.seedActive(t, tenant, "agent@acme.test", usermgmt.RoleAgent)
		ctx := usermgmt.WithActor(idp, usermgmt.Actor{UserID: agent.ID})
		_, err := e.m.ProvisionUser(ctx, tenant, usermgmt.Provision{Email: "x@acme.test", Active: true})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "the agent's rights, not the token's")
	})

	t.Run("ItsChangesNameIt", func(t *testing.T) {
		_, err := e.m.UpdateProvisionedUser(idp, tenant, ours.ID, usermgmt.ProvisionUpdate{Active: true,
			Profile: usermgmt.Profile{DisplayName: "Ana"}})
		require.NoError(t, err)
		ev := e.events(t, tenant, ours.ID)[0]
		assert.Equal(t, usermgmt.EventProfileUpdated, ev.Type)
		assert.Equal(t, "provisioning: Okta", ev.ActorName)
		assert.Equal(t, uuid.Nil, ev.ActorID)
		assert.Empty(t, ev.ActorEmail)
	})
}

func TestProvisionUser(t *testing.T) {
	e := mustManager(t)
	_, secret := e.provToken(t, tenant, "Okta")
	idp := e.asIdP(t, secret)
	profile := usermgmt.Profile{DisplayName: " Ana Lopez ", GivenName: "Ana", FamilyName: "Lopez", ExternalID: "00u1AbC"}

	t.Run("CreatesAnInvitedUserAndMailsTheInvitation", func(t *testing.T) {
		u, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: " Ana@Acme.TEST", Profile: profile,
			Roles: []usermgmt.Role{usermgmt.RoleAgent, usermgmt.RoleSupervisor, usermgmt.RoleAgent}, Active: true, SendInvite: true})
		require.NoError(t, err)
		assert.Equal(t, "ana@acme.test", u.Email)
		assert.Equal(t, usermgmt.StatusInvited, u.Status)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, u.Roles)
		assert.Equal(t, u.Roles, u.DirectRoles)
		assert.Equal(t, "Ana Lopez", u.DisplayName, "trimmed")
		assert.Equal(t, "00u1AbC", u.ExternalID)
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventInvited, usermgmt.EventUserCreated}, eventTypes(e.events(t, tenant, u.ID)))
		for _, ev := range e.events(t, tenant, u.ID) {
			assert.Equal(t, "provisioning: Okta", ev.ActorName)
		}
		assert.NotEmpty(t, e.mail.Token("ana@acme.test"), "the invitation went out")
		got, err := e.m.GetUser(system, tenant, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "Ana Lopez", got.DisplayName)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, got.DirectRoles)
	})

	t.Run("NoRolesAndNoMail", func(t *testing.T) {
		before := len(e.mail.Messages())
		u, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "sso@acme.test", Active: true})
		require.NoError(t, err)
		assert.Empty(t, u.Roles)
		assert.Len(t, e.mail.Messages(), before, "no invitation mail")
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventUserCreated}, eventTypes(e.events(t, tenant, u.ID)))
	})

	t.Run("InactiveIsCreatedThenDeactivated", func(t *testing.T) {
		before := len(e.mail.Messages())
		u, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "off@acme.test", Active: false, SendInvite: true})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusDeactivated, u.Status)
		assert.Len(t, e.mail.Messages(), before, "no invitation to a deactivated user")
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventSessionsRevoked, usermgmt.EventDeactivated, usermgmt.EventUserCreated},
			eventTypes(e.events(t, tenant, u.ID)))
	})

	t.Run("AnExistingEmailIsConflict", func(t *testing.T) {
		_, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "ADMIN@acme.test", Active: true})
		assert.Equal(t, usermgmt.CodeConflict, code(err))
		assert.Equal(t, usermgmt.FieldEmail, usermgmt.ErrorField(err))
	})

	t.Run("BadInputIsInvalid", func(t *testing.T) {
		for name, p := range map[string]usermgmt.Provision{
			"Email":        {Email: "not an email"},
			"LongName":     {Email: "a@acme.test", Profile: usermgmt.Profile{DisplayName: strings.Repeat("x", 257)}},
			"LongExternal": {Email: "a@acme.test", Profile: usermgmt.Profile{ExternalID: strings.Repeat("x", 257)}},
			"LongDept":     {Email: "a@acme.test", Profile: usermgmt.Profile{Department: strings.Repeat("x", 257)}},
			"LongNumber":   {Email: "a@acme.test", Profile: usermgmt.Profile{EmployeeNumber: strings.Repeat("x", 257)}},
			"BadManager":   {Email: "a@acme.test", Profile: usermgmt.Profile{ManagerID: "m\x00"}},
			"ControlChar":  {Email: "a@acme.test", Profile: usermgmt.Profile{GivenName: "A\x00na"}},
			"NotUTF8":      {Email: "a@acme.test", Profile: usermgmt.Profile{FamilyName: "\xffLopez"}},
			"UnknownRole":  {Email: "a@acme.test", Roles: []usermgmt.Role{"pilot"}},
		} {
			_, err := e.m.ProvisionUser(idp, tenant, p)
			assert.Equal(t, usermgmt.CodeInvalid, code(err), name)
		}
		_, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "long@acme.test",
			Profile: usermgmt.Profile{DisplayName: strings.Repeat("é", 256)}})
		assert.NoError(t, err, "256 characters")
	})

	t.Run("AProvisionerNeedsNoSudo", func(t *testing.T) {
		u, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "boss@acme.test", Active: true,
			Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
		require.NoError(t, err, "a token has no session to verify: it is trusted in its tenant")
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleTenantAdmin}, u.DirectRoles)
	})

	t.Run("AnActorNeedsToInvite", func(t *testing.T) {
		hrm := e.seedActive(t, tenant, "hrm@acme.test", usermgmt.RoleHRManager)
		_, err := e.m.ProvisionUser(e.as(hrm), tenant, usermgmt.Provision{Email: "new@acme.test", Active: true})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		hr := e.seedActive(t, tenant, "hr@acme.test", usermgmt.RoleHRAdmin)
		_, err = e.m.ProvisionUser(e.sudo(hr), tenant, usermgmt.Provision{Email: "new@acme.test",
			Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "only a tenant_admin grants tenant_admin")
		_, err = e.m.ProvisionUser(e.ctx, tenant, usermgmt.Provision{Email: "new@acme.test",
			Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
		assert.Equal(t, usermgmt.CodeMFARequired, code(err), "granting tenant_admin needs sudo mode")
	})
}

func TestDeprovisionAndReprovision(t *testing.T) {
	e := mustManager(t)
	_, secret := e.provToken(t, tenant, "Entra")
	idp := e.asIdP(t, secret)
	ana, _, s, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleSupervisor)
	_, err := e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: true,
		Profile: usermgmt.Profile{DisplayName: "Ana", ExternalID: "e-1"}})
	require.NoError(t, err)

	require.NoError(t, e.m.DeprovisionUser(idp, tenant, ana.ID))

	t.Run("DeactivatesAndKeepsEverything", func(t *testing.T) {
		got, err := e.m.GetUser(system, tenant, ana.ID)
		require.NoError(t, err, "GetUser still returns a deprovisioned user")
		assert.Equal(t, usermgmt.StatusDeactivated, got.Status)
		require.NotNil(t, got.DeprovisionedAt)
		assert.True(t, e.clock.Now().Equal(*got.DeprovisionedAt))
		assert.Equal(t, "Ana", got.DisplayName)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor}, got.Roles)
		evs := e.events(t, tenant, ana.ID)
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventSessionsRevoked, usermgmt.EventDeactivated, usermgmt.EventDeprovisioned},
			eventTypes(evs[:3]))
		assert.Equal(t, "provisioning: Entra", evs[2].ActorName)
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "sessions ended")
	})

	t.Run("IsGoneToProvisioning", func(t *testing.T) {
		err := e.m.DeprovisionUser(idp, tenant, ana.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err), "deprovisioned already")
		_, err = e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: true})
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
	})

	t.Run("ProvisionBringsTheSameUserBack", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		u, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "Ana@acme.test", Active: true, SendInvite: true,
			Profile: usermgmt.Profile{DisplayName: "Ana Lopez", ExternalID: "e-2"}, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		assert.Equal(t, ana.ID, u.ID, "the same user")
		assert.Nil(t, u.DeprovisionedAt)
		assert.Equal(t, usermgmt.StatusActive, u.Status, "back to what they were")
		assert.Equal(t, usermgmt.Profile{DisplayName: "Ana Lopez", ExternalID: "e-2"}, u.Profile, "profile replaced")
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor}, u.Roles, "same data: their roles")
		evs := e.events(t, tenant, ana.ID)
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventActivated, usermgmt.EventReprovisioned}, eventTypes(evs[:2]))
		assert.Equal(t, "provisioning: Entra", evs[1].ActorName)
		_, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: ana.Email, Password: goodPassword})
		assert.NoError(t, err, "signs in again with their password")
		_, err = e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "ana@acme.test", Active: true})
		assert.Equal(t, usermgmt.CodeConflict, code(err), "a live user again")
	})

	t.Run("InactiveComesBackDeactivated", func(t *testing.T) {
		bob, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "bob@acme.test", Active: true})
		require.NoError(t, err)
		require.NoError(t, e.m.DeprovisionUser(idp, tenant, bob.ID))
		back, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "bob@acme.test", Active: false})
		require.NoError(t, err)
		assert.Equal(t, bob.ID, back.ID)
		assert.Equal(t, usermgmt.StatusDeactivated, back.Status)
		assert.Nil(t, back.DeprovisionedAt)
		assert.Equal(t, usermgmt.EventReprovisioned, e.events(t, tenant, bob.ID)[0].Type)
	})

	t.Run("TheLastAdminIsNotDeprovisioned", func(t *testing.T) {
		err := e.m.DeprovisionUser(idp, tenant, e.admin.ID)
		assert.Equal(t, usermgmt.CodeConflict, code(err))
		got, err := e.m.GetUser(system, tenant, e.admin.ID)
		require.NoError(t, err)
		assert.Nil(t, got.DeprovisionedAt, "nothing kept")
		assert.Equal(t, usermgmt.StatusActive, got.Status)
	})
}

func TestUpdateProvisionedUser(t *testing.T) {
	var revoked []uuid.UUID
	var before, after int
	refuse := false
	e := mustManager(t, func(o *usermgmt.Options) {
		o.Revokers = []usermgmt.SessionRevoker{revokerFunc(func(_ context.Context, _ string, id uuid.UUID) error {
			revoked = append(revoked, id)
			return nil
		})}
		o.BeforeDeactivate = func(context.Context, usermgmt.User) error {
			before++
			if refuse {
				return usermgmt.Errorf(usermgmt.CodeConflict, "ana runs tomorrow's shift")
			}
			return nil
		}
		o.AfterDeactivate = func(context.Context, usermgmt.User) { after++ }
	})
	_, secret := e.provToken(t, tenant, "Okta")
	idp := e.asIdP(t, secret)
	ana, _, s, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)

	t.Run("ProfileChangeIsLoggedWithItsFields", func(t *testing.T) {
		cur, err := e.m.GetUser(system, tenant, ana.ID)
		require.NoError(t, err)
		u, err := e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: true, IfVersion: cur.Version,
			Profile: usermgmt.Profile{DisplayName: "Ana Lopez ", FamilyName: "Lopez"}})
		require.NoError(t, err)
		assert.Equal(t, "Ana Lopez", u.DisplayName)
		assert.Greater(t, u.Version, cur.Version)
		ev := e.events(t, tenant, ana.ID)[0]
		assert.Equal(t, usermgmt.EventProfileUpdated, ev.Type)
		assert.Equal(t, "display name, family name", ev.Detail)
		u, err = e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: true,
			Profile: usermgmt.Profile{DisplayName: "Ana Lopez", FamilyName: "Lopez", EmployeeNumber: " 7 ", Department: "HR", ManagerID: "m-1"}})
		require.NoError(t, err)
		assert.Equal(t, "7", u.EmployeeNumber, "trimmed like the other fields")
		assert.Equal(t, "employee number, department, manager", e.events(t, tenant, ana.ID)[0].Detail)
		n := len(e.events(t, tenant, ana.ID))
		same, err := e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: true,
			Profile: usermgmt.Profile{DisplayName: "Ana Lopez", FamilyName: "Lopez", EmployeeNumber: "7", Department: "HR", ManagerID: "m-1"}})
		require.NoError(t, err)
		assert.Len(t, e.events(t, tenant, ana.ID), n, "no change, no event")
		assert.Equal(t, u.Version, same.Version, "no change, same version")
	})

	t.Run("StaleVersionIsConflictAndChangesNothing", func(t *testing.T) {
		cur, err := e.m.GetUser(system, tenant, ana.ID)
		require.NoError(t, err)
		_, err = e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: false, IfVersion: cur.Version - 1,
			Profile: usermgmt.Profile{DisplayName: "Stale"}})
		assert.Equal(t, usermgmt.CodeConflict, code(err))
		assert.Equal(t, usermgmt.FieldVersion, usermgmt.ErrorField(err))
		got, err := e.m.GetUser(system, tenant, ana.ID)
		require.NoError(t, err)
		assert.Equal(t, cur.Profile, got.Profile)
		assert.Equal(t, usermgmt.StatusActive, got.Status)
		assert.Equal(t, cur.Version, got.Version)
	})

	t.Run("BeforeDeactivateMayRefuse", func(t *testing.T) {
		refuse = true
		defer func() { refuse = false }()
		_, err := e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: false})
		assert.Equal(t, usermgmt.CodeConflict, code(err))
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.NoError(t, err, "not deactivated")
	})

	t.Run("InactiveEndsSessionsAndRefreshTokensAtOnce", func(t *testing.T) {
		before, after, revoked = 0, 0, nil
		u, err := e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: false,
			Profile: usermgmt.Profile{DisplayName: "Ana Lopez", FamilyName: "Lopez"}})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusDeactivated, u.Status)
		evs := e.events(t, tenant, ana.ID)
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventSessionsRevoked, usermgmt.EventDeactivated}, eventTypes(evs[:2]))
		assert.Equal(t, "provisioning: Okta", evs[1].ActorName)
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.Refresh(context.Background(), s.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: ana.Email, Password: goodPassword})
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		assert.Equal(t, []uuid.UUID{ana.ID}, revoked, "the host's revokers are told")
		assert.Equal(t, 1, before)
		assert.Equal(t, 1, after)
		evs = e.events(t, tenant, ana.ID)

		_, err = e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: false,
			Profile: usermgmt.Profile{DisplayName: "Ana Lopez", FamilyName: "Lopez"}})
		require.NoError(t, err)
		assert.Equal(t, 1, before, "deactivated already: no hook")
		assert.Equal(t, 1, after)
		assert.Len(t, e.events(t, tenant, ana.ID), len(evs), "idempotent")
	})

	t.Run("ActiveActivates", func(t *testing.T) {
		u, err := e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: true,
			Profile: usermgmt.Profile{DisplayName: "Ana Lopez", FamilyName: "Lopez"}})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusActive, u.Status)
		assert.Equal(t, usermgmt.EventActivated, e.events(t, tenant, ana.ID)[0].Type)
		_, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: ana.Email, Password: goodPassword})
		assert.NoError(t, err)
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		cur, err := e.m.GetUser(system, tenant, e.admin.ID)
		require.NoError(t, err)
		n := len(e.events(t, tenant, e.admin.ID))
		_, err = e.m.UpdateProvisionedUser(idp, tenant, e.admin.ID, usermgmt.ProvisionUpdate{Active: false,
			Profile: usermgmt.Profile{DisplayName: "Gone"}})
		assert.Equal(t, usermgmt.CodeConflict, code(err), "the last active tenant_admin")
		assert.Empty(t, usermgmt.ErrorField(err))
		got, err := e.m.GetUser(system, tenant, e.admin.ID)
		require.NoError(t, err)
		assert.Equal(t, cur.Profile, got.Profile, "the profile change went with it")
		assert.Equal(t, cur.Version, got.Version)
		assert.Equal(t, usermgmt.StatusActive, got.Status)
		assert.Len(t, e.events(t, tenant, e.admin.ID), n, "no event kept")
	})

	t.Run("RevivalAsInactiveDeactivatesWithTheHooks", func(t *testing.T) {
		bob, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "bob@acme.test", Active: true})
		require.NoError(t, err)
		require.NoError(t, e.m.DeprovisionUser(idp, tenant, bob.ID))
		_, err = e.m.Activate(e.ctx, tenant, bob.ID) // an admin's call, while the IdP had him deleted
		require.NoError(t, err)
		before, after, revoked = 0, 0, nil
		back, err := e.m.ProvisionUser(idp, tenant, usermgmt.Provision{Email: "bob@acme.test", Active: false})
		require.NoError(t, err)
		assert.Equal(t, bob.ID, back.ID)
		assert.Equal(t, usermgmt.StatusDeactivated, back.Status, "active as the IdP says")
		assert.Equal(t, 1, before)
		assert.Equal(t, 1, after)
		assert.Equal(t, []uuid.UUID{bob.ID}, revoked)
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventSessionsRevoked, usermgmt.EventDeactivated, usermgmt.EventReprovisioned},
			eventTypes(e.events(t, tenant, bob.ID)[:3]))
	})

	t.Run("AnActorCannotDeactivateThemselves", func(t *testing.T) {
		_, err := e.m.UpdateProvisionedUser(e.ctx, tenant, e.admin.ID, usermgmt.ProvisionUpdate{Active: false})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
	})

	t.Run("BadProfileIsInvalid", func(t *testing.T) {
		_, err := e.m.UpdateProvisionedUser(idp, tenant, ana.ID, usermgmt.ProvisionUpdate{Active: true,
			Profile: usermgmt.Profile{ExternalID: strings.Repeat("x", 257)}})
		assert.Equal(t, usermgmt.CodeInvalid, code(err))
	})
}

// findSpy is a store whose transactions record what FindUsers was asked.
type findSpy struct {
	usermgmt.Store
	got *usermgmt.UserFindParams
}

func (s *findSpy) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	return s.Store.RunInTx(ctx, opts, func(ctx context.Context, tx usermgmt.Tx) error {
		return fn(ctx, findSpyTx{tx, s})
	})
}

type findSpyTx struct {
	usermgmt.Tx
	s *findSpy
}

func (t findSpyTx) FindUsers(ctx context.Context, p usermgmt.UserFindParams) ([]usermgmt.User, int, error) {
	t.s.got = &p
	return nil, 0, nil
}

func TestFindUsersChecksTheQuery(t *testing.T) {
	e := mustManager(t)
	spy := &findSpy{Store: e.store}
	m, err := usermgmt.New(spy, usermgmt.Options{Mailer: e.mail, SecretKey: testKey, Clock: e.clock.Now,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	leaf := func(op usermgmt.FilterOp, a usermgmt.UserAttr, v string) usermgmt.UserFilter {
		return usermgmt.UserFilter{Op: op, Attr: a, Value: v}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("ValidFiltersReachTheStore", func(t *testing.T) {
		f := usermgmt.UserFilter{Op: usermgmt.FilterAnd, Sub: []usermgmt.UserFilter{
			leaf(usermgmt.FilterEq, usermgmt.UserAttrEmail, " Ana@ACME.test"),
			{Op: usermgmt.FilterNot, Sub: []usermgmt.UserFilter{leaf(usermgmt.FilterEq, usermgmt.UserAttrActive, "False")}},
			{Op: usermgmt.FilterGt, Attr: usermgmt.UserAttrUpdated, Time: at},
			leaf(usermgmt.FilterPr, usermgmt.UserAttrExternalID, ""),
			leaf(usermgmt.FilterSw, usermgmt.UserAttrDisplayName, "Ana"),
		}}
		_, err := m.FindUsers(system, tenant, usermgmt.UserQuery{Filter: &f, Offset: 5, Limit: usermgmt.MaxFindLimit, Descending: true})
		require.NoError(t, err)
		require.NotNil(t, spy.got)
		assert.Equal(t, tenant, spy.got.TenantID)
		assert.Equal(t, 5, spy.got.Offset)
		assert.Equal(t, usermgmt.MaxFindLimit, spy.got.Limit)
		assert.True(t, spy.got.Descending)
		sub := spy.got.Filter.Sub
		assert.Equal(t, "ana@acme.test", sub[0].Value, "emails folded as stored")
		assert.Equal(t, "false", sub[1].Sub[0].Value)
		assert.True(t, at.Equal(sub[2].Time))
		assert.Equal(t, " Ana@ACME.test", f.Sub[0].Value, "the caller's filter is left as it was")
	})

	t.Run("BadQueriesAreInvalid", func(t *testing.T) {
		deep := leaf(usermgmt.FilterEq, usermgmt.UserAttrID, "x")
		for range 63 {
			deep = usermgmt.UserFilter{Op: usermgmt.FilterNot, Sub: []usermgmt.UserFilter{deep}}
		}
		_, err := m.FindUsers(system, tenant, usermgmt.UserQuery{Filter: &deep})
		require.NoError(t, err, "64 conditions")
		tooDeep := usermgmt.UserFilter{Op: usermgmt.FilterNot, Sub: []usermgmt.UserFilter{deep}}
		for name, f := range map[string]usermgmt.UserFilter{
			"UnknownAttr":     leaf(usermgmt.FilterEq, "password", "x"),
			"UnknownOp":       leaf("regex", usermgmt.UserAttrEmail, "x"),
			"CoOnActive":      leaf(usermgmt.FilterCo, usermgmt.UserAttrActive, "true"),
			"GtOnText":        leaf(usermgmt.FilterGt, usermgmt.UserAttrEmail, "a"),
			"SwOnTime":        {Op: usermgmt.FilterSw, Attr: usermgmt.UserAttrCreated, Time: at},
			"ActiveNotBool":   leaf(usermgmt.FilterEq, usermgmt.UserAttrActive, "yes"),
			"TimeMissing":     leaf(usermgmt.FilterLt, usermgmt.UserAttrCreated, "2026-01-01"),
			"AndOfOne":        {Op: usermgmt.FilterAnd, Sub: []usermgmt.UserFilter{leaf(usermgmt.FilterPr, usermgmt.UserAttrID, "")}},
			"OrOfNone":        {Op: usermgmt.FilterOr},
			"NotOfTwo":        {Op: usermgmt.FilterNot, Sub: make([]usermgmt.UserFilter, 2)},
			"LeafWithSub":     {Op: usermgmt.FilterEq, Attr: usermgmt.UserAttrEmail, Sub: []usermgmt.UserFilter{{}}},
			"NotUTF8":         leaf(usermgmt.FilterEq, usermgmt.UserAttrGivenName, "\xff"),
			"NUL":             leaf(usermgmt.FilterEq, usermgmt.UserAttrExternalID, "a\x00"),
			"SixtyFiveNodes":  tooDeep,
			"BadSubInsideAnd": {Op: usermgmt.FilterAnd, Sub: []usermgmt.UserFilter{deep, leaf(usermgmt.FilterCo, usermgmt.UserAttrActive, "x")}},
		} {
			spy.got = nil
			_, err := m.FindUsers(system, tenant, usermgmt.UserQuery{Filter: &f, Limit: 1})
			assert.Equal(t, usermgmt.CodeInvalid, code(err), name)
			assert.Nil(t, spy.got, "%s: never reaches the store", name)
		}
		for name, q := range map[string]usermgmt.UserQuery{
			"NegativeOffset": {Offset: -1},
			"NegativeLimit":  {Limit: -1},
			"LimitOverMax":   {Limit: usermgmt.MaxFindLimit + 1},
		} {
			_, err := m.FindUsers(system, tenant, q)
			assert.Equal(t, usermgmt.CodeInvalid, code(err), name)
		}
	})

	t.Run("NeedsToListUsers", func(t *testing.T) {
		agent := e.seedActive(t, tenant, "agent@acme.test", usermgmt.RoleAgent)
		_, err := m.FindUsers(e.as(agent), tenant, usermgmt.UserQuery{})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		_, err = m.FindUsers(context.Background(), tenant, usermgmt.UserQuery{})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		_, err = m.FindUsers(e.as(e.admin), tenant, usermgmt.UserQuery{})
		assert.NoError(t, err)
	})
}
