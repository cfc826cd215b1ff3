package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The webhook claim walks webhook_deliveries_claim in claim order and
// stops at the first delivery that passes: no sequential scan of the
// deliveries and no sort, however large the backlog. The backlog is 2,000
// due deliveries of 200 users (ten each, so most wait for an earlier one)
// and 2,000 delivered ones, analyzed as autovacuum would.
func TestWebhookClaimWalksItsIndex(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	now := t0.Add(time.Hour)
	ep := usermgmt.WebhookEndpointRecord{WebhookEndpoint: usermgmt.WebhookEndpoint{ID: uuid.Must(uuid.NewV7()),
		TenantID: "t1", URL: "https://hooks.example.com/", EventTypes: []usermgmt.EventType{usermgmt.EventDeactivated},
		CreatedAt: t0, UpdatedAt: t0}, Secret: []byte("sealed")}
	users := make([]uuid.UUID, 200)
	for i := range users {
		users[i] = uuid.Must(uuid.NewV7())
	}
	var ms []usermgmt.WebhookMessage
	for i := range 4000 {
		ms = append(ms, usermgmt.WebhookMessage{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: users[i%200],
			Type: usermgmt.EventDeactivated, Payload: []byte(`{}`), CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateWebhookEndpoint(ctx, &ep))
		_, err := tx.QueueWebhooks(ctx, ms)
		return err
	})
	_, err := db.DB.ExecContext(ctx, `UPDATE "`+s.Schema()+`".webhook_deliveries SET status = 'delivered',
		next_attempt_at = NULL WHERE message_id IN (SELECT message_id FROM "`+s.Schema()+`".webhook_deliveries
		ORDER BY message_id LIMIT 2000)`)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE "`+s.Schema()+`".webhook_deliveries`)
	require.NoError(t, err)
	var a usermgmt.WebhookAttempt
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
		a, err = tx.ClaimWebhook(ctx, now, now.Add(time.Minute))
		return err
	})
	require.Equal(t, ms[2000].ID, a.Delivery.MessageID)

	name := preparedLike(t, db.DB, "%FOR UPDATE OF d SKIP LOCKED%",
		"the claim statement is prepared on the store's connection (pgx caches statements)")
	at := "'" + now.Format(time.RFC3339Nano) + "'"
	eachPlan(t, db.DB, name, `(`+at+`, `+at+`)`, func(mode, plan string) {
		inOrder := strings.Contains(plan, "Index Scan using webhook_deliveries_claim on") &&
			!strings.Contains(plan, "Seq Scan on webhook_deliveries") && !strings.Contains(plan, "Sort")
		assert.True(t, inOrder, "%s: the claim must walk webhook_deliveries_claim, with no scan or sort:\n%s", mode, plan)
	})
}
