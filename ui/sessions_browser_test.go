package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

const (
	uaFirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaSafariPhone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 " +
		"(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)

// apiClient is a person signed in through the API from another browser: a
// cookie jar and a User-Agent.
type apiClient struct {
	c         *http.Client
	ua        string
	sessionID string
}

// apiSignIn signs email in through POST /api/auth/login and /api/auth/mfa
// as a browser with User-Agent ua would, and returns it.
func (s *site) apiSignIn(t *testing.T, email, password, secret, ua string, trust bool) *apiClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &apiClient{c: &http.Client{Jar: jar}, ua: ua}
	var res struct{ Status, Challenge string }
	a.post(t, s.url+"/api/auth/login", map[string]any{"email": email, "password": password}, &res)
	if res.Status != "mfa_required" {
		t.Fatalf("login of %s: %+v", email, res)
	}
	a.post(t, s.url+"/api/auth/mfa", map[string]any{"challenge": res.Challenge, "code": code(t, s.clk, secret),
		"trust_device": trust}, &res)
	if res.Status != "signed_in" {
		t.Fatalf("MFA of %s: %+v", email, res)
	}
	var me struct {
		SessionID string `json:"session_id"`
	}
	if st := a.get(t, s.url+"/api/me", &me); st != 200 {
		t.Fatalf("GET /me: %d", st)
	}
	a.sessionID = me.SessionID
	return a
}

func (a *apiClient) post(t *testing.T, url string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", a.ua)
	res, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("POST %s: %d: %v", url, res.StatusCode, err)
	}
}

// get answers the status of a GET, decoding a 200 into out (when not nil).
func (a *apiClient) get(t *testing.T, url string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("User-Agent", a.ua)
	res, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == 200 && out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode
}

