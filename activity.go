package usermgmt

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// EventType names what happened in an activity event.
type EventType string

// The event types of the activity log; they cover the product page's list.
const (
	EventUserCreated     EventType = "user.created"
	EventInvited         EventType = "user.invited"
	EventInviteResent    EventType = "invite.resent"
	EventInviteAccepted  EventType = "invite.accepted"
	EventLoginSucceeded  EventType = "login.succeeded"
	EventLoginFailed     EventType = "login.failed"
	EventLoginLocked     EventType = "login.locked"   // failed attempts paused signing in; Detail says how many and until when
	EventLoginUnlocked   EventType = "login.unlocked" // an admin lifted the pause (UnlockUser)
	EventLogout          EventType = "logout"
	EventMFAEnrolled     EventType = "mfa.enrolled"
	EventMFAVerified     EventType = "mfa.verified"
	EventMFAFailed       EventType = "mfa.failed"
	EventMFARecoveryUsed EventType = "mfa.recovery_code_used"
	// EventMFARecoveryRegenerated: the person replaced all their recovery codes.
	EventMFARecoveryRegenerated EventType = "mfa.recovery_codes_regenerated"
	EventMFAReset               EventType = "mfa.reset"
	EventRoleGranted            EventType = "role.granted"
	EventRoleRevoked            EventType = "role.revoked"
	EventPasswordResetSent      EventType = "password.reset_requested"
	EventPasswordResetDone      EventType = "password.reset_completed"
	EventPasswordChanged        EventType = "password.changed" // by the person, who gave the current one
	EventDeviceTrusted          EventType = "device.trusted"
	EventSessionsRevoked        EventType = "sessions.revoked"
	EventSessionRevoked         EventType = "session.revoked" // one session; Detail names its browser and device
	EventDeviceRevoked          EventType = "device.revoked"  // one trusted device; Detail names it
	EventDeactivated            EventType = "user.deactivated"
	EventActivated              EventType = "user.activated"
	EventRefreshTokenReused     EventType = "session.refresh_reused"
	EventMailFailed             EventType = "mail.failed"
	EventSudoVerified           EventType = "sudo.verified"
	// EventProfileUpdated: the identity provider changed the person's
	// profile; Detail names the fields.
	EventProfileUpdated EventType = "user.updated"
	EventDeprovisioned  EventType = "user.deprovisioned" // deleted by the identity provider (DeprovisionUser)
	EventReprovisioned  EventType = "user.reprovisioned" // brought back by the identity provider (ProvisionUser)
	EventGroupJoined    EventType = "group.joined"       // added to a group; Detail names it
	EventGroupLeft      EventType = "group.left"         // removed from a group (or the group deleted); Detail names it
	EventErased         EventType = "user.erased"        // personal data erased on request (EraseUser)
	// EventImported: the user came in by ImportUsers, created or (Detail
	// "updated: …" naming what changed) updated.
	EventImported EventType = "user.imported"
	// EventExported: the person exported the tenant's users or activity
	// (ExportUsers, ExportActivity); it is about the one who exported,
	// and Detail says what, in which format and with which filters.
	EventExported EventType = "data.exported"
)

// eventLabels is the one table of what each event type is called on a
// page; GET /meta serves it, and a test holds it to the constants above.
var eventLabels = []EventLabel{
	{EventUserCreated, "Account created"},
	{EventInvited, "Invitation sent"},
	{EventInviteResent, "Invitation resent"},
	{EventInviteAccepted, "Invitation accepted"},
	{EventLoginSucceeded, "Logged in"},
	{EventLoginFailed, "Login failed"},
	{EventLoginLocked, "Sign-in paused after failed attempts"},
	{EventLoginUnlocked, "Sign-in unlocked by an admin"},
	{EventLogout, "Logged out"},
	{EventMFAEnrolled, "Enrolled in MFA"},
	{EventMFAVerified, "MFA verified"},
	{EventMFAFailed, "MFA code refused"},
	{EventMFARecoveryUsed, "Recovery code used"},
	{EventMFARecoveryRegenerated, "Recovery codes replaced"},
	{EventMFAReset, "MFA reset"},
	{EventRoleGranted, "Role granted"},
	{EventRoleRevoked, "Role revoked"},
	{EventPasswordResetSent, "Password reset requested"},
	{EventPasswordResetDone, "Password reset completed"},
	{EventPasswordChanged, "Password changed"},
	{EventDeviceTrusted, "Device trusted"},
	{EventSessionsRevoked, "Sessions and trusted devices revoked"},
	{EventSessionRevoked, "Session revoked"},
	{EventDeviceRevoked, "Trusted device revoked"},
	{EventDeactivated, "Deactivated"},
	{EventActivated, "Activated"},
	{EventRefreshTokenReused, "Reused refresh token: session revoked"},
	{EventMailFailed, "Mail could not be delivered"},
	{EventSudoVerified, "Confirmed identity for a sensitive action"},
	{EventProfileUpdated, "Profile updated"},
	{EventDeprovisioned, "Removed by the identity provider"},
	{EventReprovisioned, "Provisioned again"},
	{EventGroupJoined, "Added to a group"},
	{EventGroupLeft, "Removed from a group"},
	{EventErased, "Personal data erased"},
	{EventImported, "Imported"},
	{EventExported, "Exported data"},
}

