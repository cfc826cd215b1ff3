package usermgmt_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/mailpit"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/mailer/smtp"
)

// The outbox against a real SMTP server: Mailpit, which a test can stop
// and start again on the same port.

// smtpEnv is a Manager on the memory store whose Mailer is mailer/smtp
// pointed at a Mailpit that accepts any AUTH over loopback plain text.
func smtpEnv(t *testing.T, wrap func(usermgmt.Mailer) usermgmt.Mailer, edit ...func(*usermgmt.Options)) (*env, *mailpit.Server) {
	t.Helper()
	mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	sm, err := smtp.New(smtp.Options{Addr: mp.SMTP, TLS: smtp.NoTLS, From: "Équipe RH <no-reply@acme.example>",
		Username: "app", Password: "secret", Timeout: 5 * time.Second})
	require.NoError(t, err)
	var mailer usermgmt.Mailer = sm
	if wrap != nil {
		mailer = wrap(sm)
	}
	e := mustManager(t, append([]func(*usermgmt.Options){func(o *usermgmt.Options) {
		o.Mailer, o.Issuer = mailer, "Équipe RH – Zürich"
		o.Logger = slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil))
	}}, edit...)...)
	return e, mp
}

var linkInText = regexp.MustCompile(`https://app\.example\.com/invitations/accept\?token=[A-Za-z0-9_\-]+`)

