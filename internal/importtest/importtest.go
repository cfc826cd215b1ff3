// Package importtest holds the rules of Manager.ImportUsers as tests that
// run against any Store: the root package runs them on the memory store,
// store/postgres on PostgreSQL, so that batching, events and rollbacks are
// proved where they are implemented.
package importtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/internal/testotp"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
)

// Run runs every rule against a fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) usermgmt.Store) {
	for _, c := range []struct {
		name string
		test func(t *testing.T, e *env)
	}{
		{"BatchesCommitWithTheirEvents", testBatchesCommitWithTheirEvents},
		{"FailingBatchKeepsEarlierBatchesAndSaysWhere", testFailingBatchKeepsEarlierBatches},
		{"DryRunWritesNothing", testDryRunWritesNothing},
		{"ExistingEmailsSkipOrUpdate", testExistingEmailsSkipOrUpdate},
		{"ErrorsNameLineFieldAndCode", testErrorsNameLineFieldAndCode},
		{"ImportedPasswordAndTOTPSignIn", testImportedPasswordAndTOTPSignIn},
		{"WithoutTOTPTheUserEnrolsAtLogin", testWithoutTOTPTheUserEnrolsAtLogin},
		{"BcryptAndFirebaseHashesSignIn", testBcryptAndFirebaseHashesSignIn},
		{"InviteMailsTheInvited", testInviteMailsTheInvited},
		{"OnlyATenantAdminInSudoMayImport", testOnlyATenantAdminInSudoMayImport},
		{"ErrorListIsCappedButCounted", testErrorListIsCappedButCounted},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.test(t, newEnv(t, newStore(t)))
		})
	}
}

const tenant = "acme"

// Password is the password of Hash.
const Password = "correct horse battery staple"

// Hash returns an argon2id hash of Password in PHC form, as another
// system running argon2id would have stored it.
func Hash() string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(Password), salt, 2, 19456, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

type env struct {
	m     *usermgmt.Manager
	store *failing
	mail  *mailertest.Mailer
	clock *testclock.Clock
	admin usermgmt.User
	ctx   context.Context // the admin in sudo mode
}

