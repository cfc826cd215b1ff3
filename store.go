package usermgmt

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store keeps users, tokens, sessions and activity. Implementations are in
// store/memory and store/postgres; store/storetest is the conformance suite
// every implementation passes.
//
// Every error a Store returns that a caller can act on is an *Error with a
// Code (not_found, conflict, unauthenticated, expired; unavailable, with
// RetryAfter, when the database cannot be reached); anything else is
// treated as internal. Every method returns invalid for a text argument or
// field, to store or to look up, that holds a NUL byte or is not valid
// UTF-8: PostgreSQL cannot hold such text, and every store refuses it
// alike. Stores must be safe for concurrent use.
type Store interface {
	// RunInTx runs fn in one transaction: if fn returns an error, nothing
	// fn did is kept, and the error is returned as is. A read-only
	// transaction may refuse writes.
	RunInTx(ctx context.Context, opts TxOptions, fn func(ctx context.Context, tx Tx) error) error

	// TouchSession is the hot path of Authenticate. It returns the session
	// whose token hashes to hash if it exists, its user is active, and now
	// is before both its ExpiresAt and its IdleExpiresAt. When that
	// IdleExpiresAt is more than IdleStep(idle) before the earlier of
	// now+idle and ExpiresAt, it moves IdleExpiresAt there and sets
	// LastSeenAt to now, in the same write, and returns them; otherwise it
	// writes nothing (most requests are then a pure read: a session ends
	// at most one step before idle has passed since its last use, and
	// LastSeenAt is as coarse). It also returns the session's user, read
	// in the same statement, as GetUser reads it, with GroupRoles filled
	// in any order. It returns unauthenticated for an unknown, revoked or
	// deactivated user's session and expired for an expired one. The
	// returned session's Roles must not be modified by the caller.
	TouchSession(ctx context.Context, hash TokenHash, now time.Time, idle time.Duration) (SessionRecord, User, error)
}

// IdleStep is how far TouchSession lets a session's idle expiry lag
// behind its last use before it writes a new one: a tenth of idle, at most
// a minute.
func IdleStep(idle time.Duration) time.Duration { return min(idle/10, time.Minute) }

// IdleBump is the rule of TouchSession's write, for every store: a
// session used at now goes idle at the earlier of now+idle and its
// ExpiresAt (next), and the store writes that only when its
// IdleExpiresAt lags more than IdleStep(idle) behind it (bump).
func (s SessionRecord) IdleBump(now time.Time, idle time.Duration) (next time.Time, bump bool) {
	next = now.Add(idle)
	if next.After(s.ExpiresAt) {
		next = s.ExpiresAt
	}
	return next, next.Sub(s.IdleExpiresAt) > IdleStep(idle)
}

// TxOptions configures a transaction.
type TxOptions struct {
	ReadOnly bool
}

