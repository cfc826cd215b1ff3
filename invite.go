package usermgmt

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Invite is what the Invite User dialog sends.
type Invite struct {
	Email string
	Roles []Role
}

// InviteUser creates an invited user and mails them a link to set their
// password and enrol in MFA. It returns invalid for a bad email or roles,
// conflict for an email the tenant already has, permission_denied when the
// actor may not invite (or grant tenant_admin), mfa_required when it
// invites a tenant_admin outside sudo mode (see Options.SudoWindow), and
// delivery_failed with the created user when the mail could not be sent
// (ResendInvite works at once then).
func (m *Manager) InviteUser(ctx context.Context, tenantID string, inv Invite) (User, error) {
	if err := checkTenant(tenantID); err != nil {
		return User{}, err
	}
	email, err := NormalizeEmail(inv.Email)
	if err != nil {
		return User{}, err
	}
	roles, err := m.checkRoles(inv.Roles)
	if err != nil {
		return User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, internalf(err, "new id")
	}
	now := m.now().UTC()
	u := &UserRecord{User: User{ID: id, TenantID: tenantID, Email: email, Status: StatusInvited, Roles: roles,
		DirectRoles: slices.Clone(roles), CreatedAt: now, UpdatedAt: now}}
	var out *outgoing
	var shown User
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, PermInvite)
		if err != nil {
			return err
		}
		for _, r := range roles {
			if err := az.grant(r); err != nil {
				return err
			}
		}
		if hasRole(roles, RoleTenantAdmin) {
			if err := m.requireSudo(ctx, tx, tenantID, az); err != nil {
				return err
			}
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			if ErrorCode(err) == CodeConflict {
				return fieldErrorf(FieldEmail, CodeConflict, "%s is already a user here", email)
			}
			return err
		}
		if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventUserCreated, "")); err != nil {
			return err
		}
		out, err = m.issueLink(ctx, tx, u, MessageInvite, EventInvited, az.email, true)
		shown = m.shown(&az, u.User)
		return err
	})
	if err != nil {
		return User{}, wrapInternal(err)
	}
	return shown, m.mailInvite(ctx, &u.User, out)
}

// issueLink replaces the user's invitation or reset link with a new one,
// so an older link stops working (and an older mail still in the outbox
// is not sent), logs typ and queues the mail of kind. inviter is the
// acting admin's email, "" for trusted code or the person; byAdmin is false
// only when the person asked for the mail themselves. Within
// Options.MailInterval of the user's last link mail it changes nothing and
// returns rate_limited (mailSpacing).
func (m *Manager) issueLink(ctx context.Context, tx Tx, u *UserRecord, kind MessageKind, typ EventType, inviter string,
	byAdmin bool) (*outgoing, error) {
	if err := m.mailSpacing(u); err != nil {
		return nil, err
	}
	purpose, prefix, ttl, path := PurposeInvite, prefixInvite, m.opts.InviteTTL, m.opts.Links.InvitePath
	if kind == MessagePasswordReset {
		purpose, prefix, ttl, path = PurposePasswordReset, prefixReset, m.opts.ResetTTL, m.opts.Links.ResetPath
	}
	now := m.now().UTC()
	if err := tx.DeleteTokens(ctx, u.TenantID, u.ID, purpose); err != nil {
		return nil, err
	}
	if _, err := tx.CancelMail(ctx, u.TenantID, u.ID, kind); err != nil {
		return nil, err
	}
	token, hash := newToken(prefix)
	if err := tx.CreateToken(ctx, &TokenRecord{Hash: hash, Purpose: purpose, TenantID: u.TenantID,
		UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return nil, err
	}
	u.LastMailAt = now
	if purpose == PurposeInvite {
		exp := now.Add(ttl)
		u.InviteExpiresAt = &exp
	}
	if err := tx.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, typ, "")); err != nil {
		return nil, err
	}
	d := m.mailData(&u.User, inviter)
	d.Link, d.Expiry, d.ByAdmin = m.link(path, token), humanDuration(ttl), byAdmin
	return m.enqueueMail(ctx, tx, kind, &u.User, d, ttl)
}