func newEnv(t *testing.T, s usermgmt.Store) *env {
	e := &env{store: &failing{Store: s}, mail: mailertest.New(),
		clock: testclock.New(time.Now().UTC().Truncate(time.Second))}
	m, err := usermgmt.New(e.store, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: make([]byte, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.DiscardHandler),
		HashQueueTimeout: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	e.m = m
	admin, err := m.InviteUser(usermgmt.AsSystem(t.Context()), tenant,
		usermgmt.Invite{Email: "admin@acme.test", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
	require.NoError(t, err)
	require.NoError(t, s.RunInTx(t.Context(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		r, err := tx.LockUser(ctx, tenant, admin.ID)
		if err != nil {
			return err
		}
		r.Status, r.ActivatedAt = usermgmt.StatusActive, &r.CreatedAt
		return tx.UpdateUser(ctx, &r)
	}))
	e.admin = admin
	e.ctx = usermgmt.WithActor(t.Context(), usermgmt.Actor{UserID: admin.ID, VerifiedAt: e.clock.Now()})
	e.mail.Reset()
	return e
}

// records yields rs as a reader would.
func records(rs ...usermgmt.ImportRecord) iter.Seq2[usermgmt.ImportRecord, error] {
	return func(yield func(usermgmt.ImportRecord, error) bool) {
		for i, r := range rs {
			if r.Line == 0 {
				r.Line = i + 2 // after a header
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

func agent(email string) usermgmt.ImportRecord {
	return usermgmt.ImportRecord{Email: email, Roles: []usermgmt.Role{usermgmt.RoleAgent}, PasswordHash: Hash()}
}

func (e *env) user(t *testing.T, email string) (usermgmt.User, error) {
	t.Helper()
	page, err := e.m.ListUsers(usermgmt.AsSystem(t.Context()), tenant, usermgmt.ListUsersQuery{Search: email, Limit: 200})
	require.NoError(t, err)
	for _, u := range page.Users {
		if u.Email == email {
			return u, nil
		}
	}
	return usermgmt.User{}, usermgmt.Errorf(usermgmt.CodeNotFound, "no %s", email)
}

func (e *env) counts(t *testing.T) usermgmt.StatusCounts {
	t.Helper()
	page, err := e.m.ListUsers(usermgmt.AsSystem(t.Context()), tenant, usermgmt.ListUsersQuery{Limit: 1})
	require.NoError(t, err)
	return page.Counts
}

func (e *env) events(t *testing.T, id uuid.UUID) []usermgmt.Event {
	t.Helper()
	page, err := e.m.ListActivity(usermgmt.AsSystem(t.Context()), tenant, id, usermgmt.ActivityQuery{Limit: 200})
	require.NoError(t, err)
	return page.Events
}

func testBatchesCommitWithTheirEvents(t *testing.T, e *env) {
	var seen []usermgmt.ImportProgress
	res, err := e.m.ImportUsers(e.ctx, tenant, records(agent("a@acme.test"), agent("b@acme.test"), agent("c@acme.test"),
		agent("d@acme.test"), agent("e@acme.test")),
		usermgmt.ImportOptions{BatchSize: 2, Progress: func(p usermgmt.ImportProgress) { seen = append(seen, p) }})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.ImportProgress{Read: 5, Created: 5, Line: 6}, res.ImportProgress)
	assert.Empty(t, res.Errors)
	require.Equal(t, 3, e.store.creates, "three batches, one CreateUsers each")
	require.Len(t, seen, 3, "progress after each batch")
	assert.Equal(t, []int{2, 4, 5}, []int{seen[0].Created, seen[1].Created, seen[2].Created})
	assert.Equal(t, usermgmt.StatusCounts{Active: 6, All: 6}, e.counts(t))
	u, err := e.user(t, "c@acme.test")
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusActive, u.Status)
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, u.Roles)
	evs := e.events(t, u.ID)
	require.Len(t, evs, 1)
	assert.Equal(t, usermgmt.EventImported, evs[0].Type)
	assert.Equal(t, e.admin.ID, evs[0].ActorID, "the admin who imported")
}

func testFailingBatchKeepsEarlierBatches(t *testing.T, e *env) {
	rs := []usermgmt.ImportRecord{agent("a@acme.test"), agent("b@acme.test"), agent("c@acme.test"),
		agent("d@acme.test"), agent("e@acme.test")}
	e.store.failCreate = 2 // the second batch: lines 4 and 5
	res, err := e.m.ImportUsers(e.ctx, tenant, records(rs...), usermgmt.ImportOptions{BatchSize: 2})
	require.Error(t, err)
	assert.Equal(t, usermgmt.CodeUnavailable, usermgmt.ErrorCode(err), "the cause's code")
	assert.Contains(t, usermgmt.ErrorMessage(err), "lines 4 to 5")
	assert.Equal(t, 2, res.Created)
	assert.Equal(t, 2, res.Failed)
	assert.Equal(t, 5, res.Line, "the fifth record (line 6) was not read")
	assert.Equal(t, usermgmt.StatusCounts{Active: 3, All: 3}, e.counts(t), "the first batch and the admin")
	_, err = e.user(t, "c@acme.test")
	assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err), "nothing of the failed batch")

	// Run again, skipping who is there: the rest comes in.
	res, err = e.m.ImportUsers(e.ctx, tenant, records(rs...), usermgmt.ImportOptions{BatchSize: 2})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.ImportProgress{Read: 5, Created: 3, Skipped: 2, Line: 6}, res.ImportProgress)
	assert.Equal(t, usermgmt.StatusCounts{Active: 6, All: 6}, e.counts(t))
}

func testDryRunWritesNothing(t *testing.T, e *env) {
	existing := agent("old@acme.test")
	_, err := e.m.ImportUsers(e.ctx, tenant, records(existing), usermgmt.ImportOptions{})
	require.NoError(t, err)
	before := e.counts(t)

	e.store.writes = 0
	// No sudo needed to look.
	look := usermgmt.WithActor(t.Context(), usermgmt.Actor{UserID: e.admin.ID})
	update := agent("old@acme.test")
	update.DisplayName = "Old Timer"
	res, err := e.m.ImportUsers(look, tenant, records(agent("new@acme.test"), update,
		usermgmt.ImportRecord{Email: "not an email"}), usermgmt.ImportOptions{DryRun: true, Existing: usermgmt.ImportUpdate})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.ImportProgress{Read: 3, Created: 1, Updated: 1, Failed: 1, Line: 4}, res.ImportProgress)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, 4, res.Errors[0].Line)
	assert.Equal(t, before, e.counts(t))
	_, err = e.user(t, "new@acme.test")
	assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
	old, err := e.user(t, "old@acme.test")
	require.NoError(t, err)
	assert.Empty(t, old.DisplayName)
	assert.Len(t, e.events(t, old.ID), 1, "only the first import's event")
	assert.Zero(t, e.store.writes, "no writing transaction")
}

