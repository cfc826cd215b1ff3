package httpapi_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

func loginBody(email, pw string) string {
	return `{"tenant":"acme","email":"` + email + `","password":"` + pw + `"}`
}

func TestSignInFlow(t *testing.T) {
	f := newFixture(t, func(o *httpapi.Options) { o.ReturnTokens = false })
	_, _, secret := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)

	w := f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("admin@acme.test", password)})
	res := decodeBody[httpapi.AuthResult](t, w)
	if w.Code != 200 || res.Status != httpapi.StatusMFARequired || res.Challenge == "" {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Fatal("cookies set before the second factor")
	}

	t.Run("WrongPasswordIs401", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("admin@acme.test", "wrong password here")}), 401, "unauthenticated")
		wantError(t, f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("ghost@acme.test", password)}), 401, "unauthenticated")
	})
	t.Run("WrongCodeIs401", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/auth/mfa", body: `{"challenge":"` + res.Challenge + `","code":"000000"}`}), 401, "unauthenticated")
	})
	t.Run("MissingTenantIs400", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/auth/login", body: `{"email":"admin@acme.test","password":"x"}`}), 400, "invalid")
	})

	w = f.do(t, req{method: "POST", path: "/auth/mfa",
		body: `{"challenge":"` + res.Challenge + `","code":"` + f.code(t, secret) + `","trust_device":true}`})
	signed := decodeBody[httpapi.AuthResult](t, w)
	if w.Code != 200 || signed.Status != httpapi.StatusSignedIn || signed.Session == nil {
		t.Fatalf("mfa: %d %s", w.Code, w.Body)
	}
	if signed.Session.Token != "" || signed.Session.RefreshToken != "" || signed.Session.DeviceToken != "" {
		t.Fatal("tokens in the body without ReturnTokens")
	}
	cookies := w.Result().Cookies()
	t.Run("CookieAttributes", func(t *testing.T) {
		for _, name := range []string{"__Host-usermgmt_session", "__Host-usermgmt_refresh", "__Host-usermgmt_device"} {
			c := cookieByName(cookies, name)
			if c == nil {
				t.Fatalf("no cookie %s in %v", name, cookies)
			}
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 {
				t.Fatalf("cookie %s attributes: %+v", name, c)
			}
		}
		raw := strings.Join(w.Result().Header.Values("Set-Cookie"), "\n")
		for _, attr := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if strings.Count(raw, attr) != 3 {
				t.Fatalf("Set-Cookie lacks %s: %s", attr, raw)
			}
		}
		if d := cookieByName(cookies, "__Host-usermgmt_device"); d.MaxAge < 29*24*3600 {
			t.Fatalf("device cookie lives %ds", d.MaxAge)
		}
	})
	session := cookieByName(cookies, "__Host-usermgmt_session")
	refresh := cookieByName(cookies, "__Host-usermgmt_refresh")
	device := cookieByName(cookies, "__Host-usermgmt_device")

	t.Run("SessionCookieAuthenticates", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/me", cookies: []*http.Cookie{session}})
		me := decodeBody[httpapi.Me](t, w)
		if w.Code != 200 || me.User.Email != "admin@acme.test" || me.TenantID != "acme" || len(me.Permissions) != len(usermgmt.AllPermissions()) {
			t.Fatalf("me: %d %s", w.Code, w.Body)
		}
	})
	t.Run("TrustedDeviceSkipsTOTP", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("admin@acme.test", password), cookies: []*http.Cookie{device}})
		if res := decodeBody[httpapi.AuthResult](t, w); res.Status != httpapi.StatusSignedIn {
			t.Fatalf("login with device cookie: %s", w.Body)
		}
	})
	t.Run("RefreshRotatesCookies", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{refresh}})
		if w.Code != 200 {
			t.Fatalf("refresh: %d %s", w.Code, w.Body)
		}
		ns := cookieByName(w.Result().Cookies(), "__Host-usermgmt_session")
		if ns == nil || ns.Value == session.Value {
			t.Fatal("refresh did not rotate the session cookie")
		}
		// A retry within the reuse window gets the same cookies back.
		w = f.do(t, req{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{refresh}})
		if again := cookieByName(w.Result().Cookies(), "__Host-usermgmt_session"); w.Code != 200 || again == nil || again.Value != ns.Value {
			t.Fatalf("retry within the reuse window: %d %s", w.Code, w.Body)
		}
		// Past it the spent refresh token is refused and its cookies are cleared.
		f.clock.Advance(10 * time.Second)
		w = f.do(t, req{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{refresh}})
		wantError(t, w, 401, "unauthenticated")
		if c := cookieByName(w.Result().Cookies(), "__Host-usermgmt_session"); c == nil || c.MaxAge >= 0 {
			t.Fatalf("refused refresh did not clear the cookie: %+v", c)
		}
		session = ns
	})
	t.Run("LogoutClearsSession", func(t *testing.T) {
		// Reuse is a theft signal: the whole session was revoked, so sign in again.
		w := f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("admin@acme.test", password), cookies: []*http.Cookie{device}})
		s := cookieByName(w.Result().Cookies(), "__Host-usermgmt_session")
		w = f.do(t, req{method: "POST", path: "/auth/logout", cookies: []*http.Cookie{s}})
		if w.Code != 204 {
			t.Fatalf("logout: %d", w.Code)
		}
		if c := cookieByName(w.Result().Cookies(), "__Host-usermgmt_session"); c == nil || c.MaxAge >= 0 {
			t.Fatal("logout did not clear the session cookie")
		}
		if cookieByName(w.Result().Cookies(), "__Host-usermgmt_device") != nil {
			t.Fatal("logout touched the trusted-device cookie")
		}
		wantError(t, f.do(t, req{method: "GET", path: "/me", cookies: []*http.Cookie{s}}), 401, "unauthenticated")
	})
}

