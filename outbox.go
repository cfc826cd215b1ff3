package usermgmt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Mail goes through an outbox. The mail of a change (an invitation, a
// reset link, a notice) is written to the store in the change's own
// transaction, its template data sealed, already claimed for a first
// attempt. After the commit the Manager renders it and hands it to the
// Mailer at once; a delivered mail is deleted. The mail of a bulk change
// (InviteUsers) is written due but unclaimed instead, and Run delivers
// it at Options.MailRate. A failed attempt leaves the mail due again after a backoff,
// and Run or DeliverPending retries it; after Options.MailMaxAttempts, or
// once its link has expired, it is marked failed, logged as an activity
// event and listed by ListUndeliveredMail. A crash between the commit and
// the first attempt loses nothing: the claim lapses after twice
// Options.MailTimeout and the next DeliverPending sends the mail.

// noticeTTL is how long a notice (no link) is worth delivering.
const noticeTTL = 3 * 24 * time.Hour

// mailRetention is how long a mail stays listable after its DeliverBy.
const mailRetention = 7 * 24 * time.Hour

// maxMailError bounds the error text kept with a mail.
const maxMailError = 500

// outgoing is a claimed mail and what fills its template, ready for an
// attempt.
type outgoing struct {
	rec  MailRecord
	data MailData
}

// firstAttempt says who makes a queued mail's first attempt.
type firstAttempt bool

const (
	// attemptNow: the caller, after the commit (sendNow, sendLater); the
	// mail is claimed for it, so no worker takes it meanwhile.
	attemptNow firstAttempt = true
	// attemptLater: the outbox worker, paced by Options.MailRate; the mail
	// is due at once and unclaimed.
	attemptLater firstAttempt = false
)

// queueMail writes the mail of kind to u to the outbox in tx, claimed for
// the attempt that sendNow or attempt makes after the commit. inviter is
// the acting admin's email ("" for trusted code or the person). The
// outbox keeps the template's data, sealed; the mail is rendered at each
// attempt.
func (m *Manager) queueMail(ctx context.Context, tx Tx, kind MessageKind, u *User, inviter, link string, ttl time.Duration) (*outgoing, error) {
	d := m.mailData(u, inviter)
	if link != "" {
		d.Link, d.Expiry = link, humanDuration(ttl)
	}
	return m.enqueueMail(ctx, tx, kind, u, d, ttl, attemptNow)
}

// mailData is what every mail to u is filled with.
func (m *Manager) mailData(u *User, inviter string) MailData {
	return MailData{Product: m.opts.Issuer, Email: u.Email, Inviter: inviter, TenantID: u.TenantID}
}

// enqueueMail is queueMail with the template's data filled by the caller,
// and first saying who makes the first attempt: a mail with a link is
// worth delivering for ttl, a notice for noticeTTL.
func (m *Manager) enqueueMail(ctx context.Context, tx Tx, kind MessageKind, u *User, d MailData, ttl time.Duration,
	first firstAttempt) (*outgoing, error) {
	now := m.now().UTC()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, internalf(err, "new id")
	}
	deliverBy := now.Add(noticeTTL)
	if d.Link != "" {
		deliverBy = now.Add(ttl)
	}
	rec := MailRecord{ID: id, TenantID: u.TenantID, UserID: u.ID, Kind: kind, To: u.Email, Sealed: m.sealMail(d, id),
		Attempts: 1, NextAttemptAt: now.Add(m.claimTTL()), CreatedAt: now, DeliverBy: deliverBy,
		ExpiresAt: deliverBy.Add(mailRetention)}
	if first == attemptLater {
		rec.Attempts, rec.NextAttemptAt = 0, now
	}
	if err := tx.EnqueueMail(ctx, &rec); err != nil {
		return nil, err
	}
	return &outgoing{rec: rec, data: d}, nil
}

// claimTTL is how long a claimed mail is held: an attempt is bounded by
// MailTimeout, so a claim older than this belongs to a stopped worker.
func (m *Manager) claimTTL() time.Duration { return 2 * m.opts.MailTimeout }

// sendNow makes the first attempt at a mail queued by a change that has
// committed. A failure becomes delivery_failed: the change is saved and
// the mail will be retried.
func (m *Manager) sendNow(ctx context.Context, out *outgoing) error {
	if _, err := m.attempt(ctx, out); err != nil {
		return &Error{Code: CodeDeliveryFailed, Err: err,
			Message: "the change was saved, but the mail could not be sent yet; it will be retried"}
	}
	return nil
}

