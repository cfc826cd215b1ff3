package usermgmt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/memory"
)

func TestNewValidatesOptions(t *testing.T) {
	good := func() usermgmt.Options {
		return usermgmt.Options{Mailer: &usermgmt.LogMailer{}, SecretKey: testKey,
			Links: usermgmt.Links{BaseURL: "https://app.example.com"}}
	}
	_, err := usermgmt.New(memory.New(), good())
	require.NoError(t, err)
	for name, edit := range map[string]func(*usermgmt.Options){
		"NoMailer":          func(o *usermgmt.Options) { o.Mailer = nil },
		"ShortKey":          func(o *usermgmt.Options) { o.SecretKey = testKey[:16] },
		"NoBaseURL":         func(o *usermgmt.Options) { o.Links.BaseURL = "" },
		"RelativeBaseURL":   func(o *usermgmt.Options) { o.Links.BaseURL = "/app" },
		"MinPasswordUnder8": func(o *usermgmt.Options) { o.PasswordMinLength = 7 },
		"WeakArgon2":        func(o *usermgmt.Options) { o.Argon2 = usermgmt.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1} },
		"NoTenantAdmin":     func(o *usermgmt.Options) { o.Roles = []usermgmt.RoleDef{{Name: "x"}} },
		"DuplicateRole": func(o *usermgmt.Options) {
			o.Roles = []usermgmt.RoleDef{{Name: "tenant_admin"}, {Name: "tenant_admin"}}
		},
		"NegativeTTL":        func(o *usermgmt.Options) { o.InviteTTL = -time.Second },
		"NilRevoker":         func(o *usermgmt.Options) { o.Revokers = []usermgmt.SessionRevoker{nil} },
		"IdleOverMax":        func(o *usermgmt.Options) { o.SessionIdleTimeout = 13 * time.Hour },
		"NegativeRetention":  func(o *usermgmt.Options) { o.ActivityRetention = -time.Hour },
		"RetentionUnderADay": func(o *usermgmt.Options) { o.ActivityRetention = 23 * time.Hour },
	} {
		t.Run(name, func(t *testing.T) {
			o := good()
			edit(&o)
			_, err := usermgmt.New(memory.New(), o)
			assert.Equal(t, usermgmt.CodeInvalid, code(err), "%v", err)
		})
	}
	_, err = usermgmt.New(nil, good())
	assert.Equal(t, usermgmt.CodeInvalid, code(err))
}

func TestDefaultRolesFollowTheProductPage(t *testing.T) {
	var names, descs []string
	for _, r := range usermgmt.DefaultRoles() {
		names = append(names, string(r.Name))
		descs = append(descs, r.Description)
	}
	assert.Equal(t, []string{"tenant_admin", "hr_admin", "hr_manager", "wfm_analyst", "recruiter", "supervisor", "agent", "compliance_officer"}, names)
	assert.Equal(t, "Full tenant administration access", descs[0])
	assert.Equal(t, "Frontline agent (limited access)", descs[6])
	assert.Equal(t, "Compliance and audit access", descs[7])
}

