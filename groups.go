package usermgmt

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// maxGroupText is the longest DisplayName or ExternalID a group takes.
const maxGroupText = 256

// CreateGroup creates a group of the tenant with its members. It returns
// invalid (an empty name, an id that is not a user of the tenant), conflict
// for a DisplayName the tenant has, and permission_denied.
func (m *Manager) CreateGroup(ctx context.Context, tenantID string, g NewGroup) (Group, error) {
	if err := checkTenant(tenantID); err != nil {
		return Group{}, err
	}
	name, err := groupName(g.DisplayName)
	if err != nil {
		return Group{}, err
	}
	if err := groupText("externalId", "", g.ExternalID); err != nil {
		return Group{}, err
	}
	if err := memberIDs(g.Members); err != nil {
		return Group{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Group{}, internalf(err, "new id")
	}
	now := m.now().UTC()
	out := Group{ID: id, TenantID: tenantID, DisplayName: name, ExternalID: g.ExternalID, CreatedAt: now, UpdatedAt: now}
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		if _, err := m.authorize(ctx, tx, tenantID, PermChangeRoles); err != nil {
			return err
		}
		if err := tx.CreateGroup(ctx, &out); err != nil {
			return nameTaken(err, name)
		}
		if len(g.Members) == 0 {
			return nil
		}
		joined, err := tx.AddMembers(ctx, tenantID, id, g.Members, now)
		if err != nil {
			return err
		}
		out.moved(len(joined), 0, now)
		// A new group maps no role: its members' roles stay as they are.
		return m.logMembership(ctx, tx, &out, joined, nil)
	})
	if err != nil {
		return Group{}, wrapInternal(err)
	}
	return out, nil
}

// GetGroup returns one group of the tenant, or not_found.
func (m *Manager) GetGroup(ctx context.Context, tenantID string, id uuid.UUID) (Group, error) {
	var g Group
	err := m.readGroups(ctx, tenantID, func(ctx context.Context, tx Tx) (err error) {
		g, err = tx.GetGroup(ctx, tenantID, id)
		return err
	})
	return g, err
}

// FindGroups returns the tenant's groups matching q, ordered by name.
// It returns invalid for a negative offset or a limit outside 0 to
// MaxFindLimit, and permission_denied.
func (m *Manager) FindGroups(ctx context.Context, tenantID string, q GroupQuery) (GroupResults, error) {
	if q.Offset < 0 || q.Limit < 0 || q.Limit > MaxFindLimit {
		return GroupResults{}, Errorf(CodeInvalid, "offset must not be negative and limit must be between 0 and %d", MaxFindLimit)
	}
	p := GroupFindParams{TenantID: tenantID, ID: q.ID, DisplayName: q.DisplayName, ExternalID: q.ExternalID,
		Member: q.Member, Offset: q.Offset, Limit: q.Limit}
	var res GroupResults
	err := m.readGroups(ctx, tenantID, func(ctx context.Context, tx Tx) (err error) {
		res.Groups, res.Total, err = tx.FindGroups(ctx, p)
		return err
	})
	return res, err
}

// ListGroupMembers returns a page of the group's members (a Limit of 0
// is MaxMemberPage). It returns invalid for a limit outside 0 to
// MaxMemberPage, not_found and permission_denied.
func (m *Manager) ListGroupMembers(ctx context.Context, tenantID string, id uuid.UUID, q MemberQuery) ([]GroupMember, error) {
	if q.Limit < 0 || q.Limit > MaxMemberPage {
		return nil, Errorf(CodeInvalid, "limit must be between 0 and %d", MaxMemberPage)
	}
	if q.Limit == 0 {
		q.Limit = MaxMemberPage
	}
	var page []GroupMember
	err := m.readGroups(ctx, tenantID, func(ctx context.Context, tx Tx) error {
		if _, err := tx.GetGroup(ctx, tenantID, id); err != nil {
			return err
		}
		var err error
		page, err = tx.ListMembers(ctx, tenantID, id, q.After, q.Limit)
		return err
	})
	return page, err
}

