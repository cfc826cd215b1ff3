package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/postgres"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func hashOf(s string) usermgmt.TokenHash { return sha256.Sum256([]byte(s)) }

func newUser(tenant, email string, status usermgmt.Status, roles ...usermgmt.Role) *usermgmt.UserRecord {
	return &usermgmt.UserRecord{User: usermgmt.User{
		ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email, Status: status, Roles: roles,
		CreatedAt: t0, UpdatedAt: t0,
	}}
}

func inTx(t *testing.T, s usermgmt.Store, fn func(ctx context.Context, tx usermgmt.Tx) error) {
	t.Helper()
	require.NoError(t, s.RunInTx(context.Background(), usermgmt.TxOptions{}, fn))
}

// countsOf reads the tenant's badge counts in a transaction of its own.
func countsOf(t *testing.T, s usermgmt.Store, tenantID string) usermgmt.StatusCounts {
	t.Helper()
	var c usermgmt.StatusCounts
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) { c, err = tx.CountUsers(ctx, tenantID); return })
	return c
}

func TestNewValidates(t *testing.T) {
	_, err := postgres.New(nil)
	assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(err))
	db := openDB(t)
	for _, bad := range []string{"", "Users", "a-b", "1abc", "pg_catalog", `x"; DROP`, string(make([]byte, 64))} {
		_, err := postgres.New(db, postgres.WithSchema(bad))
		assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(err), "schema %q", bad)
	}
	_, err = postgres.New(db, postgres.WithTxRetries(-1))
	assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(err))
	s, err := postgres.New(db)
	require.NoError(t, err)
	assert.Equal(t, "usermgmt", s.Schema())
	// The 63-byte limit itself: the NUL bytes above fail on their characters.
	_, err = postgres.New(db, postgres.WithSchema(strings.Repeat("a", 64)))
	assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(err), "64 bytes")
	_, err = postgres.New(db, postgres.WithSchema(strings.Repeat("a", 63)))
	assert.NoError(t, err, "63 bytes")
}

func TestUserRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	login := t0.Add(time.Hour)
	u := newUser("t1", "ann@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin, usermgmt.RoleAgent)
	u.LastLoginAt, u.ActivatedAt = &login, &t0
	u.PasswordHash, u.MFASecret, u.MFALastStep = "$argon2id$x", []byte{1, 2, 3}, 42
	u.RecoveryCodes = []usermgmt.TokenHash{hashOf("a"), hashOf("b")}
	u.LastMailAt = t0.Add(2 * time.Minute)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateUser(ctx, u) })
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		got, err := tx.GetUser(ctx, "t1", u.ID)
		require.NoError(t, err)
		assert.Equal(t, *u, got)
		got, err = tx.GetUserByEmail(ctx, "t1", "ann@example.com")
		require.NoError(t, err)
		assert.Equal(t, *u, got)
		_, err = tx.GetUser(ctx, "t2", u.ID)
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err), "other tenant")
		return nil
	})
	dup := newUser("t1", "ann@example.com", usermgmt.StatusInvited)
	err := s.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		err := tx.CreateUser(ctx, dup)
		assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err))
		// The transaction is still usable after a conflict.
		_, err = tx.GetUser(ctx, "t1", u.ID)
		return err
	})
	require.NoError(t, err)
	// Same email in another tenant is another user.
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, newUser("t2", "ann@example.com", usermgmt.StatusInvited))
	})
}

func TestCountsFollowStatus(t *testing.T) {
	s := newStore(t)
	a := newUser("t1", "a@x.io", usermgmt.StatusInvited)
	b := newUser("t1", "b@x.io", usermgmt.StatusActive)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateUser(ctx, a))
		return tx.CreateUser(ctx, b)
	})
	assert.Equal(t, usermgmt.StatusCounts{Active: 1, Invited: 1, All: 2}, countsOf(t, s, "t1"))
	b.Status = usermgmt.StatusDeactivated
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateUser(ctx, b) })
	assert.Equal(t, usermgmt.StatusCounts{Invited: 1, Deactivated: 1, All: 2}, countsOf(t, s, "t1"))
	// A rolled-back change leaves the counts alone.
	a.Status = usermgmt.StatusActive
	boom := errors.New("boom")
	err := s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.UpdateUser(ctx, a))
		return boom
	})
	assert.Same(t, boom, err)
	assert.Equal(t, usermgmt.StatusCounts{Invited: 1, Deactivated: 1, All: 2}, countsOf(t, s, "t1"))
	assert.Equal(t, usermgmt.StatusCounts{}, countsOf(t, s, "nobody"))
}

