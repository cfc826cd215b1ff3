package memory

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// webhooks holds the webhook endpoints, messages and deliveries. Records
// are replaced on every write, never changed in place, so the undo log
// keeps the old ones. ClaimWebhook scans the pending deliveries: a store
// for tests and small apps keeps few. Its zero value is ready (the maps
// are made on first use).
type webhooks struct {
	endpoints  map[uuid.UUID]*usermgmt.WebhookEndpointRecord
	messages   map[uuid.UUID]*usermgmt.WebhookMessage
	deliveries map[deliveryKey]*usermgmt.WebhookDeliveryRecord
	byEndpoint map[uuid.UUID][]uuid.UUID // message ids, ascending
	pending    map[deliveryKey]bool
}

type deliveryKey struct{ endpoint, message uuid.UUID }

func (w *webhooks) init() {
	if w.endpoints == nil {
		w.endpoints = make(map[uuid.UUID]*usermgmt.WebhookEndpointRecord)
		w.messages = make(map[uuid.UUID]*usermgmt.WebhookMessage)
		w.deliveries = make(map[deliveryKey]*usermgmt.WebhookDeliveryRecord)
		w.byEndpoint = make(map[uuid.UUID][]uuid.UUID)
		w.pending = make(map[deliveryKey]bool)
	}
}

func cloneEndpoint(e *usermgmt.WebhookEndpointRecord) usermgmt.WebhookEndpointRecord {
	c := *e
	c.EventTypes = slices.Clone(e.EventTypes)
	c.DisabledAt = cloneTime(e.DisabledAt)
	c.PreviousSecretUntil = cloneTime(e.PreviousSecretUntil)
	c.Secret, c.PreviousSecret = slices.Clone(e.Secret), slices.Clone(e.PreviousSecret)
	return c
}

func cloneDelivery(d *usermgmt.WebhookDeliveryRecord) usermgmt.WebhookDeliveryRecord {
	c := *d
	c.LastAttemptAt = cloneTime(d.LastAttemptAt)
	c.NextAttemptAt = cloneTime(d.NextAttemptAt)
	c.DeliveredAt = cloneTime(d.DeliveredAt)
	return c
}

func checkEndpoint(e *usermgmt.WebhookEndpointRecord) error {
	if err := checkText(e.TenantID, e.URL, e.Description, e.DisabledReason); err != nil {
		return err
	}
	for _, t := range e.EventTypes {
		if err := checkText(string(t)); err != nil {
			return err
		}
	}
	return nil
}

// setEndpoint stores e under id (nil deletes it) and logs the inverse.
func (t *tx) setEndpoint(id uuid.UUID, e *usermgmt.WebhookEndpointRecord) {
	w := &t.s.hooks
	old, had := w.endpoints[id]
	if e == nil {
		delete(w.endpoints, id)
	} else {
		w.endpoints[id] = e
	}
	t.onUndo(func() {
		if had {
			w.endpoints[id] = old
		} else {
			delete(w.endpoints, id)
		}
	})
}

// setDelivery stores d under k (nil deletes it), keeping byEndpoint and
// pending right, and logs the inverse.
func (t *tx) setDelivery(k deliveryKey, d *usermgmt.WebhookDeliveryRecord) {
	w := &t.s.hooks
	old := w.deliveries[k]
	w.put(k, d)
	t.onUndo(func() { w.put(k, old) })
}

func (w *webhooks) put(k deliveryKey, d *usermgmt.WebhookDeliveryRecord) {
	_, had := w.deliveries[k]
	ids := w.byEndpoint[k.endpoint]
	i, found := slices.BinarySearchFunc(ids, k.message, uuidCompare)
	switch {
	case d == nil && had:
		delete(w.deliveries, k)
		delete(w.pending, k)
		if found {
			ids = slices.Delete(ids, i, i+1)
		}
	case d != nil:
		w.deliveries[k] = d
		if d.Status == usermgmt.WebhookPending {
			w.pending[k] = true
		} else {
			delete(w.pending, k)
		}
		if !found {
			ids = slices.Insert(ids, i, k.message)
		}
	}
	if len(ids) == 0 {
		delete(w.byEndpoint, k.endpoint)
	} else {
		w.byEndpoint[k.endpoint] = ids
	}
}

