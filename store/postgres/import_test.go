package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/importtest"
)

// TestImportUsersOnPostgres: the rules of ImportUsers on PostgreSQL.
func TestImportUsersOnPostgres(t *testing.T) {
	requireServer(t)
	importtest.Run(t, func(t *testing.T) usermgmt.Store { return newStore(t) })
}

// TestGetUsersByEmailLooksUpTheEmailKey: an import batch's lookup of its
// emails is one probe of the (tenant_id, email) key an email, however
// large the tenant; with email = ANY (…) the planner took the trigram
// index, whose cost grew with every batch.
func TestGetUsersByEmailLooksUpTheEmailKey(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	now := time.Now()
	us := make([]usermgmt.UserRecord, 3000)
	emails := make([]string, 0, 1000)
	for i := range us {
		us[i] = usermgmt.UserRecord{User: usermgmt.User{ID: uuid.Must(uuid.NewV7()), TenantID: "acme",
			Email: fmt.Sprintf("user%06d@acme.test", i), Status: usermgmt.StatusInvited, CreatedAt: now, UpdatedAt: now}}
		if i%3 == 0 {
			emails = append(emails, us[i].Email)
		}
	}
	err := s.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		if err := tx.CreateUsers(ctx, us); err != nil {
			return err
		}
		found, err := tx.GetUsersByEmail(ctx, "acme", emails)
		require.Len(t, found, len(emails))
		return err
	})
	require.NoError(t, err)
	name := preparedLike(t, db.DB, "%unnest(%CROSS JOIN LATERAL%", "GetUsersByEmail's statement")
	eachPlan(t, db.DB, name, `('{user000003@acme.test,user000006@acme.test}', 'acme')`, func(mode, plan string) {
		assert.Contains(t, plan, "users_tenant_email_key", mode)
		assert.NotContains(t, plan, "trgm", mode)
	})
}
