package ui_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/ui"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func TestPagesAndAssets(t *testing.T) {
	h := ui.Handler(ui.Options{APIPath: "/api/", Title: `Acme "HR" <Users>`})
	for path, view := range map[string]string{"/": "users", "/login": "login", "/password/forgot": "forgot",
		"/invitations/accept": "accept", "/password/reset": "reset", "/provisioning": "provisioning"} {
		w := get(t, h, "GET", path)
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(body, `data-view="`+view+`"`) || !strings.Contains(body, `data-api="/api"`) {
			t.Fatalf("GET %s: %d %.300s", path, w.Code, body)
		}
		if !strings.Contains(body, "Acme &#34;HR&#34; &lt;Users&gt;") {
			t.Fatalf("title not escaped: %.300s", body)
		}
		hd := w.Header()
		if !strings.Contains(hd.Get("Content-Security-Policy"), "script-src 'self'") || hd.Get("Referrer-Policy") != "no-referrer" ||
			hd.Get("X-Frame-Options") != "DENY" || hd.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET %s headers: %v", path, hd)
		}
	}
	for _, a := range []string{"/assets/app.js", "/assets/users.js", "/assets/person.js", "/assets/account.js", "/assets/codes.js",
		"/assets/provisioning.js", "/assets/export.js", "/assets/app.css"} {
		if w := get(t, h, "GET", a); w.Code != 200 || w.Body.Len() < 500 {
			t.Fatalf("GET %s: %d", a, w.Code)
		}
	}
	if w := get(t, h, "GET", "/nowhere"); w.Code != 404 {
		t.Fatalf("unknown page: %d", w.Code)
	}
	if w := get(t, h, "POST", "/"); w.Code != 405 {
		t.Fatalf("POST page: %d", w.Code)
	}
}

func TestPagesAreSelfContained(t *testing.T) {
	h := ui.Handler(ui.Options{})
	page := get(t, h, "GET", "/").Body.String()
	var js string
	for _, f := range []string{"app.js", "users.js", "person.js", "account.js", "codes.js", "provisioning.js", "export.js"} {
		js += get(t, h, "GET", "/assets/"+f).Body.String()
	}
	css := get(t, h, "GET", "/assets/app.css").Body.String()
	for name, s := range map[string]string{"page": page, "js": js, "css": css} {
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "eval("} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q: the page must work offline and never render server text as HTML", name, bad)
			}
		}
	}
	for _, label := range []string{"Invite User", "Send Invite", "Resend Invite", "Reset Password", "Force Logout",
		"Deactivate", "Activate", "Load more", "Search users by email", "Trust this device",
		"not delivered yet", "Dismiss this warning"} {
		if !strings.Contains(page+js, label) {
			t.Errorf("the page lacks %q", label)
		}
	}
}

func TestCustomPathsAndPrefix(t *testing.T) {
	h := ui.Handler(ui.Options{Prefix: "/admin", InvitePath: "/join", ResetPath: "/reset"})
	w := get(t, h, "GET", "/join")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `data-invite-path="/admin/join"`) ||
		!strings.Contains(w.Body.String(), `href="/admin/assets/app.css"`) {
		t.Fatalf("custom paths: %d %.400s", w.Code, w.Body)
	}
	if w := get(t, h, "GET", "/invitations/accept"); w.Code != 404 {
		t.Fatalf("default invite path still served: %d", w.Code)
	}
}

// TestSCIMPath: the Provisioning page names where the host mounts the
// scim handler, "/scim/v2" unless told; it has a path of its own.
func TestSCIMPath(t *testing.T) {
	for _, c := range []struct {
		opts       ui.Options
		path, scim string
	}{
		{ui.Options{}, "/provisioning", "/scim/v2"},
		{ui.Options{SCIMPath: "/idp/scim/", Prefix: "/admin", ProvisioningPath: "/sso"}, "/sso", "/idp/scim"},
	} {
		w := get(t, ui.Handler(c.opts), "GET", c.path)
		if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, `data-view="provisioning"`) ||
			!strings.Contains(body, `data-scim-path="`+c.scim+`"`) {
			t.Fatalf("GET %s with %+v: %d %.600s", c.path, c.opts, w.Code, body)
		}
	}
}

// TestHSTSOnHTTPS: every answer of the page carries Strict-Transport-Security
// when it came over TLS, or when Options.HSTS says a TLS-terminating proxy
// is in front; never over plain HTTP otherwise (development on localhost).
func TestHSTSOnHTTPS(t *testing.T) {
	const want = "max-age=31536000; includeSubDomains"
	for _, c := range []struct {
		name   string
		opts   ui.Options
		target string
		want   string
	}{
		{"OverTLS", ui.Options{}, "https://app.example.com", want},
		{"BehindATLSProxy", ui.Options{HSTS: true}, "http://app.example.com", want},
		{"PlainHTTP", ui.Options{}, "http://app.example.com", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := ui.Handler(c.opts)
			for _, r := range []struct{ method, path string }{
				{"GET", "/"}, {"GET", "/login"}, {"GET", "/assets/app.js"}, {"GET", "/nowhere"}, {"POST", "/"},
			} {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(r.method, c.target+r.path, nil))
				if got := w.Header().Get("Strict-Transport-Security"); got != c.want {
					t.Fatalf("%s %s: %d, Strict-Transport-Security %q, want %q", r.method, r.path, w.Code, got, c.want)
				}
			}
		})
	}
}

// TestPageKeepsNoCopyOfTheLists: event types, mail kinds and their labels
// come from GET /meta; a label or a type written into the page's scripts
// would be a second list that drifts (as "session.refreshed" did), and
// the page places errors by code and field, never by message text.
func TestPageKeepsNoCopyOfTheLists(t *testing.T) {
	h := ui.Handler(ui.Options{})
	var js string
	for _, f := range []string{"app.js", "users.js", "person.js", "account.js", "provisioning.js", "export.js"} {
		js += get(t, h, "GET", "/assets/"+f).Body.String()
	}
	for _, l := range usermgmt.EventLabels() {
		for _, s := range []string{`"` + string(l.Type) + `"`, `"` + l.Label + `"`} {
			if strings.Contains(js, s) {
				t.Errorf("the scripts hold %s: read it from GET /meta", s)
			}
		}
	}
	for _, l := range usermgmt.MessageKindLabels() {
		if strings.Contains(js, `"`+l.Label+`"`) {
			t.Errorf("the scripts hold the mail kind label %q: read it from GET /meta", l.Label)
		}
	}
	for _, bad := range []string{"session.refreshed", ".message.includes", "message.toLowerCase", "m.includes("} {
		if strings.Contains(js, bad) {
			t.Errorf("the scripts contain %q", bad)
		}
	}
}
