package usermgmt

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	if err := checkTenant(tenantID); err != nil {
		return ProvisioningToken{}, "", err
	}
	name, err := checkTokenName(name)
	if err != nil {
		return ProvisioningToken{}, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return ProvisioningToken{}, "", internalf(err, "new id")
	}
	secret, hash := newToken(prefixProvision)
	var tok ProvisioningToken
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		az, err := m.tenantAdmin(ctx, tx, tenantID, "manage provisioning tokens", true)
		if err != nil {
			return err
		}
		tok = ProvisioningToken{ID: id, TenantID: tenantID, Name: name, CreatedAt: m.now().UTC(), CreatedBy: az.actor.UserID}
		return tx.CreateProvisioningToken(ctx, &ProvisioningTokenRecord{ProvisioningToken: tok, Hash: hash})
	})
	if err != nil {
		return ProvisioningToken{}, "", wrapInternal(err)
	}
	return tok, secret, nil
}

// ListProvisioningTokens returns the tenant's provisioning tokens, oldest
// first. Only a tenant_admin (or trusted code) may: permission_denied
// otherwise, for a provisioner too.
func (m *Manager) ListProvisioningTokens(ctx context.Context, tenantID string) ([]ProvisioningToken, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	var out []ProvisioningToken
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage provisioning tokens", false); err != nil {
			return err
		}
		var err error
		out, err = tx.ListProvisioningTokens(ctx, tenantID)
		return err
	})
	return out, wrapInternal(err)
}

// RevokeProvisioningToken deletes a provisioning token: requests with it
// fail at once. Only a tenant_admin (or trusted code) may, in sudo mode. It
// returns not_found for a token of no one or of another tenant.
func (m *Manager) RevokeProvisioningToken(ctx context.Context, tenantID string, id uuid.UUID) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		if _, err := m.tenantAdmin(ctx, tx, tenantID, "manage provisioning tokens", true); err != nil {
			return err
		}
		_, err := tx.DeleteProvisioningToken(ctx, tenantID, id)
		return err
	})
	return wrapInternal(err)
}