// EventLabel names an event type the way a page shows it.
type EventLabel struct {
	Type  EventType
	Label string
}

// EventLabels returns every event type the library logs with its label,
// in the order of the constants.
func EventLabels() []EventLabel { return append([]EventLabel(nil), eventLabels...) }

// Event is one entry of a user's activity log. Events are append-only and
// never hold a secret: Detail carries only names such as a role.
type Event struct {
	ID        uuid.UUID // UUIDv7: orders events by time
	TenantID  string
	UserID    uuid.UUID // whom the event is about
	Type      EventType
	ActorID   uuid.UUID // who did it; uuid.Nil is the system (trusted code)
	IP        string
	UserAgent string
	Detail    string
	CreatedAt time.Time

	// ActorEmail is the actor's email, read with the event; "" for the
	// system, for an actor no longer found, and, from ListActivity, for a
	// caller whose roles may not list users. AppendEvent ignores it.
	ActorEmail string
	// ActorName names an actor that is not a user: the provisioning token
	// ("provisioning: Okta", ProvisioningToken.ActorLabel); "" otherwise.
	// Stores keep it. ListActivity also names an erased actor so ("Erased
	// user"), with no ActorEmail.
	ActorName string

	// user is whom the event is about as the change left them (m.event
	// keeps it): the snapshot of a webhook message. Stores never see it.
	user *User
}

// ActivityQuery selects a page of a user's activity, newest first.
type ActivityQuery struct {
	Limit  int    // 0 means 50; at most 200
	Cursor string // NextCursor of the previous page ("Load more")
}

// ActivityPage is one page of a user's activity, newest first.
type ActivityPage struct {
	Events     []Event
	NextCursor string // "" when there is nothing older
}

// ListActivity returns a page of the user's activity, newest first; pass
// NextCursor back for "Load more". It returns invalid for a bad limit or
// cursor, not_found, and permission_denied.
func (m *Manager) ListActivity(ctx context.Context, tenantID string, userID uuid.UUID, q ActivityQuery) (ActivityPage, error) {
	if err := checkTenant(tenantID); err != nil {
		return ActivityPage{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return ActivityPage{}, err
	}
	before, err := m.idCursor(q.Cursor, "activity", tenantID, userID.String())
	if err != nil {
		return ActivityPage{}, err
	}
	var page ActivityPage
	err = m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		a, err := m.authorize(ctx, tx, tenantID, PermReadActivity)
		if err != nil {
			return err
		}
		page.Events, err = tx.ListEvents(ctx, tenantID, userID, before, limit+1)
		if err != nil {
			return err
		}
		if len(page.Events) == 0 {
			// No event: the user may not exist (not_found). An event of
			// the user proves they do, for users are never deleted
			// (EraseUser keeps a pseudonymous row), so a page with events
			// asks no more.
			if _, err := tx.GetUser(ctx, tenantID, userID); err != nil {
				return err
			}
		}
		m.nameActors(&a, page.Events)
		return nil
	})
	if err != nil {
		return ActivityPage{}, wrapInternal(err)
	}
	if len(page.Events) > limit {
		page.Events = page.Events[:limit]
		page.NextCursor = m.encodeCursor("activity", tenantID, userID.String(), page.Events[limit-1].ID.String())
	}
	return page, nil
}

// nameActors shows each event's actor as az may see it: an erased actor
// as "Erased user", and no actor's email unless az may list users
// (naming an actor tells who is a user).
func (m *Manager) nameActors(az *authz, events []Event) {
	hide := !az.system && !m.roles.can(az.roles, PermListUsers)
	for i := range events {
		e := &events[i]
		switch {
		case hide:
			e.ActorEmail = ""
		case e.ActorEmail != "" && e.ActorEmail == ErasedEmail(e.ActorID):
			e.ActorEmail, e.ActorName = "", erasedActor
		}
	}
}

// idCursor decodes the cursor of a list paged by id, newest first: it must
// have been made by encodeCursor(query..., id) for the same query. It
// returns uuid.Nil for no cursor (the first page).
func (m *Manager) idCursor(cursor string, query ...string) (uuid.UUID, error) {
	if cursor == "" {
		return uuid.Nil, nil
	}
	f, err := m.decodeCursor(cursor, len(query)+1)
	if err != nil {
		return uuid.Nil, err
	}
	for i, q := range query {
		if f[i] != q {
			return uuid.Nil, Errorf(CodeInvalid, "cursor belongs to another query")
		}
	}
	id, err := uuid.Parse(f[len(query)])
	if err != nil {
		return uuid.Nil, Errorf(CodeInvalid, "cursor is not valid")
	}
	return id, nil
}
