package usermgmt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Webhooks tell a tenant's other systems (a CRM, a SIEM, provisioning
// into other tools) what happened to its users. A tenant_admin registers
// endpoints, each with the event types it wants and a secret; every
// change whose activity event is of a webhook type (WebhookEventTypes)
// writes, in the change's own transaction, a message with a snapshot of
// the user and a pending delivery to each endpoint that wants it, so a
// change never goes without its message nor a message without its
// change. Run (or DeliverWebhooks) posts them, signed as the Standard
// Webhooks specification says (webhook-id, webhook-timestamp,
// webhook-signature), one user's messages to an endpoint in order, and
// retries a failure with a backoff.

// webhookEventTypes is the one list of the event types webhooks carry:
// what happens to a user's account, not their sign-ins.
var webhookEventTypes = []EventType{
	EventUserCreated, EventInvited, EventInviteAccepted, EventActivated, EventDeactivated,
	EventRoleGranted, EventRoleRevoked, EventMFAEnrolled, EventMFAReset, EventPasswordChanged,
	EventPasswordResetDone, EventSessionsRevoked, EventImported, EventErased, EventProfileUpdated,
	EventDeprovisioned, EventReprovisioned, EventGroupJoined, EventGroupLeft,
}

// WebhookEventTypes returns the event types an endpoint may subscribe
// to, in a fixed order.
func WebhookEventTypes() []EventType { return slices.Clone(webhookEventTypes) }

// isWebhookType reports whether events of type t produce webhook messages.
func isWebhookType(t EventType) bool { return slices.Contains(webhookEventTypes, t) }

// WebhookEndpointInput is what a tenant_admin says of an endpoint.
type WebhookEndpointInput struct {
	// URL receives the messages: https (http only with
	// Options.WebhookAllowHTTP), with a host and no user or password.
	URL string
	// EventTypes are the types wanted: at least one, each of
	// WebhookEventTypes.
	EventTypes  []EventType
	Description string // at most 200 characters
}

// WebhookEndpoint is a registered receiver of a tenant's webhooks. Its
// secret never leaves the Manager after it was shown once.
type WebhookEndpoint struct {
	ID          uuid.UUID
	TenantID    string
	URL         string
	Description string
	EventTypes  []EventType // in the order of WebhookEventTypes
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// DisabledAt is set when a run of failed attempts
	// (Options.WebhookDisableAfter) disabled the endpoint; nothing is
	// queued for it or sent to it until EnableWebhookEndpoint.
	DisabledAt     *time.Time
	DisabledReason string
	Failures       int // failed attempts in a row
	// PreviousSecretUntil is, after RotateWebhookSecret, when the old
	// secret stops signing; nil when there is none.
	PreviousSecretUntil *time.Time
}

// WebhookEndpointRecord is a WebhookEndpoint as the store keeps it.
type WebhookEndpointRecord struct {
	WebhookEndpoint
	// Secret and PreviousSecret are sealed (AES-GCM) by the Manager:
	// opaque to the store. PreviousSecret is nil without a rotation.
	Secret, PreviousSecret []byte
	// RestUntil is when the endpoint, after a failed attempt, may be tried
	// again; zero when it is not resting.
	RestUntil time.Time
}

// The statuses of a WebhookDelivery.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed" // given up after Options.WebhookMaxAttempts
)

// WebhookDelivery is one message to one endpoint.
type WebhookDelivery struct {
	MessageID  uuid.UUID // the webhook-id header is "msg_" and its hex
	EndpointID uuid.UUID
	UserID     uuid.UUID // whom the message is about
	EventType  EventType
	Status     string // WebhookPending, WebhookDelivered or WebhookFailed
	Attempts   int
	// LastStatusCode is the HTTP status of the last answer; 0 before any,
	// or when the last attempt got none.
	LastStatusCode int
	LastError      string // why the last attempt failed; "" after a success
	// ResponseExcerpt is the start of the last answer's body (at most
	// 1 KiB of text).
	ResponseExcerpt string
	CreatedAt       time.Time
	LastAttemptAt   *time.Time
	NextAttemptAt   *time.Time // while pending, and its endpoint enabled
	DeliveredAt     *time.Time
}

