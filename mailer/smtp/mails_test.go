package smtp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/mailpit"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/mailer/smtp"
	"github.com/usermgmt/usermgmt/store/memory"
)

var buttonLink = regexp.MustCompile(`<a class="button" href="([^"]+)"`)

const notAsked = "If you did not ask for this"

// TestDefaultMailsAreRealMails sends every kind of the library's mail
// through a real SMTP server and reads it back: each has a text and an
// HTML part naming the product, a link mail's button goes where the text
// part's link goes, and only a reset the person asked for says "if you
// did not ask for this" (an admin's reset does not).
func TestDefaultMailsAreRealMails(t *testing.T) {
	mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	clk := testclock.New(time.Now().UTC().Truncate(time.Second))
	const product = "Acme Dienstplan – Zürich"
	m, err := usermgmt.New(memory.New(), usermgmt.Options{
		Mailer: mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS}), SecretKey: bytes.Repeat([]byte{7}, 32),
		Issuer: product, Links: usermgmt.Links{BaseURL: "https://rota.acme.example"}, Clock: clk.Now,
		Logger: slog.New(slog.DiscardHandler), MaxFailedAttempts: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	system := usermgmt.AsSystem(context.Background())
	const email = "ana@acme.example"
	n := 0
	next := func(what string) mailpit.Message {
		t.Helper()
		n++
		return mp.Message(t, mp.WaitFor(t, email, n)[0].ID) // newest first
	}
	token := func(msg mailpit.Message) string {
		u, err := url.Parse(linkInText.FindString(msg.Text))
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("token")
	}
	check := func(kind string, msg mailpit.Message, link bool) {
		t.Helper()
		if msg.Text == "" || msg.HTML == "" || !strings.Contains(msg.Text, product) || !strings.Contains(msg.HTML, product) {
			t.Fatalf("%s: want a text and an HTML part naming the product:\n%s\n%s", kind, msg.Text, msg.HTML)
		}
		b := buttonLink.FindStringSubmatch(msg.HTML)
		if !link {
			if b != nil {
				t.Fatalf("%s: a notice with a button", kind)
			}
			return
		}
		if b == nil || b[1] != linkInText.FindString(msg.Text) || !strings.Contains(b[1], "token=") {
			t.Fatalf("%s: button %q, text link %q", kind, b, linkInText.FindString(msg.Text))
		}
	}

	u, err := m.InviteUser(system, "acme", usermgmt.Invite{Email: email, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	invite := next("invite")
	check("invite", invite, true)
	enr, err := m.AcceptInvite(context.Background(), token(invite), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	c, _ := totp.GenerateCode(enr.Secret, clk.Now())
	if _, err := m.CompleteMFAEnrollment(context.Background(), enr.Token, c); err != nil {
		t.Fatal(err)
	}

	clk.Advance(2 * time.Minute)
	if err := m.SendPasswordReset(system, "acme", u.ID); err != nil {
		t.Fatal(err)
	}
	adminReset := next("admin reset")
	check("admin reset", adminReset, true)
	if strings.Contains(adminReset.Text, notAsked) || strings.Contains(adminReset.HTML, notAsked) {
		t.Fatalf("an admin's reset says %q:\n%s", notAsked, adminReset.Text)
	}

	clk.Advance(2 * time.Minute)
	if err := m.RequestPasswordReset(context.Background(), "acme", email); err != nil {
		t.Fatal(err)
	}
	selfReset := next("self-service reset")
	check("self-service reset", selfReset, true)
	if !strings.Contains(selfReset.Text, notAsked) || !strings.Contains(selfReset.HTML, notAsked) {
		t.Fatalf("a reset the person asked for lacks %q:\n%s", notAsked, selfReset.Text)
	}

	if err := m.ResetPassword(context.Background(), token(selfReset), "a brand new passphrase here"); err != nil {
		t.Fatal(err)
	}
	check("password changed", next("password changed"), false)

	if err := m.ResetMFA(system, "acme", u.ID); err != nil {
		t.Fatal(err)
	}
	check("MFA reset", next("mfa reset"), false)

	for range 2 {
		_, _ = m.Login(context.Background(), usermgmt.LoginRequest{TenantID: "acme", Email: email, Password: "not the password at all"})
	}
	check("sign-in paused", next("sign-in paused"), false)
}