func TestInviteUser(t *testing.T) {
	e := mustManager(t)
	u, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "  Ana.Lopez@Example.COM ", Roles: []usermgmt.Role{"recruiter", "hr_admin", "recruiter"}})
	require.NoError(t, err)

	t.Run("NormalisesEmailAndRoles", func(t *testing.T) {
		assert.Equal(t, "ana.lopez@example.com", u.Email)
		assert.Equal(t, usermgmt.StatusInvited, u.Status)
		assert.Equal(t, []usermgmt.Role{"hr_admin", "recruiter"}, u.Roles)
		assert.False(t, u.MFAEnabled)
		assert.Nil(t, u.LastLoginAt)
	})
	t.Run("MailsALinkWithToken", func(t *testing.T) {
		msg, ok := e.mail.Last()
		require.True(t, ok)
		assert.Equal(t, "ana.lopez@example.com", msg.To)
		assert.Contains(t, msg.Subject, "Acme HR")
		assert.Contains(t, msg.Text, "https://app.example.com/invitations/accept?token=")
		assert.Contains(t, msg.HTML, "https://app.example.com/invitations/accept?token=")
		tok := e.lastToken(t, u.Email)
		assert.GreaterOrEqual(t, len(tok), 43, "256-bit token")
	})
	t.Run("TokenStoredOnlyAsHash", func(t *testing.T) {
		tok := e.lastToken(t, u.Email)
		err := e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			_, err := tx.ConsumeToken(ctx, usermgmt.PurposeInvite, usermgmt.TokenHash([]byte(tok[:32])))
			assert.Equal(t, usermgmt.CodeNotFound, code(err))
			return errors.New("rollback")
		})
		require.Error(t, err)
	})
	t.Run("DuplicateEmailIsConflict", func(t *testing.T) {
		_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ANA.lopez@example.com", Roles: []usermgmt.Role{"agent"}})
		assert.Equal(t, usermgmt.CodeConflict, code(err))
	})
	t.Run("SameEmailInAnotherTenantIsAnotherUser", func(t *testing.T) {
		other, err := e.m.InviteUser(system, "globex", usermgmt.Invite{Email: "ana.lopez@example.com", Roles: []usermgmt.Role{"agent"}})
		require.NoError(t, err)
		assert.NotEqual(t, u.ID, other.ID)
	})
	t.Run("EventsRecorded", func(t *testing.T) {
		page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		require.Len(t, page.Events, 2)
		assert.Equal(t, usermgmt.EventInvited, page.Events[0].Type)
		assert.Equal(t, usermgmt.EventUserCreated, page.Events[1].Type)
		assert.Equal(t, e.admin.ID, page.Events[0].ActorID)
		assert.Equal(t, "203.0.113.7", page.Events[0].IP)
	})
}

// unchanged asserts the tenant's users and the mail count did not move.
func unchanged(t *testing.T, e *env, before usermgmt.UserPage, mails int) {
	t.Helper()
	after, err := e.m.ListUsers(system, tenant, usermgmt.ListUsersQuery{Limit: 200})
	require.NoError(t, err)
	assert.Equal(t, before, after)
	assert.Len(t, e.mail.Messages(), mails)
}

