package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// DropEvents: issue 13 work in progress.
func (t *tx) DropEvents(_ context.Context, before time.Time) (int, error) {
	return 0, errors.New("postgres: DropEvents not implemented yet")
}

// EraseUser: issue 13 work in progress.
func (t *tx) EraseUser(_ context.Context, tenantID string, userID uuid.UUID, now time.Time) error {
	return errors.New("postgres: EraseUser not implemented yet")
}