// mailSpacing refuses a second invitation or reset mail to one user within
// Options.MailInterval with rate_limited and the seconds left.
func (m *Manager) mailSpacing(r *UserRecord) error {
	wait := m.opts.MailInterval - m.now().Sub(r.LastMailAt)
	if wait <= 0 {
		return nil
	}
	return &Error{Code: CodeRateLimited, RetryAfter: int64((wait + time.Second - 1) / time.Second),
		Message: fmt.Sprintf("a link was mailed to %s less than %s ago; try again later", r.Email, humanDuration(m.opts.MailInterval))}
}

// mailInvite makes the first attempt at an invitation; when it fails it
// clears the mail time, so the admin may resend at once (the outbox
// retries it meanwhile).
func (m *Manager) mailInvite(ctx context.Context, u *User, out *outgoing) error {
	err := m.sendNow(ctx, out)
	if err == nil {
		return nil
	}
	_ = m.inTx(context.WithoutCancel(ctx), TxOptions{}, func(ctx context.Context, tx Tx) error {
		r, err := tx.LockUser(ctx, u.TenantID, u.ID)
		if err != nil {
			return err
		}
		r.LastMailAt = time.Time{}
		return tx.UpdateUser(ctx, &r)
	})
	return err
}

// ResendInvite mails an invited user a new link; the old one stops
// working. It returns not_found, permission_denied, conflict for a user who
// is not invited, rate_limited within Options.MailInterval of the last
// mail, and delivery_failed.
func (m *Manager) ResendInvite(ctx context.Context, tenantID string, userID uuid.UUID) error {
	var u User
	var out *outgoing
	err := m.onUser(ctx, tenantID, userID, PermInvite, func(ctx context.Context, tx Tx, az authz, r *UserRecord) error {
		if r.Status != StatusInvited {
			return Errorf(CodeConflict, "%s is %s, not invited", r.Email, r.Status)
		}
		u = r.User
		var err error
		out, err = m.issueLink(ctx, tx, r, MessageInvite, EventInviteResent, az.email, true)
		return err
	})
	if err != nil {
		return err
	}
	return m.mailInvite(ctx, &u, out)
}

// AcceptInvite is the invitee following the link: it checks the password
// against the policy, spends the invitation (it works once, ever), sets
// the password and starts TOTP enrolment. The user stays invited until
// CompleteMFAEnrollment. It returns invalid for a password the policy
// refuses (the link still works), unauthenticated for a bad, used or
// revoked link or a deactivated user, and expired.
func (m *Manager) AcceptInvite(ctx context.Context, token, password string) (MFAEnrollment, error) {
	if !wellFormed(token, prefixInvite) {
		return MFAEnrollment{}, errBadToken()
	}
	pw, err := m.checkPassword(password, "", "")
	if err != nil {
		return MFAEnrollment{}, err
	}
	phc, err := m.hashPassword(ctx, pw)
	if err != nil {
		return MFAEnrollment{}, err
	}
	now := m.now().UTC()
	var enr MFAEnrollment
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		u, _, err := m.spendToken(ctx, tx, PurposeInvite, token, now)
		if err != nil {
			return err
		}
		if u.Status != StatusInvited {
			return errBadToken()
		}
		if _, err := m.checkPassword(password, u.Email, u.TenantID); err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = phc, now
		u.InviteExpiresAt = nil // spent
		if err := tx.UpdateUser(ctx, &u); err != nil {
			return err
		}
		enr, err = m.startEnrollment(ctx, tx, &u, now)
		return err
	})
	if err != nil {
		return MFAEnrollment{}, wrapInternal(err)
	}
	return enr, nil
}
