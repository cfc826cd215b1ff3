package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

func (t *tx) EnqueueMail(ctx context.Context, r *usermgmt.MailRecord) error {
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.q().enqueueMail,
		uuidArg(r.ID), r.TenantID, uuidArg(r.UserID), string(r.Kind), r.To, sealedArg(r.Sealed), r.Attempts,
		r.NextAttemptAt, r.LastError, timeArg(r.FailedAt), r.CreatedAt, r.DeliverBy, r.ExpiresAt,
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "mail %s already exists", r.ID)
	}
	return mapErr(err)
}

// ClaimMail is one UPDATE whose subquery picks and locks the row (see
// queries.go). now is truncated to the microsecond for the reason
// DeleteExpired gives: a driver that rounds would make a mail due up to
// half a microsecond early.
func (t *tx) ClaimMail(ctx context.Context, now, until time.Time) (usermgmt.MailRecord, error) {
	m, err := scanMail(t.db.QueryRowContext(ctx, t.q().claimMail, until, now.Truncate(time.Microsecond)))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.MailRecord{}, errorf(usermgmt.CodeNotFound, "no mail is due")
	}
	return m, mapErr(err)
}

func (t *tx) UpdateMail(ctx context.Context, r *usermgmt.MailRecord) error {
	res, err := t.db.ExecContext(ctx, t.q().updateMail,
		r.Attempts, r.NextAttemptAt, r.LastError, timeArg(r.FailedAt), uuidArg(r.ID))
	return oneRow(res, err, "mail not found")
}

func (t *tx) DeleteMail(ctx context.Context, id uuid.UUID) error {
	res, err := t.db.ExecContext(ctx, t.q().deleteMail, uuidArg(id))
	return oneRow(res, err, "mail not found")
}

func (t *tx) CancelMail(ctx context.Context, tenantID string, userID uuid.UUID, kind usermgmt.MessageKind) (int, error) {
	query, args := t.q().cancelMail, []any{tenantID, uuidArg(userID)}
	if kind != "" {
		query, args = t.q().cancelMailKind, append(args, string(kind))
	}
	res, err := t.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}

// ListMail walks the (tenant_id, id) index backwards from the cursor, so a
// page costs the same at any depth.
func (t *tx) ListMail(ctx context.Context, p usermgmt.MailListParams) ([]usermgmt.MailRecord, error) {
	if p.Limit <= 0 {
		return []usermgmt.MailRecord{}, nil
	}
	query, args := t.q().listMail, []any{p.TenantID, p.Limit}
	if p.Before != uuid.Nil {
		query, args = t.q().listMailBefore, []any{p.TenantID, uuidArg(p.Before), p.Limit}
	}
	rows, err := t.db.QueryContext(ctx, query, args...)
	return collect(rows, err, scanMail, min(p.Limit, 100))
}

func scanMail(r rowScanner) (usermgmt.MailRecord, error) {
	var (
		m        usermgmt.MailRecord
		kind     string
		failedAt sql.NullTime
	)
	if err := r.Scan(&m.ID, &m.TenantID, &m.UserID, &kind, &m.To, &m.Sealed, &m.Attempts, &m.NextAttemptAt,
		&m.LastError, &failedAt, &m.CreatedAt, &m.DeliverBy, &m.ExpiresAt); err != nil {
		return usermgmt.MailRecord{}, err
	}
	m.Kind = usermgmt.MessageKind(kind)
	m.NextAttemptAt = m.NextAttemptAt.UTC()
	m.FailedAt = timeOrZero(failedAt)
	m.CreatedAt = m.CreatedAt.UTC()
	m.DeliverBy = m.DeliverBy.UTC()
	m.ExpiresAt = m.ExpiresAt.UTC()
	return m, nil
}

// sealedArg sends a nil Sealed as an empty bytea: the column is NOT NULL.
func sealedArg(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
