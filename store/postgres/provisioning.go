package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

var errNotBuilt = usermgmt.Errorf(usermgmt.CodeInternal, "not built yet")

// CreateProvisioningToken is not built yet (issue 12).
func (t *tx) CreateProvisioningToken(context.Context, *usermgmt.ProvisioningTokenRecord) error {
	return errNotBuilt
}

// ListProvisioningTokens is not built yet (issue 12).
func (t *tx) ListProvisioningTokens(context.Context, string) ([]usermgmt.ProvisioningToken, error) {
	return nil, errNotBuilt
}

// DeleteProvisioningToken is not built yet (issue 12).
func (t *tx) DeleteProvisioningToken(context.Context, string, uuid.UUID) (usermgmt.ProvisioningToken, error) {
	return usermgmt.ProvisioningToken{}, errNotBuilt
}

// UseProvisioningToken is not built yet (issue 12).
func (t *tx) UseProvisioningToken(context.Context, usermgmt.TokenHash, time.Time, time.Duration) (usermgmt.ProvisioningToken, error) {
	return usermgmt.ProvisioningToken{}, errNotBuilt
}
