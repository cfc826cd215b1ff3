package usermgmt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
)

var errSMTPDown = errors.New("smtp 127.0.0.1:2525: connect: connection refused")

// outbox returns the tenant's mail still in the store, newest first.
func (e *env) outbox(t testing.TB) []usermgmt.MailRecord {
	t.Helper()
	var recs []usermgmt.MailRecord
	err := e.store.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		var err error
		recs, err = tx.ListMail(ctx, usermgmt.MailListParams{TenantID: tenant, Limit: 1000})
		return err
	})
	require.NoError(t, err)
	return recs
}

// lastEvent returns the newest activity event of the user.
func (e *env) lastEvent(t testing.TB, userID uuid.UUID) usermgmt.Event {
	t.Helper()
	page, err := e.m.ListActivity(e.ctx, tenant, userID, usermgmt.ActivityQuery{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, page.Events)
	return page.Events[0]
}

// inviteWhileDown invites email while the Mailer fails: the user is
// created, the answer is delivery_failed, and the mail waits in the outbox.
func (e *env) inviteWhileDown(t testing.TB, email string) usermgmt.User {
	t.Helper()
	e.mail.FailNext(errSMTPDown)
	u, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: email, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.Equal(t, usermgmt.CodeDeliveryFailed, code(err), "invite %s: %v", email, err)
	return u
}

func (e *env) deliver(t testing.TB) usermgmt.Delivery {
	t.Helper()
	d, err := e.m.DeliverPending(context.Background())
	require.NoError(t, err)
	return d
}

// TestDeliveredMailLeavesTheOutbox: the normal case writes the mail and
// deletes it once the Mailer has it; nothing stays behind.
func TestDeliveredMailLeavesTheOutbox(t *testing.T) {
	e := mustManager(t)
	e.invite(t, "ana@acme.test")
	require.Empty(t, e.outbox(t))
	require.Equal(t, usermgmt.Delivery{}, e.deliver(t))
	require.Len(t, e.mail.Messages(), 1)
	msg := e.mail.Messages()[0]
	require.NotEmpty(t, msg.ID, "the outbox id travels as Message.ID")
}

// TestFailedInviteIsRetriedWithBackoffAndItsLinkWorks: the first attempt
// fails, the admin is told, and the outbox delivers the same mail later,
// at the backoff's times, with a link that works.
func TestFailedInviteIsRetriedWithBackoffAndItsLinkWorks(t *testing.T) {
	e := mustManager(t)
	e.mail.FailNext(errSMTPDown)
	e.mail.FailNext(errSMTPDown)
	u, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.Equal(t, usermgmt.CodeDeliveryFailed, code(err))
	require.ErrorContains(t, err, "will be retried")
	require.Equal(t, usermgmt.StatusInvited, u.Status, "the user is created all the same")

	page, err := e.m.ListUndeliveredMail(e.ctx, tenant, usermgmt.MailQuery{})
	require.NoError(t, err)
	require.Len(t, page.Mail, 1)
	p := page.Mail[0]
	require.Equal(t, u.ID, p.UserID)
	require.Equal(t, "ana@acme.test", p.To)
	require.Equal(t, usermgmt.MessageInvite, p.Kind)
	require.Equal(t, 1, p.Attempts)
	require.Equal(t, errSMTPDown.Error(), p.LastError)
	require.False(t, p.Failed)
	require.True(t, p.NextAttemptAt.Equal(e.clock.Now().Add(time.Minute)), "first retry after MailRetryDelay")

	require.Equal(t, usermgmt.Delivery{}, e.deliver(t), "not due before the backoff")
	e.clock.Advance(time.Minute)
	require.Equal(t, usermgmt.Delivery{Retrying: 1}, e.deliver(t), "second attempt fails too")
	rec := e.outbox(t)[0]
	require.Equal(t, 2, rec.Attempts)
	require.True(t, rec.NextAttemptAt.Equal(e.clock.Now().Add(2*time.Minute)), "the delay doubles")

	e.clock.Advance(2 * time.Minute)
	require.Equal(t, usermgmt.Delivery{Sent: 1}, e.deliver(t))
	require.Empty(t, e.outbox(t), "a delivered mail is deleted")
	msgs := e.mail.Messages()
	require.Len(t, msgs, 1, "sent once")
	_, err = e.m.AcceptInvite(context.Background(), mailertest.TokenFromLink(msgs[0].Link), goodPassword)
	require.NoError(t, err, "the retried mail's link works")
}

// TestMailIsGivenUpAfterMaxAttempts: the last failure marks the mail
// failed, logs an activity event by the system, and leaves it listed.
func TestMailIsGivenUpAfterMaxAttempts(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.MailMaxAttempts = 3 })
	for range 3 {
		e.mail.FailNext(errSMTPDown)
	}
	_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.Equal(t, usermgmt.CodeDeliveryFailed, code(err))
	e.clock.Advance(time.Minute)
	require.Equal(t, usermgmt.Delivery{Retrying: 1}, e.deliver(t))
	e.clock.Advance(2 * time.Minute)
	require.Equal(t, usermgmt.Delivery{Failed: 1}, e.deliver(t))
	e.clock.Advance(24 * time.Hour)
	require.Equal(t, usermgmt.Delivery{}, e.deliver(t), "a failed mail is not tried again")
	require.Empty(t, e.mail.Messages())

	page, err := e.m.ListUndeliveredMail(e.ctx, tenant, usermgmt.MailQuery{})
	require.NoError(t, err)
	require.Len(t, page.Mail, 1)
	require.True(t, page.Mail[0].Failed)
	require.Equal(t, 3, page.Mail[0].Attempts)
	require.False(t, page.Mail[0].FailedAt.IsZero())

	ev := e.lastEvent(t, page.Mail[0].UserID)
	require.Equal(t, usermgmt.EventMailFailed, ev.Type)
	require.Equal(t, uuid.Nil, ev.ActorID, "the system gave up, not the admin")
	require.Equal(t, "invite mail to ana@acme.test, after 3 attempts", ev.Detail)
	require.Contains(t, e.log.String(), "mail given up")
}