// WebhookDeliveryRecord is a WebhookDelivery as the store keeps it.
type WebhookDeliveryRecord struct {
	WebhookDelivery
	TenantID string
	// ExpiresAt is when the store may delete a delivered or failed
	// delivery; zero while pending.
	ExpiresAt time.Time
}

// WebhookMessage is one message as queued: the payload is built once, so
// every attempt and a resend send the same bytes.
type WebhookMessage struct {
	ID        uuid.UUID // UUIDv7
	TenantID  string
	UserID    uuid.UUID
	Type      EventType
	Payload   []byte // JSON
	CreatedAt time.Time
}

// WebhookAttempt is a claimed delivery with what its attempt needs.
type WebhookAttempt struct {
	Delivery WebhookDeliveryRecord
	Endpoint WebhookEndpointRecord
	Payload  []byte
}

// WebhookDeliveryListParams selects a page of an endpoint's deliveries.
type WebhookDeliveryListParams struct {
	TenantID   string
	EndpointID uuid.UUID
	Before     uuid.UUID // a MessageID; uuid.Nil for the first page
	Limit      int
}

// WebhookDeliveryQuery selects a page of an endpoint's deliveries,
// newest first.
type WebhookDeliveryQuery struct {
	Limit  int    // 0 means 50; at most 200
	Cursor string // NextCursor of the previous page
}

// WebhookDeliveryPage is one page of an endpoint's deliveries.
type WebhookDeliveryPage struct {
	Deliveries []WebhookDelivery
	NextCursor string // "" when there is nothing older
}

// maxWebhookEndpoints bounds a tenant's endpoints: each is a copy of
// every change sent out.
const maxWebhookEndpoints = 20

// maxWebhookURL bounds an endpoint's URL.
const maxWebhookURL = 2000

// CreateWebhookEndpoint registers an endpoint for the tenant and returns
// it with its secret ("whsec_…"), which is shown this once. Only a
// tenant_admin (or trusted code) may, in sudo mode: the endpoint sends
// the tenant's user data out. It returns invalid (Field url, event_types
// or description) for a bad input or a tenant with 20 endpoints
// already, permission_denied and mfa_required.
func (m *Manager) CreateWebhookEndpoint(ctx context.Context, tenantID string, in WebhookEndpointInput) (WebhookEndpoint, string, error) {
	if err := checkTenant(tenantID); err != nil {
		return WebhookEndpoint{}, "", err
	}
	if err := m.checkWebhookInput(&in); err != nil {
		return WebhookEndpoint{}, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return WebhookEndpoint{}, "", internalf(err, "new id")
	}
	secret := newWebhookSecret()
	now := m.now().UTC()
	rec := WebhookEndpointRecord{WebhookEndpoint: WebhookEndpoint{ID: id, TenantID: tenantID, URL: in.URL,
		Description: in.Description, EventTypes: in.EventTypes, CreatedAt: now, UpdatedAt: now},
		Secret: m.sealWebhookSecret(secret, id)}
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage webhooks", true); err != nil {
			return err
		}
		all, err := tx.ListWebhookEndpoints(ctx, tenantID)
		if err != nil {
			return err
		}
		if len(all) >= maxWebhookEndpoints {
			return Errorf(CodeInvalid, "a tenant may have at most %d webhook endpoints", maxWebhookEndpoints)
		}
		return tx.CreateWebhookEndpoint(ctx, &rec)
	})
	if err != nil {
		return WebhookEndpoint{}, "", wrapInternal(err)
	}
	return rec.WebhookEndpoint, secret, nil
}

