package postgres_test

import (
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/importtest"
)

// TestImportUsersOnPostgres: the rules of ImportUsers on PostgreSQL.
func TestImportUsersOnPostgres(t *testing.T) {
	requireServer(t)
	importtest.Run(t, func(t *testing.T) usermgmt.Store { return newStore(t) })
}