// TestMailIsGivenUpWhenItsLinkExpires: a reset link lives an hour, so the
// outbox stops retrying once the next try would come after that.
func TestMailIsGivenUpWhenItsLinkExpires(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.MailRetryDelay, o.MailRetryMax = 40*time.Minute, time.Hour })
	e.mail.FailNext(errSMTPDown)
	e.mail.FailNext(errSMTPDown)
	require.Equal(t, usermgmt.CodeDeliveryFailed, code(e.m.SendPasswordReset(e.ctx, tenant, e.admin.ID)))
	e.clock.Advance(40 * time.Minute)
	require.Equal(t, usermgmt.Delivery{Failed: 1}, e.deliver(t), "the next try (at 100 min) would come after the link's hour")
	require.True(t, e.outbox(t)[0].Attempts == 2 && !e.outbox(t)[0].FailedAt.IsZero())
}

// TestStaleMailIsNotSent: a mail whose link expired while nobody ran the
// worker is marked failed when claimed, not sent with a dead link.
func TestStaleMailIsNotSent(t *testing.T) {
	e := mustManager(t)
	e.inviteWhileDown(t, "ana@acme.test")
	e.clock.Advance(8 * 24 * time.Hour)
	require.Equal(t, usermgmt.Delivery{Failed: 1}, e.deliver(t))
	require.Empty(t, e.mail.Messages())
	require.Contains(t, e.outbox(t)[0].LastError, "expired before it could be delivered")
}

// dyingMailer holds every Send until release is closed, then fails it:
// a process that died in the middle of an attempt.
type dyingMailer struct {
	started chan struct{}
	release chan struct{}
}

func (b *dyingMailer) Send(ctx context.Context, _ usermgmt.Message) error {
	b.started <- struct{}{}
	<-b.release
	return errors.New("the process died")
}

