package storetest

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// badTexts are strings PostgreSQL cannot hold in a text column or
// parameter (SQLSTATE 22021): a NUL byte, and bytes that are not UTF-8.
var badTexts = map[string]string{"NUL": "a\x00b", "NotUTF8": "a\xffb"}

// testBadTextIsInvalid: every text a store is given, to write or to look
// up, answers invalid when it holds a NUL byte or is not UTF-8, and the
// store is left as it was. The memory store refuses what PostgreSQL
// cannot store, so that no input works on one store and fails on another.
func testBadTextIsInvalid(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleSupervisor)
	s := f.mustSession(u)
	m := f.mustMail(u, usermgmt.MessagePasswordReset)

	ops := map[string]func(tx usermgmt.Tx, bad string) error{
		"CreateUser/Email": func(tx usermgmt.Tx, bad string) error {
			return tx.CreateUser(f.ctx, newUser(acme, bad, usermgmt.StatusActive))
		},
		"CreateUser/TenantID": func(tx usermgmt.Tx, bad string) error {
			return tx.CreateUser(f.ctx, newUser(bad, "b@example.com", usermgmt.StatusActive))
		},
		"CreateUser/Status": func(tx usermgmt.Tx, bad string) error {
			return tx.CreateUser(f.ctx, newUser(acme, "b@example.com", usermgmt.Status(bad)))
		},
		"CreateUser/Role": func(tx usermgmt.Tx, bad string) error {
			return tx.CreateUser(f.ctx, newUser(acme, "b@example.com", usermgmt.StatusActive, usermgmt.Role(bad)))
		},
		"CreateUser/PasswordHash": func(tx usermgmt.Tx, bad string) error {
			r := newUser(acme, "b@example.com", usermgmt.StatusActive)
			r.PasswordHash = bad
			return tx.CreateUser(f.ctx, r)
		},
		"UpdateUser/Role": func(tx usermgmt.Tx, bad string) error {
			r := u
			r.Roles = []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.Role(bad)}
			return tx.UpdateUser(f.ctx, &r)
		},
		"UpdateUser/PasswordHash": func(tx usermgmt.Tx, bad string) error {
			r := u
			r.PasswordHash = bad
			return tx.UpdateUser(f.ctx, &r)
		},
		"UpdateUser/TenantID": func(tx usermgmt.Tx, bad string) error {
			r := u
			r.TenantID = bad
			return tx.UpdateUser(f.ctx, &r)
		},
		"GetUser/TenantID": func(tx usermgmt.Tx, bad string) error { _, err := tx.GetUser(f.ctx, bad, u.ID); return err },
		"LockUser/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.LockUser(f.ctx, bad, u.ID)
			return err
		},
		"GetUserByEmail/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.GetUserByEmail(f.ctx, bad, u.Email)
			return err
		},
		"GetUserByEmail/Email": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.GetUserByEmail(f.ctx, acme, bad)
			return err
		},
		"AdvanceMFAStep/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.AdvanceMFAStep(f.ctx, bad, u.ID, 1)
			return err
		},
		"ListUsers/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListUsers(f.ctx, usermgmt.UserListParams{TenantID: bad, Limit: 10})
			return err
		},
		"ListUsers/Search": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListUsers(f.ctx, usermgmt.UserListParams{TenantID: acme, Search: bad, Limit: 10})
			return err
		},
		"ListUsers/After": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListUsers(f.ctx, usermgmt.UserListParams{TenantID: acme, After: bad, Limit: 10})
			return err
		},
		"ListUsers/Status": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListUsers(f.ctx, usermgmt.UserListParams{TenantID: acme, Status: usermgmt.Status(bad), Limit: 10})
			return err
		},
		"CountUsers/TenantID": func(tx usermgmt.Tx, bad string) error { _, err := tx.CountUsers(f.ctx, bad); return err },
		"CountActiveWithRole/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.CountActiveWithRole(f.ctx, bad, usermgmt.RoleSupervisor)
			return err
		},
		"CountActiveWithRole/Role": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.CountActiveWithRole(f.ctx, acme, usermgmt.Role(bad))
			return err
		},

		"CreateToken/TenantID": func(tx usermgmt.Tx, bad string) error {
			r := newToken(u, usermgmt.PurposeInvite)
			r.TenantID = bad
			return tx.CreateToken(f.ctx, r)
		},
		"CreateToken/Purpose": func(tx usermgmt.Tx, bad string) error {
			return tx.CreateToken(f.ctx, newToken(u, usermgmt.TokenPurpose(bad)))
		},
		"ConsumeToken/Purpose": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ConsumeToken(f.ctx, usermgmt.TokenPurpose(bad), newHash())
			return err
		},
		"PeekToken/Purpose": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.PeekToken(f.ctx, usermgmt.TokenPurpose(bad), newHash())
			return err
		},
		"DeleteTokens/TenantID": func(tx usermgmt.Tx, bad string) error {
			return tx.DeleteTokens(f.ctx, bad, u.ID, usermgmt.PurposeInvite)
		},
		"DeleteTokens/Purpose": func(tx usermgmt.Tx, bad string) error {
			return tx.DeleteTokens(f.ctx, acme, u.ID, usermgmt.TokenPurpose(bad))
		},

		"CreateSession/TenantID": func(tx usermgmt.Tx, bad string) error {
			r := newSession(u)
			r.TenantID = bad
			return tx.CreateSession(f.ctx, r)
		},
		"CreateSession/Role": func(tx usermgmt.Tx, bad string) error {
			r := newSession(u)
			r.Roles = []usermgmt.Role{usermgmt.Role(bad)}
			return tx.CreateSession(f.ctx, r)
		},
		"CreateSession/IP": func(tx usermgmt.Tx, bad string) error {
			r := newSession(u)
			r.IP = bad
			return tx.CreateSession(f.ctx, r)
		},
		"CreateSession/UserAgent": func(tx usermgmt.Tx, bad string) error {
			r := newSession(u)
			r.UserAgent = bad
			return tx.CreateSession(f.ctx, r)
		},
		"RotateSession/Role": func(tx usermgmt.Tx, bad string) error {
			return tx.RotateSession(f.ctx, usermgmt.SessionRotation{ID: s.ID, OldRefresh: s.RefreshHash,
				TokenHash: newHash(), RefreshHash: newHash(), Roles: []usermgmt.Role{usermgmt.Role(bad)},
				IdleExpiresAt: s.IdleExpiresAt})
		},
		"RevokeUser/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.RevokeUserExcept(f.ctx, bad, u.ID, uuid.Nil)
			return err
		},
		"CreateDevice/TenantID": func(tx usermgmt.Tx, bad string) error {
			d := newDevice(u)
			d.TenantID = bad
			return tx.CreateDevice(f.ctx, d)
		},
		"CreateDevice/IP": func(tx usermgmt.Tx, bad string) error {
			d := newDevice(u)
			d.IP = bad
			return tx.CreateDevice(f.ctx, d)
		},
		"CreateDevice/UserAgent": func(tx usermgmt.Tx, bad string) error {
			d := newDevice(u)
			d.UserAgent = bad
			return tx.CreateDevice(f.ctx, d)
		},
		"ListSessions/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListSessions(f.ctx, bad, u.ID)
			return err
		},
		"ListDevices/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListDevices(f.ctx, bad, u.ID)
			return err
		},
		"DeleteDevice/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.DeleteDevice(f.ctx, bad, u.ID, uuid.Nil)
			return err
		},

		"EnqueueMail/TenantID": func(tx usermgmt.Tx, bad string) error {
			r := newMail(u, usermgmt.MessageInvite)
			r.TenantID = bad
			return tx.EnqueueMail(f.ctx, r)
		},
		"EnqueueMail/Kind": func(tx usermgmt.Tx, bad string) error {
			return tx.EnqueueMail(f.ctx, newMail(u, usermgmt.MessageKind(bad)))
		},
		"EnqueueMail/To": func(tx usermgmt.Tx, bad string) error {
			r := newMail(u, usermgmt.MessageInvite)
			r.To = bad
			return tx.EnqueueMail(f.ctx, r)
		},
		"EnqueueMail/LastError": func(tx usermgmt.Tx, bad string) error {
			r := newMail(u, usermgmt.MessageInvite)
			r.LastError = bad
			return tx.EnqueueMail(f.ctx, r)
		},
		"UpdateMail/LastError": func(tx usermgmt.Tx, bad string) error {
			r := m
			r.Attempts, r.LastError = 1, bad
			return tx.UpdateMail(f.ctx, &r)
		},
		"CancelMail/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.CancelMail(f.ctx, bad, u.ID, "")
			return err
		},
		"CancelMail/Kind": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.CancelMail(f.ctx, acme, u.ID, usermgmt.MessageKind(bad))
			return err
		},
		"ListMail/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListMail(f.ctx, usermgmt.MailListParams{TenantID: bad, Limit: 10})
			return err
		},

		"AppendEvent/TenantID": func(tx usermgmt.Tx, bad string) error {
			e := newEvent(u, usermgmt.EventLoginFailed, "")
			e.TenantID = bad
			return tx.AppendEvent(f.ctx, e)
		},
		"AppendEvent/Type": func(tx usermgmt.Tx, bad string) error {
			return tx.AppendEvent(f.ctx, newEvent(u, usermgmt.EventType(bad), ""))
		},
		"AppendEvent/IP": func(tx usermgmt.Tx, bad string) error {
			e := newEvent(u, usermgmt.EventLoginFailed, "")
			e.IP = bad
			return tx.AppendEvent(f.ctx, e)
		},
		"AppendEvent/UserAgent": func(tx usermgmt.Tx, bad string) error {
			e := newEvent(u, usermgmt.EventLoginFailed, "")
			e.UserAgent = bad
			return tx.AppendEvent(f.ctx, e)
		},
		"AppendEvent/Detail": func(tx usermgmt.Tx, bad string) error {
			return tx.AppendEvent(f.ctx, newEvent(u, usermgmt.EventRoleGranted, bad))
		},
		"ListEvents/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListEvents(f.ctx, bad, u.ID, uuid.Nil, 10)
			return err
		},
		"ListTenantEvents/TenantID": func(tx usermgmt.Tx, bad string) error {
			_, err := tx.ListTenantEvents(f.ctx, bad, uuid.Nil, uuid.Nil, 10)
			return err
		},
	}
	for _, name := range slices.Sorted(maps.Keys(ops)) {
		for _, kind := range slices.Sorted(maps.Keys(badTexts)) {
			t.Run(name+"/"+kind, func(t *testing.T) {
				err := f.do(func(tx usermgmt.Tx) error { return ops[name](tx, badTexts[kind]) })
				requireCode(t, err, usermgmt.CodeInvalid, name)
			})
		}
	}

	requireUser(t, u, f.mustGetUser(acme, u.ID), "the user is unchanged")
	require.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, f.counts(acme))
	require.Equal(t, []string{"ada@example.com"}, emails(f.list(usermgmt.UserListParams{TenantID: acme, Limit: 10})))
	require.Empty(t, f.events(acme, u.ID, uuid.Nil, 10), "no event was written")
	require.Len(t, f.mails(acme, uuid.Nil, 10), 1, "no mail was added")
	f.requireStoredMail(m, "the mail is unchanged")
	got, spent, err := f.sessionByRefresh(s.RefreshHash)
	require.NoError(t, err)
	require.False(t, spent)
	requireSession(t, s, got, "the session is unchanged")
}
