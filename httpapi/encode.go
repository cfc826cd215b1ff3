package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// The user list is the page's hot path: it is encoded by hand, since
// encoding/json's reflection and its re-validation of every time and UUID
// marshaller cost most of a request. The output is byte-for-byte what
// encoding/json writes for UserPage (a test holds the two together).

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func writeUserPage(w http.ResponseWriter, p *UserPage) {
	bp := bufPool.Get().(*[]byte)
	b := appendUserPage((*bp)[:0], p)
	b = append(b, '\n')
	setJSONHeaders(w.Header())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= 1<<20 {
		*bp = b
		bufPool.Put(bp)
	}
}

func appendUserPage(b []byte, p *UserPage) []byte {
	b = append(b, `{"users":[`...)
	for i := range p.Users {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendUser(b, &p.Users[i])
	}
	b = append(b, `],"counts":{"active":`...)
	b = strconv.AppendInt(b, int64(p.Counts.Active), 10)
	b = append(b, `,"invited":`...)
	b = strconv.AppendInt(b, int64(p.Counts.Invited), 10)
	b = append(b, `,"deactivated":`...)
	b = strconv.AppendInt(b, int64(p.Counts.Deactivated), 10)
	b = append(b, `,"all":`...)
	b = strconv.AppendInt(b, int64(p.Counts.All), 10)
	b = append(b, `},"next_cursor":`...)
	b = appendString(b, p.NextCursor)
	return append(b, '}')
}

func appendUser(b []byte, u *User) []byte {
	b = append(b, `{"id":"`...)
	b = appendUUID(b, u.ID)
	b = append(b, `","email":`...)
	b = appendString(b, u.Email)
	b = append(b, `,"display_name":`...)
	b = appendString(b, u.DisplayName)
	b = append(b, `,"given_name":`...)
	b = appendString(b, u.GivenName)
	b = append(b, `,"family_name":`...)
	b = appendString(b, u.FamilyName)
	b = append(b, `,"external_id":`...)
	b = appendString(b, u.ExternalID)
	b = append(b, `,"employee_number":`...)
	b = appendString(b, u.EmployeeNumber)
	b = append(b, `,"department":`...)
	b = appendString(b, u.Department)
	b = append(b, `,"manager_id":`...)
	b = appendString(b, u.ManagerID)
	b = append(b, `,"status":`...)
	b = appendString(b, string(u.Status))
	b = append(b, `,"roles":`...)
	b = appendRoles(b, u.Roles)
	b = append(b, `,"direct_roles":`...)
	b = appendRoles(b, u.DirectRoles)
	b = append(b, `,"group_roles":`...)
	if u.GroupRoles == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, g := range u.GroupRoles {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"role":`...)
			b = appendString(b, string(g.Role))
			b = append(b, `,"group_id":"`...)
			b = appendUUID(b, g.GroupID)
			b = append(b, `","group":`...)
			b = appendString(b, g.Group)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"mfa_enabled":`...)
	b = strconv.AppendBool(b, u.MFAEnabled)
	b = append(b, `,"mfa":`...)
	b = appendString(b, u.MFA)
	b = append(b, `,"last_login_at":`...)
	if u.LastLoginAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, *u.LastLoginAt)
	}
	b = append(b, `,"last_login":`...)
	b = appendString(b, u.LastLogin)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, u.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, u.UpdatedAt)
	b = append(b, `,"locked_until":`...)
	b = appendTimePtr(b, u.LockedUntil)
	b = append(b, `,"invite_expires_at":`...)
	b = appendTimePtr(b, u.InviteExpiresAt)
	b = append(b, `,"invite_expired":`...)
	b = strconv.AppendBool(b, u.InviteExpired)
	b = append(b, `,"erased":`...)
	b = strconv.AppendBool(b, u.Erased)
	b = append(b, `,"allowed_actions":`...)
	switch {
	case u.forms != nil: // as h.user made it: encoded once for every user alike
		b = append(b, u.forms.allowedJSON...)
		b = append(b, `,"action_reasons":`...)
		return append(append(b, u.forms.reasonsJSON...), '}')
	case u.AllowedActions == nil:
		b = append(b, "null"...)
	default:
		b = appendStrings(b, u.AllowedActions)
	}
	b = append(b, `,"action_reasons":`...)
	b = appendReasons(b, u.ActionReasons)
	return append(b, '}')
}

// appendRoles writes a list of roles; nil as null, as encoding/json does.
func appendRoles(b []byte, roles []usermgmt.Role) []byte {
	if roles == nil {
		return append(b, "null"...)
	}
	return appendStrings(b, roles)
}

func appendTimePtr(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendTime(b, *t)
}

// appendStrings writes a list of strings, [] for none.
func appendStrings[S ~string](b []byte, xs []S) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(x))
	}
	return append(b, ']')
}

// appendReasons writes the map with its keys sorted, as encoding/json does.
func appendReasons(b []byte, m map[usermgmt.Action]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [16]usermgmt.Action
	keys := buf[:0]
	for a := range m {
		keys = append(keys, a)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, a := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(a))
		b = append(b, ':')
		b = appendString(b, m[a])
	}
	return append(b, '}')
}

func appendUUID(b []byte, id uuid.UUID) []byte {
	const hex = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString writes s as a JSON string the way encoding/json does,
// HTML-safe escapes included.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
