package postgres_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// Text PostgreSQL cannot hold (a NUL byte, bytes that are not UTF-8) is a
// bad request, never a 500: the Manager refuses it before the store, the
// store answers invalid for what still reaches it, and header text the
// Manager records (the user agent) is made valid first. The root package
// asks the same of the memory store.
func TestBadTextOnPostgres(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	sys := usermgmt.AsSystem(ctx)
	admin, _, s := in.onboard(t, "admin@acme.test", usermgmt.RoleTenantAdmin)
	asAdmin := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: admin.ID, IP: "203.0.113.1"})

	t.Run("Manager", func(t *testing.T) {
		for name, do := range map[string]func() error{
			"SearchWithNUL": func() error {
				_, err := in.one.ListUsers(asAdmin, "acme", usermgmt.ListUsersQuery{Search: "a\x00b"})
				return err
			},
			"SearchNotUTF8": func() error {
				_, err := in.one.ListUsers(asAdmin, "acme", usermgmt.ListUsersQuery{Search: "a\xffb"})
				return err
			},
			"InviteTenantWithNUL": func() error {
				_, err := in.one.InviteUser(sys, "acme\x00", usermgmt.Invite{Email: "bob@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
				return err
			},
			"InviteEmailWithNUL": func() error {
				_, err := in.one.InviteUser(sys, "acme", usermgmt.Invite{Email: "bob\x00@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
				return err
			},
			"ForgotTenantWithNUL": func() error { return in.one.RequestPasswordReset(ctx, "a\x00b", "admin@acme.test") },
		} {
			t.Run(name, func(t *testing.T) {
				assert.Equal(t, usermgmt.CodeInvalid, usermgmt.ErrorCode(do()))
			})
		}
		for name, req := range map[string]usermgmt.LoginRequest{
			"LoginTenantWithNUL": {TenantID: "a\x00b", Email: "admin@acme.test", Password: pw},
			"LoginTenantNotUTF8": {TenantID: "a\xffb", Email: "admin@acme.test", Password: pw},
			"LoginEmailWithNUL":  {TenantID: "acme", Email: "admin\x00@acme.test", Password: pw},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := in.one.Login(ctx, req)
				assert.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err), "%v", err)
			})
		}
		t.Run("ActorWithBadText", func(t *testing.T) {
			odd := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: admin.ID, IP: "203.0.113.1\x00", UserAgent: "Mozilla/5.0 \xff caf\xc3"})
			u, err := in.one.InviteUser(odd, "acme", usermgmt.Invite{Email: "odd@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
			require.NoError(t, err)
			page, err := in.two.ListActivity(asAdmin, "acme", u.ID, usermgmt.ActivityQuery{Limit: 1})
			require.NoError(t, err)
			require.NotEmpty(t, page.Events)
			assert.True(t, utf8.ValidString(page.Events[0].UserAgent))
			assert.Contains(t, page.Events[0].UserAgent, "Mozilla/5.0")
		})
	})

	t.Run("HTTP", func(t *testing.T) {
		h, err := httpapi.NewHandler(in.one, httpapi.Options{ReturnTokens: true})
		require.NoError(t, err)
		do := func(method, path, body string, header map[string]string) *httptest.ResponseRecorder {
			var r *http.Request
			if body == "" {
				r = httptest.NewRequest(method, path, nil)
			} else {
				r = httptest.NewRequest(method, path, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
			}
			r.Header.Set("Authorization", "Bearer "+s.Token)
			for k, v := range header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		for name, c := range map[string]struct {
			method, path, body string
			want               int
		}{
			"SearchWithNUL":       {"GET", "/users?q=%00", "", http.StatusBadRequest},
			"SearchNULInWord":     {"GET", "/users?q=adm%00in", "", http.StatusBadRequest},
			"SearchNotUTF8":       {"GET", "/users?q=%FF", "", http.StatusBadRequest},
			"LoginTenantWithNUL":  {"POST", "/auth/login", `{"tenant":"a\u0000b","email":"admin@acme.test","password":"` + pw + `"}`, http.StatusUnauthorized},
			"LoginEmailWithNUL":   {"POST", "/auth/login", `{"tenant":"acme","email":"admin\u0000@acme.test","password":"` + pw + `"}`, http.StatusUnauthorized},
			"ForgotTenantWithNUL": {"POST", "/password/forgot", `{"tenant":"a\u0000b","email":"admin@acme.test"}`, http.StatusBadRequest},
		} {
			t.Run(name, func(t *testing.T) {
				w := do(c.method, c.path, c.body, nil)
				assert.Equal(t, c.want, w.Code, w.Body.String())
			})
		}
		t.Run("LoginWithUserAgentNotUTF8", func(t *testing.T) {
			w := do("POST", "/auth/login", `{"tenant":"acme","email":"admin@acme.test","password":"wrong password, long enough"}`,
				map[string]string{"User-Agent": "Mozilla/5.0 \xff\xfe"})
			assert.Equal(t, http.StatusUnauthorized, w.Code, "a failed login recorded with the agent: %s", w.Body.String())
			w = do("POST", "/auth/login", `{"tenant":"acme","email":"admin@acme.test","password":"`+pw+`"}`,
				map[string]string{"User-Agent": "x" + strings.Repeat("é", 300)}) // httpapi cuts it at 512 bytes, inside a character
			assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
		})
	})
}