func TestBadInputChangesNothing(t *testing.T) {
	e := mustManager(t)
	invited, _ := e.invite(t, "invited@acme.test")
	active := e.seedActive(t, tenant, "active@acme.test", usermgmt.RoleAgent)
	gone := e.seedActive(t, tenant, "gone@acme.test", usermgmt.RoleAgent)
	_, err := e.m.Deactivate(e.ctx, tenant, gone.ID)
	require.NoError(t, err)
	foreign := e.seedActive(t, "globex", "x@globex.test", usermgmt.RoleAgent)
	before, err := e.m.ListUsers(system, tenant, usermgmt.ListUsersQuery{Limit: 200})
	require.NoError(t, err)
	mails := len(e.mail.Messages())

	cases := map[string]struct {
		want usermgmt.Code
		do   func() error
	}{
		"EmptyEmail":     {usermgmt.CodeInvalid, func() error { return inviteErr(e, "  ", "agent") }},
		"OverlongEmail":  {usermgmt.CodeInvalid, func() error { return inviteErr(e, strings.Repeat("a", 250)+"@x.io", "agent") }},
		"MalformedEmail": {usermgmt.CodeInvalid, func() error { return inviteErr(e, "ana@@example.com", "agent") }},
		"EmailWithName":  {usermgmt.CodeInvalid, func() error { return inviteErr(e, "Ana <ana@example.com>", "agent") }},
		"EmailNoDomain":  {usermgmt.CodeInvalid, func() error { return inviteErr(e, "ana@", "agent") }},
		"UnknownRole":    {usermgmt.CodeInvalid, func() error { return inviteErr(e, "new@acme.test", "wizard") }},
		"ZeroRoles":      {usermgmt.CodeInvalid, func() error { return inviteErr(e, "new@acme.test") }},
		"EmptyTenant": {usermgmt.CodeInvalid, func() error {
			_, err := e.m.InviteUser(system, "", usermgmt.Invite{Email: "a@b.io", Roles: []usermgmt.Role{"agent"}})
			return err
		}},
		"UnknownUser":        {usermgmt.CodeNotFound, func() error { _, err := e.m.GetUser(e.ctx, tenant, uuid.New()); return err }},
		"OtherTenantUserGet": {usermgmt.CodeNotFound, func() error { _, err := e.m.GetUser(e.ctx, tenant, foreign.ID); return err }},
		"OtherTenantUserGrant": {usermgmt.CodeNotFound, func() error {
			_, err := e.m.GrantRole(e.ctx, tenant, foreign.ID, "hr_admin")
			return err
		}},
		"OtherTenantUserDeactivate": {usermgmt.CodeNotFound, func() error { _, err := e.m.Deactivate(e.ctx, tenant, foreign.ID); return err }},
		"UnknownUserActivity": {usermgmt.CodeNotFound, func() error {
			_, err := e.m.ListActivity(e.ctx, tenant, uuid.New(), usermgmt.ActivityQuery{})
			return err
		}},
		"OtherTenantUserActivity": {usermgmt.CodeNotFound, func() error {
			_, err := e.m.ListActivity(e.ctx, tenant, foreign.ID, usermgmt.ActivityQuery{})
			return err
		}},
		"OtherTenantForceLogout": {usermgmt.CodeNotFound, func() error { return e.m.ForceLogout(e.ctx, tenant, foreign.ID) }},
		"GrantUnknownRole":       {usermgmt.CodeInvalid, func() error { _, err := e.m.GrantRole(e.ctx, tenant, active.ID, "wizard"); return err }},
		"GarbledCursor": {usermgmt.CodeInvalid, func() error {
			_, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Cursor: "not-a-cursor"})
			return err
		}},
		"GarbledActivityCursor": {usermgmt.CodeInvalid, func() error {
			_, err := e.m.ListActivity(e.ctx, tenant, active.ID, usermgmt.ActivityQuery{Cursor: "AAAA"})
			return err
		}},
		"LimitTooLarge": {usermgmt.CodeInvalid, func() error {
			_, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Limit: 201})
			return err
		}},
		"LimitNegative": {usermgmt.CodeInvalid, func() error {
			_, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Limit: -1})
			return err
		}},
		"UnknownStatus": {usermgmt.CodeInvalid, func() error {
			_, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Status: "banned"})
			return err
		}},
		"ResendForActiveUser":      {usermgmt.CodeConflict, func() error { return e.m.ResendInvite(e.ctx, tenant, active.ID) }},
		"ResetForInvitedUser":      {usermgmt.CodeConflict, func() error { return e.m.SendPasswordReset(e.ctx, tenant, invited.ID) }},
		"ResetForDeactivatedUser":  {usermgmt.CodeConflict, func() error { return e.m.SendPasswordReset(e.ctx, tenant, gone.ID) }},
		"ResendWithinAMinute":      {usermgmt.CodeRateLimited, func() error { return e.m.ResendInvite(e.ctx, tenant, invited.ID) }},
		"ForgotWithMalformedEmail": {usermgmt.CodeInvalid, func() error { return e.m.RequestPasswordReset(context.Background(), tenant, "nope") }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, c.want, code(c.do()))
			unchanged(t, e, before, mails)
		})
	}
}

func inviteErr(e *env, email string, roles ...usermgmt.Role) error {
	_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: email, Roles: roles})
	return err
}

func TestCursorIsTamperEvident(t *testing.T) {
	e := mustManager(t)
	for i := range 5 {
		e.seedActive(t, tenant, fmt.Sprintf("u%d@acme.test", i), usermgmt.RoleAgent)
	}
	page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Limit: 2})
	require.NoError(t, err)
	require.NotEmpty(t, page.NextCursor)
	c := []byte(page.NextCursor)
	c[5] ^= 1
	_, err = e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Limit: 2, Cursor: string(c)})
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "flipped bit")
	_, err = e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Limit: 2, Cursor: page.NextCursor, Status: usermgmt.StatusActive})
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "cursor of another query")
	_, err = e.m.ListUsers(system, "globex", usermgmt.ListUsersQuery{Limit: 2, Cursor: page.NextCursor})
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "cursor of another tenant")
}

