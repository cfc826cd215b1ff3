// Package ratelimit is the in-memory token-bucket limiter that httpapi
// (per client IP and account) and scim (per provisioning token) share. It
// starts no goroutine, so there is nothing to close, and it is safe for
// concurrent use.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter is a set of token buckets, one per key. Stale buckets are swept
// during Allow, at most once per sweepEvery, so it does not grow without
// bound.
type Limiter struct {
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

// New returns a Limiter that reads the time from now.
func New(now func() time.Time) *Limiter {
	return &Limiter{now: now, buckets: make(map[string]*bucket)}
}

// Allow takes one token from key's bucket, which holds burst tokens and
// refills continuously at burst per per. When the bucket is empty it
// returns false and how long until a token is back. A negative burst
// allows everything.
func (l *Limiter) Allow(key string, burst int, per time.Duration) (bool, time.Duration) {
	if burst < 0 {
		return true, 0
	}
	now := l.now()
	rate := float64(burst) / per.Seconds() // tokens per second
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(burst), at: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+el*rate)
		b.at = now
	}
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
		return false, wait
	}
	b.tokens--
	b.full = now.Add(time.Duration((float64(burst) - b.tokens) / rate * float64(time.Second)))
	return true, 0
}

// sweep forgets buckets that have refilled: they are the same as new ones.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if !now.Before(b.full) {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}
