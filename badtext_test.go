package usermgmt_test

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// Text no store can hold (a NUL byte, bytes that are not UTF-8) and
// control characters in a tenant id or a search are refused by the
// Manager with invalid before any store sees them, so that the answer is
// the same on every store. store/postgres runs the same questions on
// PostgreSQL.
func TestBadTextIsInvalid(t *testing.T) {
	e := mustManager(t)
	sys := usermgmt.AsSystem(context.Background())
	before, err := e.m.ListUsers(system, tenant, usermgmt.ListUsersQuery{Limit: 200})
	require.NoError(t, err)
	mails := len(e.mail.Messages())

	for name, do := range map[string]func() error{
		"SearchWithNUL":      func() error { return searchErr(e, "a\x00b") },
		"SearchOnlyNUL":      func() error { return searchErr(e, "\x00") },
		"SearchNotUTF8":      func() error { return searchErr(e, "a\xffb") },
		"SearchWithLineFeed": func() error { return searchErr(e, "a\nb") },
		"TenantWithNUL": func() error {
			_, err := e.m.InviteUser(sys, "acme\x00", usermgmt.Invite{Email: "new@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
			return err
		},
		"TenantWithLineFeed": func() error {
			_, err := e.m.InviteUser(sys, "acme\nforged log line", usermgmt.Invite{Email: "new@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
			return err
		},
		"TenantWithDEL": func() error {
			_, err := e.m.ListUsers(e.ctx, "acme\x7f", usermgmt.ListUsersQuery{})
			return err
		},
		"ForgotWithNULTenant": func() error { return e.m.RequestPasswordReset(context.Background(), "a\x00b", "ana@acme.test") },
		"ForgotWithNULEmail":  func() error { return e.m.RequestPasswordReset(context.Background(), tenant, "ana\x00@acme.test") },
		"InviteWithNULEmail":  func() error { return inviteErr(e, "ana\x00@acme.test", usermgmt.RoleAgent) },
	} {
		t.Run(name, func(t *testing.T) {
			err := do()
			assert.Equal(t, usermgmt.CodeInvalid, code(err), "%v", err)
			require.NoError(t, e.m.Close())
			unchanged(t, e, before, mails)
		})
	}
}

func searchErr(e *env, q string) error {
	_, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: q})
	return err
}

// A login with a tenant or email no store can hold is a failed login like
// any other: unauthenticated, never internal.
func TestLoginWithBadTextIsUnauthenticated(t *testing.T) {
	e := mustManager(t)
	e.onboard(t, "ana@acme.test")
	for name, req := range map[string]usermgmt.LoginRequest{
		"TenantWithNUL":   {TenantID: "acme\x00", Email: "ana@acme.test", Password: goodPassword},
		"TenantNotUTF8":   {TenantID: "acme\xff", Email: "ana@acme.test", Password: goodPassword},
		"TenantLineFeed":  {TenantID: "acme\n", Email: "ana@acme.test", Password: goodPassword},
		"EmailWithNUL":    {TenantID: tenant, Email: "ana\x00@acme.test", Password: goodPassword},
		"EmailNotUTF8":    {TenantID: tenant, Email: "ana\xff@acme.test", Password: goodPassword},
		"PasswordWithNUL": {TenantID: tenant, Email: "ana@acme.test", Password: goodPassword + "\x00"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.m.Login(context.Background(), req)
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "%v", err)
		})
	}
}

// The actor's IP and user agent come from request headers, which may
// carry bytes that are not UTF-8 (obs-text) or be cut inside a character;
// the operation still works, and what is recorded is valid text.
func TestActorWithBadTextStillActs(t *testing.T) {
	e := mustManager(t)
	ctx := usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: e.admin.ID, IP: "203.0.113.9\x00", UserAgent: "Mozilla/5.0 \xff\xfe caf\xc3"})
	u, err := e.m.InviteUser(ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err)
	ev := e.lastEvent(t, u.ID)
	assert.True(t, utf8.ValidString(ev.UserAgent), "%q", ev.UserAgent)
	assert.Contains(t, ev.UserAgent, "Mozilla/5.0")
	assert.NotContains(t, ev.IP, "\x00")

	res, err := e.m.Login(usermgmt.WithActor(context.Background(), usermgmt.Actor{UserAgent: "\xffbrowser"}),
		usermgmt.LoginRequest{TenantID: tenant, Email: e.admin.Email, Password: "wrong password, long enough"})
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "a failed login is recorded, not refused: %v %v", res, err)
}
