package smtp_test

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/mailpit"
	"github.com/usermgmt/usermgmt/mailer/smtp"
)

// The Manager stores an internationalised domain in Unicode
// ("ana@bücher.example"). On the wire the domain goes as A-labels
// ("xn--bcher-kva.example"), in the envelope and in the headers, so that a
// server without SMTPUTF8 takes an address whose local part is ASCII.
func TestInternationalDomainGoesAsALabels(t *testing.T) {
	t.Run("ServerWithoutSMTPUTF8", func(t *testing.T) {
		srv := plainServer(t)
		m := mustMailer(t, smtp.Options{Addr: srv.addr, TLS: smtp.NoTLS, From: "Acme <no-reply@bücher.example>"})
		err := m.Send(t.Context(), usermgmt.Message{To: "Ana <ana@BÜCHER.example>", Subject: "Hi", Text: "x", HTML: "<p>x</p>"})
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		mail, rcpt, data := srv.envelope()
		if mail != "MAIL FROM:<no-reply@xn--bcher-kva.example>" {
			t.Errorf("envelope sender %q", mail)
		}
		if rcpt != "RCPT TO:<ana@xn--bcher-kva.example>" {
			t.Errorf("envelope recipient %q", rcpt)
		}
		check7Bit(t, []byte(data))
		for _, want := range []string{"To: \"Ana\" <ana@xn--bcher-kva.example>\r\n", "From: \"Acme\" <no-reply@xn--bcher-kva.example>\r\n", "@xn--bcher-kva.example>\r\n"} {
			if !strings.Contains(data, want) {
				t.Errorf("message lacks %q:\n%s", want, data)
			}
		}
	})
	t.Run("UnicodeLocalPartStillNeedsSMTPUTF8", func(t *testing.T) {
		srv := plainServer(t)
		m := mustMailer(t, smtp.Options{Addr: srv.addr, TLS: smtp.NoTLS})
		err := m.Send(t.Context(), usermgmt.Message{To: "josé@bücher.example", Subject: "Hi", Text: "x"})
		if err == nil || !strings.Contains(err.Error(), "SMTPUTF8") {
			t.Fatalf("Send = %v, want the SMTPUTF8 refusal", err)
		}
	})
	t.Run("Mailpit", func(t *testing.T) {
		mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
		m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})
		if err := m.Send(t.Context(), usermgmt.Message{To: "ana@bücher.example", Subject: "Hi", Text: "x", HTML: "<p>x</p>"}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := mp.Message(t, mp.WaitFor(t, "ana@xn--bcher-kva.example", 1)[0].ID)
		if len(got.To) != 1 || got.To[0].Address != "ana@xn--bcher-kva.example" {
			t.Fatalf("To = %+v", got.To)
		}
		check7Bit(t, mp.Raw(t, got.ID))
	})
	t.Run("BadDomainIsRefusedBeforeDialling", func(t *testing.T) {
		m := mustMailer(t, smtp.Options{Addr: closedAddr(t), TLS: smtp.NoTLS})
		for _, to := range []string{"ana@bü_cher.example", "ana@bücher\u202e.example"} {
			if err := m.Send(t.Context(), usermgmt.Message{To: to, Subject: "Hi", Text: "x"}); !errors.Is(err, smtp.ErrInvalidMessage) {
				t.Errorf("Send to %q = %v, want ErrInvalidMessage", to, err)
			}
		}
		if _, err := smtp.New(smtp.Options{Addr: closedAddr(t), TLS: smtp.NoTLS, From: "no-reply@bü_cher.example"}); err == nil {
			t.Error("New took a From whose domain is not a domain name")
		}
	})
}

// fakeServer is the least SMTP server: it offers no extension at all (no
// SMTPUTF8, no 8BITMIME) and records one envelope and message.
type fakeServer struct {
	addr string
	mu   sync.Mutex
	done chan struct{}
	mail string
	rcpt string
	data strings.Builder
}

func plainServer(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &fakeServer{addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		defer close(s.done)
		r := bufio.NewReader(c)
		say := func(line string) { _, _ = c.Write([]byte(line + "\r\n")) }
		say("220 fake ESMTP")
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			s.mu.Lock()
			switch cmd := strings.TrimRight(line, "\r\n"); {
			case inData && cmd == ".":
				inData = false
				say("250 queued")
			case inData:
				s.data.WriteString(line)
			case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
				say("250 fake")
			case strings.HasPrefix(cmd, "MAIL"):
				s.mail = cmd
				say("250 ok")
			case strings.HasPrefix(cmd, "RCPT"):
				s.rcpt = cmd
				say("250 ok")
			case cmd == "DATA":
				inData = true
				say("354 go on")
			case cmd == "QUIT":
				say("221 bye")
				s.mu.Unlock()
				return
			default:
				say("502 not implemented")
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// envelope waits for the conversation to end and returns what it held.
func (s *fakeServer) envelope() (mail, rcpt, data string) {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mail, s.rcpt, s.data.String()
}
