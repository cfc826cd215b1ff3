package smtp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/mailpit"
	"github.com/usermgmt/usermgmt/mailer/smtp"
)

// The tests in this file deliver to a real SMTP server, Mailpit, and read
// what arrived back over its HTTP API.

var linkInText = regexp.MustCompile(`https://\S+`)

func TestInvitationArrivesAndItsLinkWorks(t *testing.T) {
	mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	rec := &linkRecorder{next: mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})}
	mgr := mustManager(t, rec, nil)
	const email = "new.person@acme.example"

	if _, err := mgr.InviteUser(usermgmt.AsSystem(t.Context()), "acme", usermgmt.Invite{Email: email, Roles: []usermgmt.Role{usermgmt.RoleRecruiter}}); err != nil {
		t.Fatalf("InviteUser: %v", err)
	}
	sentMsg := rec.last()
	sent := sentMsg.Link
	if !strings.Contains(sent, "token=") {
		t.Fatalf("the Manager's link %q has no token", sent)
	}
	if sentMsg.ID == "" {
		t.Fatal("the Manager's message has no ID")
	}
	got := mp.Message(t, mp.WaitFor(t, email, 1)[0].ID)

	t.Run("Recipient", func(t *testing.T) {
		if len(got.To) != 1 || got.To[0].Address != email {
			t.Fatalf("To = %+v", got.To)
		}
		if got.From.Address != "rota@acme.example" || got.From.Name != "Acme Rota" {
			t.Fatalf("From = %+v", got.From)
		}
	})
	t.Run("NonASCIISubject", func(t *testing.T) {
		if want := "You are invited to Acme Dienstplan – Zürich"; got.Subject != want {
			t.Fatalf("Subject = %q, want %q", got.Subject, want)
		}
	})
	t.Run("BothPartsCarryTheLinkIntact", func(t *testing.T) {
		if !strings.Contains(got.Text, "You have been invited to Acme Dienstplan – Zürich as "+email) {
			t.Fatalf("Text = %q", got.Text)
		}
		if link := linkInText.FindString(got.Text); link != sent {
			t.Fatalf("link in text = %q, want %q", link, sent)
		}
		if !strings.Contains(got.HTML, `href="`+sent+`"`) || !strings.Contains(got.HTML, "<b>Acme Dienstplan – Zürich</b>") {
			t.Fatalf("HTML = %q, want the link %q", got.HTML, sent)
		}
	})
	t.Run("MessageIDIsTheOutboxID", func(t *testing.T) {
		if want := sentMsg.ID + "@acme.example"; got.MessageID != want {
			t.Fatalf("Message-ID = %q, want %q", got.MessageID, want)
		}
	})
	t.Run("WireFormat", func(t *testing.T) {
		checkWireFormat(t, mp.Raw(t, got.ID), sent, "<"+sentMsg.ID+"@acme.example>")
	})
	t.Run("AcceptInviteWithTheMailedToken", func(t *testing.T) {
		u, err := url.Parse(linkInText.FindString(got.Text))
		if err != nil {
			t.Fatal(err)
		}
		enr, err := mgr.AcceptInvite(t.Context(), u.Query().Get("token"), "correct horse battery staple")
		if err != nil || enr.Secret == "" {
			t.Fatalf("AcceptInvite = %+v, %v", enr, err)
		}
	})
}

// checkWireFormat reads the message as the server received it: 7-bit
// RFC 5322 headers with the given Message-ID, a multipart/alternative of
// quoted-printable UTF-8 parts, short lines.
func checkWireFormat(t *testing.T, raw []byte, link, messageID string) {
	t.Helper()
	checkShortLines(t, raw)
	check7Bit(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); id != messageID {
		t.Errorf("Message-ID = %q, want %q", id, messageID)
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("MIME-Version"))
	}
	if s := h.Get("Subject"); !strings.HasPrefix(s, "=?utf-8?q?") {
		t.Errorf("Subject on the wire = %q, want Q-encoded", s)
	}
	if strings.Contains(string(raw), link) || !strings.Contains(string(raw), "token=3D") {
		t.Errorf("the link is not quoted-printable on the wire")
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, %v", h.Get("Content-Type"), err)
	}
	var types []string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart() // raw: keep the transfer encoding visible
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, p.Header.Get("Content-Type"))
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %s: Content-Transfer-Encoding = %q", p.Header.Get("Content-Type"), cte)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil || !bytes.Contains(body, []byte(link)) {
			t.Errorf("part %s decodes to %q, %v; want the link", p.Header.Get("Content-Type"), body, err)
		}
	}
	if want := []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}; !slices.Equal(types, want) {
		t.Errorf("parts = %q, want %q", types, want)
	}
}

