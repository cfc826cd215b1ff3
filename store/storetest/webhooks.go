package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

func webhookCases() []testCase {
	return []testCase{
		{"WebhookEndpointsRoundTripInTheirTenant", testWebhookEndpointsRoundTripInTheirTenant},
		{"QueueWebhooksFansOutToEnabledSubscribers", testQueueWebhooksFansOutToEnabledSubscribers},
		{"ClaimWebhookTakesTheEarliestDue", testClaimWebhookTakesTheEarliestDue},
		{"ClaimWebhookKeepsEachUsersOrder", testClaimWebhookKeepsEachUsersOrder},
		{"ClaimWebhookSkipsDisabledAndRestingEndpoints", testClaimWebhookSkipsDisabledAndRestingEndpoints},
		{"ClaimWebhookConcurrentClaimsDiffer", testClaimWebhookConcurrentClaimsDiffer},
		{"UpdateWebhookDeliveryThenListNewestFirst", testUpdateWebhookDeliveryThenListNewestFirst},
		{"DeleteWebhookEndpointDeletesItsDeliveries", testDeleteWebhookEndpointDeletesItsDeliveries},
		{"DeleteExpiredPrunesWebhooks", testDeleteExpiredPrunesWebhooks},
		{"EraseUserDeletesTheUsersWebhookMessages", testEraseUserDeletesTheUsersWebhookMessages},
		{"GetUsersReadsManyInTheTenant", testGetUsersReadsManyInTheTenant},
		{"DeferAndResumeWebhookDeliveries", testDeferAndResumeWebhookDeliveries},
	}
}

func newEndpoint(tenantID string, types ...usermgmt.EventType) *usermgmt.WebhookEndpointRecord {
	return &usermgmt.WebhookEndpointRecord{WebhookEndpoint: usermgmt.WebhookEndpoint{ID: newID(), TenantID: tenantID,
		URL: "https://hooks.example.com/" + tenantID, EventTypes: types, CreatedAt: base, UpdatedAt: base},
		Secret: []byte("sealed secret")}
}

func (f *fixture) mustEndpoint(tenantID string, types ...usermgmt.EventType) usermgmt.WebhookEndpointRecord {
	f.t.Helper()
	e := newEndpoint(tenantID, types...)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateWebhookEndpoint(f.ctx, e) })
	return *e
}

func normEndpoint(e usermgmt.WebhookEndpointRecord) usermgmt.WebhookEndpointRecord {
	e.CreatedAt, e.UpdatedAt = utc(e.CreatedAt), utc(e.UpdatedAt)
	e.DisabledAt, e.PreviousSecretUntil = utcPtr(e.DisabledAt), utcPtr(e.PreviousSecretUntil)
	if !e.RestUntil.IsZero() {
		e.RestUntil = utc(e.RestUntil)
	}
	if len(e.PreviousSecret) == 0 {
		e.PreviousSecret = nil
	}
	return e
}

func normDelivery(d usermgmt.WebhookDeliveryRecord) usermgmt.WebhookDeliveryRecord {
	d.CreatedAt = utc(d.CreatedAt)
	d.NextAttemptAt, d.LastAttemptAt, d.DeliveredAt = utcPtr(d.NextAttemptAt), utcPtr(d.LastAttemptAt), utcPtr(d.DeliveredAt)
	if !d.ExpiresAt.IsZero() {
		d.ExpiresAt = utc(d.ExpiresAt)
	}
	return d
}

func (f *fixture) endpoint(tenantID string, id uuid.UUID) (usermgmt.WebhookEndpointRecord, error) {
	e, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.WebhookEndpointRecord, error) {
		return tx.GetWebhookEndpoint(f.ctx, tenantID, id)
	})
	return normEndpoint(e), err
}

// message returns a message about u of type typ, created at.
func message(u usermgmt.UserRecord, typ usermgmt.EventType, at time.Time) usermgmt.WebhookMessage {
	return usermgmt.WebhookMessage{ID: newID(), TenantID: u.TenantID, UserID: u.ID, Type: typ,
		Payload: []byte(`{"type":"` + string(typ) + `","data":{"x":"é\u0000"}}`), CreatedAt: at}
}

