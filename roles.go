package usermgmt

import "slices"

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
// Settings → Users page.
type RoleDef struct {
	Name        Role
	Description string
	Permissions []Permission
}

// DefaultRoles returns the eight roles of the product page, in its order.
// tenant_admin may do everything; hr_admin manages users but never a
// tenant_admin (see Manager); compliance_officer reads the list and activity.
func DefaultRoles() []RoleDef {
	return []RoleDef{
		{RoleTenantAdmin, "Full tenant administration access", AllPermissions()},
		{RoleHRAdmin, "HR and employee management", AllPermissions()},
		{RoleHRManager, "Team-level HR operations", []Permission{PermListUsers, PermReadActivity}},
		{RoleWFMAnalyst, "Workforce management and scheduling", nil},
		{RoleRecruiter, "Recruiting and candidate management", nil},
		{RoleSupervisor, "Team supervision and QA", nil},
		{RoleAgent, "Frontline agent (limited access)", nil},
		{RoleComplianceOfficer, "Compliance and audit access", []Permission{PermListUsers, PermReadActivity}},
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
	c := catalogue{defs: slices.Clone(defs), index: make(map[Role]int, len(defs))}
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
