package usermgmt_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// mixedList is a list with one row of each kind a preview must explain,
// and the answer each row gets: the code and field, "" for invited.
func mixedList(e *env, t *testing.T) ([]usermgmt.Invite, [][2]string) {
	t.Helper()
	e.seedActive(t, tenant, "taken@acme.test", usermgmt.RoleAgent)
	agent := []usermgmt.Role{usermgmt.RoleAgent}
	return []usermgmt.Invite{
			{Email: " Ana@Acme.test ", Roles: agent},
			{Email: "not an email", Roles: agent},
			{Email: "bo@acme.test", Roles: []usermgmt.Role{"wizard"}},
			{Email: "ANA@acme.test", Roles: agent},
			{Email: "taken@acme.test", Roles: agent},
			{Email: "boss@acme.test", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}},
			{Email: "cy@acme.test", Roles: []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}},
			{Email: "nobody@acme.test"},
		}, [][2]string{
			{"", ""},
			{"invalid", "email"},
			{"invalid", "role"},
			{"conflict", "email"}, // the list has Ana already
			{"conflict", "email"}, // the tenant has this one
			{"mfa_required", ""},  // a tenant_admin outside sudo mode
			{"", ""},
			{"invalid", "role"},
		}
}

func rowAnswers(res usermgmt.BulkInviteResult) [][2]string {
	out := make([][2]string, len(res.Rows))
	for i, r := range res.Rows {
		if r.Err != nil {
			out[i] = [2]string{string(r.Err.Code), r.Err.Field}
		}
	}
	return out
}

// TestInviteUsersRefusesBadRowsAndInvitesTheRest: each wrong row is
// reported with the code and field InviteUser would answer (a duplicate
// within the list as conflict on the email), and does not stop the
// others, which are invited with their events; their mail waits in the
// outbox, due and unclaimed, until the outbox worker delivers it.
func TestInviteUsersRefusesBadRowsAndInvitesTheRest(t *testing.T) {
	e := mustManager(t)
	list, want := mixedList(e, t)
	res, err := e.m.InviteUsers(e.ctx, tenant, list, usermgmt.BulkInviteOptions{})
	require.NoError(t, err)
	require.Equal(t, want, rowAnswers(res))
	require.Equal(t, 2, res.Invited)
	require.Equal(t, 6, res.Refused)
	for i, r := range res.Rows {
		require.Equal(t, i, r.Row)
		if r.Err != nil {
			require.Equal(t, uuid.Nil, r.UserID)
			require.NotEmpty(t, r.Err.Message)
		}
	}
	require.Equal(t, "ana@acme.test", res.Rows[0].Email, "normalised")
	require.Equal(t, "not an email", res.Rows[1].Email, "as given")

	for _, i := range []int{0, 6} {
		u, err := e.m.GetUser(e.ctx, tenant, res.Rows[i].UserID)
		require.NoError(t, err)
		require.Equal(t, res.Rows[i].Email, u.Email)
		require.Equal(t, usermgmt.StatusInvited, u.Status)
		require.NotNil(t, u.InviteExpiresAt)
		evs := e.events(t, tenant, u.ID)
		require.Equal(t, []usermgmt.EventType{usermgmt.EventInvited, usermgmt.EventUserCreated}, eventTypes(evs))
		require.Equal(t, e.admin.ID, evs[0].ActorID)
	}
	require.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, mustUser(t, e, res.Rows[6].UserID).Roles)

	require.Empty(t, e.mail.Messages(), "bulk mail waits for the outbox worker")
	queued := e.outbox(t)
	require.Len(t, queued, 2)
	for _, q := range queued {
		require.Zero(t, q.Attempts, "unclaimed")
		require.True(t, q.NextAttemptAt.Equal(e.clock.Now()), "due now")
	}
	require.Equal(t, usermgmt.Delivery{Sent: 2}, e.deliver(t))
	_, err = e.m.AcceptInvite(context.Background(), e.lastToken(t, "cy@acme.test"), goodPassword)
	require.NoError(t, err, "the mailed link works")
}

