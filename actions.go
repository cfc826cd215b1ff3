package usermgmt

import (
	"time"
)

// Action is something the Settings → Users page offers to do to a user.
// The Manager tells, for each user it reads for an actor, which actions
// that actor may take on that user (User.Actions), so the page offers only
// what will work and says why the rest will not.
type Action string

// The actions of the page.
const (
	ActionResendInvite  Action = "resend_invite"
	ActionResetPassword Action = "reset_password"
	ActionForceLogout   Action = "force_logout"
	ActionResetMFA      Action = "reset_mfa"
	ActionUnlock        Action = "unlock"
	ActionDeactivate    Action = "deactivate"
	ActionActivate      Action = "activate"
	ActionChangeRoles   Action = "change_roles"
	ActionReadActivity  Action = "read_activity"
	ActionListSessions  Action = "list_sessions"
	ActionErase         Action = "erase" // EraseUser: a tenant_admin only, whatever the catalogue
)

// actionList is every action, in the order Actions.Allowed lists them;
// an action's index is its bit.
var actionList = [...]Action{ActionResendInvite, ActionResetPassword, ActionForceLogout, ActionResetMFA,
	ActionUnlock, ActionDeactivate, ActionActivate, ActionChangeRoles, ActionReadActivity, ActionListSessions, ActionErase}

// actionPerm is the permission each action needs, by index. Unlocking
// needs PermResetPassword: it gives the person their password attempts
// back, which a password reset does too (it clears the same key), so whoever
// may reset a password may lift a pause, and a host's catalogue needs no
// new permission for it. Erasing needs PermDeactivate (it deactivates)
// and, beyond any catalogue, tenant_admin (judge).
var actionPerm = [len(actionList)]Permission{PermInvite, PermResetPassword, PermForceLogout, PermResetMFA,
	PermResetPassword, PermDeactivate, PermDeactivate, PermChangeRoles, PermReadActivity, PermForceLogout,
	PermDeactivate}

// AllActions lists every action.
func AllActions() []Action { return append([]Action(nil), actionList[:]...) }

func actionIndex(a Action) int {
	for i, x := range actionList {
		if x == a {
			return i
		}
	}
	return -1
}

// why an action is refused; 0 is allowed.
type reason uint8

const (
	allowed        reason = iota
	notApplicable         // the user's state rules it out (activate an active user): the page hides it
	reasonRoles           // the actor's roles lack the permission
	reasonAdmin           // the target is a tenant_admin and the actor is not
	reasonSelf            // never on oneself
	reasonInactive        // reset_password on a user who is not active
)

// reasonText is the sentence the page shows beside a refused action.
func reasonText(a Action, r reason) string {
	switch r {
	case reasonRoles:
		return "Your roles do not allow this."
	case reasonAdmin:
		return "Only a tenant admin can do this to a tenant admin."
	case reasonSelf:
		switch a {
		case ActionDeactivate:
			return "You cannot deactivate yourself."
		case ActionResetMFA:
			return "You cannot reset your own MFA: it would end your session. Ask another admin."
		case ActionErase:
			return "You cannot erase yourself. Ask another admin."
		}
		return "You cannot do this to yourself."
	case reasonInactive:
		return "Only an active user can be sent a password reset."
	}
	return ""
}

// Actions is what one actor may do to one user: filled by ListUsers,
// GetUser and the operations that return a User, for the actor of the
// context. The zero value allows nothing. It is a small value (no
// allocation), so a page of users carries it for free.
type Actions struct {
	why [len(actionList)]reason
	set bool // filled by the Manager
}

// Allows reports whether the actor may take action a on the user.
func (as Actions) Allows(a Action) bool {
	i := actionIndex(a)
	return as.set && i >= 0 && as.why[i] == allowed
}

// Allowed lists the actions the actor may take, in a fixed order.
func (as Actions) Allowed() []Action {
	out := make([]Action, 0, len(actionList))
	if !as.set {
		return out
	}
	for i, r := range as.why {
		if r == allowed {
			out = append(out, actionList[i])
		}
	}
	return out
}

// Reason says, in a plain sentence, why an action the page may show is
// refused (the actor's roles, a tenant_admin target, oneself, a user who
// is not active); "" when it is allowed, or when the user's state rules it
// out entirely (resend to an active user, activate an active user: the
// page does not show those).
func (as Actions) Reason(a Action) string {
	i := actionIndex(a)
	if !as.set || i < 0 {
		return ""
	}
	return reasonText(a, as.why[i])
}

