package usermgmt

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// ProvisioningToken lets a tenant's identity provider (Okta, Entra ID)
// manage the tenant's users and groups over SCIM (package scim). The secret
// is shown once, at creation; the store keeps only its SHA-256. The token
// decides the tenant: nothing done with it reaches another tenant.
type ProvisioningToken struct {
	ID       uuid.UUID
	TenantID string
	// Name is what the tenant admin called the token ("Okta"); the
	// activity log names changes made with it "provisioning: Okta".
	Name       string
	CreatedAt  time.Time
	CreatedBy  uuid.UUID  // the admin who created it; uuid.Nil for trusted code
	LastUsedAt *time.Time // nil: never used; kept to the minute
}

// ProvisioningTokenRecord is a ProvisioningToken as the store keeps it.
type ProvisioningTokenRecord struct {
	ProvisioningToken
	Hash TokenHash
}

// ActorLabel is how the activity log names changes made with the token.
func (t ProvisioningToken) ActorLabel() string { return "provisioning: " + t.Name }

// CreateProvisioningToken creates a provisioning token for the tenant and
// returns it with its secret, which is shown this once. Only a tenant_admin
// (or trusted code) may, in sudo mode. It returns invalid for a name that
// is empty or too long, permission_denied and mfa_required.
func (m *Manager) CreateProvisioningToken(ctx context.Context, tenantID, name string) (ProvisioningToken, string, error) {
	return ProvisioningToken{}, "", errNotBuilt
}

// ListProvisioningTokens returns the tenant's provisioning tokens, oldest
// first. Only a tenant_admin (or trusted code) may.
func (m *Manager) ListProvisioningTokens(ctx context.Context, tenantID string) ([]ProvisioningToken, error) {
	return nil, errNotBuilt
}

// RevokeProvisioningToken deletes a provisioning token: requests with it
// fail at once. Only a tenant_admin (or trusted code) may, in sudo mode. It
// returns not_found for a token of no one or of another tenant.
func (m *Manager) RevokeProvisioningToken(ctx context.Context, tenantID string, id uuid.UUID) error {
	return errNotBuilt
}

// AuthenticateProvisioning returns the provisioning token whose secret is
// secret and records its use; unauthenticated for any other string.
// Pass the token to AsProvisioner for the operations of the request.
func (m *Manager) AuthenticateProvisioning(ctx context.Context, secret string) (ProvisioningToken, error) {
	return ProvisioningToken{}, errNotBuilt
}

type provisionerKey struct{}

// AsProvisioner returns ctx acting as the identity provider holding t: the
// operations it runs may do what provisioning needs in t.TenantID and
// nowhere else (permission_denied for any other tenant), and their
// activity events name t (ActorLabel). An Actor in ctx wins over it.
func AsProvisioner(ctx context.Context, t ProvisioningToken) context.Context {
	return context.WithValue(ctx, provisionerKey{}, t)
}

// ProvisionerFromContext returns the token AsProvisioner put in ctx.
func ProvisionerFromContext(ctx context.Context) (ProvisioningToken, bool) {
	t, ok := ctx.Value(provisionerKey{}).(ProvisioningToken)
	return t, ok
}

// Profile is what an identity provider says about a person beyond the
// email: shown by the list and the panel where there is a name.
type Profile struct {
	DisplayName string
	GivenName   string
	FamilyName  string
	ExternalID  string // the identity provider's id for the person (case-exact)
}

// Provision is a user as an identity provider creates them (SCIM POST).
type Provision struct {
	Email string
	Profile
	// Roles are granted directly; none is fine (the user's groups then
	// give them roles).
	Roles []Role
	// Active false creates the user deactivated.
	Active bool
	// SendInvite mails the invitation link, as InviteUser does; tenants
	// that sign in through SSO later turn it off.
	SendInvite bool
}

// ProvisionUser creates an invited user for the identity provider, or
// brings back the same user (same data, DeprovisionedAt cleared, profile
// replaced, activated if p.Active) when DeprovisionUser removed them
// before. It returns invalid for a bad email, profile or roles, conflict
// (Field email) for an email the tenant has and not deprovisioned, and
// delivery_failed with the user when the invitation could not be sent.
func (m *Manager) ProvisionUser(ctx context.Context, tenantID string, p Provision) (User, error) {
	return User{}, errNotBuilt
}

