package postgres_test

import (
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/storetest"
)

// TestConformance runs the suite every Store passes, each case in a fresh
// schema that is dropped afterwards.
func TestConformance(t *testing.T) {
	requireServer(t) // one skip line, not one per case
	storetest.Run(t, func(t *testing.T) usermgmt.Store { return newStore(t) })
}

// TestRateLimiterConformance: the Store is the usermgmt.RateLimiter every
// instance on the database shares.
func TestRateLimiterConformance(t *testing.T) {
	requireServer(t)
	storetest.RunRateLimiter(t, func(t *testing.T) usermgmt.Store { return newStore(t) })
}
