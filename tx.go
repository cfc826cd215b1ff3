package usermgmt

import "context"

// inTx runs fn in one store transaction. Every Manager operation reaches
// the store through it (TestEveryTransactionGoesThroughInTx holds to
// that), so that what must ride along with a change is written in the
// change's own transaction wherever the change is made: fn's Tx makes a
// webhook message of each event of a webhook type it appends, and they
// are queued, in one statement, when fn has succeeded (see hookTx). After
// a commit that queued one, Run's webhook worker is woken.
func (m *Manager) inTx(ctx context.Context, opts TxOptions, fn func(context.Context, Tx) error) error {
	queued := false
	err := m.store.RunInTx(ctx, opts, func(ctx context.Context, tx Tx) error {
		h := &hookTx{Tx: tx}
		if err := fn(ctx, h); err != nil {
			return err
		}
		n, err := h.flush(ctx)
		queued = n > 0
		return err
	})
	if err == nil && queued {
		m.kickWebhooks()
	}
	return err
}