func TestListUsersKeysetAndSearch(t *testing.T) {
	s := newStore(t)
	emails := []string{"a_b@x.io", "a.b@x.io", "axb@x.io", "b%c@x.io", "bob@x.io", "zed@x.io"}
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		for i, e := range emails {
			st := usermgmt.StatusActive
			if i%2 == 0 {
				st = usermgmt.StatusInvited
			}
			require.NoError(t, tx.CreateUser(ctx, newUser("t1", e, st)))
		}
		return tx.CreateUser(ctx, newUser("t2", "a_b@x.io", usermgmt.StatusActive))
	})
	list := func(p usermgmt.UserListParams) []string {
		var out []string
		inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
			us, err := tx.ListUsers(ctx, p)
			for _, u := range us {
				out = append(out, u.Email)
			}
			return err
		})
		return out
	}
	assert.Equal(t, []string{"a.b@x.io", "a_b@x.io", "axb@x.io"}, list(usermgmt.UserListParams{TenantID: "t1", Limit: 3}))
	assert.Equal(t, []string{"b%c@x.io", "bob@x.io", "zed@x.io"}, list(usermgmt.UserListParams{TenantID: "t1", Limit: 3, After: "axb@x.io"}))
	assert.Equal(t, []string{"a_b@x.io"}, list(usermgmt.UserListParams{TenantID: "t1", Limit: 9, Search: "a_b"}), "_ is literal")
	assert.Equal(t, []string{"b%c@x.io"}, list(usermgmt.UserListParams{TenantID: "t1", Limit: 9, Search: "%"}), "% is literal")
	assert.Equal(t, []string{"a_b@x.io", "axb@x.io", "bob@x.io"}, list(usermgmt.UserListParams{TenantID: "t1", Limit: 9, Status: usermgmt.StatusInvited}))
	assert.Empty(t, list(usermgmt.UserListParams{TenantID: "t3", Limit: 9}))
}

func TestAdvanceMFAStepOnce(t *testing.T) {
	s := newStore(t)
	u := newUser("t1", "a@x.io", usermgmt.StatusActive)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateUser(ctx, u) })
	wins := together(8, func(_ int, ready func()) bool {
		var ok bool
		err := s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) (err error) {
			ready()
			ok, err = tx.AdvanceMFAStep(ctx, "t1", u.ID, 100)
			return err
		})
		assert.NoError(t, err)
		return ok
	})
	assert.Equal(t, 1, wins)
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		ok, err := tx.AdvanceMFAStep(ctx, "t1", u.ID, 99)
		assert.False(t, ok)
		require.NoError(t, err)
		_, err = tx.AdvanceMFAStep(ctx, "t2", u.ID, 200)
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
		return nil
	})
}

func TestConsumeTokenOnce(t *testing.T) {
	s := newStore(t)
	u := newUser("t1", "a@x.io", usermgmt.StatusInvited)
	tok := &usermgmt.TokenRecord{Hash: hashOf("invite"), Purpose: usermgmt.PurposeInvite, TenantID: "t1", UserID: u.ID,
		Data: []byte("d"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateUser(ctx, u))
		require.NoError(t, tx.CreateToken(ctx, tok))
		assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(tx.CreateToken(ctx, tok)))
		_, err := tx.ConsumeToken(ctx, usermgmt.PurposePasswordReset, tok.Hash)
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err), "wrong purpose")
		return nil
	})
	wins := together(8, func(_ int, ready func()) bool {
		err := s.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			ready()
			got, err := tx.ConsumeToken(ctx, usermgmt.PurposeInvite, tok.Hash)
			if err == nil {
				assert.Equal(t, *tok, got)
			}
			return err
		})
		if err != nil {
			assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
		}
		return err == nil
	})
	assert.Equal(t, 1, wins)
}