// AuthenticateProvisioning returns the provisioning token whose secret is
// secret and records its use; unauthenticated for any other string.
// Pass the token to AsProvisioner for the operations of the request.
func (m *Manager) AuthenticateProvisioning(ctx context.Context, secret string) (ProvisioningToken, error) {
	bad := Errorf(CodeUnauthenticated, "the provisioning token is not valid")
	if !wellFormed(secret, prefixProvision) {
		return ProvisioningToken{}, bad
	}
	var tok ProvisioningToken
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		var err error
		tok, err = tx.UseProvisioningToken(ctx, hashToken(secret), m.now().UTC(), lastUsedEvery)
		return err
	})
	if ErrorCode(err) == CodeNotFound {
		return ProvisioningToken{}, bad
	}
	if err != nil {
		return ProvisioningToken{}, wrapInternal(err)
	}
	return tok, nil
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

	// The enterprise extension of SCIM (RFC 7643 §4.3), as Entra ID sends
	// it: stored as sent.
	EmployeeNumber string
	Department     string
	// ManagerID is the identity provider's manager.value: the SCIM id of
	// another user of the tenant, kept as sent (that user may not exist,
	// or not yet).
	ManagerID string
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
// before. A provisioner may (AsProvisioner), or an actor who may invite
// (granting tenant_admin as InviteUser does). It returns invalid for a bad
// email, profile (each field valid text, at most 256 characters, trimmed)
// or roles, conflict (Field email) for an email the tenant has and not
// deprovisioned, permission_denied, mfa_required, and delivery_failed with
// the user when the invitation could not be sent.
func (m *Manager) ProvisionUser(ctx context.Context, tenantID string, p Provision) (User, error) {
	if err := checkTenant(tenantID); err != nil {
		return User{}, err
	}
	email, err := NormalizeEmail(p.Email)
	if err != nil {
		return User{}, err
	}
	if err := checkProfile(&p.Profile); err != nil {
		return User{}, err
	}
	var roles []Role
	if len(p.Roles) > 0 {
		if roles, err = m.checkRoles(p.Roles); err != nil {
			return User{}, err
		}
	}
	if !p.Active {
		if err := m.beforeRevival(ctx, tenantID, email); err != nil {
			return User{}, err
		}
	}
	var u UserRecord
	var out *outgoing
	var shown User
	deactivated := false
	err = m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, PermInvite)
		if err != nil {
			return err
		}
		old, err := tx.GetUserByEmail(ctx, tenantID, email)
		switch {
		case ErrorCode(err) == CodeNotFound:
			u = UserRecord{User: User{TenantID: tenantID, Email: email, Roles: roles, DirectRoles: slices.Clone(roles),
				Profile: p.Profile}}
			out, err = m.provisionNew(ctx, tx, az, &u, p)
		case err != nil:
			return err
		default:
			if u, err = tx.LockUser(ctx, tenantID, old.ID); err != nil {
				return err
			}
			out, deactivated, err = m.reprovision(ctx, tx, az, &u, p)
		}
		shown = m.shown(&az, u.User)
		return err
	})
	if err != nil {
		return User{}, wrapInternal(err)
	}
	if deactivated {
		return shown, m.afterDeactivate(ctx, &shown, true)
	}
	if out == nil {
		return shown, nil
	}
	return shown, m.mailInvite(ctx, &u.User, out)
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
// activity events: all of it or nothing. A profile change logs
// user.updated naming the fields; a change of Active does the work of
// Deactivate or Activate, with its hooks and revokers. A provisioner may,
// or an actor who may deactivate. It returns invalid, not_found
// (a deprovisioned user included), permission_denied, conflict for the
// last active tenant_admin's deactivation, and conflict with Field
// FieldVersion for a stale IfVersion.
func (m *Manager) UpdateProvisionedUser(ctx context.Context, tenantID string, id uuid.UUID, u ProvisionUpdate) (User, error) {
	if err := checkProfile(&u.Profile); err != nil {
		return User{}, err
	}
	if !u.Active {
		if err := m.beforeDeactivate(ctx, tenantID, id); err != nil {
			return User{}, err
		}
	}
	var out User
	deactivated := false
	err := m.onUser(ctx, tenantID, id, PermDeactivate, func(ctx context.Context, tx Tx, az authz, r *UserRecord) error {
		if r.DeprovisionedAt != nil {
			return errDeprovisioned()
		}
		if u.IfVersion != 0 && r.Version != u.IfVersion {
			return fieldErrorf(FieldVersion, CodeConflict, "%s has changed since version %d; read it again", r.Email, u.IfVersion)
		}
		changed := profileChanges(r.Profile, u.Profile)
		r.Profile = u.Profile
		if changed != "" {
			if err := tx.AppendEvent(ctx, m.event(ctx, &r.User, EventProfileUpdated, changed)); err != nil {
				return err
			}
		}
		if !u.Active {
			if err := az.refuseSelf(&r.User, ActionDeactivate); err != nil {
				return err
			}
		}
		wrote, err := m.setActiveInTx(ctx, tx, r, u.Active, changed != "")
		deactivated = wrote && !u.Active
		out = m.shown(&az, r.User)
		return err
	})
	if err != nil {
		return User{}, err
	}
	if !u.Active {
		return out, m.afterDeactivate(ctx, &out, deactivated)
	}
	return out, nil
}