func TestInvitationAndPasswordRoutes(t *testing.T) {
	f := newFixture(t, nil)
	f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	f.invite(t, "acme", "new@acme.test", usermgmt.RoleAgent)
	token := f.mail.Token("new@acme.test")

	t.Run("WeakPasswordIs400AndLinkStillWorks", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/invitations/accept", body: `{"token":"` + token + `","password":"short"}`}), 400, "invalid")
	})
	t.Run("BadTokenIs401", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/invitations/accept", body: `{"token":"umi_nope","password":"` + password + `"}`}), 401, "unauthenticated")
	})
	w := f.do(t, req{method: "POST", path: "/invitations/accept", body: `{"token":"` + token + `","password":"` + password + `"}`})
	res := decodeBody[httpapi.AuthResult](t, w)
	e := res.Enrollment
	if w.Code != 200 || res.Status != httpapi.StatusEnrollmentRequired || e == nil || e.Secret == "" || e.Token == "" ||
		!strings.HasPrefix(e.URI, "otpauth://totp/") || len(e.RecoveryCodes) == 0 ||
		!strings.HasPrefix(e.QRDataURL, "data:image/png;base64,") {
		t.Fatalf("accept: %d %s", w.Code, w.Body)
	}
	if png, err := base64.StdEncoding.DecodeString(e.QRPNG); err != nil || string(png[1:4]) != "PNG" {
		t.Fatalf("qr_png is not a base64 PNG: %v", err)
	}
	t.Run("UsedLinkIs401", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/invitations/accept", body: `{"token":"` + token + `","password":"` + password + `"}`}), 401, "unauthenticated")
	})
	w = f.do(t, req{method: "POST", path: "/invitations/mfa", body: `{"token":"` + e.Token + `","code":"` + f.code(t, e.Secret) + `"}`})
	if res := decodeBody[httpapi.AuthResult](t, w); w.Code != 200 || res.Status != httpapi.StatusSignedIn || res.Session.Token == "" {
		t.Fatalf("enrol: %d %s", w.Code, w.Body)
	}
	if cookieByName(w.Result().Cookies(), "__Host-usermgmt_session") == nil {
		t.Fatal("enrolment did not set the session cookie")
	}

	t.Run("ForgotAnswersTheSameForUnknownEmail", func(t *testing.T) {
		f.clock.Advance(2 * time.Minute) // past the mail interval of the invitation
		a := f.do(t, req{method: "POST", path: "/password/forgot", body: `{"tenant":"acme","email":"new@acme.test"}`})
		b := f.do(t, req{method: "POST", path: "/password/forgot", body: `{"tenant":"acme","email":"ghost@acme.test"}`})
		if a.Code != 202 || b.Code != 202 || a.Body.String() != b.Body.String() {
			t.Fatalf("forgot: %d %s / %d %s", a.Code, a.Body, b.Code, b.Body)
		}
		wantError(t, f.do(t, req{method: "POST", path: "/password/forgot", body: `{"tenant":"acme","email":"not an email"}`}), 400, "invalid")
	})
	t.Run("ResetWithMailedToken", func(t *testing.T) {
		f.m.Close() // the forgot-password mail goes out in the background
		msg, _ := f.mail.LastTo("new@acme.test")
		if msg.Kind != usermgmt.MessagePasswordReset {
			t.Fatalf("last mail = %+v", msg.Kind)
		}
		tok := f.mail.Token("new@acme.test")
		w := f.do(t, req{method: "POST", path: "/password/reset", body: `{"token":"` + tok + `","password":"a brand new passphrase"}`})
		if w.Code != 204 {
			t.Fatalf("reset: %d %s", w.Code, w.Body)
		}
		wantError(t, f.do(t, req{method: "POST", path: "/password/reset", body: `{"token":"` + tok + `","password":"a brand new passphrase"}`}), 401, "unauthenticated")
		w = f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("new@acme.test", "a brand new passphrase")})
		if res := decodeBody[httpapi.AuthResult](t, w); res.Status != httpapi.StatusMFARequired {
			t.Fatalf("login after reset: %s", w.Body)
		}
	})
	t.Run("ExpiredEnrolmentIs401Expired", func(t *testing.T) {
		f.invite(t, "acme", "slow@acme.test", usermgmt.RoleAgent)
		w := f.do(t, req{method: "POST", path: "/invitations/accept", body: `{"token":"` + f.mail.Token("slow@acme.test") + `","password":"` + password + `"}`})
		e := decodeBody[httpapi.AuthResult](t, w).Enrollment
		f.clock.Advance(time.Hour)
		wantError(t, f.do(t, req{method: "POST", path: "/invitations/mfa", body: `{"token":"` + e.Token + `","code":"` + f.code(t, e.Secret) + `"}`}), 401, "expired")
	})
}