func TestListUsers(t *testing.T) {
	e := mustManager(t)
	for _, email := range []string{"carol@acme.test", "bob@acme.test", "dave@other.test"} {
		e.invite(t, email)
	}
	erin := e.seedActive(t, tenant, "erin@acme.test", usermgmt.RoleAgent)
	_, err := e.m.Deactivate(e.ctx, tenant, erin.ID)
	require.NoError(t, err)
	e.seedActive(t, "globex", "zed@globex.test", usermgmt.RoleAgent)

	page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusCounts{Active: 1, Invited: 3, Deactivated: 1, All: 5}, page.Counts)
	assert.Equal(t, []string{"admin@acme.test", "bob@acme.test", "carol@acme.test", "dave@other.test", "erin@acme.test"}, emails(page.Users))
	assert.Empty(t, page.NextCursor)

	t.Run("StatusFilterKeepsTenantWideCounts", func(t *testing.T) {
		p, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Status: usermgmt.StatusInvited})
		require.NoError(t, err)
		assert.Equal(t, []string{"bob@acme.test", "carol@acme.test", "dave@other.test"}, emails(p.Users))
		assert.Equal(t, page.Counts, p.Counts)
	})
	t.Run("SearchIsCaseInsensitiveSubstring", func(t *testing.T) {
		p, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "ACME.T"})
		require.NoError(t, err)
		assert.Equal(t, []string{"admin@acme.test", "bob@acme.test", "carol@acme.test", "erin@acme.test"}, emails(p.Users))
		p, err = e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "OTHER", Status: usermgmt.StatusInvited})
		require.NoError(t, err)
		assert.Equal(t, []string{"dave@other.test"}, emails(p.Users))
	})
	t.Run("ListNeverCarriesSecrets", func(t *testing.T) {
		for _, u := range page.Users {
			assert.NotContains(t, fmt.Sprintf("%+v", u), "argon2")
		}
	})
}

func emails(us []usermgmt.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Email
	}
	return out
}

func TestKeysetPagingWhileInviting(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.MailInterval = time.Nanosecond })
	want := map[string]bool{e.admin.Email: true}
	for i := range 1000 {
		u := e.seedActive(t, tenant, fmt.Sprintf("user%04d@acme.test", i), usermgmt.RoleAgent)
		want[u.Email] = true
	}
	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100)
		p, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Limit: 37, Cursor: cursor})
		require.NoError(t, err)
		for _, u := range p.Users {
			seen[u.Email]++
		}
		// Someone invites people between pages, before and after the cursor.
		e.invite(t, fmt.Sprintf("aaa-new%d@acme.test", pages))
		e.invite(t, fmt.Sprintf("zzz-new%d@acme.test", pages))
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	for email := range want {
		assert.Equal(t, 1, seen[email], email)
	}
	for email, n := range seen {
		assert.Equal(t, 1, n, "seen twice: %s", email)
	}
}

func TestRoles(t *testing.T) {
	e := mustManager(t)
	u, _ := e.invite(t, "ana@acme.test", usermgmt.RoleAgent)

	t.Run("GrantAndRevokeAreIdempotentToggles", func(t *testing.T) {
		got, err := e.m.GrantRole(e.ctx, tenant, u.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.Role{"supervisor", "agent"}, got.Roles)
		got, err = e.m.GrantRole(e.ctx, tenant, u.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.Role{"supervisor", "agent"}, got.Roles)
		got, err = e.m.RevokeRole(e.ctx, tenant, u.ID, usermgmt.RoleAgent)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.Role{"supervisor"}, got.Roles)
		_, err = e.m.RevokeRole(e.ctx, tenant, u.ID, usermgmt.RoleAgent)
		require.NoError(t, err)
		page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		var types []usermgmt.EventType
		for _, ev := range page.Events {
			types = append(types, ev.Type)
		}
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventRoleRevoked, usermgmt.EventRoleGranted, usermgmt.EventInvited, usermgmt.EventUserCreated}, types)
		assert.Equal(t, "agent", page.Events[0].Detail)
	})
	t.Run("LastActiveTenantAdminKeepsTheRole", func(t *testing.T) {
		_, err := e.m.RevokeRole(e.ctx, tenant, e.admin.ID, usermgmt.RoleTenantAdmin)
		assert.Equal(t, usermgmt.CodeConflict, code(err))
		_, err = e.m.Deactivate(system, tenant, e.admin.ID) // nobody deactivates themselves: see TestAllowedActions
		assert.Equal(t, usermgmt.CodeConflict, code(err))
		got, err := e.m.GetUser(e.ctx, tenant, e.admin.ID)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusActive, got.Status)
		assert.True(t, got.HasRole(usermgmt.RoleTenantAdmin))
	})
	t.Run("TwoAdminsCannotBothStepDown", func(t *testing.T) {
		second := e.seedActive(t, tenant, "second@acme.test", usermgmt.RoleTenantAdmin)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, who := range []usermgmt.User{e.admin, second} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.m.RevokeRole(e.as(who), tenant, who.ID, usermgmt.RoleTenantAdmin)
			}()
		}
		wg.Wait()
		assert.ElementsMatch(t, []usermgmt.Code{"", usermgmt.CodeConflict}, []usermgmt.Code{code(errs[0]), code(errs[1])})
		_, err := e.m.GrantRole(system, tenant, e.admin.ID, usermgmt.RoleTenantAdmin)
		require.NoError(t, err)
	})
}

