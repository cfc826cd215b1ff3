// Package memory is an in-memory usermgmt.Store: for tests, demos and
// small apps that can afford to lose their users on restart.
//
// A Store is safe for concurrent use. Transactions are serialised by one
// sync.RWMutex: a read-only transaction takes the read lock, any other the
// write lock, so every transaction sees a consistent store and LockUser,
// LockAttempts and CountActiveWithRole hold by construction. Writes inside RunInTx keep
// an undo log, so an error (or a panic) from fn restores the store exactly.
//
// A Tx must not be used after RunInTx returns, nor from more than one
// goroutine, and fn must not call RunInTx or TouchSession of the same
// Store: the lock is not reentrant.
//
// Lists are served from indexes, not scans: each tenant keeps its users
// sorted by email, once for all, once per status and once per role, in
// chunked sorted lists, and keeps its badge counts and its per-role active counts up to
// date on every write. Each user's activity is a slice ordered by event
// id (UUIDv7), and each tenant keeps an index of its events by id (for
// ListTenantEvents). The outbox keeps its pending mails in a min-heap ordered by
// (NextAttemptAt, ID), so ClaimMail reads only the root and failed mails
// cost it nothing; each tenant's mails in a slice ordered by id, for
// ListMail; and each user's mails beside the user's sessions and tokens,
// for CancelMail.
package memory

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

var _ usermgmt.Store = (*Store)(nil)

// Store is an in-memory usermgmt.Store. The zero value is not usable; call
// New.
type Store struct {
	mu sync.RWMutex

	users   map[uuid.UUID]*usermgmt.UserRecord
	tenants map[string]*tenant

	tokens   map[usermgmt.TokenHash]*usermgmt.TokenRecord
	devices  map[usermgmt.TokenHash]*usermgmt.DeviceRecord
	sessions map[uuid.UUID]*session
	byToken  map[usermgmt.TokenHash]*session
	byRefr   map[usermgmt.TokenHash]*session      // current refresh hashes
	spent    map[usermgmt.TokenHash]*spentRefresh // refresh hashes rotated away from
	owners   map[uuid.UUID]*owned                 // what RevokeUserExcept, DeleteTokens and CancelMail remove

	events       map[eventKey][]usermgmt.Event
	tenantEvents tenantEvents // each tenant's events by id

	attempts map[attemptKey]usermgmt.LoginAttempts

	mail   map[uuid.UUID]*mail
	due    dueHeap            // pending mails; failed ones are not in it
	outbox map[string][]*mail // per tenant, ordered by id

	prov provisioning // provisioning tokens
	grp  groups
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:        make(map[uuid.UUID]*usermgmt.UserRecord),
		tenants:      make(map[string]*tenant),
		tokens:       make(map[usermgmt.TokenHash]*usermgmt.TokenRecord),
		devices:      make(map[usermgmt.TokenHash]*usermgmt.DeviceRecord),
		sessions:     make(map[uuid.UUID]*session),
		byToken:      make(map[usermgmt.TokenHash]*session),
		byRefr:       make(map[usermgmt.TokenHash]*session),
		spent:        make(map[usermgmt.TokenHash]*spentRefresh),
		owners:       make(map[uuid.UUID]*owned),
		events:       make(map[eventKey][]usermgmt.Event),
		tenantEvents: make(tenantEvents),
		attempts:     make(map[attemptKey]usermgmt.LoginAttempts),
		mail:         make(map[uuid.UUID]*mail),
		outbox:       make(map[string][]*mail),
	}
}

// RunInTx runs fn under the store's lock: the read lock when opts.ReadOnly
// (writes are then refused), the write lock otherwise. If fn returns an
// error or panics, every write it made is undone.
func (s *Store) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(ctx context.Context, tx usermgmt.Tx) error) error {
	if opts.ReadOnly {
		s.mu.RLock()
		t := &tx{s: s, readOnly: true}
		defer func() {
			t.done = true
			s.mu.RUnlock()
		}()
		return fn(ctx, t)
	}
	s.mu.Lock()
	t := &tx{s: s}
	committed := false
	defer func() {
		if !committed {
			t.rollback()
		}
		t.done = true
		s.mu.Unlock()
	}()
	if err := fn(ctx, t); err != nil {
		return err
	}
	committed = true
	return nil
}

// tx is one transaction. Its undo log holds, newest last, the inverse of
// every write made so far.
type tx struct {
	s        *Store
	readOnly bool
	done     bool
	undo     []func()
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
}

// onUndo records the inverse of a write just made.
func (t *tx) onUndo(f func()) { t.undo = append(t.undo, f) }

// read reports an error if t can no longer be used.
func (t *tx) read() error {
	if t.done {
		return usermgmt.Errorf(usermgmt.CodeInternal, "memory: transaction already ended")
	}
	return nil
}

// write reports an error if t may not write.
func (t *tx) write() error {
	if err := t.read(); err != nil {
		return err
	}
	if t.readOnly {
		return usermgmt.Errorf(usermgmt.CodeInternal, "memory: write in a read-only transaction")
	}
	return nil
}

// owned is what belongs to one user id across the store, so that
// RevokeUserExcept, DeleteTokens and CancelMail need not scan.
type owned struct {
	sessions []*session
	devices  []usermgmt.TokenHash
	tokens   []usermgmt.TokenHash
	mail     []*mail
}

func (s *Store) owner(id uuid.UUID) *owned {
	o := s.owners[id]
	if o == nil {
		o = &owned{}
		s.owners[id] = o
	}
	return o
}

// dropOwner forgets o if it holds nothing, so owners does not grow with
// users that no longer have sessions, devices, tokens or mail.
func (s *Store) dropOwner(id uuid.UUID) {
	if o := s.owners[id]; o != nil && len(o.sessions) == 0 && len(o.devices) == 0 && len(o.tokens) == 0 && len(o.mail) == 0 {
		delete(s.owners, id)
	}
}

// without returns xs without its first element equal to x, in place.
func without[T comparable](xs []T, x T) []T {
	for i, y := range xs {
		if y == x {
			last := len(xs) - 1
			xs[i] = xs[last]
			var zero T
			xs[last] = zero
			return xs[:last]
		}
	}
	return xs
}

func notFound(what string) error { return usermgmt.Errorf(usermgmt.CodeNotFound, "%s not found", what) }

func conflict(format string, args ...any) error {
	return usermgmt.Errorf(usermgmt.CodeConflict, format, args...)
}