// sendLater makes the first attempt at a mail queued by a change that
// has committed in the background, so that the caller's answer neither
// waits for the Mailer nor tells by its timing that a mail went (a
// failed login that paused sign-in answers as any other). A failure is
// logged and retried by the outbox. Close waits for it.
func (m *Manager) sendLater(ctx context.Context, out *outgoing) {
	if out == nil {
		return
	}
	m.inBackground(ctx, func(ctx context.Context) { _, _ = m.attempt(ctx, out) })
}

// inBackground runs fn after the caller has been answered, with ctx's
// values but not its cancellation, bounded by backgroundTimeout. Close
// waits for it.
func (m *Manager) inBackground(ctx context.Context, fn func(context.Context)) {
	m.background.Add(1)
	go func() {
		defer m.background.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backgroundTimeout)
		defer cancel()
		fn(ctx)
	}()
}

// backgroundTimeout bounds one piece of background work: a self-service
// reset's lookup, link and mail, or a notice's first attempt.
const backgroundTimeout = time.Minute

// Close waits for the work still running in the background: self-service
// password resets (see RequestPasswordReset) and the first attempt at
// notices sent in the background (a paused sign-in). Call it when
// shutting down. It holds no other resource: calling it twice, or using
// the Manager after it, is harmless.
func (m *Manager) Close() error {
	m.background.Wait()
	return nil
}

// attempt hands a claimed mail to the Mailer, within Options.MailTimeout,
// and records the outcome: a delivered mail is deleted; a failed one is
// due again after a backoff, or given up. The record is written even when
// ctx has ended, so an attempt made is never lost. It returns the
// Mailer's error, and whether the mail was given up.
func (m *Manager) attempt(ctx context.Context, out *outgoing) (failed bool, err error) {
	msg, err := m.mail.render(out.rec.Kind, out.data)
	if err != nil { // it will not render next time either
		return m.retryLater(context.WithoutCancel(ctx), &out.rec, "render: "+err.Error(), true), err
	}
	msg.ID = out.rec.ID.String()
	sctx, cancel := context.WithTimeout(ctx, m.opts.MailTimeout)
	err = m.opts.Mailer.Send(sctx, msg)
	cancel()
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		return m.retryLater(ctx, &out.rec, err.Error(), false), err
	}
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		return tx.DeleteMail(ctx, out.rec.ID)
	})
	if err != nil && ErrorCode(err) != CodeNotFound {
		// The mail went; only its row stays, and its claim will lapse:
		// the one case where a mail can be sent twice.
		m.log.ErrorContext(ctx, "usermgmt: cannot delete a delivered mail from the outbox", "mail", out.rec.ID, "err", err)
	}
	return false, nil
}

// retryLater records a failed attempt: the mail is due again after a
// backoff, or, when final, after the last attempt or when the next one
// would come after its link expired, marked failed with an activity event.
// It reports whether it gave the mail up.
func (m *Manager) retryLater(ctx context.Context, r *MailRecord, reason string, final bool) (failed bool) {
	now := m.now().UTC()
	r.LastError = truncateUTF8(reason, maxMailError)
	next := now.Add(m.backoff(r.Attempts))
	giveUp := final || r.Attempts >= m.opts.MailMaxAttempts || !next.Before(r.DeliverBy)
	if giveUp {
		r.FailedAt, r.NextAttemptAt = now, now
	} else {
		r.NextAttemptAt = next
	}
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		if err := tx.UpdateMail(ctx, r); err != nil {
			return err
		}
		if !giveUp {
			return nil
		}
		u := &User{ID: r.UserID, TenantID: r.TenantID}
		detail := fmt.Sprintf("%s mail to %s, after %d attempts", r.Kind, r.To, r.Attempts)
		return tx.AppendEvent(ctx, m.event(WithActor(ctx, Actor{}), u, EventMailFailed, detail))
	})
	switch {
	case ErrorCode(err) == CodeNotFound: // cancelled meanwhile (a newer link was sent)
	case err != nil:
		m.log.ErrorContext(ctx, "usermgmt: cannot record a failed mail attempt", "mail", r.ID, "err", err)
	case giveUp:
		m.log.ErrorContext(ctx, "usermgmt: mail given up", "mail", r.ID, "kind", r.Kind, "tenant", r.TenantID,
			"user", r.UserID, "attempts", r.Attempts, "err", reason)
	default:
		m.log.WarnContext(ctx, "usermgmt: mail attempt failed; will retry", "mail", r.ID, "kind", r.Kind,
			"tenant", r.TenantID, "user", r.UserID, "attempts", r.Attempts, "retry_at", r.NextAttemptAt, "err", reason)
	}
	return giveUp
}

