package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// BenchmarkTouchSession is Authenticate's store call on a warm, small
// database: one UPDATE … FROM users … RETURNING.
func BenchmarkTouchSession(b *testing.B) {
	s := newStore(b)
	u := newUser("t1", "a@x.io", usermgmt.StatusActive, usermgmt.RoleAgent)
	sess := &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: u.ID,
		TokenHash: hashOf("s"), RefreshHash: hashOf("r"), Roles: u.Roles,
		CreatedAt: t0, IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(24 * time.Hour)}
	err := s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateSession(ctx, sess)
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		if _, err := s.TouchSession(ctx, sess.TokenHash, now, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
