package postgres_test

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt/store/postgres"
)

// TestRateLimitKeysAreNotKeptInClear: a limiter key names a client IP or
// an account; the table keeps only its SHA-256.
func TestRateLimitKeysAreNotKeptInClear(t *testing.T) {
	db := openDB(t)
	s, err := postgres.New(db, postgres.WithSchema(freshSchema(t)))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	ctx := context.Background()
	const key = "login|ip|203.0.113.7"
	ok, _, err := s.Allow(ctx, key, 5, time.Minute, time.Now())
	require.NoError(t, err)
	require.True(t, ok)
	var stored []byte
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT key_hash, count(*) OVER () FROM "`+s.Schema()+`".rate_limits`).Scan(&stored, &n))
	want := sha256.Sum256([]byte(key))
	assert.Equal(t, want[:], stored)
	assert.Equal(t, 1, n)
}

// TestRefusalWritesNoRowVersion: a client hammering at its limit makes
// no new version of its bucket's row (no dead tuples to vacuum): the row
// a refusal leaves is the one the last allowed attempt wrote.
func TestRefusalWritesNoRowVersion(t *testing.T) {
	db := openDB(t)
	s, err := postgres.New(db, postgres.WithSchema(freshSchema(t)))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	ctx := context.Background()
	now := time.Now()
	version := func() (xmin string) {
		require.NoError(t, db.QueryRowContext(ctx, `SELECT xmin::text FROM "`+s.Schema()+`".rate_limits`).Scan(&xmin))
		return xmin
	}
	ok, _, err := s.Allow(ctx, "k", 1, time.Minute, now)
	require.NoError(t, err)
	require.True(t, ok)
	written := version()
	for range 3 {
		ok, wait, err := s.Allow(ctx, "k", 1, time.Minute, now)
		require.NoError(t, err)
		require.False(t, ok)
		assert.Equal(t, time.Minute, wait)
	}
	assert.Equal(t, written, version())
}

// BenchmarkAllow is one attempt on the shared limiter: a key taking
// tokens over and over (a client at its limit keeps being refused), a new
// key each time (a bucket inserted), and many clients at once.
func BenchmarkAllow(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	now := time.Now()
	b.Run("SameKey", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.Allow(ctx, "login|ip|192.0.2.1", 30, time.Minute, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("NewKey", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, _, err := s.Allow(ctx, "login|acct|"+strconv.Itoa(i), 10, 5*time.Minute, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			key := "login|ip|" + strconv.FormatInt(n.Add(1), 10)
			for pb.Next() {
				if _, _, err := s.Allow(ctx, key, 30, time.Minute, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// TestAllowIsOneUpsertByKey: an attempt scans no table; it inserts, or
// updates the bucket it finds by the primary key, and a refusal reads
// that bucket by the primary key.
func TestAllowIsOneUpsertByKey(t *testing.T) {
	db, s := planStore(t)
	_, _, err := s.Allow(context.Background(), "k", 5, time.Minute, time.Now())
	require.NoError(t, err)
	name := preparedLike(t, db.DB, "WITH took AS (%rate_limits%", "Allow's statement")
	eachPlan(t, db.DB, name, `('\x00'::bytea, now(), 1000, now())`, func(mode, plan string) {
		assert.Contains(t, plan, "Conflict Arbiter Indexes: rate_limits_pkey", mode)
		assert.Contains(t, plan, "Index Scan using rate_limits_pkey", mode)
		assert.NotContains(t, plan, "Seq Scan", mode)
	})
}
