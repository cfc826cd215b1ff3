package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// Two app instances (two *bun.DB pools) on one database: what one revokes,
// the other refuses at once, because nothing is cached in process.
func TestRevocationIsSeenByOtherPoolAtOnce(t *testing.T) {
	one := newStore(t)
	two, err := postgres.New(openDB(t), postgres.WithSchema(one.Schema()))
	require.NoError(t, err)
	ctx := context.Background()

	u := newUser("t1", "a@x.io", usermgmt.StatusActive, usermgmt.RoleAgent)
	sessions := make([]*usermgmt.SessionRecord, 3)
	inTx(t, one, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateUser(ctx, u))
		for i := range sessions {
			sessions[i] = &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: u.ID,
				TokenHash: hashOf("s" + string(rune('a'+i))), RefreshHash: hashOf("r" + string(rune('a'+i))),
				Roles: u.Roles, CreatedAt: t0, IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(12 * time.Hour)}
			require.NoError(t, tx.CreateSession(ctx, sessions[i]))
		}
		return nil
	})
	now := t0.Add(time.Minute)
	for _, s := range sessions {
		_, _, err := two.TouchSession(ctx, s.TokenHash, now, time.Hour)
		require.NoError(t, err, "both instances accept the session first")
	}

	// Logout through one.
	inTx(t, one, func(ctx context.Context, tx usermgmt.Tx) error {
		_, err := tx.RevokeSession(ctx, sessions[0].TokenHash)
		return err
	})
	_, _, err = two.TouchSession(ctx, sessions[0].TokenHash, now, time.Hour)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "logout")

	// Revoke by id through one.
	inTx(t, one, func(ctx context.Context, tx usermgmt.Tx) error { return tx.RevokeSessionByID(ctx, sessions[1].ID) })
	_, _, err = two.TouchSession(ctx, sessions[1].TokenHash, now, time.Hour)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "revoke by id")

	// Deactivation through one.
	_, _, err = two.TouchSession(ctx, sessions[2].TokenHash, now, time.Hour)
	require.NoError(t, err)
	u.Status = usermgmt.StatusDeactivated
	inTx(t, one, func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateUser(ctx, u) })
	_, _, err = two.TouchSession(ctx, sessions[2].TokenHash, now, time.Hour)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "deactivated")

	// Force logout through two, refused through one.
	u.Status = usermgmt.StatusActive
	inTx(t, one, func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateUser(ctx, u) })
	_, _, err = one.TouchSession(ctx, sessions[2].TokenHash, now, time.Hour)
	require.NoError(t, err)
	inTx(t, two, func(ctx context.Context, tx usermgmt.Tx) error {
		r, err := tx.RevokeUserExcept(ctx, "t1", u.ID, uuid.Nil)
		assert.Equal(t, usermgmt.Revoked{Sessions: 1}, r)
		return err
	})
	_, _, err = one.TouchSession(ctx, sessions[2].TokenHash, now, time.Hour)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "force logout")
}

// CountActiveWithRole holds a tenant lock: of two transactions that each
// see two admins and remove one, the second waits and sees one.
func TestCountActiveWithRoleSerializesAcrossPools(t *testing.T) {
	one := newStore(t)
	two, err := postgres.New(openDB(t), postgres.WithSchema(one.Schema()))
	require.NoError(t, err)
	a := newUser("t1", "a@x.io", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	b := newUser("t1", "b@x.io", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	inTx(t, one, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateUser(ctx, a))
		return tx.CreateUser(ctx, b)
	})
	removeIfNotLast := func(s usermgmt.Store, u *usermgmt.UserRecord, counted chan<- int, proceed <-chan struct{}) error {
		return s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			n, err := tx.CountActiveWithRole(ctx, "t1", usermgmt.RoleTenantAdmin)
			if err != nil {
				return err
			}
			counted <- n
			<-proceed
			if n <= 1 {
				return usermgmt.Errorf(usermgmt.CodeConflict, "last admin")
			}
			cp := *u
			cp.Status = usermgmt.StatusDeactivated
			return tx.UpdateUser(ctx, &cp)
		})
	}
	countedA, countedB := make(chan int, 1), make(chan int, 1)
	proceedA, proceedB := make(chan struct{}), make(chan struct{})
	close(proceedB)
	// A's transaction must end even when the test fails early: the schema
	// cannot be dropped while it holds the lock.
	releaseA := sync.OnceFunc(func() { close(proceedA) })
	defer releaseA()
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { errA <- removeIfNotLast(one, a, countedA, proceedA) }()
	assert.Equal(t, 2, <-countedA)
	go func() { errB <- removeIfNotLast(two, b, countedB, proceedB) }()
	select {
	case n := <-countedB:
		t.Fatalf("second count did not wait for the first transaction: %d", n)
	case <-time.After(200 * time.Millisecond):
	}
	releaseA()
	require.NoError(t, <-errA)
	assert.Equal(t, 1, <-countedB)
	assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(<-errB))
}