func (f *fixture) queue(ms ...usermgmt.WebhookMessage) int {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) (int, error) { return tx.QueueWebhooks(f.ctx, ms) })
}

func (f *fixture) claimHook(now time.Time) (usermgmt.WebhookAttempt, error) {
	a, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.WebhookAttempt, error) {
		return tx.ClaimWebhook(f.ctx, now, now.Add(time.Minute))
	})
	a.Delivery, a.Endpoint = normDelivery(a.Delivery), normEndpoint(a.Endpoint)
	return a, err
}

func (f *fixture) hookDeliveries(tenantID string, endpointID uuid.UUID) []usermgmt.WebhookDeliveryRecord {
	f.t.Helper()
	ds := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.WebhookDeliveryRecord, error) {
		return tx.ListWebhookDeliveries(f.ctx, usermgmt.WebhookDeliveryListParams{TenantID: tenantID,
			EndpointID: endpointID, Limit: 100})
	})
	for i := range ds {
		ds[i] = normDelivery(ds[i])
	}
	return ds
}

func (f *fixture) setDelivery(d usermgmt.WebhookDeliveryRecord) {
	f.t.Helper()
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateWebhookDelivery(f.ctx, &d) })
}

func testWebhookEndpointsRoundTripInTheirTenant(t *testing.T, f *fixture) {
	second := newEndpoint(acme, usermgmt.EventDeactivated)
	second.CreatedAt = base.Add(time.Second)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateWebhookEndpoint(f.ctx, second) })
	first := f.mustEndpoint(acme, usermgmt.EventUserCreated, usermgmt.EventDeactivated)
	theirs := f.mustEndpoint(globex, usermgmt.EventDeactivated)

	got, err := f.endpoint(acme, first.ID)
	require.NoError(t, err)
	require.Equal(t, first, got)
	list := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.WebhookEndpointRecord, error) {
		return tx.ListWebhookEndpoints(f.ctx, acme)
	})
	require.Len(t, list, 2)
	require.Equal(t, []uuid.UUID{first.ID, second.ID}, []uuid.UUID{list[0].ID, list[1].ID}, "oldest first")
	_, err = f.endpoint(globex, first.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "another tenant's endpoint")

	again := newEndpoint(acme)
	again.ID = first.ID
	err = f.do(func(tx usermgmt.Tx) error { return tx.CreateWebhookEndpoint(f.ctx, again) })
	requireCode(t, err, usermgmt.CodeConflict, "a second endpoint with the same id")

	changed := first
	changed.URL, changed.Description = "https://other.example.com/x", "CRM"
	changed.EventTypes = []usermgmt.EventType{usermgmt.EventErased}
	changed.Secret, changed.PreviousSecret = []byte("new sealed"), []byte("old sealed")
	changed.PreviousSecretUntil, changed.DisabledAt = ptr(base.Add(time.Hour)), ptr(base.Add(2*time.Hour))
	changed.DisabledReason, changed.Failures, changed.RestUntil = "20 failures", 20, base.Add(3*time.Hour)
	changed.UpdatedAt = base.Add(4 * time.Hour)
	changed.CreatedAt = base.Add(5 * time.Hour) // not stored
	f.mustDo(func(tx usermgmt.Tx) error {
		locked, err := tx.LockWebhookEndpoint(f.ctx, acme, first.ID)
		require.Equal(t, first, normEndpoint(locked))
		if err != nil {
			return err
		}
		return tx.UpdateWebhookEndpoint(f.ctx, &changed)
	})
	got, err = f.endpoint(acme, first.ID)
	require.NoError(t, err)
	changed.CreatedAt = first.CreatedAt
	require.Equal(t, changed, got, "every field but the identity and CreatedAt")

	gone := changed
	gone.TenantID = globex
	err = f.do(func(tx usermgmt.Tx) error { return tx.UpdateWebhookEndpoint(f.ctx, &gone) })
	requireCode(t, err, usermgmt.CodeNotFound, "update in another tenant")
	err = f.do(func(tx usermgmt.Tx) error { return tx.DeleteWebhookEndpoint(f.ctx, globex, first.ID) })
	requireCode(t, err, usermgmt.CodeNotFound, "delete in another tenant")
	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteWebhookEndpoint(f.ctx, acme, first.ID) })
	_, err = f.endpoint(acme, first.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "deleted")
	_, err = f.endpoint(globex, theirs.ID)
	require.NoError(t, err)
}