// setMessage stores m under id (nil deletes it) and logs the inverse.
func (t *tx) setMessage(id uuid.UUID, m *usermgmt.WebhookMessage) {
	w := &t.s.hooks
	old, had := w.messages[id]
	if m == nil {
		delete(w.messages, id)
	} else {
		w.messages[id] = m
	}
	t.onUndo(func() {
		if had {
			w.messages[id] = old
		} else {
			delete(w.messages, id)
		}
	})
}

func (t *tx) endpoint(tenantID string, id uuid.UUID) (*usermgmt.WebhookEndpointRecord, error) {
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	e := t.s.hooks.endpoints[id]
	if e == nil || e.TenantID != tenantID {
		return nil, notFound("webhook endpoint")
	}
	return e, nil
}

func (t *tx) CreateWebhookEndpoint(_ context.Context, in *usermgmt.WebhookEndpointRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkEndpoint(in); err != nil {
		return err
	}
	t.s.hooks.init()
	if _, ok := t.s.hooks.endpoints[in.ID]; ok {
		return conflict("webhook endpoint %s already exists", in.ID)
	}
	e := cloneEndpoint(in)
	t.setEndpoint(e.ID, &e)
	return nil
}

func (t *tx) GetWebhookEndpoint(_ context.Context, tenantID string, id uuid.UUID) (usermgmt.WebhookEndpointRecord, error) {
	if err := t.read(); err != nil {
		return usermgmt.WebhookEndpointRecord{}, err
	}
	e, err := t.endpoint(tenantID, id)
	if err != nil {
		return usermgmt.WebhookEndpointRecord{}, err
	}
	return cloneEndpoint(e), nil
}

// LockWebhookEndpoint is GetWebhookEndpoint: the transaction holds the
// store's write lock already.
func (t *tx) LockWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.WebhookEndpointRecord, error) {
	if err := t.write(); err != nil {
		return usermgmt.WebhookEndpointRecord{}, err
	}
	return t.GetWebhookEndpoint(ctx, tenantID, id)
}

func (t *tx) ListWebhookEndpoints(_ context.Context, tenantID string) ([]usermgmt.WebhookEndpointRecord, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	out := []usermgmt.WebhookEndpointRecord{}
	for _, e := range t.s.hooks.endpoints {
		if e.TenantID == tenantID {
			out = append(out, cloneEndpoint(e))
		}
	}
	slices.SortFunc(out, func(a, b usermgmt.WebhookEndpointRecord) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return uuidCompare(a.ID, b.ID)
	})
	return out, nil
}

func (t *tx) UpdateWebhookEndpoint(_ context.Context, in *usermgmt.WebhookEndpointRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkEndpoint(in); err != nil {
		return err
	}
	old, err := t.endpoint(in.TenantID, in.ID)
	if err != nil {
		return err
	}
	e := cloneEndpoint(in)
	e.CreatedAt = old.CreatedAt
	t.setEndpoint(e.ID, &e)
	return nil
}

func (t *tx) DeleteWebhookEndpoint(_ context.Context, tenantID string, id uuid.UUID) error {
	if err := t.write(); err != nil {
		return err
	}
	if _, err := t.endpoint(tenantID, id); err != nil {
		return err
	}
	for _, mid := range slices.Clone(t.s.hooks.byEndpoint[id]) {
		t.setDelivery(deliveryKey{id, mid}, nil)
	}
	t.setEndpoint(id, nil)
	return nil
}

func (t *tx) QueueWebhooks(_ context.Context, ms []usermgmt.WebhookMessage) (int, error) {
	if err := t.write(); err != nil {
		return 0, err
	}
	w := &t.s.hooks
	w.init()
	for i := range ms {
		if err := checkText(ms[i].TenantID, string(ms[i].Type)); err != nil {
			return 0, err
		}
		if _, ok := w.messages[ms[i].ID]; ok {
			return 0, conflict("webhook message %s already exists", ms[i].ID)
		}
	}
	byTenant := make(map[string][]*usermgmt.WebhookEndpointRecord)
	for _, e := range w.endpoints {
		if e.DisabledAt == nil {
			byTenant[e.TenantID] = append(byTenant[e.TenantID], e)
		}
	}
	n := 0
	for i := range ms {
		m := ms[i]
		m.Payload = slices.Clone(m.Payload)
		stored := false
		for _, e := range byTenant[m.TenantID] {
			if !slices.Contains(e.EventTypes, m.Type) {
				continue
			}
			if !stored {
				t.setMessage(m.ID, &m)
				stored = true
			}
			due := m.CreatedAt
			d := &usermgmt.WebhookDeliveryRecord{TenantID: m.TenantID, WebhookDelivery: usermgmt.WebhookDelivery{
				MessageID: m.ID, EndpointID: e.ID, UserID: m.UserID, EventType: m.Type,
				Status: usermgmt.WebhookPending, CreatedAt: m.CreatedAt, NextAttemptAt: &due}}
			t.setDelivery(deliveryKey{e.ID, m.ID}, d)
			n++
		}
	}
	return n, nil
}