// TestBrowserSessions: ana is signed in from Firefox on Windows and from
// Safari on an iPhone she trusted. The admin opens her panel and sees both
// by name, with the trusted device; revoking the Windows session (asked
// first) ends it at its next request while the iPhone goes on, and
// untrusting the iPhone makes its next sign-in ask for a code. Then ana
// signs in here: her account page lists this browser as "This device" and
// the iPhone; she revokes the iPhone (its next request is refused), then
// the session she is using, and lands on the login page.
func TestBrowserSessions(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	st := newSite(t, nil, nil)
	_, adminSecret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	_, anaSecret := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	windows := st.apiSignIn(t, "ana@acme.test", newPassword, anaSecret, uaFirefoxWindows, false)
	phone := st.apiSignIn(t, "ana@acme.test", newPassword, anaSecret, uaSafariPhone, true)
	me := st.url + "/api/me"

	browser, cancel := context.WithTimeout(startBrowser(t, chromium), 120*time.Second)
	defer cancel()
	do := steps(t, browser)
	item := func(list, sid string) string {
		return `document.querySelector('` + list + ` li[data-id="` + sid + `"]')`
	}

	do("the admin signs in and opens ana's panel",
		append(st.signIn(t, adminEmail, adminPassword, adminSecret, false),
			waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`),
			chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button.link`)),
			waitFor(`!document.getElementById("panel-sessions-section").hidden`))...)
	do("both sessions show by browser and device, and the trusted iPhone",
		waitFor(item("#panel-sessions", windows.sessionID)+`?.querySelector("strong").textContent
			=== "Firefox 133 on Windows"`),
		waitFor(item("#panel-sessions", phone.sessionID)+`?.querySelector("strong").textContent
			=== "Safari 17 on iPhone"`),
		waitFor(`[...document.querySelectorAll("#panel-sessions ul.sessions")[1].querySelectorAll("li strong")]
			.map((e) => e.textContent).join() === "Safari 17 on iPhone"`),
		waitFor(`!document.querySelector("#panel-sessions .this-device")`),
		waitFor(item("#panel-sessions", phone.sessionID)+`.querySelector("time").title !== ""`),
		waitFor(item("#panel-sessions", phone.sessionID)+`.querySelector(".meta").textContent
			.startsWith("Signed in just now · active just now")`),
		waitFor(`!document.getElementById("panel-sessions").textContent.includes("null")`),
		chromedp.ScrollIntoView(chromedp.ID("panel-sessions-section")))
	shot(t, browser, shots, "sessions-panel.png", "the user panel's sessions and devices")

	do("Revoke asks first; Cancel keeps the session",
		chromedp.Click(chromedp.CSS(`#panel-sessions li[data-id="`+windows.sessionID+`"] button`)),
		waitFor(`document.getElementById("revoke-dialog").open`),
		chromedp.Click(chromedp.ID("revoke-cancel")),
		waitFor(`!document.getElementById("revoke-dialog").open`))
	if s := windows.get(t, me, nil); s != 200 {
		t.Fatalf("after Cancel the Windows session answers %d", s)
	}
	do("confirmed, the Windows session is gone from the list",
		chromedp.Click(chromedp.CSS(`#panel-sessions li[data-id="`+windows.sessionID+`"] button`)),
		waitFor(`document.getElementById("revoke-dialog").open`),
		chromedp.Click(chromedp.ID("revoke-ok")),
		waitFor(`!`+item("#panel-sessions", windows.sessionID)),
		waitFor(item("#panel-sessions", phone.sessionID)+` !== null`),
		waitFor(`[...document.querySelectorAll("#activity li .what")].some((e) =>
			e.textContent === "Session revoked: Firefox 133 on Windows")`))
	if s := windows.get(t, me, nil); s != 401 {
		t.Fatalf("the revoked session's next call answers %d, want 401", s)
	}
	if s := phone.get(t, me, nil); s != 200 {
		t.Fatalf("the other session answers %d, want 200", s)
	}
	do("the trusted iPhone is untrusted: the list says so and focus stays in it",
		chromedp.Click(chromedp.CSS(`#panel-sessions ul.sessions:last-of-type li button`)),
		waitFor(`document.getElementById("revoke-dialog").open &&
			document.getElementById("revoke-title").textContent === "Stop trusting this device?"`),
		chromedp.Click(chromedp.ID("revoke-ok")),
		waitFor(`document.querySelector("#panel-sessions ul.sessions:last-of-type").textContent
			=== "No trusted devices."`),
		waitFor(`document.activeElement.textContent === "Trusted devices"`))
	var res struct{ Status string }
	phone.post(t, st.url+"/api/auth/login", map[string]any{"email": "ana@acme.test", "password": newPassword}, &res)
	if res.Status != "mfa_required" {
		t.Fatalf("the untrusted iPhone signs in with %q, want mfa_required", res.Status)
	}

	do("ana signs in here and opens her account page",
		chromedp.Click(chromedp.ID("sign-out")),
		waitFor(`location.pathname === "/login"`))
	do("ana signs in",
		append(st.signIn(t, "ana@acme.test", newPassword, anaSecret, false),
			waitFor(`location.pathname === "/"`),
			chromedp.Navigate(st.url+"/account"),
			waitFor(`document.querySelector("#account-sessions-list .this-device") !== null`))...)
	do("her sessions: this browser marked, and the iPhone",
		waitFor(item("#account-sessions-list", phone.sessionID)+`?.querySelector("strong").textContent
			=== "Safari 17 on iPhone"`),
		waitFor(`document.querySelectorAll("#account-sessions-list li[data-current=true]").length === 1`),
		waitFor(`document.querySelector("#account-sessions-list li[data-current=true] .this-device").textContent
			=== "This device"`),
		waitFor(`document.querySelector("#account-sessions-list li[data-current=true] strong").textContent
			.startsWith("Chrome")`))
	shot(t, browser, shots, "sessions-account.png", "the account page's sessions and devices")
	do("she revokes the iPhone",
		chromedp.Click(chromedp.CSS(`#account-sessions-list li[data-id="`+phone.sessionID+`"] button`)),
		waitFor(`document.getElementById("revoke-dialog").open`),
		chromedp.Click(chromedp.ID("revoke-ok")),
		waitFor(`!`+item("#account-sessions-list", phone.sessionID)),
		waitFor(`document.activeElement.textContent === "Revoke" ||
			document.activeElement.tagName === "H3"`))
	if s := phone.get(t, me, nil); s != 401 {
		t.Fatalf("the iPhone's next call answers %d, want 401", s)
	}
	do("she revokes the session she is using and lands on the login page",
		chromedp.Click(chromedp.CSS(`#account-sessions-list li[data-current=true] button`)),
		waitFor(`document.getElementById("revoke-dialog").open &&
			document.getElementById("revoke-text").textContent.includes("you will be signed out")`),
		chromedp.Click(chromedp.ID("revoke-ok")),
		waitFor(`location.pathname === "/login"`))
}
