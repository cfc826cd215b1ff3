package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestSweepForgetsOnlyRefilledBuckets: the limiter starts no goroutine and
// still does not grow without bound. A sweep drops a bucket that has
// refilled, which is the same as a new one, and keeps one that has not, so
// a sweep never hands a client a fresh burst.
func TestSweepForgetsOnlyRefilledBuckets(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := New(func() time.Time { return now }, nil, nil)
	for range 2 {
		l.Allow(ctx, "slow", 2, time.Hour)
		l.Allow(ctx, "fast", 2, time.Second)
	}
	if ok, _ := l.Allow(ctx, "slow", 2, time.Hour); ok {
		t.Fatal("a request past the burst passed")
	}
	now = now.Add(sweepEvery)
	l.Allow(ctx, "other", 2, time.Second) // the first request a sweep interval later sweeps
	if _, kept := l.buckets["fast"]; kept {
		t.Fatal("a refilled bucket survived the sweep")
	}
	if ok, _ := l.Allow(ctx, "slow", 2, time.Hour); ok {
		t.Fatal("the sweep forgot a drained bucket: its client got a fresh burst")
	}
}

// TestRefillsAtTheRateAndTellsTheWait: an empty bucket says how long until
// a token is back, and one is back after that long.
func TestRefillsAtTheRateAndTellsTheWait(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := New(func() time.Time { return now }, nil, nil)
	l.Allow(ctx, "k", 1, 10*time.Second)
	ok, wait := l.Allow(ctx, "k", 1, 10*time.Second)
	if ok || wait != 10*time.Second {
		t.Fatalf("second request: ok %v, wait %v; want refused, 10s", ok, wait)
	}
	now = now.Add(wait)
	if ok, _ := l.Allow(ctx, "k", 1, 10*time.Second); !ok {
		t.Fatal("refused after the wait it named")
	}
	if ok, _ := l.Allow(ctx, "off", -1, time.Second); !ok {
		t.Fatal("a negative burst limited")
	}
}

// fakeShared is a Shared limiter that records its calls and fails
// while down.
type fakeShared struct {
	down  bool
	calls []time.Time
}

func (f *fakeShared) Allow(_ context.Context, key string, burst int, per time.Duration, now time.Time) (bool, time.Duration, error) {
	f.calls = append(f.calls, now)
	if f.down {
		return false, 0, errors.New("connection refused")
	}
	return false, 7 * time.Second, nil
}

// TestSharedDecidesAndTheMemoryBucketsStandIn: with a shared limiter the
// shared buckets decide, at the limiter's clock, and the memory buckets
// are not touched; when the shared limiter fails, the memory buckets
// decide that call (it still limits, per process), the failure is logged,
// and nothing fails.
func TestSharedDecidesAndTheMemoryBucketsStandIn(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	shared := &fakeShared{}
	var logged bytes.Buffer
	l := New(func() time.Time { return now }, shared, slog.New(slog.NewTextHandler(&logged, nil)))

	ok, wait := l.Allow(ctx, "k", 1, 10*time.Second)
	if ok || wait != 7*time.Second {
		t.Fatalf("shared said no with 7s; got ok %v, wait %v", ok, wait)
	}
	if len(shared.calls) != 1 || !shared.calls[0].Equal(now) || len(l.buckets) != 0 {
		t.Fatalf("shared calls %v, memory buckets %d: want one call at the clock's now, no memory bucket",
			shared.calls, len(l.buckets))
	}
	if ok, _ := l.Allow(ctx, "off", -1, time.Second); !ok || len(shared.calls) != 1 {
		t.Fatal("a negative burst limited or asked the shared limiter")
	}

	shared.down = true
	if ok, _ := l.Allow(ctx, "k", 1, 10*time.Second); !ok {
		t.Fatal("the first call while shared is down was refused: the memory bucket is full")
	}
	if ok, wait := l.Allow(ctx, "k", 1, 10*time.Second); ok || wait != 10*time.Second {
		t.Fatalf("second call while down: ok %v, wait %v; want refused, 10s (the memory bucket limits)", ok, wait)
	}
	if !strings.Contains(logged.String(), "connection refused") {
		t.Fatalf("the failure was not logged: %q", logged.String())
	}
}