func (t *tx) ClaimWebhook(_ context.Context, now, until time.Time) (usermgmt.WebhookAttempt, error) {
	if err := t.write(); err != nil {
		return usermgmt.WebhookAttempt{}, err
	}
	w := &t.s.hooks
	type userKey struct{ endpoint, user uuid.UUID }
	first := make(map[userKey]uuid.UUID) // the earliest pending message of each endpoint and user
	for k := range w.pending {
		uk := userKey{k.endpoint, w.deliveries[k].UserID}
		if f, ok := first[uk]; !ok || uuidCompare(k.message, f) < 0 {
			first[uk] = k.message
		}
	}
	var best *usermgmt.WebhookDeliveryRecord
	for k := range w.pending {
		d := w.deliveries[k]
		e := w.endpoints[k.endpoint]
		if d.NextAttemptAt.After(now) || e.DisabledAt != nil || e.RestUntil.After(now) ||
			first[userKey{k.endpoint, d.UserID}] != k.message {
			continue
		}
		if best == nil || d.NextAttemptAt.Before(*best.NextAttemptAt) ||
			(d.NextAttemptAt.Equal(*best.NextAttemptAt) && uuidCompare(d.MessageID, best.MessageID) < 0) {
			best = d
		}
	}
	if best == nil {
		return usermgmt.WebhookAttempt{}, notFound("due webhook delivery")
	}
	c := cloneDelivery(best)
	c.Attempts++
	c.NextAttemptAt = &until
	t.setDelivery(deliveryKey{c.EndpointID, c.MessageID}, &c)
	return usermgmt.WebhookAttempt{Delivery: cloneDelivery(&c), Endpoint: cloneEndpoint(w.endpoints[c.EndpointID]),
		Payload: slices.Clone(w.messages[c.MessageID].Payload)}, nil
}

func (t *tx) DeferWebhookDeliveries(_ context.Context, tenantID string, endpointID uuid.UUID, until time.Time) (int, error) {
	return t.moveDeliveries(tenantID, endpointID, until, func(next time.Time) bool { return next.Before(until) })
}

func (t *tx) ResumeWebhookDeliveries(_ context.Context, tenantID string, endpointID uuid.UUID, now time.Time) (int, error) {
	return t.moveDeliveries(tenantID, endpointID, now, func(next time.Time) bool { return next.After(now) })
}

// moveDeliveries makes the endpoint's pending deliveries whose
// NextAttemptAt passes move due at at.
func (t *tx) moveDeliveries(tenantID string, endpointID uuid.UUID, at time.Time, move func(next time.Time) bool) (int, error) {
	if err := t.write(); err != nil {
		return 0, err
	}
	if err := checkText(tenantID); err != nil {
		return 0, err
	}
	w := &t.s.hooks
	n := 0
	for _, mid := range w.byEndpoint[endpointID] {
		k := deliveryKey{endpointID, mid}
		d := w.deliveries[k]
		if d.TenantID != tenantID || !w.pending[k] || !move(*d.NextAttemptAt) {
			continue
		}
		c := cloneDelivery(d)
		c.NextAttemptAt = &at
		t.setDelivery(k, &c)
		n++
	}
	return n, nil
}

