package usermgmt

import (
	"context"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Status is where a user stands: invited until setup is finished, active,
// or deactivated by an admin.
type Status string

// The user statuses.
const (
	StatusInvited     Status = "invited"
	StatusActive      Status = "active"
	StatusDeactivated Status = "deactivated"
)

// Valid reports whether s is one of the three statuses.
func (s Status) Valid() bool {
	return s == StatusInvited || s == StatusActive || s == StatusDeactivated
}

// User is one account of a tenant as the Settings → Users page shows it.
// It never carries a secret.
type User struct {
	ID       uuid.UUID
	TenantID string
	Email    string
	Status   Status
	// Roles are what the user holds: DirectRoles and the roles of their
	// groups (GroupRoles). Every rule of roles reads these.
	Roles []Role
	// DirectRoles are the roles granted to the user directly (InviteUser,
	// GrantRole, RevokeRole); stores keep them beside Roles.
	DirectRoles []Role
	// GroupRoles says which of the user's groups grant which role: filled
	// by the Manager (GetUser) or by the store with the user (ListUsers,
	// TouchSession); other writes and reads of stores ignore it.
	GroupRoles []GroupRole
	Profile
	MFAEnabled  bool
	LastLoginAt *time.Time // nil: never logged in
	// ActivatedAt is when the person finished setup; nil while invited.
	// Activate uses it to return a user to active or invited.
	ActivatedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// InviteExpiresAt is when the link of the user's latest invitation
	// expires; nil once it is spent (or for a user never invited by link).
	// InviteExpired tells whether it has.
	InviteExpiresAt *time.Time

	// LockedUntil is when the pause on the user's sign-in ends (see
	// UnlockUser); nil when sign-in is not paused. Stores read it from the
	// login attempts of the user's (tenant, email) key with the user.
	LockedUntil *time.Time
	// Version grows with every change a store writes to the user (stores
	// add one on UpdateUser; CreateUser stores 1): SCIM's ETag.
	Version int64
	// DeprovisionedAt is when the identity provider deleted the user
	// (DeprovisionUser); nil otherwise. Such a user is deactivated and
	// hidden from provisioning until ProvisionUser brings them back.
	DeprovisionedAt *time.Time
	// Actions is what the actor who read the user may do to them; the
	// Manager fills it, stores ignore it.
	Actions Actions
}

// HasRole reports whether the user holds role r.
func (u User) HasRole(r Role) bool { return hasRole(u.Roles, r) }

// StatusCounts are the badge counts of the user list, tenant-wide.
type StatusCounts struct {
	Active      int
	Invited     int
	Deactivated int
	All         int
}

// Add moves n users into status s (n may be negative).
func (c *StatusCounts) Add(s Status, n int) {
	switch s {
	case StatusActive:
		c.Active += n
	case StatusInvited:
		c.Invited += n
	case StatusDeactivated:
		c.Deactivated += n
	}
	c.All += n
}

// ListUsersQuery selects a page of the user list.
type ListUsersQuery struct {
	Status Status // "" lists every status
	Role   Role   // "" lists every role; else only users holding it
	Search string // case-insensitive substring of the email
	Limit  int    // 0 means 50; at most 200
	Cursor string // NextCursor of the previous page; "" for the first
}

// UserPage is one page of the user list, ordered by email, with the
// tenant-wide badge counts.
type UserPage struct {
	Users      []User
	Counts     StatusCounts
	NextCursor string // "" on the last page
}

const (
	defaultPageLimit = 50
	maxPageLimit     = 200
	maxEmailLen      = 254
	maxTenantIDLen   = 128
)

// NormalizeEmail returns the one stored form of an address, so that one
// mailbox cannot be invited twice under two spellings: trimmed, Unicode
// NFC and lower-cased, with an internationalised domain mapped by IDNA
// (UTS #46, nontransitional) and kept in its Unicode form (U-labels):
// "Ana@BÜCHER.example", "ana@bücher.example" and "ana@xn--bcher-kva.example"
// are all "ana@bücher.example". It returns invalid for anything but a plain
// addr-spec, for a domain IDNA refuses, and for characters that hide or
// fake part of an address: controls, invisible format characters (U+200B
// zero width space, U+202E right-to-left override, …), spaces and line
// separators, private-use and unassigned code points, and for a domain
// under .invalid (reserved by RFC 2606; erased users hold such addresses,
// ErasedEmail).
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email is required")
	}
	if !utf8.ValidString(s) {
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email is not valid text")
	}
	if r, what := hiddenRune(s); what != "" {
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email must not contain %U, %s", r, what)
	}
	e := foldEmail(s)
	if len(e) > maxEmailLen {
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email is too long")
	}
	at := strings.LastIndexByte(e, '@')
	if at < 1 || at == len(e)-1 || strings.ContainsAny(e, "<>,;\"()[]\\") {
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email %q is not a valid address", s)
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email %q is not a valid address", s)
	}
	// The dots are checked after the mapping, which makes dots of some
	// characters (U+3002 ideographic full stop).
	domain, err := unicodeDomain(e[at+1:])
	if err != nil || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email %q: the domain is not a valid domain name", s)
	}
	if domain == "invalid" || strings.HasSuffix(domain, ".invalid") {
		// Reserved (RFC 2606): no mailbox, and erased users' placeholders (ErasedEmail).
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email %q: a .invalid address can receive no mail", s)
	}
	if e = e[:at+1] + domain; len(e) > maxEmailLen {
		return "", fieldErrorf(FieldEmail, CodeInvalid, "email is too long")
	}
	return e, nil
}

