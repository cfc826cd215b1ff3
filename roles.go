package usermgmt

import (
	"context"
	"slices"

	"github.com/google/uuid"
)

// Role names a set of permissions a user holds in a tenant.
type Role string

// The roles of the default catalogue.
const (
	RoleTenantAdmin       Role = "tenant_admin"
	RoleHRAdmin           Role = "hr_admin"
	RoleHRManager         Role = "hr_manager"
	RoleWFMAnalyst        Role = "wfm_analyst"
	RoleRecruiter         Role = "recruiter"
	RoleSupervisor        Role = "supervisor"
	RoleAgent             Role = "agent"
	RoleComplianceOfficer Role = "compliance_officer"
)

// Permission is an action of the Settings → Users page.
type Permission string

// The permissions the Manager checks.
const (
	PermListUsers     Permission = "users.list"
	PermInvite        Permission = "users.invite"
	PermChangeRoles   Permission = "users.roles"
	PermResetPassword Permission = "users.reset_password"
	PermResetMFA      Permission = "users.reset_mfa"
	PermForceLogout   Permission = "users.force_logout"
	PermDeactivate    Permission = "users.deactivate"
	PermReadActivity  Permission = "users.activity"
)

// AllPermissions lists every permission, for a catalogue role that may do
// everything.
func AllPermissions() []Permission {
	return []Permission{PermListUsers, PermInvite, PermChangeRoles, PermResetPassword,
		PermResetMFA, PermForceLogout, PermDeactivate, PermReadActivity}
}

// RoleDef describes a role of the catalogue and what it may do on the
// Settings → Users page. DisplayName is how the page names the role
// ("HR admin"); a RoleDef without one is shown by its Name (Label).
type RoleDef struct {
	Name        Role
	Description string
	Permissions []Permission
	DisplayName string
}

// Label is the role's name for people: DisplayName, or Name without one.
func (d RoleDef) Label() string {
	if d.DisplayName != "" {
		return d.DisplayName
	}
	return string(d.Name)
}

// DefaultRoles returns the eight roles of the product page, in its order.
// tenant_admin may do everything; hr_admin manages users but never a
// tenant_admin (see Manager); compliance_officer reads the list and activity.
func DefaultRoles() []RoleDef {
	return []RoleDef{
		{Name: RoleTenantAdmin, DisplayName: "Tenant admin", Description: "Full tenant administration access",
			Permissions: AllPermissions()},
		{Name: RoleHRAdmin, DisplayName: "HR admin", Description: "HR and employee management",
			Permissions: AllPermissions()},
		{Name: RoleHRManager, DisplayName: "HR manager", Description: "Team-level HR operations",
			Permissions: []Permission{PermListUsers, PermReadActivity}},
		{Name: RoleWFMAnalyst, DisplayName: "WFM analyst", Description: "Workforce management and scheduling"},
		{Name: RoleRecruiter, DisplayName: "Recruiter", Description: "Recruiting and candidate management"},
		{Name: RoleSupervisor, DisplayName: "Supervisor", Description: "Team supervision and QA"},
		{Name: RoleAgent, DisplayName: "Agent", Description: "Frontline agent (limited access)"},
		{Name: RoleComplianceOfficer, DisplayName: "Compliance officer", Description: "Compliance and audit access",
			Permissions: []Permission{PermListUsers, PermReadActivity}},
	}
}

// catalogue is the validated role catalogue of a Manager.
type catalogue struct {
	defs  []RoleDef
	index map[Role]int
}

func newCatalogue(defs []RoleDef) (catalogue, error) {
	if len(defs) == 0 {
		defs = DefaultRoles()
	}
	c := catalogue{defs: cloneDefs(defs), index: make(map[Role]int, len(defs))}
	for i, d := range c.defs {
		if d.Name == "" {
			return catalogue{}, Errorf(CodeInvalid, "Options.Roles[%d] has no name", i)
		}
		if _, dup := c.index[d.Name]; dup {
			return catalogue{}, Errorf(CodeInvalid, "Options.Roles names %q twice", d.Name)
		}
		c.index[d.Name] = i
	}
	if _, ok := c.index[RoleTenantAdmin]; !ok {
		return catalogue{}, Errorf(CodeInvalid, "Options.Roles must include %q", RoleTenantAdmin)
	}
	return c, nil
}

