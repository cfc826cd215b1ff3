package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
)

// endpointCols are the columns of a WebhookEndpointRecord, in scanEndpoint's order.
const endpointCols = `tenant_id, id, url, description, event_types, secret, previous_secret, previous_secret_until,
	disabled_at, disabled_reason, failures, rest_until, created_at, updated_at`

// deliverySelect is a WebhookDeliveryRecord from webhook_deliveries d and
// webhook_messages m, in scanDelivery's order.
const deliverySelect = `d.tenant_id, d.endpoint_id, d.message_id, d.user_id, m.type, d.status, d.attempts,
	d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.response_excerpt, d.created_at,
	d.delivered_at, d.expires_at`

// hookQueries are the statements of webhooks (0014).
type hookQueries struct {
	createEndpoint, getEndpoint, lockEndpoint, listEndpoints, updateEndpoint, deleteEndpoint string
	queue, claim, getDelivery, updateDelivery, listDeliveries, listDeliveriesBefore          string
	getUsers, deferDeliveries, resumeDeliveries                                              string
}

func newHookQueries(schema string) hookQueries {
	r := func(q string) string { return strings.ReplaceAll(q, "{s}", schema) }
	e := func(alias string) string {
		return alias + strings.ReplaceAll(endpointCols, ", ", ", "+alias)
	}
	return hookQueries{
		createEndpoint: r(`INSERT INTO {s}.webhook_endpoints (` + endpointCols + `)
			VALUES ($1, $2, $3, $4, $5::text::text[], $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT DO NOTHING RETURNING id`),
		getEndpoint:   r(`SELECT ` + endpointCols + ` FROM {s}.webhook_endpoints WHERE tenant_id = $1 AND id = $2`),
		lockEndpoint:  r(`SELECT ` + endpointCols + ` FROM {s}.webhook_endpoints WHERE tenant_id = $1 AND id = $2 FOR UPDATE`),
		listEndpoints: r(`SELECT ` + endpointCols + ` FROM {s}.webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id`),
		updateEndpoint: r(`UPDATE {s}.webhook_endpoints SET url = $3, description = $4, event_types = $5::text::text[],
			secret = $6, previous_secret = $7, previous_secret_until = $8, disabled_at = $9, disabled_reason = $10,
			failures = $11, rest_until = $12, updated_at = $13
			WHERE tenant_id = $1 AND id = $2`),
		deleteEndpoint: r(`DELETE FROM {s}.webhook_endpoints WHERE tenant_id = $1 AND id = $2`),
		// One statement for any number of messages: each is matched with
		// the enabled endpoints of its tenant that want its type; a
		// message that none wants is not stored. The payloads travel as
		// text (JSON is text) and are stored as its UTF-8 bytes.
		queue: r(`WITH m AS (
				SELECT * FROM unnest($1::text::uuid[], $2::text::text[], $3::text::uuid[], $4::text::text[],
					$5::text::text[], $6::text::timestamptz[]) AS m(id, tenant_id, user_id, type, payload, created_at)),
			d AS (
				SELECT m.tenant_id, e.id AS endpoint_id, m.id AS message_id, m.user_id, m.created_at
				FROM m JOIN {s}.webhook_endpoints e ON e.tenant_id = m.tenant_id AND e.disabled_at IS NULL
					AND m.type = ANY (e.event_types)),
			ins AS (
				INSERT INTO {s}.webhook_messages (tenant_id, id, user_id, type, payload, created_at)
				SELECT m.tenant_id, m.id, m.user_id, m.type, convert_to(m.payload, 'UTF8'), m.created_at FROM m
				WHERE EXISTS (SELECT FROM d WHERE d.message_id = m.id))
			INSERT INTO {s}.webhook_deliveries (tenant_id, endpoint_id, message_id, user_id, status, next_attempt_at, created_at)
			SELECT tenant_id, endpoint_id, message_id, user_id, 'pending', created_at, created_at FROM d`),
		// The CTE walks webhook_deliveries_claim in claim order and locks
		// the first pending delivery that no other transaction holds (SKIP
		// LOCKED), whose endpoint is enabled and not resting, and that no
		// earlier pending message of its endpoint and user precedes (a
		// claimed one is still pending, so a user's next message waits for
		// the one in flight); the UPDATE moves it to the end of the claim
		// and returns it with its endpoint and payload. The walk stops at
		// the first row that passes (TestWebhookClaimWalksItsIndex): the
		// endpoint is a probe of its primary key per row, and the
		// deliveries of a resting or disabled endpoint are moved out of
		// the way (DeferWebhookDeliveries), so it seldom passes over any.
		// On a table never analyzed the planner may sort every due row
		// instead (BENCHMARKS.md). Arguments: until, now.
		claim: r(`WITH c AS (
				SELECT d.tenant_id, d.endpoint_id, d.message_id FROM {s}.webhook_deliveries d
				WHERE d.status = 'pending' AND d.next_attempt_at <= $2
					AND (SELECT e.disabled_at IS NULL AND (e.rest_until IS NULL OR e.rest_until <= $2)
						FROM {s}.webhook_endpoints e WHERE e.tenant_id = d.tenant_id AND e.id = d.endpoint_id)
					AND NOT EXISTS (SELECT FROM {s}.webhook_deliveries p WHERE p.status = 'pending'
						AND p.tenant_id = d.tenant_id AND p.endpoint_id = d.endpoint_id AND p.user_id = d.user_id
						AND p.message_id < d.message_id)
				ORDER BY d.next_attempt_at, d.message_id LIMIT 1 FOR UPDATE OF d SKIP LOCKED)
			UPDATE {s}.webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $1
			FROM c, {s}.webhook_endpoints e, {s}.webhook_messages m
			WHERE d.tenant_id = c.tenant_id AND d.endpoint_id = c.endpoint_id AND d.message_id = c.message_id
				AND e.tenant_id = d.tenant_id AND e.id = d.endpoint_id AND m.tenant_id = d.tenant_id AND m.id = d.message_id
			RETURNING ` + deliverySelect + `, ` + e("e.") + `, m.payload`),
		deferDeliveries: r(`UPDATE {s}.webhook_deliveries SET next_attempt_at = $3
			WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'pending' AND next_attempt_at < $3`),
		resumeDeliveries: r(`UPDATE {s}.webhook_deliveries SET next_attempt_at = $3
			WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'pending' AND next_attempt_at > $3`),
		getDelivery: r(`SELECT ` + deliverySelect + ` FROM {s}.webhook_deliveries d
			JOIN {s}.webhook_messages m ON m.tenant_id = d.tenant_id AND m.id = d.message_id
			WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.message_id = $3`),
		updateDelivery: r(`UPDATE {s}.webhook_deliveries SET status = $4, attempts = $5, next_attempt_at = $6,
			last_attempt_at = $7, last_status_code = $8, last_error = $9, response_excerpt = $10, delivered_at = $11,
			expires_at = $12
			WHERE tenant_id = $1 AND endpoint_id = $2 AND message_id = $3`),
		listDeliveries: r(`SELECT ` + deliverySelect + ` FROM {s}.webhook_deliveries d
			JOIN {s}.webhook_messages m ON m.tenant_id = d.tenant_id AND m.id = d.message_id
			WHERE d.tenant_id = $1 AND d.endpoint_id = $2 ORDER BY d.message_id DESC LIMIT $3`),
		listDeliveriesBefore: r(`SELECT ` + deliverySelect + ` FROM {s}.webhook_deliveries d
			JOIN {s}.webhook_messages m ON m.tenant_id = d.tenant_id AND m.id = d.message_id
			WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.message_id < $4 ORDER BY d.message_id DESC LIMIT $3`),
		getUsers: r(`SELECT ` + storedCols + `, NULL, NULL FROM {s}.users u WHERE tenant_id = $1 AND id = ANY ($2::text::uuid[])`),
	}
}