// TestStoppedSMTPServerMailIsRetriedWhenItIsBack: invitations made while
// the server is down are saved, answered delivery_failed and listed; once
// the server is back the next pass delivers each exactly once, with a
// non-ASCII subject intact, its outbox id as Message-ID, and a link that
// works.
func TestStoppedSMTPServerMailIsRetriedWhenItIsBack(t *testing.T) {
	e, mp := smtpEnv(t, nil)
	mp.Stop()
	const n = 3
	for i := range n {
		_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: fmt.Sprintf("p%d@acme.test", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.Equal(t, usermgmt.CodeDeliveryFailed, code(err), "invite %d: %v", i, err)
	}
	page, err := e.m.ListUndeliveredMail(e.ctx, tenant, usermgmt.MailQuery{})
	require.NoError(t, err)
	require.Len(t, page.Mail, n)
	ids := map[string]string{}
	for _, m := range page.Mail {
		require.Contains(t, m.LastError, "connect", "the reason is kept")
		require.NotContains(t, m.LastError, "token")
		ids[m.To] = m.ID.String()
	}

	e.clock.Advance(time.Minute)
	d, err := e.m.DeliverPending(context.Background())
	require.NoError(t, err)
	require.Equal(t, usermgmt.Delivery{Retrying: 1}, d, "still down: one attempt, then the pass stops")

	mp.Restart(t)
	e.clock.Advance(2 * time.Minute)
	d, err = e.m.DeliverPending(context.Background())
	require.NoError(t, err)
	require.Equal(t, usermgmt.Delivery{Sent: n}, d)
	page, err = e.m.ListUndeliveredMail(e.ctx, tenant, usermgmt.MailQuery{})
	require.NoError(t, err)
	require.Empty(t, page.Mail)

	require.Len(t, mp.Messages(t), n, "one mail per invitation, no more")
	for i := range n {
		to := fmt.Sprintf("p%d@acme.test", i)
		got := mp.WaitFor(t, to, 1)
		require.Len(t, got, 1)
		msg := mp.Message(t, got[0].ID)
		require.Equal(t, "admin@acme.test invited you to Équipe RH – Zürich", msg.Subject)
		require.Equal(t, "Équipe RH", msg.From.Name)
		require.True(t, strings.HasPrefix(msg.MessageID, ids[to]+"@"), "Message-ID %q is the outbox id %s", msg.MessageID, ids[to])
		link := linkInText.FindString(msg.Text)
		require.NotEmpty(t, link, "no link in %q", msg.Text)
		u, err := url.Parse(link)
		require.NoError(t, err)
		_, err = e.m.AcceptInvite(context.Background(), u.Query().Get("token"), goodPassword)
		require.NoError(t, err, "the link that arrived works")
	}
}

// stopAfter cancels the worker's context during its n-th Send.
type stopAfter struct {
	next   usermgmt.Mailer
	n      int
	cancel context.CancelFunc
	mu     sync.Mutex
	calls  int
}

func (s *stopAfter) Send(ctx context.Context, msg usermgmt.Message) error {
	s.mu.Lock()
	s.calls++
	if s.calls == s.n && s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	return s.next.Send(ctx, msg)
}

// TestKilledWorkerLosesNothingAndDuplicatesNothing: six mails wait for a
// server that was down; the worker delivering them is cancelled during
// its second send. It finishes that send and stops; a new worker (another
// Manager on the same store, as after a restart) delivers the rest.
// Mailpit ends with each mail exactly once.
func TestKilledWorkerLosesNothingAndDuplicatesNothing(t *testing.T) {
	var sa *stopAfter
	e, mp := smtpEnv(t, func(m usermgmt.Mailer) usermgmt.Mailer { sa = &stopAfter{next: m}; return sa })
	mp.Stop()
	const n = 6
	for i := range n {
		_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: fmt.Sprintf("p%d@acme.test", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.Equal(t, usermgmt.CodeDeliveryFailed, code(err))
	}
	mp.Restart(t)
	e.clock.Advance(time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	sa.mu.Lock()
	sa.calls, sa.n, sa.cancel = 0, 2, cancel
	sa.mu.Unlock()
	d, err := e.m.DeliverPending(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, usermgmt.Delivery{Sent: 2}, d)

	restarted, err := usermgmt.New(e.store, usermgmt.Options{Mailer: sa.next, Clock: e.clock.Now, SecretKey: testKey,
		Issuer: "Équipe RH – Zürich", Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	d, err = restarted.DeliverPending(context.Background())
	require.NoError(t, err)
	require.Equal(t, usermgmt.Delivery{Sent: n - 2}, d)

	for i := range n {
		require.Len(t, mp.WaitFor(t, fmt.Sprintf("p%d@acme.test", i), 1), 1)
	}
	require.Len(t, mp.Messages(t), n)
}

// sendTimes records when each Send began, on the wall clock.
type sendTimes struct {
	next  usermgmt.Mailer
	mu    sync.Mutex
	times []time.Time
}

func (s *sendTimes) Send(ctx context.Context, msg usermgmt.Message) error {
	s.mu.Lock()
	s.times = append(s.times, time.Now())
	s.mu.Unlock()
	return s.next.Send(ctx, msg)
}

// TestBulkInvitesReachTheSMTPServerAtTheMailRate: 1,000 invitations made
// in one call are delivered by Run, on the wall clock, to Mailpit: every
// one arrives, once, and the Mailer was never handed more than the
// token bucket allows (a burst of MailRate, then MailRate a second).
func TestBulkInvitesReachTheSMTPServerAtTheMailRate(t *testing.T) {
	const n, rate = 1000, 100 // below what Mailpit takes (some 300 a second here), so the pace is what shows
	var st *sendTimes
	e, mp := smtpEnv(t, func(m usermgmt.Mailer) usermgmt.Mailer { st = &sendTimes{next: m}; return st },
		func(o *usermgmt.Options) { o.Clock, o.MailRate = time.Now, rate })
	res, err := e.m.InviteUsers(e.ctx, tenant, people(n), usermgmt.BulkInviteOptions{})
	require.NoError(t, err)
	require.Equal(t, n, res.Invited)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	start := time.Now()
	go func() { done <- e.m.Run(ctx) }()
	var got []mailpit.Summary
	for deadline := start.Add(time.Minute); len(got) < n && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond) // polling a server, not waiting out a clock
		got = mp.Messages(t)
	}
	cancel()
	require.NoError(t, <-done)
	t.Logf("%d mails through Mailpit in %v at MailRate %d", len(got), time.Since(start).Round(time.Millisecond), rate)
	var to []string
	for _, m := range mp.Messages(t) {
		to = append(to, m.To[0].Address)
	}
	requireEachOnce(t, to, n)
	st.mu.Lock()
	defer st.mu.Unlock()
	require.Len(t, st.times, n)
	for k, at := range st.times {
		// By the k-th send (from 0) the bucket has given k+1 tokens: a
		// burst of rate, then one each 1/rate seconds.
		least := time.Duration(k+1-rate) * time.Second / rate
		require.GreaterOrEqual(t, at.Sub(start), least-5*time.Millisecond, "send %d came too early", k)
	}
}