// hiddenRune returns the first rune of s that can hide or fake part of an
// address, and what it is: Unicode's Other (C: controls Cc, format
// characters Cf, private use Co, surrogates and unassigned code points
// Cn) and Separators (Z: every space, U+2028, U+2029).
func hiddenRune(s string) (rune, string) {
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cc, r):
			return r, "a control character"
		case unicode.Is(unicode.Cf, r):
			return r, "an invisible formatting character"
		case unicode.Is(unicode.Z, r):
			return r, "a space or line separator"
		case unicode.Is(unicode.Co, r):
			return r, "a private-use character"
		case unicode.Is(unicode.C, r):
			return r, "a code point Unicode has not assigned"
		}
	}
	return 0, ""
}

// idnaProfile maps a domain for lookup as UTS #46 says (case, width and
// compatibility mappings; nontransitional, so "ß" stays "ß"), with the
// label, hyphen, joiner, Bidi and DNS length rules.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(), idna.VerifyDNSLength(true))

// unicodeDomain returns the Unicode form of a domain given in Unicode or
// in Punycode (A-labels), after the UTS #46 mapping; an ASCII domain comes
// back as it is (lower-case). The round trip through the ASCII form is what
// validates it: a label that is not valid, or an A-label that does not
// decode to one, is an error.
func unicodeDomain(domain string) (string, error) {
	ascii, err := idnaProfile.ToASCII(domain)
	if err != nil {
		return "", err
	}
	return idnaProfile.ToUnicode(ascii)
}

// foldEmail is the case- and form-insensitive key of an email or of a
// search for one: trimmed, NFC, lower-cased.
func foldEmail(s string) string { return strings.ToLower(norm.NFC.String(strings.TrimSpace(s))) }

// checkTenant refuses a tenant id no store holds alike or a log shows
// faithfully: empty, too long, not UTF-8, or with a control character
// (NUL, line breaks, …).
func checkTenant(tenantID string) error {
	if tenantID == "" {
		return Errorf(CodeInvalid, "tenant id is required")
	}
	if len(tenantID) > maxTenantIDLen {
		return Errorf(CodeInvalid, "tenant id is too long")
	}
	if !utf8.ValidString(tenantID) {
		return Errorf(CodeInvalid, "tenant id is not valid text")
	}
	if strings.IndexFunc(tenantID, unicode.IsControl) >= 0 {
		return Errorf(CodeInvalid, "tenant id must not contain control characters")
	}
	return nil
}

// ListUsers returns a page of the tenant's users ordered by email, with the
// tenant-wide badge counts. It returns invalid for a bad status, limit or
// cursor (a cursor only works for the query that made it), and
// permission_denied when the actor may not list users.
func (m *Manager) ListUsers(ctx context.Context, tenantID string, q ListUsersQuery) (UserPage, error) {
	p, err := m.userListParams(tenantID, q.Status, q.Role, q.Search)
	if err != nil {
		return UserPage{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return UserPage{}, err
	}
	p.Limit = limit + 1
	search := p.Search
	if q.Cursor != "" {
		f, err := m.decodeCursor(q.Cursor, 6)
		if err != nil {
			return UserPage{}, err
		}
		if f[0] != "users" || f[1] != tenantID || f[2] != string(q.Status) || f[3] != search || f[4] != string(q.Role) {
			return UserPage{}, Errorf(CodeInvalid, "cursor belongs to another query")
		}
		p.After = f[5]
	}
	var page UserPage
	now := m.now()
	err = m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, PermListUsers)
		if err != nil {
			return err
		}
		users, err := tx.ListUsers(ctx, p)
		if err != nil {
			return err
		}
		perms := m.permMask(&az)
		for i := range users {
			m.present(&az, perms, &users[i], now)
			m.orderGroupRoles(users[i].GroupRoles)
		}
		page.Users = users
		page.Counts, err = tx.CountUsers(ctx, tenantID)
		return err
	})
	if err != nil {
		return UserPage{}, wrapInternal(err)
	}
	if len(page.Users) > limit {
		page.Users = page.Users[:limit]
		page.NextCursor = m.encodeCursor("users", tenantID, string(q.Status), search, string(q.Role), page.Users[limit-1].Email)
	}
	return page, nil
}

