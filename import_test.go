package usermgmt_test

import (
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/importtest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// TestImportUsers: the rules of ImportUsers on the memory store
// (store/postgres runs them on PostgreSQL).
func TestImportUsers(t *testing.T) {
	importtest.Run(t, func(t *testing.T) usermgmt.Store { return memory.New() })
}