func TestLoginEnrollmentRequired(t *testing.T) {
	f := newFixture(t, nil)
	f.invite(t, "acme", "half@acme.test", usermgmt.RoleAgent)
	if _, err := f.m.AcceptInvite(context.Background(), f.mail.Token("half@acme.test"), password); err != nil {
		t.Fatal(err)
	}
	w := f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("half@acme.test", password)})
	res := decodeBody[httpapi.AuthResult](t, w)
	if res.Status != httpapi.StatusEnrollmentRequired || res.Enrollment == nil || res.Enrollment.QRDataURL == "" {
		t.Fatalf("login of a half-enrolled user: %s", w.Body)
	}
}

func TestRateLimits(t *testing.T) {
	t.Run("PerIP", func(t *testing.T) {
		f := newFixture(t, func(o *httpapi.Options) {
			o.RateLimits = httpapi.RateLimits{PerIP: httpapi.Limit{Burst: 2, Per: time.Minute}, PerAccount: httpapi.Limit{Burst: 100, Per: time.Minute}}
		})
		for i := range 2 {
			w := f.do(t, req{method: "POST", path: "/password/forgot", body: `{"tenant":"acme","email":"a` + strconv.Itoa(i) + `@acme.test"}`})
			if w.Code != 202 {
				t.Fatalf("request %d: %d", i, w.Code)
			}
		}
		w := f.do(t, req{method: "POST", path: "/password/forgot", body: `{"tenant":"acme","email":"z@acme.test"}`})
		wantError(t, w, 429, "rate_limited")
		if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); ra < 1 || ra > 60 {
			t.Fatalf("Retry-After = %q", w.Header().Get("Retry-After"))
		}
		// Another route group has its own bucket; time refills this one.
		if w := f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("z@acme.test", "whatever it is")}); w.Code != 401 {
			t.Fatalf("login after forgot limit: %d", w.Code)
		}
		f.clock.Advance(31 * time.Second)
		if w := f.do(t, req{method: "POST", path: "/password/forgot", body: `{"tenant":"acme","email":"z@acme.test"}`}); w.Code != 202 {
			t.Fatalf("after refill: %d", w.Code)
		}
	})
	t.Run("PerAccountAcrossIPs", func(t *testing.T) {
		f := newFixture(t, func(o *httpapi.Options) {
			o.RateLimits = httpapi.RateLimits{PerAccount: httpapi.Limit{Burst: 2, Per: time.Minute}}
		})
		for i, ip := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
			r := req{method: "POST", path: "/auth/mfa", body: `{"challenge":"umc_same","code":"123456"}`}
			w := doFrom(t, f, r, ip+":1234", "")
			if i < 2 {
				wantError(t, w, 401, "unauthenticated")
			} else {
				wantError(t, w, 429, "rate_limited")
			}
		}
	})
	t.Run("PerAccountIsOneBucketForEverySpellingOfAnEmail", func(t *testing.T) {
		f := newFixture(t, func(o *httpapi.Options) {
			o.RateLimits = httpapi.RateLimits{PerAccount: httpapi.Limit{Burst: 2, Per: time.Minute}}
		})
		// NFC, NFD and upper case with spaces: one address to the Manager.
		for i, email := range []string{`zo\u00eb@acme.test`, `zoe\u0308@acme.test`, ` ZO\u00cb@acme.test `} {
			w := f.do(t, req{method: "POST", path: "/password/forgot", body: `{"tenant":"acme","email":"` + email + `"}`})
			if i < 2 {
				if w.Code != 202 {
					t.Fatalf("spelling %d: %d %s", i, w.Code, w.Body)
				}
			} else {
				wantError(t, w, 429, "rate_limited")
			}
		}
	})
	t.Run("InvitationAcceptIsLimited", func(t *testing.T) {
		f := newFixture(t, func(o *httpapi.Options) {
			o.RateLimits = httpapi.RateLimits{PerIP: httpapi.Limit{Burst: 1, Per: time.Minute}}
		})
		body := `{"token":"umi_x","password":"` + password + `"}`
		wantError(t, f.do(t, req{method: "POST", path: "/invitations/accept", body: body}), 401, "unauthenticated")
		wantError(t, f.do(t, req{method: "POST", path: "/invitations/accept", body: body}), 429, "rate_limited")
	})
}

