package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/ui"
)

// TestLoginNextStaysOnTheOrigin signs in on /login?next=… in Chromium
// with spellings of another host that a prefix check lets through (the
// URL parser reads a backslash as a slash and drops tabs and newlines, so
// "/\host" and "/<tab>/host" are "//host" to it) and checks where the
// browser lands: a URL of the page's own origin is kept, anything else
// gives the user list. The other host is a real server, so a redirect
// that escapes is seen landing there.
func TestLoginNextStaysOnTheOrigin(t *testing.T) {
	chromium := chromiumPath(t)
	ctx := usermgmt.AsSystem(context.Background())

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<!doctype html><title>evil</title>")
	}))
	t.Cleanup(evil.Close)
	// localhost is another host than the page's 127.0.0.1, on another port.
	host := strings.Replace(strings.TrimPrefix(evil.URL, "http://"), "127.0.0.1", "localhost", 1)

	clk := testclock.New(time.Now().UTC().Truncate(time.Second))
	mail := mailertest.New()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := usermgmt.New(memory.New(), usermgmt.Options{Mailer: mail, Clock: clk.Now,
		SecretKey: bytes.Repeat([]byte{3}, 32), Links: usermgmt.Links{BaseURL: srv.URL}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.NewHandler(m, httpapi.Options{Insecure: true, Clock: clk.Now, Logger: quiet,
		TenantFromRequest: func(*http.Request) (string, error) { return tenant, nil },
		RateLimits:        httpapi.RateLimits{PerIP: httpapi.Limit{Burst: -1}, PerAccount: httpapi.Limit{Burst: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/api/", http.StripPrefix("/api", api))
	mux.Handle("/", ui.Handler(ui.Options{APIPath: "/api"}))

	if _, err := m.InviteUser(ctx, tenant, usermgmt.Invite{Email: adminEmail, Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}}); err != nil {
		t.Fatal(err)
	}
	enr, err := m.AcceptInvite(ctx, mail.Token(adminEmail), adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CompleteMFAEnrollment(ctx, enr.Token, code(t, clk, enr.Secret)); err != nil {
		t.Fatal(err)
	}

	b, cancel := chromedp.NewContext(startBrowser(t, chromium))
	defer cancel()
	b, cancel = context.WithTimeout(b, 120*time.Second)
	defer cancel()
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v\npage: %s", step, err, pageText(b))
		}
	}
	// Sign in once with a code and trust the browser: every later sign-in
	// is a password only, so it goes to next() at once.
	do("sign in with a code, trusting the device",
		chromedp.Navigate(srv.URL+"/login"),
		waitFor(`document.activeElement.id === "login-email"`),
		chromedp.SendKeys(chromedp.ID("login-email"), adminEmail),
		chromedp.SendKeys(chromedp.ID("login-password"), adminPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("code-form")),
		chromedp.Click(chromedp.ID("trust-device")),
		chromedp.SendKeys(chromedp.ID("code-input"), code(t, clk, enr.Secret)),
		chromedp.Click(chromedp.ID("code-submit")),
		waitFor(`location.pathname === "/"`))

	home := srv.URL + "/"
	fill := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("login-email").value = %q;
		document.getElementById("login-password").value = %q`, adminEmail, adminPassword))
	for _, c := range []struct{ next, want string }{
		// next as it stands in the query string, and where the browser must land.
		{"/%5C" + host + "/x", home},                         // "/\host": the parser reads \ as /
		{`/\` + host + "/x", home},                           // the same, typed raw
		{"/%5C%5C" + host + "/x", home},                      // "/\\host"
		{"/%09/" + host + "/x", home},                        // "/<tab>/host": the parser drops the tab
		{"/%0A/" + host + "/x", home},                        // "/<newline>/host"
		{"/%0D%0A/" + host + "/x", home},                     // "/<CR><LF>/host"
		{"//" + host + "/x", home},                           // protocol-relative
		{"%2F%2F" + host + "/x", home},                       // the same, encoded
		{"/%2F" + host + "/x", home},                         // half encoded
		{"///" + host + "/x", home},                          // three slashes
		{"https://" + host + "/x", home},                     // absolute
		{"http:%2F%2F" + host + "/x", home},                  // absolute, encoded
		{"http:" + host + "/x", srv.URL + "/" + host + "/x"}, // to the parser, a relative path: kept
		{"javascript:alert(1)", home},
		{"JavaScript%3Aalert(document.domain)", home},
		{"data:text/html,%3Cscript%3Ealert(1)%3C/script%3E", home},
		// "/.//host" is same-origin, but its pathname is "//host": the page
		// must go to the whole parsed URL, never to its pathname alone (the
		// server's mux then cleans the double slash).
		{"/.//" + host + "/x", srv.URL + "/" + host + "/x"},
		{"/users%3Fx%3D1%23y", srv.URL + "/users?x=1#y"}, // a path of the page's own: kept
		{"", home},
	} {
		do("sign in with next="+c.next,
			chromedp.Navigate(srv.URL+"/login?next="+c.next),
			waitFor(`location.pathname === "/login" && document.activeElement.id === "login-email"`),
			fill, // typing key by key would take most of the test's time
			chromedp.Click(chromedp.ID("login-submit")),
			waitFor(`location.pathname !== "/login" || location.origin !== `+fmt.Sprintf("%q", srv.URL)))
		// The page has left /login: let the next one load before reading where it is.
		do("settle", waitFor(`document.readyState === "complete"`))
		if got := evalString(t, b, `location.href`); got != c.want {
			t.Errorf("next=%s: landed on %s, want %s", c.next, got, c.want)
		}
	}
}
