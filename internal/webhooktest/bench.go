package webhooktest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
)

// BenchmarkDelivery measures one worker delivering a backlog of b.N
// webhook messages on s to a local Receiver: b.N users join a group (one
// message each, queued in one statement), then one DeliverWebhooks pass
// posts them all. It reports msgs/s. s must be empty; ready, if not nil,
// runs before the pass (PostgreSQL: ANALYZE, as autovacuum would have).
func BenchmarkDelivery(b *testing.B, s usermgmt.Store, ready func()) {
	ctx := usermgmt.AsSystem(context.Background())
	m, err := usermgmt.New(s, usermgmt.Options{Mailer: mailertest.New(), SecretKey: bytes.Repeat([]byte{9}, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.DiscardHandler),
		WebhookAllowPrivate: true, WebhookAllowHTTP: true})
	if err != nil {
		b.Fatal(err)
	}
	rcv := New(b)
	if _, _, err := m.CreateWebhookEndpoint(ctx, "acme", usermgmt.WebhookEndpointInput{URL: rcv.URL,
		EventTypes: []usermgmt.EventType{usermgmt.EventGroupJoined}}); err != nil {
		b.Fatal(err)
	}
	ids := make([]uuid.UUID, b.N)
	now := time.Now().UTC().Truncate(time.Microsecond)
	err = s.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		for i := range ids {
			ids[i] = uuid.Must(uuid.NewV7())
			u := &usermgmt.UserRecord{User: usermgmt.User{ID: ids[i], TenantID: "acme", Email: fmt.Sprintf("u%d@acme.test", i),
				Status: usermgmt.StatusActive, Roles: []usermgmt.Role{usermgmt.RoleAgent},
				DirectRoles: []usermgmt.Role{usermgmt.RoleAgent}, ActivatedAt: &now, CreatedAt: now, UpdatedAt: now}}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.CreateGroup(ctx, "acme", usermgmt.NewGroup{DisplayName: "Everyone", Members: ids}); err != nil {
		b.Fatal(err)
	}
	if ready != nil {
		ready()
	}
	b.ReportAllocs()
	b.ResetTimer()
	n, err := m.DeliverWebhooks(ctx)
	b.StopTimer()
	if err != nil || n != b.N || len(rcv.Requests()) != b.N {
		b.Fatalf("DeliverWebhooks = %d, %v (%d received); want %d", n, err, len(rcv.Requests()), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
