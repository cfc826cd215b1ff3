package mailpit_test

import (
	"net"
	netsmtp "net/smtp"
	"strings"
	"testing"

	"github.com/usermgmt/usermgmt/internal/mailpit"
)

func send(addr, to, subject string) error {
	return netsmtp.SendMail(addr, nil, "from@acme.example", []string{to},
		[]byte("From: Acme <from@acme.example>\r\nTo: "+to+"\r\nSubject: "+subject+"\r\n\r\nhello\r\n"))
}

func TestServer(t *testing.T) {
	mp := mailpit.Start(t)
	if err := send(mp.SMTP, "a@acme.example", "first"); err != nil {
		t.Fatalf("send: %v", err)
	}

	t.Run("WaitForMatchesTheWholeAddress", func(t *testing.T) {
		if err := send(mp.SMTP, "ba@acme.example", "other"); err != nil {
			t.Fatalf("send: %v", err)
		}
		got := mp.WaitFor(t, "A@acme.example", 1)
		if len(got) != 1 || got[0].Subject != "first" {
			t.Fatalf("WaitFor = %+v", got)
		}
		if n := len(mp.Messages(t)); n != 2 {
			t.Fatalf("Messages: %d, want 2", n)
		}
	})
	t.Run("MessageAndRaw", func(t *testing.T) {
		id := mp.WaitFor(t, "a@acme.example", 1)[0].ID
		m := mp.Message(t, id)
		if m.From != (mailpit.Address{Name: "Acme", Address: "from@acme.example"}) || strings.TrimSpace(m.Text) != "hello" {
			t.Fatalf("Message = %+v", m)
		}
		if raw := string(mp.Raw(t, id)); !strings.Contains(raw, "Subject: first\r\n") {
			t.Fatalf("Raw = %q", raw)
		}
	})
	t.Run("StopRefusesAndRestartKeepsPortAndMail", func(t *testing.T) {
		mp.Stop()
		if c, err := net.Dial("tcp", mp.SMTP); err == nil {
			c.Close()
			t.Fatal("SMTP still accepts after Stop")
		}
		mp.Stop() // a second Stop is harmless
		mp.Restart(t)
		if err := send(mp.SMTP, "a@acme.example", "after restart"); err != nil {
			t.Fatalf("send after Restart: %v", err)
		}
		if got := mp.WaitFor(t, "a@acme.example", 2); got[0].Subject != "after restart" || got[1].Subject != "first" {
			t.Fatalf("WaitFor = %+v", got)
		}
	})
}
