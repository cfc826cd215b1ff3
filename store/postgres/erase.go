package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// EraseUser: issue 13 work in progress.
func (t *tx) EraseUser(_ context.Context, tenantID string, userID uuid.UUID, now time.Time) error {
	return errors.New("postgres: EraseUser not implemented yet")
}