// cloneDefs copies a catalogue deeply, so that neither the host's slice
// nor one handed out can change the Manager's permissions.
func cloneDefs(defs []RoleDef) []RoleDef {
	out := slices.Clone(defs)
	for i := range out {
		out[i].Permissions = slices.Clone(out[i].Permissions)
	}
	return out
}

func (c catalogue) has(r Role) bool { _, ok := c.index[r]; return ok }

// can reports whether any of roles grants p. tenant_admin grants everything.
func (c catalogue) can(roles []Role, p Permission) bool {
	for _, r := range roles {
		if r == RoleTenantAdmin {
			return true
		}
		if i, ok := c.index[r]; ok && slices.Contains(c.defs[i].Permissions, p) {
			return true
		}
	}
	return false
}

// sortRoles orders roles as the catalogue does, so every User lists them
// the same way.
func (c catalogue) sortRoles(roles []Role) {
	slices.SortFunc(roles, func(a, b Role) int { return c.index[a] - c.index[b] })
}

func hasRole(roles []Role, r Role) bool { return slices.Contains(roles, r) }

// Can reports whether a user holding roles may do p by the Manager's
// catalogue (tenant_admin may do everything): for a host, or httpapi's
// GET /me, to show only the buttons that will work. The Manager still
// checks every operation itself.
func (m *Manager) Can(roles []Role, p Permission) bool { return m.roles.can(roles, p) }

// authz is what the actor of a context may do in one tenant.
type authz struct {
	// system is trusted code (AsSystem), or a provisioner, which is
	// trusted in its own tenant alike: every user operation, tenant_admins
	// included, with no sudo.
	system bool
	// provisioner is the token of an identity provider acting
	// (AsProvisioner), nil otherwise. What only a tenant's people may do
	// (manage provisioning tokens, map groups to roles) refuses it:
	// refuseProvisioner.
	provisioner *ProvisioningToken
	roles       []Role
	email       string // the actor's, named in the mails the action sends
	actor       Actor
}

func (a authz) isAdmin() bool { return a.system || hasRole(a.roles, RoleTenantAdmin) }

// refuseProvisioner returns permission_denied for a provisioner: what is
// left to a tenant_admin (or trusted code) never follows from a SCIM
// request. what says what it may not do ("manage provisioning tokens").
func (a authz) refuseProvisioner(what string) error {
	if a.provisioner != nil {
		return Errorf(CodePermissionDenied, "a provisioning token may not %s", what)
	}
	return nil
}

// authorize loads the actor of ctx in the tenant and checks permission p.
// An actor who is not an active user of the tenant is permission_denied,
// and so is a context with neither an actor, nor a provisioner
// (AsProvisioner) of this tenant, nor the AsSystem mark (fail closed). An
// actor wins over a provisioner, and a provisioner over the mark: a
// checked actor is never widened. A provisioner may do every user
// operation of its own tenant, and nothing in another (permission_denied).
// An empty p asks only that the actor be an active user of the tenant (for
// what a person may do to their own records).
func (m *Manager) authorize(ctx context.Context, tx Tx, tenantID string, p Permission) (authz, error) {
	a, ok := ActorFromContext(ctx)
	if !ok {
		if t, ok := ProvisionerFromContext(ctx); ok {
			if t.TenantID != tenantID {
				return authz{}, Errorf(CodePermissionDenied, "this provisioning token belongs to another tenant")
			}
			return authz{system: true, provisioner: &t}, nil
		}
		if isSystem(ctx) {
			return authz{system: true}, nil
		}
		return authz{}, Errorf(CodePermissionDenied, "no actor: call WithActor, or AsSystem for trusted code")
	}
	roles, email, err := m.actorRoles(ctx, tx, tenantID, a)
	if err != nil {
		return authz{}, err
	}
	if p != "" && !m.roles.can(roles, p) {
		return authz{}, Errorf(CodePermissionDenied, "your roles do not allow this")
	}
	return authz{roles: roles, email: email, actor: a}, nil
}

