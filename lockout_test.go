package usermgmt_test

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/inbetween"
)

// The lockout counts failures per sign-in key, a tenant and an email,
// whether or not the tenant has a user with that email, and answers a
// locked key exactly as a wrong password.

// answer is what a caller can see of a failed login: the error's fields.
type answer struct {
	Code       usermgmt.Code
	Message    string
	RetryAfter int64
}

func answerOf(t *testing.T, err error) answer {
	t.Helper()
	var ue *usermgmt.Error
	require.ErrorAs(t, err, &ue)
	return answer{ue.Code, ue.Message, ue.RetryAfter}
}

// pausedMail is the kind of the mail that tells a person their sign-in is
// paused.
const pausedMail = usermgmt.MessageKind("sign_in_paused")

// pausedDetail is the detail of a login.failed event of an attempt
// refused unchecked while sign-in was paused.
const pausedDetail = "sign-in paused"

// accounts makes one user of each kind that can be asked to sign in:
// active, invited with a password (setup interrupted), invited without
// one, and deactivated. It returns their emails by kind, and the active
// user's TOTP secret.
func accounts(t *testing.T, e *env) (map[string]string, string) {
	t.Helper()
	active, secret, _, _ := e.onboard(t, "ana@acme.test")
	_, token := e.invite(t, "ivy@acme.test")
	_, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	e.invite(t, "ian@acme.test")
	gone, _, _, _ := e.onboard(t, "dan@acme.test")
	_, err = e.m.Deactivate(e.ctx, tenant, gone.ID)
	require.NoError(t, err)
	return map[string]string{"Active": active.Email, "InvitedWithPassword": "ivy@acme.test",
		"InvitedWithoutPassword": "ian@acme.test", "Deactivated": gone.Email}, secret
}

// TestLockedKnownAnswersAsUnknown runs the same sequence of logins on
// every kind of account and on an address nobody has: five wrong
// passwords, then, with the key locked, a wrong and twice the right one.
// Every answer is the unknown address's, after a password hash's work.
func TestLockedKnownAnswersAsUnknown(t *testing.T) {
	e := mustManager(t)
	emails, _ := accounts(t, e)
	emails["Unknown"] = "nobody@acme.test"
	seq := []string{"wrong password 1", "wrong password 2", "wrong password 3", "wrong password 4",
		"wrong password 5", "wrong password 6", goodPassword, goodPassword}
	answers := map[string][]answer{}
	for kind, email := range emails {
		for i, pw := range seq {
			start := time.Now()
			_, err := login(t, e, email, pw)
			took := time.Since(start)
			require.Error(t, err, "%s, login %d", kind, i+1)
			answers[kind] = append(answers[kind], answerOf(t, err))
			assert.Greater(t, took, 5*time.Millisecond, "%s, login %d: an argon2id hash was computed", kind, i+1)
		}
	}
	for kind, got := range answers {
		assert.Equal(t, answers["Unknown"], got, "%s answers as an unknown address, locked or not", kind)
	}
	assert.Equal(t, usermgmt.CodeUnauthenticated, answers["Unknown"][7].Code)

	// The lock is real: the right password works only once it lapses.
	e.clock.Advance(61 * time.Second)
	_, err := login(t, e, emails["Active"], goodPassword)
	require.NoError(t, err)
}

// TestLockoutMailsThePersonOnce: when a key of a user who could sign in
// locks, the person gets one mail saying so and the admin sees it in the
// activity; further failures of the same pause send nothing more. Keys of
// nobody, of a deactivated user and of one who never set a password mail
// nobody.
func TestLockoutMailsThePersonOnce(t *testing.T) {
	e := mustManager(t)
	emails, secret := accounts(t, e)
	emails["Unknown"] = "nobody@acme.test"
	before := len(e.mail.Messages())
	for _, kind := range slices.Sorted(maps.Keys(emails)) { // in order: the mail's times are golden
		email := emails[kind]
		for range 5 {
			_, err := login(t, e, email, "wrong password here")
			require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		}
		e.clock.Advance(61 * time.Second)
		_, err := login(t, e, email, "wrong password again") // locks for two minutes: the same pause
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	}
	require.NoError(t, e.m.Close()) // the mail is sent in the background
	paused := map[string]usermgmt.Message{}
	for _, msg := range e.mail.Messages()[before:] {
		require.Equal(t, pausedMail, msg.Kind)
		_, twice := paused[msg.To]
		require.False(t, twice, "one mail per pause to %s", msg.To)
		paused[msg.To] = msg
	}
	require.Len(t, paused, 2, "mailed: %v", paused)
	for _, email := range []string{emails["Active"], emails["InvitedWithPassword"]} {
		msg, ok := paused[email]
		require.True(t, ok, "no mail to %s", email)
		assert.Contains(t, msg.Subject, "paused")
		assert.Contains(t, msg.Text, "5 failed attempts")
		assert.Contains(t, msg.Text, "reset your password")
		assert.Contains(t, msg.Text, "09:")
	}
	golden(t, "sign_in_paused.system", renderForGolden(paused[emails["Active"]]))

	ana, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "ana@"})
	require.NoError(t, err)
	page, err := e.m.ListActivity(e.ctx, tenant, ana.Users[0].ID, usermgmt.ActivityQuery{Limit: 100})
	require.NoError(t, err)
	locked := 0
	for _, ev := range page.Events {
		if ev.Type == "login.locked" {
			locked++
			assert.Contains(t, ev.Detail, "5 failed attempts")
		}
	}
	assert.Equal(t, 1, locked, "the admin sees the pause once")

	// A new pause, after a sign-in ended the last one, mails again.
	e.clock.Advance(3 * time.Minute)
	signIn(t, e, emails["Active"], secret, false)
	for range 5 {
		_, err := login(t, e, emails["Active"], "wrong password here")
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	}
	require.NoError(t, e.m.Close())
	n := 0
	for _, msg := range e.mail.Messages() {
		if msg.Kind == pausedMail && msg.To == emails["Active"] {
			n++
		}
	}
	assert.Equal(t, 2, n)
}

