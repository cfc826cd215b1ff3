package postgres

import (
	"context"

	"github.com/usermgmt/usermgmt"
)

var _ usermgmt.Pinger = (*Store)(nil)

// Ping sends one empty statement on a connection of the pool (opening one
// if none is idle), for usermgmt.Manager.Ping: a health check that costs
// the database nothing. A connection the server has ended is not held
// against it: pgx checks a connection idle for over a second as it leaves
// the pool, and database/sql then takes another.
func (s *Store) Ping(ctx context.Context) error {
	return mapErrIn(ctx, s.db.PingContext(ctx))
}