// Tx is the work a Manager does inside one transaction. Methods that take
// a tenant never return another tenant's rows: a row of another tenant is
// not_found. After a method returns an error other than not_found or
// conflict, the transaction may be unusable (PostgreSQL aborts it): fn
// should return that error.
type Tx interface {
	// CreateUser inserts u. It returns conflict if the tenant already has
	// a user with u.Email.
	CreateUser(ctx context.Context, u *UserRecord) error
	// CreateUsers inserts every user of us as CreateUser inserts one, in
	// one statement however many (an import writes thousands a
	// transaction), keeping the tenant's status counts right, and sets
	// each one's Version to 1. It is all or nothing: it returns conflict,
	// inserting none and leaving the transaction usable, if an id or a
	// tenant's email of us exists already or appears twice in us.
	CreateUsers(ctx context.Context, us []UserRecord) error
	// GetUsersByEmail returns, in one query and in no particular order,
	// the users of the tenant whose normalised email is one of emails, as
	// GetUser reads them; an email nobody has is left out. It returns no
	// coded error.
	GetUsersByEmail(ctx context.Context, tenantID string, emails []string) ([]UserRecord, error)
	// GetUser returns the user, or not_found. Its LockedUntil is the
	// LockedUntil of the login attempts of the key (tenant, email), read in
	// the same query, nil when the key has no record or no lock (the
	// Manager drops a lock that has ended); GetUserByEmail and LockUser
	// fill it alike. Stores keep InviteExpiresAt as a field like any other
	// and ignore Actions.
	GetUser(ctx context.Context, tenantID string, id uuid.UUID) (UserRecord, error)
	// LockUser is GetUser that also holds the user's row against other
	// transactions until this one ends.
	LockUser(ctx context.Context, tenantID string, id uuid.UUID) (UserRecord, error)
	// GetUserByEmail returns the user with the normalised email, or not_found.
	GetUserByEmail(ctx context.Context, tenantID, email string) (UserRecord, error)
	// UpdateUser stores every field of u but ID, TenantID, Email and
	// CreatedAt, keeping the tenant's status counts right. It returns
	// not_found if the user does not exist.
	UpdateUser(ctx context.Context, u *UserRecord) error
	// AdvanceMFAStep sets the user's MFALastStep to step if, and only if,
	// it is below step, in one atomic compare-and-set; it reports whether
	// it did. Two transactions passing the same step get one true.
	AdvanceMFAStep(ctx context.Context, tenantID string, id uuid.UUID, step int64) (bool, error)
	// ListUsers returns up to p.Limit users of p.TenantID ordered by email,
	// after p.After (exclusive) when set, filtered by p.Status, by p.Role
	// (users holding it) and by p.Search as a substring of the email. Each
	// user's LockedUntil is read with the page (no query a row), as
	// GetUser reads it, and so are their GroupRoles, in any order.
	ListUsers(ctx context.Context, p UserListParams) ([]User, error)
	// CountUsers returns the tenant's badge counts.
	CountUsers(ctx context.Context, tenantID string) (StatusCounts, error)
	// CountActiveWithRole counts the tenant's active users holding role.
	// It first locks the tenant against other CountActiveWithRole calls
	// until this transaction ends, so two admins cannot both remove the
	// last tenant_admin.
	CountActiveWithRole(ctx context.Context, tenantID string, role Role) (int, error)

	// CreateToken stores a single-use token. It returns conflict if the
	// hash exists.
	CreateToken(ctx context.Context, t *TokenRecord) error
	// ConsumeToken spends the token with hash and purpose and returns it,
	// atomically: of two transactions consuming one token, one gets it and
	// the other gets not_found. Expiry is the caller's to check. A token
	// of a link purpose (PurposeInvite, PurposePasswordReset) is kept,
	// spent, until it expires, so that PeekToken can tell a used link
	// from an unknown one; ConsumeToken and DeleteTokens no longer see it,
	// DeleteExpired removes it. A token of any other purpose is deleted.
	ConsumeToken(ctx context.Context, purpose TokenPurpose, hash TokenHash) (TokenRecord, error)
	// PeekToken returns the token with hash and purpose, live or spent
	// (Spent says which), without changing it. It returns not_found for
	// an unknown hash, another purpose, or a token already deleted.
	PeekToken(ctx context.Context, purpose TokenPurpose, hash TokenHash) (TokenRecord, error)
	// DeleteTokens deletes the user's live tokens of purpose.
	DeleteTokens(ctx context.Context, tenantID string, userID uuid.UUID, purpose TokenPurpose) error

	// CreateSession stores s, its token hash and its refresh hash.
	CreateSession(ctx context.Context, s *SessionRecord) error
	// SessionByRefresh returns the session a refresh hash belongs to, and
	// spent (nil for the current hash) when the hash is one the session
	// has already rotated away from: when and to what, as RotateSession
	// recorded it. It returns not_found for an unknown hash or a revoked
	// session.
	SessionByRefresh(ctx context.Context, hash TokenHash) (s SessionRecord, spent *SpentRefresh, err error)
	// RotateSession replaces the session's token and refresh hashes and
	// its roles snapshot, marking oldRefresh spent at r.SpentAt with
	// r.Successor, if and only if oldRefresh is still the session's
	// current refresh hash (an atomic compare-and-set); otherwise it
	// returns conflict. VerifiedAt is kept.
	RotateSession(ctx context.Context, r SessionRotation) error
	// GetSession returns the tenant's session with id, or not_found (for
	// an unknown or revoked session, or one of another tenant).
	GetSession(ctx context.Context, tenantID string, id uuid.UUID) (SessionRecord, error)
	// MarkSessionVerified sets the VerifiedAt of the tenant's session with
	// id to at. It returns not_found as GetSession does.
	MarkSessionVerified(ctx context.Context, tenantID string, id uuid.UUID, at time.Time) error
	// RevokeSession deletes the session whose token hashes to hash and
	// returns it, or not_found.
	RevokeSession(ctx context.Context, hash TokenHash) (SessionRecord, error)
	// RevokeSessionByID deletes one session by id; unknown ids are no error.
	RevokeSessionByID(ctx context.Context, id uuid.UUID) error
	// ListSessions returns the user's sessions in the tenant, newest first
	// (by CreatedAt, then ID), expired ones not yet deleted included. It
	// returns no coded error (an unknown user has none).
	ListSessions(ctx context.Context, tenantID string, userID uuid.UUID) ([]SessionRecord, error)
	// RevokeUserExcept deletes every session, refresh token and trusted
	// device of the user but the session keep, which stays as it is,
	// refresh tokens included (a password change ends every other session
	// of the person who made it; uuid.Nil, or any id that is not one of
	// the user's sessions, keeps nothing), and says how many sessions and
	// devices it deleted. It returns no coded error.
	RevokeUserExcept(ctx context.Context, tenantID string, userID, keep uuid.UUID) (Revoked, error)

	// CreateDevice stores a trusted device.
	CreateDevice(ctx context.Context, d *DeviceRecord) error
	// GetDevice returns the trusted device whose token hashes to hash, or
	// not_found.
	GetDevice(ctx context.Context, hash TokenHash) (DeviceRecord, error)
	// ListDevices returns the user's trusted devices in the tenant, newest
	// first (by CreatedAt, then ID), expired ones not yet deleted
	// included. It returns no coded error.
	ListDevices(ctx context.Context, tenantID string, userID uuid.UUID) ([]DeviceRecord, error)
	// DeleteDevice deletes the trusted device with id of the user in the
	// tenant and returns it; it returns not_found when the user has no
	// such device (another user's or another tenant's included).
	DeleteDevice(ctx context.Context, tenantID string, userID, id uuid.UUID) (DeviceRecord, error)

	// LockAttempts returns the sign-in attempts counted on the key
	// (tenantID, email), email normalised, whether or not the tenant has
	// a user with that email, and holds the key against every other
	// LockAttempts until this transaction ends, record or not: reading
	// the count, changing it and PutAttempts are then one atomic step,
	// across every app instance on the store. A key without a record
	// returns LoginAttempts with only TenantID and Email set. It returns
	// no coded error.
	LockAttempts(ctx context.Context, tenantID, email string) (LoginAttempts, error)
	// PutAttempts stores a under its key (a.TenantID, a.Email), replacing
	// the key's record if it has one. It returns no coded error.
	PutAttempts(ctx context.Context, a *LoginAttempts) error
	// ClearAttempts deletes the key's record; a key without one is no
	// error. It returns no coded error.
	ClearAttempts(ctx context.Context, tenantID, email string) error

	// DeleteExpired deletes, in every tenant, the single-use tokens whose
	// ExpiresAt is not after now, the sessions (with their refresh hashes)
	// whose ExpiresAt or IdleExpiresAt is not after now, and the trusted
	// devices whose ExpiresAt is not after now, the outbox mails whose
	// ExpiresAt is not after now, the login attempts whose ExpiresAt
	// is not after now, the webhook deliveries whose ExpiresAt is set and
	// not after now (delivered or failed ones) and the webhook messages
	// left with no delivery. It reports how many rows of each it deleted.
	// Users and events are never touched.
	DeleteExpired(ctx context.Context, now time.Time) (Pruned, error)

	// EnqueueMail adds r to the outbox. It returns conflict if r.ID exists.
	EnqueueMail(ctx context.Context, r *MailRecord) error
	// ClaimMail takes the pending mail (FailedAt zero) of any tenant with
	// the earliest NextAttemptAt not after now, ties broken by ID (until is
	// after now; DeliverBy is the caller's to check): it adds one to its
	// Attempts, sets its NextAttemptAt to until and returns it so
	// updated. It returns not_found when no mail is due. Two transactions
	// never claim the same mail: one skips what the other holds (PostgreSQL:
	// FOR UPDATE SKIP LOCKED), and a claimed mail is not due again until
	// until.
	ClaimMail(ctx context.Context, now, until time.Time) (MailRecord, error)
	// UpdateMail stores r's Attempts, NextAttemptAt, LastError and
	// FailedAt. It returns not_found if the mail is gone.
	UpdateMail(ctx context.Context, r *MailRecord) error
	// DeleteMail deletes one mail (it was delivered). It returns not_found
	// if the mail is gone.
	DeleteMail(ctx context.Context, id uuid.UUID) error
	// CancelMail deletes the user's mail of kind, or of every kind when
	// kind is "", pending or failed, and says how many it deleted.
	CancelMail(ctx context.Context, tenantID string, userID uuid.UUID, kind MessageKind) (int, error)
	// ListMail returns up to p.Limit (at least 1) mails of p.TenantID,
	// pending and failed, newest first (by ID), older than p.Before
	// (exclusive) unless it is uuid.Nil.
	ListMail(ctx context.Context, p MailListParams) ([]MailRecord, error)

	// FindUsers returns up to p.Limit users of p.TenantID matching
	// p.Filter (nil: all), ordered by email (descending when
	// p.Descending), after skipping p.Offset of them, and how many match
	// in all. Users with a DeprovisionedAt are left out. The filter is
	// evaluated by the store (PostgreSQL: in SQL, indexed for email and
	// externalId eq), never by loading the tenant. Comparisons follow
	// UserAttr: Email, DisplayName, GivenName and FamilyName ignore case
	// (the Manager passes Email values lower-cased), ID and ExternalID do
	// not; pr is "not empty"; a Value that is not a valid id matches no ID.
	// Limit 0 returns only the total. The filter is valid (the Manager
	// checks it).
	FindUsers(ctx context.Context, p UserFindParams) ([]User, int, error)

	// CreateProvisioningToken stores t. It returns conflict if its hash
	// exists.
	CreateProvisioningToken(ctx context.Context, t *ProvisioningTokenRecord) error
	// ListProvisioningTokens returns the tenant's tokens, oldest first (by
	// CreatedAt, then ID). It returns no coded error.
	ListProvisioningTokens(ctx context.Context, tenantID string) ([]ProvisioningToken, error)
	// DeleteProvisioningToken deletes the tenant's token with id and
	// returns it, or not_found (another tenant's included).
	DeleteProvisioningToken(ctx context.Context, tenantID string, id uuid.UUID) (ProvisioningToken, error)
	// UseProvisioningToken returns the token whose secret hashes to hash,
	// or not_found, and sets its LastUsedAt to now when it is nil or
	// before now-every (so a busy token is written once a minute, not on
	// every request).
	UseProvisioningToken(ctx context.Context, hash TokenHash, now time.Time, every time.Duration) (ProvisioningToken, error)

	// AppendEvent adds e to the activity log.
	AppendEvent(ctx context.Context, e *Event) error
	// AppendEvents adds every event of es to the activity log in one
	// statement (a group change can touch thousands of members). It
	// returns conflict if one of the ids exists.
	AppendEvents(ctx context.Context, es []Event) error

	// CreateGroup inserts g without members: the store sets g.Members to
	// 0 and g.Version to 1. It returns conflict with Field FieldName if
	// the tenant has a group of the same DisplayName ignoring case
	// (compared as strings.ToLower folds them), conflict if g.ID exists.
	CreateGroup(ctx context.Context, g *Group) error
	// GetGroup returns the tenant's group, or not_found.
	GetGroup(ctx context.Context, tenantID string, id uuid.UUID) (Group, error)
	// LockGroup is GetGroup that also holds the group's row against other
	// transactions until this one ends: a change read, checked against
	// IfVersion and written, is one step.
	LockGroup(ctx context.Context, tenantID string, id uuid.UUID) (Group, error)
	// UpdateGroup stores g's DisplayName, ExternalID, Roles and UpdatedAt
	// and adds one to the group's Version; it then sets g.Version and
	// g.Members to what the group holds. It returns not_found and the
	// conflicts of CreateGroup.
	UpdateGroup(ctx context.Context, g *Group) error
	// DeleteGroup deletes the tenant's group with its memberships and
	// returns who its members were, or not_found.
	DeleteGroup(ctx context.Context, tenantID string, id uuid.UUID) ([]uuid.UUID, error)
	// FindGroups returns up to p.Limit groups of p.TenantID matching every
	// set field of p, ordered by DisplayName ignoring case (then ID),
	// after skipping p.Offset, and how many match in all. Limit 0
	// returns only the total. It returns no coded error.
	FindGroups(ctx context.Context, p GroupFindParams) ([]Group, int, error)
	// AddMembers makes the users members of the tenant's group, and
	// returns those who were not members before, once each. When anyone
	// joined, the group's Members count, Version (one more) and UpdatedAt
	// (now) follow in the same step, without reading the member list. It
	// returns invalid, naming it, for an id that is not a user of the
	// tenant (adding nobody), and not_found for the group.
	AddMembers(ctx context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, now time.Time) ([]uuid.UUID, error)
	// RemoveMembers removes the users from the tenant's group and returns
	// those who were members, once each; ids of non-members are no
	// error. The group follows as for AddMembers. It returns not_found for
	// the group.
	RemoveMembers(ctx context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, now time.Time) ([]uuid.UUID, error)
	// ReplaceMembers makes userIDs the group's whole member list and
	// returns who joined and who left; the group follows as for
	// AddMembers. Errors as AddMembers.
	ReplaceMembers(ctx context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, now time.Time) (added, removed []uuid.UUID, err error)
	// ListMembers returns up to limit members of the tenant's group,
	// ordered by user id, after after (exclusive) unless it is uuid.Nil,
	// each with the user's email and display name. An unknown group has
	// none: it returns no coded error.
	ListMembers(ctx context.Context, tenantID string, groupID, after uuid.UUID, limit int) ([]GroupMember, error)
	// GroupRolesOf returns, in one query, every role the tenant's groups
	// give each of the users: one row per user, role and group, in no
	// particular order. It returns no coded error.
	GroupRolesOf(ctx context.Context, tenantID string, userIDs []uuid.UUID) ([]UserGroupRole, error)
	// SyncRoles sets the Roles of users of the tenant to their DirectRoles
	// and the roles of all their groups, without repeats, ordered as order
	// lists them (roles order lacks last): the members of groupID when it
	// is not uuid.Nil, else the users of userIDs. It is one statement,
	// never a round trip a user; a user whose Roles change gets UpdatedAt
	// now and one more Version, the others are not written. It returns
	// how many users changed and no coded error.
	SyncRoles(ctx context.Context, tenantID string, groupID uuid.UUID, userIDs []uuid.UUID, order []Role, now time.Time) (int, error)
	// DropEvents removes the activity events of every tenant created
	// before before (Options.ActivityRetention). PostgreSQL drops whole
	// monthly partitions, never a row at a time, so an event may outlive
	// before until its month is wholly past it; the memory store removes
	// the events themselves. PostgreSQL goes by the time in the UUIDv7 id,
	// the memory store by CreatedAt: the Manager stamps both with now (the
	// id from the wall clock, CreatedAt from Options.Clock). It reports
	// how many events it removed. It is one of the two ways an event ever
	// changes (EraseUser is the other). It returns no coded error.
	DropEvents(ctx context.Context, before time.Time) (int, error)
	// EraseUser is the right to erasure of one user of the tenant: it
	// replaces the user's email by usermgmt.ErasedEmail(userID), clears
	// the profile (names, external id, employee number, department,
	// manager), password hash, TOTP secret and recovery codes (MFAEnabled
	// false), roles and direct roles and the last mail time, stores the
	// user deactivated, deprovisioned (DeprovisionedAt, unless set already)
	// and updated at now with one more Version; it deletes the user's
	// sessions, refresh tokens, trusted devices, single-use tokens (spent
	// ones too), outbox mail, webhook messages with their deliveries, group memberships (each group's Members and
	// Version follow) and the login attempts of the old email; and it
	// pseudonymises the events about the user (IP and User-Agent cleared,
	// Detail cleared unless usermgmt.ErasureKeepsDetail of its type) and
	// those the user acted in (IP and User-Agent cleared). Ids stay. It
	// returns not_found for an unknown user.
	EraseUser(ctx context.Context, tenantID string, userID uuid.UUID, now time.Time) error

	// GetUsers returns the tenant's users whose ids are in ids, in one
	// query, in any order, as GetUser reads them but without LockedUntil;
	// ids of no user of the tenant are left out. It returns no coded
	// error.
	GetUsers(ctx context.Context, tenantID string, ids []uuid.UUID) ([]User, error)

	// CreateWebhookEndpoint stores e. It returns conflict if the tenant
	// has an endpoint with e.ID.
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpointRecord) error
	// GetWebhookEndpoint returns the tenant's endpoint with id, or
	// not_found (another tenant's included).
	GetWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) (WebhookEndpointRecord, error)
	// LockWebhookEndpoint is GetWebhookEndpoint that also holds the
	// endpoint's row against other transactions until this one ends.
	LockWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) (WebhookEndpointRecord, error)
	// ListWebhookEndpoints returns the tenant's endpoints, oldest first
	// (by CreatedAt, then ID). It returns no coded error.
	ListWebhookEndpoints(ctx context.Context, tenantID string) ([]WebhookEndpointRecord, error)
	// UpdateWebhookEndpoint stores every field of e but ID, TenantID and
	// CreatedAt. It returns not_found if the endpoint does not exist.
	UpdateWebhookEndpoint(ctx context.Context, e *WebhookEndpointRecord) error
	// DeleteWebhookEndpoint deletes the tenant's endpoint with its
	// deliveries, or returns not_found.
	DeleteWebhookEndpoint(ctx context.Context, tenantID string, id uuid.UUID) error
	// QueueWebhooks stores each message of ms that an enabled endpoint of
	// its tenant subscribes to (the endpoint's EventTypes hold its Type)
	// with a pending delivery to each such endpoint, due at the message's
	// CreatedAt; a message no endpoint wants is not stored. It is one
	// statement however many messages (a group change logs thousands of
	// events), and returns how many deliveries it created. It returns
	// conflict if the tenant has a message with one of the ids.
	QueueWebhooks(ctx context.Context, ms []WebhookMessage) (int, error)
	// ClaimWebhook takes, in any tenant, the pending delivery with the
	// earliest NextAttemptAt not after now (ties broken by MessageID)
	// whose endpoint is enabled and not resting (RestUntil zero or not
	// after now), and for whose endpoint and user no pending delivery of
	// an earlier message exists (so a user's messages go out in order,
	// one at a time): it adds one to its Attempts, sets its NextAttemptAt
	// to until (after now) and returns it with its endpoint and payload.
	// It returns not_found when none is due. Two transactions never claim
	// the same delivery (PostgreSQL: FOR UPDATE SKIP LOCKED), and a
	// claimed delivery is not due again until until.
	ClaimWebhook(ctx context.Context, now, until time.Time) (WebhookAttempt, error)
	// DeferWebhookDeliveries moves the NextAttemptAt of the pending
	// deliveries to the tenant's endpoint that are due before until to
	// until (a resting or disabled endpoint's, so that ClaimWebhook need
	// not pass over them), and says how many it moved. It returns no coded
	// error.
	DeferWebhookDeliveries(ctx context.Context, tenantID string, endpointID uuid.UUID, until time.Time) (int, error)
	// ResumeWebhookDeliveries makes the pending deliveries to the tenant's
	// endpoint that are due after now due at now (the endpoint was enabled
	// again), and says how many it moved. It returns no coded error.
	ResumeWebhookDeliveries(ctx context.Context, tenantID string, endpointID uuid.UUID, now time.Time) (int, error)
	// GetWebhookDelivery returns the delivery of the message to the
	// tenant's endpoint, or not_found.
	GetWebhookDelivery(ctx context.Context, tenantID string, endpointID, messageID uuid.UUID) (WebhookDeliveryRecord, error)
	// UpdateWebhookDelivery stores d's Status, Attempts, NextAttemptAt,
	// LastAttemptAt, LastStatusCode, LastError, ResponseExcerpt,
	// DeliveredAt and ExpiresAt. It returns not_found if the delivery is
	// gone (its endpoint was deleted).
	UpdateWebhookDelivery(ctx context.Context, d *WebhookDeliveryRecord) error
	// ListWebhookDeliveries returns up to p.Limit deliveries to the
	// tenant's endpoint, newest first (by MessageID), older than p.Before
	// (exclusive) unless it is uuid.Nil. It returns no coded error.
	ListWebhookDeliveries(ctx context.Context, p WebhookDeliveryListParams) ([]WebhookDeliveryRecord, error)

	// ListEvents returns up to limit events of the user, newest first,
	// older than before (exclusive) unless before is uuid.Nil. Each
	// event's ActorEmail is the email of the user of the same tenant whose
	// id is ActorID, read in the same query (one round trip for the page),
	// or "" for the system or an actor no longer found.
	ListEvents(ctx context.Context, tenantID string, userID uuid.UUID, before uuid.UUID, limit int) ([]Event, error)
	// ListTenantEvents returns up to limit events of the tenant, of every
	// user, oldest first (by id: UUIDv7, so by the time they were
	// written), after after and before before (both exclusive; uuid.Nil
	// is no bound). Each event's ActorEmail is read as ListEvents reads
	// it, in the same query. A page costs the same at any depth of the
	// log and never reads the tenant's other events (PostgreSQL: a range
	// of the index on (tenant_id, id)). It returns no coded error.
	ListTenantEvents(ctx context.Context, tenantID string, after, before uuid.UUID, limit int) ([]Event, error)
}

