package usermgmt_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// hashGate watches every argon2id hash a Manager starts: it reports each
// start on started, counts how many run at once, and holds each one until
// release is closed.
type hashGate struct {
	started chan usermgmt.Argon2Params
	release chan struct{}

	mu             sync.Mutex
	running, most  int
	params         []usermgmt.Argon2Params
	refuseAboveMax func(usermgmt.Argon2Params) // set: called instead of running a hash over the limits
}

func watchHashes(m *usermgmt.Manager) *hashGate {
	g := &hashGate{started: make(chan usermgmt.Argon2Params, 100), release: make(chan struct{})}
	usermgmt.OnHashForTest(m, g.hook)
	return g
}

func (g *hashGate) hook(p usermgmt.Argon2Params) {
	g.mu.Lock()
	g.params = append(g.params, p)
	g.running++
	g.most = max(g.most, g.running)
	g.mu.Unlock()
	g.started <- p
	<-g.release
	g.mu.Lock()
	g.running--
	g.mu.Unlock()
}

// mostAtOnce is the largest number of hashes that ran at the same time.
func (g *hashGate) mostAtOnce() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most
}

// noMoreStarts fails the test if a hash starts before done answers, and
// returns done's answer. The caller knows done can only answer by waiting
// out its queue timeout or its context, so no clock is read here.
func (g *hashGate) noMoreStarts(t *testing.T, done <-chan error, why string) error {
	t.Helper()
	select {
	case <-g.started:
		t.Fatalf("a hash started: %s", why)
		return nil
	case err := <-done:
		return err
	}
}

// loginAsync starts a login and returns where its error arrives.
func loginAsync(ctx context.Context, e *env, email, password string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := e.m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: password})
		done <- err
	}()
	return done
}

