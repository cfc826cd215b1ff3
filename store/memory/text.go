package memory

import (
	"strings"
	"unicode/utf8"

	"github.com/usermgmt/usermgmt"
)

// checkText refuses, as PostgreSQL does (SQLSTATE 22021), text with a NUL
// byte or bytes that are not UTF-8, whether it is to be stored or looked
// up: an input the other stores refuse must not work here, or a host
// tested on the memory store meets a failure in production.
func checkText(ss ...string) error {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return usermgmt.Errorf(usermgmt.CodeInvalid, "memory: text holds a NUL byte or is not valid UTF-8")
		}
	}
	return nil
}

// checkRoles is checkText for a list of roles.
func checkRoles(roles []usermgmt.Role) error {
	for _, r := range roles {
		if err := checkText(string(r)); err != nil {
			return err
		}
	}
	return nil
}

func checkUser(u *usermgmt.UserRecord) error {
	if err := checkText(u.TenantID, u.Email, string(u.Status), u.PasswordHash, u.DisplayName, u.GivenName,
		u.FamilyName, u.ExternalID); err != nil {
		return err
	}
	if err := checkRoles(u.Roles); err != nil {
		return err
	}
	return checkRoles(u.DirectRoles)
}