func (t *tx) hq() *hookQueries { return &t.s.hooks }

func (t *tx) CreateWebhookEndpoint(ctx context.Context, e *usermgmt.WebhookEndpointRecord) error {
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.hq().createEndpoint, e.TenantID, uuidArg(e.ID), e.URL, e.Description,
		arrayArg(e.EventTypes), sealedArg(e.Secret), bytesArg(e.PreviousSecret), timePtrArg(e.PreviousSecretUntil),
		timePtrArg(e.DisabledAt), e.DisabledReason, e.Failures, timeArg(e.RestUntil), e.CreatedAt, e.UpdatedAt).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "webhook endpoint %s already exists", e.ID)
	}
	return mapErr(err)
}

func (t *tx) GetWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.WebhookEndpointRecord, error) {
	return oneEndpoint(t.db.QueryRowContext(ctx, t.hq().getEndpoint, tenantID, uuidArg(id)))
}

func (t *tx) LockWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.WebhookEndpointRecord, error) {
	return oneEndpoint(t.db.QueryRowContext(ctx, t.hq().lockEndpoint, tenantID, uuidArg(id)))
}

func oneEndpoint(r rowScanner) (usermgmt.WebhookEndpointRecord, error) {
	e, err := scanEndpoint(r)
	if errors.Is(err, sql.ErrNoRows) {
		return e, errorf(usermgmt.CodeNotFound, "webhook endpoint not found")
	}
	return e, mapErr(err)
}

