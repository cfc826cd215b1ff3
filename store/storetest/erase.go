package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// Erasure (issue 13): Tx.EraseUser.

func eraseCases() []testCase {
	return []testCase{
		{"EraseUserLeavesNothingPersonal", testEraseUserLeavesNothingPersonal},
		{"EraseUserPseudonymisesEvents", testEraseUserPseudonymisesEvents},
		{"EraseUserOfUnknownUserIsNotFound", testEraseUserOfUnknownUserIsNotFound},
		{"FailedEraseLeavesAllAsItWas", testFailedEraseLeavesAllAsItWas},
	}
}

// erasable is a user of acme with everything EraseUser removes, a
// colleague and a twin in globex (same email) it must leave alone.
type erasable struct {
	u, colleague, twin usermgmt.UserRecord
	session, twinSess  usermgmt.SessionRecord
	device             usermgmt.DeviceRecord
	live, spent        usermgmt.TokenRecord
	mail, colleagueMsg usermgmt.MailRecord
	group              usermgmt.Group
}

func (f *fixture) erasable() erasable {
	f.t.Helper()
	var e erasable
	u := newUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent, usermgmt.RoleSupervisor)
	u.DirectRoles = u.Roles
	u.Profile = usermgmt.Profile{DisplayName: "Ada L", GivenName: "Ada", FamilyName: "Lovelace", ExternalID: "okta-ada",
		EmployeeNumber: "E-1815", Department: "Engines", ManagerID: "mgr-1"}
	u.MFAEnabled, u.MFASecret, u.MFALastStep = true, []byte("sealed-secret"), 42
	u.RecoveryCodes = []usermgmt.TokenHash{newHash(), newHash()}
	u.LastMailAt = base
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
	e.u = *u
	e.colleague = f.mustUser(acme, "bob@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	e.twin = f.mustUser(globex, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	e.session = f.mustSession(e.u)
	e.session = f.mustRotate(e.session) // a spent refresh hash too
	e.twinSess = f.mustSession(e.twin)
	e.device = f.mustDevice(e.u)
	e.live = f.mustToken(e.u, usermgmt.PurposePasswordReset)
	e.spent = f.mustToken(e.u, usermgmt.PurposeInvite)
	f.mustDo(func(tx usermgmt.Tx) error {
		_, err := tx.ConsumeToken(f.ctx, usermgmt.PurposeInvite, e.spent.Hash)
		return err
	})
	e.mail = f.mustMail(e.u, usermgmt.MessagePasswordReset)
	e.colleagueMsg = f.mustMail(e.colleague, usermgmt.MessageInvite)
	f.putAttempts(newAttempts(acme, e.u.Email, base.Add(time.Hour)))
	f.putAttempts(newAttempts(globex, e.twin.Email, base.Add(time.Hour)))
	e.group = f.mustGroup(acme, "Engineers", usermgmt.RoleRecruiter)
	f.mustAdd(e.group, e.u.ID, e.colleague.ID)
	e.group = f.mustGetGroup(acme, e.group.ID)
	return e
}

func (f *fixture) erase(tenantID string, id uuid.UUID, now time.Time) error {
	return f.do(func(tx usermgmt.Tx) error { return tx.EraseUser(f.ctx, tenantID, id, now) })
}

