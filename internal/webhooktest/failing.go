package webhooktest

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// FailingDeactivation returns s whose transactions fail at
// RevokeUserExcept: a deactivation fails there, after its event (and so
// its webhook message) was written, and must leave neither.
func FailingDeactivation(s usermgmt.Store) usermgmt.Store { return failingRevoke{s} }

type failingRevoke struct{ usermgmt.Store }

func (s failingRevoke) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	return s.Store.RunInTx(ctx, opts, func(ctx context.Context, tx usermgmt.Tx) error {
		return fn(ctx, failingRevokeTx{tx})
	})
}

type failingRevokeTx struct{ usermgmt.Tx }

func (failingRevokeTx) RevokeUserExcept(context.Context, string, uuid.UUID, uuid.UUID) (usermgmt.Revoked, error) {
	return usermgmt.Revoked{}, errors.New("the disk is full")
}
