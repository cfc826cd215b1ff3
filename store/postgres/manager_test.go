package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// The Manager's whole story on PostgreSQL, as two app instances: two
// Managers over two *bun.DB pools on one schema.

type instances struct {
	one, two *usermgmt.Manager
	store    *postgres.Store
	mail     *mailertest.Mailer
	clock    *testclock.Clock
}

// twoManagers returns the two instances; wrap, when given, wraps each
// instance's store (to stage a race).
func twoManagers(t *testing.T, wrap ...func(usermgmt.Store) usermgmt.Store) *instances {
	t.Helper()
	one := newStore(t)
	two, err := postgres.New(openDB(t), postgres.WithSchema(one.Schema()))
	require.NoError(t, err)
	in := &instances{store: one, mail: mailertest.New(), clock: testclock.New(time.Now().UTC().Truncate(time.Second))}
	for i, s := range []usermgmt.Store{one, two} {
		for _, w := range wrap {
			s = w(s)
		}
		m, err := usermgmt.New(s, usermgmt.Options{Mailer: in.mail, Clock: in.clock.Now, SecretKey: bytes.Repeat([]byte{9}, 32),
			Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Issuer: "Acme", Logger: slog.New(slog.DiscardHandler),
			HashQueueTimeout: time.Minute}) // concurrent logins under -race must not time out in the hashing queue
		require.NoError(t, err)
		if i == 0 {
			in.one = m
		} else {
			in.two = m
		}
	}
	return in
}

func (in *instances) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, in.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return c
}

const pw = "correct horse battery staple"

// onboard invites email (by the system, through one) and finishes setup
// through two; it returns the user, the TOTP secret and the first session.
func (in *instances) onboard(t *testing.T, email string, roles ...usermgmt.Role) (usermgmt.User, string, usermgmt.Session) {
	t.Helper()
	ctx := usermgmt.AsSystem(context.Background())
	u, err := in.one.InviteUser(ctx, "acme", usermgmt.Invite{Email: email, Roles: roles})
	require.NoError(t, err)
	enr, err := in.two.AcceptInvite(ctx, in.mail.Token(u.Email), pw)
	require.NoError(t, err)
	s, err := in.two.CompleteMFAEnrollment(ctx, enr.Token, in.code(t, enr.Secret))
	require.NoError(t, err)
	in.clock.Advance(30 * time.Second)
	return u, enr.Secret, s
}

