package usermgmt_test

import (
	"context"
	"flag"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/mail")

// TestMailGolden renders every kind of mail through the Manager, with an
// admin acting and with trusted code or the person acting, and compares
// each with its golden file: subject, text and HTML as sent. Run with
// -update after changing a template on purpose, and read the diff.
func TestMailGolden(t *testing.T) {
	for _, byAdmin := range []bool{true, false} {
		e := mustManager(t)
		ctx, who := e.sudo(e.admin), "admin"
		if !byAdmin {
			ctx, who = system, "system"
		}
		u, err := e.m.InviteUser(ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
		enr, err := e.m.AcceptInvite(context.Background(), e.lastToken(t, u.Email), goodPassword)
		require.NoError(t, err)
		_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
		require.NoError(t, err)
		e.clock.Advance(time.Minute) // past the invitation's mail interval
		require.NoError(t, e.m.SendPasswordReset(ctx, tenant, u.ID))
		require.NoError(t, e.m.ResetPassword(context.Background(), e.lastToken(t, u.Email), "a brand new passphrase"))
		require.NoError(t, e.m.ResetMFA(ctx, tenant, u.ID))
		require.Len(t, e.mail.Messages(), 4)
		for _, msg := range e.mail.Messages() {
			golden(t, string(msg.Kind)+"."+who, renderForGolden(msg))
		}
	}
}

// renderForGolden lays a message out for reading, with its random token
// replaced by a fixed one.
func renderForGolden(msg usermgmt.Message) string {
	s := "To: " + msg.To + "\nSubject: " + msg.Subject + "\nLink: " + msg.Link +
		"\n\n--- text\n" + msg.Text + "\n--- html\n" + msg.HTML
	if msg.Link != "" {
		tok := msg.Link[strings.Index(msg.Link, "token=")+len("token="):]
		s = strings.ReplaceAll(s, tok, "TOKEN")
	}
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "mail", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestMailGolden -update to create it")
	require.Equal(t, string(want), got, "%s differs from its golden file; run with -update if the change is meant", path)
}

func TestMailTemplatesCanBeOverridden(t *testing.T) {
	tpl := usermgmt.DefaultMailTemplate(usermgmt.MessageInvite)
	tpl.Subject = texttemplate.Must(texttemplate.New("").Parse("Welcome aboard {{.Product}}, from {{.Inviter}}"))
	tpl.HTML = nil
	e := mustManager(t, func(o *usermgmt.Options) {
		o.MailTemplates = map[usermgmt.MessageKind]usermgmt.MailTemplate{usermgmt.MessageInvite: tpl}
	})
	u, _ := e.invite(t, "ana@acme.test")
	msg, ok := e.mail.LastTo(u.Email)
	require.True(t, ok)
	require.Equal(t, "Welcome aboard Acme HR, from admin@acme.test", msg.Subject)
	require.Empty(t, msg.HTML, "a template without HTML sends plain text")
	require.Contains(t, msg.Text, "expires in 7 days", "the default text is kept")

	require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, e.admin.ID))
	msg, _ = e.mail.LastTo(e.admin.Email)
	require.Equal(t, "Reset your Acme HR password", msg.Subject, "kinds left out keep the defaults")
}

func TestDefaultMailTemplateIsACopy(t *testing.T) {
	e := mustManager(t)
	e.invite(t, "ana@acme.test") // executes the defaults
	a := usermgmt.DefaultMailTemplate(usermgmt.MessageInvite)
	a.Subject = texttemplate.Must(a.Subject.Parse("changed"))
	e.invite(t, "bob@acme.test")
	msg, _ := e.mail.LastTo("bob@acme.test")
	require.Equal(t, "admin@acme.test invited you to Acme HR", msg.Subject)
	require.Equal(t, usermgmt.MailTemplate{}, usermgmt.DefaultMailTemplate("nope"))
}

func TestBadMailTemplatesAreRefusedByNew(t *testing.T) {
	parse := func(s string) *texttemplate.Template { return texttemplate.Must(texttemplate.New("").Parse(s)) }
	text := parse("hello")
	for name, c := range map[string]struct {
		kind usermgmt.MessageKind
		t    usermgmt.MailTemplate
		want string
	}{
		"UnknownKind":      {"welcome", usermgmt.MailTemplate{Subject: text, Text: text}, "unknown message kind"},
		"NoSubject":        {usermgmt.MessageInvite, usermgmt.MailTemplate{Text: text}, "Subject and Text are required"},
		"NoText":           {usermgmt.MessageInvite, usermgmt.MailTemplate{Subject: text}, "Subject and Text are required"},
		"UnknownField":     {usermgmt.MessageInvite, usermgmt.MailTemplate{Subject: text, Text: parse("{{.Nope}}")}, "Nope"},
		"TwoLineSubject":   {usermgmt.MessagePasswordReset, usermgmt.MailTemplate{Subject: parse("a\nb"), Text: text}, "one non-empty line"},
		"EmptySubject":     {usermgmt.MessagePasswordReset, usermgmt.MailTemplate{Subject: parse("  "), Text: text}, "one non-empty line"},
		"BrokenHTMLOutput": {usermgmt.MessageMFAReset, usermgmt.MailTemplate{Subject: text, Text: text, HTML: htmltemplate.Must(htmltemplate.New("").Parse(`{{.Missing}}`))}, "Missing"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := usermgmt.New(mustManager(t).store, usermgmt.Options{
				Mailer: &usermgmt.LogMailer{W: os.Stderr}, SecretKey: testKey,
				Links:         usermgmt.Links{BaseURL: "https://app.example.com"},
				MailTemplates: map[usermgmt.MessageKind]usermgmt.MailTemplate{c.kind: c.t},
			})
			require.Equal(t, usermgmt.CodeInvalid, code(err))
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestMailHTMLEscapesWhatItInserts: the product name is the host's, but
// html/template still escapes it; the text part carries it as is.
func TestMailHTMLEscapesWhatItInserts(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.Issuer = `Acme <b>"HR"</b>` })
	e.invite(t, "ana@acme.test")
	msg, _ := e.mail.LastTo("ana@acme.test")
	require.Contains(t, msg.HTML, "Acme &lt;b&gt;&#34;HR&#34;&lt;/b&gt;")
	require.NotContains(t, msg.HTML, "<b>\"HR\"")
	require.Contains(t, msg.Text, `Acme <b>"HR"</b>`)
}