// TestParallelGuessesAreBounded sends 40 wrong passwords for one account
// at once: at most MaxFailedAttempts of them are checked, the others are
// refused unchecked as the lock applies, and each is logged as which.
func TestParallelGuessesAreBounded(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			<-start
			_, errs[i] = login(t, e, u.Email, "wrong password here")
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	}
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 100})
	require.NoError(t, err)
	checked, refused := 0, 0
	for _, ev := range page.Events {
		if ev.Type != usermgmt.EventLoginFailed {
			continue
		}
		if ev.Detail == pausedDetail {
			refused++
		} else {
			checked++
		}
	}
	assert.Equal(t, 40, checked+refused, "every attempt logged")
	assert.LessOrEqual(t, checked, 5, "at most MaxFailedAttempts guesses checked")
	_, err = login(t, e, u.Email, goodPassword)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "and the key is locked")
}

// TestMFACodesCountOnTheKey: wrong TOTP codes count on the user's key as
// wrong passwords do; once it is locked, even the right code is refused
// as a wrong one, unchecked, until the lock lapses. The challenge stays
// usable.
func TestMFACodesCountOnTheKey(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	_, err := login(t, e, u.Email, "wrong password here")
	require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	wrong := answerOf(t, func() error {
		_, err := e.m.VerifyMFA(context.Background(), res.MFAChallenge, "000000", false)
		return err
	}())
	require.Equal(t, usermgmt.CodeUnauthenticated, wrong.Code)
	for range 3 {
		_, err := e.m.VerifyMFA(context.Background(), res.MFAChallenge, "000000", false)
		require.Equal(t, wrong, answerOf(t, err))
	}
	// One wrong password and four wrong codes: the key is locked.
	_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), false)
	require.Equal(t, wrong, answerOf(t, err), "locked: the right code answers as a wrong one")
	require.NoError(t, e.m.Close())
	last, ok := e.mail.LastTo(u.Email)
	require.True(t, ok)
	assert.Equal(t, pausedMail, last.Kind)

	e.clock.Advance(61 * time.Second)
	s, err := e.m.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), false)
	require.NoError(t, err, "the challenge outlived the lock")
	require.NotEmpty(t, s.Token)
}

// TestEnrollmentCodesCountOnTheKey: the same holds for the first code of
// an enrolment.
func TestEnrollmentCodesCountOnTheKey(t *testing.T) {
	e := mustManager(t)
	u, token := e.invite(t, "ivy@acme.test")
	enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	var first answer
	for i := range 5 {
		_, err := e.m.CompleteMFAEnrollment(context.Background(), enr.Token, "000000")
		if i == 0 {
			first = answerOf(t, err)
			require.Equal(t, usermgmt.CodeUnauthenticated, first.Code)
		}
		require.Equal(t, first, answerOf(t, err))
	}
	_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
	require.Equal(t, first, answerOf(t, err), "locked: the right code answers as a wrong one")
	_, err = login(t, e, u.Email, goodPassword)
	require.Equal(t, usermgmt.CodeUnauthenticated, code(err), "one key for codes and passwords")

	e.clock.Advance(61 * time.Second)
	_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
	require.NoError(t, err)
}

// TestAStrandedReservationLapses: an attempt whose outcome is never
// recorded (here the store fails; a crash does the same) stays counted as
// a failure, and the lock it leads to lapses as any other.
func TestAStrandedReservationLapses(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	fs := &faultyStore{Store: e.store, failEvent: usermgmt.EventLoginFailed}
	m, err := usermgmt.New(fs, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	for range 5 {
		_, err := m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: "wrong password here"})
		require.Equal(t, usermgmt.CodeInternal, code(err), "the outcome could not be recorded")
	}
	_, err = login(t, e, u.Email, goodPassword)
	require.Equal(t, usermgmt.CodeUnauthenticated, code(err), "five reservations without an outcome lock the key")
	e.clock.Advance(61 * time.Second)
	signIn(t, e, u.Email, secret, false)
}