// Reasons calls f with each action refused because of this user: a
// tenant_admin target, oneself, a user who is not active. An action the
// actor's roles never allow is not among them: the page does not offer it
// on any user.
func (as Actions) Reasons(f func(a Action, why string)) {
	if !as.set {
		return
	}
	for i, r := range as.why {
		if r > reasonRoles {
			f(actionList[i], reasonText(actionList[i], r))
		}
	}
}

// judge says whether az may take action i on u, for the page's offer. It
// states the rules the operations enforce (their permission, authz.actOn
// for tenant_admin targets, refuseSelf for oneself, which judge shares,
// and their status rules: ResendInvite needs an invited user, Activate a
// deactivated one, ...); TestAllowedActions tries every action it offers
// or refuses against the operation itself, so the two cannot drift apart.
func (m *Manager) judge(az *authz, perms uint16, u *User, i int, now time.Time) reason {
	a := actionList[i]
	// What the user's state rules out is not offered at all: an erased
	// user's activity can be read, and nothing else is left to do.
	if u.Erased() && a != ActionReadActivity {
		return notApplicable
	}
	switch a {
	case ActionResendInvite:
		if u.Status != StatusInvited {
			return notApplicable
		}
	case ActionActivate:
		if u.Status != StatusDeactivated {
			return notApplicable
		}
	case ActionDeactivate:
		if u.Status == StatusDeactivated {
			return notApplicable
		}
	case ActionUnlock:
		if u.LockedUntil == nil || !now.Before(*u.LockedUntil) {
			return notApplicable
		}
	case ActionResetMFA:
		if !u.MFAEnabled {
			return notApplicable
		}
	}
	if a == ActionListSessions && !az.system && az.actor.UserID == u.ID {
		return allowed // one's own sessions need no permission (ListSessions)
	}
	if perms&(1<<i) == 0 || (a == ActionErase && !az.isAdmin()) {
		return reasonRoles
	}
	// Reading the activity is not acting: a tenant_admin's may be read by
	// whoever may read activity (as ListActivity does). Sessions are
	// listed as they are revoked (ListSessions: PermForceLogout, actOn).
	if a != ActionReadActivity && u.HasRole(RoleTenantAdmin) && !az.isAdmin() {
		return reasonAdmin
	}
	if r := az.self(u, a); r != allowed {
		return r
	}
	if a == ActionResetPassword && u.Status != StatusActive {
		return reasonInactive
	}
	return allowed
}

// self refuses what nobody does to themselves: deactivate or erase (they
// would lock themselves out) and reset their own MFA (it ends their
// session).
func (a *authz) self(u *User, act Action) reason {
	if a.system || a.actor.UserID != u.ID {
		return allowed
	}
	if act == ActionDeactivate || act == ActionResetMFA || act == ActionErase {
		return reasonSelf
	}
	return allowed
}

// refuseSelf is the Manager's check of the same rule, for Deactivate,
// ResetMFA and EraseUser: permission_denied with the page's sentence.
func (a *authz) refuseSelf(u *User, act Action) error {
	if r := a.self(u, act); r != allowed {
		return Errorf(CodePermissionDenied, "%s", reasonText(act, r))
	}
	return nil
}

// permMask is which actions' permissions the actor holds, one bit an
// action: worked out once a page.
func (m *Manager) permMask(az *authz) uint16 {
	var mask uint16
	for i, p := range actionPerm {
		if az.system || m.roles.can(az.roles, p) {
			mask |= 1 << i
		}
	}
	return mask
}

// present readies a user read in a transaction for its reader: a pause
// that has ended is no pause, and the actions az may take are filled in.
func (m *Manager) present(az *authz, perms uint16, u *User, now time.Time) {
	if u.LockedUntil != nil && !now.Before(*u.LockedUntil) {
		u.LockedUntil = nil
	}
	u.Actions = Actions{set: true}
	for i := range actionList {
		u.Actions.why[i] = m.judge(az, perms, u, i, now)
	}
}

// InviteExpired reports whether u is invited and the link of their latest
// invitation has expired at now: Resend is the way out.
func (u User) InviteExpired(now time.Time) bool {
	return u.Status == StatusInvited && u.InviteExpiresAt != nil && !now.Before(*u.InviteExpiresAt)
}

// shown is u as the operation that changed it returns it to az.
func (m *Manager) shown(az *authz, u User) User {
	m.present(az, m.permMask(az), &u, m.now())
	return u
}
