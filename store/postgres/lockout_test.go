package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/inbetween"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
)

// TestFailedLoginTimingOnPostgres measures what an attacker measures: a
// wrong password for a user and a password for an address nobody has,
// one after the other (in turns, which first), many times. The password
// hash costs the same on both by construction; what could differ is the
// store's work (a write, a commit and its WAL flush, a round trip), so the
// time spent in the store is measured apart, and the median of the
// pairs' differences must be within noise. The whole answers are held to
// the same bound when the machine is quiet enough for a millisecond to
// mean something. The lock is set out of reach so that every sample is a
// checked password.
func TestFailedLoginTimingOnPostgres(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's overhead drowns a millisecond")
	}
	store := &timedStore{Store: newStore(t)}
	mail := mailertest.New()
	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	m, err := usermgmt.New(store, usermgmt.Options{Mailer: mail, Clock: clock.Now, SecretKey: bytes.Repeat([]byte{9}, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.DiscardHandler),
		MaxFailedAttempts: 1 << 20})
	require.NoError(t, err)
	ctx := context.Background()
	u, err := m.InviteUser(usermgmt.AsSystem(ctx), "acme", usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err)
	_, err = m.AcceptInvite(ctx, mail.Token(u.Email), pw)
	require.NoError(t, err)

	type sample struct{ whole, store time.Duration }
	try := func(email, password string) sample {
		store.spent = 0
		start := time.Now()
		_, err := m.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: email, Password: password})
		took := time.Since(start)
		require.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
		return sample{took, store.spent}
	}
	known := func() sample { return try(u.Email, "wrong password here") }
	unknown := func() sample { return try("nobody@acme.test", pw) }
	for range 3 { // warm the pool's connections and prepared statements
		known()
		unknown()
	}
	const pairs = 60
	var inStore, whole []time.Duration // known minus unknown, per pair
	for i := range pairs {
		var k, u sample
		if i%2 == 0 {
			k, u = known(), unknown()
		} else {
			u, k = unknown(), known()
		}
		inStore = append(inStore, k.store-u.store)
		whole = append(whole, k.whole-u.whole)
	}
	slices.Sort(inStore)
	slices.Sort(whole)
	const bound = 1500 * time.Microsecond
	noise := whole[pairs*3/4] - whole[pairs/4]
	t.Logf("median difference, known minus unknown: %v in the store, %v in the whole answer "+
		"(the whole answer's differences spread %v between quartiles)", median(inStore), median(whole), noise)
	assert.Less(t, median(inStore).Abs(), bound, "the store works %v longer for a known address", median(inStore))
	// The whole answer carries the hash's jitter (a ~25 ms argon2id on a
	// shared core) on top: it is held to twice the bound, and only when the
	// machine is quiet. The store's share above is what a regression moves
	// (4.5–7.7 ms before the fix).
	if noise > 4*bound {
		t.Logf("the machine is too busy to judge the whole answer to %v", 2*bound)
		return
	}
	assert.Less(t, median(whole).Abs(), 2*bound, "a known address answers %v later", median(whole))
}

// timedStore adds up the time its transactions take, waits included.
// One Login at a time uses it.
type timedStore struct {
	usermgmt.Store
	spent time.Duration
}

func (s *timedStore) RunInTx(ctx context.Context, o usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	start := time.Now()
	err := s.Store.RunInTx(ctx, o, fn)
	s.spent += time.Since(start)
	return err
}

func median(ds []time.Duration) time.Duration { return ds[len(ds)/2] }

// TestParallelGuessesAcrossInstances: 40 wrong passwords for one account,
// at once, through two app instances: the count lives in the store, so
// at most MaxFailedAttempts of them are checked in all.
func TestParallelGuessesAcrossInstances(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	u, _, _ := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 40)
	for i := range errs {
		m := []*usermgmt.Manager{in.one, in.two}[i%2]
		wg.Go(func() {
			<-start
			_, errs[i] = m.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: "wrong password here"})
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		require.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
	}
	page, err := in.one.ListActivity(usermgmt.AsSystem(ctx), "acme", u.ID, usermgmt.ActivityQuery{Limit: 100})
	require.NoError(t, err)
	checked, refused := 0, 0
	for _, ev := range page.Events {
		switch {
		case ev.Type != usermgmt.EventLoginFailed:
		case ev.Detail == "sign-in paused":
			refused++
		default:
			checked++
		}
	}
	assert.Equal(t, 40, checked+refused, "every attempt logged")
	assert.LessOrEqual(t, checked, 5, "at most MaxFailedAttempts guesses checked")
	_, err = in.two.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "and the key is locked on every instance")
}

// TestRehashDoesNotUndoAResetOnPostgres: a login that must re-hash the
// old password, racing a reset that commits between its check and its
// write (put there by the store wrapper), writes nothing back and signs
// nobody in; the new password stays.
func TestRehashDoesNotUndoAResetOnPostgres(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	u, _, _ := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	s := &inbetween.Store{Store: in.store}
	stronger, err := usermgmt.New(s, usermgmt.Options{Mailer: in.mail, Clock: in.clock.Now, SecretKey: bytes.Repeat([]byte{9}, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.DiscardHandler),
		Argon2: usermgmt.Argon2Params{MemoryKiB: 19456, Time: 3, Threads: 1}})
	require.NoError(t, err)
	const newPassword = "a brand new passphrase"
	in.clock.Advance(time.Minute) // past the invitation's mail interval
	s.Hook = func() {
		require.NoError(t, in.two.SendPasswordReset(usermgmt.AsSystem(ctx), "acme", u.ID))
		require.NoError(t, in.two.ResetPassword(ctx, in.mail.Token(u.Email), newPassword))
	}
	_, err = stronger.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
	require.False(t, s.Pending(), "the reset ran between the check and the write")
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
	_, err = in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: pw})
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "the old password stays replaced")
	_, err = in.one.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: u.Email, Password: newPassword})
	assert.NoError(t, err)
}
