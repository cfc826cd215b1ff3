package usermgmt_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

const tenant = "acme"

// system is trusted code's context: not permission-checked, recorded as the system.
var system = usermgmt.AsSystem(context.Background())

var testKey = bytes.Repeat([]byte{7}, 32)

type env struct {
	m     *usermgmt.Manager
	store *memory.Store
	mail  *mailertest.Mailer
	clock *testclock.Clock
	log   *testlog.Buffer
	admin usermgmt.User
	ctx   context.Context // acts as admin
}

// mustManager returns a Manager on a fresh memory store with a capturing
// mailer, an injected clock, a captured log and one active tenant_admin.
func mustManager(t testing.TB, edit ...func(*usermgmt.Options)) *env {
	t.Helper()
	e := &env{store: memory.New(), mail: mailertest.New(), log: &testlog.Buffer{},
		clock: testclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))}
	opts := usermgmt.Options{
		Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey, Issuer: "Acme HR",
		Links:  usermgmt.Links{BaseURL: "https://app.example.com"},
		Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		// Concurrent logins under -race on a busy machine must not time out
		// in the hashing queue; hashing_test.go tests that queue.
		HashQueueTimeout: time.Minute,
	}
	for _, f := range edit {
		f(&opts)
	}
	m, err := usermgmt.New(e.store, opts)
	require.NoError(t, err)
	e.m = m
	e.admin = e.seedActive(t, tenant, "admin@acme.test", usermgmt.RoleTenantAdmin)
	e.ctx = e.as(e.admin)
	return e
}

// as returns a context acting as u. It is not in sudo mode: sensitive
// operations (granting tenant_admin, ResetMFA) answer mfa_required.
func (e *env) as(u usermgmt.User) context.Context {
	return usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: u.ID, IP: "203.0.113.7", UserAgent: "test"})
}

// sudo returns a context acting as u in sudo mode, as a host with
// sessions of its own does: it vouches that u verified a password or code
// just now (Actor.VerifiedAt). sudo_test.go tests the Manager's sessions.
func (e *env) sudo(u usermgmt.User) context.Context {
	return usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: u.ID, IP: "203.0.113.7", UserAgent: "test",
		VerifiedAt: e.clock.Now()})
}

// seedActive puts an active user straight into the store (no password):
// the fast way to have actors for admin operations.
func (e *env) seedActive(t testing.TB, tenantID, email string, roles ...usermgmt.Role) usermgmt.User {
	t.Helper()
	now := e.clock.Now()
	u := &usermgmt.UserRecord{User: usermgmt.User{ID: uuid.Must(uuid.NewV7()), TenantID: tenantID, Email: email,
		Status: usermgmt.StatusActive, Roles: roles, DirectRoles: roles, ActivatedAt: &now, CreatedAt: now, UpdatedAt: now}}
	err := e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, u)
	})
	require.NoError(t, err)
	return u.User
}

// invite invites email as the admin and returns the user and the token of
// the mailed link.
func (e *env) invite(t testing.TB, email string, roles ...usermgmt.Role) (usermgmt.User, string) {
	t.Helper()
	if len(roles) == 0 {
		roles = []usermgmt.Role{usermgmt.RoleAgent}
	}
	u, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: email, Roles: roles})
	require.NoError(t, err)
	return u, e.lastToken(t, u.Email)
}

// lastToken returns the token= of the newest mail to email.
func (e *env) lastToken(t testing.TB, email string) string {
	t.Helper()
	tok := e.mail.Token(email)
	require.NotEmpty(t, tok, "no mail with a link to %s", email)
	return tok
}

// code computes the TOTP code of secret at the clock's time.
func (e *env) code(t testing.TB, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return c
}

const goodPassword = "correct horse battery staple"

// onboard takes an invitee through accept and enrolment and returns the
// TOTP secret, the recovery codes and the first session.
func (e *env) onboard(t testing.TB, email string, roles ...usermgmt.Role) (usermgmt.User, string, usermgmt.Session, []string) {
	t.Helper()
	u, token := e.invite(t, email, roles...)
	enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	s, err := e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
	require.NoError(t, err)
	e.clock.Advance(30 * time.Second) // next login needs a fresh step
	u, err = e.m.GetUser(system, tenant, u.ID)
	require.NoError(t, err)
	return u, enr.Secret, s, enr.RecoveryCodes
}

func code(err error) usermgmt.Code { return usermgmt.ErrorCode(err) }