// TokenHash is the SHA-256 of a token; stores keep only this.
type TokenHash [32]byte

// UserRecord is a user as the store keeps it: the User and its secrets,
// which never leave the root package.
type UserRecord struct {
	User
	PasswordHash  string // PHC string; "" while invited
	MFASecret     []byte // AES-GCM sealed TOTP secret; nil when not enrolled
	MFALastStep   int64  // last accepted TOTP time step
	RecoveryCodes []TokenHash
	LastMailAt    time.Time // last invite or reset mail, for rate limits
}

// LoginAttempts is what the store counts for one sign-in key: a tenant
// and a normalised email, of a user or of nobody. Every password or code
// tried on the key counts as a failure from before it is checked until a
// success releases or clears it, so that parallel guesses cannot outrun
// the lock; the Manager owns the policy (Options.MaxFailedAttempts,
// Lockout, LockoutMax), the store only keeps the record atomically.
type LoginAttempts struct {
	TenantID    string
	Email       string
	Failures    int       // attempts in a row not (yet) successful
	LockedUntil time.Time // zero when not locked
	Notified    bool      // the person was mailed about this pause
	ExpiresAt   time.Time // the record is forgotten then (DeleteExpired)
}

// UserListParams is ListUsersQuery as a store sees it: validated and with
// the cursor decoded.
type UserListParams struct {
	TenantID string
	Status   Status // "" for all
	Role     Role   // "" for all; else only users holding it
	Search   string // lower-case; "" for none
	After    string // email of the last row of the previous page
	Limit    int
}