// doFrom sends r from remote address addr with an X-Forwarded-For header.
func doFrom(t *testing.T, f *fixture, r req, addr, xff string) *httptest.ResponseRecorder {
	t.Helper()
	if r.header == nil {
		r.header = map[string]string{}
	}
	if xff != "" {
		r.header["X-Forwarded-For"] = xff
	}
	r.header["X-Test-Remote-Addr"] = addr
	return f.do(t, r)
}

func TestClientIP(t *testing.T) {
	limited := func(o *httpapi.Options) {
		o.RateLimits = httpapi.RateLimits{PerIP: httpapi.Limit{Burst: 1, Per: time.Hour}}
	}
	forgot := req{method: "POST", path: "/password/forgot", body: `{"tenant":"acme","email":"a@acme.test"}`}
	t.Run("ForwardedForIgnoredByDefault", func(t *testing.T) {
		f := newFixture(t, limited)
		if w := doFrom(t, f, forgot, "203.0.113.9:5000", "1.1.1.1"); w.Code != 202 {
			t.Fatal(w.Code)
		}
		wantError(t, doFrom(t, f, forgot, "203.0.113.9:5000", "2.2.2.2"), 429, "rate_limited")
	})
	t.Run("ForwardedForReadFromTrustedProxy", func(t *testing.T) {
		f := newFixture(t, func(o *httpapi.Options) {
			limited(o)
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		})
		if w := doFrom(t, f, forgot, "10.0.0.1:5000", "1.1.1.1"); w.Code != 202 {
			t.Fatal(w.Code)
		}
		if w := doFrom(t, f, forgot, "10.0.0.1:5000", "2.2.2.2, 10.0.0.7"); w.Code != 202 {
			t.Fatal(w.Code)
		}
		// A client cannot spoof: only the hop the proxy appended counts.
		wantError(t, doFrom(t, f, forgot, "10.0.0.1:5000", "9.9.9.9, 1.1.1.1"), 429, "rate_limited")
	})
	t.Run("ActivityRecordsClientIP", func(t *testing.T) {
		f := newFixture(t, func(o *httpapi.Options) {
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		})
		_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
		u := f.invite(t, "acme", "u@acme.test", usermgmt.RoleAgent)
		doFrom(t, f, req{method: "PUT", path: "/users/" + u.ID.String() + "/roles/supervisor", bearer: tok}, "10.1.2.3:80", "198.51.100.77")
		page, err := f.m.ListActivity(usermgmt.AsSystem(context.Background()), "acme", u.ID, usermgmt.ActivityQuery{Limit: 1})
		if err != nil || page.Events[0].IP != "198.51.100.77" {
			t.Fatalf("event IP: %+v %v", page.Events, err)
		}
	})
}