func testQueueWebhooksFansOutToEnabledSubscribers(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	both := f.mustEndpoint(acme, usermgmt.EventUserCreated, usermgmt.EventDeactivated)
	one := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	off := newEndpoint(acme, usermgmt.EventDeactivated)
	off.DisabledAt = ptr(base)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateWebhookEndpoint(f.ctx, off) })
	theirs := f.mustEndpoint(globex, usermgmt.EventUserCreated, usermgmt.EventDeactivated)

	created, deactivated := message(u, usermgmt.EventUserCreated, base), message(u, usermgmt.EventDeactivated, base)
	unwanted := message(u, usermgmt.EventErased, base)
	err := f.do(func(tx usermgmt.Tx) error {
		n, err := tx.QueueWebhooks(f.ctx, []usermgmt.WebhookMessage{created, deactivated})
		require.NoError(t, err)
		require.Equal(t, 3, n)
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.Empty(t, f.hookDeliveries(acme, both.ID), "rolled back with its transaction")

	require.Equal(t, 3, f.queue(created, deactivated, unwanted))
	ds := f.hookDeliveries(acme, both.ID)
	require.Len(t, ds, 2)
	want := usermgmt.WebhookDeliveryRecord{TenantID: acme, WebhookDelivery: usermgmt.WebhookDelivery{
		MessageID: deactivated.ID, EndpointID: both.ID, UserID: u.ID, EventType: usermgmt.EventDeactivated,
		Status: usermgmt.WebhookPending, CreatedAt: base, NextAttemptAt: ptr(base)}}
	require.Equal(t, want, ds[0], "newest first, due at once")
	require.Equal(t, created.ID, ds[1].MessageID)
	require.Len(t, f.hookDeliveries(acme, one.ID), 1)
	require.Empty(t, f.hookDeliveries(acme, off.ID), "a disabled endpoint gets nothing")
	require.Empty(t, f.hookDeliveries(globex, theirs.ID), "another tenant's endpoint gets nothing")
	require.Empty(t, f.hookDeliveries(globex, both.ID), "listed only in its tenant")

	err = f.do(func(tx usermgmt.Tx) error {
		_, err := tx.QueueWebhooks(f.ctx, []usermgmt.WebhookMessage{created})
		return err
	})
	requireCode(t, err, usermgmt.CodeConflict, "a message id queued twice")

	p := mustTx(f, func(tx usermgmt.Tx) (usermgmt.Pruned, error) { return tx.DeleteExpired(f.ctx, base) })
	require.Zero(t, p.WebhookMessages, "the unwanted message was never stored")
}

func testClaimWebhookTakesTheEarliestDue(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	v := f.mustUser(acme, "bob@example.com", usermgmt.StatusActive)
	ep := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	later, sooner := message(u, usermgmt.EventDeactivated, base.Add(time.Second)), message(v, usermgmt.EventDeactivated, base)
	f.queue(later, sooner)

	_, err := f.claimHook(base.Add(-time.Second))
	requireCode(t, err, usermgmt.CodeNotFound, "nothing is due yet")
	a, err := f.claimHook(base.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, sooner.ID, a.Delivery.MessageID, "the earliest due")
	require.Equal(t, 1, a.Delivery.Attempts)
	require.Equal(t, base.Add(time.Second+time.Minute), *a.Delivery.NextAttemptAt, "claimed until")
	require.Equal(t, sooner.Payload, a.Payload, "the payload, byte for byte")
	require.Equal(t, ep.ID, a.Endpoint.ID)
	require.Equal(t, ep.Secret, a.Endpoint.Secret)
	require.Equal(t, ep.URL, a.Endpoint.URL)

	b, err := f.claimHook(base.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, later.ID, b.Delivery.MessageID)
	_, err = f.claimHook(base.Add(time.Second))
	requireCode(t, err, usermgmt.CodeNotFound, "both are claimed")
	c, err := f.claimHook(base.Add(time.Minute + 2*time.Second))
	require.NoError(t, err, "a claim lapses")
	require.Equal(t, later.ID, c.Delivery.MessageID, "both lapsed at once: ties go by id")
	require.Equal(t, 2, c.Delivery.Attempts)
}

func testClaimWebhookKeepsEachUsersOrder(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	v := f.mustUser(acme, "bob@example.com", usermgmt.StatusActive)
	ep := f.mustEndpoint(acme, usermgmt.EventRoleGranted, usermgmt.EventRoleRevoked)
	other := f.mustEndpoint(acme, usermgmt.EventRoleRevoked)
	first, second := message(u, usermgmt.EventRoleGranted, base), message(u, usermgmt.EventRoleRevoked, base)
	bobs := message(v, usermgmt.EventRoleGranted, base.Add(time.Second))
	f.queue(first, second, bobs)

	a, err := f.claimHook(base.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, first.ID, a.Delivery.MessageID)
	// The first fails and is due again before the second's turn.
	d := a.Delivery
	d.NextAttemptAt = ptr(base.Add(2 * time.Hour))
	f.setDelivery(d)

	var got []uuid.UUID
	for {
		c, err := f.claimHook(base.Add(time.Hour))
		if usermgmt.ErrorCode(err) == usermgmt.CodeNotFound {
			break
		}
		require.NoError(t, err)
		got = append(got, c.Delivery.MessageID)
		require.False(t, c.Delivery.EndpointID == ep.ID && c.Delivery.MessageID == second.ID,
			"ada's second message to ep waits for her first")
	}
	require.ElementsMatch(t, []uuid.UUID{second.ID, bobs.ID}, got, "other endpoints and other users go on")
	require.Len(t, got, 2)
	_ = other

	// Once the first is delivered, the second goes.
	d.Status, d.NextAttemptAt, d.DeliveredAt = usermgmt.WebhookDelivered, nil, ptr(base.Add(time.Hour))
	f.setDelivery(d)
	c, err := f.claimHook(base.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, second.ID, c.Delivery.MessageID)
	require.Equal(t, ep.ID, c.Delivery.EndpointID)
}

func testClaimWebhookSkipsDisabledAndRestingEndpoints(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	ep := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	f.queue(message(u, usermgmt.EventDeactivated, base))
	set := func(change func(e *usermgmt.WebhookEndpointRecord)) {
		e := ep
		change(&e)
		f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateWebhookEndpoint(f.ctx, &e) })
	}
	set(func(e *usermgmt.WebhookEndpointRecord) { e.DisabledAt = ptr(base) })
	_, err := f.claimHook(base.Add(time.Hour))
	requireCode(t, err, usermgmt.CodeNotFound, "disabled")
	set(func(e *usermgmt.WebhookEndpointRecord) { e.RestUntil = base.Add(2 * time.Hour) })
	_, err = f.claimHook(base.Add(time.Hour))
	requireCode(t, err, usermgmt.CodeNotFound, "resting")
	_, err = f.claimHook(base.Add(2 * time.Hour))
	require.NoError(t, err, "rested")
}

