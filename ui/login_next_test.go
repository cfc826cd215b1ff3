package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
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
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<!doctype html><title>evil</title>")
	}))
	t.Cleanup(evil.Close)
	// localhost is another host than the page's 127.0.0.1, on another port.
	host := strings.Replace(strings.TrimPrefix(evil.URL, "http://"), "127.0.0.1", "localhost", 1)

	st := newSite(t, nil, func(o *httpapi.Options) {
		o.RateLimits = httpapi.RateLimits{PerIP: httpapi.Limit{Burst: -1}, PerAccount: httpapi.Limit{Burst: -1}}
	})
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)

	b, cancel := chromedp.NewContext(startBrowser(t, chromium))
	defer cancel()
	b, cancel = context.WithTimeout(b, 120*time.Second)
	defer cancel()
	do := steps(t, b)
	// Sign in once with a code and trust the browser: every later sign-in
	// is a password only, so it goes to next() at once.
	do("sign in with a code, trusting the device", append(st.signIn(t, adminEmail, adminPassword, secret, true),
		waitFor(`location.pathname === "/"`))...)

	home := st.url + "/"
	fill := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("login-email").value = %q;
		document.getElementById("login-password").value = %q`, adminEmail, adminPassword))
	for _, c := range []struct{ next, want string }{
		// next as it stands in the query string, and where the browser must land.
		{"/%5C" + host + "/x", home},                        // "/\host": the parser reads \ as /
		{`/\` + host + "/x", home},                          // the same, typed raw
		{"/%5C%5C" + host + "/x", home},                     // "/\\host"
		{"/%09/" + host + "/x", home},                       // "/<tab>/host": the parser drops the tab
		{"/%0A/" + host + "/x", home},                       // "/<newline>/host"
		{"/%0D%0A/" + host + "/x", home},                    // "/<CR><LF>/host"
		{"//" + host + "/x", home},                          // protocol-relative
		{"%2F%2F" + host + "/x", home},                      // the same, encoded
		{"/%2F" + host + "/x", home},                        // half encoded
		{"///" + host + "/x", home},                         // three slashes
		{"https://" + host + "/x", home},                    // absolute
		{"http:%2F%2F" + host + "/x", home},                 // absolute, encoded
		{"http:" + host + "/x", st.url + "/" + host + "/x"}, // to the parser, a relative path: kept
		{"javascript:alert(1)", home},
		{"JavaScript%3Aalert(document.domain)", home},
		{"data:text/html,%3Cscript%3Ealert(1)%3C/script%3E", home},
		// "/.//host" is same-origin, but its pathname is "//host": the page
		// must go to the whole parsed URL, never to its pathname alone (the
		// server's mux then cleans the double slash).
		{"/.//" + host + "/x", st.url + "/" + host + "/x"},
		{"/users%3Fx%3D1%23y", st.url + "/users?x=1#y"}, // a path of the page's own: kept
		{"", home},
	} {
		do("sign in with next="+c.next,
			chromedp.Navigate(st.url+"/login?next="+c.next),
			waitFor(`location.pathname === "/login" && document.activeElement.id === "login-email"`),
			fill, // typing key by key would take most of the test's time
			chromedp.Click(chromedp.ID("login-submit")),
			waitFor(`location.pathname !== "/login" || location.origin !== `+fmt.Sprintf("%q", st.url)))
		// The page has left /login: let the next one load before reading where it is.
		do("settle", waitFor(`document.readyState === "complete"`))
		if got := evalString(t, b, `location.href`); got != c.want {
			t.Errorf("next=%s: landed on %s, want %s", c.next, got, c.want)
		}
	}
}