func TestPermissions(t *testing.T) {
	e := mustManager(t)
	hr := e.seedActive(t, tenant, "hr@acme.test", usermgmt.RoleHRAdmin)
	agent := e.seedActive(t, tenant, "agent@acme.test", usermgmt.RoleAgent)
	auditor := e.seedActive(t, tenant, "audit@acme.test", usermgmt.RoleComplianceOfficer)
	outsider := e.seedActive(t, "globex", "boss@globex.test", usermgmt.RoleTenantAdmin)
	target := e.seedActive(t, tenant, "target@acme.test", usermgmt.RoleAgent)
	denied := usermgmt.CodePermissionDenied

	t.Run("AgentMayDoNothing", func(t *testing.T) {
		ctx := e.as(agent)
		_, err := e.m.ListUsers(ctx, tenant, usermgmt.ListUsersQuery{})
		assert.Equal(t, denied, code(err))
		_, err = e.m.InviteUser(ctx, tenant, usermgmt.Invite{Email: "x@acme.test", Roles: []usermgmt.Role{"agent"}})
		assert.Equal(t, denied, code(err))
		_, err = e.m.GrantRole(ctx, tenant, target.ID, "supervisor")
		assert.Equal(t, denied, code(err))
		assert.Equal(t, denied, code(e.m.ForceLogout(ctx, tenant, target.ID)))
		assert.Equal(t, denied, code(e.m.SendPasswordReset(ctx, tenant, target.ID)))
		_, err = e.m.Deactivate(ctx, tenant, target.ID)
		assert.Equal(t, denied, code(err))
		_, err = e.m.ListActivity(ctx, tenant, target.ID, usermgmt.ActivityQuery{})
		assert.Equal(t, denied, code(err))
	})
	t.Run("ComplianceOfficerReadsOnly", func(t *testing.T) {
		ctx := e.as(auditor)
		_, err := e.m.ListUsers(ctx, tenant, usermgmt.ListUsersQuery{})
		require.NoError(t, err)
		_, err = e.m.ListActivity(ctx, tenant, target.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		_, err = e.m.Deactivate(ctx, tenant, target.ID)
		assert.Equal(t, denied, code(err))
	})
	t.Run("HRAdminManagesUsersButNotTenantAdmins", func(t *testing.T) {
		ctx := e.as(hr)
		_, err := e.m.GrantRole(ctx, tenant, target.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err)
		_, err = e.m.GrantRole(ctx, tenant, target.ID, usermgmt.RoleTenantAdmin)
		assert.Equal(t, denied, code(err), "grant tenant_admin")
		_, err = e.m.InviteUser(ctx, tenant, usermgmt.Invite{Email: "boss2@acme.test", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
		assert.Equal(t, denied, code(err), "invite a tenant_admin")
		_, err = e.m.Deactivate(ctx, tenant, e.admin.ID)
		assert.Equal(t, denied, code(err), "deactivate a tenant_admin")
		assert.Equal(t, denied, code(e.m.ForceLogout(ctx, tenant, e.admin.ID)), "force logout a tenant_admin")
		_, err = e.m.RevokeRole(ctx, tenant, e.admin.ID, usermgmt.RoleTenantAdmin)
		assert.Equal(t, denied, code(err))
	})
	t.Run("ActorOfAnotherTenantIsDenied", func(t *testing.T) {
		_, err := e.m.ListUsers(e.as(outsider), tenant, usermgmt.ListUsersQuery{})
		assert.Equal(t, denied, code(err))
	})
	t.Run("DeactivatedActorIsDenied", func(t *testing.T) {
		_, err := e.m.Deactivate(e.ctx, tenant, hr.ID)
		require.NoError(t, err)
		_, err = e.m.ListUsers(e.as(hr), tenant, usermgmt.ListUsersQuery{})
		assert.Equal(t, denied, code(err))
	})
	t.Run("AsSystemIsTrustedAndRecordedAsTheSystem", func(t *testing.T) {
		u, err := e.m.InviteUser(system, "newco", usermgmt.Invite{Email: "first@newco.test", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
		require.NoError(t, err)
		page, err := e.m.ListActivity(system, "newco", u.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		assert.Equal(t, uuid.Nil, page.Events[0].ActorID)
	})
	t.Run("NoActorAndNoSystemMarkIsDenied", func(t *testing.T) {
		// A host handler that forgets WithActor must grant nothing.
		bare := context.Background()
		id := e.seedActive(t, tenant, "untouched@acme.test", usermgmt.RoleAgent).ID
		ops := map[string]func() error{
			"ListUsers": func() error { _, err := e.m.ListUsers(bare, tenant, usermgmt.ListUsersQuery{}); return err },
			"GetUser":   func() error { _, err := e.m.GetUser(bare, tenant, id); return err },
			"InviteUser": func() error {
				_, err := e.m.InviteUser(bare, tenant, usermgmt.Invite{Email: "x@acme.test", Roles: []usermgmt.Role{"agent"}})
				return err
			},
			"ResendInvite":        func() error { return e.m.ResendInvite(bare, tenant, id) },
			"GrantRole":           func() error { _, err := e.m.GrantRole(bare, tenant, id, usermgmt.RoleTenantAdmin); return err },
			"RevokeRole":          func() error { _, err := e.m.RevokeRole(bare, tenant, id, usermgmt.RoleAgent); return err },
			"SendPasswordReset":   func() error { return e.m.SendPasswordReset(bare, tenant, id) },
			"ResetMFA":            func() error { return e.m.ResetMFA(bare, tenant, id) },
			"ForceLogout":         func() error { return e.m.ForceLogout(bare, tenant, id) },
			"ListActivity":        func() error { _, err := e.m.ListActivity(bare, tenant, id, usermgmt.ActivityQuery{}); return err },
			"Deactivate":          func() error { _, err := e.m.Deactivate(bare, tenant, id); return err },
			"Activate":            func() error { _, err := e.m.Activate(bare, tenant, id); return err },
			"ListUndeliveredMail": func() error { _, err := e.m.ListUndeliveredMail(bare, tenant, usermgmt.MailQuery{}); return err },
		}
		for name, op := range ops {
			assert.Equal(t, denied, code(op()), name)
		}
		got, err := e.m.GetUser(system, tenant, id)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusActive, got.Status)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, got.Roles)
	})
	t.Run("AnActorUnderTheSystemMarkIsStillChecked", func(t *testing.T) {
		_, err := e.m.ListUsers(usermgmt.AsSystem(e.as(outsider)), tenant, usermgmt.ListUsersQuery{})
		assert.Equal(t, denied, code(err))
	})
}

func TestConcurrentRoleToggles(t *testing.T) {
	var defs []usermgmt.RoleDef
	defs = append(defs, usermgmt.RoleDef{Name: usermgmt.RoleTenantAdmin, Permissions: usermgmt.AllPermissions()})
	for i := range 20 {
		defs = append(defs, usermgmt.RoleDef{Name: usermgmt.Role(fmt.Sprintf("role%02d", i))})
	}
	e := mustManager(t, func(o *usermgmt.Options) { o.Roles = defs })
	u := e.seedActive(t, tenant, "busy@acme.test")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.m.GrantRole(e.ctx, tenant, u.ID, usermgmt.Role(fmt.Sprintf("role%02d", i)))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	got, err := e.m.GetUser(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	assert.Len(t, got.Roles, 20)
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 100})
	require.NoError(t, err)
	per := map[string]int{}
	for _, ev := range page.Events {
		require.Equal(t, usermgmt.EventRoleGranted, ev.Type)
		per[ev.Detail]++
	}
	assert.Len(t, per, 20)
	for r, n := range per {
		assert.Equal(t, 1, n, r)
	}
}

func TestConcurrentInvitesOfOneEmail(t *testing.T) {
	e := mustManager(t)
	var wg sync.WaitGroup
	codes := make([]usermgmt.Code, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "Sam@Acme.test"
			if i%2 == 0 {
				email = "sam@ACME.TEST"
			}
			_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: email, Roles: []usermgmt.Role{"agent"}})
			codes[i] = code(err)
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == "" {
			ok++
		} else {
			assert.Equal(t, usermgmt.CodeConflict, c)
		}
	}
	assert.Equal(t, 1, ok)
	page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "sam@"})
	require.NoError(t, err)
	assert.Len(t, page.Users, 1)
	assert.Equal(t, 1, page.Counts.Invited)
	assert.Len(t, e.mail.Messages(), 1)
}

