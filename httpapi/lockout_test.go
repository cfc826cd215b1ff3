package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/usermgmt/usermgmt"
)

// TestLockedAccountAnswersAsUnknown: through the API, an account locked by
// failed logins answers exactly as an address nobody has: status, headers
// that matter and body, for a wrong password and for the right one.
func TestLockedAccountAnswersAsUnknown(t *testing.T) {
	f := newFixture(t, nil)
	f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	f.invite(t, "acme", "ivy@acme.test", usermgmt.RoleAgent)
	if _, err := f.m.AcceptInvite(context.Background(), f.mail.Token("ivy@acme.test"), password); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		status     int
		retryAfter string
		body       string
	}
	run := func(email string) []seen {
		var out []seen
		for _, pw := range []string{"wrong 1 password", "wrong 2 password", "wrong 3 password", "wrong 4 password",
			"wrong 5 password", "wrong 6 password", password} {
			w := f.do(t, req{method: "POST", path: "/auth/login", body: loginBody(email, pw)})
			out = append(out, seen{w.Code, w.Header().Get("Retry-After"), w.Body.String()})
		}
		return out
	}
	unknown := run("nobody@acme.test")
	if unknown[6].status != http.StatusUnauthorized {
		t.Fatalf("unknown address: %+v", unknown)
	}
	for _, email := range []string{"ana@acme.test", "ivy@acme.test"} {
		got := run(email)
		for i := range got {
			if got[i] != unknown[i] {
				t.Fatalf("%s, login %d: %+v, an unknown address gets %+v", email, i+1, got[i], unknown[i])
			}
		}
	}
}
