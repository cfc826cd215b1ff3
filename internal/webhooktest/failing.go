package webhooktest

import (
	"context"
	"errors"

	"github.com/usermgmt/usermgmt"
)

// FailingCommit returns s whose writing transactions do all their work
// and then fail, as a commit that fails: the change and what rode along
// with it (its events, its webhook messages) must all be gone.
func FailingCommit(s usermgmt.Store) usermgmt.Store { return failingCommit{s} }

// ErrCommit is the error of FailingCommit's transactions.
var ErrCommit = errors.New("webhooktest: the commit failed")

type failingCommit struct{ usermgmt.Store }

func (s failingCommit) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	return s.Store.RunInTx(ctx, opts, func(ctx context.Context, tx usermgmt.Tx) error {
		if err := fn(ctx, tx); err != nil || opts.ReadOnly {
			return err
		}
		return ErrCommit
	})
}
