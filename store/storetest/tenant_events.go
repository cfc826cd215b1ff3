package storetest

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The tenant's activity log as an export walks it (Tx.ListTenantEvents):
// every user's events, oldest first by id, between two exclusive ids.

func (f *fixture) tenantEvents(tenantID string, after, before uuid.UUID, limit int) []usermgmt.Event {
	f.t.Helper()
	return normEvents(mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.Event, error) {
		return tx.ListTenantEvents(f.ctx, tenantID, after, before, limit)
	}))
}

// tenantPages reads the tenant's log from after to before in pages of
// size, each keyed by the last id of the one before.
func (f *fixture) tenantPages(tenantID string, after, before uuid.UUID, size int) []usermgmt.Event {
	f.t.Helper()
	var all []usermgmt.Event
	for {
		page := f.tenantEvents(tenantID, after, before, size)
		require.LessOrEqual(f.t, len(page), size)
		all = append(all, page...)
		if len(page) < size {
			return all
		}
		after = page[len(page)-1].ID
	}
}

// boundAt is the smallest UUIDv7 of at's millisecond, as the Manager
// turns a time into a bound.
func boundAt(at time.Time) uuid.UUID {
	id := eventAt(usermgmt.UserRecord{}, at).ID
	clear(id[6:])
	return id
}

func oldestFirst(es []usermgmt.Event) []usermgmt.Event {
	out := normEvents(es)
	slices.SortFunc(out, func(a, b usermgmt.Event) int { return slices.Compare(a.ID[:], b.ID[:]) })
	return out
}

func testListTenantEventsOldestFirstAcrossUsers(t *testing.T, f *fixture) {
	a := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	b := f.mustUser(acme, "grace@example.com", usermgmt.StatusActive)
	g := f.mustUser(globex, "ada@example.com", usermgmt.StatusActive)
	// Months before now's (one partition on PostgreSQL), now's and after
	// (one each), and past the open-ended last partition's start.
	var mine, theirs []*usermgmt.Event
	for _, n := range []int{-3, 0, 1, 2, 5} {
		for _, d := range []time.Duration{26 * time.Hour, 26*time.Hour + time.Millisecond, 30 * time.Hour} {
			mine = append(mine, eventAt(a, monthStart(n).Add(d)), eventAt(b, monthStart(n).Add(d+time.Minute)))
			theirs = append(theirs, eventAt(g, monthStart(n).Add(d)))
		}
	}
	all := slices.Concat(mine, theirs)
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, e := range all {
		f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, e) })
	}
	deref := func(es []*usermgmt.Event) []usermgmt.Event {
		out := make([]usermgmt.Event, len(es))
		for i, e := range es {
			out[i] = *e
		}
		return oldestFirst(out)
	}
	want, wantG := deref(mine), deref(theirs)

	require.Equal(t, want, f.tenantEvents(acme, uuid.Nil, uuid.Nil, 100), "one page, every user's, by id")
	require.Equal(t, wantG, f.tenantEvents(globex, uuid.Nil, uuid.Nil, 100), "each tenant its own")
	require.Empty(t, f.tenantEvents("initech", uuid.Nil, uuid.Nil, 100), "an unknown tenant has none, no error")
	require.Equal(t, want, f.tenantPages(acme, uuid.Nil, uuid.Nil, 4), "pages of 4 across the months")
	require.Equal(t, want[:3], f.tenantEvents(acme, uuid.Nil, uuid.Nil, 3), "the limit")
	require.Empty(t, f.tenantEvents(acme, uuid.Nil, uuid.Nil, 0), "limit 0")

	require.Equal(t, want[5:], f.tenantEvents(acme, want[4].ID, uuid.Nil, 100), "after is exclusive")
	require.Equal(t, want[:4], f.tenantEvents(acme, uuid.Nil, want[4].ID, 100), "before is exclusive")
	require.Equal(t, want[3:8], f.tenantPages(acme, want[2].ID, want[8].ID, 2), "both, in pages")

	// Time bounds, as an export makes them: the month of now, from its
	// start (inclusive) to the next month's (exclusive).
	var month []usermgmt.Event
	for _, e := range want {
		if !e.CreatedAt.Before(monthStart(0)) && e.CreatedAt.Before(monthStart(1)) {
			month = append(month, e)
		}
	}
	require.Len(t, month, 6)
	require.Equal(t, month, f.tenantPages(acme, boundAt(monthStart(0)), boundAt(monthStart(1)), 5))
	first := month[0].CreatedAt
	require.Equal(t, month[:1], f.tenantEvents(acme, boundAt(first), boundAt(first.Add(time.Millisecond)), 100),
		"a millisecond's bounds hold its events")
	require.Empty(t, f.tenantEvents(acme, boundAt(monthStart(7)), uuid.Nil, 100), "nothing that late")
}

// testListTenantEventsFollowsRollbacksAndDrops: the walk sees what the
// users' logs hold, after a rolled-back append and after retention.
func testListTenantEventsFollowsRollbacksAndDrops(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	v := f.mustUser(acme, "grace@example.com", usermgmt.StatusActive)
	old := slices.Concat(f.retentionLog(u, [2]int{1, 3}), f.retentionLog(v, [2]int{1, 4}))
	kept := slices.Concat(f.retentionLog(u, [2]int{3, 3}), f.retentionLog(v, [2]int{3, 4}))

	err := f.do(func(tx usermgmt.Tx) error {
		require.NoError(t, tx.AppendEvent(f.ctx, eventAt(u, monthStart(2))))
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.Equal(t, oldestFirst(slices.Concat(old, kept)), f.tenantEvents(acme, uuid.Nil, uuid.Nil, 100),
		"a rolled-back append is not there")

	err = f.do(func(tx usermgmt.Tx) error {
		_, err := tx.DropEvents(f.ctx, monthStart(2))
		require.NoError(t, err)
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.Equal(t, oldestFirst(slices.Concat(old, kept)), f.tenantEvents(acme, uuid.Nil, uuid.Nil, 100),
		"a rolled-back drop drops nothing")

	require.Equal(t, len(old), f.dropEvents(monthStart(2)))
	require.Equal(t, oldestFirst(kept), f.tenantEvents(acme, uuid.Nil, uuid.Nil, 100), "dropped events are gone")
	e := eventAt(v, monthStart(3).Add(time.Hour))
	f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, e) })
	require.Equal(t, oldestFirst(slices.Concat(kept, []usermgmt.Event{*e})), f.tenantEvents(acme, uuid.Nil, uuid.Nil, 100))
}
