package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usermgmt/usermgmt"
)

// FuzzAdminDecode throws arbitrary methods, paths, content types and bodies
// at the admin routes as a signed-in tenant_admin: the API must never
// panic and never answer 5xx, whatever the request.
func FuzzAdminDecode(f *testing.F) {
	fx := newFixture(f, nil)
	_, tok, _ := fx.active(f, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	u := fx.invite(f, "acme", "u@acme.test", usermgmt.RoleAgent)
	id := u.ID.String()
	seeds := []struct{ method, path, ctype, body string }{
		{"GET", "/users", "", ""},
		{"GET", "/users?status=invited&q=%00&limit=1", "", ""},
		{"GET", "/users?cursor=eyJ9", "", ""},
		{"POST", "/users/invitations", "application/json", `{"email":"a@acme.test","roles":["agent"]}`},
		{"POST", "/users/invitations", "application/json", `{"email":"\u0000@x","roles":[null]}`},
		{"POST", "/users/invitations", "application/json", `{"email":1e400}`},
		{"POST", "/users/invitations", "application/json; charset=utf-8", `{"roles":["tenant_admin","tenant_admin"]}`},
		{"POST", "/users/invitations", "text/plain", `{}`},
		{"POST", "/users/invitations", "application/json", `{"email":"x@y.z","roles":["agent"],"x":{}}`},
		{"GET", "/users/" + id, "", ""},
		{"GET", "/users/../users/" + id, "", ""},
		{"PUT", "/users/" + id + "/roles/supervisor", "", ""},
		{"DELETE", "/users/" + id + "/roles/%2F", "", ""},
		{"PUT", "/users/" + id + "/roles/" + strings.Repeat("r", 300), "application/json", `{}`},
		{"POST", "/users/" + id + "/invitation/resend", "application/json", `{}`},
		{"POST", "/users/" + id + "/password-reset", "application/json", `[]`},
		{"POST", "/users/" + id + "/logout", "", ""},
		{"GET", "/users/" + id + "/activity?cursor=" + strings.Repeat("A", 100), "", ""},
		{"POST", "/users/" + id + "/deactivate", "application/json", `{"a":`},
		{"POST", "/users/" + id + "/activate", "application/json", "\xff\xfe"},
		{"POST", "/users/00000000-0000-0000-0000-000000000000/activate", "", ""},
		{"GET", "/users/not-a-uuid/activity", "", ""},
		{"PATCH", "/users", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ctype, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, ctype, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") || strings.ContainsAny(method, " \r\n\t/") || method == "" {
			t.Skip()
		}
		if !strings.HasPrefix(path, "/users") {
			path = "/users" + path
		}
		r, err := newRequest(method, path, body)
		if err != nil {
			t.Skip()
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		fx.raw.ServeHTTP(w, r)
		checkExchange(t, r, []byte(body), w)
		if w.Code >= 500 {
			t.Fatalf("%s %s (%q, %q): %d %s", method, path, ctype, body, w.Code, w.Body)
		}
	})
}