func testExistingEmailsSkipOrUpdate(t *testing.T, e *env) {
	first := agent("ana@acme.test")
	first.DisplayName, first.GivenName = "Ana", "Ana"
	_, err := e.m.ImportUsers(e.ctx, tenant, records(first), usermgmt.ImportOptions{})
	require.NoError(t, err)
	ana, err := e.user(t, "ana@acme.test")
	require.NoError(t, err)
	_, err = e.m.Login(t.Context(), usermgmt.LoginRequest{TenantID: tenant, Email: ana.Email, Password: Password})
	require.NoError(t, err)

	again := usermgmt.ImportRecord{Email: "ANA@acme.test", Profile: usermgmt.Profile{DisplayName: "Ana Q."}, Roles: []usermgmt.Role{usermgmt.RoleSupervisor},
		PasswordHash: Hash()}
	res, err := e.m.ImportUsers(e.ctx, tenant, records(again), usermgmt.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Skipped, "skip is the default")
	u, err := e.user(t, "ana@acme.test")
	require.NoError(t, err)
	assert.Equal(t, "Ana", u.DisplayName)

	res, err = e.m.ImportUsers(e.ctx, tenant, records(again), usermgmt.ImportOptions{Existing: usermgmt.ImportUpdate})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	u, err = e.user(t, "ana@acme.test")
	require.NoError(t, err)
	assert.Equal(t, ana.ID, u.ID)
	assert.Equal(t, "Ana Q.", u.DisplayName, "the record's field")
	assert.Equal(t, "Ana", u.GivenName, "a field the record leaves empty stays")
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, u.Roles, "granted, none revoked")
	evs := e.events(t, u.ID)
	assert.Equal(t, usermgmt.EventSessionsRevoked, evs[0].Type, "a new password hash ends the sessions")
	assert.Equal(t, usermgmt.EventImported, evs[1].Type)
	assert.Equal(t, "updated: profile, roles, password hash", evs[1].Detail)

	res, err = e.m.ImportUsers(e.ctx, tenant, records(usermgmt.ImportRecord{Email: "ana@acme.test", Profile: usermgmt.Profile{DisplayName: "Ana Q."}}),
		usermgmt.ImportOptions{Existing: usermgmt.ImportUpdate, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.ImportProgress{Read: 1, Skipped: 1, Line: 2}, res.ImportProgress, "nothing to change")

	invited, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ivy@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err)
	res, err = e.m.ImportUsers(e.ctx, tenant, records(agent(invited.Email)), usermgmt.ImportOptions{Existing: usermgmt.ImportUpdate})
	require.NoError(t, err)
	require.Len(t, res.Errors, 1)
	ie := res.Errors[0]
	assert.Equal(t, []any{2, invited.Email, usermgmt.CodeConflict, "password_hash"}, []any{ie.Line, ie.Email, ie.Code, ie.Field},
		"a password does not finish an invited user's setup")
}