// TestCrashAfterCommitLosesNothing: the Manager that committed the
// invitation never finishes its attempt; another Manager on the same
// store sends the mail once the claim has lapsed, and not before.
func TestCrashAfterCommitLosesNothing(t *testing.T) {
	e := mustManager(t)
	dying := &dyingMailer{started: make(chan struct{}, 1), release: make(chan struct{})}
	crashed, err := usermgmt.New(e.store, usermgmt.Options{Mailer: dying, Clock: e.clock.Now, SecretKey: testKey,
		Issuer: "Acme HR", Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := crashed.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		done <- err
	}()
	<-dying.started // committed, and stuck in the Mailer

	e.clock.Advance(59 * time.Second)
	require.Equal(t, usermgmt.Delivery{}, e.deliver(t), "the claim (2 × MailTimeout) still holds")
	e.clock.Advance(time.Second)
	require.Equal(t, usermgmt.Delivery{Sent: 1}, e.deliver(t))
	require.Len(t, e.mail.Messages(), 1)
	_, err = e.m.AcceptInvite(context.Background(), e.lastToken(t, "ana@acme.test"), goodPassword)
	require.NoError(t, err)

	close(dying.release) // the stuck attempt ends late: its record finds the mail gone
	require.Equal(t, usermgmt.CodeDeliveryFailed, code(<-done))
	require.Empty(t, e.outbox(t))
}

// cancellingMailer records every message and cancels the worker's
// context during the n-th Send: a worker killed mid-batch.
type cancellingMailer struct {
	mailertest.Mailer
	n      int
	cancel context.CancelFunc
	mu     sync.Mutex
	calls  int
}

func (c *cancellingMailer) Send(ctx context.Context, msg usermgmt.Message) error {
	c.mu.Lock()
	c.calls++
	if c.calls == c.n {
		c.cancel()
	}
	c.mu.Unlock()
	return c.Mailer.Send(ctx, msg)
}

// TestStoppedWorkerLosesAndDuplicatesNothing: ten mails wait; the worker
// is cancelled during its third attempt. That attempt is finished and
// recorded, the pass stops, and the next pass sends the other seven:
// every mail exactly once.
func TestStoppedWorkerLosesAndDuplicatesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cm := &cancellingMailer{cancel: cancel}
	e := mustManager(t, func(o *usermgmt.Options) { o.Mailer = cm })
	for i := range 10 {
		cm.FailNext(errSMTPDown)
		_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: fmt.Sprintf("p%d@acme.test", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.Equal(t, usermgmt.CodeDeliveryFailed, code(err))
	}
	cm.calls, cm.n = 0, 3
	e.clock.Advance(time.Minute)

	d, err := e.m.DeliverPending(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, usermgmt.Delivery{Sent: 3}, d, "the attempt in flight is finished, then the pass stops")
	require.Len(t, e.outbox(t), 7)

	require.Equal(t, usermgmt.Delivery{Sent: 7}, e.deliver(t))
	requireEachOnce(t, recipients(cm.Messages()), 10)
	require.Empty(t, e.outbox(t))
}

// TestConcurrentWorkersSendEachMailOnce: four Managers on one store
// deliver a backlog of forty mails at the same time.
func TestConcurrentWorkersSendEachMailOnce(t *testing.T) {
	e := mustManager(t)
	for i := range 40 {
		e.inviteWhileDown(t, fmt.Sprintf("p%d@acme.test", i))
	}
	e.clock.Advance(time.Minute)
	var wg sync.WaitGroup
	for range 4 {
		w, err := usermgmt.New(e.store, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey,
			Links: usermgmt.Links{BaseURL: "https://app.example.com"}, MailRate: -1}) // one pass each, unpaced
		require.NoError(t, err)
		wg.Go(func() {
			_, err := w.DeliverPending(context.Background())
			require.NoError(t, err)
		})
	}
	wg.Wait()
	requireEachOnce(t, recipients(e.mail.Messages()), 40)
}

// recipients returns the To of each message.
func recipients(msgs []usermgmt.Message) []string {
	to := make([]string, len(msgs))
	for i, m := range msgs {
		to[i] = m.To
	}
	return to
}

