package smtp_test

import (
	"bytes"
	"net/mail"
	"regexp"
	"strings"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/mailpit"
	"github.com/usermgmt/usermgmt/mailer/smtp"
)

// Message.ID is the same on every delivery attempt of one outbox mail; the
// Mailer makes it the Message-ID, so a repeated delivery reads as the same
// mail. An ID that could not stand there safely gives way to a random one.
func TestMessageIDComesFromTheMessage(t *testing.T) {
	const outboxID = "01a21b6f-7c52-7a46-9d69-17488fc320a0" // a UUID, as the Manager sets
	msg := usermgmt.Message{ID: outboxID, To: "again@acme.example", Subject: "Your invitation", Text: "x", HTML: "<p>x</p>"}

	t.Run("EveryAttemptCarriesIt", func(t *testing.T) {
		mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
		m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})
		for range 2 {
			if err := m.Send(t.Context(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		for _, s := range mp.WaitFor(t, msg.To, 2) {
			if s.MessageID != outboxID+"@acme.example" {
				t.Errorf("Message-ID = %q, want %q", s.MessageID, outboxID+"@acme.example")
			}
		}
	})
	t.Run("ARepeatedDeliveryIsTheSameMail", func(t *testing.T) {
		// A receiver that drops duplicate Message-IDs keeps one copy.
		mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--ignore-duplicate-ids")
		m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})
		for range 2 {
			if err := m.Send(t.Context(), msg); err != nil { // Mailpit has stored or dropped it when Send returns
				t.Fatalf("Send: %v", err)
			}
		}
		if got := mp.Messages(t); len(got) != 1 {
			t.Fatalf("%d messages stored, want 1", len(got))
		}
	})
	t.Run("UnsafeIDsFallBackToRandom", func(t *testing.T) {
		mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
		m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})
		longest := strings.Repeat("a1-.", 15) + "abcd" // 64 characters
		cases := map[string]struct{ id, want string }{
			"Empty":           {"", ""},
			"Longest":         {longest, longest},
			"TooLong":         {longest + "e", ""},
			"WithAt":          {"a@evil.example", ""},
			"WithAngle":       {"a>b", ""},
			"WithSpace":       {"a b", ""},
			"WithCRLF":        {"a\r\nBcc: x@evil.example", ""},
			"WithNUL":         {"a\x00b", ""},
			"NonASCII":        {"Zürich-1", ""},
			"LeadingDot":      {".a", ""},
			"TrailingDot":     {"a.", ""},
			"TwoDotsInARow":   {"a..b", ""},
			"LettersAndDigit": {"AbC.9-z", "AbC.9-z"},
		}
		for name, c := range cases {
			if err := m.Send(t.Context(), usermgmt.Message{ID: c.id, To: "ids@acme.example", Subject: name, Text: "x"}); err != nil {
				t.Fatalf("Send(%s): %v", name, err)
			}
		}
		random := regexp.MustCompile(`^[0-9a-f]{32}@acme\.example$`)
		for _, s := range mp.WaitFor(t, "ids@acme.example", len(cases)) {
			t.Run(s.Subject, func(t *testing.T) {
				c := cases[s.Subject]
				if c.want != "" && s.MessageID != c.want+"@acme.example" || c.want == "" && !random.MatchString(s.MessageID) {
					t.Fatalf("Message-ID = %q for ID %q", s.MessageID, c.id)
				}
				// The ID never adds a header of its own.
				msg, err := mail.ReadMessage(bytes.NewReader(mp.Raw(t, s.ID)))
				if err != nil {
					t.Fatal(err)
				}
				if len(msg.Header["Message-Id"]) != 1 || msg.Header.Get("Bcc") != "" {
					t.Fatalf("headers: %v", msg.Header)
				}
			})
		}
	})
}