func testClaimWebhookConcurrentClaimsDiffer(t *testing.T, f *fixture) {
	ep := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	var ms []usermgmt.WebhookMessage
	for i := range 6 {
		u := f.mustUser(acme, string(rune('a'+i))+"@example.com", usermgmt.StatusActive)
		ms = append(ms, message(u, usermgmt.EventDeactivated, base))
	}
	f.queue(ms...)
	got := make([]uuid.UUID, 6)
	errs := race(6, func(i int) error {
		a, err := f.claimHook(base)
		got[i] = a.Delivery.MessageID
		return err
	})
	require.Equal(t, map[usermgmt.Code]int{"": 6}, codes(errs))
	slices.SortFunc(got, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	require.Len(t, slices.Compact(got), 6, "no delivery claimed twice")
	require.Len(t, f.hookDeliveries(acme, ep.ID), 6)
}

func testUpdateWebhookDeliveryThenListNewestFirst(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	ep := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	var ms []usermgmt.WebhookMessage
	for range 3 {
		ms = append(ms, message(u, usermgmt.EventDeactivated, base))
	}
	f.queue(ms...)
	d, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.WebhookDeliveryRecord, error) {
		return tx.GetWebhookDelivery(f.ctx, acme, ep.ID, ms[0].ID)
	})
	require.NoError(t, err)
	d = normDelivery(d)
	d.Status, d.Attempts, d.NextAttemptAt = usermgmt.WebhookDelivered, 3, nil
	d.LastAttemptAt, d.LastStatusCode, d.LastError = ptr(base.Add(time.Minute)), 204, "HTTP 500 before"
	d.ResponseExcerpt, d.DeliveredAt, d.ExpiresAt = "ok ✓", ptr(base.Add(time.Minute)), base.Add(time.Hour)
	f.setDelivery(d)
	got, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.WebhookDeliveryRecord, error) {
		return tx.GetWebhookDelivery(f.ctx, acme, ep.ID, ms[0].ID)
	})
	require.NoError(t, err)
	require.Equal(t, d, normDelivery(got))
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.WebhookDeliveryRecord, error) {
		return tx.GetWebhookDelivery(f.ctx, globex, ep.ID, ms[0].ID)
	})
	requireCode(t, err, usermgmt.CodeNotFound, "another tenant's delivery")

	list := f.hookDeliveries(acme, ep.ID)
	require.Equal(t, []uuid.UUID{ms[2].ID, ms[1].ID, ms[0].ID},
		[]uuid.UUID{list[0].MessageID, list[1].MessageID, list[2].MessageID})
	page := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.WebhookDeliveryRecord, error) {
		return tx.ListWebhookDeliveries(f.ctx, usermgmt.WebhookDeliveryListParams{TenantID: acme, EndpointID: ep.ID,
			Before: ms[2].ID, Limit: 1})
	})
	require.Len(t, page, 1)
	require.Equal(t, ms[1].ID, page[0].MessageID)

	gone := d
	gone.EndpointID = newID()
	err = f.do(func(tx usermgmt.Tx) error { return tx.UpdateWebhookDelivery(f.ctx, &gone) })
	requireCode(t, err, usermgmt.CodeNotFound, "no such delivery")
}