func (t *tx) GetWebhookDelivery(_ context.Context, tenantID string, endpointID, messageID uuid.UUID) (usermgmt.WebhookDeliveryRecord, error) {
	if err := t.read(); err != nil {
		return usermgmt.WebhookDeliveryRecord{}, err
	}
	if err := checkText(tenantID); err != nil {
		return usermgmt.WebhookDeliveryRecord{}, err
	}
	d := t.s.hooks.deliveries[deliveryKey{endpointID, messageID}]
	if d == nil || d.TenantID != tenantID {
		return usermgmt.WebhookDeliveryRecord{}, notFound("webhook delivery")
	}
	return cloneDelivery(d), nil
}

func (t *tx) UpdateWebhookDelivery(_ context.Context, in *usermgmt.WebhookDeliveryRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(in.Status, in.LastError, in.ResponseExcerpt); err != nil {
		return err
	}
	k := deliveryKey{in.EndpointID, in.MessageID}
	old := t.s.hooks.deliveries[k]
	if old == nil {
		return notFound("webhook delivery")
	}
	d := cloneDelivery(old)
	d.Status, d.Attempts, d.NextAttemptAt = in.Status, in.Attempts, cloneTime(in.NextAttemptAt)
	d.LastAttemptAt, d.LastStatusCode, d.LastError = cloneTime(in.LastAttemptAt), in.LastStatusCode, in.LastError
	d.ResponseExcerpt, d.DeliveredAt, d.ExpiresAt = in.ResponseExcerpt, cloneTime(in.DeliveredAt), in.ExpiresAt
	t.setDelivery(k, &d)
	return nil
}

func (t *tx) ListWebhookDeliveries(_ context.Context, p usermgmt.WebhookDeliveryListParams) ([]usermgmt.WebhookDeliveryRecord, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(p.TenantID); err != nil {
		return nil, err
	}
	w := &t.s.hooks
	out := []usermgmt.WebhookDeliveryRecord{}
	if e := w.endpoints[p.EndpointID]; e == nil || e.TenantID != p.TenantID {
		return out, nil
	}
	ids := w.byEndpoint[p.EndpointID]
	end := len(ids)
	if p.Before != uuid.Nil {
		end, _ = slices.BinarySearchFunc(ids, p.Before, uuidCompare)
	}
	for i := end - 1; i >= 0 && len(out) < p.Limit; i-- {
		out = append(out, cloneDelivery(w.deliveries[deliveryKey{p.EndpointID, ids[i]}]))
	}
	return out, nil
}

// eraseWebhooks deletes the user's webhook messages and their deliveries.
func (t *tx) eraseWebhooks(tenantID string, userID uuid.UUID) {
	w := &t.s.hooks
	var gone []uuid.UUID
	for id, m := range w.messages {
		if m.TenantID == tenantID && m.UserID == userID {
			gone = append(gone, id)
		}
	}
	t.dropMessages(gone)
}

// dropMessages deletes the messages with their deliveries.
func (t *tx) dropMessages(ids []uuid.UUID) {
	w := &t.s.hooks
	if len(ids) == 0 {
		return
	}
	gone := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	var keys []deliveryKey
	for k := range w.deliveries {
		if gone[k.message] {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		t.setDelivery(k, nil)
	}
	for _, id := range ids {
		t.setMessage(id, nil)
	}
}

// pruneWebhooks deletes the deliveries that expired and the messages left
// with none, and says how many of each.
func (t *tx) pruneWebhooks(now time.Time) (deliveries, messages int) {
	w := &t.s.hooks
	var keys []deliveryKey
	for k, d := range w.deliveries {
		if !d.ExpiresAt.IsZero() && !now.Before(d.ExpiresAt) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		t.setDelivery(k, nil)
	}
	kept := make(map[uuid.UUID]bool)
	for k := range w.deliveries {
		kept[k.message] = true
	}
	var orphans []uuid.UUID
	for id := range w.messages {
		if !kept[id] {
			orphans = append(orphans, id)
		}
	}
	t.dropMessages(orphans)
	return len(keys), len(orphans)
}

func (t *tx) GetUsers(_ context.Context, tenantID string, ids []uuid.UUID) ([]usermgmt.User, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	out := make([]usermgmt.User, 0, len(ids))
	seen := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		if u := t.s.lookup(tenantID, id); u != nil && !seen[id] {
			seen[id] = true
			c := cloneUser(u.User)
			c.LockedUntil = nil
			out = append(out, c)
		}
	}
	return out, nil
}
