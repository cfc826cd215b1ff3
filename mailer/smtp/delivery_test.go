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
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/smtp"
)

// The tests in this file deliver to a real SMTP server, Mailpit, and read
// what arrived back over its HTTP API.

var linkInText = regexp.MustCompile(`https://\S+`)

func TestInvitationArrivesAndItsLinkWorks(t *testing.T) {
	mp := startMailpit(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	rec := &linkRecorder{next: mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})}
	mgr := mustManager(t, rec, nil)
	const email = "new.person@acme.example"

	if _, err := mgr.InviteUser(t.Context(), "acme", usermgmt.Invite{Email: email, Roles: []usermgmt.Role{usermgmt.RoleRecruiter}}); err != nil {
		t.Fatalf("InviteUser: %v", err)
	}
	sent := rec.last()
	if !strings.Contains(sent, "token=") {
		t.Fatalf("the Manager's link %q has no token", sent)
	}
	got := mp.message(t, mp.messagesTo(t, email, 1)[0].ID)

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
		if !strings.Contains(got.HTML, `<a href="`+sent+`">`) || !strings.Contains(got.HTML, "<b>Acme Dienstplan – Zürich</b>") {
			t.Fatalf("HTML = %q, want the link %q", got.HTML, sent)
		}
	})
	t.Run("WireFormat", func(t *testing.T) {
		checkWireFormat(t, mp.raw(t, got.ID), sent)
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

// checkWireFormat reads the message as the server received it: RFC 5322
// headers, a multipart/alternative of quoted-printable UTF-8 parts, short
// lines.
func checkWireFormat(t *testing.T, raw []byte, link string) {
	t.Helper()
	checkShortLines(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[0-9a-f]{32}@acme\.example>$`).MatchString(id) {
		t.Errorf("Message-ID = %q", id)
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
	mp := startMailpit(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS})
	subject := strings.Repeat("Einladung für Überstunden ✓ ", 8) + "end"
	text := strings.Repeat("Zeile mit Umlauten äöü und = Zeichen; ", 20) + "\n.\nthe line above is a lone dot\n"
	link := "https://rota.acme.example/invitations/accept?token=" + strings.Repeat("Ab_-", 40)
	err := m.Send(t.Context(), usermgmt.Message{To: "long@acme.example", Subject: subject, Text: text + link + "\n", HTML: "<p>" + text + "</p>"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := mp.message(t, mp.messagesTo(t, "long@acme.example", 1)[0].ID)
	if got.Subject != subject {
		t.Fatalf("Subject = %q, want %q", got.Subject, subject)
	}
	if norm := strings.ReplaceAll(got.Text, "\r\n", "\n"); norm != text+link+"\n" {
		t.Fatalf("Text = %q, want %q", norm, text+link+"\n")
	}
	checkShortLines(t, mp.raw(t, got.ID))
}

func checkShortLines(t *testing.T, raw []byte) {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 76 {
			t.Errorf("line %d is %d characters: %q", i+1, len(line), line)
		}
	}
}

func TestStartTLSIsRequiredByDefault(t *testing.T) {
	mp := startMailpit(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure") // no certificate: no STARTTLS
	m := mustMailer(t, smtp.Options{Addr: mp.SMTP})
	err := m.Send(t.Context(), usermgmt.Message{To: "plain@acme.example", Subject: "Hi", Text: "secret link"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send = %v, want a refusal naming STARTTLS", err)
	}
	var list struct{ Messages []mailpitSummary }
	mp.getJSON(t, "/api/v1/messages", &list)
	if len(list.Messages) != 0 {
		t.Fatalf("%d messages arrived in plain text", len(list.Messages))
	}
}

func TestStartTLSWithCredentials(t *testing.T) {
	cert, key, trust := selfSigned(t)
	users := filepath.Join(t.TempDir(), "smtp-users")
	if err := os.WriteFile(users, []byte("alice:right-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := startMailpit(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls",
		"--smtp-auth-file", users, "--tags-username")
	msg := usermgmt.Message{To: "tls@acme.example", Subject: "Over TLS", Text: "hello", HTML: "<p>hello</p>"}

	t.Run("Delivers", func(t *testing.T) {
		m := mustMailer(t, smtp.Options{Addr: mp.SMTP, Username: "alice", Password: "right-password", TLSConfig: trust})
		if err := m.Send(t.Context(), msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := mp.message(t, mp.messagesTo(t, "tls@acme.example", 1)[0].ID)
		if !slices.Contains(got.Tags, "alice") { // Mailpit tags each mail with who authenticated
			t.Fatalf("Tags = %q, want alice", got.Tags)
		}
	})
	t.Run("WrongPasswordIsRefused", func(t *testing.T) {
		m := mustMailer(t, smtp.Options{Addr: mp.SMTP, Username: "alice", Password: "wrong-password", TLSConfig: trust})
		err := m.Send(t.Context(), msg)
		if err == nil || !strings.Contains(err.Error(), "AUTH") || strings.Contains(err.Error(), "wrong-password") {
			t.Fatalf("Send = %v, want an AUTH error without the password", err)
		}
	})
	t.Run("UntrustedCertificateIsRefused", func(t *testing.T) {
		m := mustMailer(t, smtp.Options{Addr: mp.SMTP, Username: "alice", Password: "right-password"})
		if err := m.Send(t.Context(), msg); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Send = %v, want a certificate error", err)
		}
	})
}

func TestImplicitTLS(t *testing.T) {
	cert, key, trust := selfSigned(t)
	mp := startMailpit(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-tls")
	m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.ImplicitTLS, TLSConfig: trust})
	if err := m.Send(t.Context(), usermgmt.Message{To: "smtps@acme.example", Subject: "SMTPS", Text: "hello"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := mp.message(t, mp.messagesTo(t, "smtps@acme.example", 1)[0].ID); strings.TrimSpace(got.Text) != "hello" || got.HTML != "" {
		t.Fatalf("Text = %q, HTML = %q", got.Text, got.HTML)
	}
}

func TestConcurrentSends(t *testing.T) {
	mp := startMailpit(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
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
	mp.messagesTo(t, "many@acme.example", 20)
}

// linkRecorder remembers the links the Manager sends, then delegates.
type linkRecorder struct {
	next  usermgmt.Mailer
	mu    sync.Mutex
	links []string
}

func (r *linkRecorder) Send(ctx context.Context, msg usermgmt.Message) error {
	r.mu.Lock()
	r.links = append(r.links, msg.Link)
	r.mu.Unlock()
	return r.next.Send(ctx, msg)
}

func (r *linkRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.links) == 0 {
		return ""
	}
	return r.links[len(r.links)-1]
}