func TestSessionLifecycle(t *testing.T) {
	s := newStore(t)
	u := newUser("t1", "a@x.io", usermgmt.StatusActive, usermgmt.RoleAgent)
	sess := &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: u.ID,
		TokenHash: hashOf("s1"), RefreshHash: hashOf("r1"), Roles: []usermgmt.Role{usermgmt.RoleAgent},
		IP: "10.0.0.1", UserAgent: "test", CreatedAt: t0, IdleExpiresAt: t0.Add(30 * time.Minute), ExpiresAt: t0.Add(12 * time.Hour)}
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateUser(ctx, u))
		return tx.CreateSession(ctx, sess)
	})
	ctx := context.Background()
	got, _, err := s.TouchSession(ctx, hashOf("s1"), t0.Add(10*time.Minute), 30*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(40*time.Minute), got.IdleExpiresAt)
	assert.Equal(t, sess.Roles, got.Roles)
	_, _, err = s.TouchSession(ctx, hashOf("s1"), t0.Add(41*time.Minute), 30*time.Minute)
	assert.Equal(t, usermgmt.CodeExpired, usermgmt.ErrorCode(err), "idle")
	_, _, err = s.TouchSession(ctx, hashOf("nope"), t0, time.Minute)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
	// Idle expiry never passes the absolute one.
	got, _, err = s.TouchSession(ctx, hashOf("s1"), t0.Add(39*time.Minute), 24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, sess.ExpiresAt, got.IdleExpiresAt)

	// Rotation is a compare-and-set on the current refresh hash.
	rot := usermgmt.SessionRotation{ID: sess.ID, OldRefresh: hashOf("r1"), TokenHash: hashOf("s2"), RefreshHash: hashOf("r2"),
		Roles: []usermgmt.Role{usermgmt.RoleAgent, usermgmt.RoleSupervisor}, IdleExpiresAt: t0.Add(time.Hour)}
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.RotateSession(ctx, rot) })
	err = s.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error { return tx.RotateSession(ctx, rot) })
	assert.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err))
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		cur, spent, err := tx.SessionByRefresh(ctx, hashOf("r2"))
		require.NoError(t, err)
		assert.Nil(t, spent)
		assert.Equal(t, rot.Roles, cur.Roles)
		assert.Equal(t, hashOf("s2"), cur.TokenHash)
		_, spent, err = tx.SessionByRefresh(ctx, hashOf("r1"))
		require.NoError(t, err)
		assert.NotNil(t, spent)
		return nil
	})
	_, _, err = s.TouchSession(ctx, hashOf("s1"), t0.Add(time.Minute), time.Minute)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "old token after rotation")

	// Deactivating the user refuses the session at once.
	u.Status = usermgmt.StatusDeactivated
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateUser(ctx, u) })
	_, _, err = s.TouchSession(ctx, hashOf("s2"), t0.Add(time.Minute), time.Minute)
	assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))

	// RevokeUserExcept takes sessions, refresh tokens and devices.
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		require.NoError(t, tx.CreateDevice(ctx, &usermgmt.DeviceRecord{ID: uuid.Must(uuid.NewV7()), Hash: hashOf("d"), TenantID: "t1", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		r, err := tx.RevokeUserExcept(ctx, "t1", u.ID, uuid.Nil)
		assert.Equal(t, usermgmt.Revoked{Sessions: 1, Devices: 1}, r)
		return err
	})
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		_, _, err := tx.SessionByRefresh(ctx, hashOf("r1"))
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
		_, err = tx.GetDevice(ctx, hashOf("d"))
		assert.Equal(t, usermgmt.CodeNotFound, usermgmt.ErrorCode(err))
		return nil
	})
}

func TestEventsNewestFirst(t *testing.T) {
	s := newStore(t)
	uid := uuid.Must(uuid.NewV7())
	var ids []uuid.UUID
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		for i := range 5 {
			e := &usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: uid, Type: usermgmt.EventLoginSucceeded,
				IP: "1.2.3.4", Detail: "x", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			require.NoError(t, tx.AppendEvent(ctx, e))
			ids = append(ids, e.ID)
		}
		return nil
	})
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		page, err := tx.ListEvents(ctx, "t1", uid, uuid.Nil, 2)
		require.NoError(t, err)
		require.Len(t, page, 2)
		assert.Equal(t, []uuid.UUID{ids[4], ids[3]}, []uuid.UUID{page[0].ID, page[1].ID})
		page, err = tx.ListEvents(ctx, "t1", uid, page[1].ID, 10)
		require.NoError(t, err)
		require.Len(t, page, 3)
		assert.Equal(t, ids[0], page[2].ID)
		page, err = tx.ListEvents(ctx, "t2", uid, uuid.Nil, 10)
		require.NoError(t, err)
		assert.Empty(t, page)
		return nil
	})
}