func TestResendInvite(t *testing.T) {
	e := mustManager(t)
	u, first := e.invite(t, "ana@acme.test")

	t.Run("OnceAMinute", func(t *testing.T) {
		err := e.m.ResendInvite(e.ctx, tenant, u.ID)
		require.Equal(t, usermgmt.CodeRateLimited, code(err))
		var ue *usermgmt.Error
		require.ErrorAs(t, err, &ue)
		assert.Positive(t, ue.RetryAfter)
	})
	t.Run("RotatesToken", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.ResendInvite(e.ctx, tenant, u.ID))
		second := e.lastToken(t, u.Email)
		assert.NotEqual(t, first, second)
		_, err := e.m.AcceptInvite(context.Background(), first, goodPassword)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "old link is dead")
		_, err = e.m.AcceptInvite(context.Background(), second, goodPassword)
		assert.NoError(t, err)
	})
}

func TestMailerFailureKeepsTheChange(t *testing.T) {
	e := mustManager(t)
	e.mail.FailNext(errors.New("smtp: connection refused"))
	u, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{"agent"}})
	require.Equal(t, usermgmt.CodeDeliveryFailed, code(err))
	assert.Equal(t, "ana@acme.test", u.Email)
	got, err := e.m.GetUser(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusInvited, got.Status)
	require.NoError(t, e.m.ResendInvite(e.ctx, tenant, u.ID), "resend works at once after a failed mail")
	_, err = e.m.AcceptInvite(context.Background(), e.lastToken(t, u.Email), goodPassword)
	assert.NoError(t, err)
}

