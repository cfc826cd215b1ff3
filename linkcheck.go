package usermgmt

import "context"

// LinkState says what a link from a mail (an invitation, a password
// reset) can still do, as CheckInvite and CheckPasswordReset tell it.
type LinkState string

// The states of a link.
const (
	// LinkValid: the link works; the page may ask for a password.
	LinkValid LinkState = "valid"
	// LinkExpired: the link was never used and its time is up; only an
	// administrator (for an invitation) or a new request (for a reset)
	// gives a new one.
	LinkExpired LinkState = "expired"
	// LinkUsed: the link was followed already; the person has a password
	// and signs in.
	LinkUsed LinkState = "used"
)

// LinkCheck is what a person's page shows before they type a password:
// the state of their link, whose account it is and which product.
type LinkCheck struct {
	State   LinkState
	Email   string
	Product string // Options.Issuer
}

// CheckInvite tells what an invitation link can still do, without
// spending it, so that the page can say so before the person types a
// password. It returns unauthenticated, as AcceptInvite does, for a token
// that is not an invitation of this Manager (or of the request's tenant,
// see ForTenant), and for a link that AcceptInvite would refuse for
// another reason (a newer invitation replaced it, the user was
// deactivated): only a real link learns its state.
func (m *Manager) CheckInvite(ctx context.Context, token string) (LinkCheck, error) {
	return m.checkLink(ctx, PurposeInvite, prefixInvite, StatusInvited, token)
}

// CheckPasswordReset is CheckInvite for a password reset link.
func (m *Manager) CheckPasswordReset(ctx context.Context, token string) (LinkCheck, error) {
	return m.checkLink(ctx, PurposePasswordReset, prefixReset, StatusActive, token)
}

// checkLink reads the token of purpose without spending it. A link is
// valid only if redeeming it now would pass the token and status checks
// of the redeeming operation; a spent one is used whatever its user has
// become since (the store keeps spent link tokens until they expire).
func (m *Manager) checkLink(ctx context.Context, purpose TokenPurpose, prefix string, status Status, token string) (LinkCheck, error) {
	if !wellFormed(token, prefix) {
		return LinkCheck{}, errBadToken()
	}
	now := m.now()
	var c LinkCheck
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		t, err := tx.PeekToken(ctx, purpose, hashToken(token))
		if err != nil {
			return tokenErr(err)
		}
		if want, ok := requestTenant(ctx); ok && t.TenantID != want {
			return errBadToken()
		}
		u, err := tx.GetUser(ctx, t.TenantID, t.UserID)
		if err != nil {
			return tokenErr(err)
		}
		switch {
		case t.Spent:
			c.State = LinkUsed
		case u.Status != status:
			return errBadToken()
		case !now.Before(t.ExpiresAt):
			c.State = LinkExpired
		default:
			c.State = LinkValid
		}
		c.Email, c.Product = u.Email, m.opts.Issuer
		return nil
	})
	if err != nil {
		return LinkCheck{}, wrapInternal(err)
	}
	return c, nil
}
