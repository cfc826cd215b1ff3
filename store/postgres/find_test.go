package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// TestFindUsersEqWalksItsIndex: SCIM's "userName eq" and "externalId eq"
// (each Entra create starts with one) probe the (tenant_id, email) and
// (tenant_id, external_id) indexes, for the page and for its total, in
// the custom plan and in the generic plan PostgreSQL switches to after a
// few calls; never a scan of the tenant. The seed puts 20,000 users in
// four tenants, half of them with an external id.
func TestFindUsersEqWalksItsIndex(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.users (tenant_id, id, email, status, roles, created_at,
			updated_at, external_id, display_name)
		SELECT 't' || (g % 4), gen_random_uuid(), 'u' || g || '@example.com', 'active', '{agent}', now(), now(),
			CASE WHEN g % 2 = 0 THEN 'ext-' || g ELSE '' END, 'User ' || g
		FROM generate_series(1, 20000) g`)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE `+q+`.users`)
	require.NoError(t, err)

	for _, c := range []struct {
		attr    usermgmt.UserAttr
		value   string
		pattern string // the prepared statement's text
		index   string
	}{
		{usermgmt.UserAttrEmail, "u8@example.com", "% email = $2 %", "users_tenant_email_key"},
		{usermgmt.UserAttrExternalID, "ext-8", "%external_id = $2 AND external_id <> ''%", "users_tenant_external_id"},
	} {
		var (
			found []usermgmt.User
			total int
		)
		inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
			found, total, err = tx.FindUsers(ctx, usermgmt.UserFindParams{TenantID: "t0",
				Filter: &usermgmt.UserFilter{Op: usermgmt.FilterEq, Attr: c.attr, Value: c.value}, Limit: 100})
			return err
		})
		require.Len(t, found, 1, c.attr)
		require.Equal(t, 1, total, c.attr)
		require.Equal(t, "u8@example.com", found[0].Email)

		name := preparedLike(t, db.DB, "SELECT %"+c.pattern+"ORDER BY email OFFSET%", string(c.attr)+" eq is prepared on the store's connection")
		eachPlan(t, db.DB, name, `('t0', '`+c.value+`', 0, 100)`, func(mode, plan string) {
			ok := strings.Count(plan, "using "+c.index+" on users") == 2 && // the page and its count
				strings.Contains(plan, "using login_attempts_pkey on login_attempts") &&
				!strings.Contains(plan, "Seq Scan") && !strings.Contains(plan, "Bitmap")
			assert.True(t, ok, "%s: %s eq must probe %s for the page and the total:\n%s", mode, c.attr, c.index, plan)
		})
	}
}

// TestFindUsersWithoutFilterCountsNoTenant: an identity provider's import
// pages through every user, and each page's total must not count the
// tenant: it is tenant_counts' row less the deprovisioned users, read
// through their partial index, in both plans.
func TestFindUsersWithoutFilterCountsNoTenant(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.users (tenant_id, id, email, status, roles, created_at,
			updated_at, deprovisioned_at)
		SELECT 't' || (g % 4), gen_random_uuid(), 'u' || g || '@example.com', 'active', '{agent}', now(), now(),
			CASE WHEN g % 100 = 0 THEN now() END
		FROM generate_series(1, 20000) g`)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE `+q+`.users; ANALYZE `+q+`.tenant_counts`)
	require.NoError(t, err)

	var (
		found []usermgmt.User
		total int
	)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
		found, total, err = tx.FindUsers(ctx, usermgmt.UserFindParams{TenantID: "t0", Limit: 100})
		return err
	})
	require.Len(t, found, 100)
	require.Equal(t, 4800, total, "5,000 users less the 200 deprovisioned (every hundredth g is in t0)")

	name := preparedLike(t, db.DB, "SELECT %tenant_counts%ORDER BY email OFFSET%", "the unfiltered page is prepared on the store's connection")
	eachPlan(t, db.DB, name, `('t0', 0, 100)`, func(mode, plan string) {
		// tenant_counts holds a row a tenant: of four, PostgreSQL reads
		// its one page whole rather than its key (since 0016 keeps it
		// free of a dead version per user written).
		ok := strings.Contains(plan, "on tenant_counts") &&
			strings.Contains(plan, "on users_tenant_deprovisioned") &&
			strings.Count(plan, "Aggregate") == 1 && // the deprovisioned count, nothing else
			!strings.Contains(plan, "Seq Scan on users")
		assert.True(t, ok, "%s: the total is the badge count less the deprovisioned, no count of the tenant:\n%s", mode, plan)
	})
}