// requireEachOnce fails unless n addresses got a mail each, and none two.
func requireEachOnce(t testing.TB, to []string, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, a := range to {
		seen[a]++
	}
	require.Len(t, seen, n)
	for a, c := range seen {
		require.Equal(t, 1, c, "%s got %d mails", a, c)
	}
}

// TestOneFailureEndsThePass: when the server is down, a pass stops at its
// first failure instead of timing out on every mail.
func TestOneFailureEndsThePass(t *testing.T) {
	e := mustManager(t)
	for i := range 5 {
		e.inviteWhileDown(t, fmt.Sprintf("p%d@acme.test", i))
	}
	e.clock.Advance(time.Minute)
	e.mail.FailNext(errSMTPDown)
	require.Equal(t, usermgmt.Delivery{Retrying: 1}, e.deliver(t))
	require.Equal(t, usermgmt.Delivery{Sent: 4}, e.deliver(t), "the next pass goes on")
}

// TestResendReplacesTheQueuedInvitation: a newer link cancels the older
// mail still in the outbox, so the invitee never gets a dead link.
func TestResendReplacesTheQueuedInvitation(t *testing.T) {
	e := mustManager(t)
	u := e.inviteWhileDown(t, "ana@acme.test")
	require.NoError(t, e.m.ResendInvite(e.ctx, tenant, u.ID), "a failed mail lets the admin resend at once")
	e.clock.Advance(time.Hour)
	require.Equal(t, usermgmt.Delivery{}, e.deliver(t), "the first mail was cancelled")
	require.Len(t, e.mail.Messages(), 1)
	_, err := e.m.AcceptInvite(context.Background(), e.lastToken(t, u.Email), goodPassword)
	require.NoError(t, err)
}

func TestDeactivationDropsQueuedMail(t *testing.T) {
	e := mustManager(t)
	u := e.inviteWhileDown(t, "ana@acme.test")
	require.Len(t, e.outbox(t), 1)
	_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	require.Empty(t, e.outbox(t))
}