func TestHashingIsBounded(t *testing.T) {
	t.Run("AHashBeyondTheBoundWaitsAndTimesOutRateLimited", func(t *testing.T) {
		e := mustManager(t, func(o *usermgmt.Options) {
			o.MaxConcurrentHashes, o.HashQueueTimeout = 2, 20*time.Millisecond
		})
		g := watchHashes(e.m)
		first := loginAsync(context.Background(), e, "nobody1@acme.test", "some password here")
		second := loginAsync(context.Background(), e, "nobody2@acme.test", "some password here")
		<-g.started
		<-g.started
		third := loginAsync(context.Background(), e, "nobody3@acme.test", "some password here")
		err := g.noMoreStarts(t, third, "a third hash ran while two were running")
		require.Equal(t, usermgmt.CodeRateLimited, code(err), "%v", err)
		var ue *usermgmt.Error
		require.True(t, errors.As(err, &ue))
		assert.GreaterOrEqual(t, ue.RetryAfter, int64(1), "rate_limited tells when to retry")
		close(g.release)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(<-first))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(<-second))
		assert.Equal(t, 2, g.mostAtOnce())
	})

	t.Run("AWaitingCallerGetsTheNextSlot", func(t *testing.T) {
		e := mustManager(t, func(o *usermgmt.Options) {
			o.MaxConcurrentHashes, o.HashQueueTimeout = 1, time.Hour
		})
		g := watchHashes(e.m)
		first := loginAsync(context.Background(), e, "nobody1@acme.test", "some password here")
		<-g.started
		second := loginAsync(context.Background(), e, "nobody2@acme.test", "some password here")
		close(g.release)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(<-first))
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(<-second), "the waiting login is answered, not refused")
		assert.Equal(t, 1, g.mostAtOnce())
	})

	t.Run("AWaitEndsWithItsContext", func(t *testing.T) {
		e := mustManager(t, func(o *usermgmt.Options) {
			o.MaxConcurrentHashes, o.HashQueueTimeout = 1, time.Hour
		})
		g := watchHashes(e.m)
		first := loginAsync(context.Background(), e, "nobody1@acme.test", "some password here")
		<-g.started
		ctx, cancel := context.WithCancel(context.Background())
		second := loginAsync(ctx, e, "nobody2@acme.test", "some password here")
		cancel()
		err := g.noMoreStarts(t, second, "a second hash ran beside the first")
		assert.ErrorIs(t, err, context.Canceled)
		close(g.release)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(<-first))
	})

	t.Run("EveryLoginPathAndEveryPasswordSetterWaitsInTheSameQueue", func(t *testing.T) {
		e := mustManager(t, func(o *usermgmt.Options) {
			o.MaxConcurrentHashes, o.HashQueueTimeout = 1, 20*time.Millisecond
		})
		ana, _, anaSession, _ := e.onboard(t, "ana@acme.test")
		_, invite := e.invite(t, "bo@acme.test")
		e.clock.Advance(time.Minute) // past ana's invitation's mail interval
		require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, ana.ID))
		reset := e.lastToken(t, ana.Email)
		g := watchHashes(e.m)
		holder := loginAsync(context.Background(), e, "nobody@acme.test", "some password here")
		<-g.started

		calls := map[string]func() error{
			"login, known user":     func() error { _, err := login(t, e, ana.Email, "wrong password here"); return err },
			"login, right password": func() error { _, err := login(t, e, ana.Email, goodPassword); return err },
			"login, unknown email":  func() error { _, err := login(t, e, "nobody2@acme.test", "some password here"); return err },
			"login, malformed email": func() error {
				_, err := login(t, e, "not an email", "some password here")
				return err
			},
			"accept invite":  func() error { _, err := e.m.AcceptInvite(context.Background(), invite, goodPassword); return err },
			"reset password": func() error { return e.m.ResetPassword(context.Background(), reset, "a brand new passphrase") },
			"change password": func() error {
				return e.m.ChangePassword(context.Background(), anaSession.Token, goodPassword, "another new passphrase")
			},
		}
		for name, call := range calls {
			done := make(chan error, 1)
			go func() { done <- call() }()
			err := g.noMoreStarts(t, done, name+" hashed beside the running hash")
			assert.Equal(t, usermgmt.CodeRateLimited, code(err), "%s: %v", name, err)
		}
		close(g.release)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(<-holder))

		_, err := e.m.AcceptInvite(context.Background(), invite, goodPassword)
		assert.NoError(t, err, "a refused accept did not spend the invitation")
		assert.NoError(t, e.m.ResetPassword(context.Background(), reset, "a brand new passphrase"),
			"a refused reset did not spend the link")
		page, err := e.m.ListActivity(e.ctx, tenant, ana.ID, usermgmt.ActivityQuery{Limit: 50})
		require.NoError(t, err)
		for _, ev := range page.Events {
			assert.NotEqual(t, usermgmt.EventLoginFailed, ev.Type, "a login refused for load is not a failed attempt")
		}
	})

	t.Run("AuthenticateNeverWaitsBehindHashing", func(t *testing.T) {
		e := mustManager(t, func(o *usermgmt.Options) {
			o.MaxConcurrentHashes, o.HashQueueTimeout = 1, time.Hour
		})
		_, _, s, _ := e.onboard(t, "ana@acme.test")
		g := watchHashes(e.m)
		holder := loginAsync(context.Background(), e, "nobody@acme.test", "some password here")
		<-g.started
		_, err := e.m.Authenticate(context.Background(), s.Token) // would wait an hour behind the held slot
		assert.NoError(t, err)
		close(g.release)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(<-holder))
	})

	t.Run("NewRefusesBadBounds", func(t *testing.T) {
		for name, edit := range map[string]func(*usermgmt.Options){
			"negative MaxConcurrentHashes": func(o *usermgmt.Options) { o.MaxConcurrentHashes = -1 },
			"negative HashQueueTimeout":    func(o *usermgmt.Options) { o.HashQueueTimeout = -time.Second },
		} {
			opts := usermgmt.Options{Mailer: mailertest.New(), SecretKey: testKey, Links: usermgmt.Links{BaseURL: "https://app.example.com"}}
			edit(&opts)
			_, err := usermgmt.New(memory.New(), opts)
			assert.Equal(t, usermgmt.CodeInvalid, code(err), name)
		}
	})
}

