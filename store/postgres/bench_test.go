package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/internal/webhooktest"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
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
		if _, _, err := s.TouchSession(ctx, sess.TokenHash, now, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliverPending drains a backlog of b.N invitations that failed
// while the SMTP server was down, through one Manager with a capturing
// Mailer: per mail, the claim (UPDATE … SKIP LOCKED), the unsealing, the
// templates and the delete, in two transactions.
func BenchmarkDeliverPending(b *testing.B) {
	s := newStore(b)
	mail := mailertest.New()
	clock := testclock.New(t0)
	m, err := usermgmt.New(s, usermgmt.Options{Mailer: mail, Clock: clock.Now, SecretKey: bytes.Repeat([]byte{9}, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.DiscardHandler),
		MailRate: -1}) // the outbox's own speed, unpaced
	if err != nil {
		b.Fatal(err)
	}
	ctx := usermgmt.AsSystem(context.Background())
	for i := range b.N {
		mail.FailNext(errors.New("smtp: connection refused"))
		_, err := m.InviteUser(ctx, "acme", usermgmt.Invite{Email: fmt.Sprintf("p%d@acme.test", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		if usermgmt.ErrorCode(err) != usermgmt.CodeDeliveryFailed {
			b.Fatal(err)
		}
	}
	clock.Advance(time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	d, err := m.DeliverPending(ctx)
	b.StopTimer()
	if err != nil || d.Sent != b.N {
		b.Fatalf("DeliverPending = %+v, %v; want %d sent", d, err, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
}

// BenchmarkDeliverWebhooks: one worker posting a backlog to a local
// receiver (webhooktest.BenchmarkDelivery): per message a claim, the
// POST and the record, two transactions. The backlog is analyzed first,
// as autovacuum does with a table that grew by more than a tenth: on a
// table never analyzed the planner takes 2,000 due deliveries for two and
// sorts them all at each claim instead of walking the claim index.
func BenchmarkDeliverWebhooks(b *testing.B) {
	s := newStore(b)
	db := openDB(b)
	webhooktest.BenchmarkDelivery(b, s, func() {
		if _, err := db.DB.Exec(`ANALYZE "` + s.Schema() + `".webhook_deliveries`); err != nil {
			b.Fatal(err)
		}
	})
}