func testEraseUserLeavesNothingPersonal(t *testing.T, f *fixture) {
	e := f.erasable()
	before := f.counts(acme)
	now := base.Add(time.Hour)
	require.NoError(t, f.erase(acme, e.u.ID, now))

	got := f.mustGetUser(acme, e.u.ID)
	require.Equal(t, usermgmt.ErasedEmail(e.u.ID), got.Email)
	require.True(t, got.Erased())
	require.Equal(t, usermgmt.StatusDeactivated, got.Status)
	require.Equal(t, usermgmt.Profile{}, got.Profile, "names, external id, employee number, department, manager")
	require.Empty(t, got.PasswordHash)
	require.Nil(t, got.MFASecret)
	require.Empty(t, got.RecoveryCodes)
	require.False(t, got.MFAEnabled)
	require.Empty(t, got.Roles)
	require.Empty(t, got.DirectRoles)
	require.True(t, got.LastMailAt.IsZero())
	require.Nil(t, got.InviteExpiresAt)
	require.Equal(t, now, utc(got.UpdatedAt))
	require.Equal(t, now, utc(*got.DeprovisionedAt), "gone for the identity provider")
	require.Equal(t, e.u.Version+1, got.Version)
	require.Equal(t, e.u.CreatedAt, utc(got.CreatedAt), "the row stays, with its id and creation time")
	_, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
		return tx.GetUserByEmail(f.ctx, acme, e.u.Email)
	})
	require.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err), "the old email is free")

	_, _, err = f.sessionByRefresh(e.session.RefreshHash)
	require.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err), "session and refresh token")
	require.Empty(t, f.listSessions(acme, e.u.ID))
	require.Empty(t, f.listDevices(acme, e.u.ID))
	require.False(t, f.hasDevice(e.device.Hash))
	for _, k := range []struct {
		tok usermgmt.TokenRecord
		p   usermgmt.TokenPurpose
	}{{e.live, usermgmt.PurposePasswordReset}, {e.spent, usermgmt.PurposeInvite}} {
		_, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.TokenRecord, error) { return tx.PeekToken(f.ctx, k.p, k.tok.Hash) })
		require.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err), "token %s, spent ones too", k.p)
	}
	_, ok := f.storedMail(acme, e.mail.ID)
	require.False(t, ok, "the user's mail")
	f.requireStoredMail(e.colleagueMsg, "another user's mail stays")
	require.Zero(t, f.lockAttempts(acme, e.u.Email).Failures, "the old email's sign-in key")
	require.Equal(t, 3, f.lockAttempts(globex, e.twin.Email).Failures, "the twin's key stays")

	g := f.mustGetGroup(acme, e.group.ID)
	require.Equal(t, 1, g.Members)
	require.Greater(t, g.Version, e.group.Version)
	members := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.GroupMember, error) {
		return tx.ListMembers(f.ctx, acme, e.group.ID, uuid.Nil, 10)
	})
	require.Len(t, members, 1)
	require.Equal(t, e.colleague.ID, members[0].UserID)

	require.Equal(t, usermgmt.StatusCounts{Active: before.Active - 1, Deactivated: before.Deactivated + 1, All: before.All},
		f.counts(acme), "counts follow")
	require.Equal(t, 1, f.activeWithRole(acme, usermgmt.RoleAgent))
	require.Equal(t, []string{"bob@example.com"}, emails(f.list(usermgmt.UserListParams{TenantID: acme,
		Role: usermgmt.RoleAgent, Limit: 10})), "the role filter")
	require.Empty(t, f.list(usermgmt.UserListParams{TenantID: acme, Search: "ada", Limit: 10}), "the old email is found nowhere")
	require.Len(t, f.list(usermgmt.UserListParams{TenantID: acme, Status: usermgmt.StatusDeactivated, Limit: 10}), 1)

	twin := f.mustGetUser(globex, e.twin.ID)
	require.Equal(t, "ada@example.com", twin.Email, "the same email in another tenant is another person")
	require.Len(t, f.listSessions(globex, e.twin.ID), 1)
	require.Equal(t, e.colleague.Email, f.mustGetUser(acme, e.colleague.ID).Email)

	require.NoError(t, f.erase(acme, e.u.ID, now.Add(time.Minute)), "erasing again changes nothing that matters")
	require.Equal(t, usermgmt.ErasedEmail(e.u.ID), f.mustGetUser(acme, e.u.ID).Email)
	require.Equal(t, now, utc(*f.mustGetUser(acme, e.u.ID).DeprovisionedAt), "the first erasure's time stays")
}

