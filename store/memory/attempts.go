package memory

import (
	"context"

	"github.com/usermgmt/usermgmt"
)

// attemptKey is a sign-in key: a tenant and a normalised email.
type attemptKey struct{ tenant, email string }

// LockAttempts reads the key's record: the transaction already holds the
// store's write lock, which is what holds the key. A read-only
// transaction refuses it, as it refuses LockUser.
func (t *tx) LockAttempts(_ context.Context, tenantID, email string) (usermgmt.LoginAttempts, error) {
	if err := t.write(); err != nil {
		return usermgmt.LoginAttempts{}, err
	}
	if a, ok := t.s.attempts[attemptKey{tenantID, email}]; ok {
		return a, nil
	}
	return usermgmt.LoginAttempts{TenantID: tenantID, Email: email}, nil
}

func (t *tx) PutAttempts(_ context.Context, a *usermgmt.LoginAttempts) error {
	if err := t.write(); err != nil {
		return err
	}
	t.setAttempts(attemptKey{a.TenantID, a.Email}, a)
	return nil
}

func (t *tx) ClearAttempts(_ context.Context, tenantID, email string) error {
	if err := t.write(); err != nil {
		return err
	}
	t.setAttempts(attemptKey{tenantID, email}, nil)
	return nil
}

// setAttempts stores a under k, or deletes k when a is nil, and logs the
// inverse.
func (t *tx) setAttempts(k attemptKey, a *usermgmt.LoginAttempts) {
	s := t.s
	old, had := s.attempts[k]
	if a != nil {
		s.attempts[k] = *a
	} else {
		delete(s.attempts, k)
	}
	t.onUndo(func() {
		if had {
			s.attempts[k] = old
		} else {
			delete(s.attempts, k)
		}
	})
}
