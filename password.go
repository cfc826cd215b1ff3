package usermgmt

import (
	"bufio"
	"context"
	_ "embed"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
)

//go:embed common-passwords.txt
var commonPasswordsFile string

// commonPasswords is the blocklist, lower-cased.
var commonPasswords = func() map[string]struct{} {
	set := make(map[string]struct{}, 1024)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			set[strings.ToLower(w)] = struct{}{}
		}
	}
	return set
}()

// checkPassword applies the policy and returns the NFC form to hash:
// length in characters between the configured bounds (never truncated),
// not a common password, not the email, and no context word (see
// contextWords) of the person's email or tenant inside it, in any case.
// email and tenantID may be "" when not known yet (a link not spent).
func (m *Manager) checkPassword(pw, email, tenantID string) (string, error) {
	if !utf8.ValidString(pw) {
		return "", fieldErrorf(FieldPassword, CodeInvalid, "password is not valid text")
	}
	pw = norm.NFC.String(pw)
	n := utf8.RuneCountInString(pw)
	if n < m.opts.PasswordMinLength {
		return "", fieldErrorf(FieldPassword, CodeInvalid, "password must be at least %d characters", m.opts.PasswordMinLength)
	}
	if n > m.opts.PasswordMaxLength {
		return "", fieldErrorf(FieldPassword, CodeInvalid, "password must be at most %d characters", m.opts.PasswordMaxLength)
	}
	lower := strings.ToLower(pw)
	if _, common := commonPasswords[lower]; common {
		return "", fieldErrorf(FieldPassword, CodeInvalid, "password is too common; choose another")
	}
	if local, _, _ := strings.Cut(email, "@"); email != "" && (lower == email || lower == local) {
		return "", fieldErrorf(FieldPassword, CodeInvalid, "password must not be your email address")
	}
	for _, w := range contextWords(email, tenantID) {
		if strings.Contains(lower, w.word) {
			return "", fieldErrorf(FieldPassword, CodeInvalid, "password must not contain %s %q", w.what, w.word)
		}
	}
	return pw, nil
}

// minContextWord is the length, in characters, from which a part of the
// email or tenant id is a context word: shorter ones ("bob", "hr") occur
// in too many good passwords by chance.
const minContextWord = 4

type contextWord struct{ what, word string }

// contextWords are the words a password must not contain because they
// are known to go with the account (ASVS 6.2.11, NIST SP 800-63B
// 3.1.1.2), lower-case, in the order they are checked: the parts of the
// email's local part; the tenant id and its parts; the parts of each label
// of the email's domain but the last (the top-level domain: "com" and the
// like say nothing of the person). Parts are split on '.', '_', '-' and
// '+' and count from minContextWord characters. For bob.smith@globex.example
// in tenant acme-corporation: "smith", "acme-corporation", "acme",
// "corporation", "globex".
func contextWords(email, tenantID string) []contextWord {
	var words []contextWord
	add := func(what, s string) {
		for _, p := range strings.FieldsFunc(strings.ToLower(s), isWordSeparator) {
			if utf8.RuneCountInString(p) >= minContextWord {
				words = append(words, contextWord{what, p})
			}
		}
	}
	local, domain, _ := strings.Cut(email, "@")
	add("your email name", local)
	if t := strings.ToLower(tenantID); utf8.RuneCountInString(t) >= minContextWord && strings.IndexFunc(t, isWordSeparator) >= 0 {
		words = append(words, contextWord{"the organisation name", t})
	}
	add("the organisation name", tenantID)
	if i := strings.LastIndexByte(domain, '.'); i > 0 {
		add("your email domain", domain[:i])
	}
	return words
}

