package usermgmt

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	"sync"
	texttemplate "text/template"
)

// Mailer sends one message. Implementations: mailer/smtp for production,
// mailer/mailertest to capture messages in tests, and LogMailer for
// development. Send must be safe for concurrent use, and should return
// once the message is handed on (to the SMTP server, say): the outbox
// then deletes it. An error means "not sent" and the outbox retries;
// its text is kept with the mail and shown to admins by
// ListUndeliveredMail, so it must never contain the message or its link.
// Delivery is at least once: after a crash at the wrong moment, Send may
// see the same Message.ID again.
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
	// MessageSignInPaused tells a person that failed attempts paused
	// signing in to their account, until when, and what to do if it was
	// not them.
	MessageSignInPaused MessageKind = "sign_in_paused"
)

// MessageKindLabel names a kind of mail the way a page shows it.
type MessageKindLabel struct {
	Kind  MessageKind
	Label string
}

// MessageKindLabels returns every kind of mail the library sends with its
// label, for the page that lists undelivered mail.
func MessageKindLabels() []MessageKindLabel {
	return []MessageKindLabel{
		{MessageInvite, "Invitation"},
		{MessagePasswordReset, "Password reset"},
		{MessagePasswordChanged, "Password changed notice"},
		{MessageMFAReset, "MFA reset notice"},
		{MessageSignInPaused, "Sign-in paused notice"},
	}
}

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

// MailData is what the mail templates are filled with.
type MailData struct {
	Product  string // Options.Issuer
	Email    string // the recipient's address
	Inviter  string // the email of the admin who acted; "" when trusted code or the person did
	Link     string // the action link (with token=); "" in notices
	Expiry   string // how long the link works, in words ("7 days"); "" in notices
	TenantID string

	// In sign_in_paused only: the failed attempts in a row that paused
	// signing in, for how long, in words ("1 minute"), and when it resumes
	// ("2006-01-02 15:04 UTC").
	FailedAttempts int
	Pause          string
	ResumesAt      string
}

