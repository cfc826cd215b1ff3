package usermgmt

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// maxWebhookExcerpt bounds the excerpt of an answer kept with a delivery;
// maxWebhookRead bounds what is read of it at all.
const (
	maxWebhookExcerpt = 1024
	maxWebhookRead    = 4096
)

// WebhookMessageID is the webhook-id header of the message with id: the
// same at every attempt and resend, for receivers to drop repeats.
func WebhookMessageID(id uuid.UUID) string {
	return "msg_" + strings.ReplaceAll(id.String(), "-", "")
}

// SignWebhook returns the webhook-signature of a message as the Standard
// Webhooks specification has it: "v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" under the key that secret ("whsec_" and base64)
// holds, for each secret, separated by spaces. It returns invalid for a
// secret that is not of that form.
func SignWebhook(id string, timestamp int64, body []byte, secrets ...string) (string, error) {
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, webhookSecretPrefix))
		if err != nil || !strings.HasPrefix(s, webhookSecretPrefix) {
			return "", Errorf(CodeInvalid, "a webhook secret is whsec_ and base64")
		}
		sigs[i] = signWebhook(key, id, timestamp, body)
	}
	return strings.Join(sigs, " "), nil
}

func signWebhook(key []byte, id string, timestamp int64, body []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	h.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// webhookNever is when the deliveries to a disabled endpoint are due: not
// before EnableWebhookEndpoint makes them due again.
var webhookNever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// webhookClaimTTL is how long a claimed delivery is held: an attempt is
// bounded by WebhookTimeout, so a claim older than this belongs to a
// stopped worker.
func (m *Manager) webhookClaimTTL() time.Duration { return 2*m.opts.WebhookTimeout + time.Minute }

// kickWebhooks wakes Run's webhook worker, if it sleeps, after a commit
// that queued deliveries.
func (m *Manager) kickWebhooks() {
	select {
	case m.webhookKick <- struct{}{}:
	default:
	}
}

// DeliverWebhooks posts the webhook deliveries that are due, one at a
// time, until none is due or ctx ends, and returns how many were
// delivered. A failed attempt is due again after a backoff
// (Options.WebhookRetryDelay, doubled each time) and rests its endpoint
// as long; a user's later messages to the endpoint wait until it is
// delivered or given up (after Options.WebhookMaxAttempts). A run of
// Options.WebhookDisableAfter failures disables the endpoint and mails
// the tenant's tenant_admins. Several Managers on one store share the
// work. Run calls it; hosts and tests may too. It returns ctx's error when
// stopped early and internal when the store fails.
func (m *Manager) DeliverWebhooks(ctx context.Context) (int, error) {
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		now := m.now().UTC()
		var a WebhookAttempt
		err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
			var err error
			a, err = tx.ClaimWebhook(ctx, now, now.Add(m.webhookClaimTTL()))
			return err
		})
		if ErrorCode(err) == CodeNotFound {
			return n, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			return n, wrapInternal(err)
		}
		// Finish and record this one even if ctx ends.
		if m.deliverWebhook(context.WithoutCancel(ctx), &a) {
			n++
		}
	}
}

// deliverWebhook makes one claimed attempt and records it; it reports
// whether the message was delivered.
func (m *Manager) deliverWebhook(ctx context.Context, a *WebhookAttempt) bool {
	code, excerpt, err := m.postWebhook(ctx, a)
	m.recordWebhook(ctx, a, code, excerpt, err)
	return err == nil
}

// postWebhook posts a's message to its endpoint, signed with the
// endpoint's secret (and the previous one during its grace), and returns
// the answer's status and the start of its body; any status but 2xx is a
// failure.
func (m *Manager) postWebhook(ctx context.Context, a *WebhookAttempt) (int, string, error) {
	e := &a.Endpoint
	now := m.now()
	ts := now.Unix()
	id := WebhookMessageID(a.Delivery.MessageID)
	key, err := m.openWebhookKey(e.Secret, e.ID)
	if err != nil {
		m.log.ErrorContext(ctx, "usermgmt: cannot open a webhook secret", "endpoint", e.ID, "err", err)
		return 0, "", errors.New("the endpoint's secret cannot be opened")
	}
	sig := signWebhook(key, id, ts, a.Payload)
	if e.PreviousSecret != nil && e.PreviousSecretUntil != nil && now.Before(*e.PreviousSecretUntil) {
		if old, err := m.openWebhookKey(e.PreviousSecret, e.ID); err == nil {
			sig += " " + signWebhook(old, id, ts, a.Payload)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(a.Payload))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "usermgmt-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := m.webhookClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the URL
			err = ue.Err
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxWebhookRead))
	excerpt := truncateUTF8(validText(string(body)), maxWebhookExcerpt)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, excerpt, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, excerpt, nil
}

