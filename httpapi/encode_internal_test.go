package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// TestUserPageEncodingMatchesEncodingJSON holds the hand-written encoder
// of the hot path to what encoding/json writes.
func TestUserPageEncodingMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600700800, time.FixedZone("x", 3600))
	p := &UserPage{Counts: Counts{1, 22, 333, 4444}, NextCursor: "abc_-=",
		Users: []User{
			{ID: uuid.MustParse("0190c9a0-1111-7abc-8def-0123456789ab"), Email: "a@b.c", Status: "active",
				Roles: []usermgmt.Role{"tenant_admin", "agent"}, DirectRoles: []usermgmt.Role{"agent"},
				GroupRoles: []GroupRole{{Role: "tenant_admin", GroupID: uuid.MustParse("0190c9a0-2222-7abc-8def-0123456789ab"),
					Group: "IT <Admins> \"HQ\""}, {Role: "agent", Group: "é"}},
				DisplayName: "Ana \"A\" Sousa", GivenName: "Ana", FamilyName: "<Sousa>", ExternalID: "00u1&2",
				EmployeeNumber: "E<7>", Department: "R&D \"Labs\"", ManagerID: "m\u2028",
				MFAEnabled: true, MFA: "enabled",
				LastLoginAt: &at, LastLogin: "2h ago", CreatedAt: at.UTC(), UpdatedAt: time.Time{}},
			{Email: "nil-lists@x"},
			{Email: "we\"ird\\<&>\u2028\u2029\x00\x1f\n\t\r\b\f\xff\xfeé漢字@x", Roles: []usermgmt.Role{}, LastLogin: "never"},
			{Email: "acts@x", Roles: []usermgmt.Role{}, LockedUntil: &at, InviteExpiresAt: &at, InviteExpired: true,
				AllowedActions: []usermgmt.Action{"reset_password", "deactivate"},
				ActionReasons:  map[usermgmt.Action]string{"reset_mfa": "<no>", "deactivate": "You cannot.", "activate": "z"}},
		}}
	zero := actionsOf(usermgmt.Actions{})
	p.Users = append(p.Users, User{Email: "forms@x", Roles: []usermgmt.Role{}, AllowedActions: zero.allowed, ActionReasons: zero.reasons, forms: zero})
	want, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got := appendUserPage(nil, p)
	if !bytes.Equal(got, want) {
		t.Fatalf("hand encoder differs:\n got %s\nwant %s", got, want)
	}
	empty := &UserPage{Users: []User{}}
	want, _ = json.Marshal(empty)
	if got := appendUserPage(nil, empty); !bytes.Equal(got, want) {
		t.Fatalf("empty page:\n got %s\nwant %s", got, want)
	}
}