func testErrorsNameLineFieldAndCode(t *testing.T, e *env) {
	csv := "email,roles,status,password_hash,totp_secret,created_at\n" +
		"good@acme.test,agent,,$HASH,,2020-01-02T03:04:05Z\n" +
		"\"multi\nline@acme.test\",agent,,,,\n" + // lines 3-4: a quoted line break
		"bad-role@acme.test,janitor,,$HASH,,\n" + // line 5
		"bad-hash@acme.test,agent,,$2x$nope,,\n" + // line 6
		"bad-totp@acme.test,agent,,$HASH,not base32!,\n" + // line 7
		"short-row@acme.test,agent\n" + // line 8
		"bad-time@acme.test,agent,,$HASH,,yesterday\n" + // line 9
		"good@acme.test,agent,,$HASH,,\n" + // line 10: again
		"active-no-hash@acme.test,agent,active,,,\n" // line 11
	csv = strings.ReplaceAll(csv, "$HASH", `"`+Hash()+`"`) // its costs hold commas
	res, err := e.m.ImportUsers(e.ctx, tenant, usermgmt.ReadImportCSV(strings.NewReader(csv)), usermgmt.ImportOptions{})
	require.NoError(t, err)
	type where struct {
		Line  int
		Field string
		Code  usermgmt.Code
	}
	var got []where
	for _, ie := range res.Errors {
		got = append(got, where{ie.Line, ie.Field, ie.Code})
		assert.NotContains(t, ie.Message, "$argon2id", "a message never quotes a hash")
	}
	assert.Equal(t, []where{
		{3, "email", usermgmt.CodeInvalid},
		{5, "roles", usermgmt.CodeInvalid},
		{6, "password_hash", usermgmt.CodeInvalid},
		{7, "totp_secret", usermgmt.CodeInvalid},
		{8, "", usermgmt.CodeInvalid},
		{9, "created_at", usermgmt.CodeInvalid},
		{10, "email", usermgmt.CodeConflict},
		{11, "password_hash", usermgmt.CodeInvalid},
	}, got)
	assert.Equal(t, 1, res.Created)
	good, err := e.user(t, "good@acme.test")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), good.CreatedAt.UTC())

	jsonl := `{"email":"j1@acme.test","roles":["agent"],"password_hash":"` + Hash() + `"}` + "\n\n" +
		`{"email":"j2@acme.test","roles":"agent","shoe_size":"44"}` + "\n" + // line 3
		`not json` + "\n" + // line 4
		`{"email":"j3@acme.test","roles":["agent"],"status":"invited","last_login_at":1700000000000}` + "\n" +
		`{"email":"j4@acme.test","roles":["agent"],"manager_id":"a\u0007b"}` + "\n" // line 6: a control character
	res, err = e.m.ImportUsers(e.ctx, tenant, usermgmt.ReadImportJSONL(strings.NewReader(jsonl)), usermgmt.ImportOptions{})
	require.NoError(t, err)
	got = nil
	for _, ie := range res.Errors {
		got = append(got, where{ie.Line, ie.Field, ie.Code})
	}
	assert.Equal(t, []where{{3, "", usermgmt.CodeInvalid}, {4, "", usermgmt.CodeInvalid}, {6, "manager_id", usermgmt.CodeInvalid}}, got)
	assert.Equal(t, 2, res.Created)
	j3, err := e.user(t, "j3@acme.test")
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusInvited, j3.Status)
	require.NotNil(t, j3.LastLoginAt)
	assert.Equal(t, time.UnixMilli(1700000000000).UTC(), j3.LastLoginAt.UTC())
}

func testImportedPasswordAndTOTPSignIn(t *testing.T, e *env) {
	const secret = "JBSWY3DPEHPK3PXP" // 80 bits, as Google Authenticator issues them
	r := agent("tom@acme.test")
	r.TOTPSecret = "jbsw y3dp ehpk 3pxp" // as people copy it
	_, err := e.m.ImportUsers(e.ctx, tenant, records(r), usermgmt.ImportOptions{})
	require.NoError(t, err)
	u, err := e.user(t, r.Email)
	require.NoError(t, err)
	assert.True(t, u.MFAEnabled)

	ctx := t.Context()
	res, err := e.m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: r.Email, Password: Password})
	require.NoError(t, err)
	require.NotEmpty(t, res.MFAChallenge, "TOTP is enrolled already")
	s, err := e.m.VerifyMFA(ctx, res.MFAChallenge, testotp.Oathtool(t, secret, e.clock.Now()), false)
	require.NoError(t, err)
	_, err = e.m.Authenticate(ctx, s.Token)
	require.NoError(t, err)

	_, err = e.m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: r.Email, Password: "wrong " + Password})
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
}