// DeprovisionUser deactivates the user (as Deactivate) and hides them from
// FindUsers and from provisioning (SCIM answers 404), keeping all their
// data and activity. ProvisionUser with their email brings them back. A
// provisioner may, or an actor who may deactivate. It returns not_found
// for a user deprovisioned already, permission_denied, conflict for the
// last active tenant_admin, and internal as Deactivate does.
func (m *Manager) DeprovisionUser(ctx context.Context, tenantID string, id uuid.UUID) error {
	if err := m.beforeDeactivate(ctx, tenantID, id); err != nil {
		return err
	}
	var u User
	deactivated := false
	err := m.onUser(ctx, tenantID, id, PermDeactivate, func(ctx context.Context, tx Tx, az authz, r *UserRecord) error {
		if r.DeprovisionedAt != nil {
			return errDeprovisioned()
		}
		if err := az.refuseSelf(&r.User, ActionDeactivate); err != nil {
			return err
		}
		now := m.now().UTC()
		r.DeprovisionedAt = &now
		if err := tx.AppendEvent(ctx, m.event(ctx, &r.User, EventDeprovisioned, "")); err != nil {
			return err
		}
		var err error
		deactivated, err = m.setActiveInTx(ctx, tx, r, false, true)
		u = r.User
		return err
	})
	if err != nil {
		return err
	}
	return m.afterDeactivate(ctx, &u, deactivated)
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
// it does not take, a filter of more than 64 conditions, a limit over
// MaxFindLimit or a negative offset, and permission_denied when the actor
// may not list users.
func (m *Manager) FindUsers(ctx context.Context, tenantID string, q UserQuery) (UserResults, error) {
	if err := checkTenant(tenantID); err != nil {
		return UserResults{}, err
	}
	if q.Offset < 0 {
		return UserResults{}, Errorf(CodeInvalid, "offset must not be negative")
	}
	if q.Limit < 0 || q.Limit > MaxFindLimit {
		return UserResults{}, Errorf(CodeInvalid, "limit must be between 0 and %d", MaxFindLimit)
	}
	p := UserFindParams{TenantID: tenantID, Offset: q.Offset, Limit: q.Limit, Descending: q.Descending}
	if q.Filter != nil {
		nodes := 0
		f, err := checkFilter(q.Filter, &nodes)
		if err != nil {
			return UserResults{}, err
		}
		p.Filter = &f
	}
	var res UserResults
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, PermListUsers)
		if err != nil {
			return err
		}
		res.Users, res.Total, err = tx.FindUsers(ctx, p)
		if err != nil {
			return err
		}
		perms, now := m.permMask(&az), m.now()
		for i := range res.Users {
			m.present(&az, perms, &res.Users[i], now)
		}
		return nil
	})
	if err != nil {
		return UserResults{}, wrapInternal(err)
	}
	return res, nil
}

const (
	maxTokenName  = 64  // characters of a provisioning token's name
	maxProfileLen = 256 // characters of each Profile field
	// lastUsedEvery is how stale a token's LastUsedAt may get: a busy
	// token is written once a minute, not on every request.
	lastUsedEvery = time.Minute
)

// tenantAdmin authorizes what only the tenant's admins may do (what
// names it: "manage provisioning tokens"): a tenant_admin or trusted
// code, never a provisioner (a token cannot mint or revoke tokens, nor
// send the tenant's data elsewhere), and in sudo mode when sudo is set.
func (m *Manager) tenantAdmin(ctx context.Context, tx Tx, tenantID, what string, sudo bool) (authz, error) {
	az, err := m.authorize(ctx, tx, tenantID, "")
	if err != nil {
		return az, err
	}
	if err := az.refuseProvisioner(what); err != nil {
		return az, err
	}
	if !az.isAdmin() {
		return az, Errorf(CodePermissionDenied, "only a tenant admin may %s", what)
	}
	if sudo {
		return az, m.requireSudo(ctx, tx, tenantID, az)
	}
	return az, nil
}

// cleanText returns s trimmed, or invalid (naming what) if it is not
// valid text, holds a control character, or is longer than maxLen
// characters.
func cleanText(s, what string, maxLen int) (string, *Error) {
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", Errorf(CodeInvalid, "%s is not valid text", what)
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxLen {
		return "", Errorf(CodeInvalid, "%s is longer than %d characters", what, maxLen)
	}
	return s, nil
}

// checkTokenName returns a provisioning token's name trimmed, or invalid
// (Field name) for one that is empty, not valid text or too long.
func checkTokenName(name string) (string, error) {
	name, err := cleanText(name, "name", maxTokenName)
	if err == nil && name == "" {
		err = Errorf(CodeInvalid, "name is required")
	}
	if err != nil {
		err.Field = FieldName
		return "", err
	}
	return name, nil
}

// profileFields names each Profile field, for errors and for the Detail of
// user.updated.
func profileFields(p *Profile) []struct {
	v    *string
	name string
} {
	return []struct {
		v    *string
		name string
	}{{&p.DisplayName, "display name"}, {&p.GivenName, "given name"}, {&p.FamilyName, "family name"},
		{&p.ExternalID, "external id"}, {&p.EmployeeNumber, "employee number"}, {&p.Department, "department"},
		{&p.ManagerID, "manager"}}
}

