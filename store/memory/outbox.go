package memory

import (
	"container/heap"
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// mail is a stored outbox mail. idx is its place in Store.due, -1 while
// it is failed and so not in the heap.
type mail struct {
	rec usermgmt.MailRecord
	idx int
}

func (m *mail) pending() bool { return m.rec.FailedAt.IsZero() }

func cloneMail(r *usermgmt.MailRecord) usermgmt.MailRecord {
	c := *r
	c.Sealed = slices.Clone(r.Sealed)
	return c
}

// dueHeap is a min-heap of the pending mails by (NextAttemptAt, ID): its
// root is the mail ClaimMail takes if it is due. Each mail keeps its own
// index, so that a claim, an update or a delete can heap.Fix or
// heap.Remove it in O(log n).
type dueHeap []*mail

func (h dueHeap) Len() int { return len(h) }

func (h dueHeap) Less(i, j int) bool {
	a, b := &h[i].rec, &h[j].rec
	if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
		return c < 0
	}
	return uuidCompare(a.ID, b.ID) < 0
}

func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *dueHeap) Push(x any) {
	m := x.(*mail)
	m.idx = len(*h)
	*h = append(*h, m)
}

func (h *dueHeap) Pop() any {
	old := *h
	n := len(old) - 1
	m := old[n]
	old[n] = nil
	m.idx = -1
	*h = old[:n]
	return m
}

// refile puts m where its record says it belongs: in the heap, at its
// place, while pending; out of it once failed.
func (s *Store) refile(m *mail) {
	switch {
	case m.pending() && m.idx >= 0:
		heap.Fix(&s.due, m.idx)
	case m.pending():
		heap.Push(&s.due, m)
	case m.idx >= 0:
		heap.Remove(&s.due, m.idx)
	}
}

// mailIndex returns where id is, or belongs, in a tenant's outbox, which
// is sorted by id.
func mailIndex(box []*mail, id uuid.UUID) (int, bool) {
	return slices.BinarySearchFunc(box, id, func(m *mail, id uuid.UUID) int { return uuidCompare(m.rec.ID, id) })
}

func (s *Store) addMail(m *mail) {
	s.mail[m.rec.ID] = m
	box := s.outbox[m.rec.TenantID]
	// Ids are UUIDv7, so a new mail nearly always goes last.
	i := len(box)
	if i > 0 && uuidCompare(box[i-1].rec.ID, m.rec.ID) > 0 {
		i, _ = mailIndex(box, m.rec.ID)
	}
	s.outbox[m.rec.TenantID] = slices.Insert(box, i, m)
	o := s.owner(m.rec.UserID)
	o.mail = append(o.mail, m)
	m.idx = -1
	s.refile(m)
}

func (s *Store) removeMail(m *mail) {
	delete(s.mail, m.rec.ID)
	box := s.outbox[m.rec.TenantID]
	i, _ := mailIndex(box, m.rec.ID)
	if box = slices.Delete(box, i, i+1); len(box) == 0 {
		delete(s.outbox, m.rec.TenantID)
	} else {
		s.outbox[m.rec.TenantID] = box
	}
	o := s.owners[m.rec.UserID]
	o.mail = without(o.mail, m)
	s.dropOwner(m.rec.UserID)
	if m.idx >= 0 {
		heap.Remove(&s.due, m.idx)
	}
}

// removeMails deletes ms and logs their return.
func (t *tx) removeMails(ms []*mail) {
	for _, m := range ms {
		t.s.removeMail(m)
	}
	if len(ms) > 0 {
		t.onUndo(func() {
			for _, m := range ms {
				t.s.addMail(m)
			}
		})
	}
}

// setMail replaces m's record, refiles it and logs the inverse.
func (t *tx) setMail(m *mail, next usermgmt.MailRecord) {
	old := m.rec
	m.rec = next
	t.s.refile(m)
	t.onUndo(func() {
		m.rec = old
		t.s.refile(m)
	})
}

func (t *tx) EnqueueMail(_ context.Context, in *usermgmt.MailRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(in.TenantID, string(in.Kind), in.To, in.LastError); err != nil {
		return err
	}
	s := t.s
	if _, ok := s.mail[in.ID]; ok {
		return conflict("mail %s exists", in.ID)
	}
	m := &mail{rec: cloneMail(in)}
	s.addMail(m)
	t.onUndo(func() { s.removeMail(m) })
	return nil
}

// ClaimMail looks only at the root of the heap: the pending mail due
// first. Moving its NextAttemptAt to until sinks it in place.
func (t *tx) ClaimMail(_ context.Context, now, until time.Time) (usermgmt.MailRecord, error) {
	if err := t.write(); err != nil {
		return usermgmt.MailRecord{}, err
	}
	s := t.s
	if len(s.due) == 0 || s.due[0].rec.NextAttemptAt.After(now) {
		return usermgmt.MailRecord{}, notFound("due mail")
	}
	m := s.due[0]
	next := m.rec
	next.Attempts++
	next.NextAttemptAt = until
	t.setMail(m, next)
	return cloneMail(&m.rec), nil
}

func (t *tx) UpdateMail(_ context.Context, r *usermgmt.MailRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(r.LastError); err != nil {
		return err
	}
	m := t.s.mail[r.ID]
	if m == nil {
		return notFound("mail")
	}
	next := m.rec
	next.Attempts, next.NextAttemptAt, next.LastError, next.FailedAt = r.Attempts, r.NextAttemptAt, r.LastError, r.FailedAt
	t.setMail(m, next)
	return nil
}

func (t *tx) DeleteMail(_ context.Context, id uuid.UUID) error {
	if err := t.write(); err != nil {
		return err
	}
	m := t.s.mail[id]
	if m == nil {
		return notFound("mail")
	}
	t.removeMails([]*mail{m})
	return nil
}

// CancelMail reads the user's mails from what the user owns, not from the
// whole outbox.
func (t *tx) CancelMail(_ context.Context, tenantID string, userID uuid.UUID, kind usermgmt.MessageKind) (int, error) {
	if err := t.write(); err != nil {
		return 0, err
	}
	if err := checkText(tenantID, string(kind)); err != nil {
		return 0, err
	}
	o := t.s.owners[userID]
	if o == nil {
		return 0, nil
	}
	var gone []*mail
	for _, m := range o.mail {
		if m.rec.TenantID == tenantID && (kind == "" || m.rec.Kind == kind) {
			gone = append(gone, m)
		}
	}
	t.removeMails(gone)
	return len(gone), nil
}

func (t *tx) ListMail(_ context.Context, p usermgmt.MailListParams) ([]usermgmt.MailRecord, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(p.TenantID); err != nil {
		return nil, err
	}
	box := t.s.outbox[p.TenantID]
	end := len(box)
	if p.Before != uuid.Nil {
		end, _ = mailIndex(box, p.Before)
	}
	n := max(0, min(p.Limit, end))
	out := make([]usermgmt.MailRecord, n)
	for i := range out {
		out[i] = cloneMail(&box[end-1-i].rec)
	}
	return out, nil
}
