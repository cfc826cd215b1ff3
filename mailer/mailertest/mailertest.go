// Package mailertest provides a usermgmt.Mailer that captures messages
// instead of sending them, for tests. It is safe for concurrent use.
package mailertest

import (
	"context"
	"net/url"
	"strings"
	"sync"

	"github.com/usermgmt/usermgmt"
)

var _ usermgmt.Mailer = (*Mailer)(nil)

// Mailer captures every message it is asked to send.
type Mailer struct {
	mu       sync.Mutex
	messages []usermgmt.Message
	failNext []error
}

// New returns an empty capturing Mailer.
func New() *Mailer { return &Mailer{} }

// Send records msg, or returns the next error queued by FailNext (and then
// records nothing).
func (m *Mailer) Send(ctx context.Context, msg usermgmt.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.failNext) > 0 {
		err := m.failNext[0]
		m.failNext = m.failNext[1:]
		return err
	}
	m.messages = append(m.messages, msg)
	return nil
}

// FailNext makes the next call to Send fail with err. Calls queue up: each
// failing Send consumes one.
func (m *Mailer) FailNext(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failNext = append(m.failNext, err)
}

// Messages returns a copy of every captured message, oldest first.
func (m *Mailer) Messages() []usermgmt.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]usermgmt.Message(nil), m.messages...)
}

// Last returns the most recent message and whether there is one.
func (m *Mailer) Last() (usermgmt.Message, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.messages) == 0 {
		return usermgmt.Message{}, false
	}
	return m.messages[len(m.messages)-1], true
}

// LastTo returns the most recent message sent to the address (compared
// case-insensitively) and whether there is one.
func (m *Mailer) LastTo(to string) (usermgmt.Message, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.messages) - 1; i >= 0; i-- {
		if strings.EqualFold(m.messages[i].To, to) {
			return m.messages[i], true
		}
	}
	return usermgmt.Message{}, false
}

// Token returns the token= query parameter of the link in the most recent
// message to the address that carries a link, or "" if there is none.
func (m *Mailer) Token(to string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.messages) - 1; i >= 0; i-- {
		msg := m.messages[i]
		if !strings.EqualFold(msg.To, to) {
			continue
		}
		if tok := TokenFromLink(msg.Link); tok != "" {
			return tok
		}
	}
	return ""
}

// TokenFromLink returns the token= query parameter of link, or "".
func TokenFromLink(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}

// Reset forgets every captured message and queued failure.
func (m *Mailer) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.messages = nil
	m.failNext = nil
}
