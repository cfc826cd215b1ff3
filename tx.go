package usermgmt

import "context"

// inTx runs fn in one store transaction. Every Manager operation reaches
// the store through it (TestEveryTransactionGoesThroughInTx holds to
// that), so that what must ride along with a change is written in the
// change's own transaction wherever the change is made.
func (m *Manager) inTx(ctx context.Context, opts TxOptions, fn func(context.Context, Tx) error) error {
	return m.store.RunInTx(ctx, opts, fn)
}