func isWordSeparator(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' }

// SendPasswordReset mails an active user a single-use link to choose a new
// password (Options.ResetTTL, 1 hour by default). It returns not_found,
// permission_denied, conflict for a user who is not active, rate_limited
// within Options.MailInterval of the user's last invitation or reset mail,
// and delivery_failed when the mail could not be sent (the link was made
// and the outbox retries it).
func (m *Manager) SendPasswordReset(ctx context.Context, tenantID string, userID uuid.UUID) error {
	var out *outgoing
	err := m.onUser(ctx, tenantID, userID, PermResetPassword, func(ctx context.Context, tx Tx, az authz, r *UserRecord) error {
		if r.Status != StatusActive {
			return Errorf(CodeConflict, "only an active user can reset a password; %s is %s", r.Email, r.Status)
		}
		var err error
		out, err = m.issueLink(ctx, tx, r, MessagePasswordReset, EventPasswordResetSent, az.email, true, attemptNow)
		return err
	})
	if err != nil {
		return err
	}
	return m.sendNow(ctx, out)
}

// RequestPasswordReset is the self-service "forgot password": it mails a
// reset link to an active user of the tenant with that email, at most once
// per Options.MailInterval. It returns invalid for a malformed email and
// nil for every other: the lookup and the mail happen in the background,
// so neither the answer nor its timing tells whether the email exists.
// Close waits for that background work.
func (m *Manager) RequestPasswordReset(ctx context.Context, tenantID, email string) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	m.inBackground(ctx, func(ctx context.Context) {
		if err := m.requestReset(ctx, tenantID, email); err != nil {
			m.log.ErrorContext(ctx, "usermgmt: self-service password reset failed", "tenant", tenantID, "err", err)
		}
	})
	return nil
}

func (m *Manager) requestReset(ctx context.Context, tenantID, email string) error {
	var out *outgoing
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		r, err := tx.GetUserByEmail(ctx, tenantID, email)
		if err != nil {
			return err
		}
		if r, err = tx.LockUser(ctx, tenantID, r.ID); err != nil {
			return err
		}
		if r.Status != StatusActive {
			return nil
		}
		out, err = m.issueLink(ctx, tx, &r, MessagePasswordReset, EventPasswordResetSent, "", false, attemptNow)
		if ErrorCode(err) == CodeRateLimited {
			return nil // a link went less than MailInterval ago; the person is not told
		}
		return err
	})
	if ErrorCode(err) == CodeNotFound || (err == nil && out == nil) {
		return nil
	}
	if err != nil {
		return err
	}
	return m.sendNow(ctx, out)
}

// ResetPassword sets a new password with a reset link's token. It ends
// every session, refresh token and trusted device of the user and a pause
// of signing in (see lockout.go), calls the revokers and mails a notice; it does not log in, and the next login
// still asks for TOTP. It returns invalid for a password the policy
// refuses (the link still works), unauthenticated for a bad or used link,
// and expired.
func (m *Manager) ResetPassword(ctx context.Context, token, newPassword string) error {
	if !wellFormed(token, prefixReset) {
		return errBadToken()
	}
	pw, err := m.checkPassword(newPassword, "", "")
	if err != nil {
		return err
	}
	phc, err := m.hashPassword(ctx, pw)
	if err != nil {
		return err
	}
	now := m.now().UTC()
	var u User
	var out *outgoing
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		r, _, err := m.spendToken(ctx, tx, PurposePasswordReset, token, now)
		if err != nil {
			return err
		}
		if r.Status != StatusActive {
			return errBadToken()
		}
		if _, err := m.checkPassword(newPassword, r.Email, r.TenantID); err != nil {
			return err
		}
		r.PasswordHash, r.UpdatedAt = phc, now
		if err := tx.UpdateUser(ctx, &r); err != nil {
			return err
		}
		// A new password ends a pause of signing in.
		if err := tx.ClearAttempts(ctx, r.TenantID, r.Email); err != nil {
			return err
		}
		u = r.User
		if err := tx.AppendEvent(ctx, m.event(ctx, &u, EventPasswordResetDone, "")); err != nil {
			return err
		}
		if err := m.revokeInTx(ctx, tx, &u); err != nil {
			return err
		}
		out, err = m.queueMail(ctx, tx, MessagePasswordChanged, &u, "", "", 0)
		return err
	})
	if err != nil {
		return wrapInternal(err)
	}
	revokeErr := m.callRevokers(ctx, &u)
	_, _ = m.attempt(ctx, out) // a notice: a failure is logged and retried, not the caller's concern
	return revokeErr
}