// storeWork records the transactions a Manager runs and the Tx methods
// called in each, by name.
type storeWork struct {
	usermgmt.Store
	mu  sync.Mutex
	txs [][]string
}

func (s *storeWork) RunInTx(ctx context.Context, o usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	s.mu.Lock()
	s.txs = append(s.txs, nil)
	i := len(s.txs) - 1
	s.mu.Unlock()
	return s.Store.RunInTx(ctx, o, func(ctx context.Context, tx usermgmt.Tx) error {
		return fn(ctx, &workTx{Tx: tx, log: func(name string) { s.mu.Lock(); s.txs[i] = append(s.txs[i], name); s.mu.Unlock() }})
	})
}

// take returns the work recorded since the last take.
func (s *storeWork) take() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.txs
	s.txs = nil
	return w
}

type workTx struct {
	usermgmt.Tx
	log func(string)
}

func (t *workTx) GetUserByEmail(ctx context.Context, tenantID, email string) (usermgmt.UserRecord, error) {
	t.log("GetUserByEmail")
	return t.Tx.GetUserByEmail(ctx, tenantID, email)
}

func (t *workTx) LockUser(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.UserRecord, error) {
	t.log("LockUser")
	return t.Tx.LockUser(ctx, tenantID, id)
}

func (t *workTx) UpdateUser(ctx context.Context, u *usermgmt.UserRecord) error {
	t.log("UpdateUser")
	return t.Tx.UpdateUser(ctx, u)
}

func (t *workTx) LockAttempts(ctx context.Context, tenantID, email string) (usermgmt.LoginAttempts, error) {
	t.log("LockAttempts")
	return t.Tx.LockAttempts(ctx, tenantID, email)
}

func (t *workTx) PutAttempts(ctx context.Context, a *usermgmt.LoginAttempts) error {
	t.log("PutAttempts")
	return t.Tx.PutAttempts(ctx, a)
}

func (t *workTx) DeleteMail(ctx context.Context, id uuid.UUID) error {
	t.log("DeleteMail")
	return t.Tx.DeleteMail(ctx, id)
}

func (t *workTx) EnqueueMail(ctx context.Context, r *usermgmt.MailRecord) error {
	t.log("EnqueueMail")
	return t.Tx.EnqueueMail(ctx, r)
}

func (t *workTx) AppendEvent(ctx context.Context, ev *usermgmt.Event) error {
	t.log("AppendEvent")
	return t.Tx.AppendEvent(ctx, ev)
}

// TestFailedLoginWorkIsTheSame: a wrong password for a user and any
// password for an address nobody has cost the same store work, locked or
// not, so no timing tells them apart: the same transactions, with the
// same calls but the user's events and pause mail.
func TestFailedLoginWorkIsTheSame(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	w := &storeWork{Store: e.store}
	m, err := usermgmt.New(w, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	try := func(email, pw string) [][]string {
		w.take()
		_, err := m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: pw})
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		require.NoError(t, m.Close())
		// The pause mail's delivery runs in the background, after the
		// answer: it is no part of the answer's work.
		return slices.DeleteFunc(w.take(), func(tx []string) bool { return slices.Equal(tx, []string{"DeleteMail"}) })
	}
	for i := range 7 { // the fifth locks both keys; the last two are refused unchecked
		known := try(u.Email, "wrong password here")
		unknown := try("nobody@acme.test", goodPassword)
		require.Len(t, unknown, len(known), "attempt %d: as many transactions: known %v, unknown %v", i+1, known, unknown)
		for j := range known {
			assert.Equal(t, unknown[j], withoutEvents(known[j]), "attempt %d, transaction %d: known %v, unknown %v", i+1, j, known, unknown)
		}
	}
}

// withoutEvents drops the calls only a user's key makes: its events, and
// the pause mail.
func withoutEvents(calls []string) []string {
	var out []string
	for _, c := range calls {
		if c != "AppendEvent" && c != "EnqueueMail" {
			out = append(out, c)
		}
	}
	return out
}

// TestRehashDoesNotUndoAReset: a login with the old password that must
// re-hash it (the cost was raised) while a password reset commits between
// its check and its write neither writes the old password back nor signs
// in: the password it checked is no longer the password.
func TestRehashDoesNotUndoAReset(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	s := &inbetween.Store{Store: e.store}
	stronger, err := usermgmt.New(s, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Argon2: usermgmt.Argon2Params{MemoryKiB: 19456, Time: 3, Threads: 1}})
	require.NoError(t, err)
	const newPassword = "a brand new passphrase"
	e.clock.Advance(time.Minute) // past the invitation's mail interval
	s.Hook = func() {
		require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
		require.NoError(t, e.m.ResetPassword(context.Background(), e.lastToken(t, u.Email), newPassword))
	}
	_, err = stronger.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: goodPassword})
	require.False(t, s.Pending(), "the reset ran between the check and the write")
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "no session from a password replaced meanwhile")

	_, err = login(t, e, u.Email, goodPassword)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "the old password stays replaced")
	_, err = login(t, e, u.Email, newPassword)
	assert.NoError(t, err, "the new password works")
}