// UpdateGroup applies c to the group in one transaction. Members who gain
// or lose roles by it do at once (their next refresh), and every role rule
// holds on the result: conflict if the tenant would be left without an
// active tenant_admin. It returns invalid, not_found, permission_denied,
// conflict for a DisplayName taken, and conflict with Field FieldVersion
// for a stale IfVersion.
func (m *Manager) UpdateGroup(ctx context.Context, tenantID string, id uuid.UUID, c GroupChange) (Group, error) {
	if err := checkTenant(tenantID); err != nil {
		return Group{}, err
	}
	if err := checkChange(&c); err != nil {
		return Group{}, err
	}
	var out Group
	err := m.changeGroup(ctx, tenantID, id, PermChangeRoles, func(ctx context.Context, tx Tx, az authz, g *Group) error {
		if c.IfVersion != 0 && c.IfVersion != g.Version {
			return fieldErrorf(FieldVersion, CodeConflict, "the group %q changed since it was read", g.DisplayName)
		}
		members := c.Members != nil || len(c.Add) > 0 || len(c.Remove) > 0
		if members {
			if err := az.mayChangeMembers(g); err != nil {
				return err
			}
		}
		loses := hasRole(g.Roles, RoleTenantAdmin) && (c.Members != nil || len(c.Remove) > 0)
		now := m.now().UTC()
		var joined, left []uuid.UUID
		err := keepsAdmins(ctx, tx, tenantID, loses, func() error {
			var err error
			if joined, left, err = applyMembers(ctx, tx, g, &c, now); err != nil {
				return err
			}
			if len(g.Roles) > 0 && len(joined)+len(left) > 0 {
				_, err = tx.SyncRoles(ctx, tenantID, uuid.Nil, slices.Concat(joined, left), m.roles.order(), now)
			}
			return err
		})
		if err != nil {
			return err
		}
		// The member change moved the version itself; a new name or
		// externalId is one more write (a PATCH of members alone is not).
		renamed := c.DisplayName != nil && *c.DisplayName != g.DisplayName
		if renamed || c.ExternalID != nil && *c.ExternalID != g.ExternalID {
			if renamed {
				g.DisplayName = *c.DisplayName
			}
			if c.ExternalID != nil {
				g.ExternalID = *c.ExternalID
			}
			g.UpdatedAt = now
			if err := tx.UpdateGroup(ctx, g); err != nil {
				return nameTaken(err, g.DisplayName)
			}
		}
		out = *g
		return m.logMembership(ctx, tx, g, joined, left)
	})
	return out, err
}

// applyMembers makes c's member change, keeps g as the store now holds
// it, and returns who joined and who left.
func applyMembers(ctx context.Context, tx Tx, g *Group, c *GroupChange, now time.Time) (joined, left []uuid.UUID, err error) {
	if c.Members != nil {
		joined, left, err = tx.ReplaceMembers(ctx, g.TenantID, g.ID, *c.Members, now)
		g.moved(len(joined), len(left), now)
		return joined, left, err
	}
	if len(c.Remove) > 0 {
		if left, err = tx.RemoveMembers(ctx, g.TenantID, g.ID, c.Remove, now); err != nil {
			return nil, nil, err
		}
		g.moved(0, len(left), now)
	}
	if len(c.Add) > 0 {
		if joined, err = tx.AddMembers(ctx, g.TenantID, g.ID, c.Add, now); err != nil {
			return nil, nil, err
		}
		g.moved(len(joined), 0, now)
	}
	return joined, left, nil
}

// moved is what a store's member change that let joined users in and
// left users out did to the group's row (see Tx.AddMembers).
func (g *Group) moved(joined, left int, now time.Time) {
	if joined+left > 0 {
		g.Members += joined - left
		g.Version++
		g.UpdatedAt = now
	}
}

