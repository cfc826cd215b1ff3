package usermgmt_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// readCountingStore counts the users its transactions read by id.
type readCountingStore struct {
	usermgmt.Store
	reads atomic.Int64
}

func (s *readCountingStore) RunInTx(ctx context.Context, o usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	return s.Store.RunInTx(ctx, o, func(ctx context.Context, tx usermgmt.Tx) error {
		return fn(ctx, readCountingTx{Tx: tx, s: s})
	})
}

type readCountingTx struct {
	usermgmt.Tx
	s *readCountingStore
}

func (t readCountingTx) GetUser(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.UserRecord, error) {
	t.s.reads.Add(1)
	return t.Tx.GetUser(ctx, tenantID, id)
}

// principalEnv is a Manager over a read-counting store, and a session of
// an hr_admin of the tenant.
func principalEnv(t *testing.T) (*env, *usermgmt.Manager, *readCountingStore, usermgmt.User, string) {
	t.Helper()
	e := mustManager(t)
	cs := &readCountingStore{Store: e.store}
	m, err := usermgmt.New(cs, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	u, _, s, _ := e.onboard(t, "hr@acme.test", usermgmt.RoleHRAdmin)
	return e, m, cs, u, s.Token
}

// actingAs authenticates token with m and returns a context acting as its
// principal, as httpapi does for each request.
func actingAs(t *testing.T, m *usermgmt.Manager, token string) context.Context {
	t.Helper()
	p, err := m.Authenticate(context.Background(), token)
	require.NoError(t, err)
	a := p.Actor()
	a.IP, a.UserAgent = "203.0.113.9", "test"
	return usermgmt.WithActor(context.Background(), a)
}

func TestPrincipalActor(t *testing.T) {
	t.Run("TheRequestThatAuthenticatedReadsTheActorOnce", func(t *testing.T) {
		_, m, cs, u, token := principalEnv(t)
		ctx := actingAs(t, m, token)
		cs.reads.Store(0)
		_, err := m.ListUsers(ctx, tenant, usermgmt.ListUsersQuery{})
		require.NoError(t, err)
		assert.Zero(t, cs.reads.Load(), "the permission check took the user Authenticate read")
		page, err := m.ListActivity(ctx, tenant, u.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		require.NotEmpty(t, page.Events)
		assert.NotEmpty(t, page.Events[0].ActorEmail, "the actor's roles, as read, still name actors")
		assert.Zero(t, cs.reads.Load(), "a page with events proves its user: no user is read")
	})

	t.Run("ItActsWithTheRolesReadThen", func(t *testing.T) {
		e, m, _, u, token := principalEnv(t)
		ctx := actingAs(t, m, token)
		_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		_, err = m.ListUsers(ctx, tenant, usermgmt.ListUsersQuery{})
		require.NoError(t, err, "within the request, the read of a moment before stands")
	})

	t.Run("AnActorKeptPastTheRequestIsReadAgain", func(t *testing.T) {
		e, m, cs, u, token := principalEnv(t)
		ctx := actingAs(t, m, token)
		_, err := e.m.RevokeRole(e.ctx, tenant, u.ID, usermgmt.RoleHRAdmin)
		require.NoError(t, err)
		e.clock.Advance(time.Second)
		cs.reads.Store(0)
		_, err = m.ListUsers(ctx, tenant, usermgmt.ListUsersQuery{})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "the role was revoked since")
		assert.Equal(t, int64(1), cs.reads.Load())
	})

	t.Run("AnotherUserOrTenantIsReadAgain", func(t *testing.T) {
		e, m, cs, _, token := principalEnv(t)
		agent := e.seedActive(t, tenant, "agent@acme.test", usermgmt.RoleAgent)
		p, err := m.Authenticate(context.Background(), token)
		require.NoError(t, err)
		a := p.Actor()
		a.UserID = agent.ID // the read is the hr_admin's, not the agent's
		cs.reads.Store(0)
		_, err = m.ListUsers(usermgmt.WithActor(context.Background(), a), tenant, usermgmt.ListUsersQuery{})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		assert.Equal(t, int64(1), cs.reads.Load())

		e.seedActive(t, "other", "hr@acme.test", usermgmt.RoleHRAdmin)
		ctx := usermgmt.WithActor(context.Background(), p.Actor())
		_, err = m.ListUsers(ctx, "other", usermgmt.ListUsersQuery{})
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err), "an id of this tenant only")
	})

	t.Run("AnotherManagersPrincipalIsReadAgain", func(t *testing.T) {
		e, m, cs, _, token := principalEnv(t)
		p, err := e.m.Authenticate(context.Background(), token)
		require.NoError(t, err)
		cs.reads.Store(0)
		_, err = m.ListUsers(usermgmt.WithActor(context.Background(), p.Actor()), tenant, usermgmt.ListUsersQuery{})
		require.NoError(t, err)
		assert.Equal(t, int64(1), cs.reads.Load())
	})
}
