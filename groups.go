package usermgmt

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Group is one of a tenant's own groups ("HR Team", "Agents Lisbon"), as
// its identity provider pushes them over SCIM. A tenant_admin maps a group
// to roles of the catalogue (SetGroupRoles): its members hold them, beside
// the roles granted to them directly.
type Group struct {
	ID          uuid.UUID
	TenantID    string
	DisplayName string
	ExternalID  string
	Roles       []Role // what membership grants, in catalogue order
	Members     int    // how many users are members
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64 // grows with every change of the group; SCIM's ETag
}

// GroupRole says that a user holds Role through the group GroupID.
type GroupRole struct {
	Role    Role
	GroupID uuid.UUID
	Group   string // the group's DisplayName
}

// GroupMember is one member of a group.
type GroupMember struct {
	UserID      uuid.UUID
	Email       string
	DisplayName string
}

// NewGroup is a group as an identity provider creates it (SCIM POST).
type NewGroup struct {
	DisplayName string
	ExternalID  string
	Members     []uuid.UUID
}

// GroupChange is what one request changes in a group, applied in one
// transaction: all or nothing. Nil pointers keep what is there. Members,
// when not nil, becomes the whole member list (SCIM PUT); else Add and
// Remove change it member by member, without reading the rest.
type GroupChange struct {
	DisplayName *string
	ExternalID  *string
	Members     *[]uuid.UUID
	Add         []uuid.UUID
	Remove      []uuid.UUID
	IfVersion   int64 // not zero: conflict with Field FieldVersion unless the group is at it
}

// GroupQuery selects groups; each set field must match exactly (all of
// them). Member selects the groups the user is a member of.
type GroupQuery struct {
	ID          uuid.UUID
	DisplayName string
	ExternalID  string
	Member      uuid.UUID
	Offset      int
	Limit       int // 0: only the total; at most MaxFindLimit
}

// GroupResults is a page of FindGroups and how many groups match in all.
type GroupResults struct {
	Groups []Group
	Total  int
}

// MemberQuery pages through a group's members, ordered by user id.
type MemberQuery struct {
	After uuid.UUID // uuid.Nil for the first page
	Limit int       // at most MaxMemberPage
}

// MaxMemberPage is the most members ListGroupMembers returns at once.
const MaxMemberPage = 1000

// CreateGroup creates a group of the tenant with its members. It returns
// invalid (an empty name, an id that is not a user of the tenant), conflict
// for a DisplayName the tenant has, and permission_denied.
func (m *Manager) CreateGroup(ctx context.Context, tenantID string, g NewGroup) (Group, error) {
	return Group{}, errNotBuilt
}

// GetGroup returns one group of the tenant, or not_found.
func (m *Manager) GetGroup(ctx context.Context, tenantID string, id uuid.UUID) (Group, error) {
	return Group{}, errNotBuilt
}

// FindGroups returns the tenant's groups matching q, ordered by name.
func (m *Manager) FindGroups(ctx context.Context, tenantID string, q GroupQuery) (GroupResults, error) {
	return GroupResults{}, errNotBuilt
}

// ListGroupMembers returns a page of the group's members.
func (m *Manager) ListGroupMembers(ctx context.Context, tenantID string, id uuid.UUID, q MemberQuery) ([]GroupMember, error) {
	return nil, errNotBuilt
}

// UpdateGroup applies c to the group in one transaction. Members who gain
// or lose roles by it do at once (their next refresh), and every role rule
// holds on the result: conflict if the tenant would be left without an
// active tenant_admin. It returns invalid, not_found, permission_denied,
// conflict for a DisplayName taken, and conflict with Field FieldVersion
// for a stale IfVersion.
func (m *Manager) UpdateGroup(ctx context.Context, tenantID string, id uuid.UUID, c GroupChange) (Group, error) {
	return Group{}, errNotBuilt
}

// DeleteGroup deletes the group; its members lose the roles it gave them
// (conflict if that would leave no active tenant_admin).
func (m *Manager) DeleteGroup(ctx context.Context, tenantID string, id uuid.UUID) error {
	return errNotBuilt
}

// SetGroupRoles maps the group to roles of the catalogue (none unmaps it).
// Only a tenant_admin (or trusted code) may; mapping to tenant_admin needs
// sudo mode. It returns invalid for an unknown role, not_found,
// permission_denied, mfa_required, and conflict when members losing
// tenant_admin would leave no active tenant_admin.
func (m *Manager) SetGroupRoles(ctx context.Context, tenantID string, id uuid.UUID, roles []Role) (Group, error) {
	return Group{}, errNotBuilt
}

// GroupsOf returns the groups the user is a member of, ordered by name.
func (m *Manager) GroupsOf(ctx context.Context, tenantID string, userID uuid.UUID) ([]Group, error) {
	return nil, errNotBuilt
}