// UserFindParams is UserQuery as a store sees it: validated, with the
// tenant.
type UserFindParams struct {
	TenantID   string
	Filter     *UserFilter
	Offset     int
	Limit      int
	Descending bool
}

// GroupFindParams is GroupQuery as a store sees it: validated, with the
// tenant. Zero fields select everything.
type GroupFindParams struct {
	TenantID    string
	ID          uuid.UUID
	DisplayName string // compared ignoring case
	ExternalID  string // compared exactly
	Member      uuid.UUID
	Offset      int
	Limit       int
}

// UserGroupRole says that the user UserID holds a role through a group
// (GroupRolesOf).
type UserGroupRole struct {
	UserID uuid.UUID
	GroupRole
}

// TokenPurpose binds a token to what it may be used for.
type TokenPurpose string

// The purposes of single-use tokens.
const (
	PurposeInvite        TokenPurpose = "invite"
	PurposePasswordReset TokenPurpose = "password_reset"
	PurposeMFAEnrollment TokenPurpose = "mfa_enrollment"
	PurposeMFAChallenge  TokenPurpose = "mfa_challenge"
)

// KeepsSpent reports whether a spent token of the purpose stays in the
// store until it expires (see Tx.ConsumeToken): the purposes of links in
// mail, whose pages tell "already used" from "not a link of ours".
func (p TokenPurpose) KeepsSpent() bool {
	return p == PurposeInvite || p == PurposePasswordReset
}