// DeleteGroup deletes the group; its members lose the roles it gave them
// (conflict if that would leave no active tenant_admin). It returns
// not_found and permission_denied.
func (m *Manager) DeleteGroup(ctx context.Context, tenantID string, id uuid.UUID) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	return m.changeGroup(ctx, tenantID, id, PermChangeRoles, func(ctx context.Context, tx Tx, az authz, g *Group) error {
		if err := az.mayChangeMembers(g); err != nil {
			return err
		}
		var left []uuid.UUID
		err := keepsAdmins(ctx, tx, tenantID, hasRole(g.Roles, RoleTenantAdmin), func() error {
			var err error
			if left, err = tx.DeleteGroup(ctx, tenantID, g.ID); err != nil {
				return err
			}
			if len(g.Roles) > 0 && len(left) > 0 {
				_, err = tx.SyncRoles(ctx, tenantID, uuid.Nil, left, m.roles.order(), m.now().UTC())
			}
			return err
		})
		if err != nil {
			return err
		}
		return m.logMembership(ctx, tx, g, nil, left)
	})
}

// SetGroupRoles maps the group to roles of the catalogue (none unmaps it).
// Only a tenant_admin (or trusted code) may; mapping to tenant_admin needs
// sudo mode. It returns invalid for an unknown role, not_found,
// permission_denied, mfa_required, and conflict when members losing
// tenant_admin would leave no active tenant_admin.
func (m *Manager) SetGroupRoles(ctx context.Context, tenantID string, id uuid.UUID, roles []Role) (Group, error) {
	if err := checkTenant(tenantID); err != nil {
		return Group{}, err
	}
	roles, err := m.validRoles(roles)
	if err != nil {
		return Group{}, err
	}
	var out Group
	err = m.changeGroup(ctx, tenantID, id, PermChangeRoles, func(ctx context.Context, tx Tx, az authz, g *Group) error {
		if err := az.refuseProvisioner("map groups to roles"); err != nil {
			return err
		}
		if !az.isAdmin() {
			return Errorf(CodePermissionDenied, "only a tenant admin may map a group to roles")
		}
		had := hasRole(g.Roles, RoleTenantAdmin)
		if !had && hasRole(roles, RoleTenantAdmin) {
			if err := m.requireSudo(ctx, tx, tenantID, az); err != nil {
				return err
			}
		}
		out = *g
		if slices.Equal(g.Roles, roles) {
			return nil
		}
		g.Roles, g.UpdatedAt = roles, m.now().UTC()
		err := keepsAdmins(ctx, tx, tenantID, had && !hasRole(roles, RoleTenantAdmin), func() error {
			if err := tx.UpdateGroup(ctx, g); err != nil {
				return err
			}
			_, err := tx.SyncRoles(ctx, tenantID, g.ID, nil, m.roles.order(), g.UpdatedAt)
			return err
		})
		out = *g
		return err
	})
	return out, err
}

// GroupsOf returns the groups the user is a member of, ordered by name.
// It returns not_found for a user not of the tenant, and
// permission_denied.
func (m *Manager) GroupsOf(ctx context.Context, tenantID string, userID uuid.UUID) ([]Group, error) {
	var groups []Group
	err := m.readGroups(ctx, tenantID, func(ctx context.Context, tx Tx) error {
		if _, err := tx.GetUser(ctx, tenantID, userID); err != nil {
			return err
		}
		var err error
		groups, _, err = tx.FindGroups(ctx, GroupFindParams{TenantID: tenantID, Member: userID, Limit: math.MaxInt32})
		return err
	})
	return groups, err
}

// mayChangeMembers refuses an actor without tenant_admin changing who is
// in a group mapped to tenant_admin: adding a member grants the role,
// removing one takes it from a tenant_admin. The identity provider may:
// a tenant_admin made the mapping that lets it (its authz is admin's).
func (a authz) mayChangeMembers(g *Group) error {
	if hasRole(g.Roles, RoleTenantAdmin) && !a.isAdmin() {
		return Errorf(CodePermissionDenied, "only a tenant admin may change the members of %q, which grants the tenant admin role",
			g.DisplayName)
	}
	return nil
}

// readGroups runs fn in a read-only transaction for an actor who may list
// users (or the tenant's identity provider).
func (m *Manager) readGroups(ctx context.Context, tenantID string, fn func(ctx context.Context, tx Tx) error) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		if _, err := m.authorize(ctx, tx, tenantID, PermListUsers); err != nil {
			return err
		}
		return fn(ctx, tx)
	})
	return wrapInternal(err)
}

