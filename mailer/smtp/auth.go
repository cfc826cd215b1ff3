package smtp

import (
	"errors"
	"fmt"
	netsmtp "net/smtp"
	"slices"
	"strings"
)

// auth is AUTH PLAIN (RFC 4616) or, for servers that offer only that,
// AUTH LOGIN. Unlike net/smtp's PlainAuth it leaves the decision about
// plain text to Options.TLS (New allows NoTLS only for loopback), and it
// refuses to send credentials over a connection that is not TLS otherwise.
type auth struct {
	mech               string
	username, password string
	allowPlainText     bool
	step               int
}

func newAuth(offered, username, password string, allowPlainText bool) (netsmtp.Auth, error) {
	mechs := strings.Fields(strings.ToUpper(offered))
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		if slices.Contains(mechs, mech) {
			return &auth{mech: mech, username: username, password: password, allowPlainText: allowPlainText}, nil
		}
	}
	return nil, fmt.Errorf("the server offers AUTH %s; this mailer speaks PLAIN and LOGIN", offered)
}

func (a *auth) Start(server *netsmtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.allowPlainText {
		return "", nil, errors.New("refusing to send credentials over a connection without TLS")
	}
	if a.mech == "PLAIN" {
		return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
	}
	return "LOGIN", nil, nil
}

func (a *auth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	if a.mech != "LOGIN" {
		return nil, errors.New("unexpected server challenge")
	}
	// LOGIN asks for the username, then the password (the prompts'
	// wording varies between servers, so only their order counts).
	a.step++
	switch a.step {
	case 1:
		return []byte(a.username), nil
	case 2:
		return []byte(a.password), nil
	}
	return nil, errors.New("unexpected server challenge")
}
