package usermgmt

import "context"

// inTx runs fn in one store transaction. Every Manager operation reaches
// the store through it (TestEveryTransactionGoesThroughInTx holds to
// that), so that what must ride along with a change is written in the
// change's own transaction wherever the change is made: fn's Tx queues a
// webhook message with each event of a webhook type it appends (see
// hookTx). After a commit that queued one, Run's webhook worker is woken.
func (m *Manager) inTx(ctx context.Context, opts TxOptions, fn func(context.Context, Tx) error) error {
	queued := false
	err := m.store.RunInTx(ctx, opts, func(ctx context.Context, tx Tx) error {
		h := &hookTx{Tx: tx, m: m}
		err := fn(ctx, h)
		queued = h.queued > 0
		return err
	})
	if err == nil && queued {
		m.kickWebhooks()
	}
	return err
}
