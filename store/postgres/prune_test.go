package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The conformance suite sees refresh tokens only through their sessions;
// here the rows themselves are counted: pruning a session takes its
// refresh tokens, spent or not, with it (ON DELETE CASCADE), and leaves
// a live session's.
func TestDeleteExpiredTakesRefreshTokensAlong(t *testing.T) {
	s := newStore(t)
	db := openDB(t)
	u := newUser("t1", "a@x.io", usermgmt.StatusActive)
	gone := &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: u.ID, TokenHash: hashOf("s1"),
		RefreshHash: hashOf("r1"), CreatedAt: t0, IdleExpiresAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)}
	live := &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: u.ID, TokenHash: hashOf("s2"),
		RefreshHash: hashOf("r2"), CreatedAt: t0, IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(time.Hour)}
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateUser(ctx, u))
		require.NoError(t, tx.CreateSession(ctx, gone))
		require.NoError(t, tx.CreateSession(ctx, live))
		for i, sess := range []*usermgmt.SessionRecord{gone, live} {
			require.NoError(t, tx.RotateSession(ctx, usermgmt.SessionRotation{ID: sess.ID, OldRefresh: sess.RefreshHash,
				TokenHash: hashOf("s" + string(rune('a'+i))), RefreshHash: hashOf("r" + string(rune('a'+i))),
				IdleExpiresAt: sess.IdleExpiresAt}))
		}
		return nil
	})
	require.Equal(t, 4, count(t, db, s, "refresh_tokens", ""))

	var p usermgmt.Pruned
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
		p, err = tx.DeleteExpired(ctx, t0.Add(time.Minute))
		return
	})
	assert.Equal(t, usermgmt.Pruned{Sessions: 1}, p)
	assert.Equal(t, 0, count(t, db, s, "refresh_tokens", "session_id = ?", gone.ID))
	assert.Equal(t, 2, count(t, db, s, "refresh_tokens", "session_id = ?", live.ID))
	assert.Equal(t, 1, count(t, db, s, "sessions", ""))
}
