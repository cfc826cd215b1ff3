package usermgmt

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
)

// hookTx is the Tx every Manager transaction works with (inTx): the
// store's, whose AppendEvent and AppendEvents also make a webhook message
// of each event of a webhook type, with the user's snapshot as it is
// then; inTx queues them all with one statement once the change has
// succeeded (flush). Other events (sign-ins, say) cost nothing more.
type hookTx struct {
	Tx
	pending []WebhookMessage
}

func (t *hookTx) AppendEvent(ctx context.Context, e *Event) error {
	u := e.user
	e.user = nil // the store keeps the event, not the user
	if err := t.Tx.AppendEvent(ctx, e); err != nil {
		return err
	}
	if !isWebhookType(e.Type) {
		return nil
	}
	return t.collect(ctx, []Event{*e}, []*User{u})
}

func (t *hookTx) AppendEvents(ctx context.Context, es []Event) error {
	users := make([]*User, len(es))
	hooked := false
	for i := range es {
		users[i], es[i].user = es[i].user, nil
		hooked = hooked || isWebhookType(es[i].Type)
	}
	if err := t.Tx.AppendEvents(ctx, es); err != nil {
		return err
	}
	if !hooked {
		return nil
	}
	return t.collect(ctx, es, users)
}

// EraseUser also drops the user's messages made in this transaction:
// those queued before it, the store deletes.
func (t *hookTx) EraseUser(ctx context.Context, tenantID string, userID uuid.UUID, now time.Time) error {
	t.pending = slices.DeleteFunc(t.pending, func(m WebhookMessage) bool {
		return m.TenantID == tenantID && m.UserID == userID
	})
	return t.Tx.EraseUser(ctx, tenantID, userID, now)
}

// collect makes a webhook message of each event of es of a webhook type,
// with a snapshot of its user: users[i] when the event was made with the
// whole user, else read here (a group change logs events with only the
// members' ids: they are read in one query a tenant).
func (t *hookTx) collect(ctx context.Context, es []Event, users []*User) error {
	missing := map[string][]uuid.UUID{}
	for i, e := range es {
		if isWebhookType(e.Type) && (users[i] == nil || users[i].Email == "") {
			missing[e.TenantID] = append(missing[e.TenantID], e.UserID)
		}
	}
	read := map[uuid.UUID]*User{}
	for tenantID, ids := range missing {
		us, err := t.Tx.GetUsers(ctx, tenantID, ids)
		if err != nil {
			return err
		}
		for i := range us {
			read[us[i].ID] = &us[i]
		}
	}
	for i, e := range es {
		u := users[i]
		if u == nil || u.Email == "" {
			u = read[e.UserID]
		}
		if !isWebhookType(e.Type) || u == nil {
			continue
		}
		msg, err := webhookMessage(&e, u)
		if err != nil {
			return err
		}
		t.pending = append(t.pending, msg)
	}
	return nil
}

// flush queues the messages made in the transaction, in one statement,
// and says how many deliveries that made.
func (t *hookTx) flush(ctx context.Context) (int, error) {
	if len(t.pending) == 0 {
		return 0, nil
	}
	n, err := t.Tx.QueueWebhooks(ctx, t.pending)
	t.pending = nil
	return n, err
}

// WebhookPayload is the body of every webhook message: JSON, the same
// bytes at every attempt and resend.
type WebhookPayload struct {
	Type      EventType          `json:"type"`
	Timestamp string             `json:"timestamp"` // when it happened: RFC 3339, UTC, milliseconds
	Data      WebhookPayloadData `json:"data"`
}

// WebhookPayloadData says what happened, to whom and by whom.
type WebhookPayloadData struct {
	EventID  uuid.UUID    `json:"event_id"` // the activity event's id
	TenantID string       `json:"tenant_id"`
	User     WebhookUser  `json:"user"` // as the change left them
	Actor    WebhookActor `json:"actor"`
	Detail   string       `json:"detail"` // the event's Detail: a role, a group's name…
}

// WebhookUser is the snapshot of the user a webhook message is about.
type WebhookUser struct {
	ID          uuid.UUID `json:"id"`
	Email       string    `json:"email"`
	Status      Status    `json:"status"`
	Roles       []Role    `json:"roles"`
	DisplayName string    `json:"display_name"`
	GivenName   string    `json:"given_name"`
	FamilyName  string    `json:"family_name"`
	ExternalID  string    `json:"external_id"`
}

// WebhookActor is who made the change: a user (ID), a provisioning token
// (Name, "provisioning: Okta"), or the system (neither).
type WebhookActor struct {
	ID   *uuid.UUID `json:"id"`
	Name string     `json:"name"`
}

// webhookTime is the format of WebhookPayload.Timestamp.
const webhookTime = "2006-01-02T15:04:05.000Z"

// webhookMessage is the message of event e about u.
func webhookMessage(e *Event, u *User) (WebhookMessage, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return WebhookMessage{}, internalf(err, "new id")
	}
	p := WebhookPayload{Type: e.Type, Timestamp: e.CreatedAt.UTC().Format(webhookTime), Data: WebhookPayloadData{
		EventID: e.ID, TenantID: e.TenantID, Detail: e.Detail, Actor: WebhookActor{Name: e.ActorName},
		User: WebhookUser{ID: u.ID, Email: u.Email, Status: u.Status, Roles: u.Roles, DisplayName: u.DisplayName,
			GivenName: u.GivenName, FamilyName: u.FamilyName, ExternalID: u.ExternalID},
	}}
	if p.Data.User.Roles == nil {
		p.Data.User.Roles = []Role{}
	}
	if e.ActorID != uuid.Nil {
		actor := e.ActorID
		p.Data.Actor.ID = &actor
	}
	body, err := json.Marshal(p)
	if err != nil {
		return WebhookMessage{}, internalf(err, "webhook payload")
	}
	return WebhookMessage{ID: id, TenantID: e.TenantID, UserID: e.UserID, Type: e.Type, Payload: body,
		CreatedAt: e.CreatedAt}, nil
}