// ListWebhookEndpoints returns the tenant's endpoints, oldest first. Only
// a tenant_admin (or trusted code) may: permission_denied otherwise.
func (m *Manager) ListWebhookEndpoints(ctx context.Context, tenantID string) ([]WebhookEndpoint, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	var out []WebhookEndpoint
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage webhooks", false); err != nil {
			return err
		}
		recs, err := tx.ListWebhookEndpoints(ctx, tenantID)
		out = make([]WebhookEndpoint, len(recs))
		for i, r := range recs {
			out[i] = r.WebhookEndpoint
		}
		return err
	})
	if err != nil {
		return nil, wrapInternal(err)
	}
	return out, nil
}

// GetWebhookEndpoint returns one of the tenant's endpoints. It returns
// not_found (another tenant's included) and permission_denied.
func (m *Manager) GetWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) (WebhookEndpoint, error) {
	if err := checkTenant(tenantID); err != nil {
		return WebhookEndpoint{}, err
	}
	var rec WebhookEndpointRecord
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage webhooks", false); err != nil {
			return err
		}
		var err error
		rec, err = tx.GetWebhookEndpoint(ctx, tenantID, id)
		return err
	})
	if err != nil {
		return WebhookEndpoint{}, wrapInternal(err)
	}
	return rec.WebhookEndpoint, nil
}

// UpdateWebhookEndpoint replaces the endpoint's URL, event types and
// description; its secret, state and deliveries stay. Only a
// tenant_admin (or trusted code) may, in sudo mode (a new URL sends the
// data elsewhere). It returns invalid as CreateWebhookEndpoint,
// not_found, permission_denied and mfa_required.
func (m *Manager) UpdateWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID, in WebhookEndpointInput) (WebhookEndpoint, error) {
	if err := checkTenant(tenantID); err != nil {
		return WebhookEndpoint{}, err
	}
	if err := m.checkWebhookInput(&in); err != nil {
		return WebhookEndpoint{}, err
	}
	return m.changeEndpoint(ctx, tenantID, id, true, func(_ context.Context, _ Tx, e *WebhookEndpointRecord) error {
		e.URL, e.EventTypes, e.Description = in.URL, in.EventTypes, in.Description
		return nil
	})
}

// EnableWebhookEndpoint enables an endpoint that failed attempts
// disabled: its pending deliveries are due at once, and new messages are
// queued for it again. Enabling an enabled endpoint changes nothing. It
// returns not_found and permission_denied.
func (m *Manager) EnableWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) (WebhookEndpoint, error) {
	if err := checkTenant(tenantID); err != nil {
		return WebhookEndpoint{}, err
	}
	e, err := m.changeEndpoint(ctx, tenantID, id, false, func(ctx context.Context, tx Tx, e *WebhookEndpointRecord) error {
		if e.DisabledAt == nil && e.RestUntil.IsZero() {
			return nil
		}
		e.DisabledAt, e.DisabledReason, e.Failures, e.RestUntil = nil, "", 0, time.Time{}
		_, err := tx.ResumeWebhookDeliveries(ctx, tenantID, id, m.now().UTC())
		return err
	})
	if err == nil {
		m.kickWebhooks()
	}
	return e, err
}

// RotateWebhookSecret gives the endpoint a new secret and returns it, shown
// this once. The old one keeps signing beside it (two signatures in
// webhook-signature) for Options.WebhookSecretGrace, so that receivers
// can switch without losing a message. Only a tenant_admin (or trusted
// code) may, in sudo mode. It returns not_found, permission_denied and
// mfa_required.
func (m *Manager) RotateWebhookSecret(ctx context.Context, tenantID string, id uuid.UUID) (string, error) {
	if err := checkTenant(tenantID); err != nil {
		return "", err
	}
	secret := newWebhookSecret()
	_, err := m.changeEndpoint(ctx, tenantID, id, true, func(_ context.Context, _ Tx, e *WebhookEndpointRecord) error {
		until := m.now().UTC().Add(m.opts.WebhookSecretGrace)
		e.PreviousSecret, e.PreviousSecretUntil = e.Secret, &until
		e.Secret = m.sealWebhookSecret(secret, id)
		return nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// DeleteWebhookEndpoint deletes the endpoint with its deliveries. Only a
// tenant_admin (or trusted code) may, in sudo mode: deleting the endpoint
// of a SIEM silences it, which a stolen session must not do unseen. It
// returns not_found, permission_denied and mfa_required.
func (m *Manager) DeleteWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage webhooks", true); err != nil {
			return err
		}
		return tx.DeleteWebhookEndpoint(ctx, tenantID, id)
	})
	return wrapInternal(err)
}

