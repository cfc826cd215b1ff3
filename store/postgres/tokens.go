package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

func (t *tx) CreateToken(ctx context.Context, tok *usermgmt.TokenRecord) error {
	var hash []byte
	err := t.db.QueryRowContext(ctx, t.q().createToken,
		hashArg(tok.Hash), string(tok.Purpose), tok.TenantID, uuidArg(tok.UserID), bytesArg(tok.Data),
		tok.CreatedAt, tok.ExpiresAt,
	).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "token already exists")
	}
	return mapErr(err)
}

// ConsumeToken is one DELETE … RETURNING: the row lock it takes makes a
// second consumer wait and then find nothing.
func (t *tx) ConsumeToken(ctx context.Context, purpose usermgmt.TokenPurpose, hash usermgmt.TokenHash) (usermgmt.TokenRecord, error) {
	tok, err := scanToken(t.db.QueryRowContext(ctx, t.q().consumeToken, hashArg(hash), string(purpose)))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.TokenRecord{}, errorf(usermgmt.CodeNotFound, "token not found")
	}
	return tok, mapErr(err)
}

func (t *tx) DeleteTokens(ctx context.Context, tenantID string, userID uuid.UUID, purpose usermgmt.TokenPurpose) error {
	_, err := t.db.ExecContext(ctx, t.q().deleteTokens, tenantID, uuidArg(userID), string(purpose))
	return mapErr(err)
}

func (t *tx) CreateDevice(ctx context.Context, d *usermgmt.DeviceRecord) error {
	var hash []byte
	err := t.db.QueryRowContext(ctx, t.q().createDevice, uuidArg(d.ID), hashArg(d.Hash), d.TenantID, uuidArg(d.UserID),
		d.IP, d.UserAgent, d.CreatedAt, d.ExpiresAt).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeConflict, "device already exists")
	}
	return mapErr(err)
}

func (t *tx) GetDevice(ctx context.Context, hash usermgmt.TokenHash) (usermgmt.DeviceRecord, error) {
	d, err := scanDevice(t.db.QueryRowContext(ctx, t.q().getDevice, hashArg(hash)))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.DeviceRecord{}, errorf(usermgmt.CodeNotFound, "device not found")
	}
	return d, mapErr(err)
}

func (t *tx) ListDevices(ctx context.Context, tenantID string, userID uuid.UUID) ([]usermgmt.DeviceRecord, error) {
	rows, err := t.db.QueryContext(ctx, t.q().listDevices, tenantID, uuidArg(userID))
	return collect(rows, err, scanDevice, 4)
}

func (t *tx) DeleteDevice(ctx context.Context, tenantID string, userID, id uuid.UUID) (usermgmt.DeviceRecord, error) {
	d, err := scanDevice(t.db.QueryRowContext(ctx, t.q().deleteDevice, tenantID, uuidArg(userID), uuidArg(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return usermgmt.DeviceRecord{}, errorf(usermgmt.CodeNotFound, "device not found")
	}
	return d, mapErr(err)
}
