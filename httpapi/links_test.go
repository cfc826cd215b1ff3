package httpapi_test

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// TestMailLinksIgnoreForgedHostHeaders: whatever Host, X-Forwarded-Host,
// X-Forwarded-Proto or Forwarded a request carries, even through a trusted
// proxy, the links it mails are on the configured Links.BaseURL: a link on
// the sender's host would hand them the token when it is followed.
func TestMailLinksIgnoreForgedHostHeaders(t *testing.T) {
	f := newFixture(t, func(o *httpapi.Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} // httptest's peer
	})
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	active, _, _ := f.active(t, "acme", "active@acme.test", usermgmt.RoleAgent)
	invited := f.invite(t, "acme", "invited@acme.test", usermgmt.RoleAgent)
	f.clock.Advance(2 * time.Minute) // past the mail interval of the invitations

	forged := map[string]string{
		"X-Forwarded-Host":  "evil.example",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Port":  "8080",
		"X-Original-Host":   "evil.example",
		"X-Host":            "evil.example",
		"Forwarded":         `for=192.0.2.9;host=evil.example;proto=http`,
	}
	for _, c := range []struct {
		name, to string
		r        req
	}{
		{"Invite", "new@acme.test", req{method: "POST", path: "/users/invitations",
			body: `{"email":"new@acme.test","roles":["agent"]}`, bearer: tok}},
		{"ResendInvitation", "invited@acme.test", req{method: "POST",
			path: "/users/" + invited.ID.String() + "/invitation/resend", bearer: tok}},
		{"AdminPasswordReset", "active@acme.test", req{method: "POST",
			path: "/users/" + active.ID.String() + "/password-reset", bearer: tok}},
		{"ForgotPassword", "admin@acme.test", req{method: "POST", path: "/password/forgot",
			body: `{"tenant":"acme","email":"admin@acme.test"}`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.mail.Reset()
			c.r.header = forged
			c.r.path = "http://evil.example:8080" + c.r.path // the request's Host
			if w := f.do(t, c.r); w.Code >= 300 {
				t.Fatalf("%s: %d %s", c.name, w.Code, w.Body)
			}
			f.m.Close() // waits for the forgot-password mail, sent in the background
			msg, ok := f.mail.LastTo(c.to)
			if !ok {
				t.Fatalf("no mail to %s", c.to)
			}
			u, err := url.Parse(msg.Link)
			if err != nil || u.Scheme != "https" || u.Host != "app.example.com" || !strings.HasPrefix(msg.Link, "https://app.example.com/") {
				t.Fatalf("link %q is not on https://app.example.com", msg.Link)
			}
			for _, body := range []string{msg.Text, msg.HTML} {
				if strings.Contains(body, "evil.example") || !strings.Contains(body, "https://app.example.com/") {
					t.Fatalf("mail body does not link to the configured origin only:\n%s", body)
				}
			}
		})
	}
}