// TestFindUsersContainsEmailReadsTheTrigramIndex: SCIM's "emails co" and
// "userName ew" find what a LIKE over the whole email finds, matches at
// the email's very start included, through the (tenant_id, email) range
// and the trigram index of the email past its first character (which the
// list's search reads too), never a walk of the tenant: a tenant of
// 100,000 users, a rare term, the custom plan (PostgreSQL keeps to custom
// plans while the generic one would cost more).
func TestFindUsersContainsEmailReadsTheTrigramIndex(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.users (tenant_id, id, email, status, roles, created_at, updated_at)
		SELECT CASE WHEN g <= 100000 THEN 't0' ELSE 't1' END, gen_random_uuid(), 'u' || g || '@example.com', 'active',
			'{agent}', now(), now()
		FROM generate_series(1, 110000) g`)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE `+q+`.users`)
	require.NoError(t, err)

	for _, c := range []struct {
		op      usermgmt.FilterOp
		value   string
		like    string // what a LIKE over the whole email matches
		pattern string // the prepared statement's text
		args    string // the custom plan's values
	}{
		{usermgmt.FilterCo, "u1234", "%u1234%", "%(email LIKE $2 OR substr(email, 2) LIKE $3)%", "'u1234%', '%u1234%'"},
		{usermgmt.FilterCo, "2345@", "%2345@%", "%(email LIKE $2 OR substr(email, 2) LIKE $3)%", "'2345@%', '%2345@%'"},
		{usermgmt.FilterEw, "u12@example.com", "%u12@example.com", "%(email = $2 OR substr(email, 2) LIKE $3)%",
			"'u12@example.com', '%u12@example.com'"},
		{usermgmt.FilterEw, "2345@example.com", "%2345@example.com", "%(email = $2 OR substr(email, 2) LIKE $3)%",
			"'2345@example.com', '%2345@example.com'"},
	} {
		var want int
		require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT count(*) FROM `+q+`.users WHERE tenant_id = 't0'
			AND email LIKE $1`, c.like).Scan(&want))
		require.NotZero(t, want)
		var (
			found []usermgmt.User
			total int
		)
		inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
			found, total, err = tx.FindUsers(ctx, usermgmt.UserFindParams{TenantID: "t0",
				Filter: &usermgmt.UserFilter{Op: c.op, Attr: usermgmt.UserAttrEmail, Value: c.value}, Limit: 100})
			return err
		})
		require.Equal(t, want, total, "%s %s", c.op, c.value)
		require.Len(t, found, min(want, 100))
		for _, u := range found {
			require.Contains(t, u.Email, strings.Trim(c.like, "%"))
		}

		name := preparedLike(t, db.DB, "SELECT %"+c.pattern+"ORDER BY email OFFSET%", string(c.op)+" is prepared")
		_, err = db.DB.ExecContext(ctx, "SET plan_cache_mode = force_custom_plan")
		require.NoError(t, err)
		plan := explain(t, db.DB, `EXPLAIN EXECUTE "`+name+`"('t0', `+c.args+`, 0, 100)`)
		_, err = db.DB.ExecContext(ctx, "RESET plan_cache_mode")
		require.NoError(t, err)
		assert.Contains(t, plan, "users_tenant_email_infix_trgm", "%s %s must read the trigram index:\n%s", c.op, c.value, plan)
		assert.NotContains(t, plan, "Seq Scan", "%s %s:\n%s", c.op, c.value, plan)
	}
}