// changeEndpoint runs one change of the tenant's endpoint id, locked, by
// a tenant_admin (in sudo mode when sudo), and stores it.
func (m *Manager) changeEndpoint(ctx context.Context, tenantID string, id uuid.UUID, sudo bool,
	change func(context.Context, Tx, *WebhookEndpointRecord) error) (WebhookEndpoint, error) {
	var rec WebhookEndpointRecord
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage webhooks", sudo); err != nil {
			return err
		}
		var err error
		if rec, err = tx.LockWebhookEndpoint(ctx, tenantID, id); err != nil {
			return err
		}
		if err := change(ctx, tx, &rec); err != nil {
			return err
		}
		rec.UpdatedAt = m.now().UTC()
		return tx.UpdateWebhookEndpoint(ctx, &rec)
	})
	if err != nil {
		return WebhookEndpoint{}, wrapInternal(err)
	}
	return rec.WebhookEndpoint, nil
}

// ListWebhookDeliveries returns a page of the deliveries to the tenant's
// endpoint, newest message first. It returns invalid for a bad limit or
// cursor, not_found for the endpoint and permission_denied.
func (m *Manager) ListWebhookDeliveries(ctx context.Context, tenantID string, endpointID uuid.UUID, q WebhookDeliveryQuery) (WebhookDeliveryPage, error) {
	if err := checkTenant(tenantID); err != nil {
		return WebhookDeliveryPage{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return WebhookDeliveryPage{}, err
	}
	before, err := m.idCursor(q.Cursor, "webhook_deliveries", tenantID, endpointID.String())
	if err != nil {
		return WebhookDeliveryPage{}, err
	}
	var recs []WebhookDeliveryRecord
	err = m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage webhooks", false); err != nil {
			return err
		}
		if _, err := tx.GetWebhookEndpoint(ctx, tenantID, endpointID); err != nil {
			return err
		}
		var err error
		recs, err = tx.ListWebhookDeliveries(ctx, WebhookDeliveryListParams{TenantID: tenantID,
			EndpointID: endpointID, Before: before, Limit: limit + 1})
		return err
	})
	if err != nil {
		return WebhookDeliveryPage{}, wrapInternal(err)
	}
	var page WebhookDeliveryPage
	if len(recs) > limit {
		recs = recs[:limit]
		page.NextCursor = m.encodeCursor("webhook_deliveries", tenantID, endpointID.String(),
			recs[limit-1].MessageID.String())
	}
	page.Deliveries = make([]WebhookDelivery, len(recs))
	for i, r := range recs {
		if r.NextAttemptAt != nil && !r.NextAttemptAt.Before(webhookNever) {
			r.NextAttemptAt = nil // its endpoint is disabled
		}
		page.Deliveries[i] = r.WebhookDelivery
	}
	return page, nil
}

