package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// When the host tells the tenant from the request (its own host name, in
// production), a link of another tenant is a bad link there and still
// works on its own tenant's host.
func TestLinksOfAnotherTenantAreRefused(t *testing.T) {
	f := newFixture(t, func(o *httpapi.Options) {
		o.TenantFromRequest = func(r *http.Request) (string, error) { return r.Header.Get("X-Test-Tenant"), nil }
	})
	f.invite(t, "globex", "ana@globex.test", usermgmt.RoleAgent)
	token := f.mail.Token("ana@globex.test")
	body := `{"token":"` + token + `","password":"` + password + `"}`

	w := f.do(t, req{method: "POST", path: "/invitations/accept", body: body, header: map[string]string{"X-Test-Tenant": "acme"}})
	wantError(t, w, http.StatusUnauthorized, "unauthenticated")
	w = f.do(t, req{method: "POST", path: "/invitations/accept", body: body, header: map[string]string{"X-Test-Tenant": "globex"}})
	if w.Code != http.StatusOK {
		t.Fatalf("accept on its own tenant's host: %d %s", w.Code, w.Body)
	}
}