// backoff is the wait after the n-th failed attempt: MailRetryDelay,
// doubled for each further failure, at most MailRetryMax.
func (m *Manager) backoff(n int) time.Duration {
	return doubling(m.opts.MailRetryDelay, m.opts.MailRetryMax, n)
}

// doubling is first after one failure, doubled for each further one, at
// most most.
func doubling(first, most time.Duration, n int) time.Duration {
	d := first
	for i := 1; i < n && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// Delivery counts what one DeliverPending pass did.
type Delivery struct {
	Sent     int // handed to the Mailer and deleted
	Retrying int // failed; due again later
	Failed   int // given up: too many attempts, link expired, or unreadable
	// Wait is set when the pass stopped at Options.MailRate with mail
	// still due: how long until the next one may go.
	Wait time.Duration
}

// mailPaceKey names the outbox's bucket in the shared rate limiter.
const mailPaceKey = "usermgmt|outbox|mail"

// DeliverPending delivers the outbox mail that is due, one mail at a time,
// until none is due, an attempt fails (the server is likely down; the rest
// wait for the next pass), Options.MailRate allows no more for now
// (Delivery.Wait says for how long), or ctx ends. Several Managers on one
// store share the work; each mail is claimed by one of them, and on a
// store that is a RateLimiter they share MailRate too. Cancelling ctx
// stops it between two mails: an attempt in flight is finished (within
// Options.MailTimeout) and recorded, so a stopped worker neither loses a
// mail nor sends one twice. It returns ctx's error when stopped early and
// internal when the store fails.
func (m *Manager) DeliverPending(ctx context.Context) (Delivery, error) {
	var d Delivery
	for {
		if err := ctx.Err(); err != nil {
			return d, err
		}
		now := m.now().UTC()
		var rec MailRecord
		err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
			var err error
			rec, err = tx.ClaimMail(ctx, now, now.Add(m.claimTTL()))
			return err
		})
		if ErrorCode(err) == CodeNotFound {
			return d, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return d, ctx.Err()
			}
			return d, wrapInternal(err)
		}
		ctx := context.WithoutCancel(ctx) // finish and record this one
		data, err := m.openMail(&rec)
		if err == nil && !now.Before(rec.DeliverBy) {
			err = fmt.Errorf("its link expired before it could be delivered")
		}
		if err != nil { // no later attempt would do better
			m.retryLater(ctx, &rec, err.Error(), true)
			d.Failed++
			continue
		}
		if wait, err := m.paceMail(ctx, &rec); wait > 0 || err != nil {
			d.Wait = wait
			return d, err
		}
		if failed, err := m.attempt(ctx, &outgoing{rec: rec, data: data}); err != nil {
			if failed {
				d.Failed++
			} else {
				d.Retrying++
			}
			return d, nil
		}
		d.Sent++
	}
}

// paceMail takes a token for a claimed mail from the outbox's bucket
// (Options.MailRate). When there is none it puts the mail back, due when
// a token is, and returns how long that is. A token is taken after the
// claim, not before, so that a pass that finds nothing spends none.
func (m *Manager) paceMail(ctx context.Context, rec *MailRecord) (time.Duration, error) {
	ok, wait := m.mailPace.Allow(ctx, mailPaceKey, m.opts.MailRate, time.Second)
	if ok {
		return 0, nil
	}
	rec.Attempts--
	rec.NextAttemptAt = m.now().UTC().Add(wait)
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error { return tx.UpdateMail(ctx, rec) })
	if err != nil && ErrorCode(err) != CodeNotFound { // not found: cancelled meanwhile
		return wait, wrapInternal(err) // its claim lapses: it goes later all the same
	}
	return wait, nil
}