func TestLongSubjectsAndBodies(t *testing.T) {
	mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})
	subject := strings.Repeat("Einladung für Überstunden ✓ ", 8) + "end"
	text := strings.Repeat("Zeile mit Umlauten äöü und = Zeichen; ", 20) + "\n.\nthe line above is a lone dot\n"
	link := "https://rota.acme.example/invitations/accept?token=" + strings.Repeat("Ab_-", 40)
	err := m.Send(t.Context(), usermgmt.Message{To: "long@acme.example", Subject: subject, Text: text + link + "\n", HTML: "<p>" + text + "</p>"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := mp.Message(t, mp.WaitFor(t, "long@acme.example", 1)[0].ID)
	if got.Subject != subject {
		t.Fatalf("Subject = %q, want %q", got.Subject, subject)
	}
	if norm := strings.ReplaceAll(got.Text, "\r\n", "\n"); norm != text+link+"\n" {
		t.Fatalf("Text = %q, want %q", norm, text+link+"\n")
	}
	checkShortLines(t, mp.Raw(t, got.ID))
}

// A non-ASCII display name in From or To and a non-ASCII subject go out as
// RFC 2047 encoded words and come back decoded.
func TestNonASCIINamesAndSubject(t *testing.T) {
	mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS, From: "Équipe Acme <no-reply@acme.example>"})
	const subject = "Réinitialisez votre mot de passe – Zürich ✓"
	err := m.Send(t.Context(), usermgmt.Message{To: "Zoë Müller-Łukasiewicz <zoe@acme.example>", Subject: subject, Text: "Bonjour Zoë", HTML: "<p>Bonjour Zoë</p>"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := mp.Message(t, mp.WaitFor(t, "zoe@acme.example", 1)[0].ID)
	if got.From != (mailpit.Address{Name: "Équipe Acme", Address: "no-reply@acme.example"}) {
		t.Errorf("From = %+v", got.From)
	}
	if len(got.To) != 1 || got.To[0] != (mailpit.Address{Name: "Zoë Müller-Łukasiewicz", Address: "zoe@acme.example"}) {
		t.Errorf("To = %+v", got.To)
	}
	if got.Subject != subject {
		t.Errorf("Subject = %q, want %q", got.Subject, subject)
	}
	raw := mp.Raw(t, got.ID)
	check7Bit(t, raw)
	checkShortLines(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"From", "To", "Subject"} {
		if v := msg.Header.Get(name); !strings.HasPrefix(v, "=?utf-8?q?") {
			t.Errorf("%s on the wire = %q, want an encoded word first", name, v)
		}
	}
}

// check7Bit: with ASCII addresses, every byte of the message is ASCII
// (names and subjects RFC 2047 encoded, bodies quoted-printable).
func check7Bit(t *testing.T, raw []byte) {
	t.Helper()
	for i, c := range raw {
		if c >= 0x80 {
			t.Fatalf("byte %d is %#x, not 7-bit: %q", i, c, raw[max(0, i-40):min(len(raw), i+40)])
		}
	}
}

func checkShortLines(t *testing.T, raw []byte) {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 76 {
			t.Errorf("line %d is %d characters: %q", i+1, len(line), line)
		}
	}
}

func TestConcurrentSends(t *testing.T) {
	mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- m.Send(context.Background(), usermgmt.Message{To: "many@acme.example", Subject: fmt.Sprint("n", i), Text: "x", HTML: "<p>x</p>"})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	mp.WaitFor(t, "many@acme.example", 20)
}

// linkRecorder remembers the messages the Manager sends (their links
// and IDs), then delegates.
type linkRecorder struct {
	next usermgmt.Mailer
	mu   sync.Mutex
	msgs []usermgmt.Message
}

func (r *linkRecorder) Send(ctx context.Context, msg usermgmt.Message) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.mu.Unlock()
	return r.next.Send(ctx, msg)
}

func (r *linkRecorder) last() usermgmt.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) == 0 {
		return usermgmt.Message{}
	}
	return r.msgs[len(r.msgs)-1]
}