// ProvisionUpdate is the whole new state of a provisioned user (SCIM PUT,
// or a PATCH applied to the current state).
type ProvisionUpdate struct {
	Profile
	// Active false deactivates the user as Deactivate does (sessions,
	// refresh tokens, devices and challenges end at once); true activates
	// as Activate does.
	Active bool
	// IfVersion, when not zero, applies the update only to the user at
	// that Version; conflict with Field FieldVersion otherwise.
	IfVersion int64
}

// UpdateProvisionedUser applies u to the user in one transaction, with its
// activity events: all of it or nothing. It returns invalid, not_found
// (a deprovisioned user included), permission_denied, conflict for the
// last active tenant_admin's deactivation, and conflict with Field
// FieldVersion for a stale IfVersion.
func (m *Manager) UpdateProvisionedUser(ctx context.Context, tenantID string, id uuid.UUID, u ProvisionUpdate) (User, error) {
	return User{}, errNotBuilt
}

// DeprovisionUser deactivates the user (as Deactivate) and hides them from
// FindUsers and from provisioning (SCIM answers 404), keeping all their
// data and activity. ProvisionUser with their email brings them back. It
// returns not_found for a user deprovisioned already.
func (m *Manager) DeprovisionUser(ctx context.Context, tenantID string, id uuid.UUID) error {
	return errNotBuilt
}

// FilterOp is an operator of a UserFilter, as SCIM names them.
type FilterOp string

// The operators of a UserFilter. And and Or take two or more Sub filters,
// Not one; the others compare Attr with Value (or Time).
const (
	FilterAnd FilterOp = "and"
	FilterOr  FilterOp = "or"
	FilterNot FilterOp = "not"
	FilterEq  FilterOp = "eq"
	FilterNe  FilterOp = "ne"
	FilterCo  FilterOp = "co" // contains
	FilterSw  FilterOp = "sw" // starts with
	FilterEw  FilterOp = "ew" // ends with
	FilterPr  FilterOp = "pr" // present: not empty
	FilterGt  FilterOp = "gt"
	FilterGe  FilterOp = "ge"
	FilterLt  FilterOp = "lt"
	FilterLe  FilterOp = "le"
)

// UserAttr is an attribute a UserFilter compares.
type UserAttr string

// The attributes of a UserFilter. Email, DisplayName, GivenName and
// FamilyName compare case-insensitively; ID and ExternalID exactly. Active
// (Value "true" or "false": status is not deactivated) takes eq, ne, pr;
// Created and Updated compare Time with eq, ne, gt, ge, lt, le, pr; text
// attributes take eq, ne, co, sw, ew, pr.
const (
	UserAttrID          UserAttr = "id"
	UserAttrEmail       UserAttr = "email"
	UserAttrExternalID  UserAttr = "externalId"
	UserAttrDisplayName UserAttr = "displayName"
	UserAttrGivenName   UserAttr = "givenName"
	UserAttrFamilyName  UserAttr = "familyName"
	UserAttrActive      UserAttr = "active"
	UserAttrCreated     UserAttr = "created"
	UserAttrUpdated     UserAttr = "updated"
)

// UserFilter is a condition on a tenant's users that the store evaluates
// (a SCIM filter becomes one).
type UserFilter struct {
	Op    FilterOp
	Attr  UserAttr
	Value string
	Time  time.Time
	Sub   []UserFilter
}

// UserQuery selects users by a filter, for provisioning.
type UserQuery struct {
	Filter *UserFilter // nil: every user
	// Offset skips that many users of the order (email, ascending unless
	// Descending); Limit returns at most that many (0: only the total).
	Offset     int
	Limit      int
	Descending bool
}

// UserResults is a page of FindUsers and how many users match in all.
type UserResults struct {
	Users []User
	Total int
}

// MaxFindLimit is the most users FindUsers returns at once.
const MaxFindLimit = 200

// FindUsers returns the tenant's users matching q.Filter, deprovisioned
// users left out, ordered by email. The store evaluates the filter. It
// returns invalid for a filter that compares an attribute with an operator
// it does not take, a limit over MaxFindLimit or a negative offset, and
// permission_denied.
func (m *Manager) FindUsers(ctx context.Context, tenantID string, q UserQuery) (UserResults, error) {
	return UserResults{}, errNotBuilt
}

// errNotBuilt marks the parts of issue 12 being built; none is left when
// the issue is done.
var errNotBuilt = Errorf(CodeInternal, "not built yet")
