package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// provTokenCols are the columns of a ProvisioningToken; the hash stays in
// the table.
const provTokenCols = `id, tenant_id, name, created_at, created_by, last_used_at`

// provQueries are the statements of the provisioning tokens (0008).
type provQueries struct {
	create, list, remove, use string
}

func newProvQueries(schema string) provQueries {
	r := func(q string) string { return numbered(strings.ReplaceAll(q, "{s}", schema)) }
	return provQueries{
		create: r(`INSERT INTO {s}.provisioning_tokens (` + provTokenCols + `, hash) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`),
		// Through provisioning_tokens_tenant (tenant_id, created_at, id).
		list: r(`SELECT ` + provTokenCols + ` FROM {s}.provisioning_tokens WHERE tenant_id = ?
			ORDER BY created_at, id`),
		remove: r(`DELETE FROM {s}.provisioning_tokens WHERE tenant_id = ? AND id = ? RETURNING ` + provTokenCols),
		// One statement and one probe of the hash's unique index: the
		// UPDATE writes last_used_at only when it is stale (a busy token
		// is written once a minute, not on every request), and when it
		// writes nothing the token is read as it is. Of two requests that
		// both find it stale, the second re-checks the row after the
		// first commits (READ COMMITTED) and writes nothing. Arguments:
		// hash, now, stale before.
		use: r(`WITH used AS (
				UPDATE {s}.provisioning_tokens SET last_used_at = $2
				WHERE hash = $1 AND (last_used_at IS NULL OR last_used_at < $3)
				RETURNING ` + provTokenCols + `)
			SELECT ` + provTokenCols + ` FROM used
			UNION ALL
			SELECT ` + provTokenCols + ` FROM {s}.provisioning_tokens
			WHERE hash = $1 AND NOT EXISTS (SELECT FROM used)`),
	}
}

func (t *tx) pq() *provQueries { return &t.s.prov }

func (t *tx) CreateProvisioningToken(ctx context.Context, r *usermgmt.ProvisioningTokenRecord) error {
	var id uuid.UUID
	err := t.db.QueryRowContext(ctx, t.pq().create, uuidArg(r.ID), r.TenantID, r.Name, r.CreatedAt,
		creatorArg(r.CreatedBy), timePtrArg(r.LastUsedAt), r.Hash[:]).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "provisioning token already exists")
	}
	return mapErr(err)
}

// creatorArg keeps trusted code (uuid.Nil) as NULL: no user created it.
func creatorArg(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return uuidArg(id)
}

func (t *tx) ListProvisioningTokens(ctx context.Context, tenantID string) ([]usermgmt.ProvisioningToken, error) {
	rows, err := t.db.QueryContext(ctx, t.pq().list, tenantID)
	return collect(rows, err, scanProvToken, 4)
}

func (t *tx) DeleteProvisioningToken(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.ProvisioningToken, error) {
	return t.oneProvToken(ctx, t.pq().remove, tenantID, uuidArg(id))
}

func (t *tx) UseProvisioningToken(ctx context.Context, hash usermgmt.TokenHash, now time.Time, every time.Duration) (usermgmt.ProvisioningToken, error) {
	return t.oneProvToken(ctx, t.pq().use, hash[:], now, now.Add(-every))
}

func (t *tx) oneProvToken(ctx context.Context, query string, args ...any) (usermgmt.ProvisioningToken, error) {
	p, err := scanProvToken(t.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.ProvisioningToken{}, errorf(usermgmt.CodeNotFound, "provisioning token not found")
	}
	return p, mapErr(err)
}

func scanProvToken(r rowScanner) (usermgmt.ProvisioningToken, error) {
	var (
		p    usermgmt.ProvisioningToken
		used sql.NullTime
	)
	if err := r.Scan(&p.ID, &p.TenantID, &p.Name, &p.CreatedAt, &p.CreatedBy, &used); err != nil {
		return usermgmt.ProvisioningToken{}, err
	}
	p.CreatedAt = p.CreatedAt.UTC()
	p.LastUsedAt = timePtr(used)
	return p, nil
}
