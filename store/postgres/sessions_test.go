package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/usermgmt/usermgmt"
)

// readyKey carries together's ready func into a staged transaction.
type readyKey struct{}

// stallRefresh is a Store whose transactions, once they have read a
// refresh token, wait until every contender has read it (the ready func
// in the context): all of them see it current before any rotates it.
type stallRefresh struct {
	usermgmt.Store
	reads *atomic.Int32
}

func (s stallRefresh) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	return s.Store.RunInTx(ctx, opts, func(ctx context.Context, tx usermgmt.Tx) error { return fn(ctx, stallTx{tx, s.reads}) })
}

type stallTx struct {
	usermgmt.Tx
	reads *atomic.Int32
}

func (t stallTx) SessionByRefresh(ctx context.Context, h usermgmt.TokenHash) (usermgmt.SessionRecord, *usermgmt.SpentRefresh, error) {
	s, spent, err := t.Tx.SessionByRefresh(ctx, h)
	t.reads.Add(1)
	if ready, ok := ctx.Value(readyKey{}).(func()); ok {
		ready()
	}
	return s, spent, err
}

// Two instances refresh one token at once: both read it current, one
// rotates, the other's compare-and-set fails, and it answers with the
// winner's successor. Exactly one rotation happens; the person stays
// signed in.
func TestConcurrentRefreshAcrossInstances(t *testing.T) {
	var reads atomic.Int32
	in := twoManagers(t, func(s usermgmt.Store) usermgmt.Store { return stallRefresh{s, &reads} })
	ctx := context.Background()
	_, _, s := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	p, err := in.one.Authenticate(ctx, s.Token)
	require.NoError(t, err)

	reads.Store(0)
	var got [2]usermgmt.Session
	ok := together(2, func(i int, ready func()) bool {
		m := []*usermgmt.Manager{in.one, in.two}[i]
		var err error
		got[i], err = m.Refresh(context.WithValue(ctx, readyKey{}, ready), s.RefreshToken)
		assert.NoError(t, err, "instance %d", i)
		return err == nil
	})
	require.Equal(t, 2, ok)
	assert.Equal(t, got[0], got[1], "both get the same tokens")
	assert.Equal(t, int32(3), reads.Load(), "the loser read the token again after its rotation failed")
	db := openDB(t)
	assert.Equal(t, 2, count(t, db, in.store, "refresh_tokens", "session_id = ?", p.SessionID.String()),
		"one rotation: the first refresh token and one successor")
	_, err = in.two.Authenticate(ctx, got[0].Token)
	require.NoError(t, err)

	// Past the window the same reuse is theft.
	in.clock.Advance(10 * time.Second)
	_, err = in.two.Refresh(ctx, s.RefreshToken)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
	_, err = in.one.Authenticate(ctx, got[0].Token)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "the session is revoked")
}

// Sudo mode across instances: the session verified at sign-in may grant
// tenant_admin; past SudoWindow it may not until Sudo on any instance
// renews it, and a refresh keeps what Sudo set.
func TestSudoAcrossInstances(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	boss, secret, s := in.onboard(t, "boss@acme.test", usermgmt.RoleTenantAdmin)
	ana, _, _ := in.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	p, err := in.one.Authenticate(ctx, s.Token)
	require.NoError(t, err)
	require.False(t, p.VerifiedAt.IsZero(), "a new session starts verified")
	act := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: boss.ID, SessionID: p.SessionID})

	_, err = in.one.GrantRole(act, "acme", ana.ID, usermgmt.RoleTenantAdmin)
	require.NoError(t, err, "within SudoWindow of enrolment")
	in.clock.Advance(15 * time.Minute)
	err = in.two.ResetMFA(act, "acme", ana.ID)
	assert.Equal(t, usermgmt.CodeMFARequired, usermgmt.ErrorCode(err))

	require.NoError(t, in.two.Sudo(ctx, s.Token, in.code(t, secret)))
	s2, err := in.one.Refresh(ctx, s.RefreshToken)
	require.NoError(t, err)
	p2, err := in.two.Authenticate(ctx, s2.Token)
	require.NoError(t, err)
	assert.True(t, in.clock.Now().Equal(p2.VerifiedAt), "Sudo set it, Refresh kept it: %v", p2.VerifiedAt)
	require.NoError(t, in.one.ResetMFA(act, "acme", ana.ID))
}