// recordWebhook records an attempt: a delivered message is kept for
// Options.WebhookRetention; a failed one is due again after a backoff or
// given up, and its endpoint rests, or is disabled after a run of
// failures, its admins mailed. The record is written even when ctx has
// ended.
func (m *Manager) recordWebhook(ctx context.Context, a *WebhookAttempt, code int, excerpt string, failure error) {
	now := m.now().UTC()
	d := &a.Delivery
	d.LastAttemptAt, d.LastStatusCode, d.ResponseExcerpt, d.LastError = &now, code, excerpt, ""
	switch {
	case failure == nil:
		d.Status, d.DeliveredAt, d.NextAttemptAt, d.ExpiresAt = WebhookDelivered, &now, nil, now.Add(m.opts.WebhookRetention)
	case d.Attempts >= m.opts.WebhookMaxAttempts:
		d.Status, d.NextAttemptAt, d.ExpiresAt = WebhookFailed, nil, now.Add(m.opts.WebhookRetention)
	default:
		next := now.Add(doubling(m.opts.WebhookRetryDelay, m.opts.WebhookRetryMax, d.Attempts))
		d.NextAttemptAt = &next
	}
	if failure != nil {
		d.LastError = truncateUTF8(failure.Error(), maxMailError)
	}
	var mails []*outgoing
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		mails = nil
		if err := tx.UpdateWebhookDelivery(ctx, d); err != nil {
			return err
		}
		if failure == nil && a.Endpoint.Failures == 0 {
			return nil // the usual case: the endpoint is not written
		}
		e, err := tx.LockWebhookEndpoint(ctx, d.TenantID, d.EndpointID)
		if err != nil {
			return err
		}
		if failure == nil {
			e.Failures, e.RestUntil = 0, time.Time{}
			return tx.UpdateWebhookEndpoint(ctx, &e)
		}
		e.Failures++
		e.RestUntil = now.Add(doubling(m.opts.WebhookRetryDelay, m.opts.WebhookRetryMax, e.Failures))
		until := e.RestUntil
		if e.Failures >= m.opts.WebhookDisableAfter && e.DisabledAt == nil {
			e.DisabledAt, until = &now, webhookNever
			e.DisabledReason = fmt.Sprintf("%d failed attempts in a row; the last: %s", e.Failures, d.LastError)
			if mails, err = m.mailWebhookDisabled(ctx, tx, &e); err != nil {
				return err
			}
		}
		if err := tx.UpdateWebhookEndpoint(ctx, &e); err != nil {
			return err
		}
		// Its other deliveries wait as long (ClaimWebhook then does not
		// pass over them).
		_, err = tx.DeferWebhookDeliveries(ctx, e.TenantID, e.ID, until)
		return err
	})
	switch {
	case ErrorCode(err) == CodeNotFound: // the endpoint was deleted meanwhile
	case err != nil:
		m.log.ErrorContext(ctx, "usermgmt: cannot record a webhook attempt", "endpoint", d.EndpointID,
			"message", d.MessageID, "err", err)
	case failure != nil:
		m.log.WarnContext(ctx, "usermgmt: webhook attempt failed", "endpoint", d.EndpointID, "message", d.MessageID,
			"tenant", d.TenantID, "attempts", d.Attempts, "status", d.Status, "err", d.LastError)
	}
	for _, out := range mails {
		m.sendLater(ctx, out)
	}
}

// maxDisabledNotices bounds the admins mailed that an endpoint was
// disabled.
const maxDisabledNotices = 50

// mailWebhookDisabled queues, in tx, the notice that e was disabled to
// each active tenant_admin of its tenant.
func (m *Manager) mailWebhookDisabled(ctx context.Context, tx Tx, e *WebhookEndpointRecord) ([]*outgoing, error) {
	admins, err := tx.ListUsers(ctx, UserListParams{TenantID: e.TenantID, Status: StatusActive, Role: RoleTenantAdmin,
		Limit: maxDisabledNotices})
	if err != nil {
		return nil, err
	}
	var out []*outgoing
	for i := range admins {
		d := m.mailData(&admins[i], "")
		d.WebhookURL, d.Reason = e.URL, e.DisabledReason
		o, err := m.enqueueMail(ctx, tx, MessageWebhookDisabled, &admins[i], d, 0, attemptNow)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// runWebhooks is Run's webhook worker: a DeliverWebhooks pass every
// Options.MailPollInterval, and at once after a change queued a message.
func (m *Manager) runWebhooks(ctx context.Context) {
	t := time.NewTicker(m.opts.MailPollInterval)
	defer t.Stop()
	for {
		if _, err := m.DeliverWebhooks(ctx); err != nil && ctx.Err() == nil {
			m.log.ErrorContext(ctx, "usermgmt: webhook delivery failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.webhookKick:
		}
	}
}
