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
	// MessageWebhookDisabled tells a tenant's admins that a run of failed
	// deliveries disabled one of the tenant's webhook endpoints.
	MessageWebhookDisabled MessageKind = "webhook_disabled"
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
		{MessageWebhookDisabled, "Webhook endpoint disabled notice"},
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
	Product string // Options.Issuer
	Email   string // the recipient's address
	Inviter string // the email of the admin who acted; "" when trusted code or the person did
	// ByAdmin is set on a link mail that an administrator (or trusted
	// code) sent, false on one the person asked for (a self-service
	// reset): only that one says "if you did not ask for this".
	ByAdmin  bool
	Link     string // the action link (with token=); "" in notices
	Expiry   string // how long the link works, in words ("7 days"); "" in notices
	TenantID string

	// In sign_in_paused only: the failed attempts in a row that paused
	// signing in, for how long, in words ("1 minute"), and when it resumes
	// ("2006-01-02 15:04 UTC").
	FailedAttempts int
	Pause          string
	ResumesAt      string

	// In webhook_disabled only: the endpoint's URL and why it was
	// disabled.
	WebhookURL string
	Reason     string
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

// mailHTML is the HTML part of a default mail: a plain one-column layout
// with inline styles (mail clients drop style sheets), the product's name
// on top, a heading, the body, and for a link mail a button (a styled
// link) with the same link written out beneath it for clients that show
// no buttons. The text part says the same in plain words.
func mailHTML(heading, body, button, after string) string {
	b := `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>` + heading + `</title></head>
<body style="margin:0;padding:0;background:#f6f7f9;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f7f9;"><tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border:1px solid #dde1e8;border-radius:8px;">
<tr><td style="padding:24px 28px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1d2330;">
<p style="margin:0 0 16px;font-size:14px;font-weight:600;color:#5b6475;">{{.Product}}</p>
<h1 style="margin:0 0 16px;font-size:20px;line-height:1.3;">` + heading + `</h1>
` + body
	if button != "" {
		b += `
<p style="margin:24px 0;"><a class="button" href="{{.Link}}" style="display:inline-block;background:#2456d6;color:#ffffff;text-decoration:none;font-weight:600;padding:12px 22px;border-radius:6px;">` + button + `</a></p>
<p style="margin:0 0 16px;font-size:13px;color:#5b6475;">If the button does not work, copy this link into your browser:<br><a href="{{.Link}}" style="color:#2456d6;word-break:break-all;">{{.Link}}</a></p>
`
	}
	return b + after + `
</td></tr></table>
</td></tr></table>
</body></html>
`
}

// mailP is a paragraph of a default mail's HTML part.
func mailP(s string) string { return `<p style="margin:0 0 16px;">` + s + `</p>` + "\n" }

