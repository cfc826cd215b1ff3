package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// TestAccount: GET /account shows the caller their own account and how
// many recovery codes are left; POST /account/recovery-codes replaces them
// with a TOTP code and answers the new ones once.
func TestAccount(t *testing.T) {
	f := newFixture(t, nil)
	u, tok, secret := f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent, usermgmt.RoleSupervisor)
	account := func() httpapi.Account {
		t.Helper()
		w := f.do(t, req{method: "GET", path: "/account", bearer: tok})
		if w.Code != 200 {
			t.Fatalf("GET /account: %d %s", w.Code, w.Body)
		}
		return decodeBody[httpapi.Account](t, w)
	}
	a := account()
	if a.User.ID != u.ID || a.User.Email != "ana@acme.test" || a.TenantID != "acme" || !a.MFAEnabled || a.RecoveryCodesLeft != 10 {
		t.Fatalf("account = %+v", a)
	}
	if len(a.User.Roles) != 2 {
		t.Fatalf("roles = %v", a.User.Roles)
	}

	regenerate := func(body, bearer string) *httptest.ResponseRecorder {
		return f.do(t, req{method: "POST", path: "/account/recovery-codes", body: body, bearer: bearer})
	}
	t.Run("Refusals", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "GET", path: "/account"}), 401, "unauthenticated")
		wantError(t, regenerate(`{"code":"123456"}`, ""), 401, "unauthenticated")
		wantError(t, regenerate(`{"code":"123456"}`, "ums_nope"), 401, "unauthenticated")
		wantError(t, regenerate(`{"code":"12345"}`, tok), 400, "invalid")
		wantError(t, regenerate(`{"code":"abcde-fghjk"}`, tok), 400, "invalid")
		wantError(t, regenerate(`{"codes":"123456"}`, tok), 400, "invalid")
		wantError(t, regenerate(`{"code":"000000"}`, tok), 401, "unauthenticated")
		if n := account().RecoveryCodesLeft; n != 10 {
			t.Fatalf("after refusals %d codes are left", n)
		}
	})

	w := regenerate(`{"code":"`+f.code(t, secret)+`"}`, tok)
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("regenerate: %d %q %s", w.Code, w.Header().Get("Cache-Control"), w.Body)
	}
	codes := decodeBody[httpapi.RecoveryCodes](t, w).RecoveryCodes
	shape := regexp.MustCompile(`^[a-z2-9]{5}-[a-z2-9]{5}$`)
	if len(codes) != 10 || !shape.MatchString(codes[0]) {
		t.Fatalf("codes = %v", codes)
	}

	// A new code signs in; the account then shows 9 left.
	w = f.do(t, req{method: "POST", path: "/auth/login", body: loginBody(u.Email, password)})
	challenge := decodeBody[httpapi.AuthResult](t, w).Challenge
	w = f.do(t, req{method: "POST", path: "/auth/mfa", body: `{"challenge":"` + challenge + `","code":"` + codes[0] + `"}`})
	if w.Code != 200 {
		t.Fatalf("sign in with a new code: %d %s", w.Code, w.Body)
	}
	if n := account().RecoveryCodesLeft; n != 9 {
		t.Fatalf("%d codes left after one was used", n)
	}

	t.Run("SessionCookie", func(t *testing.T) {
		cookie := &http.Cookie{Name: "__Host-usermgmt_session", Value: tok}
		w := f.do(t, req{method: "POST", path: "/account/recovery-codes", body: `{"code":"` + f.code(t, secret) + `"}`,
			cookies: []*http.Cookie{cookie}})
		if w.Code != 200 {
			t.Fatalf("regenerate with the session cookie: %d %s", w.Code, w.Body)
		}
		w = f.do(t, req{method: "GET", path: "/account", cookies: []*http.Cookie{cookie}})
		if a := decodeBody[httpapi.Account](t, w); w.Code != 200 || a.RecoveryCodesLeft != 10 {
			t.Fatalf("GET /account with the cookie: %d %s", w.Code, w.Body)
		}
	})
}
