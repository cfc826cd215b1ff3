// Package inbetween is a test Store that runs a hook between the two
// transactions of a Login: after the one that read the user by email,
// before the next one. Tests use it to commit a racing change (a password
// reset) at the worst moment, deterministically.
package inbetween

import (
	"context"
	"sync"

	"github.com/usermgmt/usermgmt"
)

// Store wraps a usermgmt.Store. Hook, when set, runs once, just before
// the transaction that follows one that called GetUserByEmail; it is
// cleared when it runs.
type Store struct {
	usermgmt.Store
	mu    sync.Mutex
	armed bool
	Hook  func()
}

// Pending reports whether Hook is still waiting to run.
func (s *Store) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Hook != nil
}

// RunInTx runs the hook if the previous transaction armed it, then fn.
func (s *Store) RunInTx(ctx context.Context, o usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	s.mu.Lock()
	var hook func()
	if s.armed {
		hook, s.Hook = s.Hook, nil
	}
	s.armed = false
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return s.Store.RunInTx(ctx, o, func(ctx context.Context, tx usermgmt.Tx) error {
		return fn(ctx, &arming{Tx: tx, s: s})
	})
}

type arming struct {
	usermgmt.Tx
	s *Store
}

func (t *arming) GetUserByEmail(ctx context.Context, tenantID, email string) (usermgmt.UserRecord, error) {
	t.s.mu.Lock()
	t.s.armed = true
	t.s.mu.Unlock()
	return t.Tx.GetUserByEmail(ctx, tenantID, email)
}
