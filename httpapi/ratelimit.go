package httpapi

import (
	"math"
	"sync"
	"time"
)

// Limit allows Burst requests at once and Burst more every Per: a token
// bucket that refills continuously. A zero Limit takes the default of the
// field it is in; a negative Burst turns the limit off.
type Limit struct {
	Burst int
	Per   time.Duration
}

// RateLimits are the limits on the person routes that take a secret:
// login, MFA codes (challenge and enrolment), forgot-password and
// invitation accept. Each route group has its own buckets, one per client
// IP and one per account (tenant and email for login and forgot-password,
// the token for MFA and invitation accept). They come on top of the
// Manager's own lockout of an account after failed attempts.
type RateLimits struct {
	PerIP      Limit // default 30 per minute
	PerAccount Limit // default 10 per 5 minutes
}

func (l Limit) orDefault(def Limit) Limit {
	if l.Burst == 0 {
		return def
	}
	if l.Per <= 0 {
		l.Per = def.Per
	}
	return l
}

// limiter is an in-memory set of token buckets. It starts no goroutine:
// stale buckets are swept during Allow, at most once per sweepEvery.
type limiter struct {
	mu        sync.Mutex
	now       func() time.Time
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
	full   time.Time // when the bucket will be full again: then it can go
}

const sweepEvery = time.Minute

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, buckets: make(map[string]*bucket)}
}

// allow takes one token from key's bucket. When the bucket is empty it
// returns false and how long until a token is back.
func (l *limiter) allow(key string, lim Limit) (bool, time.Duration) {
	if lim.Burst < 0 {
		return true, 0
	}
	now := l.now()
	rate := float64(lim.Burst) / lim.Per.Seconds() // tokens per second
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(lim.Burst), at: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(float64(lim.Burst), b.tokens+el*rate)
		b.at = now
	}
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
		return false, wait
	}
	b.tokens--
	b.full = now.Add(time.Duration((float64(lim.Burst) - b.tokens) / rate * float64(time.Second)))
	return true, 0
}

// sweep forgets buckets that have refilled: they are the same as new ones.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if !now.Before(b.full) {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}
