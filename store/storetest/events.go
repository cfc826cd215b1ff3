package storetest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

func testListEventsNewestFirstKeyset(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	other := f.mustUser(acme, "grace@example.com", usermgmt.StatusActive)
	var mine, all []*usermgmt.Event
	for i := range 7 {
		e := newEvent(u, usermgmt.EventLoginSucceeded, fmt.Sprintf("event %d", i))
		e.ActorID = other.ID
		mine = append(mine, e)
		all = append(all, e, newEvent(other, usermgmt.EventRoleGranted, "agent"))
	}
	// Append in a shuffled order: newest first means by id (UUIDv7).
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, e := range all {
		f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, e) })
	}
	want := make([]usermgmt.Event, len(mine))
	for i, e := range mine {
		want[len(mine)-1-i] = *e
		want[len(mine)-1-i].ActorEmail = other.Email
	}
	want = normEvents(want)

	require.Equal(t, want, normEvents(f.events(acme, u.ID, uuid.Nil, 50)), "one page")
	var paged []usermgmt.Event
	before := uuid.Nil
	for range 10 {
		page := f.events(acme, u.ID, before, 3)
		require.LessOrEqual(t, len(page), 3)
		paged = append(paged, normEvents(page)...)
		if len(page) == 0 {
			break
		}
		before = page[len(page)-1].ID
	}
	require.Equal(t, want, paged, "pages of 3, keyed by the last id")

	require.Equal(t, want[:2], normEvents(f.events(acme, u.ID, newID(), 2)), "before a newer id")
	require.Equal(t, want[3:], normEvents(f.events(acme, u.ID, want[2].ID, 50)), "before is exclusive")
	require.Empty(t, f.events(acme, u.ID, want[len(want)-1].ID, 50), "nothing older than the oldest")
}

func testListEventsIsPerUser(t *testing.T, f *fixture) {
	a := f.mustUser(acme, "a@example.com", usermgmt.StatusActive)
	b := f.mustUser(acme, "b@example.com", usermgmt.StatusActive)
	ea := newEvent(a, usermgmt.EventDeactivated, "")
	eb := newEvent(b, usermgmt.EventActivated, "")
	f.mustDo(func(tx usermgmt.Tx) error {
		if err := tx.AppendEvent(f.ctx, ea); err != nil {
			return err
		}
		return tx.AppendEvent(f.ctx, eb)
	})
	require.Equal(t, normEvents([]usermgmt.Event{*ea}), normEvents(f.events(acme, a.ID, uuid.Nil, 50)))
	require.Equal(t, normEvents([]usermgmt.Event{*eb}), normEvents(f.events(acme, b.ID, uuid.Nil, 50)))
	require.Empty(t, f.events(acme, newID(), uuid.Nil, 50), "unknown user: no events, no error")
	require.Empty(t, f.events(globex, a.ID, uuid.Nil, 50), "other tenant")
}

// testListEventsNamesActor: each event comes with its actor's email, read
// from the users of the event's own tenant, by ListEvents and by
// ListTenantEvents.
func testListEventsNamesActor(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "subject@example.com", usermgmt.StatusActive)
	admin := f.mustUser(acme, "admin@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	stranger := f.mustUser(globex, "stranger@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	byAdmin := newEvent(u, usermgmt.EventRoleGranted, "agent")
	byAdmin.ActorID = admin.ID
	bySystem := newEvent(u, usermgmt.EventInvited, "")
	byStranger := newEvent(u, usermgmt.EventDeactivated, "")
	byStranger.ActorID = stranger.ID // an id of another tenant's user
	byGone := newEvent(u, usermgmt.EventActivated, "")
	byGone.ActorID = newID()
	byAdmin.ActorEmail = "ignored@example.com" // AppendEvent does not keep it
	for _, e := range []*usermgmt.Event{byAdmin, bySystem, byStranger, byGone} {
		f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, e) })
	}
	got := map[uuid.UUID]string{}
	for _, e := range f.events(acme, u.ID, uuid.Nil, 50) {
		got[e.ID] = e.ActorEmail
	}
	require.Equal(t, map[uuid.UUID]string{
		byAdmin.ID:    "admin@example.com",
		bySystem.ID:   "",
		byStranger.ID: "",
		byGone.ID:     "",
	}, got, "ActorEmail: the actor of the same tenant, else empty")

	page := f.events(acme, u.ID, bySystem.ID, 50)
	require.Len(t, page, 1, "before the second event: the first")
	require.Equal(t, byAdmin.ID, page[0].ID)
	require.Equal(t, "admin@example.com", page[0].ActorEmail, "paged with a cursor")

	for _, e := range f.tenantEvents(acme, uuid.Nil, uuid.Nil, 50) {
		require.Equal(t, got[e.ID], e.ActorEmail, "ListTenantEvents names the actor as ListEvents does")
	}
}
