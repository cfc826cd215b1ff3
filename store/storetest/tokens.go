package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

func (f *fixture) consume(p usermgmt.TokenPurpose, h usermgmt.TokenHash) (usermgmt.TokenRecord, error) {
	return inTx(f, func(tx usermgmt.Tx) (usermgmt.TokenRecord, error) { return tx.ConsumeToken(f.ctx, p, h) })
}

// hasToken reports whether the token is there, without consuming it.
func (f *fixture) hasToken(p usermgmt.TokenPurpose, h usermgmt.TokenHash) bool {
	f.t.Helper()
	_, err := probe(f, func(tx usermgmt.Tx) (usermgmt.TokenRecord, error) { return tx.ConsumeToken(f.ctx, p, h) })
	if usermgmt.ErrorCode(err) == usermgmt.CodeNotFound {
		return false
	}
	require.NoError(f.t, err)
	return true
}

func testCreateTokenThenConsumeReturnsIt(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	for _, p := range []usermgmt.TokenPurpose{usermgmt.PurposeInvite, usermgmt.PurposePasswordReset, usermgmt.PurposeMFAEnrollment, usermgmt.PurposeMFAChallenge} {
		want := f.mustToken(u, p)
		got, err := f.consume(p, want.Hash)
		require.NoError(t, err, p)
		require.Equal(t, normToken(want), normToken(got), p)
	}
	empty := newToken(u, usermgmt.PurposeInvite)
	empty.Data = nil
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateToken(f.ctx, empty) })
	got, err := f.consume(usermgmt.PurposeInvite, empty.Hash)
	require.NoError(t, err)
	require.Empty(t, got.Data)
}

func testCreateTokenDuplicateHashIsConflict(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	first := f.mustToken(u, usermgmt.PurposeInvite)
	again := newToken(u, usermgmt.PurposePasswordReset)
	again.Hash = first.Hash
	err := f.do(func(tx usermgmt.Tx) error { return tx.CreateToken(f.ctx, again) })
	requireCode(t, err, usermgmt.CodeConflict, "second token with the same hash")
	got, err := f.consume(usermgmt.PurposeInvite, first.Hash)
	require.NoError(t, err)
	require.Equal(t, normToken(first), normToken(got), "first token kept")
}

func testConsumeTokenOnce(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	tok := f.mustToken(u, usermgmt.PurposeInvite)
	_, err := f.consume(usermgmt.PurposeInvite, tok.Hash)
	require.NoError(t, err)
	_, err = f.consume(usermgmt.PurposeInvite, tok.Hash)
	requireCode(t, err, usermgmt.CodeNotFound, "second consume")
	_, err = f.consume(usermgmt.PurposeInvite, newHash())
	requireCode(t, err, usermgmt.CodeNotFound, "unknown token")

	// Within one transaction too.
	tok = f.mustToken(u, usermgmt.PurposeInvite)
	err = f.do(func(tx usermgmt.Tx) error {
		if _, err := tx.ConsumeToken(f.ctx, usermgmt.PurposeInvite, tok.Hash); err != nil {
			return err
		}
		_, err := tx.ConsumeToken(f.ctx, usermgmt.PurposeInvite, tok.Hash)
		return err
	})
	requireCode(t, err, usermgmt.CodeNotFound, "second consume in the same transaction")
	require.True(t, f.hasToken(usermgmt.PurposeInvite, tok.Hash), "the failed transaction consumed nothing")
}

func testConsumeTokenConcurrentOneWins(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	tok := f.mustToken(u, usermgmt.PurposePasswordReset)
	got := make([]usermgmt.TokenRecord, 10)
	errs := race(10, func(i int) error {
		var err error
		got[i], err = f.consume(usermgmt.PurposePasswordReset, tok.Hash)
		return err
	})
	require.Equal(t, map[usermgmt.Code]int{"": 1, usermgmt.CodeNotFound: 9}, codes(errs), "errors: %v", errs)
	i := slices.IndexFunc(errs, func(err error) bool { return err == nil })
	require.Equal(t, normToken(tok), normToken(got[i]))
}