func (t *tx) ListWebhookEndpoints(ctx context.Context, tenantID string) ([]usermgmt.WebhookEndpointRecord, error) {
	rows, err := t.db.QueryContext(ctx, t.hq().listEndpoints, tenantID)
	return collect(rows, err, scanEndpoint, 4)
}

func (t *tx) UpdateWebhookEndpoint(ctx context.Context, e *usermgmt.WebhookEndpointRecord) error {
	res, err := t.db.ExecContext(ctx, t.hq().updateEndpoint, e.TenantID, uuidArg(e.ID), e.URL, e.Description,
		arrayArg(e.EventTypes), sealedArg(e.Secret), bytesArg(e.PreviousSecret), timePtrArg(e.PreviousSecretUntil),
		timePtrArg(e.DisabledAt), e.DisabledReason, e.Failures, timeArg(e.RestUntil), e.UpdatedAt)
	return oneRow(res, err, "webhook endpoint not found")
}

func (t *tx) DeleteWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) error {
	res, err := t.db.ExecContext(ctx, t.hq().deleteEndpoint, tenantID, uuidArg(id))
	return oneRow(res, err, "webhook endpoint not found")
}

func (t *tx) QueueWebhooks(ctx context.Context, ms []usermgmt.WebhookMessage) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	ids, users := make([]uuid.UUID, len(ms)), make([]uuid.UUID, len(ms))
	tenants, types, payloads, times := make([]string, len(ms)), make([]string, len(ms)), make([]string, len(ms)),
		make([]string, len(ms))
	for i, m := range ms {
		ids[i], users[i], tenants[i], types[i] = m.ID, m.UserID, m.TenantID, string(m.Type)
		payloads[i], times[i] = string(m.Payload), m.CreatedAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
	}
	res, err := t.db.ExecContext(ctx, t.hq().queue, uuidsArg(ids), arrayArg(tenants), uuidsArg(users), arrayArg(types),
		arrayArg(payloads), arrayArg(times))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}

// ClaimWebhook truncates now to the microsecond for the reason
// DeleteExpired gives.
func (t *tx) ClaimWebhook(ctx context.Context, now, until time.Time) (usermgmt.WebhookAttempt, error) {
	var (
		d  usermgmt.WebhookAttempt
		ds deliveryScan
		es endpointScan
	)
	err := t.db.QueryRowContext(ctx, t.hq().claim, until, now.Truncate(time.Microsecond)).
		Scan(append(append(ds.dest(), es.dest()...), &d.Payload)...)
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.WebhookAttempt{}, errorf(usermgmt.CodeNotFound, "no webhook delivery is due")
	}
	if err != nil {
		return usermgmt.WebhookAttempt{}, mapErr(err)
	}
	d.Delivery, d.Endpoint = ds.result(), es.result()
	return d, nil
}

func (t *tx) DeferWebhookDeliveries(ctx context.Context, tenantID string, endpointID uuid.UUID, until time.Time) (int, error) {
	return t.moveDeliveries(ctx, t.hq().deferDeliveries, tenantID, endpointID, until)
}

func (t *tx) ResumeWebhookDeliveries(ctx context.Context, tenantID string, endpointID uuid.UUID, now time.Time) (int, error) {
	return t.moveDeliveries(ctx, t.hq().resumeDeliveries, tenantID, endpointID, now)
}

func (t *tx) moveDeliveries(ctx context.Context, query, tenantID string, endpointID uuid.UUID, at time.Time) (int, error) {
	res, err := t.db.ExecContext(ctx, query, tenantID, uuidArg(endpointID), at.Truncate(time.Microsecond))
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}

func (t *tx) GetWebhookDelivery(ctx context.Context, tenantID string, endpointID, messageID uuid.UUID) (usermgmt.WebhookDeliveryRecord, error) {
	d, err := scanDelivery(t.db.QueryRowContext(ctx, t.hq().getDelivery, tenantID, uuidArg(endpointID), uuidArg(messageID)))
	if errors.Is(err, sql.ErrNoRows) {
		return d, errorf(usermgmt.CodeNotFound, "webhook delivery not found")
	}
	return d, mapErr(err)
}

