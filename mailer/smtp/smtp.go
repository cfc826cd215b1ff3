// Package smtp is the production usermgmt.Mailer: it delivers each
// message to one SMTP server (a relay or a provider's submission port),
// with STARTTLS required unless told otherwise.
//
//	m, err := smtp.New(smtp.Options{
//	    Addr: "smtp.example.com:587", From: "Acme <no-reply@acme.example>",
//	    Username: "apikey", Password: os.Getenv("SMTP_PASSWORD"),
//	})
//
// It uses only the standard library. The protocol is net/smtp's Client:
// the package is frozen, not deprecated, and what it does (EHLO with HELO
// fallback, STARTTLS, AUTH exchanges, dot-stuffing) is exactly what a
// submission client needs and has been tested for years. What it lacks is
// added here rather than rewritten: the connection is dialled with the
// context, its deadline is the earlier of the context's and Options.Timeout,
// and cancelling the context unblocks any read or write at once. Message
// composition (RFC 5322 headers, MIME multipart/alternative, quoted-printable
// UTF-8 bodies, RFC 2047 subjects and display names, a Message-ID taken from
// Message.ID) is in message.go; AUTH PLAIN and LOGIN in auth.go.
//
// Each Send opens its own connection and closes it when done: the library's
// mail (invitations, password resets) is rare, and this keeps a Mailer free
// of shared state, so it is safe for concurrent use.
//
// Nothing is logged. Errors name the server and the SMTP step that failed
// and carry the server's reply; they never contain a message body or link
// (both carry tokens). A message with a line break in To or Subject is
// refused before any connection is made (ErrInvalidMessage).
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	netsmtp "net/smtp"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/usermgmt/usermgmt"
)

var _ usermgmt.Mailer = (*Mailer)(nil)

// TLSMode says how the connection to the server is protected.
type TLSMode int

const (
	// StartTLS (the default) connects in plain text, usually to port 587,
	// and upgrades with STARTTLS before anything else is sent. A server
	// that does not offer STARTTLS is refused, never used in plain text.
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte (SMTPS, usually port 465).
	ImplicitTLS
	// NoTLS sends in plain text. New accepts it only for a loopback Addr
	// (localhost, 127.0.0.0/8, ::1): a development server such as Mailpit,
	// or a relay on the same host.
	NoTLS
)

func (t TLSMode) String() string {
	switch t {
	case StartTLS:
		return "StartTLS"
	case ImplicitTLS:
		return "ImplicitTLS"
	case NoTLS:
		return "NoTLS"
	}
	return "TLSMode(" + strconv.Itoa(int(t)) + ")"
}

// DefaultTimeout bounds one Send when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Options configures a Mailer. Addr and From are required.
type Options struct {
	// Addr is the server's "host:port".
	Addr string
	// From is the sender, "no-reply@example.com" or
	// "Example <no-reply@example.com>". Its address is also the envelope
	// sender and its domain names the Message-IDs.
	From string
	// Username and Password authenticate with AUTH PLAIN (or LOGIN when the
	// server offers only that). Empty Username sends without AUTH.
	Username string
	Password string
	// TLS is the protection mode; the zero value is StartTLS.
	TLS TLSMode
	// TLSConfig, if set, is cloned and used for StartTLS and ImplicitTLS
	// (for a private CA, say). ServerName defaults to Addr's host and
	// MinVersion to TLS 1.2.
	TLSConfig *tls.Config
	// Timeout bounds one Send: dial, conversation and delivery. Default
	// DefaultTimeout. A context deadline that comes earlier wins.
	Timeout time.Duration
	// Hello is the name sent with EHLO. Default: the host name, or
	// "localhost" when it is not a plain DNS name.
	Hello string
}

// Mailer sends each message over its own SMTP connection. It is safe for
// concurrent use.
type Mailer struct {
	addr, host string
	from       *mail.Address
	msgDomain  string
	username   string
	password   string
	tlsMode    TLSMode
	tlsConfig  *tls.Config
	timeout    time.Duration
	hello      string
	authMech   string // tests only (export_test.go): the one AUTH mechanism to use
}