// TokenRecord is a single-use token of one purpose for one user.
type TokenRecord struct {
	Hash      TokenHash
	Purpose   TokenPurpose
	TenantID  string
	UserID    uuid.UUID
	Data      []byte // purpose-specific, e.g. the sealed TOTP secret being enrolled
	CreatedAt time.Time
	ExpiresAt time.Time
	// Spent is set on a spent link token, which ConsumeToken keeps until
	// it expires; only PeekToken returns one.
	Spent bool
}

// SessionRecord is a session as the store keeps it.
type SessionRecord struct {
	ID            uuid.UUID
	TenantID      string
	UserID        uuid.UUID
	TokenHash     TokenHash
	RefreshHash   TokenHash
	Roles         []Role // snapshot taken at login or refresh
	IP            string
	UserAgent     string
	CreatedAt     time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
	// VerifiedAt is when the person holding the session last proved who
	// they are (a password or a TOTP or recovery code): at login, or by
	// Manager.Sudo. Zero for never. Sensitive operations need it recent.
	VerifiedAt time.Time
	// LastSeenAt is when the session last authenticated a request
	// (TouchSession), or was created. Zero for sessions a store kept from
	// before it recorded it.
	LastSeenAt time.Time
}

// SessionRotation is what Refresh changes in a session.
type SessionRotation struct {
	ID            uuid.UUID
	OldRefresh    TokenHash
	TokenHash     TokenHash
	RefreshHash   TokenHash
	Roles         []Role
	IdleExpiresAt time.Time
	// SpentAt and Successor are kept beside OldRefresh once it is spent;
	// see SpentRefresh.
	SpentAt   time.Time
	Successor []byte
}

