package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

func (t *tx) AppendEvent(ctx context.Context, e *usermgmt.Event) error {
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.q().appendEvent,
		uuidArg(e.ID), e.TenantID, uuidArg(e.UserID), string(e.Type), uuidArg(e.ActorID),
		e.IP, e.UserAgent, e.Detail, e.CreatedAt, e.ActorName).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "event %s already exists", e.ID)
	}
	return mapErr(err)
}

// ListEvents walks the (tenant_id, user_id, id) primary key backwards from
// the cursor, so a page costs the same at any depth; each event's actor is
// named by one probe of the users primary key, in the same query.
func (t *tx) ListEvents(ctx context.Context, tenantID string, userID uuid.UUID, before uuid.UUID, limit int) ([]usermgmt.Event, error) {
	if limit <= 0 {
		return []usermgmt.Event{}, nil
	}
	query, args := t.q().listEvents, []any{tenantID, uuidArg(userID), limit}
	if before != uuid.Nil {
		query, args = t.q().listEventsBefore, []any{tenantID, uuidArg(userID), uuidArg(before), limit}
	}
	rows, err := t.db.QueryContext(ctx, query, args...)
	return collect(rows, err, scanEvent, limit)
}

// ListTenantEvents walks the tenant's events by id; a uuid.Nil before is
// the largest uuid, which no UUIDv7 reaches.
func (t *tx) ListTenantEvents(ctx context.Context, tenantID string, after, before uuid.UUID, limit int) ([]usermgmt.Event, error) {
	if limit <= 0 {
		return []usermgmt.Event{}, nil
	}
	if before == uuid.Nil {
		before = uuid.Max
	}
	rows, err := t.db.QueryContext(ctx, t.q().listTenantEvents, tenantID, uuidArg(after), uuidArg(before), limit)
	return collect(rows, err, scanEvent, limit)
}
