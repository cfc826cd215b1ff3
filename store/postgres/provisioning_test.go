package postgres_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// TestUseProvisioningTokenWritesOnlyWhenStale: every SCIM request looks
// its token up, and a busy token must not cost a row write (and its WAL
// flush) a request: the row changes (a new xmin) on the first use and
// once the last use is older than every, not in between. The lookup is
// one probe of the hash's primary key, in the custom and generic plans.
func TestUseProvisioningTokenWritesOnlyWhenStale(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	var hash usermgmt.TokenHash
	_, _ = rand.Read(hash[:])
	created := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	tok := usermgmt.ProvisioningTokenRecord{Hash: hash, ProvisioningToken: usermgmt.ProvisioningToken{
		ID: uuid.Must(uuid.NewV7()), TenantID: "acme", Name: "Okta", CreatedAt: created}}
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateProvisioningToken(ctx, &tok) })

	xmin := func() string {
		var x string
		require.NoError(t, db.QueryRowContext(ctx, `SELECT xmin::text FROM "`+s.Schema()+`".provisioning_tokens`).Scan(&x))
		return x
	}
	use := func(now time.Time) usermgmt.ProvisioningToken {
		var got usermgmt.ProvisioningToken
		inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
			got, err = tx.UseProvisioningToken(ctx, hash, now, time.Minute)
			return err
		})
		require.Equal(t, tok.ID, got.ID)
		return got
	}
	before := xmin()
	first := created.Add(time.Hour)
	require.True(t, first.Equal(*use(first).LastUsedAt), "the first use is recorded")
	written := xmin()
	require.NotEqual(t, before, written, "the first use writes the row")
	for _, later := range []time.Duration{time.Second, 30 * time.Second, time.Minute} {
		got := use(first.Add(later))
		require.True(t, first.Equal(*got.LastUsedAt), "a use %v later keeps the last use", later)
		require.Equal(t, written, xmin(), "a use %v later writes nothing", later)
	}
	stale := first.Add(time.Minute + time.Microsecond)
	require.True(t, stale.Equal(*use(stale).LastUsedAt), "a use past the minute is recorded")
	require.NotEqual(t, written, xmin(), "and writes the row")

	name := preparedLike(t, db.DB, "WITH used AS (%", "UseProvisioningToken is prepared on the store's connection")
	eachPlan(t, db.DB, name, `('\x`+strings.Repeat("ab", 32)+`', now(), now())`, func(mode, plan string) {
		ok := strings.Count(plan, "using provisioning_tokens_pkey on provisioning_tokens") == 2 &&
			!strings.Contains(plan, "Seq Scan")
		assert.True(t, ok, "%s: the update and the read each probe the hash's key:\n%s", mode, plan)
	})
}
