package ratelimit

import (
	"testing"
	"time"
)

// TestSweepForgetsOnlyRefilledBuckets: the limiter starts no goroutine and
// still does not grow without bound. A sweep drops a bucket that has
// refilled, which is the same as a new one, and keeps one that has not, so
// a sweep never hands a client a fresh burst.
func TestSweepForgetsOnlyRefilledBuckets(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := New(func() time.Time { return now })
	for range 2 {
		l.Allow("slow", 2, time.Hour)
		l.Allow("fast", 2, time.Second)
	}
	if ok, _ := l.Allow("slow", 2, time.Hour); ok {
		t.Fatal("a request past the burst passed")
	}
	now = now.Add(sweepEvery)
	l.Allow("other", 2, time.Second) // the first request a sweep interval later sweeps
	if _, kept := l.buckets["fast"]; kept {
		t.Fatal("a refilled bucket survived the sweep")
	}
	if ok, _ := l.Allow("slow", 2, time.Hour); ok {
		t.Fatal("the sweep forgot a drained bucket: its client got a fresh burst")
	}
}

// TestRefillsAtTheRateAndTellsTheWait: an empty bucket says how long until
// a token is back, and one is back after that long.
func TestRefillsAtTheRateAndTellsTheWait(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := New(func() time.Time { return now })
	l.Allow("k", 1, 10*time.Second)
	ok, wait := l.Allow("k", 1, 10*time.Second)
	if ok || wait != 10*time.Second {
		t.Fatalf("second request: ok %v, wait %v; want refused, 10s", ok, wait)
	}
	now = now.Add(wait)
	if ok, _ := l.Allow("k", 1, 10*time.Second); !ok {
		t.Fatal("refused after the wait it named")
	}
	if ok, _ := l.Allow("off", -1, time.Second); !ok {
		t.Fatal("a negative burst limited")
	}
}
