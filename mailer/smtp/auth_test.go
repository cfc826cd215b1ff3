package smtp

import (
	netsmtp "net/smtp"
	"testing"
)

// AUTH LOGIN is what a server gets that offers no PLAIN (Mailpit offers
// both, so the delivery tests exercise PLAIN); this walks its exchange.
func TestAuthMechanisms(t *testing.T) {
	tls := &netsmtp.ServerInfo{Name: "smtp.example.com", TLS: true}
	t.Run("PrefersPlain", func(t *testing.T) {
		a, err := newAuth("LOGIN PLAIN CRAM-MD5", "u", "p", false)
		if err != nil {
			t.Fatal(err)
		}
		mech, resp, err := a.Start(tls)
		if mech != "PLAIN" || string(resp) != "\x00u\x00p" || err != nil {
			t.Fatalf("Start = %q, %q, %v", mech, resp, err)
		}
	})
	t.Run("LoginAnswersUsernameThenPassword", func(t *testing.T) {
		a, err := newAuth("login", "u", "p", false)
		if err != nil {
			t.Fatal(err)
		}
		if mech, resp, err := a.Start(tls); mech != "LOGIN" || resp != nil || err != nil {
			t.Fatalf("Start = %q, %q, %v", mech, resp, err)
		}
		for _, want := range []string{"u", "p"} {
			if got, err := a.Next([]byte("prompt:"), true); string(got) != want || err != nil {
				t.Fatalf("Next = %q, %v; want %q", got, err, want)
			}
		}
		if _, err := a.Next([]byte("prompt:"), true); err == nil {
			t.Fatal("a third challenge was answered")
		}
	})
	t.Run("NoMechanismInCommon", func(t *testing.T) {
		if _, err := newAuth("CRAM-MD5 XOAUTH2", "u", "p", false); err == nil {
			t.Fatal("newAuth accepted a server without PLAIN or LOGIN")
		}
	})
	t.Run("NoCredentialsWithoutTLS", func(t *testing.T) {
		a, _ := newAuth("PLAIN", "u", "p", false)
		if _, _, err := a.Start(&netsmtp.ServerInfo{Name: "smtp.example.com"}); err == nil {
			t.Fatal("credentials offered over plain text")
		}
		a, _ = newAuth("PLAIN", "u", "p", true) // NoTLS, loopback only
		if _, _, err := a.Start(&netsmtp.ServerInfo{Name: "127.0.0.1"}); err != nil {
			t.Fatalf("NoTLS: %v", err)
		}
	})
}