// A schema at version 4, as a deployed app's is, gets verified_at and the
// spent refresh tokens' columns from the next Migrate: its sessions are
// kept, never verified (sudo asks them to confirm), and its spent refresh
// tokens stay spent with no successor (reuse still revokes).
func TestMigrateUpgradesAVersion4Schema(t *testing.T) {
	db, s := migratedBackTo(t, 4)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	sid := uuid.Must(uuid.NewV7())
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.sessions (id, tenant_id, user_id, token_hash, refresh_hash,
		created_at, idle_expires_at, expires_at) VALUES ($1, 't1', $2, $3, $4, $5, $6, $7)`,
		sid.String(), uuid.NewString(), hashArgOf("s1"), hashArgOf("r1"), t0, t0.Add(30*time.Minute), t0.Add(12*time.Hour))
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `INSERT INTO `+q+`.refresh_tokens (hash, session_id, spent) VALUES ($1, $2, true), ($3, $2, false)`,
		hashArgOf("r0"), sid.String(), hashArgOf("r1"))
	require.NoError(t, err)

	require.NoError(t, s.Migrate(ctx))
	assert.Equal(t, latestVersion(t), count(t, db, s, "schema_migrations", ""))
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		got, err := tx.GetSession(ctx, "t1", sid)
		require.NoError(t, err)
		assert.True(t, got.VerifiedAt.IsZero(), "never verified")
		_, spent, err := tx.SessionByRefresh(ctx, hashOf("r0"))
		require.NoError(t, err)
		require.NotNil(t, spent)
		assert.True(t, spent.At.IsZero())
		assert.Empty(t, spent.Successor)
		_, spent, err = tx.SessionByRefresh(ctx, hashOf("r1"))
		require.NoError(t, err)
		assert.Nil(t, spent, "the current one")
		return nil
	})
}

// A schema migrated before 0006 keeps its sessions and trusted devices:
// the devices get ids and list, the sessions read back with no last-seen
// time until their next request.
func TestMigrateUpgradesAVersion5Schema(t *testing.T) {
	db, s := migratedBackTo(t, 5)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	u := newUser("t1", "a@x.io", usermgmt.StatusActive)
	oldUser(t, db, s, u)
	sid := uuid.Must(uuid.NewV7())
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.sessions (id, tenant_id, user_id, token_hash, refresh_hash,
		created_at, idle_expires_at, expires_at) VALUES ($1, 't1', $2, $3, $4, $5, $6, $7)`,
		sid.String(), u.ID.String(), hashArgOf("s1"), hashArgOf("r1"), t0, t0.Add(30*time.Minute), t0.Add(12*time.Hour))
	require.NoError(t, err)
	for _, d := range []string{"d1", "d2"} {
		_, err = db.DB.ExecContext(ctx, `INSERT INTO `+q+`.devices (hash, tenant_id, user_id, created_at, expires_at)
			VALUES ($1, 't1', $2, $3, $4)`, hashArgOf(d), u.ID.String(), t0, t0.Add(time.Hour))
		require.NoError(t, err)
	}

	require.NoError(t, s.Migrate(ctx))
	assert.Equal(t, latestVersion(t), count(t, db, s, "schema_migrations", ""))
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		ss, err := tx.ListSessions(ctx, "t1", u.ID)
		require.NoError(t, err)
		require.Len(t, ss, 1)
		assert.True(t, ss[0].LastSeenAt.IsZero(), "not seen since the upgrade")
		ds, err := tx.ListDevices(ctx, "t1", u.ID)
		require.NoError(t, err)
		require.Len(t, ds, 2)
		assert.NotEqual(t, uuid.Nil, ds[0].ID)
		assert.NotEqual(t, ds[0].ID, ds[1].ID, "each device its own id")
		got, err := tx.DeleteDevice(ctx, "t1", u.ID, ds[0].ID)
		require.NoError(t, err)
		assert.Equal(t, ds[0].Hash, got.Hash)
		return nil
	})
	seen := t0.Add(2 * time.Minute) // past usermgmt.IdleStep: the touch writes
	got, _, err := s.TouchSession(ctx, hashOf("s1"), seen, 30*time.Minute)
	require.NoError(t, err)
	assert.True(t, seen.Equal(got.LastSeenAt))
}

// Listing a user's sessions and devices can go through the (tenant_id,
// user_id) indexes, not a scan of every tenant's rows (the planner is kept
// off sequential scans: the tables are empty here).
func TestListSessionsAndDevicesUseIndexes(t *testing.T) {
	db, s := migratedBackTo(t, latestVersion(t))
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	for table, index := range map[string]string{"sessions": "sessions_tenant_user", "devices": "devices_tenant_user"} {
		var plan string
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, `EXPLAIN SELECT * FROM `+q+`.`+table+
				` WHERE tenant_id = 't1' AND user_id = '`+uuid.NewString()+`' ORDER BY created_at DESC, id DESC`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					return err
				}
				plan += line + "\n"
			}
			return rows.Err()
		})
		require.NoError(t, err)
		assert.Contains(t, plan, index, "plan of %s:\n%s", table, plan)
	}
}

func hashArgOf(s string) []byte { h := hashOf(s); return h[:] }