// userListParams checks the user list's filters, as ListUsers and
// ExportUsers take them, and returns them as a store sees them (without
// a limit). It returns invalid for a bad tenant, status, role or search.
func (m *Manager) userListParams(tenantID string, status Status, role Role, search string) (UserListParams, error) {
	if err := checkTenant(tenantID); err != nil {
		return UserListParams{}, err
	}
	if status != "" && !status.Valid() {
		return UserListParams{}, Errorf(CodeInvalid, "unknown status %q", status)
	}
	if !utf8.ValidString(search) {
		return UserListParams{}, Errorf(CodeInvalid, "search is not valid text")
	}
	search = foldEmail(search)
	if len(search) > maxEmailLen {
		return UserListParams{}, Errorf(CodeInvalid, "search is too long")
	}
	if strings.IndexFunc(search, unicode.IsControl) >= 0 {
		return UserListParams{}, Errorf(CodeInvalid, "search must not contain control characters")
	}
	if role != "" && !m.roles.has(role) {
		return UserListParams{}, Errorf(CodeInvalid, "unknown role %q", role)
	}
	return UserListParams{TenantID: tenantID, Status: status, Role: role, Search: search}, nil
}

func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return defaultPageLimit, nil
	case n < 0 || n > maxPageLimit:
		return 0, Errorf(CodeInvalid, "limit must be between 1 and %d", maxPageLimit)
	}
	return n, nil
}

// GetUser returns one user of the tenant: not_found for an unknown id or
// one of another tenant, permission_denied when the actor may not list users.
func (m *Manager) GetUser(ctx context.Context, tenantID string, userID uuid.UUID) (User, error) {
	return m.readUser(ctx, tenantID, userID, PermListUsers)
}

// readUser reads one user of the tenant for an actor holding p.
func (m *Manager) readUser(ctx context.Context, tenantID string, userID uuid.UUID, p Permission) (User, error) {
	if err := checkTenant(tenantID); err != nil {
		return User{}, err
	}
	var u UserRecord
	err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, p)
		if err != nil {
			return err
		}
		u, err = tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		m.present(&az, m.permMask(&az), &u.User, m.now())
		one := []User{u.User}
		err = m.fillGroupRoles(ctx, tx, tenantID, one)
		u.User = one[0]
		return err
	})
	return u.User, wrapInternal(err)
}

// fillGroupRoles sets each user's GroupRoles, in one query for them all:
// ordered by role (catalogue order), then by group name.
func (m *Manager) fillGroupRoles(ctx context.Context, tx Tx, tenantID string, users []User) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(users))
	at := make(map[uuid.UUID]int, len(users))
	for i := range users {
		ids[i], at[users[i].ID] = users[i].ID, i
	}
	held, err := tx.GroupRolesOf(ctx, tenantID, ids)
	if err != nil {
		return err
	}
	for _, h := range held {
		if i, ok := at[h.UserID]; ok {
			users[i].GroupRoles = append(users[i].GroupRoles, h.GroupRole)
		}
	}
	for i := range users {
		m.orderGroupRoles(users[i].GroupRoles)
	}
	return nil
}

// orderGroupRoles sorts a user's group roles by role (catalogue order),
// then by group name.
func (m *Manager) orderGroupRoles(gr []GroupRole) {
	slices.SortFunc(gr, func(a, b GroupRole) int {
		if c := m.roles.index[a.Role] - m.roles.index[b.Role]; c != 0 {
			return c
		}
		return strings.Compare(strings.ToLower(a.Group), strings.ToLower(b.Group))
	})
}

// RelativeTime renders a last-login time the way the user list shows it:
// "never" for nil, then "just now", "5m ago", "2h ago", "3d ago", and a
// date ("Jan 2, 2006") from a week on.
func RelativeTime(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	d := now.Sub(*t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h ago"
	case d < 7*24*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d ago"
	}
	return t.Format("Jan 2, 2006")
}