// actorRoles returns the current roles and email of a, an active user of
// the tenant (else permission_denied): as Authenticate read them in this
// request (Principal.Actor), or read now.
func (m *Manager) actorRoles(ctx context.Context, tx Tx, tenantID string, a Actor) ([]Role, string, error) {
	if r := a.read; r.by == m && r.userID == a.UserID && r.tenantID == tenantID {
		if d := m.now().Sub(r.at); d >= 0 && d < actorReadFor {
			return r.roles, r.email, nil // TouchSession reads active users only
		}
	}
	actor, err := tx.GetUser(ctx, tenantID, a.UserID)
	if ErrorCode(err) == CodeNotFound || (err == nil && actor.Status != StatusActive) {
		return nil, "", Errorf(CodePermissionDenied, "you may not do this")
	}
	return actor.Roles, actor.Email, err
}

// actOn refuses an actor without tenant_admin acting on a tenant_admin.
func (a authz) actOn(target *UserRecord) error {
	if target.HasRole(RoleTenantAdmin) && !a.isAdmin() {
		return Errorf(CodePermissionDenied, "only a tenant admin may act on a tenant admin")
	}
	return nil
}

// grant refuses an actor without tenant_admin granting tenant_admin.
func (a authz) grant(r Role) error {
	if r == RoleTenantAdmin && !a.isAdmin() {
		return Errorf(CodePermissionDenied, "only a tenant admin may grant the tenant admin role")
	}
	return nil
}

// mayGrant refuses roles that az may not grant (grant), and asks for sudo
// mode when they include tenant_admin: what granting roles to a new user
// needs (ProvisionUser; InviteUser checks the same).
func (m *Manager) mayGrant(ctx context.Context, tx Tx, tenantID string, az authz, roles []Role) error {
	for _, r := range roles {
		if err := az.grant(r); err != nil {
			return err
		}
	}
	if hasRole(roles, RoleTenantAdmin) {
		return m.requireSudo(ctx, tx, tenantID, az)
	}
	return nil
}

// checkRoles validates, de-duplicates and orders roles; at least one.
func (m *Manager) checkRoles(roles []Role) ([]Role, error) {
	if len(roles) == 0 {
		return nil, fieldErrorf(FieldRole, CodeInvalid, "at least one role is required")
	}
	return m.validRoles(roles)
}

// validRoles validates, de-duplicates and orders roles; none is fine.
func (m *Manager) validRoles(roles []Role) ([]Role, error) {
	out := make([]Role, 0, len(roles))
	for _, r := range roles {
		if !m.roles.has(r) {
			return nil, fieldErrorf(FieldRole, CodeInvalid, "unknown role %q", r)
		}
		if !hasRole(out, r) {
			out = append(out, r)
		}
	}
	m.roles.sortRoles(out)
	return out, nil
}

// order lists the catalogue's roles in its order, for a store that
// orders the roles it computes (Tx.SyncRoles).
func (c catalogue) order() []Role {
	out := make([]Role, len(c.defs))
	for i, d := range c.defs {
		out[i] = d.Name
	}
	return out
}

// effectiveRoles is what u holds with the direct roles: those and the
// roles of u's groups, in catalogue order. It fills u.GroupRoles on the way.
func (m *Manager) effectiveRoles(ctx context.Context, tx Tx, u *User, direct []Role) ([]Role, error) {
	one := []User{*u}
	if err := m.fillGroupRoles(ctx, tx, u.TenantID, one); err != nil {
		return nil, err
	}
	u.GroupRoles = one[0].GroupRoles
	roles := slices.Clone(direct)
	for _, h := range u.GroupRoles {
		if !hasRole(roles, h.Role) {
			roles = append(roles, h.Role)
		}
	}
	m.roles.sortRoles(roles)
	return roles, nil
}

