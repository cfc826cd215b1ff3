package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// TestRoleFilterWalksUserRoles: a page of a role's holders is a walk of
// user_roles' key, limited to the page, then each user and its lock by
// key: no scan, no hash, no sort but of the page itself, whatever the
// role's size or where its holders fall in email order. The seed gives one user in ten
// the role, all sorting after the others, which a walk of the email index
// (the plan a GIN index left for such a role) reads through.
func TestRoleFilterWalksUserRoles(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.users (tenant_id, id, email, status, roles, created_at, updated_at)
		SELECT 't' || (g % 4), gen_random_uuid(),
			CASE WHEN g % 10 = 0 THEN 'z' ELSE 'a' END || g || '@example.com', 'active',
			CASE WHEN g % 10 = 0 THEN '{supervisor,agent}'::text[] ELSE '{agent}' END, now(), now()
		FROM generate_series(1, 20000) g`)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE `+q+`.users; ANALYZE `+q+`.user_roles`)
	require.NoError(t, err)

	var page []usermgmt.User
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
		page, err = tx.ListUsers(ctx, usermgmt.UserListParams{TenantID: "t0", Role: usermgmt.RoleSupervisor, Limit: 51})
		return err
	})
	require.Len(t, page, 51)
	for _, u := range page {
		require.True(t, u.HasRole(usermgmt.RoleSupervisor), u.Email)
	}

	name := preparedLike(t, db.DB, "%user_roles r%", "the role page is prepared on the store's connection")
	eachPlan(t, db.DB, name, `('t0', 'supervisor', 51)`, func(mode, plan string) {
		// The only sort allowed is of the page itself, on top of the loop.
		_, below, _ := strings.Cut(plan, "\n")
		ok := strings.Contains(plan, "Nested Loop") && strings.Contains(plan, "Limit") &&
			strings.Contains(plan, "using user_roles_pkey on user_roles") &&
			strings.Contains(plan, "using users_tenant_email_key on users") &&
			strings.Contains(plan, "using login_attempts_pkey on login_attempts") &&
			!strings.Contains(plan, "Seq Scan") && !strings.Contains(plan, "Hash") &&
			!strings.Contains(plan, "Merge Join") && !strings.Contains(below, "Sort  (")
		assert.True(t, ok, "%s: the page must walk user_roles_pkey (limited) and probe users and login_attempts by key:\n%s", mode, plan)
	})
}
