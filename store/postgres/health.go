package postgres

import (
	"context"

	"github.com/usermgmt/usermgmt"
)

var _ usermgmt.Pinger = (*Store)(nil)

// Ping sends one empty statement on a connection of the pool (opening one
// if none is idle), for usermgmt.Manager.Ping: a health check that costs
// the database nothing. A dead idle connection is dropped and another
// tried, as database/sql does for every statement.
func (s *Store) Ping(ctx context.Context) error {
	return mapErr(s.db.PingContext(ctx))
}
