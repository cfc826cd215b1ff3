// Package testclock is the injected clock of the tests: time moves only
// when a test moves it, so expiry is tested without sleeping. It is safe
// for concurrent use.
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable clock; pass its Now as usermgmt.Options.Clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now tells the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
