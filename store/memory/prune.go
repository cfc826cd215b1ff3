package memory

import (
	"context"
	"time"

	"github.com/usermgmt/usermgmt"
)

// DeleteExpired scans the token, session, device, mail and attempt maps
// under the write lock. It runs rarely (a periodic job), so no expiry
// index is kept for it and the hot paths pay nothing. Rows go through the same removals
// as the other deletes, so the per-user, spent-refresh and outbox indexes
// stay right, and each removal is undone if the transaction fails.
func (t *tx) DeleteExpired(_ context.Context, now time.Time) (usermgmt.Pruned, error) {
	if err := t.write(); err != nil {
		return usermgmt.Pruned{}, err
	}
	s := t.s
	// Collect first, remove after: removals touch the maps being ranged.
	var tokens []*usermgmt.TokenRecord
	for _, r := range s.tokens {
		if !now.Before(r.ExpiresAt) {
			tokens = append(tokens, r)
		}
	}
	var sessions []*session
	for _, ss := range s.sessions {
		if !now.Before(ss.rec.ExpiresAt) || !now.Before(ss.rec.IdleExpiresAt) {
			sessions = append(sessions, ss)
		}
	}
	var devices []*usermgmt.DeviceRecord
	for _, d := range s.devices {
		if !now.Before(d.ExpiresAt) {
			devices = append(devices, d)
		}
	}
	var mails []*mail
	for _, m := range s.mail {
		if !now.Before(m.rec.ExpiresAt) {
			mails = append(mails, m)
		}
	}

	var attempts []attemptKey
	for k, a := range s.attempts {
		if !now.Before(a.ExpiresAt) {
			attempts = append(attempts, k)
		}
	}

	t.removeTokens(tokens)
	for _, ss := range sessions {
		t.revoke(ss)
	}
	for _, d := range devices {
		t.removeDevice(d)
	}
	t.removeMails(mails)
	for _, k := range attempts {
		t.setAttempts(k, nil)
	}
	hookDeliveries, hookMessages := t.pruneWebhooks(now)
	return usermgmt.Pruned{Tokens: len(tokens), Sessions: len(sessions), Devices: len(devices), Mail: len(mails),
		Attempts: len(attempts), WebhookDeliveries: hookDeliveries, WebhookMessages: hookMessages}, nil
}