// Run delivers the outbox until ctx ends: a DeliverPending pass every
// Options.MailPollInterval, and sooner when a pass stopped at
// Options.MailRate (the next one starts when a mail may go); beside it,
// webhooks (DeliverWebhooks) as often, and at once after a change queues
// one. Start it once per process, next to the server (go m.Run(ctx));
// without it, a mail whose first attempt failed is never retried, and bulk
// invitations are never sent. It returns nil when ctx ends, after the
// attempt in flight is recorded.
func (m *Manager) Run(ctx context.Context) error {
	hooks := make(chan struct{})
	go func() {
		defer close(hooks)
		m.runWebhooks(ctx)
	}()
	defer func() { <-hooks }()
	t := time.NewTimer(m.opts.MailPollInterval)
	defer t.Stop()
	for {
		d, err := m.DeliverPending(ctx)
		if err != nil && ctx.Err() == nil {
			m.log.ErrorContext(ctx, "usermgmt: outbox delivery failed", "err", err)
		}
		wait := m.opts.MailPollInterval
		if d.Wait > 0 {
			wait = min(wait, d.Wait)
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// UndeliveredMail is an outbox mail not delivered yet: waiting for a
// retry, or failed. It holds no link or body.
type UndeliveredMail struct {
	ID            uuid.UUID
	TenantID      string
	UserID        uuid.UUID
	To            string
	Kind          MessageKind
	Attempts      int
	LastError     string    // "" before any failure
	NextAttemptAt time.Time // the next try, while not failed
	Failed        bool      // given up; FailedAt says when
	FailedAt      time.Time
	CreatedAt     time.Time
}

// MailQuery selects a page of a tenant's undelivered mail, newest first.
type MailQuery struct {
	Limit  int    // 0 means 50; at most 200
	Cursor string // NextCursor of the previous page
}

// MailPage is one page of undelivered mail, newest first.
type MailPage struct {
	Mail       []UndeliveredMail
	NextCursor string // "" when there is nothing older
}

// ListUndeliveredMail returns the tenant's mail still in the outbox:
// waiting for a retry or failed. Failed mail stays listed for a week after
// its link expired. It returns invalid for a bad limit or cursor and
// permission_denied for an actor who may not list users.
func (m *Manager) ListUndeliveredMail(ctx context.Context, tenantID string, q MailQuery) (MailPage, error) {
	if err := checkTenant(tenantID); err != nil {
		return MailPage{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return MailPage{}, err
	}
	before, err := m.idCursor(q.Cursor, "mail", tenantID)
	if err != nil {
		return MailPage{}, err
	}
	var recs []MailRecord
	err = m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		if _, err := m.authorize(ctx, tx, tenantID, PermListUsers); err != nil {
			return err
		}
		var err error
		recs, err = tx.ListMail(ctx, MailListParams{TenantID: tenantID, Before: before, Limit: limit + 1})
		return err
	})
	if err != nil {
		return MailPage{}, wrapInternal(err)
	}
	var page MailPage
	if len(recs) > limit {
		recs = recs[:limit]
		page.NextCursor = m.encodeCursor("mail", tenantID, recs[limit-1].ID.String())
	}
	page.Mail = make([]UndeliveredMail, len(recs))
	for i, r := range recs {
		page.Mail[i] = UndeliveredMail{ID: r.ID, TenantID: r.TenantID, UserID: r.UserID, To: r.To, Kind: r.Kind,
			Attempts: r.Attempts, LastError: r.LastError, NextAttemptAt: r.NextAttemptAt,
			Failed: !r.FailedAt.IsZero(), FailedAt: r.FailedAt, CreatedAt: r.CreatedAt}
	}
	return page, nil
}

// sealMail encrypts a mail's template data for the outbox with
// AES-256-GCM under a key of its own, bound to the mail's id: it carries a
// live link.
func (m *Manager) sealMail(d MailData, id uuid.UUID) []byte {
	plain, _ := json.Marshal(d) // strings only: it cannot fail
	return sealWith(m.mailAEAD, plain, id[:])
}

// openMail decrypts a mail of the outbox. A changed SecretKey fails.
func (m *Manager) openMail(r *MailRecord) (MailData, error) {
	plain, err := openWith(m.mailAEAD, r.Sealed, r.ID[:])
	if err != nil {
		m.log.Error("usermgmt: cannot unseal an outbox mail: was Options.SecretKey changed?", "mail", r.ID)
		return MailData{}, fmt.Errorf("the sealed mail cannot be opened; the secret key may have changed")
	}
	var d MailData
	if err := json.Unmarshal(plain, &d); err != nil {
		return MailData{}, fmt.Errorf("the sealed mail is corrupt: %w", err)
	}
	return d, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