func testWithoutTOTPTheUserEnrolsAtLogin(t *testing.T, e *env) {
	_, err := e.m.ImportUsers(e.ctx, tenant, records(agent("una@acme.test")), usermgmt.ImportOptions{})
	require.NoError(t, err)
	res, err := e.m.Login(t.Context(), usermgmt.LoginRequest{TenantID: tenant, Email: "una@acme.test", Password: Password})
	require.NoError(t, err)
	require.NotNil(t, res.Enrollment, "enrols now")
}

// Two vectors of testdata/hash-vectors.json (scripts/hash-vectors.sh):
// htpasswd's bcrypt of Password, and the published Firebase scrypt vector
// of github.com/firebase/scrypt's README with its project parameters.
const (
	htpasswdBcrypt   = "$2y$08$XqLZ3FqM3W8/yktfLczwf.9eIPXTM3xWPtZs6cOu5Alx/VhhNDT1S"
	firebaseHash     = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
	firebaseSalt     = "42xEC+ixf3L2lw=="
	firebasePassword = "user1password"
	firebaseSigner   = "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
)

func testBcryptAndFirebaseHashesSignIn(t *testing.T, e *env) {
	signer, err := base64.StdEncoding.DecodeString(firebaseSigner)
	require.NoError(t, err)
	fb := &usermgmt.FirebaseScrypt{SignerKey: signer, SaltSeparator: []byte{7}, Rounds: 8, MemCost: 14}
	rs := records(usermgmt.ImportRecord{Email: "bea@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}, PasswordHash: htpasswdBcrypt},
		usermgmt.ImportRecord{Email: "fay@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}, PasswordHash: firebaseHash,
			PasswordSalt: firebaseSalt})
	res, err := e.m.ImportUsers(e.ctx, tenant, rs, usermgmt.ImportOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Created)
	require.Len(t, res.Errors, 1, "a salt without the project's parameters")
	assert.Equal(t, "password_salt", res.Errors[0].Field)

	res, err = e.m.ImportUsers(e.ctx, tenant, rs, usermgmt.ImportOptions{Firebase: fb})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.ImportProgress{Read: 2, Created: 1, Skipped: 1, Line: 3}, res.ImportProgress)
	for email, pw := range map[string]string{"bea@acme.test": Password, "fay@acme.test": firebasePassword} {
		_, err := e.m.Login(t.Context(), usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: pw})
		require.NoError(t, err, email)
		_, err = e.m.Login(t.Context(), usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: pw + "!"})
		assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), email)
	}

	_, err = e.m.ImportUsers(e.ctx, tenant, rs, usermgmt.ImportOptions{Firebase: &usermgmt.FirebaseScrypt{Rounds: 8}})
	assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(err), "parameters without a signer key")
}

func testInviteMailsTheInvited(t *testing.T, e *env) {
	rs := records(usermgmt.ImportRecord{Email: "ivy@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}},
		agent("has-password@acme.test"))
	res, err := e.m.ImportUsers(e.ctx, tenant, rs, usermgmt.ImportOptions{Invite: true})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Created)
	_, err = e.m.DeliverPending(e.ctx) // invitations wait for the outbox worker, paced
	require.NoError(t, err)
	tok := e.mail.Token("ivy@acme.test")
	require.NotEmpty(t, tok, "the invited user is mailed a link")
	_, ok := e.mail.LastTo("has-password@acme.test")
	assert.False(t, ok, "a user with a password is not")
	_, err = e.m.AcceptInvite(t.Context(), tok, "a brand new passphrase")
	require.NoError(t, err)

	// Without Invite, nobody is mailed.
	e.mail.Reset()
	_, err = e.m.ImportUsers(e.ctx, tenant, records(usermgmt.ImportRecord{Email: "quiet@acme.test",
		Roles: []usermgmt.Role{usermgmt.RoleAgent}}), usermgmt.ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, e.m.Close())
	assert.Empty(t, e.mail.Messages())
}

