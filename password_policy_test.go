package usermgmt_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// contextWordCases are passwords built from what the library knows about
// the person (ASVS 6.2.11, NIST SP 800-63B 3.1.1.2), for a user
// bob.smith-jr+hr@globex-corp.example of tenant acme-corporation, with the
// word the refusal must name.
var contextWordCases = map[string]struct{ password, names string }{
	"TenantID":         {"acme-corporation rocks", `"acme-corporation"`},
	"TenantIDAnyCase":  {"I love ACME-Corporation", `"acme-corporation"`},
	"TenantPart":       {"corporation forever 1", `"corporation"`},
	"TenantPartFour":   {"my ACME password here", `"acme"`},
	"EmailPart":        {"bob.smith2024!", `"smith"`},
	"EmailPartAnyCase": {"Smith family 1999", `"smith"`},
	"EmailPartInWord":  {"horse battery hr smithy", `"smith"`},
	"DomainLabelPart":  {"globex is the best", `"globex"`},
	"DomainLabelPart2": {"staple CORP horse battery", `"corp"`},
}

// acceptedNearMisses hold only context words under four characters, or
// none at all.
var acceptedNearMisses = []string{
	"bob likes horses",             // "bob": three letters
	"jr and hr staple horse",       // two-letter parts
	"acm orporation smit lobex",    // every word one letter short
	"correct horse battery staple", // nothing of the person
}

const contextTenant = "acme-corporation"

func TestPasswordContextWordsAtAcceptInvite(t *testing.T) {
	e := mustManager(t)
	sys := usermgmt.AsSystem(context.Background())
	u, err := e.m.InviteUser(sys, contextTenant, usermgmt.Invite{Email: "Bob.Smith-JR+hr@globex-corp.example", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err)
	token := e.lastToken(t, u.Email)
	for name, c := range contextWordCases {
		t.Run(name, func(t *testing.T) {
			_, err := e.m.AcceptInvite(context.Background(), token, c.password)
			require.Equal(t, usermgmt.CodeInvalid, code(err), "%q: %v", c.password, err)
			assert.Contains(t, err.Error(), c.names)
		})
	}
	for i, pw := range acceptedNearMisses {
		// Each on an invitation of its own (hr1, hr2, …: the same words),
		// so that the first link stays unspent.
		other, err := e.m.InviteUser(sys, contextTenant, usermgmt.Invite{Email: fmt.Sprintf("bob.smith-jr+hr%d@globex-corp.example", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		_, err = e.m.AcceptInvite(context.Background(), e.lastToken(t, other.Email), pw)
		assert.NoError(t, err, "%q", pw)
	}
	_, err = e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err, "the link still works after every refusal")
}

func TestPasswordContextWordsAtResetPassword(t *testing.T) {
	e := mustManager(t)
	sys := usermgmt.AsSystem(context.Background())
	u, err := e.m.InviteUser(sys, contextTenant, usermgmt.Invite{Email: "bob.smith-jr+hr@globex-corp.example", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.NoError(t, err)
	enr, err := e.m.AcceptInvite(context.Background(), e.lastToken(t, u.Email), goodPassword)
	require.NoError(t, err)
	_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
	require.NoError(t, err)
	e.clock.Advance(time.Minute) // past the invitation's mail interval
	require.NoError(t, e.m.SendPasswordReset(sys, contextTenant, u.ID))
	token := e.lastToken(t, u.Email)
	for name, c := range contextWordCases {
		t.Run(name, func(t *testing.T) {
			err := e.m.ResetPassword(context.Background(), token, c.password)
			require.Equal(t, usermgmt.CodeInvalid, code(err), "%q: %v", c.password, err)
			assert.Contains(t, err.Error(), c.names)
		})
	}
	require.NoError(t, e.m.ResetPassword(context.Background(), token, "bob likes horses"), "the link still works after every refusal")
	_, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: contextTenant, Email: u.Email, Password: "bob likes horses"})
	require.NoError(t, err)
}

// The reasons say which kind of word was found, so the person knows what
// to avoid.
func TestPasswordContextWordReasons(t *testing.T) {
	e := mustManager(t)
	_, token := e.invite(t, "bob.smith@globex.example")
	for pw, reason := range map[string]string{
		"bob.smith2024!":           `password must not contain your email name "smith"`,
		"acme acme acme acme":      `password must not contain the organisation name "acme"`,
		"globex globex 2024":       `password must not contain your email domain "globex"`,
		"bob.smith@globex.example": "password must not be your email address",
	} {
		_, err := e.m.AcceptInvite(context.Background(), token, pw)
		require.Equal(t, usermgmt.CodeInvalid, code(err), "%q", pw)
		assert.Contains(t, err.Error(), reason, "%q", pw)
	}
	_, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err, "the link still works")
}

// Each password gets its own salt: two users with one password have two
// different hashes, and both sign in.
func TestSamePasswordDifferentHashes(t *testing.T) {
	e := mustManager(t)
	a, _, _, _ := e.onboard(t, "ana@acme.test")
	b, _, _, _ := e.onboard(t, "bea@acme.test")
	var ha, hb string
	err := e.store.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		ra, err := tx.GetUser(ctx, tenant, a.ID)
		if err != nil {
			return err
		}
		rb, err := tx.GetUser(ctx, tenant, b.ID)
		ha, hb = ra.PasswordHash, rb.PasswordHash
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, ha)
	assert.NotEqual(t, ha, hb, "same password, different salts, different hashes")
	for _, u := range []usermgmt.User{a, b} {
		res, err := login(t, e, u.Email, goodPassword)
		require.NoError(t, err, u.Email)
		assert.NotEmpty(t, res.MFAChallenge, u.Email)
	}
}

// A password is any text: emoji and spaces are kept as typed, counted as
// characters, and the same text signs in.
func TestEmojiAndSpacesPasswordIsAccepted(t *testing.T) {
	const pw = "🦄 correct horse 🐴 battery"
	e := mustManager(t)
	u, token := e.invite(t, "ana@acme.test")
	enr, err := e.m.AcceptInvite(context.Background(), token, pw)
	require.NoError(t, err)
	_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
	require.NoError(t, err)
	res, err := login(t, e, u.Email, pw)
	require.NoError(t, err)
	assert.NotEmpty(t, res.MFAChallenge)
	_, err = login(t, e, u.Email, "🦄 correct horse 🐴 batter")
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "one character less is another password")
	_, err = login(t, e, u.Email, "🦄correct horse 🐴 battery")
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "spaces count")

	short := mustManager(t)
	_, token = short.invite(t, "bea@acme.test")
	_, err = short.m.AcceptInvite(context.Background(), token, "🦄🐴🦄🐴🦄🐴🦄🐴🦄🐴🦄") // 11 characters, 44 bytes
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "length is counted in characters, not bytes")
}
