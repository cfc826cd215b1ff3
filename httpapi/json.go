package httpapi

import (
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// User is a user as the API shows it. LastLogin is LastLoginAt rendered
// like the list shows it ("2h ago", "never"); MFA is "enabled" or
// "not enrolled". LockedUntil is set while the user's sign-in is paused
// after failed attempts (POST /users/{id}/unlock lifts it);
// InviteExpiresAt is when the latest invitation link expires, and
// InviteExpired says it has (Resend is the way out). Erased says the
// user's personal data was erased (the email is a placeholder: show
// "Erased user"). AllowedActions are
// what the caller may do to this user, and ActionReasons say, for an
// action refused because of this user (a tenant_admin, oneself, not
// active), why. The name fields, ExternalID and the enterprise fields
// (EmployeeNumber, Department, ManagerID: the SCIM id of the person's
// manager, as sent) are what the identity provider says of the person
// ("" when it says nothing). Roles are what
// the user holds: DirectRoles, granted to them, and the roles of their
// groups, each with the group it comes from in GroupRoles.
type User struct {
	ID              uuid.UUID                  `json:"id"`
	Email           string                     `json:"email"`
	DisplayName     string                     `json:"display_name"`
	GivenName       string                     `json:"given_name"`
	FamilyName      string                     `json:"family_name"`
	ExternalID      string                     `json:"external_id"`
	EmployeeNumber  string                     `json:"employee_number"`
	Department      string                     `json:"department"`
	ManagerID       string                     `json:"manager_id"`
	Status          usermgmt.Status            `json:"status"`
	Roles           []usermgmt.Role            `json:"roles"`
	DirectRoles     []usermgmt.Role            `json:"direct_roles"`
	GroupRoles      []GroupRole                `json:"group_roles"`
	MFAEnabled      bool                       `json:"mfa_enabled"`
	MFA             string                     `json:"mfa"`
	LastLoginAt     *time.Time                 `json:"last_login_at"`
	LastLogin       string                     `json:"last_login"`
	CreatedAt       time.Time                  `json:"created_at"`
	UpdatedAt       time.Time                  `json:"updated_at"`
	LockedUntil     *time.Time                 `json:"locked_until"`
	InviteExpiresAt *time.Time                 `json:"invite_expires_at"`
	InviteExpired   bool                       `json:"invite_expired"`
	Erased          bool                       `json:"erased"`
	AllowedActions  []usermgmt.Action          `json:"allowed_actions"`
	ActionReasons   map[usermgmt.Action]string `json:"action_reasons"`

	forms *actionForms // the two above, encoded once (see actionsOf)
}

// GroupRole says that the user holds Role through the group GroupID,
// named Group.
type GroupRole struct {
	Role    usermgmt.Role `json:"role"`
	GroupID uuid.UUID     `json:"group_id"`
	Group   string        `json:"group"`
}

// noRoles and noGroupRoles stand for a nil list, so that JSON shows [].
var (
	noRoles      = []usermgmt.Role{}
	noGroupRoles = []GroupRole{}
)

func (h *Handler) user(u usermgmt.User, now time.Time) User {
	mfa := "not enrolled"
	if u.MFAEnabled {
		mfa = "enabled"
	}
	roles, direct, via := u.Roles, u.DirectRoles, noGroupRoles
	if roles == nil {
		roles = noRoles
	}
	if direct == nil {
		direct = noRoles
	}
	if len(u.GroupRoles) > 0 {
		via = make([]GroupRole, len(u.GroupRoles))
		for i, g := range u.GroupRoles {
			via[i] = GroupRole{Role: g.Role, GroupID: g.GroupID, Group: g.Group}
		}
	}
	out := User{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, GivenName: u.GivenName,
		FamilyName: u.FamilyName, ExternalID: u.ExternalID, EmployeeNumber: u.EmployeeNumber, Department: u.Department,
		ManagerID: u.ManagerID, Status: u.Status, Roles: roles, DirectRoles: direct,
		GroupRoles: via, MFAEnabled: u.MFAEnabled, MFA: mfa,
		LastLoginAt: u.LastLoginAt, LastLogin: usermgmt.RelativeTime(u.LastLoginAt, now),
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LockedUntil: u.LockedUntil,
		InviteExpiresAt: u.InviteExpiresAt, InviteExpired: u.InviteExpired(now), Erased: u.Erased()}
	out.forms = actionsOf(u.Actions)
	out.AllowedActions, out.ActionReasons = out.forms.allowed, out.forms.reasons
	return out
}

// actionCache holds the answer's form of each Actions value met, shared
// by every user and answer that has it (a page of users holds a handful
// of distinct values), so that a page costs no allocation a user for
// them. The slices and maps in it are never modified.
var (
	actionCache     sync.Map // usermgmt.Actions → actionForms
	actionCacheSize atomic.Int64
)

type actionForms struct {
	allowed []usermgmt.Action
	reasons map[usermgmt.Action]string
	// The JSON of both, as appendUser would write them.
	allowedJSON, reasonsJSON []byte
}

// actionCacheMax bounds the cache; the values a catalogue meets are far
// fewer.
const actionCacheMax = 4096

func actionsOf(as usermgmt.Actions) *actionForms {
	if f, ok := actionCache.Load(as); ok {
		return f.(*actionForms)
	}
	f := &actionForms{allowed: as.Allowed(), reasons: map[usermgmt.Action]string{}}
	as.Reasons(func(a usermgmt.Action, why string) { f.reasons[a] = why })
	f.allowedJSON = appendStrings(nil, f.allowed)
	f.reasonsJSON = appendReasons(nil, f.reasons)
	if actionCacheSize.Add(1) <= actionCacheMax {
		actionCache.Store(as, f)
	}
	return f
}

// Counts are the badge counts of the user list.
type Counts struct {
	Active      int `json:"active"`
	Invited     int `json:"invited"`
	Deactivated int `json:"deactivated"`
	All         int `json:"all"`
}

// UserPage is GET /users.
type UserPage struct {
	Users      []User `json:"users"`
	Counts     Counts `json:"counts"`
	NextCursor string `json:"next_cursor"`
}

// Event is one entry of the activity log. ActorID is null for the system
// (trusted code), for a person acting on their own sign-in before there
// is a session, and for an identity provider; ActorEmail is set when the
// actor is a user the caller may see, ActorName when the actor is not a
// user ("provisioning: Okta") or was erased ("Erased user").
type Event struct {
	ID         uuid.UUID          `json:"id"`
	Type       usermgmt.EventType `json:"type"`
	ActorID    *uuid.UUID         `json:"actor_id"`
	ActorEmail string             `json:"actor_email,omitempty"`
	ActorName  string             `json:"actor_name,omitempty"`
	IP         string             `json:"ip,omitempty"`
	UserAgent  string             `json:"user_agent,omitempty"`
	Detail     string             `json:"detail,omitempty"`
	CreatedAt  time.Time          `json:"created_at"`
}

// ActivityPage is GET /users/{id}/activity.
type ActivityPage struct {
	Events     []Event `json:"events"`
	NextCursor string  `json:"next_cursor"`
}

// UndeliveredMail is one entry of GET /mail/undelivered: a mail waiting
// for a retry, or failed. It holds no link or body.
type UndeliveredMail struct {
	ID            uuid.UUID            `json:"id"`
	UserID        uuid.UUID            `json:"user_id"`
	To            string               `json:"to"`
	Kind          usermgmt.MessageKind `json:"kind"`
	Attempts      int                  `json:"attempts"`
	LastError     string               `json:"last_error,omitempty"` // a sentence; the Mailer's text is in the log
	NextAttemptAt *time.Time           `json:"next_attempt_at"`      // null once failed
	Failed        bool                 `json:"failed"`
	FailedAt      *time.Time           `json:"failed_at"`
	CreatedAt     time.Time            `json:"created_at"`
}

// MailPage is GET /mail/undelivered.
type MailPage struct {
	Mail       []UndeliveredMail `json:"mail"`
	NextCursor string            `json:"next_cursor"`
}

// Role is one entry of GET /roles.
type Role struct {
	Name        usermgmt.Role `json:"name"`
	DisplayName string        `json:"display_name"`
	Description string        `json:"description"`
}

// Me is GET /me: the caller and what they may do on the page.
type Me struct {
	User        User                  `json:"user"`
	TenantID    string                `json:"tenant_id"`
	SessionID   uuid.UUID             `json:"session_id"`
	Permissions []usermgmt.Permission `json:"permissions"`
}

// Enrollment is what a person needs to add the account to a TOTP app.
// QRPNG is the PNG as standard base64; QRDataURL is the same as a data:
// URL for an <img>.
type Enrollment struct {
	Token         string    `json:"token"`
	Secret        string    `json:"secret"`
	URI           string    `json:"otpauth_uri"`
	QRPNG         string    `json:"qr_png"`
	QRDataURL     string    `json:"qr_data_url"`
	RecoveryCodes []string  `json:"recovery_codes"`
	ExpiresAt     time.Time `json:"expires_at"`
}

func enrollment(e usermgmt.MFAEnrollment) *Enrollment {
	b64 := base64.StdEncoding.EncodeToString(e.QRPNG)
	return &Enrollment{Token: e.Token, Secret: e.Secret, URI: e.URI, QRPNG: b64,
		QRDataURL: "data:image/png;base64," + b64, RecoveryCodes: e.RecoveryCodes, ExpiresAt: e.ExpiresAt}
}

// Sign-in outcomes, in AuthResult.Status.
const (
	StatusSignedIn           = "signed_in"
	StatusMFARequired        = "mfa_required"
	StatusEnrollmentRequired = "enrollment_required"
)

// AuthResult answers the sign-in routes. Status says which fields are set:
// signed_in (cookies are set; tokens here only with Options.ReturnTokens),
// mfa_required (answer Challenge at POST /auth/mfa) or enrollment_required
// (enrol with Enrollment, then POST /invitations/mfa).
type AuthResult struct {
	Status     string      `json:"status"`
	Challenge  string      `json:"challenge,omitempty"`
	Enrollment *Enrollment `json:"enrollment,omitempty"`
	Session    *Session    `json:"session,omitempty"`
}

// Session is a signed-in session. The tokens are empty unless
// Options.ReturnTokens is set.
type Session struct {
	Token              string     `json:"token,omitempty"`
	RefreshToken       string     `json:"refresh_token,omitempty"`
	DeviceToken        string     `json:"device_token,omitempty"`
	ExpiresAt          time.Time  `json:"expires_at"`
	IdleTimeoutSeconds int64      `json:"idle_timeout_seconds"`
	DeviceExpiresAt    *time.Time `json:"device_expires_at,omitempty"`
}
