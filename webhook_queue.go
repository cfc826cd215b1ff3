package usermgmt

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
)

// hookTx is the Tx every Manager transaction works with (inTx): the
// store's, whose AppendEvent and AppendEvents also queue a webhook
// message for each event of a webhook type, in the same transaction.
// Other events (sign-ins, say) cost nothing more.
type hookTx struct {
	Tx
	m      *Manager
	queued int // deliveries queued
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
	return t.queue(ctx, []Event{*e}, []*User{u})
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
	return t.queue(ctx, es, users)
}

// queue writes a webhook message for each event of es of a webhook type,
// with a snapshot of its user: users[i] when the event was made with the
// whole user, else read here (a group change logs events with only the
// members' ids: they are read in one query). It is one statement to
// queue them all, whatever their number.
func (t *hookTx) queue(ctx context.Context, es []Event, users []*User) error {
	var missing []uuid.UUID
	tenantID := ""
	for i, e := range es {
		if isWebhookType(e.Type) && (users[i] == nil || users[i].Email == "") {
			missing = append(missing, e.UserID)
			tenantID = e.TenantID
		}
	}
	if len(missing) > 0 {
		read, err := t.Tx.GetUsers(ctx, tenantID, missing)
		if err != nil {
			return err
		}
		byID := make(map[uuid.UUID]*User, len(read))
		for i := range read {
			byID[read[i].ID] = &read[i]
		}
		for i, e := range es {
			if users[i] == nil || users[i].Email == "" {
				users[i] = byID[e.UserID]
			}
		}
	}
	ms := make([]WebhookMessage, 0, len(es))
	for i, e := range es {
		if !isWebhookType(e.Type) || users[i] == nil {
			continue
		}
		msg, err := webhookMessage(&e, users[i])
		if err != nil {
			return err
		}
		ms = append(ms, msg)
	}
	if len(ms) == 0 {
		return nil
	}
	n, err := t.Tx.QueueWebhooks(ctx, ms)
	t.queued += n
	return err
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