func TestDeactivateAndActivate(t *testing.T) {
	var before, after []string
	var revoked []uuid.UUID
	e := mustManager(t, func(o *usermgmt.Options) {
		o.BeforeDeactivate = func(_ context.Context, u usermgmt.User) error {
			before = append(before, u.Email)
			if u.Email == "scheduled@acme.test" {
				return usermgmt.Errorf(usermgmt.CodeConflict, "remove %s from schedules first", u.Email)
			}
			return nil
		}
		o.AfterDeactivate = func(_ context.Context, u usermgmt.User) { after = append(after, u.Email) }
		o.Revokers = []usermgmt.SessionRevoker{revokerFunc(func(_ context.Context, _ string, id uuid.UUID) error {
			revoked = append(revoked, id)
			return nil
		})}
	})
	active := e.seedActive(t, tenant, "active@acme.test", usermgmt.RoleAgent)
	invited, _ := e.invite(t, "invited@acme.test")

	got, err := e.m.Deactivate(e.ctx, tenant, active.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusDeactivated, got.Status)
	again, err := e.m.Deactivate(e.ctx, tenant, active.ID)
	require.NoError(t, err, "idempotent")
	assert.Equal(t, usermgmt.StatusDeactivated, again.Status)
	assert.Equal(t, []string{"active@acme.test"}, before, "hook runs once")
	assert.Equal(t, []string{"active@acme.test"}, after)
	assert.Equal(t, []uuid.UUID{active.ID, active.ID}, revoked, "revokers retried on repeat")

	_, err = e.m.Deactivate(e.ctx, tenant, invited.ID)
	require.NoError(t, err)
	back, err := e.m.Activate(e.ctx, tenant, invited.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusInvited, back.Status, "never finished setup")
	back, err = e.m.Activate(e.ctx, tenant, active.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusActive, back.Status)
	_, err = e.m.Activate(e.ctx, tenant, active.ID)
	require.NoError(t, err, "idempotent")

	t.Run("HookRefusalStopsIt", func(t *testing.T) {
		s := e.seedActive(t, tenant, "scheduled@acme.test", usermgmt.RoleAgent)
		_, err := e.m.Deactivate(e.ctx, tenant, s.ID)
		assert.Equal(t, usermgmt.CodeConflict, code(err))
		got, err := e.m.GetUser(e.ctx, tenant, s.ID)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusActive, got.Status)
	})
	t.Run("CountsFollow", func(t *testing.T) {
		p, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusCounts{Active: 3, Invited: 1, All: 4}, p.Counts)
	})
}

