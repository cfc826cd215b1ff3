package memory

import (
	"bytes"
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// eventKey names one user's activity log.
type eventKey struct {
	tenantID string
	userID   uuid.UUID
}

// AppendEvents appends each event as AppendEvent does; a failure undoes
// none of them, the transaction's rollback does.
func (t *tx) AppendEvents(ctx context.Context, es []usermgmt.Event) error {
	for i := range es {
		if err := t.AppendEvent(ctx, &es[i]); err != nil {
			return err
		}
	}
	return nil
}

// AppendEvent keeps each log ordered by id, oldest first: an event newer
// than the last is appended, an older one is inserted in its place.
func (t *tx) AppendEvent(_ context.Context, e *usermgmt.Event) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(e.TenantID, string(e.Type), e.IP, e.UserAgent, e.Detail, e.ActorName); err != nil {
		return err
	}
	s := t.s
	k := eventKey{e.TenantID, e.UserID}
	log := s.events[k]
	i := len(log)
	if i > 0 && uuidCompare(log[i-1].ID, e.ID) >= 0 {
		var found bool
		i, found = eventIndex(log, e.ID)
		if found {
			return conflict("event %s exists", e.ID)
		}
	}
	s.events[k] = slices.Insert(log, i, *e)
	s.tenantEvents.add(e.TenantID, eventRef{e.ID, e.UserID})
	t.onUndo(func() {
		log := s.events[k]
		j, _ := eventIndex(log, e.ID)
		log = slices.Delete(log, j, j+1)
		if len(log) == 0 {
			delete(s.events, k)
		} else {
			s.events[k] = log
		}
		s.tenantEvents.remove(e.TenantID, e.ID)
	})
	return nil
}

func (t *tx) ListEvents(_ context.Context, tenantID string, userID uuid.UUID, before uuid.UUID, limit int) ([]usermgmt.Event, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	log := t.s.events[eventKey{tenantID, userID}]
	end := len(log)
	if before != uuid.Nil {
		end, _ = eventIndex(log, before)
	}
	n := max(0, min(limit, end))
	out := make([]usermgmt.Event, n)
	for i := range out {
		out[i] = log[end-1-i]
		out[i].ActorEmail = ""
		if out[i].ActorID != uuid.Nil {
			if a := t.s.lookup(tenantID, out[i].ActorID); a != nil {
				out[i].ActorEmail = a.Email
			}
		}
	}
	return out, nil
}

// ListTenantEvents walks the tenant's index of events by id from after,
// and reads each event from its user's log (a binary search there).
func (t *tx) ListTenantEvents(_ context.Context, tenantID string, after, before uuid.UUID, limit int) ([]usermgmt.Event, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	refs := t.s.tenantEvents[tenantID]
	i := 0
	if after != uuid.Nil {
		var found bool
		if i, found = refIndex(refs, after); found {
			i++
		}
	}
	out := []usermgmt.Event{}
	for ; i < len(refs) && len(out) < limit; i++ {
		r := refs[i]
		if before != uuid.Nil && uuidCompare(r.id, before) >= 0 {
			break
		}
		log := t.s.events[eventKey{tenantID, r.user}]
		j, _ := eventIndex(log, r.id)
		e := log[j]
		e.ActorEmail = ""
		if e.ActorID != uuid.Nil {
			if a := t.s.lookup(tenantID, e.ActorID); a != nil {
				e.ActorEmail = a.Email
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// eventRef is where an event is: its id and the user whose log holds it.
type eventRef struct {
	id, user uuid.UUID
}

// tenantEvents indexes each tenant's events by id, oldest first, for
// ListTenantEvents; the events themselves stay in their users' logs.
type tenantEvents map[string][]eventRef

// add puts r in its place: at the end, unless an older id comes late.
func (te tenantEvents) add(tenantID string, r eventRef) {
	refs := te[tenantID]
	i := len(refs)
	if i > 0 && uuidCompare(refs[i-1].id, r.id) >= 0 {
		i, _ = refIndex(refs, r.id)
	}
	te[tenantID] = slices.Insert(refs, i, r)
}

func (te tenantEvents) remove(tenantID string, id uuid.UUID) {
	refs := te[tenantID]
	if i, found := refIndex(refs, id); found {
		refs = slices.Delete(refs, i, i+1)
	}
	if len(refs) == 0 {
		delete(te, tenantID)
	} else {
		te[tenantID] = refs
	}
}

func refIndex(refs []eventRef, id uuid.UUID) (int, bool) {
	return slices.BinarySearchFunc(refs, id, func(r eventRef, id uuid.UUID) int { return uuidCompare(r.id, id) })
}

// eventIndex returns where id is, or belongs, in a log, which is sorted by
// id.
func eventIndex(log []usermgmt.Event, id uuid.UUID) (int, bool) {
	return slices.BinarySearchFunc(log, id, func(e usermgmt.Event, id uuid.UUID) int { return uuidCompare(e.ID, id) })
}

func uuidCompare(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }
