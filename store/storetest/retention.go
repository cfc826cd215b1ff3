package storetest

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// Retention (Tx.DropEvents). A store may drop whole months (PostgreSQL
// drops monthly partitions), so what the suite requires is: every event
// of a month wholly before the cutoff is gone, every event at or after it
// stays, the count is what went, and the logs that stay still page
// newest first across month boundaries. The months are those after now:
// a store opens its months from now on (older events share one
// partition on PostgreSQL until they are dropped together).

// eventAt is an event of u whose UUIDv7 id and CreatedAt are both at, as
// the Manager's are.
func eventAt(u usermgmt.UserRecord, at time.Time) *usermgmt.Event {
	e := newEvent(u, usermgmt.EventLoginSucceeded, at.Format(time.DateOnly))
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(e.ID[:6], ms[2:])
	e.CreatedAt = at.UTC().Truncate(time.Microsecond)
	return e
}

// monthStart is the first instant (UTC) of the month n months after now's.
func monthStart(n int) time.Time {
	now := time.Now().UTC()
	return time.Date(now.Year(), now.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
}

// retentionLog appends to u's log two events on each of the days given
// as (months from now's, day of month), returns them oldest first.
func (f *fixture) retentionLog(u usermgmt.UserRecord, days ...[2]int) []usermgmt.Event {
	f.t.Helper()
	var es []usermgmt.Event
	for _, d := range days {
		day := monthStart(d[0]).AddDate(0, 0, d[1]-1)
		for _, at := range []time.Time{day.Add(9 * time.Hour), day.Add(17 * time.Hour)} {
			e := eventAt(u, at)
			f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, e) })
			es = append(es, *e)
		}
	}
	return es
}

func (f *fixture) dropEvents(before time.Time) int {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) (int, error) { return tx.DropEvents(f.ctx, before) })
}

// pages reads u's whole log in pages of size, newest first.
func (f *fixture) pages(u usermgmt.UserRecord, size int) []usermgmt.Event {
	f.t.Helper()
	var all []usermgmt.Event
	before := uuid.Nil
	for {
		page := f.events(u.TenantID, u.ID, before, size)
		all = append(all, normEvents(page)...)
		if len(page) < size {
			return all
		}
		before = page[len(page)-1].ID
	}
}

func newestFirst(es []usermgmt.Event) []usermgmt.Event {
	out := normEvents(es)
	slices.Reverse(out)
	return out
}

func testDropEventsDropsMonthsPastTheCutoff(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	v := f.mustUser(globex, "grace@example.com", usermgmt.StatusActive)
	// Before now's month; next month; the cutoff's month, before and
	// after the cutoff; four months ahead.
	gone := f.retentionLog(u, [2]int{-3, 5}, [2]int{1, 3}, [2]int{1, 28})
	either := f.retentionLog(u, [2]int{2, 2})
	kept := f.retentionLog(u, [2]int{2, 20}, [2]int{4, 1})
	other := f.retentionLog(v, [2]int{1, 15}, [2]int{2, 25})
	all := slices.Concat(gone, either, kept)
	require.Equal(t, newestFirst(all), f.pages(u, 3), "pages of 3 cross the months")

	require.Zero(t, f.dropEvents(monthStart(-6)), "nothing is that old")
	require.Equal(t, newestFirst(all), f.pages(u, 50))

	n := f.dropEvents(monthStart(2).AddDate(0, 0, 9))
	left := f.pages(u, 2)
	require.Subset(t, left, newestFirst(kept), "at or after the cutoff: kept")
	for _, e := range gone {
		require.NotContains(t, left, normEvents([]usermgmt.Event{e})[0], "a month wholly before the cutoff: gone")
	}
	require.Equal(t, newestFirst(other[2:]), f.pages(v, 1), "every tenant's log")
	require.Equal(t, len(all)-len(left)+2, n, "counted")
	require.Equal(t, left, f.pages(u, 50), "pages of 2 cross the months as one page does")
	require.Equal(t, newestFirst(kept), left[:len(kept)], "the newest")

	require.Zero(t, f.dropEvents(monthStart(2).AddDate(0, 0, 9)), "dropped once")
}

func testDropEventsRolledBackLeavesEvents(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	all := f.retentionLog(u, [2]int{1, 3}, [2]int{2, 3})
	err := f.do(func(tx usermgmt.Tx) error {
		n, err := tx.DropEvents(f.ctx, monthStart(3))
		require.NoError(t, err)
		require.Equal(t, len(all), n)
		page, err := tx.ListEvents(f.ctx, acme, u.ID, uuid.Nil, 50)
		require.NoError(t, err)
		require.Empty(t, page, "the transaction sees its drop")
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.Equal(t, newestFirst(all), f.pages(u, 50))
	e := eventAt(u, monthStart(1).AddDate(0, 0, 10))
	f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, e) })
}