func testEraseUserPseudonymisesEvents(t *testing.T, f *fixture) {
	e := f.erasable()
	admin := f.mustUser(acme, "admin@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	mailFailed := newEvent(e.u, usermgmt.EventMailFailed, "invite mail to ada@example.com, after 5 attempts")
	granted := newEvent(e.u, usermgmt.EventRoleGranted, "agent")
	granted.ActorID, granted.IP, granted.UserAgent = admin.ID, "203.0.113.1", "admin-browser/1.0"
	session := newEvent(e.u, usermgmt.EventSessionRevoked, "Firefox 131 on Linux")
	login := newEvent(e.u, usermgmt.EventLoginSucceeded, "password")
	login.ActorID = e.u.ID
	onColleague := newEvent(e.colleague, usermgmt.EventRoleGranted, "supervisor") // the erased user acted
	onColleague.ActorID = e.u.ID
	colleagueOwn := newEvent(e.colleague, usermgmt.EventLoginSucceeded, "password")
	colleagueOwn.ActorID = e.colleague.ID
	twinOwn := newEvent(e.twin, usermgmt.EventLoginSucceeded, "password")
	twinOwn.ActorID = e.twin.ID
	all := []usermgmt.Event{*mailFailed, *granted, *session, *login, *onColleague, *colleagueOwn, *twinOwn}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvents(f.ctx, all) })

	require.NoError(t, f.erase(acme, e.u.ID, base.Add(time.Hour)))

	byID := map[uuid.UUID]usermgmt.Event{}
	for _, who := range []struct {
		tenant string
		id     uuid.UUID
	}{{acme, e.u.ID}, {acme, e.colleague.ID}, {globex, e.twin.ID}} {
		for _, ev := range f.events(who.tenant, who.id, uuid.Nil, 50) {
			byID[ev.ID] = ev
		}
	}
	require.Len(t, byID, len(all), "no event goes")
	want := func(ev *usermgmt.Event, ip, ua, detail string) {
		t.Helper()
		got := byID[ev.ID]
		require.Equal(t, [3]string{ip, ua, detail}, [3]string{got.IP, got.UserAgent, got.Detail}, "%s", ev.Type)
		require.Equal(t, [4]any{ev.TenantID, ev.UserID, ev.Type, ev.ActorID}, [4]any{got.TenantID, got.UserID, got.Type, got.ActorID},
			"%s: the ids stay", ev.Type)
	}
	want(mailFailed, "", "", "")            // named the address
	want(session, "", "", "")               // named the browser
	want(granted, "", "", "agent")          // a role is no personal data
	want(login, "", "", "password")         // how, not who
	want(onColleague, "", "", "supervisor") // the erased user's IP goes from what they did
	require.Equal(t, "198.51.100.4", byID[colleagueOwn.ID].IP, "another user's own events stay")
	require.Equal(t, "storetest/1.0", byID[colleagueOwn.ID].UserAgent)
	require.Equal(t, "198.51.100.4", byID[twinOwn.ID].IP, "the twin's events stay")
	require.Equal(t, usermgmt.ErasedEmail(e.u.ID), byID[onColleague.ID].ActorEmail, "the actor is named by the placeholder")
}

func testEraseUserOfUnknownUserIsNotFound(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	require.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(f.erase(acme, newID(), base)))
	require.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(f.erase(globex, u.ID, base)), "another tenant's user")
	require.Equal(t, "ada@example.com", f.mustGetUser(acme, u.ID).Email)
}

func testFailedEraseLeavesAllAsItWas(t *testing.T, f *fixture) {
	e := f.erasable()
	ev := newEvent(e.u, usermgmt.EventMailFailed, "invite mail to ada@example.com")
	f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, ev) })
	before := f.counts(acme)
	err := f.do(func(tx usermgmt.Tx) error {
		if err := tx.EraseUser(f.ctx, acme, e.u.ID, base.Add(time.Hour)); err != nil {
			return err
		}
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	got := f.mustGetUser(acme, e.u.ID)
	require.Equal(t, e.u.Email, got.Email)
	require.Equal(t, e.u.Profile, got.Profile)
	require.Equal(t, e.u.PasswordHash, got.PasswordHash)
	require.Equal(t, before, f.counts(acme))
	require.Len(t, f.listSessions(acme, e.u.ID), 1)
	require.True(t, f.hasDevice(e.device.Hash))
	f.requireStoredMail(e.mail, "the mail is back")
	require.Equal(t, 3, f.lockAttempts(acme, e.u.Email).Failures)
	require.Equal(t, 2, f.mustGetGroup(acme, e.group.ID).Members)
	evs := f.events(acme, e.u.ID, uuid.Nil, 10)
	require.Len(t, evs, 1)
	require.Equal(t, "invite mail to ada@example.com", evs[0].Detail)
	require.Equal(t, "198.51.100.4", evs[0].IP)
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) { return tx.GetUserByEmail(f.ctx, acme, e.u.Email) })
	require.NoError(t, err, "the email is the user's again")
}
