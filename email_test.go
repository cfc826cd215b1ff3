package usermgmt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// One mailbox has one stored form: every spelling of an address a person
// or a mail client may type comes out the same, and an ASCII address comes
// out as it went in.
func TestNormalizeEmailOneFormPerMailbox(t *testing.T) {
	for in, want := range map[string]string{
		"ana.lopez@example.com":            "ana.lopez@example.com",
		"  Ana.Lopez@Example.COM ":         "ana.lopez@example.com",
		"a+b_c-d.e@sub.example.co.uk":      "a+b_c-d.e@sub.example.co.uk",
		"ana@bücher.example":               "ana@bücher.example",
		"ANA@BÜCHER.EXAMPLE":               "ana@bücher.example",
		"ana@xn--bcher-kva.example":        "ana@bücher.example",
		"ana@XN--BCHER-KVA.example":        "ana@bücher.example",
		"ana@bu\u0308cher.example":         "ana@bücher.example",  // NFD: u + combining diaeresis
		"ana@ｂüｃｈｅｒ.example":               "ana@bücher.example",  // fullwidth letters
		"ana@bücher\u3002example":          "ana@bücher.example",  // ideographic full stop
		"josé@straße.example":              "josé@straße.example", // nontransitional: ß stays
		"jos\u0065\u0301@xn--strae-oqa.de": "josé@straße.de",
	} {
		got, err := usermgmt.NormalizeEmail(in)
		if assert.NoError(t, err, "%q", in) {
			assert.Equal(t, want, got, "%q", in)
		}
	}
}

// Characters that hide or fake part of an address are refused wherever
// they are, with a message that names the code point.
func TestNormalizeEmailRefusesHiddenCharacters(t *testing.T) {
	for name, c := range map[string]struct {
		in, names string
	}{
		"NUL":                   {"ana\x00@acme.test", "U+0000"},
		"Tab":                   {"ana\tb@acme.test", "U+0009"},
		"DEL":                   {"ana\x7f@acme.test", "U+007F"},
		"C1Control":             {"ana\u0085@acme.test", "U+0085"},
		"ZeroWidthSpace":        {"ana\u200b@acme.test", "U+200B"},
		"ZeroWidthSpaceDomain":  {"ana@ac\u200bme.test", "U+200B"},
		"ZeroWidthJoiner":       {"an\u200da@acme.test", "U+200D"},
		"ZeroWidthNonJoiner":    {"an\u200ca@acme.test", "U+200C"},
		"RightToLeftOverride":   {"\u202etset.emca@ana", "U+202E"},
		"LeftToRightMark":       {"ana\u200e@acme.test", "U+200E"},
		"SoftHyphen":            {"an\u00ada@acme.test", "U+00AD"},
		"ByteOrderMark":         {"ana@acme\ufeff.test", "U+FEFF"},
		"WordJoiner":            {"ana\u2060@acme.test", "U+2060"},
		"LineSeparator":         {"ana\u2028@acme.test", "U+2028"},
		"ParagraphSeparator":    {"ana\u2029@acme.test", "U+2029"},
		"NoBreakSpace":          {"ana\u00a0lopez@acme.test", "U+00A0"},
		"IdeographicSpace":      {"ana\u3000@acme.test", "U+3000"},
		"PrivateUse":            {"ana\ue000@acme.test", "U+E000"},
		"Unassigned":            {"ana\u0378@acme.test", "U+0378"},
		"UnassignedPlane3":      {"ana@acme\U0003fffe.test", "U+3FFFE"},
		"TagCharacter":          {"ana\U000e0041@acme.test", "U+E0041"},
		"InvisibleSeparatorMid": {"a\u2063na@acme.test", "U+2063"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := usermgmt.NormalizeEmail(c.in)
			require.Equal(t, usermgmt.CodeInvalid, code(err), "%q: %v", c.in, err)
			assert.Contains(t, err.Error(), c.names)
		})
	}
}

// A domain IDNA refuses is not an address.
func TestNormalizeEmailRefusesBadDomains(t *testing.T) {
	for _, in := range []string{
		"ana@xn--abc.example",           // Punycode that decodes to no valid label
		"ana@xn--bcher-kva-.example",    // hyphen at the end of a label
		"ana@-acme.example",             // hyphen at the start of a label
		"ana@acme_corp.example",         // not a host name
		"ana@" + longLabel + ".example", // label over 63 octets
		"ana@acme..example",
		"ana@.acme.example",
		"ana@acme.example.",
		"ana@bücher\u3002", // a trailing dot made by the mapping
		"ana@",
	} {
		_, err := usermgmt.NormalizeEmail(in)
		assert.Equal(t, usermgmt.CodeInvalid, code(err), "%q: %v", in, err)
	}
}

const longLabel = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd" // 64

// Inviting one mailbox under another spelling is the same user: conflict.
func TestInviteAnotherSpellingIsConflict(t *testing.T) {
	e := mustManager(t)
	u, _ := e.invite(t, "ana@bücher.example")
	assert.Equal(t, "ana@bücher.example", u.Email)
	for _, other := range []string{"ANA@BÜCHER.example", "ana@xn--bcher-kva.example", "ana@bu\u0308cher.example"} {
		_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: other, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		assert.Equal(t, usermgmt.CodeConflict, code(err), "%q", other)
	}
	_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ana\u200b@bücher.example", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "a lookalike with a zero width space is refused")
	page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "bücher"})
	require.NoError(t, err)
	assert.Equal(t, []string{"ana@bücher.example"}, emails(page.Users), "one user")
	msg, ok := e.mail.Last()
	require.True(t, ok)
	assert.Equal(t, "ana@bücher.example", msg.To, "the Mailer gets the stored form; mailer/smtp sends its domain as A-labels")
}

// A person signs in with any spelling of their address.
func TestLoginWithAnotherSpelling(t *testing.T) {
	e := mustManager(t)
	e.onboard(t, "ana@bücher.example")
	res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: "Ana@xn--bcher-kva.example", Password: goodPassword})
	require.NoError(t, err)
	assert.NotEmpty(t, res.MFAChallenge)
}

// The stored form is a fixed point: normalising it again changes nothing
// (so a lookup by the stored email finds the user), and it never holds a
// character NormalizeEmail refuses.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ana@acme.test", "ANA@BÜCHER.example", "ana@xn--bcher-kva.example", "ana\u200b@acme.test",
		"josé@straße.example", "a@b", "ana@bücher\u3002example", "ana@ｂüｃｈｅｒ.example", "\u202eana@x.io", "a@xn--abc.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := usermgmt.NormalizeEmail(s)
		if err != nil {
			if code(err) != usermgmt.CodeInvalid {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		again, err := usermgmt.NormalizeEmail(e)
		if err != nil || again != e {
			t.Fatalf("%q normalised to %q, which normalises to %q, %v", s, e, again, err)
		}
	})
}
