package usermgmt

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
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
	ID          uuid.UUID
	TenantID    string
	Email       string
	Status      Status
	Roles       []Role
	MFAEnabled  bool
	LastLoginAt *time.Time // nil: never logged in
	// ActivatedAt is when the person finished setup; nil while invited.
	// Activate uses it to return a user to active or invited.
	ActivatedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
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

// NormalizeEmail trims, NFC-normalises and lower-cases an address and
// checks that it is a plain addr-spec. It returns invalid otherwise.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
	if e == "" {
		return "", Errorf(CodeInvalid, "email is required")
	}
	if len(e) > maxEmailLen || !utf8.ValidString(e) {
		return "", Errorf(CodeInvalid, "email is too long")
	}
	at := strings.LastIndexByte(e, '@')
	if at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>,;\"()[]\\") {
		return "", Errorf(CodeInvalid, "email %q is not a valid address", s)
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", Errorf(CodeInvalid, "email %q is not a valid address", s)
	}
	domain := e[at+1:]
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", Errorf(CodeInvalid, "email %q is not a valid address", s)
	}
	return e, nil
}

func checkTenant(tenantID string) error {
	if tenantID == "" {
		return Errorf(CodeInvalid, "tenant id is required")
	}
	if len(tenantID) > maxTenantIDLen || !utf8.ValidString(tenantID) {
		return Errorf(CodeInvalid, "tenant id is too long")
	}
	return nil
}