func (t *tx) UpdateWebhookDelivery(ctx context.Context, d *usermgmt.WebhookDeliveryRecord) error {
	res, err := t.db.ExecContext(ctx, t.hq().updateDelivery, d.TenantID, uuidArg(d.EndpointID), uuidArg(d.MessageID),
		d.Status, d.Attempts, timePtrArg(d.NextAttemptAt), timePtrArg(d.LastAttemptAt), d.LastStatusCode, d.LastError,
		d.ResponseExcerpt, timePtrArg(d.DeliveredAt), timeArg(d.ExpiresAt))
	return oneRow(res, err, "webhook delivery not found")
}

func (t *tx) ListWebhookDeliveries(ctx context.Context, p usermgmt.WebhookDeliveryListParams) ([]usermgmt.WebhookDeliveryRecord, error) {
	if p.Limit <= 0 {
		return []usermgmt.WebhookDeliveryRecord{}, nil
	}
	query, args := t.hq().listDeliveries, []any{p.TenantID, uuidArg(p.EndpointID), p.Limit}
	if p.Before != uuid.Nil {
		query, args = t.hq().listDeliveriesBefore, append(args, uuidArg(p.Before))
	}
	rows, err := t.db.QueryContext(ctx, query, args...)
	return collect(rows, err, scanDelivery, min(p.Limit, 100))
}

func (t *tx) GetUsers(ctx context.Context, tenantID string, ids []uuid.UUID) ([]usermgmt.User, error) {
	if len(ids) == 0 {
		return []usermgmt.User{}, nil
	}
	rows, err := t.db.QueryContext(ctx, t.hq().getUsers, tenantID, uuidsArg(ids))
	return collectUsers(rows, err, len(ids))
}

// endpointScan receives endpointCols.
type endpointScan struct {
	e                      usermgmt.WebhookEndpointRecord
	types                  []string
	prevUntil, dis, rested sql.NullTime
}

func (s *endpointScan) dest() []any {
	e := &s.e
	return []any{&e.TenantID, &e.ID, &e.URL, &e.Description, pgdialect.Array(&s.types), &e.Secret, &e.PreviousSecret,
		&s.prevUntil, &s.dis, &e.DisabledReason, &e.Failures, &s.rested, &e.CreatedAt, &e.UpdatedAt}
}

func (s *endpointScan) result() usermgmt.WebhookEndpointRecord {
	e := s.e
	e.EventTypes = make([]usermgmt.EventType, len(s.types))
	for i, t := range s.types {
		e.EventTypes[i] = usermgmt.EventType(t)
	}
	e.PreviousSecretUntil, e.DisabledAt, e.RestUntil = timePtr(s.prevUntil), timePtr(s.dis), timeOrZero(s.rested)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e
}

func scanEndpoint(r rowScanner) (usermgmt.WebhookEndpointRecord, error) {
	var s endpointScan
	if err := r.Scan(s.dest()...); err != nil {
		return usermgmt.WebhookEndpointRecord{}, err
	}
	return s.result(), nil
}

// deliveryScan receives deliverySelect.
type deliveryScan struct {
	d                         usermgmt.WebhookDeliveryRecord
	typ                       string
	next, last, done, expires sql.NullTime
}

func (s *deliveryScan) dest() []any {
	d := &s.d
	return []any{&d.TenantID, &d.EndpointID, &d.MessageID, &d.UserID, &s.typ, &d.Status, &d.Attempts, &s.next, &s.last,
		&d.LastStatusCode, &d.LastError, &d.ResponseExcerpt, &d.CreatedAt, &s.done, &s.expires}
}

func (s *deliveryScan) result() usermgmt.WebhookDeliveryRecord {
	d := s.d
	d.EventType = usermgmt.EventType(s.typ)
	d.NextAttemptAt, d.LastAttemptAt, d.DeliveredAt = timePtr(s.next), timePtr(s.last), timePtr(s.done)
	d.ExpiresAt, d.CreatedAt = timeOrZero(s.expires), d.CreatedAt.UTC()
	return d
}

func scanDelivery(r rowScanner) (usermgmt.WebhookDeliveryRecord, error) {
	var s deliveryScan
	if err := r.Scan(s.dest()...); err != nil {
		return usermgmt.WebhookDeliveryRecord{}, err
	}
	return s.result(), nil
}