// SpentRefresh is what a store keeps of a refresh hash a session rotated
// away from: when, and the tokens it was rotated to, sealed by the
// Manager (opaque to the store). Within Options.RefreshReuseWindow the
// Manager answers a repeated refresh with the same successor instead of
// treating it as theft. Both are zero for hashes spent before a store
// kept them.
type SpentRefresh struct {
	At        time.Time
	Successor []byte
}

// DeviceRecord is a trusted device: a browser that may skip TOTP at login.
// ID names it in lists and revocations (the hash never leaves the
// Manager); IP and UserAgent are where it was trusted from.
type DeviceRecord struct {
	ID        uuid.UUID
	Hash      TokenHash
	TenantID  string
	UserID    uuid.UUID
	IP        string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Pruned counts what DeleteExpired removed.
type Pruned struct {
	Tokens   int
	Sessions int
	Devices  int
	Mail     int
	Attempts int
	// WebhookDeliveries and WebhookMessages count the webhook deliveries
	// (delivered or failed) and messages (left with no delivery) removed.
	WebhookDeliveries int
	WebhookMessages   int
	// Events counts activity events removed by Options.ActivityRetention
	// (Tx.DropEvents); 0 when the retention is off.
	Events int
	// RateBuckets counts the shared rate limiter's buckets pruned, on a
	// store that is a RateLimiter (0 otherwise).
	RateBuckets int
}

// RateLimiter is a set of token buckets, one per key, shared by every app
// instance that uses the same one: store/postgres.Store is one, so that N
// instances behind a load balancer allow the limit once, not N times.
// Allow takes one token from key's bucket at now, which holds burst
// tokens and refills continuously at burst per per; when it is empty it
// returns false and how long until a token is back. A negative burst
// allows everything; a zero burst or a per that is not positive is
// invalid. The time comes from the caller, as everywhere in a Store, so
// that the instances' clock (or a test's) rules the buckets. A store that
// is a RateLimiter prunes its full buckets in DeleteExpired
// (Pruned.RateBuckets).
type RateLimiter interface {
	Allow(ctx context.Context, key string, burst int, per time.Duration, now time.Time) (bool, time.Duration, error)
}

// SharedLimiter returns the Manager's store when it is a RateLimiter, for
// httpapi and scim to keep their limits in; nil otherwise (the memory
// store: each process keeps its own).
func (m *Manager) SharedLimiter() RateLimiter {
	rl, _ := m.store.(RateLimiter)
	return rl
}

// MailRecord is one message in the outbox. The Manager writes it in the
// transaction of the change it tells about, delivers it after the commit
// and deletes it once the Mailer has taken it; a failed attempt is retried
// later, and after the last one the mail is marked failed and kept, so it
// can be listed, until ExpiresAt.
type MailRecord struct {
	ID            uuid.UUID // UUIDv7: orders mails by time
	TenantID      string
	UserID        uuid.UUID // whom the mail is about
	Kind          MessageKind
	To            string
	Sealed        []byte    // the AES-GCM sealed Message: it holds a live link
	Attempts      int       // delivery attempts begun, the one in flight included
	NextAttemptAt time.Time // when the mail is due; while claimed, when the claim lapses
	LastError     string    // why the last attempt failed; "" before any failure
	FailedAt      time.Time // when it was given up; zero while pending
	CreatedAt     time.Time
	DeliverBy     time.Time // after this the mail is useless (its link has expired)
	ExpiresAt     time.Time // when the store may delete it, delivered or not
}

// MailListParams selects a page of a tenant's outbox, newest first.
type MailListParams struct {
	TenantID string
	Before   uuid.UUID // uuid.Nil for the first page
	Limit    int
}

// Revoked counts what RevokeUserExcept removed.
type Revoked struct {
	Sessions int
	Devices  int
}