// changeGroup runs one change of a group of the tenant in a transaction:
// it checks the actor's permission p, locks the group and calls fn.
func (m *Manager) changeGroup(ctx context.Context, tenantID string, id uuid.UUID, p Permission,
	fn func(ctx context.Context, tx Tx, az authz, g *Group) error) error {
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, p)
		if err != nil {
			return err
		}
		g, err := tx.LockGroup(ctx, tenantID, id)
		if err != nil {
			return err
		}
		return fn(ctx, tx, az, &g)
	})
	return wrapInternal(err)
}

// keepsAdmins runs change, which may take tenant_admin from users when
// risky, and returns conflict if the tenant had an active tenant_admin
// before it and has none after. CountActiveWithRole locks the tenant
// first, so two such changes cannot each leave the other the last admin.
func keepsAdmins(ctx context.Context, tx Tx, tenantID string, risky bool, change func() error) error {
	if !risky {
		return change()
	}
	before, err := tx.CountActiveWithRole(ctx, tenantID, RoleTenantAdmin)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := tx.CountActiveWithRole(ctx, tenantID, RoleTenantAdmin)
	if err != nil {
		return err
	}
	if before > 0 && after == 0 {
		return Errorf(CodeConflict, "this would leave no active tenant admin; give another user that role first")
	}
	return nil
}

// logMembership logs group.joined and group.left, naming the group, on
// each user whose membership changed, in one statement.
func (m *Manager) logMembership(ctx context.Context, tx Tx, g *Group, joined, left []uuid.UUID) error {
	if len(joined)+len(left) == 0 {
		return nil
	}
	events := make([]Event, 0, len(joined)+len(left))
	for _, ids := range []struct {
		ids []uuid.UUID
		typ EventType
	}{{joined, EventGroupJoined}, {left, EventGroupLeft}} {
		for _, id := range ids.ids {
			events = append(events, *m.event(ctx, &User{ID: id, TenantID: g.TenantID}, ids.typ, g.DisplayName))
		}
	}
	return tx.AppendEvents(ctx, events)
}

// nameTaken names the group's name in a conflict a store returns for it.
func nameTaken(err error, name string) error {
	if ErrorCode(err) == CodeConflict {
		return fieldErrorf(FieldName, CodeConflict, "there is a group named %q already", name)
	}
	return err
}

// groupName returns a group's DisplayName trimmed, or invalid.
func groupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fieldErrorf(FieldName, CodeInvalid, "a group needs a name")
	}
	return name, groupText("name", FieldName, name)
}

// groupText refuses text of a group no store holds or a page shows
// faithfully: too long, not UTF-8, or with control characters. what names
// it in the message, field (FieldName or "") in the error.
func groupText(what, field, s string) error {
	switch {
	case len(s) > maxGroupText:
		return fieldErrorf(field, CodeInvalid, "the group's %s is longer than %d bytes", what, maxGroupText)
	case !utf8.ValidString(s):
		return fieldErrorf(field, CodeInvalid, "the group's %s is not valid text", what)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fieldErrorf(field, CodeInvalid, "the group's %s must not contain control characters", what)
	}
	return nil
}

// memberIDs refuses the nil id in a member list.
func memberIDs(lists ...[]uuid.UUID) error {
	for _, ids := range lists {
		if slices.Contains(ids, uuid.Nil) {
			return Errorf(CodeInvalid, "a member id is empty")
		}
	}
	return nil
}

// checkChange validates c and trims its name.
func checkChange(c *GroupChange) error {
	if c.DisplayName != nil {
		name, err := groupName(*c.DisplayName)
		if err != nil {
			return err
		}
		c.DisplayName = &name
	}
	if c.ExternalID != nil {
		if err := groupText("externalId", "", *c.ExternalID); err != nil {
			return err
		}
	}
	if c.Members != nil && len(c.Add)+len(c.Remove) > 0 {
		return Errorf(CodeInvalid, "a change replaces the members or adds and removes some, not both")
	}
	if c.IfVersion < 0 {
		return fieldErrorf(FieldVersion, CodeInvalid, "a version is never negative")
	}
	var members []uuid.UUID
	if c.Members != nil {
		members = *c.Members
	}
	return memberIDs(members, c.Add, c.Remove)
}