func testConsumeTokenWrongPurposeIsNotFound(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	tok := f.mustToken(u, usermgmt.PurposeInvite)
	for _, p := range []usermgmt.TokenPurpose{usermgmt.PurposePasswordReset, usermgmt.PurposeMFAEnrollment, usermgmt.PurposeMFAChallenge} {
		_, err := f.consume(p, tok.Hash)
		requireCode(t, err, usermgmt.CodeNotFound, "an invite token used as "+string(p))
	}
	_, err := f.consume(usermgmt.PurposeInvite, tok.Hash)
	require.NoError(t, err, "the token survives a use with the wrong purpose")
}

func testConsumeTokenLeavesExpiryToCaller(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	old := newToken(u, usermgmt.PurposeInvite)
	old.CreatedAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	old.ExpiresAt = old.CreatedAt.Add(time.Hour)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateToken(f.ctx, old) })
	got, err := f.consume(usermgmt.PurposeInvite, old.Hash)
	require.NoError(t, err, "an expired token is still returned")
	require.Equal(t, normToken(*old), normToken(got))
}

func testDeleteTokensRemovesOnlyThatUsersPurpose(t *testing.T, f *fixture) {
	a := f.mustUser(acme, "a@example.com", usermgmt.StatusInvited)
	b := f.mustUser(acme, "b@example.com", usermgmt.StatusInvited)
	aInvite1 := f.mustToken(a, usermgmt.PurposeInvite)
	aInvite2 := f.mustToken(a, usermgmt.PurposeInvite)
	aReset := f.mustToken(a, usermgmt.PurposePasswordReset)
	bInvite := f.mustToken(b, usermgmt.PurposeInvite)

	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteTokens(f.ctx, acme, a.ID, usermgmt.PurposeInvite) })
	require.False(t, f.hasToken(usermgmt.PurposeInvite, aInvite1.Hash), "a's first invite deleted")
	require.False(t, f.hasToken(usermgmt.PurposeInvite, aInvite2.Hash), "a's second invite deleted")
	require.True(t, f.hasToken(usermgmt.PurposePasswordReset, aReset.Hash), "a's reset kept")
	require.True(t, f.hasToken(usermgmt.PurposeInvite, bInvite.Hash), "b's invite kept")

	// Deleting what is not there is no error.
	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteTokens(f.ctx, acme, a.ID, usermgmt.PurposeInvite) })
	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteTokens(f.ctx, acme, newID(), usermgmt.PurposeInvite) })

	// A new token after a delete works as usual.
	fresh := f.mustToken(a, usermgmt.PurposeInvite)
	require.True(t, f.hasToken(usermgmt.PurposeInvite, fresh.Hash))
}

func testTokensDoNotAliasStore(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	in := newToken(u, usermgmt.PurposeMFAEnrollment)
	want := normToken(*in)
	want.Data = slices.Clone(in.Data)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateToken(f.ctx, in) })
	in.Data[0] = 'X'

	// Consume, scribble on the result, and roll back: the store's copy
	// must be intact.
	_, err := probe(f, func(tx usermgmt.Tx) (usermgmt.TokenRecord, error) {
		got, err := tx.ConsumeToken(f.ctx, usermgmt.PurposeMFAEnrollment, in.Hash)
		if err == nil {
			got.Data[0] = 'Y'
		}
		return got, err
	})
	require.NoError(t, err)
	got, err := f.consume(usermgmt.PurposeMFAEnrollment, in.Hash)
	require.NoError(t, err)
	require.Equal(t, want, normToken(got))
}

func (f *fixture) peek(p usermgmt.TokenPurpose, h usermgmt.TokenHash) (usermgmt.TokenRecord, error) {
	return inTx(f, func(tx usermgmt.Tx) (usermgmt.TokenRecord, error) { return tx.PeekToken(f.ctx, p, h) })
}