// TestOutboxHoldsNoReadableLink: the stored mail is sealed; neither the
// token nor the link nor the subject is in it, and a Manager with another
// SecretKey cannot send it: it is given up, not sent garbled.
func TestOutboxHoldsNoReadableLink(t *testing.T) {
	e := mustManager(t)
	e.inviteWhileDown(t, "ana@acme.test")
	rec := e.outbox(t)[0]
	for _, s := range []string{"umi_", "token", "https://", "invited you"} {
		require.False(t, bytes.Contains(rec.Sealed, []byte(s)), "sealed mail contains %q", s)
	}

	other, err := usermgmt.New(e.store, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now,
		SecretKey: bytes.Repeat([]byte{8}, 32), Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	e.clock.Advance(time.Minute)
	d, err := other.DeliverPending(context.Background())
	require.NoError(t, err)
	require.Equal(t, usermgmt.Delivery{Failed: 1}, d)
	require.Empty(t, e.mail.Messages())
	require.Contains(t, e.outbox(t)[0].LastError, "secret key")
}

// TestNoticesGoThroughTheOutbox: the password-changed and MFA-reset
// notices are queued with their change; a failure does not fail the
// change, and the notice is retried.
func TestNoticesGoThroughTheOutbox(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	e.mail.FailNext(errSMTPDown)
	require.NoError(t, e.m.ResetMFA(e.sudo(e.admin), tenant, u.ID), "a failed notice does not fail the reset")
	recs := e.outbox(t)
	require.Len(t, recs, 1)
	require.Equal(t, usermgmt.MessageMFAReset, recs[0].Kind)
	e.clock.Advance(time.Minute)
	require.Equal(t, usermgmt.Delivery{Sent: 1}, e.deliver(t))
	msg, _ := e.mail.LastTo(u.Email)
	require.Equal(t, usermgmt.MessageMFAReset, msg.Kind)
	require.Contains(t, msg.Text, "admin@acme.test reset the two-factor authentication of ana@acme.test")

	require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
	e.mail.FailNext(errSMTPDown)
	require.NoError(t, e.m.ResetPassword(context.Background(), e.lastToken(t, u.Email), "a brand new passphrase"))
	require.Equal(t, usermgmt.MessagePasswordChanged, e.outbox(t)[0].Kind)
}

func TestListUndeliveredMail(t *testing.T) {
	e := mustManager(t)
	for i := range 5 {
		e.inviteWhileDown(t, fmt.Sprintf("p%d@acme.test", i))
	}
	first, err := e.m.ListUndeliveredMail(e.ctx, tenant, usermgmt.MailQuery{Limit: 3})
	require.NoError(t, err)
	require.Len(t, first.Mail, 3)
	require.Equal(t, "p4@acme.test", first.Mail[0].To, "newest first")
	next, err := e.m.ListUndeliveredMail(e.ctx, tenant, usermgmt.MailQuery{Limit: 3, Cursor: first.NextCursor})
	require.NoError(t, err)
	require.Len(t, next.Mail, 2)
	require.Empty(t, next.NextCursor)
	require.Equal(t, "p0@acme.test", next.Mail[1].To)

	other := e.seedActive(t, "globex", "boss@globex.test", usermgmt.RoleTenantAdmin)
	page, err := e.m.ListUndeliveredMail(e.as(other), "globex", usermgmt.MailQuery{})
	require.NoError(t, err)
	require.Empty(t, page.Mail, "another tenant sees none of it")
	_, err = e.m.ListUndeliveredMail(e.as(other), "globex", usermgmt.MailQuery{Cursor: first.NextCursor})
	require.Equal(t, usermgmt.CodeInvalid, code(err), "a cursor of another tenant")
	_, err = e.m.ListUndeliveredMail(e.as(other), tenant, usermgmt.MailQuery{})
	require.Equal(t, usermgmt.CodePermissionDenied, code(err))

	agent := e.seedActive(t, tenant, "agent@acme.test", usermgmt.RoleAgent)
	_, err = e.m.ListUndeliveredMail(e.as(agent), tenant, usermgmt.MailQuery{})
	require.Equal(t, usermgmt.CodePermissionDenied, code(err))
	_, err = e.m.ListUndeliveredMail(e.ctx, tenant, usermgmt.MailQuery{Limit: -1})
	require.Equal(t, usermgmt.CodeInvalid, code(err))
}

// TestRunDeliversUntilCancelled: the worker loop retries on its own and
// returns nil when its context ends.
func TestRunDeliversUntilCancelled(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.MailPollInterval = 5 * time.Millisecond })
	e.inviteWhileDown(t, "ana@acme.test")
	e.clock.Advance(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.m.Run(ctx) }()
	require.Eventually(t, func() bool { return len(e.mail.Messages()) == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func TestMailOptionsAreChecked(t *testing.T) {
	for name, c := range map[string]func(*usermgmt.Options){
		"NegativeTimeout":     func(o *usermgmt.Options) { o.MailTimeout = -time.Second },
		"NegativeMaxAttempts": func(o *usermgmt.Options) { o.MailMaxAttempts = -1 },
		"MaxBelowDelay":       func(o *usermgmt.Options) { o.MailRetryDelay, o.MailRetryMax = time.Hour, time.Minute },
	} {
		t.Run(name, func(t *testing.T) {
			o := usermgmt.Options{Mailer: mailertest.New(), SecretKey: testKey, Links: usermgmt.Links{BaseURL: "https://app.example.com"}}
			c(&o)
			_, err := usermgmt.New(mustManager(t).store, o)
			require.Equal(t, usermgmt.CodeInvalid, code(err))
			require.True(t, strings.Contains(err.Error(), "Mail"), err.Error())
		})
	}
}

// refusingMailer remembers what it was asked to send, then fails.
type refusingMailer struct {
	mu   sync.Mutex
	seen []usermgmt.Message
}

func (r *refusingMailer) Send(_ context.Context, msg usermgmt.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, msg)
	return errSMTPDown
}

// TestUndeliveredMailLeaksNoLink: a mail that fails to the end leaves its
// token in none of the places an admin or an operator reads: the log, the
// activity log, the undelivered-mail list, the stored row.
func TestUndeliveredMailLeaksNoLink(t *testing.T) {
	rm := &refusingMailer{}
	e := mustManager(t, func(o *usermgmt.Options) { o.Mailer, o.MailMaxAttempts = rm, 2 })
	u, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.Equal(t, usermgmt.CodeDeliveryFailed, code(err))
	e.clock.Advance(time.Minute)
	require.Equal(t, usermgmt.Delivery{Failed: 1}, e.deliver(t))
	require.Len(t, rm.seen, 2)
	token := mailertest.TokenFromLink(rm.seen[0].Link)
	require.NotEmpty(t, token)
	require.Equal(t, token, mailertest.TokenFromLink(rm.seen[1].Link), "a retry sends the same link")
	require.Equal(t, rm.seen[0].ID, rm.seen[1].ID, "and the same Message.ID")

	require.NotContains(t, e.log.String(), token)
	require.NotContains(t, e.log.String(), "token=")
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	require.Equal(t, usermgmt.EventMailFailed, page.Events[0].Type)
	for _, ev := range page.Events {
		require.NotContains(t, ev.Detail, token)
	}
	mail, err := e.m.ListUndeliveredMail(e.ctx, tenant, usermgmt.MailQuery{})
	require.NoError(t, err)
	require.NotContains(t, fmt.Sprintf("%+v", mail), token)
	rec := e.outbox(t)[0]
	require.False(t, bytes.Contains(rec.Sealed, []byte(token)))
	require.NotContains(t, fmt.Sprintf("%+v", rec), token)
}

// TestFailedMailIsListedForAWeekAfterItsLink: a given-up invitation stays
// listed until a week after its link (7 days) would have expired; then
// PruneExpired deletes it and counts it.
func TestFailedMailIsListedForAWeekAfterItsLink(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.MailMaxAttempts = 1 })
	e.mail.FailNext(errSMTPDown)
	_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.Equal(t, usermgmt.CodeDeliveryFailed, code(err))
	require.False(t, e.outbox(t)[0].FailedAt.IsZero(), "one attempt allowed: failed at once")

	e.clock.Advance(14*24*time.Hour - time.Second)
	p, err := e.m.PruneExpired(context.Background())
	require.NoError(t, err)
	require.Zero(t, p.Mail, "kept until 7 + 7 days")
	require.Len(t, e.outbox(t), 1)
	e.clock.Advance(time.Second)
	p, err = e.m.PruneExpired(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, p.Mail)
	require.Empty(t, e.outbox(t))
}