func TestManagerOnPostgres(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	admin, _, _ := in.onboard(t, "admin@acme.test", usermgmt.RoleTenantAdmin)
	asAdmin := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: admin.ID, IP: "203.0.113.1"})
	ana, secret, _ := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)

	t.Run("LoginOnOneAuthenticateOnTwo", func(t *testing.T) {
		res, err := in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: ana.Email, Password: pw})
		require.NoError(t, err)
		s, err := in.two.VerifyMFA(ctx, res.MFAChallenge, in.code(t, secret), true)
		require.NoError(t, err)
		in.clock.Advance(30 * time.Second)
		p, err := in.one.Authenticate(ctx, s.Token)
		require.NoError(t, err)
		assert.Equal(t, ana.ID, p.UserID)

		_, err = in.one.GrantRole(asAdmin, "acme", ana.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err)
		s2, err := in.two.Refresh(ctx, s.RefreshToken)
		require.NoError(t, err)
		p, err = in.one.Authenticate(ctx, s2.Token)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, p.Roles, "role change lands at refresh")

		require.NoError(t, in.one.ForceLogout(asAdmin, "acme", ana.ID))
		_, err = in.two.Authenticate(ctx, s2.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "revoked through one, refused by two at once")
		_, err = in.two.Refresh(ctx, s2.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
		res, err = in.two.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: ana.Email, Password: pw, DeviceToken: s.DeviceToken})
		require.NoError(t, err)
		assert.Nil(t, res.Session, "trusted device revoked")
	})

	t.Run("PageOnPostgres", func(t *testing.T) {
		_, err := in.one.InviteUser(asAdmin, "acme", usermgmt.Invite{Email: "bob@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		_, err = in.two.Deactivate(asAdmin, "acme", ana.ID)
		require.NoError(t, err)
		page, err := in.one.ListUsers(asAdmin, "acme", usermgmt.ListUsersQuery{Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusCounts{Active: 1, Invited: 1, Deactivated: 1, All: 3}, page.Counts)
		assert.Equal(t, "admin@acme.test", page.Users[0].Email)
		next, err := in.two.ListUsers(asAdmin, "acme", usermgmt.ListUsersQuery{Limit: 2, Cursor: page.NextCursor})
		require.NoError(t, err)
		require.Len(t, next.Users, 1)
		assert.Equal(t, "bob@acme.test", next.Users[0].Email)
		acts, err := in.two.ListActivity(asAdmin, "acme", ana.ID, usermgmt.ActivityQuery{Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, usermgmt.EventSessionsRevoked, acts.Events[0].Type)
		assert.Equal(t, usermgmt.EventDeactivated, acts.Events[1].Type)
		_, err = in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: ana.Email, Password: pw})
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "deactivated users cannot log in")
		back, err := in.one.Activate(asAdmin, "acme", ana.ID)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.StatusActive, back.Status)
	})

	t.Run("LastAdminAcrossInstances", func(t *testing.T) {
		second, _, _ := in.onboard(t, "second@acme.test", usermgmt.RoleTenantAdmin)
		var wg sync.WaitGroup
		codes := make([]usermgmt.Code, 2)
		for i, pair := range []struct {
			m   *usermgmt.Manager
			who usermgmt.User
		}{{in.one, admin}, {in.two, second}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Trusted code, on each instance, deactivates one of the two
				// (nobody may deactivate themselves).
				_, err := pair.m.Deactivate(usermgmt.AsSystem(ctx), "acme", pair.who.ID)
				codes[i] = usermgmt.ErrorCode(err)
			}()
		}
		wg.Wait()
		assert.ElementsMatch(t, []usermgmt.Code{"", usermgmt.CodeConflict}, codes[:])
	})
}

func TestRacesAcrossInstances(t *testing.T) {
	in := twoManagers(t)
	ctx := usermgmt.AsSystem(context.Background())

	t.Run("OneInvitationTwoInstances", func(t *testing.T) {
		u, err := in.one.InviteUser(ctx, "acme", usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{"agent"}})
		require.NoError(t, err)
		token := in.mail.Token(u.Email)
		ok := together(6, func(i int, ready func()) bool {
			m := in.one
			if i%2 == 1 {
				m = in.two
			}
			ready()
			_, err := m.AcceptInvite(ctx, token, pw)
			return err == nil
		})
		assert.Equal(t, 1, ok)
	})

	t.Run("OneTOTPCodeTwoInstances", func(t *testing.T) {
		u, secret, _ := in.onboard(t, "bob@acme.test", usermgmt.RoleAgent)
		var challenges [2]string
		for i, m := range []*usermgmt.Manager{in.one, in.two} {
			res, err := m.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
			require.NoError(t, err)
			challenges[i] = res.MFAChallenge
		}
		c := in.code(t, secret)
		ok := together(2, func(i int, ready func()) bool {
			m := []*usermgmt.Manager{in.one, in.two}[i]
			ready()
			_, err := m.VerifyMFA(ctx, challenges[i], c, false)
			return err == nil
		})
		assert.Equal(t, 1, ok)
	})

	t.Run("ConcurrentInvitesOfOneEmail", func(t *testing.T) {
		ok := together(10, func(i int, ready func()) bool {
			m, email := in.one, "Sam@Acme.test"
			if i%2 == 1 {
				m, email = in.two, "sam@ACME.test"
			}
			ready()
			_, err := m.InviteUser(ctx, "acme", usermgmt.Invite{Email: email, Roles: []usermgmt.Role{"agent"}})
			if err != nil {
				assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err))
			}
			return err == nil
		})
		assert.Equal(t, 1, ok)
		db := openDB(t)
		assert.Equal(t, 1, count(t, db, in.store, "users", "email = 'sam@acme.test'"))
		assert.Equal(t, 1, count(t, db, in.store, "tokens", "purpose = 'invite' AND user_id = (SELECT id FROM \""+in.store.Schema()+"\".users WHERE email = 'sam@acme.test')"),
			"no token left by the losers")
	})
}