func testOnlyATenantAdminInSudoMayImport(t *testing.T, e *env) {
	hr, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "hr@acme.test", Roles: []usermgmt.Role{usermgmt.RoleHRAdmin}})
	require.NoError(t, err)
	require.NoError(t, e.store.RunInTx(t.Context(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		r, err := tx.LockUser(ctx, tenant, hr.ID)
		if err != nil {
			return err
		}
		r.Status = usermgmt.StatusActive
		return tx.UpdateUser(ctx, &r)
	}))
	for name, c := range map[string]struct {
		ctx  context.Context
		dry  bool
		want usermgmt.Code
	}{
		"NoActor":          {t.Context(), false, usermgmt.CodePermissionDenied},
		"HRAdmin":          {usermgmt.WithActor(t.Context(), usermgmt.Actor{UserID: hr.ID, VerifiedAt: e.clock.Now()}), false, usermgmt.CodePermissionDenied},
		"HRAdminDryRun":    {usermgmt.WithActor(t.Context(), usermgmt.Actor{UserID: hr.ID}), true, usermgmt.CodePermissionDenied},
		"AdminWithoutSudo": {usermgmt.WithActor(t.Context(), usermgmt.Actor{UserID: e.admin.ID}), false, usermgmt.CodeMFARequired},
		"Provisioner": {usermgmt.AsProvisioner(t.Context(), usermgmt.ProvisioningToken{TenantID: tenant, Name: "Okta"}), false,
			usermgmt.CodePermissionDenied},
		"System": {usermgmt.AsSystem(t.Context()), false, ""},
	} {
		read := false
		rs := func(yield func(usermgmt.ImportRecord, error) bool) {
			read = true
			yield(agent(strings.ToLower(name)+"@acme.test"), nil)
		}
		_, err := e.m.ImportUsers(c.ctx, tenant, rs, usermgmt.ImportOptions{DryRun: c.dry})
		assert.Equal(t, c.want, usermgmt.ErrorCode(err), name)
		if c.want != "" {
			assert.False(t, read, "%s: refused before reading", name)
		}
	}
}

func testErrorListIsCappedButCounted(t *testing.T, e *env) {
	const n = 5000
	bad := func(yield func(usermgmt.ImportRecord, error) bool) {
		for i := range n {
			if !yield(usermgmt.ImportRecord{Line: i + 1, Email: fmt.Sprintf("nobody%d", i)}, nil) {
				return
			}
		}
	}
	res, err := e.m.ImportUsers(e.ctx, tenant, bad, usermgmt.ImportOptions{MaxErrors: 10})
	require.NoError(t, err)
	assert.Equal(t, n, res.Failed)
	assert.Len(t, res.Errors, 10)

	// A reader's own failure (not an invalid record) stops the import
	// after writing what came before it.
	broken := func(yield func(usermgmt.ImportRecord, error) bool) {
		if yield(agent("before@acme.test"), nil) {
			yield(usermgmt.ImportRecord{}, errors.New("disk on fire"))
		}
	}
	res, err = e.m.ImportUsers(e.ctx, tenant, broken, usermgmt.ImportOptions{})
	assert.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err))
	assert.Equal(t, 1, res.Created)
}

// failing is a Store that counts writing transactions and CreateUsers
// calls, and fails the failCreate-th CreateUsers (1 is the first) as a
// database that went away would.
type failing struct {
	usermgmt.Store
	mu         sync.Mutex
	creates    int
	writes     int
	failCreate int
}

func (s *failing) RunInTx(ctx context.Context, o usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	if !o.ReadOnly {
		s.mu.Lock()
		s.writes++
		s.mu.Unlock()
	}
	return s.Store.RunInTx(ctx, o, func(ctx context.Context, tx usermgmt.Tx) error {
		return fn(ctx, &failingTx{Tx: tx, s: s})
	})
}

type failingTx struct {
	usermgmt.Tx
	s *failing
}

func (t *failingTx) CreateUsers(ctx context.Context, us []usermgmt.UserRecord) error {
	t.s.mu.Lock()
	t.s.creates++
	fail := t.s.creates == t.s.failCreate
	t.s.mu.Unlock()
	if fail {
		return &usermgmt.Error{Code: usermgmt.CodeUnavailable, Message: "the database cannot be reached", RetryAfter: 1}
	}
	return t.Tx.CreateUsers(ctx, us)
}
