package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/usermgmt/usermgmt"
)

// Text no store can hold (a NUL byte, bytes that are not UTF-8) in a
// search or in a tenant read from the body is a bad request or a failed
// login, the same on every store; store/postgres asks the same of
// PostgreSQL.
func TestBadTextIsABadRequest(t *testing.T) {
	f := newFixture(t, nil)
	_, admin, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	for name, c := range map[string]struct {
		r    req
		want int
	}{
		"SearchWithNUL":   {req{method: "GET", path: "/users?q=%00", bearer: admin}, http.StatusBadRequest},
		"SearchNULInWord": {req{method: "GET", path: "/users?q=adm%00in", bearer: admin}, http.StatusBadRequest},
		"SearchNotUTF8":   {req{method: "GET", path: "/users?q=%FF", bearer: admin}, http.StatusBadRequest},
		"LoginTenantWithNUL": {req{method: "POST", path: "/auth/login",
			body: `{"tenant":"a\u0000b","email":"admin@acme.test","password":"` + password + `"}`}, http.StatusUnauthorized},
		"LoginEmailWithNUL": {req{method: "POST", path: "/auth/login",
			body: `{"tenant":"acme","email":"admin\u0000@acme.test","password":"` + password + `"}`}, http.StatusUnauthorized},
		"ForgotTenantWithNUL": {req{method: "POST", path: "/password/forgot",
			body: `{"tenant":"a\u0000b","email":"admin@acme.test"}`}, http.StatusBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			w := f.do(t, c.r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
		})
	}
	t.Run("LoginWithUserAgentNotUTF8", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: "/auth/login", header: map[string]string{"User-Agent": "Mozilla/5.0 \xff\xfe"},
			body: `{"tenant":"acme","email":"admin@acme.test","password":"` + password + `"}`})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		// httpapi keeps 512 bytes of the agent: here that cuts a character.
		w = f.do(t, req{method: "POST", path: "/auth/login", header: map[string]string{"User-Agent": "x" + strings.Repeat("é", 300)},
			body: `{"tenant":"acme","email":"admin@acme.test","password":"` + password + `"}`})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
