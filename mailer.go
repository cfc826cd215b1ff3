package usermgmt

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"io"
	"sync"
	texttemplate "text/template"
)

// Mailer sends one message. Implementations: mailer/smtp for production,
// mailer/mailertest to capture messages in tests, and LogMailer for
// development. Send must be safe for concurrent use.
type Mailer interface {
	Send(ctx context.Context, msg Message) error
}

// MessageKind says which of the library's mails a Message is.
type MessageKind string

// The mails the library sends.
const (
	MessageInvite          MessageKind = "invite"
	MessagePasswordReset   MessageKind = "password_reset"
	MessagePasswordChanged MessageKind = "password_changed"
	MessageMFAReset        MessageKind = "mfa_reset"
)

// Message is one mail. Link is the action link inside it (it carries a
// token= query parameter), empty for notices. ID is the same on every
// delivery attempt of one outbox mail: a Mailer may use it for the
// Message-ID header, so that a repeated delivery reads as the same mail.
type Message struct {
	ID       string
	To       string
	Subject  string
	Text     string
	HTML     string
	Kind     MessageKind
	TenantID string
	Link     string
}

var _ Mailer = (*LogMailer)(nil)

// LogMailer writes every message to W instead of sending it: for
// development, where the printed link is how you follow an invitation. It
// prints tokens, so never use it in production.
type LogMailer struct {
	W  io.Writer
	mu sync.Mutex
}

// Send writes msg to the writer.
func (l *LogMailer) Send(_ context.Context, msg Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := fmt.Fprintf(l.W, "--- mail to %s: %s\n%s\n---\n", msg.To, msg.Subject, msg.Text)
	return err
}

type mailData struct {
	Issuer string
	Email  string
	Link   string
	Expiry string
}

type mailTemplate struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

var mailTemplates = map[MessageKind]mailTemplate{
	MessageInvite: {
		subject: texttemplate.Must(texttemplate.New("").Parse("You are invited to {{.Issuer}}")),
		text: texttemplate.Must(texttemplate.New("").Parse(`You have been invited to {{.Issuer}} as {{.Email}}.

Set your password and enrol in two-factor authentication here:
{{.Link}}

The link works once and expires in {{.Expiry}}.
`)),
		html: htmltemplate.Must(htmltemplate.New("").Parse(`<p>You have been invited to <b>{{.Issuer}}</b> as {{.Email}}.</p>
<p><a href="{{.Link}}">Set your password and enrol in two-factor authentication</a></p>
<p>The link works once and expires in {{.Expiry}}.</p>
`)),
	},
	MessagePasswordReset: {
		subject: texttemplate.Must(texttemplate.New("").Parse("Reset your {{.Issuer}} password")),
		text: texttemplate.Must(texttemplate.New("").Parse(`A password reset was requested for {{.Email}} on {{.Issuer}}.

Choose a new password here:
{{.Link}}

The link works once and expires in {{.Expiry}}. If you did not ask for this, ignore this mail.
`)),
		html: htmltemplate.Must(htmltemplate.New("").Parse(`<p>A password reset was requested for {{.Email}} on <b>{{.Issuer}}</b>.</p>
<p><a href="{{.Link}}">Choose a new password</a></p>
<p>The link works once and expires in {{.Expiry}}. If you did not ask for this, ignore this mail.</p>
`)),
	},
	MessagePasswordChanged: {
		subject: texttemplate.Must(texttemplate.New("").Parse("Your {{.Issuer}} password was changed")),
		text: texttemplate.Must(texttemplate.New("").Parse(`The password of {{.Email}} on {{.Issuer}} was just changed, and every session was signed out.

If this was not you, contact your administrator at once.
`)),
		html: htmltemplate.Must(htmltemplate.New("").Parse(`<p>The password of {{.Email}} on <b>{{.Issuer}}</b> was just changed, and every session was signed out.</p>
<p>If this was not you, contact your administrator at once.</p>
`)),
	},
}

// renderMessage fills the default template of kind.
func renderMessage(kind MessageKind, tenantID string, d mailData) (Message, error) {
	t := mailTemplates[kind]
	var s, txt, html bytes.Buffer
	if err := t.subject.Execute(&s, d); err != nil {
		return Message{}, err
	}
	if err := t.text.Execute(&txt, d); err != nil {
		return Message{}, err
	}
	if err := t.html.Execute(&html, d); err != nil {
		return Message{}, err
	}
	return Message{To: d.Email, Subject: s.String(), Text: txt.String(), HTML: html.String(),
		Kind: kind, TenantID: tenantID, Link: d.Link}, nil
}