func testDeleteWebhookEndpointDeletesItsDeliveries(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	ep := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	kept := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	f.queue(message(u, usermgmt.EventDeactivated, base))
	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteWebhookEndpoint(f.ctx, acme, ep.ID) })
	require.Empty(t, f.hookDeliveries(acme, ep.ID))
	a, err := f.claimHook(base)
	require.NoError(t, err)
	require.Equal(t, kept.ID, a.Delivery.EndpointID)
	_, err = f.claimHook(base)
	requireCode(t, err, usermgmt.CodeNotFound, "the deleted endpoint's delivery is gone")
}

func testDeleteExpiredPrunesWebhooks(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	ep := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	other := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	done, pending := message(u, usermgmt.EventDeactivated, base), message(u, usermgmt.EventDeactivated, base)
	f.queue(done, pending)
	for _, e := range []usermgmt.WebhookEndpointRecord{ep, other} {
		d, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.WebhookDeliveryRecord, error) {
			return tx.GetWebhookDelivery(f.ctx, acme, e.ID, done.ID)
		})
		require.NoError(t, err)
		d.Status, d.NextAttemptAt, d.ExpiresAt = usermgmt.WebhookDelivered, nil, base.Add(time.Hour)
		if e.ID == other.ID {
			d.Status, d.ExpiresAt = usermgmt.WebhookFailed, base.Add(2*time.Hour)
		}
		f.setDelivery(d)
	}
	prune := func(now time.Time) usermgmt.Pruned {
		return mustTx(f, func(tx usermgmt.Tx) (usermgmt.Pruned, error) { return tx.DeleteExpired(f.ctx, now) })
	}
	p := prune(base.Add(time.Hour))
	require.Equal(t, 1, p.WebhookDeliveries)
	require.Zero(t, p.WebhookMessages, "the message still has a delivery")
	p = prune(base.Add(2 * time.Hour))
	require.Equal(t, 1, p.WebhookDeliveries)
	require.Equal(t, 1, p.WebhookMessages, "left with none")
	require.Len(t, f.hookDeliveries(acme, ep.ID), 1, "the pending one stays")

	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteWebhookEndpoint(f.ctx, acme, ep.ID) })
	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteWebhookEndpoint(f.ctx, acme, other.ID) })
	p = prune(base.Add(2 * time.Hour))
	require.Equal(t, 1, p.WebhookMessages, "its endpoints deleted")
}

