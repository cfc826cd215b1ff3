package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// RunRateLimiter runs the cases of a store that is also a
// usermgmt.RateLimiter (the buckets every app instance shares) against a
// fresh store from newStore: the token-bucket maths of internal/ratelimit
// at the time the caller gives, and the pruning of full buckets. A store
// that is not a RateLimiter fails.
func RunRateLimiter(t *testing.T, newStore func(t *testing.T) usermgmt.Store) {
	for _, c := range []testCase{
		{"BurstThenRefusedWithTheWait", testLimitBurstThenRefused},
		{"RefillsContinuouslyUpToTheBurst", testLimitRefills},
		{"RetryAfterCountsDown", testLimitRetryAfterCountsDown},
		{"KeysAreIndependent", testLimitKeysAreIndependent},
		{"NegativeBurstAllowsEverythingZeroIsInvalid", testLimitNegativeBurst},
		{"ClockBehindRefillsNothing", testLimitClockBehind},
		{"ConcurrentAttemptsNeverPassTheBurst", testLimitConcurrent},
		{"DeleteExpiredPrunesOnlyFullBuckets", testLimitPruned},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.test(t, &fixture{t: t, s: newStore(t), ctx: t.Context()})
		})
	}
}

// allow takes a token at now and fails the test on an error.
func (f *fixture) allow(key string, burst int, per time.Duration, now time.Time) (bool, time.Duration) {
	f.t.Helper()
	rl, ok := f.s.(usermgmt.RateLimiter)
	require.True(f.t, ok, "the store is not a usermgmt.RateLimiter")
	took, wait, err := rl.Allow(f.ctx, key, burst, per, now)
	require.NoError(f.t, err)
	return took, wait
}

// allowed counts the tokens n attempts at now take.
func (f *fixture) allowed(n int, key string, burst int, per time.Duration, now time.Time) int {
	f.t.Helper()
	got := 0
	for range n {
		if ok, _ := f.allow(key, burst, per, now); ok {
			got++
		}
	}
	return got
}

func testLimitBurstThenRefused(t *testing.T, f *fixture) {
	assert.Equal(t, 3, f.allowed(3, "k", 3, 3*time.Second, base), "a new bucket is full")
	ok, wait := f.allow("k", 3, 3*time.Second, base)
	assert.False(t, ok, "past the burst")
	assert.Equal(t, time.Second, wait, "one token is back after per/burst")
}

func testLimitRefills(t *testing.T, f *fixture) {
	const burst, per = 4, 4 * time.Minute
	assert.Equal(t, burst, f.allowed(burst+2, "k", burst, per, base))
	at := base.Add(90 * time.Second) // one and a half tokens back
	assert.Equal(t, 1, f.allowed(3, "k", burst, per, at))
	ok, wait := f.allow("k", burst, per, at)
	assert.False(t, ok)
	assert.Equal(t, 30*time.Second, wait, "the half token left needs half an interval")
	at = at.Add(time.Hour) // far past full: the bucket holds the burst, no more
	assert.Equal(t, burst, f.allowed(burst+3, "k", burst, per, at))
}

func testLimitRetryAfterCountsDown(t *testing.T, f *fixture) {
	const per = 10 * time.Second
	_, _ = f.allow("k", 1, per, base)
	for _, step := range []struct {
		after time.Duration
		wait  time.Duration
	}{{0, 10 * time.Second}, {4 * time.Second, 6 * time.Second}, {per - time.Microsecond, time.Microsecond}} {
		ok, wait := f.allow("k", 1, per, base.Add(step.after))
		assert.False(t, ok, "at +%v", step.after)
		assert.Equal(t, step.wait, wait, "at +%v", step.after)
	}
	ok, _ := f.allow("k", 1, per, base.Add(per))
	assert.True(t, ok, "allowed once the wait it named has passed")
}

func testLimitKeysAreIndependent(t *testing.T, f *fixture) {
	assert.Equal(t, 2, f.allowed(3, "login|ip|192.0.2.1", 2, time.Minute, base))
	assert.Equal(t, 2, f.allowed(3, "login|ip|192.0.2.2", 2, time.Minute, base))
	assert.Equal(t, 2, f.allowed(3, "mfa|ip|192.0.2.1", 2, time.Minute, base))
}

func testLimitNegativeBurst(t *testing.T, f *fixture) {
	assert.Equal(t, 50, f.allowed(50, "k", -1, time.Minute, base))
	rl := f.s.(usermgmt.RateLimiter)
	for _, c := range []struct {
		burst int
		per   time.Duration
	}{{0, time.Minute}, {5, 0}, {5, -time.Second}} {
		_, _, err := rl.Allow(f.ctx, "k", c.burst, c.per, base)
		assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(err), "burst %d per %v", c.burst, c.per)
	}
}

// Instances whose clocks differ share a bucket: one behind the bucket's
// last attempt gets no tokens back for the time it has not seen yet.
func testLimitClockBehind(t *testing.T, f *fixture) {
	assert.Equal(t, 2, f.allowed(2, "k", 2, 2*time.Second, base))
	ok, wait := f.allow("k", 2, 2*time.Second, base.Add(-500*time.Millisecond))
	assert.False(t, ok)
	assert.Equal(t, 1500*time.Millisecond, wait)
}

func testLimitConcurrent(t *testing.T, f *fixture) {
	const burst, workers, each = 10, 16, 4
	var took atomic.Int32
	var wg sync.WaitGroup
	rl := f.s.(usermgmt.RateLimiter)
	for range workers {
		wg.Go(func() {
			for range each {
				ok, _, err := rl.Allow(f.ctx, "k", burst, time.Hour, base)
				assert.NoError(t, err)
				if ok {
					took.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(burst), took.Load(), "%d attempts at once on a bucket of %d", workers*each, burst)
}

func testLimitPruned(t *testing.T, f *fixture) {
	_, _ = f.allow("one", 2, time.Minute, base)   // full again at +30s
	_, _ = f.allow("spent", 2, time.Minute, base) // full again at +1m
	_, _ = f.allow("spent", 2, time.Minute, base)
	assert.Equal(t, 0, f.deleteExpired(base.Add(30*time.Second-time.Microsecond)).RateBuckets)
	assert.Equal(t, 1, f.deleteExpired(base.Add(30*time.Second)).RateBuckets, "a full bucket goes")
	ok, _ := f.allow("spent", 2, time.Minute, base.Add(30*time.Second))
	assert.True(t, ok, "a bucket not yet full keeps its tokens taken")
	ok, _ = f.allow("spent", 2, time.Minute, base.Add(30*time.Second))
	assert.False(t, ok, "a bucket not yet full keeps its tokens taken")
	assert.Equal(t, 1, f.deleteExpired(base.Add(2*time.Minute)).RateBuckets)
	assert.Equal(t, 0, f.deleteExpired(base.Add(time.Hour)).RateBuckets)
	assert.Equal(t, 2, f.allowed(3, "spent", 2, time.Minute, base.Add(time.Hour)), "a pruned bucket is a new one")
}