// checkProfile trims each field of p and refuses one that is not valid
// text or is longer than maxProfileLen characters.
func checkProfile(p *Profile) error {
	for _, f := range profileFields(p) {
		s, err := cleanText(*f.v, f.name, maxProfileLen)
		if err != nil {
			return err
		}
		*f.v = s
	}
	return nil
}

// profileChanges names the fields in which b differs from a ("display
// name, given name"); "" when none does.
func profileChanges(a, b Profile) string {
	var names []string
	fb := profileFields(&b)
	for i, f := range profileFields(&a) {
		if *f.v != *fb[i].v {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ", ")
}

// errDeprovisioned is the answer for a user the identity provider has
// deleted: to provisioning, they are gone.
func errDeprovisioned() error { return Errorf(CodeNotFound, "user not found") }

// provisionNew creates u (its email, profile and roles set) for
// ProvisionUser: invited, then deactivated at once if p is not active, or
// sent the invitation if p asks (the mail to send after the commit).
func (m *Manager) provisionNew(ctx context.Context, tx Tx, az authz, u *UserRecord, p Provision) (*outgoing, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, internalf(err, "new id")
	}
	now := m.now().UTC()
	u.ID, u.Status, u.CreatedAt, u.UpdatedAt = id, StatusInvited, now, now
	if err := m.createUser(ctx, tx, az, u); err != nil {
		return nil, err
	}
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventUserCreated, "")); err != nil {
		return nil, err
	}
	if !p.Active {
		// No hooks and no revokers: a user created this instant has
		// nothing of the host's to coordinate and no session to end.
		_, err := m.deactivateInTx(ctx, tx, u)
		return nil, err
	}
	if !p.SendInvite {
		return nil, nil
	}
	return m.issueLink(ctx, tx, u, MessageInvite, EventInvited, az.email, true, attemptNow)
}

// reprovision brings back u, whom DeprovisionUser removed, for
// ProvisionUser: the same user with their roles and data, the new
// profile, activated or deactivated as p says (and sent a new invitation
// if they never finished setup and p asks). It returns the mail to send
// and whether it deactivated u (afterDeactivate follows), and conflict
// (Field email) for a user who was not deprovisioned.
func (m *Manager) reprovision(ctx context.Context, tx Tx, az authz, u *UserRecord, p Provision) (*outgoing, bool, error) {
	if u.DeprovisionedAt == nil {
		return nil, false, fieldErrorf(FieldEmail, CodeConflict, "%s is already a user here", u.Email)
	}
	if err := az.actOn(u); err != nil {
		return nil, false, err
	}
	if !az.system && !m.roles.can(az.roles, PermDeactivate) {
		return nil, false, Errorf(CodePermissionDenied, "your roles do not allow this")
	}
	u.DeprovisionedAt, u.Profile = nil, p.Profile
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventReprovisioned, "")); err != nil {
		return nil, false, err
	}
	wrote, err := m.setActiveInTx(ctx, tx, u, p.Active, true)
	if err != nil {
		return nil, false, err
	}
	if !p.Active || !p.SendInvite || u.Status != StatusInvited {
		return nil, wrote && !p.Active, nil
	}
	out, err := m.issueLink(ctx, tx, u, MessageInvite, EventInvited, az.email, true, attemptNow)
	if ErrorCode(err) == CodeRateLimited {
		// A link went out within MailInterval: the user comes back
		// all the same (issueLink changed nothing), and Resend works later.
		return nil, false, nil
	}
	return out, false, err
}

// beforeRevival runs Options.BeforeDeactivate, as Deactivate does, on the
// deprovisioned user with email whom ProvisionUser is to bring back
// inactive while they are not deactivated (an admin activated them since):
// before the transaction, as Deactivate runs it.
func (m *Manager) beforeRevival(ctx context.Context, tenantID, email string) error {
	if m.opts.BeforeDeactivate == nil {
		return nil
	}
	var u UserRecord
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		if _, err := m.authorize(ctx, tx, tenantID, PermInvite); err != nil {
			return err
		}
		var err error
		u, err = tx.GetUserByEmail(ctx, tenantID, email)
		return err
	})
	switch {
	case ErrorCode(err) == CodeNotFound:
		return nil
	case err != nil:
		return wrapInternal(err)
	case u.DeprovisionedAt == nil || u.Status == StatusDeactivated:
		return nil
	}
	return m.opts.BeforeDeactivate(ctx, u.User)
}

