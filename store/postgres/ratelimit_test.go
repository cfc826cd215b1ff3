package postgres_test

import (
	"context"
	"crypto/sha256"
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
