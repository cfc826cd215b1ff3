package postgres

import (
	"context"

	"github.com/usermgmt/usermgmt"
)

// FindUsers is not built yet (issue 12).
func (t *tx) FindUsers(ctx context.Context, p usermgmt.UserFindParams) ([]usermgmt.User, int, error) {
	return nil, 0, usermgmt.Errorf(usermgmt.CodeInternal, "not built yet")
}
