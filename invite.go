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
	u, err := m.newInvitee(tenantID, inv)
	if err != nil {
		return User{}, err
	}
	var out *outgoing
	var shown User
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, PermInvite)
		if err != nil {
			return err
		}
		r := *u // a retried transaction starts again from u
		out, err = m.createInvited(ctx, tx, az, &r, attemptNow)
		shown = m.shown(&az, r.User)
		return err
	})
	if err != nil {
		return User{}, wrapInternal(err)
	}
	return shown, m.mailInvite(ctx, &shown, out)
}

// newInvitee returns the user that inv would invite into the tenant: its
// email normalised and its roles checked (invalid, with FieldEmail or
// FieldRole, otherwise). It reads nothing: whether the actor may invite
// them, and whether the email is free, createInvited checks.
func (m *Manager) newInvitee(tenantID string, inv Invite) (*UserRecord, error) {
	email, err := NormalizeEmail(inv.Email)
	if err != nil {
		return nil, err
	}
	roles, err := m.checkRoles(inv.Roles)
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, internalf(err, "new id")
	}
	now := m.now().UTC()
	return &UserRecord{User: User{ID: id, TenantID: tenantID, Email: email, Status: StatusInvited, Roles: roles,
		DirectRoles: slices.Clone(roles), CreatedAt: now, UpdatedAt: now}}, nil
}

// createInvited is every step of an invitation inside its transaction,
// for InviteUser and InviteUsers: it creates u (createUser's checks and
// answers), logs user.created and user.invited, and queues the mail with
// its link, whose first attempt is first's to make.
func (m *Manager) createInvited(ctx context.Context, tx Tx, az authz, u *UserRecord, first firstAttempt) (*outgoing, error) {
	if err := m.createUser(ctx, tx, az, u); err != nil {
		return nil, err
	}
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventUserCreated, "")); err != nil {
		return nil, err
	}
	return m.issueLink(ctx, tx, u, MessageInvite, EventInvited, az.email, true, first)
}

// createUser creates u in its tenant once az may give it its roles
// (mayGrant: permission_denied, or mfa_required for a tenant_admin
// outside sudo mode). An email the tenant has already is conflict, on
// FieldEmail. The caller logs user.created with what follows.
func (m *Manager) createUser(ctx context.Context, tx Tx, az authz, u *UserRecord) error {
	if err := m.mayGrant(ctx, tx, u.TenantID, az, u.Roles); err != nil {
		return err
	}
	if err := tx.CreateUser(ctx, u); err != nil {
		if ErrorCode(err) == CodeConflict {
			return fieldErrorf(FieldEmail, CodeConflict, "%s is already a user here", u.Email)
		}
		return err
	}
	return nil
}

// issueLink replaces the user's invitation or reset link with a new one,
// so an older link stops working (and an older mail still in the outbox
// is not sent), logs typ and queues the mail of kind, whose first attempt
// is first's to make. inviter is the acting admin's email, "" for trusted
// code or the person; byAdmin is false only when the person asked for the
// mail themselves. Within Options.MailInterval of the user's last link
// mail it changes nothing and returns rate_limited (mailSpacing).
func (m *Manager) issueLink(ctx context.Context, tx Tx, u *UserRecord, kind MessageKind, typ EventType, inviter string,
	byAdmin bool, first firstAttempt) (*outgoing, error) {
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
	return m.enqueueMail(ctx, tx, kind, &u.User, d, ttl, first)
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
		out, err = m.issueLink(ctx, tx, r, MessageInvite, EventInviteResent, az.email, true, attemptNow)
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
