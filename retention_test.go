package usermgmt_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// With Options.ActivityRetention, PruneExpired drops the events older
// than it, counts them, and keeps the rest in order.
func TestPruneExpiredDropsActivityPastRetention(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.ActivityRetention = 90 * 24 * time.Hour })
	u, _ := e.invite(t, "ana@acme.test")
	activity := func(id usermgmt.User) []usermgmt.Event {
		page, err := e.m.ListActivity(e.ctx, tenant, id.ID, usermgmt.ActivityQuery{Limit: 100})
		require.NoError(t, err)
		return page.Events
	}
	old := len(activity(u)) + len(activity(e.admin))
	require.NotZero(t, old)

	e.clock.Advance(60 * 24 * time.Hour)
	_, err := e.m.GrantRole(e.ctx, tenant, u.ID, usermgmt.RoleSupervisor)
	require.NoError(t, err)
	kept := activity(u)[:1]
	require.Equal(t, usermgmt.EventRoleGranted, kept[0].Type)

	p, err := e.m.PruneExpired(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, p.Events, "nothing is 90 days old yet")

	e.clock.Advance(40 * 24 * time.Hour)
	p, err = e.m.PruneExpired(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, old, p.Events, "the events of 100 days ago, counted")
	assert.Equal(t, kept, activity(u), "the event of 40 days ago stays")
	assert.Empty(t, activity(e.admin))

	p, err = e.m.PruneExpired(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, p.Events, "dropped once")
}
