package httpapi

import (
	"testing"
	"time"
)

// TestLimiterSweepForgetsOnlyRefilledBuckets: the limiter starts no
// goroutine and still does not grow without bound. A sweep drops a bucket
// that has refilled, which is the same as a new one, and keeps one that
// has not, so a sweep never hands a client a fresh burst.
func TestLimiterSweepForgetsOnlyRefilledBuckets(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now })
	slow := Limit{Burst: 2, Per: time.Hour}
	fast := Limit{Burst: 2, Per: time.Second}
	for range 2 {
		l.allow("slow", slow)
		l.allow("fast", fast)
	}
	if ok, _ := l.allow("slow", slow); ok {
		t.Fatal("a request past the burst passed")
	}
	now = now.Add(sweepEvery)
	l.allow("other", fast) // the first request a sweep interval later sweeps
	if _, kept := l.buckets["fast"]; kept {
		t.Fatal("a refilled bucket survived the sweep")
	}
	if ok, _ := l.allow("slow", slow); ok {
		t.Fatal("the sweep forgot a drained bucket: its client got a fresh burst")
	}
}