func TestInsecureDevCookies(t *testing.T) {
	f := newFixture(t, func(o *httpapi.Options) { o.Insecure = true })
	_, _, secret := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	res := decodeBody[httpapi.AuthResult](t, f.do(t, req{method: "POST", path: "/auth/login", body: loginBody("admin@acme.test", password)}))
	w := f.do(t, req{method: "POST", path: "/auth/mfa", body: `{"challenge":"` + res.Challenge + `","code":"` + f.code(t, secret) + `"}`})
	c := cookieByName(w.Result().Cookies(), "usermgmt_session")
	if c == nil || c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("insecure session cookie: %+v (all %v)", c, w.Result().Cookies())
	}
}

func TestHostHooks(t *testing.T) {
	f := newFixture(t, nil)
	admin, _, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	h, err := httpapi.NewHandler(f.m, httpapi.Options{
		Authenticate: func(r *http.Request) (usermgmt.Principal, error) {
			if r.Header.Get("X-Host-User") != "admin" {
				return usermgmt.Principal{}, usermgmt.Errorf(usermgmt.CodeUnauthenticated, "no host session")
			}
			return usermgmt.Principal{UserID: admin.ID, TenantID: "acme"}, nil
		},
		TenantFromRequest: func(r *http.Request) (string, error) {
			if r.Host != "acme.example.com" {
				return "", usermgmt.Errorf(usermgmt.CodeNotFound, "no such tenant")
			}
			return "acme", nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.serve(t, h)
	t.Run("AuthenticateHookSuppliesPrincipal", func(t *testing.T) {
		if w := f.do(t, req{method: "GET", path: "/users", header: map[string]string{"X-Host-User": "admin"}}); w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		wantError(t, f.do(t, req{method: "GET", path: "/users"}), 401, "unauthenticated")
	})
	t.Run("MeReadsTheUserOfAHostPrincipal", func(t *testing.T) {
		// A host's Principal carries no User: /me reads it.
		w := f.do(t, req{method: "GET", path: "/me", header: map[string]string{"X-Host-User": "admin"}})
		if me := decodeBody[httpapi.Me](t, w); w.Code != 200 || me.User.ID != admin.ID || me.User.Email != "admin@acme.test" ||
			len(me.Permissions) == 0 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("TenantFromRequestWins", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: "http://acme.example.com/auth/login", body: `{"email":"admin@acme.test","password":"` + password + `"}`})
		if res := decodeBody[httpapi.AuthResult](t, w); res.Status != httpapi.StatusMFARequired {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		wantError(t, f.do(t, req{method: "POST", path: "http://other.example.com/auth/login", body: `{"email":"admin@acme.test","password":"x"}`}), 404, "not_found")
	})
}