// TestSealedMailIsBoundToItsRow: sealed data moved to another outbox row
// (a database edit aimed at sending one person's link to another) does
// not open there; both mails are given up, none is sent.
func TestSealedMailIsBoundToItsRow(t *testing.T) {
	e := mustManager(t)
	for _, to := range []string{"ana@acme.test", "mallory@acme.test"} {
		e.inviteWhileDown(t, to)
	}
	recs := e.outbox(t)
	require.Len(t, recs, 2)
	err := e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		a, b := recs[0], recs[1]
		a.Sealed, b.Sealed = b.Sealed, a.Sealed
		for _, r := range []usermgmt.MailRecord{a, b} {
			if err := tx.DeleteMail(ctx, r.ID); err != nil {
				return err
			}
			if err := tx.EnqueueMail(ctx, &r); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	e.clock.Advance(time.Minute)
	require.Equal(t, usermgmt.Delivery{Failed: 2}, e.deliver(t))
	require.Empty(t, e.mail.Messages())
}

// TestMFAResetNoticeGoesToActiveUsersOnly: an invited user, who has no
// working sign-in yet, gets no "MFA reset" notice.
func TestMFAResetNoticeGoesToActiveUsersOnly(t *testing.T) {
	e := mustManager(t)
	u, _ := e.invite(t, "ana@acme.test")
	before := len(e.mail.Messages())
	require.NoError(t, e.m.ResetMFA(e.sudo(e.admin), tenant, u.ID))
	require.Len(t, e.mail.Messages(), before)
	require.Empty(t, e.outbox(t))
}