var defaultSources = map[MessageKind]mailSource{
	MessageInvite: {
		`{{if .Inviter}}{{.Inviter}} invited you to {{.Product}}{{else}}You are invited to {{.Product}}{{end}}`,
		`{{if .Inviter}}{{.Inviter}} invited you{{else}}You have been invited{{end}} to {{.Product}} as {{.Email}}.

Set your password and enrol in two-factor authentication here:
{{.Link}}

The link works once and expires in {{.Expiry}}.
`,
		mailHTML(`You are invited to {{.Product}}`,
			mailP(`{{if .Inviter}}{{.Inviter}} invited you{{else}}You have been invited{{end}} to <b>{{.Product}}</b> as {{.Email}}. `+
				`Set your password and enrol in two-factor authentication to get started.`),
			`Set up your account`,
			mailP(`The link works once and expires in {{.Expiry}}.`))},
	MessagePasswordReset: {
		`Reset your {{.Product}} password`,
		`{{if .Inviter}}{{.Inviter}} sent you a link to reset the password of {{.Email}} on {{.Product}}.{{else if .ByAdmin}}An administrator sent you a link to reset the password of {{.Email}} on {{.Product}}.{{else}}A password reset was requested for {{.Email}} on {{.Product}}.{{end}}

Choose a new password here:
{{.Link}}

The link works once and expires in {{.Expiry}}.{{if not .ByAdmin}} If you did not ask for this, ignore this mail.{{end}}
`,
		mailHTML(`Reset your {{.Product}} password`,
			mailP(`{{if .Inviter}}{{.Inviter}} sent you a link to reset the password of {{.Email}} on <b>{{.Product}}</b>.`+
				`{{else if .ByAdmin}}An administrator sent you a link to reset the password of {{.Email}} on <b>{{.Product}}</b>.`+
				`{{else}}A password reset was requested for {{.Email}} on <b>{{.Product}}</b>.{{end}}`),
			`Choose a new password`,
			mailP(`The link works once and expires in {{.Expiry}}.{{if not .ByAdmin}} If you did not ask for this, ignore this mail.{{end}}`))},
	MessagePasswordChanged: {
		`Your {{.Product}} password was changed`,
		`The password of {{.Email}} on {{.Product}} was just changed, and the other sessions of the account were signed out.

If this was not you, contact your administrator at once.
`,
		mailHTML(`Your password was changed`,
			mailP(`The password of {{.Email}} on <b>{{.Product}}</b> was just changed, and the other sessions of the account were signed out.`)+
				mailP(`If this was not you, contact your administrator at once.`), "", "")},
	MessageMFAReset: {
		`Your {{.Product}} two-factor authentication was reset`,
		`{{if .Inviter}}{{.Inviter}} reset{{else}}An administrator reset{{end}} the two-factor authentication of {{.Email}} on {{.Product}}, and every session was signed out.

The next time you sign in you will set up your authenticator app again.
If you did not expect this, contact your administrator at once.
`,
		mailHTML(`Your two-factor authentication was reset`,
			mailP(`{{if .Inviter}}{{.Inviter}} reset{{else}}An administrator reset{{end}} the two-factor authentication of {{.Email}} on <b>{{.Product}}</b>, and every session was signed out.`)+
				mailP(`The next time you sign in you will set up your authenticator app again.<br>
If you did not expect this, contact your administrator at once.`), "", "")},
	MessageSignInPaused: {
		`Signing in to {{.Product}} is paused after {{.FailedAttempts}} failed attempt{{if ne .FailedAttempts 1}}s{{end}}`,
		`Signing in to {{.Product}} as {{.Email}} is paused after {{.FailedAttempts}} failed attempt{{if ne .FailedAttempts 1}}s{{end}} in a row, for {{.Pause}}: it resumes at {{.ResumesAt}}. Each further failed attempt pauses it longer.

If this was you, wait and try again, or reset your password from the sign-in page.
If it was not you, someone may be guessing your password: reset your password from the sign-in page (that also ends the pause) and tell your administrator.
`,
		mailHTML(`Signing in is paused`,
			mailP(`Signing in to <b>{{.Product}}</b> as {{.Email}} is paused after {{.FailedAttempts}} failed attempt{{if ne .FailedAttempts 1}}s{{end}} in a row, for {{.Pause}}: it resumes at {{.ResumesAt}}. Each further failed attempt pauses it longer.`)+
				mailP(`If this was you, wait and try again, or reset your password from the sign-in page.<br>
If it was not you, someone may be guessing your password: reset your password from the sign-in page (that also ends the pause) and tell your administrator.`), "", "")},
	MessageWebhookDisabled: {
		`A webhook endpoint of {{.Product}} was disabled`,
		`The webhook endpoint {{.WebhookURL}} of {{.Product}} ({{.TenantID}}) was disabled: {{.Reason}}.

Nothing is sent to it until an administrator enables it again on the Webhooks page; the messages waiting for it are sent then.
`,
		mailHTML(`A webhook endpoint was disabled`,
			mailP(`The webhook endpoint {{.WebhookURL}} of <b>{{.Product}}</b> ({{.TenantID}}) was disabled: {{.Reason}}.`)+
				mailP(`Nothing is sent to it until an administrator enables it again on the Webhooks page; the messages waiting for it are sent then.`), "", "")},
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
		FailedAttempts: 5, Pause: "1 minute", ResumesAt: "2006-01-02 15:04 UTC",
		WebhookURL: "https://hooks.example.com/usermgmt", Reason: "20 failed attempts in a row; the last: HTTP 500"}
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
