package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/testlog"
)

func TestRequestHygiene(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	u := f.invite(t, "acme", "u@acme.test", usermgmt.RoleAgent)
	deactivate := "/users/" + u.ID.String() + "/deactivate"

	t.Run("MalformedJSONIs400", func(t *testing.T) {
		for _, body := range []string{`{"email":`, `not json`, `[1,2]`, `{"email":"a@b.c","roles":"agent"}`,
			`{"email":"a@b.c","roles":["agent"]} {"again":1}`, `"string"`} {
			wantError(t, f.do(t, req{method: "POST", path: "/users/invitations", body: body, bearer: tok}), 400, "invalid")
		}
	})
	t.Run("UnknownFieldIs400", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"z@acme.test","roles":["agent"],"admin":true}`, bearer: tok})
		wantError(t, w, 400, "invalid")
		wantError(t, f.do(t, req{method: "POST", path: deactivate, body: `{"force":true}`, bearer: tok}), 400, "invalid")
	})
	t.Run("MissingBodyIs400", func(t *testing.T) {
		wantError(t, f.do(t, req{method: "POST", path: "/users/invitations", bearer: tok}), 400, "invalid")
	})
	t.Run("TwoMegabyteBodyIs413", func(t *testing.T) {
		big := `{"email":"` + strings.Repeat("a", 2<<20) + `@acme.test","roles":["agent"]}`
		wantError(t, f.do(t, req{method: "POST", path: "/users/invitations", body: big, bearer: tok}), 413, "too_large")
		wantError(t, f.do(t, req{method: "POST", path: "/auth/login", body: big}), 413, "too_large")
	})
	t.Run("FormPostIs415", func(t *testing.T) {
		form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		wantError(t, f.do(t, req{method: "POST", path: "/users/invitations", body: "email=a%40b.c&roles=agent", header: form, bearer: tok}), 415, "unsupported_media_type")
		wantError(t, f.do(t, req{method: "POST", path: deactivate, body: "x=1", header: form, bearer: tok}), 415, "unsupported_media_type")
		wantError(t, f.do(t, req{method: "POST", path: "/auth/login", body: "email=a", header: form}), 415, "unsupported_media_type")
		noType := map[string]string{"Content-Type": ""}
		wantError(t, f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"q@acme.test","roles":["agent"]}`, header: noType, bearer: tok}), 415, "unsupported_media_type")
	})
	t.Run("CrossOriginPostIs403", func(t *testing.T) {
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Origin": "https://evil.example"},
		} {
			w := f.do(t, req{method: "POST", path: deactivate, bearer: tok, header: h})
			wantError(t, w, 403, "permission_denied")
			w = f.do(t, req{method: "POST", path: "/auth/login", body: `{"tenant":"acme","email":"admin@acme.test","password":"x"}`, header: h})
			wantError(t, w, 403, "permission_denied")
		}
		got, err := f.m.GetUser(usermgmt.AsSystem(t.Context()), "acme", u.ID)
		if err != nil || got.Status != usermgmt.StatusInvited {
			t.Fatalf("refused request changed the user: %+v %v", got, err)
		}
	})
	t.Run("SameOriginPostPasses", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: deactivate, bearer: tok,
			header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}})
		if w.Code != 200 {
			t.Fatalf("same-origin deactivate: %d %s", w.Code, w.Body)
		}
	})
	t.Run("CrossOriginGetIsAllowed", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/users", bearer: tok, header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
		if w.Code != 200 {
			t.Fatalf("GET: %d", w.Code)
		}
	})
	t.Run("NonBearerAuthorizationIs401", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/users", header: map[string]string{"Authorization": "Basic " + tok}})
		wantError(t, w, 401, "unauthenticated")
	})
}

func TestTrustedOriginsConfig(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := newHandlerErr(f, "not an origin"); usermgmt.ErrorCode(err) != usermgmt.CodeInvalid {
		t.Fatalf("bad origin: %v", err)
	}
	h, err := newHandlerErr(f, "https://admin.example.com")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/auth/logout", nil)
	r.Header.Set("Origin", "https://admin.example.com")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("trusted origin logout: %d %s", w.Code, w.Body)
	}
}

