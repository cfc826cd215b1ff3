package memory

import (
	"context"
	"slices"
	"time"

	"github.com/usermgmt/usermgmt"
)

// DropEvents removes the events created before before, each one (there
// are no partitions here to drop whole). It scans every log under the
// write lock: it runs rarely (PruneExpired), so the hot paths keep no
// index by time for it, and copies only the logs it changes.
func (t *tx) DropEvents(_ context.Context, before time.Time) (int, error) {
	if err := t.write(); err != nil {
		return 0, err
	}
	s := t.s
	n := 0
	old := func(e usermgmt.Event) bool { return e.CreatedAt.Before(before) }
	dropped := map[string]bool{}
	for k, log := range s.events {
		if !slices.ContainsFunc(log, old) {
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(log), old)
		n += len(log) - len(kept)
		if len(kept) == 0 {
			delete(s.events, k)
		} else {
			s.events[k] = kept
		}
		dropped[k.tenantID] = true
		t.onUndo(func() { s.events[k] = log })
	}
	// The tenants' indexes keep only what is left in the logs.
	for tenantID := range dropped {
		refs := s.tenantEvents[tenantID]
		kept := slices.DeleteFunc(slices.Clone(refs), func(r eventRef) bool {
			_, found := eventIndex(s.events[eventKey{tenantID, r.user}], r.id)
			return !found
		})
		if len(kept) == 0 {
			delete(s.tenantEvents, tenantID)
		} else {
			s.tenantEvents[tenantID] = kept
		}
		t.onUndo(func() { s.tenantEvents[tenantID] = refs })
	}
	return n, nil
}