func testPeekTokenTellsLiveFromSpent(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	for _, p := range []usermgmt.TokenPurpose{usermgmt.PurposeInvite, usermgmt.PurposePasswordReset} {
		tok := f.mustToken(u, p)
		got, err := f.peek(p, tok.Hash)
		require.NoError(t, err, p)
		require.False(t, got.Spent, "%s: a live token", p)
		require.Equal(t, normToken(tok), normToken(got), p)
		_, err = f.peek(p, tok.Hash)
		require.NoError(t, err, "%s: peeking spends nothing", p)

		consumed, err := f.consume(p, tok.Hash)
		require.NoError(t, err, "%s: peeking left the token to consume", p)
		require.False(t, consumed.Spent, p)
		require.Equal(t, p, consumed.Purpose)

		got, err = f.peek(p, tok.Hash)
		require.NoError(t, err, "%s: a spent link token is kept until it expires", p)
		require.True(t, got.Spent, p)
		require.Equal(t, p, got.Purpose)
		require.Equal(t, tok.UserID, got.UserID)
		require.Equal(t, tok.TenantID, got.TenantID)
		require.True(t, tok.ExpiresAt.Equal(got.ExpiresAt), p)

		_, err = f.consume(p, tok.Hash)
		requireCode(t, err, usermgmt.CodeNotFound, "a spent token is not consumed twice")
		f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteTokens(f.ctx, acme, u.ID, p) })
		got, err = f.peek(p, tok.Hash)
		require.NoError(t, err, "%s: DeleteTokens removes live tokens only: the used link stays known", p)
		require.True(t, got.Spent)
	}
	_, err := f.peek(usermgmt.PurposeInvite, newHash())
	requireCode(t, err, usermgmt.CodeNotFound, "unknown token")
	tok := f.mustToken(u, usermgmt.PurposeInvite)
	_, err = f.peek(usermgmt.PurposePasswordReset, tok.Hash)
	requireCode(t, err, usermgmt.CodeNotFound, "another purpose")

	// A rolled-back consume leaves the token live.
	_, err = probe(f, func(tx usermgmt.Tx) (usermgmt.TokenRecord, error) {
		return tx.ConsumeToken(f.ctx, usermgmt.PurposeInvite, tok.Hash)
	})
	require.NoError(t, err)
	got, err := f.peek(usermgmt.PurposeInvite, tok.Hash)
	require.NoError(t, err)
	require.False(t, got.Spent, "the rolled-back consume spent nothing")
}

func testPeekTokenForgetsOtherPurposesOnceSpent(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	for _, p := range []usermgmt.TokenPurpose{usermgmt.PurposeMFAEnrollment, usermgmt.PurposeMFAChallenge} {
		tok := f.mustToken(u, p)
		_, err := f.consume(p, tok.Hash)
		require.NoError(t, err, p)
		_, err = f.peek(p, tok.Hash)
		requireCode(t, err, usermgmt.CodeNotFound, string(p)+" is deleted when spent")
	}
}

func testDeleteExpiredRemovesSpentLinkTokens(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusInvited)
	at := base.Add(time.Hour)
	tok := f.expiringToken(u, usermgmt.PurposeInvite, at)
	_, err := f.consume(usermgmt.PurposeInvite, tok.Hash)
	require.NoError(t, err)
	require.Equal(t, usermgmt.Pruned{}, f.deleteExpired(at.Add(-time.Second)), "kept until it expires")
	_, err = f.peek(usermgmt.PurposeInvite, tok.Hash)
	require.NoError(t, err)
	require.Equal(t, usermgmt.Pruned{Tokens: 1}, f.deleteExpired(at))
	_, err = f.peek(usermgmt.PurposeInvite, tok.Hash)
	requireCode(t, err, usermgmt.CodeNotFound, "pruned at expiry")
}