func testEraseUserDeletesTheUsersWebhookMessages(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	v := f.mustUser(acme, "bob@example.com", usermgmt.StatusActive)
	ep := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	theirs := message(v, usermgmt.EventDeactivated, base)
	f.queue(message(u, usermgmt.EventDeactivated, base), message(u, usermgmt.EventDeactivated, base), theirs)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.EraseUser(f.ctx, acme, u.ID, base) })
	ds := f.hookDeliveries(acme, ep.ID)
	require.Len(t, ds, 1)
	require.Equal(t, theirs.ID, ds[0].MessageID)
	p := mustTx(f, func(tx usermgmt.Tx) (usermgmt.Pruned, error) { return tx.DeleteExpired(f.ctx, base) })
	require.Zero(t, p.WebhookMessages, "the messages went with their deliveries")
}

func testGetUsersReadsManyInTheTenant(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	v := f.mustUser(acme, "bob@example.com", usermgmt.StatusInvited)
	theirs := f.mustUser(globex, "ada@example.com", usermgmt.StatusActive)
	got := mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.User, error) {
		return tx.GetUsers(f.ctx, acme, []uuid.UUID{v.ID, u.ID, theirs.ID, newID(), u.ID})
	})
	slices.SortFunc(got, func(a, b usermgmt.User) int { return slices.Compare([]byte(a.Email), []byte(b.Email)) })
	require.Len(t, got, 2, "once each, the tenant's only")
	want := f.mustGetUser(acme, u.ID).User
	want.LockedUntil = nil
	got[0].CreatedAt, got[0].UpdatedAt, got[0].ActivatedAt = utc(got[0].CreatedAt), utc(got[0].UpdatedAt), utcPtr(got[0].ActivatedAt)
	want.CreatedAt, want.UpdatedAt, want.ActivatedAt = utc(want.CreatedAt), utc(want.UpdatedAt), utcPtr(want.ActivatedAt)
	require.Equal(t, want, got[0])
	require.Equal(t, v.ID, got[1].ID)
	require.Empty(t, mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.User, error) { return tx.GetUsers(f.ctx, acme, nil) }))
}

func testDeferAndResumeWebhookDeliveries(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	v := f.mustUser(acme, "bob@example.com", usermgmt.StatusActive)
	ep := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	other := f.mustEndpoint(acme, usermgmt.EventDeactivated)
	due, later := message(u, usermgmt.EventDeactivated, base), message(v, usermgmt.EventDeactivated, base.Add(time.Hour))
	f.queue(due, later)
	next := func(e usermgmt.WebhookEndpointRecord) map[uuid.UUID]time.Time {
		out := map[uuid.UUID]time.Time{}
		for _, d := range f.hookDeliveries(acme, e.ID) {
			out[d.MessageID] = *d.NextAttemptAt
		}
		return out
	}
	move := func(fn func(tx usermgmt.Tx) (int, error)) int { return mustTx(f, fn) }

	require.Equal(t, 1, move(func(tx usermgmt.Tx) (int, error) {
		return tx.DeferWebhookDeliveries(f.ctx, acme, ep.ID, base.Add(time.Minute))
	}), "only those due before")
	require.Equal(t, map[uuid.UUID]time.Time{due.ID: base.Add(time.Minute), later.ID: base.Add(time.Hour)}, next(ep))
	require.Equal(t, map[uuid.UUID]time.Time{due.ID: base, later.ID: base.Add(time.Hour)}, next(other), "another endpoint's stay")
	require.Zero(t, move(func(tx usermgmt.Tx) (int, error) {
		return tx.DeferWebhookDeliveries(f.ctx, globex, ep.ID, base.Add(2*time.Hour))
	}), "another tenant's endpoint")

	require.Equal(t, 2, move(func(tx usermgmt.Tx) (int, error) {
		return tx.ResumeWebhookDeliveries(f.ctx, acme, ep.ID, base)
	}))
	require.Equal(t, map[uuid.UUID]time.Time{due.ID: base, later.ID: base}, next(ep))
}