func mustUser(t *testing.T, e *env, id uuid.UUID) usermgmt.User {
	t.Helper()
	u, err := e.m.GetUser(system, tenant, id)
	require.NoError(t, err)
	return u
}

// TestInviteUsersDryRunAnswersAsTheRunAndWritesNothing: the preview
// makes the same checks, the store's included (an email the tenant has),
// and leaves no user, event or mail behind.
func TestInviteUsersDryRunAnswersAsTheRunAndWritesNothing(t *testing.T) {
	e := mustManager(t)
	list, want := mixedList(e, t)
	before, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
	require.NoError(t, err)

	res, err := e.m.InviteUsers(e.ctx, tenant, list, usermgmt.BulkInviteOptions{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, want, rowAnswers(res))
	require.Equal(t, 2, res.Invited, "rows that would be invited")
	for _, r := range res.Rows {
		require.Equal(t, uuid.Nil, r.UserID)
	}
	after, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
	require.NoError(t, err)
	require.Equal(t, before.Counts, after.Counts)
	_, err = e.m.GetUser(system, tenant, res.Rows[0].UserID)
	require.Equal(t, usermgmt.CodeNotFound, code(err))
	require.Empty(t, e.outbox(t))
	require.Equal(t, usermgmt.Delivery{}, e.deliver(t))
	require.Empty(t, e.mail.Messages())

	// The run after the preview invites what the preview said it would.
	res, err = e.m.InviteUsers(e.ctx, tenant, list, usermgmt.BulkInviteOptions{})
	require.NoError(t, err)
	require.Equal(t, want, rowAnswers(res))
}

// TestInviteUsersFindsDuplicatesAcrossBatches: a preview rolls each
// batch back, so the store cannot see that a later batch repeats an
// email of an earlier one; the list itself is checked, and the preview
// and the run agree.
func TestInviteUsersFindsDuplicatesAcrossBatches(t *testing.T) {
	e := mustManager(t)
	list := people(250)
	list[180].Email = " P0003@ACME.test"
	for _, dry := range []bool{true, false} {
		res, err := e.m.InviteUsers(e.ctx, tenant, list, usermgmt.BulkInviteOptions{DryRun: dry})
		require.NoError(t, err)
		require.Equal(t, 249, res.Invited, "dry run %v", dry)
		require.NotNil(t, res.Rows[180].Err, "dry run %v", dry)
		require.Equal(t, [2]string{"conflict", "email"}, [2]string{string(res.Rows[180].Err.Code), res.Rows[180].Err.Field})
		require.Equal(t, "p0003@acme.test", res.Rows[180].Email)
	}
}

// TestInviteUsersChecksTheActor: the actor needs users.invite (the whole
// call is refused), may grant only what InviteUser lets them grant (the
// row is refused), and invites a tenant_admin only in sudo mode; a
// context with no actor is refused.
func TestInviteUsersChecksTheActor(t *testing.T) {
	e := mustManager(t)
	one := func(email string, roles ...usermgmt.Role) []usermgmt.Invite {
		return []usermgmt.Invite{{Email: email, Roles: roles}}
	}

	manager := e.seedActive(t, tenant, "manager@acme.test", usermgmt.RoleHRManager)
	_, err := e.m.InviteUsers(e.as(manager), tenant, one("a@acme.test", usermgmt.RoleAgent), usermgmt.BulkInviteOptions{DryRun: true})
	require.Equal(t, usermgmt.CodePermissionDenied, code(err), "no users.invite, even for a preview")
	_, err = e.m.InviteUsers(context.Background(), tenant, one("a@acme.test", usermgmt.RoleAgent), usermgmt.BulkInviteOptions{})
	require.Equal(t, usermgmt.CodePermissionDenied, code(err), "no actor")
	_, err = e.m.InviteUsers(e.ctx, "globex", one("a@acme.test", usermgmt.RoleAgent), usermgmt.BulkInviteOptions{})
	require.Equal(t, usermgmt.CodePermissionDenied, code(err), "the admin is no user of another tenant")

	hr := e.seedActive(t, tenant, "hr@acme.test", usermgmt.RoleHRAdmin)
	list := append(one("boss@acme.test", usermgmt.RoleTenantAdmin), one("a@acme.test", usermgmt.RoleAgent)...)
	res, err := e.m.InviteUsers(e.sudo(hr), tenant, list, usermgmt.BulkInviteOptions{})
	require.NoError(t, err)
	require.Equal(t, [][2]string{{"permission_denied", ""}, {"", ""}}, rowAnswers(res), "only a tenant admin grants tenant_admin")

	res, err = e.m.InviteUsers(e.sudo(e.admin), tenant, one("boss@acme.test", usermgmt.RoleTenantAdmin), usermgmt.BulkInviteOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, res.Invited, "in sudo mode a tenant admin invites one")
	require.True(t, mustUser(t, e, res.Rows[0].UserID).HasRole(usermgmt.RoleTenantAdmin))
}

// TestInviteUsersCapsTheList: an empty list and one past MaxBulkInvites
// are refused whole; MaxBulkInvites rows are taken.
func TestInviteUsersCapsTheList(t *testing.T) {
	e := mustManager(t)
	_, err := e.m.InviteUsers(e.ctx, tenant, nil, usermgmt.BulkInviteOptions{DryRun: true})
	require.Equal(t, usermgmt.CodeInvalid, code(err))
	_, err = e.m.InviteUsers(e.ctx, tenant, people(usermgmt.MaxBulkInvites+1), usermgmt.BulkInviteOptions{DryRun: true})
	require.Equal(t, usermgmt.CodeInvalid, code(err))
	res, err := e.m.InviteUsers(e.ctx, tenant, people(usermgmt.MaxBulkInvites), usermgmt.BulkInviteOptions{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, usermgmt.MaxBulkInvites, res.Invited)
	require.GreaterOrEqual(t, usermgmt.MaxBulkInvites, 1000, "the issue asks for 1,000 in one go")
}

// people returns n invitations of agents p0000@acme.test, p0001@…
func people(n int) []usermgmt.Invite {
	invs := make([]usermgmt.Invite, n)
	for i := range invs {
		invs[i] = usermgmt.Invite{Email: fmt.Sprintf("p%04d@acme.test", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}}
	}
	return invs
}

// TestThousandInvitesArriveAtTheMailRate: 1,000 invitations in one call
// are all written; the outbox worker then hands the Mailer no more than
// Options.MailRate mails in any second of the clock, and every invitee
// gets exactly one mail.
func TestThousandInvitesArriveAtTheMailRate(t *testing.T) {
	const rate = 25
	e := mustManager(t, func(o *usermgmt.Options) { o.MailRate = rate })
	res, err := e.m.InviteUsers(e.ctx, tenant, people(1000), usermgmt.BulkInviteOptions{})
	require.NoError(t, err)
	require.Equal(t, 1000, res.Invited)
	page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Status: usermgmt.StatusInvited, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, 1000, page.Counts.Invited)

	seconds := 0
	for sent := 0; sent < 1000; seconds++ {
		require.Less(t, seconds, 1000/rate+2, "the outbox stalled at %d mails", sent)
		d := e.deliver(t)
		require.LessOrEqual(t, d.Sent, rate, "second %d", seconds)
		require.Zero(t, d.Retrying+d.Failed)
		if sent += d.Sent; sent < 1000 {
			require.Positive(t, d.Wait, "a pass stopped by the rate says how long to wait")
		}
		if seconds == 0 { // the mail the pass claimed and could not send went back, no attempt spent
			back := 0
			for _, q := range e.outbox(t) {
				require.Zero(t, q.Attempts, q.To)
				if q.NextAttemptAt.Equal(e.clock.Now().Add(d.Wait)) {
					back++
				}
			}
			require.Equal(t, 1, back, "due again when a token is")
		}
		e.clock.Advance(time.Second)
	}
	require.Equal(t, 1000/rate, seconds, "at the rate, not slower")
	requireEachOnce(t, recipients(e.mail.Messages()), 1000)
	require.Empty(t, e.outbox(t))
}
