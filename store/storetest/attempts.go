package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// newAttempts returns a record of a sign-in key with every field set.
func newAttempts(tenantID, email string, expires time.Time) *usermgmt.LoginAttempts {
	return &usermgmt.LoginAttempts{TenantID: tenantID, Email: email, Failures: 3,
		LockedUntil: expires.Add(-30 * time.Minute), Notified: false, ExpiresAt: expires}
}

func normAttempts(a usermgmt.LoginAttempts) usermgmt.LoginAttempts {
	a.LockedUntil, a.ExpiresAt = utc(a.LockedUntil), utc(a.ExpiresAt)
	return a
}

func (f *fixture) lockAttempts(tenantID, email string) usermgmt.LoginAttempts {
	f.t.Helper()
	a, err := probe(f, func(tx usermgmt.Tx) (usermgmt.LoginAttempts, error) { return tx.LockAttempts(f.ctx, tenantID, email) })
	require.NoError(f.t, err)
	return normAttempts(a)
}

func (f *fixture) putAttempts(a *usermgmt.LoginAttempts) {
	f.t.Helper()
	f.mustDo(func(tx usermgmt.Tx) error { return tx.PutAttempts(f.ctx, a) })
}

func testAttemptsOfANewKeyAreNone(t *testing.T, f *fixture) {
	require.Equal(t, usermgmt.LoginAttempts{TenantID: acme, Email: "nobody@example.com"}, f.lockAttempts(acme, "nobody@example.com"),
		"a key never seen, of nobody")
	f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	require.Equal(t, usermgmt.LoginAttempts{TenantID: acme, Email: "ada@example.com"}, f.lockAttempts(acme, "ada@example.com"),
		"a user's key never counted on")
	f.mustDo(func(tx usermgmt.Tx) error { return tx.ClearAttempts(f.ctx, acme, "nobody@example.com") })
}

func testPutAttemptsThenLockReturnsEveryField(t *testing.T, f *fixture) {
	a := newAttempts(acme, "ada@example.com", base.Add(24*time.Hour))
	a.Notified = true
	f.putAttempts(a)
	require.Equal(t, normAttempts(*a), f.lockAttempts(acme, "ada@example.com"))

	// The key is the tenant and the email, both compared exactly.
	require.Zero(t, f.lockAttempts(globex, "ada@example.com").Failures, "other tenant")
	require.Zero(t, f.lockAttempts(acme, "Ada@example.com").Failures, "other email")
	other := newAttempts(globex, "ada@example.com", base.Add(time.Hour))
	other.Failures = 7
	f.putAttempts(other)
	require.Equal(t, normAttempts(*a), f.lockAttempts(acme, "ada@example.com"), "a key of another tenant is another key")

	// Put replaces, clearing what is zero.
	next := usermgmt.LoginAttempts{TenantID: acme, Email: "ada@example.com", Failures: 1, ExpiresAt: base.Add(48 * time.Hour)}
	f.putAttempts(&next)
	require.Equal(t, next, f.lockAttempts(acme, "ada@example.com"))

	f.mustDo(func(tx usermgmt.Tx) error { return tx.ClearAttempts(f.ctx, acme, "ada@example.com") })
	require.Equal(t, usermgmt.LoginAttempts{TenantID: acme, Email: "ada@example.com"}, f.lockAttempts(acme, "ada@example.com"))
	require.Equal(t, normAttempts(*other), f.lockAttempts(globex, "ada@example.com"), "clearing one key leaves the others")
}

var errRefused = errors.New("storetest: key locked")

// testLockAttemptsSerializesReservations runs many reservations on one
// key at once, the key having no record at first: each locks the key,
// refuses when it already has limit failures, else adds one. Exactly
// limit of them succeed, however they interleave.
func testLockAttemptsSerializesReservations(t *testing.T, f *fixture) {
	const n, limit = 24, 5
	errs := race(n, func(int) error {
		return f.do(func(tx usermgmt.Tx) error {
			a, err := tx.LockAttempts(f.ctx, acme, "target@example.com")
			if err != nil {
				return err
			}
			if a.Failures >= limit {
				return errRefused
			}
			a.Failures++
			a.ExpiresAt = base.Add(time.Hour)
			return tx.PutAttempts(f.ctx, &a)
		})
	})
	ok, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, errRefused):
			refused++
		default:
			t.Fatalf("reservation failed: %v", err)
		}
	}
	require.Equal(t, limit, ok, "reservations that got through")
	require.Equal(t, n-limit, refused)
	require.Equal(t, limit, f.lockAttempts(acme, "target@example.com").Failures, "no reservation lost")
}

func testDeleteExpiredForgetsExpiredAttempts(t *testing.T, f *fixture) {
	now := base.Add(24 * time.Hour)
	before := newAttempts(acme, "before@example.com", now.Add(-time.Hour))
	at := newAttempts(globex, "at@example.com", now)
	live := newAttempts(acme, "live@example.com", now.Add(time.Microsecond))
	for _, a := range []*usermgmt.LoginAttempts{before, at, live} {
		f.putAttempts(a)
	}
	require.Equal(t, usermgmt.Pruned{Attempts: 1}, f.deleteExpired(now.Add(-time.Nanosecond)))
	require.Zero(t, f.lockAttempts(acme, "before@example.com").Failures)
	require.Equal(t, normAttempts(*at), f.lockAttempts(globex, "at@example.com"), "expiring at now kept at now-1ns")
	require.Equal(t, usermgmt.Pruned{Attempts: 1}, f.deleteExpired(now))
	require.Zero(t, f.lockAttempts(globex, "at@example.com").Failures)
	require.Equal(t, normAttempts(*live), f.lockAttempts(acme, "live@example.com"), "live kept")
	require.Equal(t, usermgmt.Pruned{}, f.deleteExpired(now))
}