// New validates opts and returns a Mailer. It does not connect: a server
// that is down shows as an error from Send.
func New(opts Options) (*Mailer, error) {
	host, port, err := net.SplitHostPort(opts.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp: Addr must be host:port, got %q", opts.Addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("smtp: Addr %q: port must be a number from 1 to 65535", opts.Addr)
	}
	if opts.From == "" {
		return nil, errors.New("smtp: From is required")
	}
	if hasControl(opts.From) {
		return nil, errors.New("smtp: From must not contain control characters")
	}
	from, err := mail.ParseAddress(opts.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: From %q is not an address: %v", opts.From, err)
	}
	if from.Address, err = asciiDomain(from.Address); err != nil {
		return nil, fmt.Errorf("smtp: From: %v", err)
	}
	if opts.Username == "" && opts.Password != "" {
		return nil, errors.New("smtp: Password is set but Username is empty")
	}
	if hasControl(opts.Username) || strings.ContainsRune(opts.Password, 0) {
		return nil, errors.New("smtp: Username must not contain control characters, nor Password NUL")
	}
	switch opts.TLS {
	case StartTLS, ImplicitTLS:
	case NoTLS:
		if !isLoopback(host) {
			return nil, fmt.Errorf("smtp: TLS NoTLS is allowed only for a loopback Addr (localhost, 127.0.0.1, ::1), not %q; use StartTLS or ImplicitTLS", host)
		}
	default:
		return nil, fmt.Errorf("smtp: unknown TLS mode %d", int(opts.TLS))
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("smtp: Timeout must not be negative, got %v", opts.Timeout)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	hello := opts.Hello
	if hello == "" {
		hello = defaultHello()
	} else if !isDNSName(hello) && !isAddressLiteral(hello) {
		return nil, fmt.Errorf("smtp: Hello %q must be a host name or an address literal like [192.0.2.1]", hello)
	}
	var cfg *tls.Config
	if opts.TLSConfig != nil {
		cfg = opts.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	msgDomain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	if !isDNSName(msgDomain) {
		msgDomain = hello
	}
	return &Mailer{addr: opts.Addr, host: host, from: from, msgDomain: msgDomain,
		username: opts.Username, password: opts.Password, tlsMode: opts.TLS, tlsConfig: cfg,
		timeout: timeout, hello: hello}, nil
}

// Send delivers msg to msg.To. An internationalised domain in To or From
// goes as A-labels (xn--…), so only a non-ASCII local part needs a server
// that offers SMTPUTF8. The Message-ID is <msg.ID@From's domain>
// when msg.ID is 1 to 64 letters, digits, '-' and '.' in dot-atom form (a
// UUID is), so that a repeated delivery of one outbox mail reads as the
// same mail; otherwise it is random. It returns an error wrapping
// ErrInvalidMessage, before connecting, for a To or Subject that could
// break the headers; an error wrapping the context's error when ctx ends
// or the Timeout passes first; and otherwise an error naming the SMTP step
// the server refused, with its reply. The Manager reports any of them as
// delivery_failed.
func (m *Mailer) Send(ctx context.Context, msg usermgmt.Message) error {
	if m.addr == "" {
		return errors.New("smtp: the Mailer was not made by New")
	}
	rcpt, data, err := m.compose(msg, time.Now())
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("smtp %s: %w", m.addr, context.Cause(ctx))
	}
	ctx, cancel := context.WithTimeoutCause(ctx, m.timeout,
		fmt.Errorf("no answer within the %v timeout: %w", m.timeout, context.DeadlineExceeded))
	defer cancel()
	return m.deliver(ctx, rcpt, data)
}

// deliver runs one SMTP conversation on a fresh connection.
func (m *Mailer) deliver(ctx context.Context, rcpt string, data []byte) error {
	fail := func(step string, err error) error {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The connection's deadline is the context's: the context is
			// done now or within moments, and its cause says why.
			<-ctx.Done()
		}
		if ctx.Err() != nil {
			return fmt.Errorf("smtp %s: %s: %w", m.addr, step, context.Cause(ctx))
		}
		return fmt.Errorf("smtp %s: %s: %w", m.addr, step, err)
	}
	conn, err := m.dial(ctx)
	if err != nil {
		return fail("connect", err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	// Cancelling ctx fails whatever read or write is blocked, at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := netsmtp.NewClient(conn, m.host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(m.hello); err != nil {
		return fail("EHLO", err)
	}
	if m.tlsMode == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp %s: the server does not offer STARTTLS, and sending in plain text was not allowed (use ImplicitTLS for an SMTPS port)", m.addr)
		}
		if err := c.StartTLS(m.tlsConfig); err != nil {
			return fail("STARTTLS", err)
		}
	}
	if m.username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return fmt.Errorf("smtp %s: a Username is set but the server offers no AUTH", m.addr)
		}
		if m.authMech != "" {
			mechs = m.authMech
		}
		a, err := newAuth(mechs, m.username, m.password, m.tlsMode == NoTLS)
		if err != nil {
			return fmt.Errorf("smtp %s: %w", m.addr, err)
		}
		if err := c.Auth(a); err != nil {
			return fail("AUTH", err)
		}
	}
	if !isASCII(rcpt) || !isASCII(m.from.Address) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return fmt.Errorf("smtp %s: the address is not ASCII and the server does not offer SMTPUTF8", m.addr)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fail("MAIL FROM", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fail("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(data); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil { // reads the server's acceptance
		return fail("end of DATA", err)
	}
	_ = c.Quit() // the server has taken the message; a failed QUIT changes nothing
	return nil
}

func (m *Mailer) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if m.tlsMode == ImplicitTLS {
		return (&tls.Dialer{NetDialer: d, Config: m.tlsConfig}).DialContext(ctx, "tcp", m.addr)
	}
	return d.DialContext(ctx, "tcp", m.addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func defaultHello() string {
	if h, err := os.Hostname(); err == nil && isDNSName(h) {
		return h
	}
	return "localhost"
}

// isDNSName reports whether s is letters, digits, hyphens and dots, with
// no empty label: what EHLO and a Message-ID's right side accept.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func isAddressLiteral(s string) bool {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	inner := strings.TrimPrefix(s[1:len(s)-1], "IPv6:")
	return net.ParseIP(inner) != nil
}