// maxFilterNodes bounds the conditions of one UserFilter, so that a
// request cannot make the store evaluate an unbounded expression.
const maxFilterNodes = 64

// maxFilterValue bounds a filter's Value in bytes: longer than any field
// it compares with.
const maxFilterValue = 4 * maxProfileLen

type attrKind int

const (
	attrText attrKind = iota
	attrActive
	attrTime
)

// userAttrs is the kind of each UserAttr, which decides its operators.
var userAttrs = map[UserAttr]attrKind{
	UserAttrID: attrText, UserAttrEmail: attrText, UserAttrExternalID: attrText, UserAttrDisplayName: attrText,
	UserAttrGivenName: attrText, UserAttrFamilyName: attrText, UserAttrActive: attrActive,
	UserAttrCreated: attrTime, UserAttrUpdated: attrTime,
}

// kindOps are the operators each kind of attribute takes (UserAttr).
var kindOps = map[attrKind][]FilterOp{
	attrText:   {FilterEq, FilterNe, FilterCo, FilterSw, FilterEw, FilterPr},
	attrActive: {FilterEq, FilterNe, FilterPr},
	attrTime:   {FilterEq, FilterNe, FilterGt, FilterGe, FilterLt, FilterLe, FilterPr},
}

// checkFilter returns a checked copy of f for the store, counting its
// conditions in nodes: each operator on an attribute that takes it, And
// and Or with two or more Sub, Not with one, Email values folded as emails
// are, Active values "true" or "false", a Time for Created and Updated.
// It returns invalid for anything else.
func checkFilter(f *UserFilter, nodes *int) (UserFilter, error) {
	if *nodes++; *nodes > maxFilterNodes {
		return UserFilter{}, Errorf(CodeInvalid, "filter has more than %d conditions", maxFilterNodes)
	}
	switch f.Op {
	case FilterAnd, FilterOr, FilterNot:
		if f.Attr != "" || f.Value != "" || !f.Time.IsZero() {
			return UserFilter{}, Errorf(CodeInvalid, "%q takes only sub-filters", f.Op)
		}
		if f.Op == FilterNot && len(f.Sub) != 1 {
			return UserFilter{}, Errorf(CodeInvalid, "\"not\" takes one sub-filter")
		}
		if f.Op != FilterNot && len(f.Sub) < 2 {
			return UserFilter{}, Errorf(CodeInvalid, "%q takes two or more sub-filters", f.Op)
		}
		out := UserFilter{Op: f.Op, Sub: make([]UserFilter, len(f.Sub))}
		for i := range f.Sub {
			var err error
			if out.Sub[i], err = checkFilter(&f.Sub[i], nodes); err != nil {
				return UserFilter{}, err
			}
		}
		return out, nil
	}
	kind, ok := userAttrs[f.Attr]
	if !ok {
		return UserFilter{}, Errorf(CodeInvalid, "unknown attribute %q in filter", f.Attr)
	}
	if !slices.Contains(kindOps[kind], f.Op) {
		return UserFilter{}, Errorf(CodeInvalid, "attribute %q does not take the operator %q", f.Attr, f.Op)
	}
	if len(f.Sub) > 0 {
		return UserFilter{}, Errorf(CodeInvalid, "%q takes no sub-filters", f.Op)
	}
	out := UserFilter{Op: f.Op, Attr: f.Attr}
	if f.Op == FilterPr {
		return out, nil
	}
	switch kind {
	case attrTime:
		if f.Time.IsZero() {
			return UserFilter{}, Errorf(CodeInvalid, "filter on %q needs a time", f.Attr)
		}
		out.Time = f.Time
	case attrActive:
		v := strings.ToLower(f.Value)
		if v != "true" && v != "false" {
			return UserFilter{}, Errorf(CodeInvalid, "filter on %q takes true or false", f.Attr)
		}
		out.Value = v
	default:
		if len(f.Value) > maxFilterValue || !utf8.ValidString(f.Value) || strings.IndexByte(f.Value, 0) >= 0 {
			return UserFilter{}, Errorf(CodeInvalid, "filter value for %q is too long or not valid text", f.Attr)
		}
		out.Value = f.Value
		if f.Attr == UserAttrEmail {
			out.Value = foldEmail(f.Value)
		}
	}
	return out, nil
}