// TestStoredHashOverTheLimitsIsAWrongPassword: a stored hash whose costs
// would take seconds or gigabytes (or panic argon2) is never computed; the
// login answers as a wrong password after the usual hash work, and an
// operator reads why in the log.
func TestStoredHashOverTheLimitsIsAWrongPassword(t *testing.T) {
	for name, rewrite := range map[string]func(phc string) string{
		"t=150":     func(phc string) string { return strings.Replace(phc, ",t=2,", ",t=150,", 1) },
		"m=4194304": func(phc string) string { return strings.Replace(phc, "m=19456,", "m=4194304,", 1) },
		"p=64":      func(phc string) string { return strings.Replace(phc, ",p=1$", ",p=64$", 1) },
		"t=0":       func(phc string) string { return strings.Replace(phc, ",t=2,", ",t=0,", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			e := mustManager(t)
			u, _, _, _ := e.onboard(t, "ana@acme.test")
			_, wrong := login(t, e, u.Email, "wrong password here")
			require.Equal(t, usermgmt.CodeUnauthenticated, code(wrong))
			var stored string
			require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
				r, err := tx.GetUser(ctx, tenant, u.ID)
				if err != nil {
					return err
				}
				r.PasswordHash = rewrite(r.PasswordHash)
				stored = r.PasswordHash
				return tx.UpdateUser(ctx, &r)
			}))
			require.Contains(t, stored, name)
			var ran []usermgmt.Argon2Params
			usermgmt.OnHashForTest(e.m, func(p usermgmt.Argon2Params) {
				if p != usermgmt.DefaultArgon2 {
					t.Fatalf("computed a hash with %+v", p) // before argon2 allocates its memory
				}
				ran = append(ran, p)
			})

			_, err := login(t, e, u.Email, goodPassword)
			assert.Equal(t, wrong, err, "answered exactly as a wrong password")
			assert.Equal(t, []usermgmt.Argon2Params{usermgmt.DefaultArgon2}, ran, "one hash of the usual cost ran, so the timing is a wrong password's")
			logged := e.log.String()
			assert.Contains(t, logged, "level=ERROR")
			assert.Contains(t, logged, u.ID.String(), "the log names the user to fix")
			assert.NotContains(t, logged, stored[strings.LastIndex(stored, "$"):], "the hash itself is not logged")
		})
	}
}

func TestNewRefusesArgon2AboveTheLimits(t *testing.T) {
	for name, p := range map[string]usermgmt.Argon2Params{
		"memory":  {MemoryKiB: usermgmt.MaxArgon2MemoryKiB + 1, Time: 2, Threads: 1},
		"time":    {MemoryKiB: 19456, Time: usermgmt.MaxArgon2Time + 1, Threads: 1},
		"threads": {MemoryKiB: 19456, Time: 2, Threads: usermgmt.MaxArgon2Threads + 1},
	} {
		_, err := usermgmt.New(memory.New(), usermgmt.Options{Mailer: mailertest.New(), SecretKey: testKey,
			Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Argon2: p})
		assert.Equal(t, usermgmt.CodeInvalid, code(err), name)
	}
}

func TestCheckPasswordHash(t *testing.T) {
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" // 16 and 32 bytes
	phc := func(params, salt, key string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	assert.NoError(t, usermgmt.CheckPasswordHash(phc("m=19456,t=2,p=1", salt, key)))
	assert.NoError(t, usermgmt.CheckPasswordHash(phc("m=262144,t=16,p=16", salt, key)), "at the limits")
	assert.NoError(t, usermgmt.CheckPasswordHash("$argon2i$v=19$m=19456,t=2,p=1$"+salt+"$"+key), "argon2i")
	for name, h := range map[string]string{
		"memory over the limit":   phc("m=262145,t=2,p=1", salt, key),
		"time over the limit":     phc("m=19456,t=17,p=1", salt, key),
		"threads over the limit":  phc("m=19456,t=2,p=17", salt, key),
		"threads overflow":        phc("m=19456,t=2,p=257", salt, key),
		"no passes":               phc("m=19456,t=0,p=1", salt, key),
		"no threads":              phc("m=19456,t=2,p=0", salt, key),
		"memory under 8 per lane": phc("m=8,t=2,p=2", salt, key),
		"salt too short":          phc("m=19456,t=2,p=1", "c2FsdA", key),
		"key too short":           phc("m=19456,t=2,p=1", salt, "aGFzaA"),
		"key too long":            phc("m=19456,t=2,p=1", salt, strings.Repeat("aGFzaGhhc2g", 9)),
		"argon2d":                 "$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"argon2i over the limit":  "$argon2i$v=19$m=262145,t=2,p=1$" + salt + "$" + key,
		"old version":             "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"sign":                    phc("m=+19456,t=2,p=1", salt, key),
		"extra parameter":         phc("m=19456,t=2,p=1,keyid=x", salt, key),
		"padded base64":           phc("m=19456,t=2,p=1", salt+"==", key),
		"empty":                   "",
	} {
		assert.Equal(t, usermgmt.CodeInvalid, code(usermgmt.CheckPasswordHash(h)), name)
	}
}
