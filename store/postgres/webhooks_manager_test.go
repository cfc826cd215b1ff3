package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/internal/webhooktest"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// hookManager is a Manager over s that may post to a local receiver, and
// retries after a second.
func hookManager(t *testing.T, s usermgmt.Store, clock *testclock.Clock) *usermgmt.Manager {
	t.Helper()
	m, err := usermgmt.New(s, usermgmt.Options{Mailer: mailertest.New(), Clock: clock.Now,
		SecretKey: bytes.Repeat([]byte{9}, 32), Links: usermgmt.Links{BaseURL: "https://app.example.com"},
		Logger: slog.New(slog.DiscardHandler), WebhookAllowPrivate: true, WebhookAllowHTTP: true,
		WebhookRetryDelay: time.Second, WebhookRetryMax: time.Second, WebhookMaxAttempts: 100, WebhookDisableAfter: 1000})
	require.NoError(t, err)
	return m
}

// TestWebhookMessageCommitsWithItsChangeOnPostgres: a deactivation whose
// commit fails, its message queued, leaves no message; one that commits
// leaves its message.
func TestWebhookMessageCommitsWithItsChangeOnPostgres(t *testing.T) {
	store, clock := newStore(t), testclock.New(time.Now().UTC())
	one := hookManager(t, store, clock)
	ctx := usermgmt.AsSystem(context.Background())
	ep, _, err := one.CreateWebhookEndpoint(ctx, "acme", usermgmt.WebhookEndpointInput{URL: "http://127.0.0.1:9/h",
		EventTypes: []usermgmt.EventType{usermgmt.EventDeactivated}})
	require.NoError(t, err)
	u, err := one.InviteUser(ctx, "acme", usermgmt.Invite{Email: "ann@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err)

	failing := hookManager(t, webhooktest.FailingCommit(store), clock)
	_, err = failing.Deactivate(ctx, "acme", u.ID)
	require.Equal(t, usermgmt.CodeInternal, usermgmt.ErrorCode(err))
	page, err := one.ListWebhookDeliveries(ctx, "acme", ep.ID, usermgmt.WebhookDeliveryQuery{})
	require.NoError(t, err)
	require.Empty(t, page.Deliveries)

	_, err = one.Deactivate(ctx, "acme", u.ID)
	require.NoError(t, err)
	page, err = one.ListWebhookDeliveries(ctx, "acme", ep.ID, usermgmt.WebhookDeliveryQuery{})
	require.NoError(t, err)
	require.Len(t, page.Deliveries, 1)
}

// TestWebhooksKeepEachUsersOrderAcrossInstances: two instances deliver a
// backlog at once to a receiver that fails a third of the requests; each
// user's messages are received, once delivered, in the order of the
// changes, and each is delivered once.
func TestWebhooksKeepEachUsersOrderAcrossInstances(t *testing.T) {
	s1 := newStore(t)
	s2, err := postgres.New(openDB(t), postgres.WithSchema(s1.Schema()))
	require.NoError(t, err)
	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	one, two := hookManager(t, s1, clock), hookManager(t, s2, clock)
	ctx := usermgmt.AsSystem(context.Background())

	var mu sync.Mutex
	delivered := map[string][]string{} // user email → event ids as delivered
	seen := map[string]int{}           // webhook-id → successes
	rng := rand.New(rand.NewPCG(1, 2))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p usermgmt.WebhookPayload
		require.NoError(t, json.NewDecoder(r.Body).Decode(&p))
		mu.Lock()
		defer mu.Unlock()
		if rng.IntN(3) == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		delivered[p.Data.User.Email] = append(delivered[p.Data.User.Email], p.Data.EventID.String())
		seen[r.Header.Get("webhook-id")]++
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	_, _, err = one.CreateWebhookEndpoint(ctx, "acme", usermgmt.WebhookEndpointInput{URL: srv.URL,
		EventTypes: []usermgmt.EventType{usermgmt.EventRoleGranted, usermgmt.EventRoleRevoked}})
	require.NoError(t, err)

	const users, changes = 8, 6
	var ids []uuid.UUID
	for i := range users {
		u, err := one.InviteUser(ctx, "acme", usermgmt.Invite{Email: fmt.Sprintf("u%d@acme.test", i),
			Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		ids = append(ids, u.ID)
	}
	for range changes / 2 {
		for _, id := range ids {
			_, err := one.GrantRole(ctx, "acme", id, usermgmt.RoleSupervisor)
			require.NoError(t, err)
			_, err = two.RevokeRole(ctx, "acme", id, usermgmt.RoleSupervisor)
			require.NoError(t, err)
		}
	}
	total := 0
	for round := 0; total < users*changes && round < 200; round++ {
		var wg sync.WaitGroup
		for _, m := range []*usermgmt.Manager{one, two} {
			wg.Go(func() {
				n, err := m.DeliverWebhooks(ctx)
				assert.NoError(t, err)
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		wg.Wait()
		clock.Advance(time.Second)
	}
	require.Equal(t, users*changes, total)
	for _, c := range seen {
		require.Equal(t, 1, c, "delivered once")
	}
	for i, id := range ids {
		page, err := one.ListActivity(ctx, "acme", id, usermgmt.ActivityQuery{Limit: 200})
		require.NoError(t, err)
		var want []string
		for j := len(page.Events) - 1; j >= 0; j-- {
			if e := page.Events[j]; e.Type == usermgmt.EventRoleGranted || e.Type == usermgmt.EventRoleRevoked {
				want = append(want, e.ID.String())
			}
		}
		require.Equal(t, want, delivered[fmt.Sprintf("u%d@acme.test", i)], "user %d in order", i)
	}
}