type revokerFunc func(ctx context.Context, tenantID string, userID uuid.UUID) error

func (f revokerFunc) RevokeUserSessions(ctx context.Context, tenantID string, userID uuid.UUID) error {
	return f(ctx, tenantID, userID)
}

func TestActivityPaging(t *testing.T) {
	e := mustManager(t)
	u := e.seedActive(t, tenant, "busy@acme.test")
	for i := range 60 {
		r := usermgmt.RoleAgent
		if i%2 == 1 {
			_, err := e.m.RevokeRole(e.ctx, tenant, u.ID, r)
			require.NoError(t, err)
			continue
		}
		_, err := e.m.GrantRole(e.ctx, tenant, u.ID, r)
		require.NoError(t, err)
	}
	var all []usermgmt.Event
	cursor := ""
	for {
		p, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 25, Cursor: cursor})
		require.NoError(t, err)
		all = append(all, p.Events...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	require.Len(t, all, 60)
	for i := 1; i < len(all); i++ {
		assert.Greater(t, all[i-1].ID.String(), all[i].ID.String(), "newest first")
	}
	assert.Equal(t, usermgmt.EventRoleRevoked, all[0].Type)
	first, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 25})
	require.NoError(t, err)
	_, err = e.m.ListActivity(e.ctx, tenant, e.admin.ID, usermgmt.ActivityQuery{Cursor: first.NextCursor})
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "cursor of another user's activity")
}

func TestRelativeTime(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	assert.Equal(t, "never", usermgmt.RelativeTime(nil, now))
	assert.Equal(t, "just now", usermgmt.RelativeTime(at(30*time.Second), now))
	assert.Equal(t, "5m ago", usermgmt.RelativeTime(at(5*time.Minute+10*time.Second), now))
	assert.Equal(t, "2h ago", usermgmt.RelativeTime(at(2*time.Hour+59*time.Minute), now))
	assert.Equal(t, "3d ago", usermgmt.RelativeTime(at(3*24*time.Hour), now))
	assert.Equal(t, "Nov 1, 2026", usermgmt.RelativeTime(at(26*24*time.Hour), now))
}

func TestRoleCatalogueCannotBeChangedFromOutside(t *testing.T) {
	defs := usermgmt.DefaultRoles()
	e := mustManager(t, func(o *usermgmt.Options) { o.Roles = defs })
	agent := e.seedActive(t, tenant, "agent@acme.test", usermgmt.RoleAgent)
	defs[6].Permissions = append(defs[6].Permissions[:0:0], usermgmt.PermListUsers) // the host's slice
	got := e.m.Roles()
	got[6].Permissions = append(got[6].Permissions, usermgmt.PermListUsers) // the returned copy
	for i := range got {
		for j := range got[i].Permissions {
			got[i].Permissions[j] = usermgmt.PermListUsers
		}
	}
	_, err := e.m.ListUsers(e.as(agent), tenant, usermgmt.ListUsersQuery{})
	assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
	assert.Equal(t, usermgmt.AllPermissions(), e.m.Roles()[0].Permissions)
}

func TestDeactivateHookNeedsOnlyTheDeactivatePermission(t *testing.T) {
	defs := append(usermgmt.DefaultRoles(), usermgmt.RoleDef{Name: "offboarder", Permissions: []usermgmt.Permission{usermgmt.PermDeactivate}})
	e := mustManager(t, func(o *usermgmt.Options) {
		o.Roles = defs
		o.BeforeDeactivate = func(context.Context, usermgmt.User) error { return nil }
	})
	off := e.seedActive(t, tenant, "off@acme.test", "offboarder")
	target := e.seedActive(t, tenant, "leaver@acme.test", usermgmt.RoleAgent)
	got, err := e.m.Deactivate(e.as(off), tenant, target.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusDeactivated, got.Status)
}
