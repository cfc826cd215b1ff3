package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

const (
	uaChromeMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) " +
		"Chrome/131.0.0.0 Safari/537.36"
	uaFirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)

// signedIn is a session made through the API.
type signedIn struct {
	token, device string
	id            uuid.UUID
}

// signIn signs email in through POST /auth/login and /auth/mfa from a
// browser with User-Agent ua, trusting it when trust is set.
func (f *fixture) signIn(t testing.TB, tenant, email, secret, ua string, trust bool) signedIn {
	t.Helper()
	h := map[string]string{"User-Agent": ua}
	w := f.do(t, req{method: "POST", path: "/auth/login", header: h,
		body: fmt.Sprintf(`{"tenant":%q,"email":%q,"password":%q}`, tenant, email, password)})
	res := decodeBody[httpapi.AuthResult](t, w)
	if res.Status != httpapi.StatusMFARequired {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	w = f.do(t, req{method: "POST", path: "/auth/mfa", header: h,
		body: fmt.Sprintf(`{"challenge":%q,"code":%q,"trust_device":%t}`, res.Challenge, f.code(t, secret), trust)})
	res = decodeBody[httpapi.AuthResult](t, w)
	if res.Status != httpapi.StatusSignedIn {
		t.Fatalf("mfa: %d %s", w.Code, w.Body)
	}
	me := decodeBody[httpapi.Me](t, f.do(t, req{method: "GET", path: "/me", bearer: res.Session.Token}))
	return signedIn{token: res.Session.Token, device: res.Session.DeviceToken, id: me.SessionID}
}

func (f *fixture) sessions(t testing.TB, path, bearer string) httpapi.Sessions {
	t.Helper()
	w := f.do(t, req{method: "GET", path: path, bearer: bearer})
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return decodeBody[httpapi.Sessions](t, w)
}

func TestSessionRoutes(t *testing.T) {
	f := newFixture(t, nil)
	admin, adminTok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	ana, _, secret := f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	bo, boTok, _ := f.active(t, "acme", "bo@acme.test", usermgmt.RoleAgent)
	_, globexTok, _ := f.active(t, "globex", "admin@globex.test", usermgmt.RoleTenantAdmin)
	mac := f.signIn(t, "acme", ana.Email, secret, uaChromeMac, true)
	win := f.signIn(t, "acme", ana.Email, secret, uaFirefoxWindows, false)
	anaPath := "/users/" + ana.ID.String()

	t.Run("TheAdminSeesReadableSessionsAndDevices", func(t *testing.T) {
		got := f.sessions(t, anaPath+"/sessions", adminTok)
		if len(got.Sessions) != 3 {
			t.Fatalf("sessions = %+v", got.Sessions)
		}
		s := got.Sessions[0]
		if s.ID != win.id || s.Browser != "Firefox 133" || s.Device != "Windows" || s.UserAgent != uaFirefoxWindows ||
			s.Current || s.LastSeenAt.IsZero() || s.IP == "" {
			t.Fatalf("newest session = %+v", s)
		}
		if s := got.Sessions[1]; s.ID != mac.id || s.Browser != "Chrome 131" || s.Device != "macOS" {
			t.Fatalf("second session = %+v", s)
		}
		if len(got.Devices) != 1 || got.Devices[0].Browser != "Chrome 131" || got.Devices[0].Device != "macOS" {
			t.Fatalf("devices = %+v", got.Devices)
		}
		// The raw answer has the contract's names.
		var raw map[string][]map[string]any
		w := f.do(t, req{method: "GET", path: anaPath + "/sessions", bearer: adminTok})
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "created_at", "last_seen_at", "ip", "user_agent", "device", "browser", "current"} {
			if _, ok := raw["sessions"][0][k]; !ok {
				t.Errorf("a session has no %q: %v", k, raw["sessions"][0])
			}
		}
		for _, k := range []string{"id", "created_at", "expires_at", "device", "browser"} {
			if _, ok := raw["devices"][0][k]; !ok {
				t.Errorf("a device has no %q: %v", k, raw["devices"][0])
			}
		}
	})
	t.Run("ThePersonSeesTheirOwnWithTheCurrentOne", func(t *testing.T) {
		got := f.sessions(t, "/account/sessions", mac.token)
		current := 0
		for _, s := range got.Sessions {
			if s.Current {
				current++
				if s.ID != mac.id {
					t.Fatalf("current = %v, want %v", s.ID, mac.id)
				}
			}
		}
		if current != 1 || len(got.Sessions) != 3 {
			t.Fatalf("sessions = %+v", got.Sessions)
		}
		if mine := f.sessions(t, "/account/sessions", boTok); len(mine.Sessions) != 1 || !mine.Sessions[0].Current {
			t.Fatalf("bo's own = %+v", mine)
		}
	})
	t.Run("APersonCannotReachAnotherUsersSessionThroughAccount", func(t *testing.T) {
		w := f.do(t, req{method: "DELETE", path: "/account/sessions/" + mac.id.String(), bearer: boTok})
		wantError(t, w, 404, "not_found")
		w = f.do(t, req{method: "DELETE", path: "/account/devices/" + f.sessions(t, anaPath+"/sessions", adminTok).Devices[0].ID.String(), bearer: boTok})
		wantError(t, w, 404, "not_found")
		w = f.do(t, req{method: "GET", path: anaPath + "/sessions", bearer: boTok})
		wantError(t, w, 403, "permission_denied")
		w = f.do(t, req{method: "DELETE", path: anaPath + "/sessions/" + mac.id.String(), bearer: boTok})
		wantError(t, w, 403, "permission_denied")
		if w := f.do(t, req{method: "GET", path: "/me", bearer: mac.token}); w.Code != 200 {
			t.Fatalf("ana's session was touched: %d", w.Code)
		}
	})
	t.Run("AnAdminOfAnotherTenantCannotTouchThem", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "GET", path: anaPath + "/sessions", bearer: globexTok}), 404, "not_found")
		w := f.do(t, req{method: "DELETE", path: anaPath + "/sessions/" + mac.id.String(), bearer: globexTok})
		wantError(t, w, 404, "not_found")
		w = f.do(t, req{method: "DELETE", path: "/account/sessions/" + mac.id.String(), bearer: globexTok})
		wantError(t, w, 404, "not_found")
		if w := f.do(t, req{method: "GET", path: "/me", bearer: mac.token}); w.Code != 200 {
			t.Fatalf("ana's session was touched: %d", w.Code)
		}
	})
	t.Run("BadIDsAre400", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "DELETE", path: anaPath + "/sessions/nope", bearer: adminTok}), 400, "invalid")
		wantError(t, f.do(t, req{method: "DELETE", path: "/account/devices/nope", bearer: boTok}), 400, "invalid")
		wantError(t, f.do(t, req{method: "GET", path: "/account/sessions?x=1", bearer: boTok}), 400, "invalid")
	})
	t.Run("TheAdminRevokesOneSession", func(t *testing.T) {
		w := f.do(t, req{method: "DELETE", path: anaPath + "/sessions/" + win.id.String(), bearer: adminTok})
		if w.Code != 204 {
			t.Fatalf("revoke: %d %s", w.Code, w.Body)
		}
		wantError(t, f.do(t, req{method: "GET", path: "/me", bearer: win.token}), 401, "unauthenticated")
		if w := f.do(t, req{method: "GET", path: "/me", bearer: mac.token}); w.Code != 200 {
			t.Fatalf("the other session: %d", w.Code)
		}
		if w := f.do(t, req{method: "GET", path: "/me", bearer: adminTok}); w.Code != 200 {
			t.Fatalf("the admin's own: %d", w.Code)
		}
		_ = admin
	})
	t.Run("ThePersonRevokesADevice", func(t *testing.T) {
		did := f.sessions(t, "/account/sessions", mac.token).Devices[0].ID
		w := f.do(t, req{method: "DELETE", path: "/account/devices/" + did.String(), bearer: mac.token})
		if w.Code != 204 {
			t.Fatalf("revoke device: %d %s", w.Code, w.Body)
		}
		if got := f.sessions(t, "/account/sessions", mac.token); len(got.Devices) != 0 {
			t.Fatalf("devices = %+v", got.Devices)
		}
		w = f.do(t, req{method: "POST", path: "/auth/login",
			body: fmt.Sprintf(`{"tenant":"acme","email":%q,"password":%q,"device_token":%q}`, ana.Email, password, mac.device)})
		if res := decodeBody[httpapi.AuthResult](t, w); res.Status != httpapi.StatusMFARequired {
			t.Fatalf("the untrusted device signs in with %q", res.Status)
		}
	})
	t.Run("RevokingTheCurrentSessionThroughAccountSignsOut", func(t *testing.T) {
		w := f.do(t, req{method: "DELETE", path: "/account/sessions/" + mac.id.String(), bearer: mac.token})
		if w.Code != 204 {
			t.Fatalf("revoke own: %d %s", w.Code, w.Body)
		}
		cleared := 0
		for _, c := range w.Result().Cookies() {
			if c.MaxAge < 0 && c.Value == "" {
				cleared++
			}
		}
		if cleared != 2 {
			t.Fatalf("cookies = %v, want the session and refresh cookies cleared", w.Result().Cookies())
		}
		wantError(t, f.do(t, req{method: "GET", path: "/account/sessions", bearer: mac.token}), 401, "unauthenticated")
	})
	t.Run("TheActivityLogNamesWhoRevoked", func(t *testing.T) {
		page := decodeBody[httpapi.ActivityPage](t, f.do(t, req{method: "GET", path: anaPath + "/activity", bearer: adminTok}))
		want := []usermgmt.EventType{usermgmt.EventSessionRevoked, usermgmt.EventDeviceRevoked, usermgmt.EventSessionRevoked}
		for i, typ := range want {
			if page.Events[i].Type != typ || page.Events[i].ActorID == nil {
				t.Fatalf("event %d = %+v, want %s", i, page.Events[i], typ)
			}
		}
		if *page.Events[0].ActorID != ana.ID || *page.Events[2].ActorID != admin.ID {
			t.Fatalf("actors = %v, %v", *page.Events[0].ActorID, *page.Events[2].ActorID)
		}
		_ = bo
	})
}