// MailTemplate is the wording of one kind of mail, filled with MailData.
// Subject and Text are required; the subject must come out as one line.
// HTML is optional: without it the mail is plain text. html/template
// escapes what it inserts, so an email or link cannot add markup.
type MailTemplate struct {
	Subject *texttemplate.Template
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

// DefaultMailTemplate returns a copy of the library's template for kind,
// for a host that changes only part of it (say, the subject):
//
//	t := usermgmt.DefaultMailTemplate(usermgmt.MessageInvite)
//	t.Subject = template.Must(template.New("").Parse("Welcome to {{.Product}}"))
//	opts.MailTemplates = map[usermgmt.MessageKind]usermgmt.MailTemplate{usermgmt.MessageInvite: t}
//
// It returns the zero MailTemplate for an unknown kind.
func DefaultMailTemplate(kind MessageKind) MailTemplate {
	src, ok := defaultSources[kind]
	if !ok {
		return MailTemplate{}
	}
	return src.parse()
}

// mailSource is a template's text: subject, plain-text body, HTML body.
type mailSource [3]string

func (src mailSource) parse() MailTemplate {
	return MailTemplate{
		Subject: texttemplate.Must(texttemplate.New("subject").Parse(src[0])),
		Text:    texttemplate.Must(texttemplate.New("text").Parse(src[1])),
		HTML:    htmltemplate.Must(htmltemplate.New("html").Parse(src[2])),
	}
}

var defaultTemplates = func() map[MessageKind]MailTemplate {
	ts := make(map[MessageKind]MailTemplate, len(defaultSources))
	for k, src := range defaultSources {
		ts[k] = src.parse()
	}
	return ts
}()

var defaultSources = map[MessageKind]mailSource{
	MessageInvite: {
		`{{if .Inviter}}{{.Inviter}} invited you to {{.Product}}{{else}}You are invited to {{.Product}}{{end}}`,
		`{{if .Inviter}}{{.Inviter}} invited you{{else}}You have been invited{{end}} to {{.Product}} as {{.Email}}.

Set your password and enrol in two-factor authentication here:
{{.Link}}

The link works once and expires in {{.Expiry}}.
`,
		`<p>{{if .Inviter}}{{.Inviter}} invited you{{else}}You have been invited{{end}} to <b>{{.Product}}</b> as {{.Email}}.</p>
<p><a href="{{.Link}}">Set your password and enrol in two-factor authentication</a></p>
<p>The link works once and expires in {{.Expiry}}.</p>
`},
	MessagePasswordReset: {
		`Reset your {{.Product}} password`,
		`{{if .Inviter}}{{.Inviter}} sent you a link to reset the password of {{.Email}} on {{.Product}}.{{else}}A password reset was requested for {{.Email}} on {{.Product}}.{{end}}

Choose a new password here:
{{.Link}}

The link works once and expires in {{.Expiry}}. If you did not ask for this, ignore this mail.
`,
		`<p>{{if .Inviter}}{{.Inviter}} sent you a link to reset the password of {{.Email}} on <b>{{.Product}}</b>.{{else}}A password reset was requested for {{.Email}} on <b>{{.Product}}</b>.{{end}}</p>
<p><a href="{{.Link}}">Choose a new password</a></p>
<p>The link works once and expires in {{.Expiry}}. If you did not ask for this, ignore this mail.</p>
`},
	MessagePasswordChanged: {
		`Your {{.Product}} password was changed`,
		`The password of {{.Email}} on {{.Product}} was just changed, and the other sessions of the account were signed out.

If this was not you, contact your administrator at once.
`,
		`<p>The password of {{.Email}} on <b>{{.Product}}</b> was just changed, and the other sessions of the account were signed out.</p>
<p>If this was not you, contact your administrator at once.</p>
`},
	MessageMFAReset: {
		`Your {{.Product}} two-factor authentication was reset`,
		`{{if .Inviter}}{{.Inviter}} reset{{else}}An administrator reset{{end}} the two-factor authentication of {{.Email}} on {{.Product}}, and every session was signed out.

The next time you sign in you will set up your authenticator app again.
If you did not expect this, contact your administrator at once.
`,
		`<p>{{if .Inviter}}{{.Inviter}} reset{{else}}An administrator reset{{end}} the two-factor authentication of {{.Email}} on <b>{{.Product}}</b>, and every session was signed out.</p>
<p>The next time you sign in you will set up your authenticator app again.<br>
If you did not expect this, contact your administrator at once.</p>
`},
	MessageSignInPaused: {
		`Signing in to {{.Product}} is paused after {{.FailedAttempts}} failed attempt{{if ne .FailedAttempts 1}}s{{end}}`,
		`Signing in to {{.Product}} as {{.Email}} is paused after {{.FailedAttempts}} failed attempt{{if ne .FailedAttempts 1}}s{{end}} in a row, for {{.Pause}}: it resumes at {{.ResumesAt}}. Each further failed attempt pauses it longer.

If this was you, wait and try again, or reset your password from the sign-in page.
If it was not you, someone may be guessing your password: reset your password from the sign-in page (that also ends the pause) and tell your administrator.
`,
		`<p>Signing in to <b>{{.Product}}</b> as {{.Email}} is paused after {{.FailedAttempts}} failed attempt{{if ne .FailedAttempts 1}}s{{end}} in a row, for {{.Pause}}: it resumes at {{.ResumesAt}}. Each further failed attempt pauses it longer.</p>
<p>If this was you, wait and try again, or reset your password from the sign-in page.<br>
If it was not you, someone may be guessing your password: reset your password from the sign-in page (that also ends the pause) and tell your administrator.</p>
`},
}

// mailTemplates is the Manager's template set: the defaults with the
// host's overrides.
type mailTemplates map[MessageKind]MailTemplate

// newMailTemplates checks the overrides by filling each kind with sample
// data, so a broken template fails New rather than a mail.
func newMailTemplates(overrides map[MessageKind]MailTemplate) (mailTemplates, error) {
	ts := make(mailTemplates, len(defaultTemplates))
	for k, t := range defaultTemplates {
		ts[k] = t
	}
	for k, t := range overrides {
		if _, ok := defaultTemplates[k]; !ok {
			return nil, Errorf(CodeInvalid, "Options.MailTemplates: unknown message kind %q", k)
		}
		if t.Subject == nil || t.Text == nil {
			return nil, Errorf(CodeInvalid, "Options.MailTemplates[%s]: Subject and Text are required", k)
		}
		ts[k] = t
	}
	sample := MailData{Product: "Example", Email: "person@example.com", Inviter: "admin@example.com",
		Link: "https://example.com/x?token=t", Expiry: "1 hour", TenantID: "example",
		FailedAttempts: 5, Pause: "1 minute", ResumesAt: "2006-01-02 15:04 UTC"}
	for k := range overrides {
		if _, err := ts.render(k, sample); err != nil {
			return nil, Errorf(CodeInvalid, "Options.MailTemplates[%s]: %v", k, err)
		}
	}
	return ts, nil
}

// render fills the template of kind. The subject is trimmed and must be
// one line.
func (ts mailTemplates) render(kind MessageKind, d MailData) (Message, error) {
	t, ok := ts[kind]
	if !ok {
		return Message{}, fmt.Errorf("no template for %q", kind)
	}
	var subject, text, html bytes.Buffer
	if err := t.Subject.Execute(&subject, d); err != nil {
		return Message{}, err
	}
	if err := t.Text.Execute(&text, d); err != nil {
		return Message{}, err
	}
	if t.HTML != nil {
		if err := t.HTML.Execute(&html, d); err != nil {
			return Message{}, err
		}
	}
	s := strings.TrimSpace(subject.String())
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return Message{}, fmt.Errorf("the subject must be one non-empty line, got %q", s)
	}
	return Message{To: d.Email, Subject: s, Text: text.String(), HTML: html.String(),
		Kind: kind, TenantID: d.TenantID, Link: d.Link}, nil
}