func TestNewHandlerRefusesBadOptions(t *testing.T) {
	f := newFixture(t, nil)
	for name, c := range map[string]struct {
		m    *usermgmt.Manager
		opts httpapi.Options
	}{
		"NilManager":              {nil, httpapi.Options{}},
		"NegativeBodyLimit":       {f.m, httpapi.Options{MaxBodyBytes: -1}},
		"CookieNameWithSemicolon": {f.m, httpapi.Options{SessionCookie: "a;b"}},
	} {
		if _, err := httpapi.NewHandler(c.m, c.opts); usermgmt.ErrorCode(err) != usermgmt.CodeInvalid {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
	t.Run("NewAnswers500AndLogsTheCause", func(t *testing.T) {
		logs := &testlog.Buffer{}
		h := httpapi.New(f.m, httpapi.Options{MaxBodyBytes: -1, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/me", nil))
		wantError(t, w, 500, "internal")
		if strings.Contains(w.Body.String(), "MaxBodyBytes") || !strings.Contains(logs.String(), "MaxBodyBytes") {
			t.Fatalf("body %s, log %q", w.Body, logs.String())
		}
	})
}

// TestEveryAnswerIsNoStore walks every route the handler serves, signed in
// and not, with a good, an empty and a broken body, and the mux's own 404
// and 405: no answer of the API may be kept by a cache, errors and 204s
// included (a shared cache would hand one person's answer to another).
func TestEveryAnswerIsNoStore(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	u := f.invite(t, "acme", "u@acme.test", usermgmt.RoleAgent)
	patterns := httpapi.Patterns(f.api)
	if len(patterns) < 20 {
		t.Fatalf("only %d routes: %v", len(patterns), patterns)
	}
	hook, _ := f.endpoint(t, "acme", "https://hooks.example.com/acme")
	fill := strings.NewReplacer("{id}", u.ID.String(), "{role}", string(usermgmt.RoleSupervisor),
		"{sid}", uuid.NewString(), "{did}", uuid.NewString(), "{wid}", hook.String(), "{mid}", uuid.NewString())
	check := func(t *testing.T, what string, w *httptest.ResponseRecorder) {
		t.Helper()
		want := "no-store"
		if strings.HasPrefix(what, "GET /meta ") && w.Code == 200 {
			want = "public, max-age=300" // the same for everyone, no user's data
		}
		if got := w.Header().Values("Cache-Control"); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %d with Cache-Control %q", what, w.Code, got)
		}
	}
	statuses := map[int]bool{}
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		path = fill.Replace(path)
		if strings.Contains(path, "{") {
			t.Fatalf("route %s has a wildcard this test does not fill", p)
		}
		for _, r := range []req{
			{method: method, path: path},
			{method: method, path: path, body: "{}"},
			{method: method, path: path, body: "{", bearer: tok},
			{method: method, path: path, body: "{}", bearer: tok},
		} {
			w := f.do(t, r)
			statuses[w.Code] = true
			check(t, fmt.Sprintf("%s %s (body %q, signed in %v)", method, path, r.body, r.bearer != ""), w)
		}
	}
	// The session above was logged out on the way: a fresh one invites,
	// then logs out.
	_, tok, _ = f.active(t, "acme", "other@acme.test", usermgmt.RoleTenantAdmin)
	for _, r := range []struct {
		what string
		req
	}{
		{"an invitation", req{method: "POST", path: "/users/invitations", body: `{"email":"n@acme.test","roles":["agent"]}`, bearer: tok}},
		{"the mux's 404", req{method: "GET", path: "/nowhere"}},
		{"the mux's 405", req{method: "PATCH", path: "/users"}},
		{"a cross-origin POST", req{method: "POST", path: "/auth/logout", header: map[string]string{"Sec-Fetch-Site": "cross-site"}}},
		{"a non-JSON body", req{method: "POST", path: "/auth/login", body: "x", header: map[string]string{"Content-Type": "text/plain"}}},
		{"a body over the limit", req{method: "POST", path: "/auth/login", body: `{"email":"` + strings.Repeat("a", 2<<20) + `"}`}},
		{"a logout", req{method: "POST", path: "/auth/logout", bearer: tok}},
	} {
		w := f.do(t, r.req)
		statuses[w.Code] = true
		check(t, r.what, w)
	}
	for _, s := range []int{200, 201, 204, 400, 401, 403, 404, 405, 413, 415} {
		if !statuses[s] {
			t.Errorf("no answer had status %d: the walk misses a kind of answer", s)
		}
	}
}
