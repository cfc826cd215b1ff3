package usermgmt_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The refresh reuse window (Options.RefreshReuseWindow, 10 s by default):
// a refresh token just replaced answers again with the same successor, so
// that concurrent refreshes and retries do not log the person out; any
// other reuse is theft and ends the session.
func TestRefreshReuseWindow(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	bg := context.Background()
	alive := func(t *testing.T, s usermgmt.Session) error {
		t.Helper()
		_, err := e.m.Authenticate(bg, s.Token)
		return err
	}

	t.Run("ConcurrentRefreshesShareOneSuccessor", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		const n = 8
		got := make([]usermgmt.Session, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = e.m.Refresh(bg, s.RefreshToken)
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i], "refresh %d", i)
			assert.Equal(t, got[0], got[i], "every caller gets the same tokens: one rotation")
		}
		require.NoError(t, alive(t, got[0]))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(alive(t, s)), "the old session token is gone")
		next, err := e.m.Refresh(bg, got[0].RefreshToken)
		require.NoError(t, err, "the shared successor refreshes on")
		require.NoError(t, alive(t, next))
	})

	t.Run("RetryAfterLostAnswerWithinWindow", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		first, err := e.m.Refresh(bg, s.RefreshToken) // the answer is lost
		require.NoError(t, err)
		e.clock.Advance(9 * time.Second)
		again, err := e.m.Refresh(bg, s.RefreshToken)
		require.NoError(t, err)
		assert.Equal(t, first, again, "the same successor, not a new one")
		require.NoError(t, alive(t, again))
	})

	t.Run("ReuseAfterWindowRevokes", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		s1, err := e.m.Refresh(bg, s.RefreshToken)
		require.NoError(t, err)
		e.clock.Advance(10 * time.Second)
		_, err = e.m.Refresh(bg, s.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(alive(t, s1)), "the whole session is gone")
		_, err = e.m.Refresh(bg, s1.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		assert.Equal(t, usermgmt.EventRefreshTokenReused, lastEvent(t, e, u).Type)
	})

	t.Run("ReuseOfOlderThanPreviousRevokes", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		s1, err := e.m.Refresh(bg, s.RefreshToken)
		require.NoError(t, err)
		s2, err := e.m.Refresh(bg, s1.RefreshToken)
		require.NoError(t, err)
		_, err = e.m.Refresh(bg, s.RefreshToken) // within the window, but its successor was refreshed
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(alive(t, s2)), "the whole session is gone")
		assert.Equal(t, usermgmt.EventRefreshTokenReused, lastEvent(t, e, u).Type)
	})

	t.Run("DeactivatedUserStaysOut", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		s1, err := e.m.Refresh(bg, s.RefreshToken)
		require.NoError(t, err)
		e.clock.Advance(5 * time.Second)
		_, err = e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = e.m.Refresh(bg, s.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "a deactivated user's session is gone, window or not")
		_, err = e.m.Activate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(alive(t, s1)))
	})
}

// A successor is sealed under a key derived from SecretKey: a Manager with
// another key cannot read it and treats the reuse as theft.
func TestRefreshReuseNeedsTheSecretKey(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	other, err := usermgmt.New(e.store, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now,
		SecretKey: bytes.Repeat([]byte{8}, 32), Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	s := signIn(t, e, u.Email, secret, false)
	s1, err := e.m.Refresh(context.Background(), s.RefreshToken)
	require.NoError(t, err)
	_, err = other.Refresh(context.Background(), s.RefreshToken)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	_, err = e.m.Authenticate(context.Background(), s1.Token)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "revoked")
}

func TestRefreshReuseWindowOption(t *testing.T) {
	e0 := mustManager(t)
	for _, d := range []time.Duration{-time.Second, time.Minute + time.Nanosecond} {
		_, err := usermgmt.New(e0.store, usermgmt.Options{Mailer: e0.mail, SecretKey: testKey,
			Links: usermgmt.Links{BaseURL: "https://app.example.com"}, RefreshReuseWindow: d})
		assert.Equal(t, usermgmt.CodeInvalid, code(err), "%v", d)
	}

	e := mustManager(t, func(o *usermgmt.Options) { o.RefreshReuseWindow = time.Second })
	u, secret, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	s := signIn(t, e, u.Email, secret, false)
	_, err := e.m.Refresh(context.Background(), s.RefreshToken)
	require.NoError(t, err)
	e.clock.Advance(time.Second)
	_, err = e.m.Refresh(context.Background(), s.RefreshToken)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "the window is the option's")
}

// lastEvent returns the newest event of u's activity.
func lastEvent(t *testing.T, e *env, u usermgmt.User) usermgmt.Event {
	t.Helper()
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, page.Events)
	return page.Events[0]
}
