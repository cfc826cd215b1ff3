// Package ratelimit is the token-bucket limiter that httpapi (per client
// IP and account), scim (per provisioning token) and the Manager's outbox
// (Options.MailRate) share. Its buckets live in a usermgmt.RateLimiter
// shared by every app instance when the Manager's store is one
// (Manager.SharedLimiter), in memory otherwise. It starts no goroutine, so
// there is nothing to close, and it is safe for concurrent use. It imports
// nothing of usermgmt, so that the root package can use it too.
package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"
)

// Shared is usermgmt.RateLimiter, said again here so that the root package
// may import this one: buckets kept for every app instance.
type Shared interface {
	Allow(ctx context.Context, key string, burst int, per time.Duration, now time.Time) (bool, time.Duration, error)
}

// Limiter is a set of token buckets, one per key, in shared when it is
// not nil and in memory otherwise. The memory buckets also answer a call
// that shared fails (the database is down): a limit check then still
// limits, per process, and never fails the request. Stale memory buckets
// are swept during Allow, at most once per sweepEvery, so they do not
// grow without bound.
type Limiter struct {
	shared    Shared
	log       *slog.Logger
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

// New returns a Limiter that reads the time from now and keeps its
// buckets in shared, or in memory when shared is nil; log hears when
// shared fails.
func New(now func() time.Time, shared Shared, log *slog.Logger) *Limiter {
	return &Limiter{shared: shared, log: log, now: now, buckets: make(map[string]*bucket)}
}

// Allow takes one token from key's bucket, which holds burst tokens and
// refills continuously at burst per per. When the bucket is empty it
// returns false and how long until a token is back. A negative burst
// allows everything.
func (l *Limiter) Allow(ctx context.Context, key string, burst int, per time.Duration) (bool, time.Duration) {
	if burst < 0 {
		return true, 0
	}
	now := l.now()
	if l.shared != nil {
		ok, wait, err := l.shared.Allow(ctx, key, burst, per, now)
		if err == nil {
			return ok, wait
		}
		l.log.WarnContext(ctx, "rate limit: the shared limiter failed; this process's buckets decide", "err", err)
	}
	return l.allowHere(key, burst, per, now)
}

// allowHere is Allow on the memory buckets.
func (l *Limiter) allowHere(key string, burst int, per time.Duration, now time.Time) (bool, time.Duration) {
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