// keepsAnAdmin returns conflict if u is the tenant's last active
// tenant_admin, who may neither lose the role nor be deactivated.
func keepsAnAdmin(ctx context.Context, tx Tx, u *UserRecord) error {
	if u.Status != StatusActive || !u.HasRole(RoleTenantAdmin) {
		return nil
	}
	n, err := tx.CountActiveWithRole(ctx, u.TenantID, RoleTenantAdmin)
	if err != nil {
		return err
	}
	if n <= 1 {
		return Errorf(CodeConflict, "%s is the last active tenant admin; give another user that role first", u.Email)
	}
	return nil
}

// GrantRole toggles role on for the user: it joins the user's DirectRoles
// (and so Roles). Granting a role the user holds directly changes nothing. It returns invalid for an unknown role, not_found for an
// unknown user and permission_denied when the actor may not change roles,
// or grants tenant_admin, or acts on a tenant_admin, without being one.
// Granting tenant_admin also needs sudo mode (see Options.SudoWindow):
// mfa_required otherwise.
func (m *Manager) GrantRole(ctx context.Context, tenantID string, userID uuid.UUID, role Role) (User, error) {
	return m.toggleRole(ctx, tenantID, userID, role, true)
}

// RevokeRole toggles role off for the user's DirectRoles. Revoking a role
// the user lacks directly changes nothing; a role the user also holds
// through a group stays in Roles (SetGroupRoles or the membership decide
// it). Errors as GrantRole, and conflict for the last active
// tenant_admin's tenant_admin role.
func (m *Manager) RevokeRole(ctx context.Context, tenantID string, userID uuid.UUID, role Role) (User, error) {
	return m.toggleRole(ctx, tenantID, userID, role, false)
}

func (m *Manager) toggleRole(ctx context.Context, tenantID string, userID uuid.UUID, role Role, on bool) (User, error) {
	if !m.roles.has(role) {
		return User{}, fieldErrorf(FieldRole, CodeInvalid, "unknown role %q", role)
	}
	var out User
	err := m.onUser(ctx, tenantID, userID, PermChangeRoles, func(ctx context.Context, tx Tx, az authz, u *UserRecord) error {
		if err := az.grant(role); err != nil {
			return err
		}
		if on && role == RoleTenantAdmin {
			if err := m.requireSudo(ctx, tx, tenantID, az); err != nil {
				return err
			}
		}
		typ, direct := EventRoleGranted, slices.DeleteFunc(slices.Clone(u.DirectRoles), func(r Role) bool { return r == role })
		if on {
			direct = append(direct, role)
			m.roles.sortRoles(direct)
		} else {
			typ = EventRoleRevoked
		}
		roles, err := m.effectiveRoles(ctx, tx, &u.User, direct)
		if err != nil {
			return err
		}
		out = m.shown(&az, u.User)
		if hasRole(u.DirectRoles, role) == on {
			return nil
		}
		// A role still held through a group stays: revoking it directly
		// changes DirectRoles only, and only losing it counts.
		if u.HasRole(RoleTenantAdmin) && !hasRole(roles, RoleTenantAdmin) {
			if err := keepsAnAdmin(ctx, tx, u); err != nil {
				return err
			}
		}
		u.DirectRoles, u.Roles = direct, roles
		u.UpdatedAt = m.now().UTC()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		out = m.shown(&az, u.User)
		return tx.AppendEvent(ctx, m.event(ctx, &u.User, typ, string(role)))
	})
	return out, err
}

// onUser runs one admin operation on a user of the tenant in a
// transaction: it checks the actor's permission p, locks the user and
// refuses acting on a tenant_admin without being one, then calls fn.
func (m *Manager) onUser(ctx context.Context, tenantID string, userID uuid.UUID, p Permission,
	fn func(ctx context.Context, tx Tx, az authz, u *UserRecord) error) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, p)
		if err != nil {
			return err
		}
		u, err := tx.LockUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		if err := az.actOn(&u); err != nil {
			return err
		}
		return fn(ctx, tx, az, &u)
	})
	return wrapInternal(err)
}