// ResendWebhook queues the message to the endpoint again, as it was
// first sent (the same webhook-id and payload), delivered or not: it is
// due at once, with a fresh run of attempts, and the user's later
// messages to the endpoint still pending wait for it (order per user).
// A resend of a delivery in flight may send it twice; receivers drop the
// repeat by its webhook-id. It returns not_found for an
// endpoint or message of no delivery (a delivery is kept for
// Options.WebhookRetention after its end) and permission_denied.
func (m *Manager) ResendWebhook(ctx context.Context, tenantID string, endpointID, messageID uuid.UUID) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage webhooks", false); err != nil {
			return err
		}
		d, err := tx.GetWebhookDelivery(ctx, tenantID, endpointID, messageID)
		if err != nil {
			return err
		}
		now := m.now().UTC()
		d.Status, d.Attempts, d.NextAttemptAt = WebhookPending, 0, &now
		d.LastError, d.LastStatusCode, d.ResponseExcerpt = "", 0, ""
		d.DeliveredAt, d.ExpiresAt = nil, time.Time{}
		return tx.UpdateWebhookDelivery(ctx, &d)
	})
	if err != nil {
		return wrapInternal(err)
	}
	m.kickWebhooks()
	return nil
}

// checkWebhookInput checks and normalises in: the URL (see
// WebhookEndpointInput), the event types (known, without repeats, put in
// the order of WebhookEventTypes) and the description.
func (m *Manager) checkWebhookInput(in *WebhookEndpointInput) error {
	raw := strings.TrimSpace(in.URL)
	u, err := url.Parse(raw)
	switch {
	case raw == "" || err != nil || !u.IsAbs():
		return fieldErrorf(FieldURL, CodeInvalid, "the URL must be an absolute https URL")
	case len(raw) > maxWebhookURL:
		return fieldErrorf(FieldURL, CodeInvalid, "the URL is longer than %d characters", maxWebhookURL)
	case u.Scheme != "https" && !(u.Scheme == "http" && m.opts.WebhookAllowHTTP):
		return fieldErrorf(FieldURL, CodeInvalid, "the URL must use https")
	case u.User != nil:
		return fieldErrorf(FieldURL, CodeInvalid, "the URL must not hold a user name or password")
	case u.Hostname() == "":
		return fieldErrorf(FieldURL, CodeInvalid, "the URL must name a host")
	case u.Fragment != "" || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fieldErrorf(FieldURL, CodeInvalid, "the URL must not hold a fragment, spaces or control characters")
	}
	in.URL = raw
	if len(in.EventTypes) == 0 {
		return fieldErrorf(FieldEventTypes, CodeInvalid, "choose at least one event type")
	}
	for _, t := range in.EventTypes {
		if !isWebhookType(t) {
			return fieldErrorf(FieldEventTypes, CodeInvalid, "%q is not a webhook event type", t)
		}
	}
	var types []EventType
	for _, t := range webhookEventTypes {
		if slices.Contains(in.EventTypes, t) {
			types = append(types, t)
		}
	}
	in.EventTypes = types
	desc, cerr := cleanText(in.Description, "the description", 200)
	if cerr != nil {
		cerr.Field = FieldDescription
		return cerr
	}
	in.Description = desc
	return nil
}

// webhookSecretPrefix starts every endpoint secret, as the Standard
// Webhooks specification has it; base64 of the key follows.
const webhookSecretPrefix = "whsec_"

// newWebhookSecret returns a new secret: 32 random bytes.
func newWebhookSecret() string {
	key := make([]byte, 32)
	rand.Read(key)
	return webhookSecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// sealWebhookSecret encrypts an endpoint's secret for the store, bound to
// the endpoint.
func (m *Manager) sealWebhookSecret(secret string, id uuid.UUID) []byte {
	return sealWith(m.webhookAEAD, []byte(secret), id[:])
}

// openWebhookKey returns the signing key of a sealed secret. A changed
// SecretKey fails.
func (m *Manager) openWebhookKey(sealed []byte, id uuid.UUID) ([]byte, error) {
	plain, err := openWith(m.webhookAEAD, sealed, id[:])
	if err != nil {
		return nil, internalf(err, "the webhook secret cannot be opened; was Options.SecretKey changed?")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(plain), webhookSecretPrefix))
	if err != nil {
		return nil, internalf(err, "the webhook secret is corrupt")
	}
	return key, nil
}
