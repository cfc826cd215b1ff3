package ui_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// TestBrowserToastsAndMail: every action says it is done in a toast that a
// screen reader hears (a role=status region), which goes by itself, holds
// while focused and closes with its button; a delivery failure shows
// plain sentences and never the mail server's address; the undelivered
// mail notice goes away by itself once a retry delivers; the activity
// shows the labels GET /meta serves.
func TestBrowserToastsAndMail(t *testing.T) {
	chromium := chromiumPath(t)
	system := usermgmt.AsSystem(context.Background())
	st := newSite(t, nil, nil)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	ana, _ := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)

	b, cancel := context.WithTimeout(startBrowser(t, chromium), 120*time.Second)
	defer cancel()
	do := steps(t, b)
	toast := func(text string) string {
		return `[...document.querySelectorAll("#toasts-status .toast")].some((e) => e.textContent.includes(` + jsString(text) + `))`
	}
	do("sign in", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`))...)

	do("invite: a toast says it went, in a polite live region",
		chromedp.Evaluate[chromedp.Void](`usermgmtUI.toastMs = 60000`),
		chromedp.Click(chromedp.ID("invite-open")),
		chromedp.WaitVisible(chromedp.ID("invite-dialog")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "new@acme.test"),
		chromedp.Click(chromedp.ID("invite-send")),
		waitFor(toast("Invitation sent to new@acme.test.")),
		waitFor(`document.getElementById("toasts-status").getAttribute("role") === "status" && `+
			`document.getElementById("toasts-status").getAttribute("aria-live") === "polite" && `+
			`document.getElementById("toasts").checkVisibility()`))
	do("its Dismiss button closes it",
		chromedp.Click(chromedp.CSS(`#toasts-status .toast button`)),
		waitFor(`!document.querySelector("#toasts-status .toast")`))

	do("an error toast is assertive and stays until dismissed",
		chromedp.Evaluate[chromedp.Void](`usermgmtUI.toastMs = 300; usermgmtUI.toast("It failed.", { kind: "error" })`),
		waitFor(`document.getElementById("toasts-alert").getAttribute("role") === "alert" && `+
			`document.querySelector("#toasts-alert .toast").textContent.includes("It failed.")`),
		chromedp.Sleep(800),
		waitFor(`!!document.querySelector("#toasts-alert .toast")`),
		chromedp.Click(chromedp.CSS(`#toasts-alert .toast button`)),
		waitFor(`!document.querySelector("#toasts-alert .toast")`))
	st.clk.Advance(time.Minute) // mail spacing
	do("resend: a toast that goes by itself, but not while focused",
		chromedp.Evaluate[chromedp.Void](`usermgmtUI.toastMs = 700`),
		chromedp.Click(chromedp.CSS(`tr[data-email="new@acme.test"] button.secondary`)),
		waitFor(toast("Invitation resent to new@acme.test.")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#toasts-status .toast button").focus()`),
		chromedp.Sleep(1500),
		waitFor(toast("Invitation resent to new@acme.test.")),
		chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`),
		waitFor(`!document.querySelector("#toasts-status .toast")`))

	do("panel actions toast: role granted, reset mailed, logged out, deactivated, activated",
		chromedp.Evaluate[chromedp.Void](`usermgmtUI.toastMs = 60000`),
		chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "ana@acme.test"`),
		chromedp.Click(chromedp.ID("role-supervisor")),
		waitFor(`[...document.querySelectorAll("#toasts-status .toast")].some((e) => /^Granted \S.* to ana@acme\.test\./.test(e.textContent))`),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll(".toast").forEach((t) => t.remove())`),
		chromedp.Click(chromedp.ID("role-supervisor")),
		waitFor(`[...document.querySelectorAll("#toasts-status .toast")].some((e) => /^Revoked \S.* from ana@acme\.test\./.test(e.textContent))`),
		chromedp.Click(chromedp.ID("panel-reset")),
		waitFor(toast("Password reset email sent to ana@acme.test.")),
		chromedp.Click(chromedp.ID("panel-logout")),
		waitFor(toast("All sessions and trusted devices of ana@acme.test were revoked.")),
		chromedp.Click(chromedp.ID("panel-deactivate")),
		waitFor(`document.getElementById("confirm-dialog").open`),
		chromedp.Click(chromedp.ID("confirm-ok")),
		waitFor(toast("ana@acme.test was deactivated.")),
		waitFor(`!document.getElementById("panel-activate").hidden`),
		chromedp.Click(chromedp.ID("panel-activate")),
		waitFor(toast("ana@acme.test was activated.")))
	do("the activity shows the labels of GET /meta",
		waitFor(`[...document.querySelectorAll("#activity li .what")].some((e) => e.textContent === "Role granted: supervisor")`),
		waitFor(`[...document.querySelectorAll("#activity li .what")].some((e) => e.textContent.startsWith("Sessions and trusted devices revoked"))`),
		waitFor(`[...document.querySelectorAll("#activity li")].every((e) => !e.querySelector(".what").textContent.startsWith(e.dataset.type))`))

	// The mail server is down: the admin reads sentences, never its address.
	st.mail.FailNext(errors.New("dial tcp 10.9.8.7:2525: connect: connection refused"))
	st.clk.Advance(time.Minute)
	do("a failed invitation mail: sentences, no host:port",
		chromedp.Evaluate[chromedp.Void](`usermgmtUI.mailPollMs = 300`),
		chromedp.Click(chromedp.ID("panel-close")),
		chromedp.Click(chromedp.ID("invite-open")),
		chromedp.WaitVisible(chromedp.ID("invite-dialog")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "late@acme.test"),
		chromedp.Click(chromedp.ID("invite-send")),
		waitFor(`!document.getElementById("mail-notice").hidden && !document.getElementById("list-warning").hidden`),
		waitFor(`document.querySelector('#mail-rows tr[data-email="late@acme.test"] .mail-error').textContent === "The mail server could not be reached."`),
		waitFor(`document.querySelector('#mail-rows tr[data-email="late@acme.test"] td[data-label="Kind"]').textContent === "Invitation"`))
	if text := pageText(b); strings.Contains(text, "10.9.8.7") || strings.Contains(text, "2525") || strings.Contains(text, "dial tcp") {
		t.Fatalf("the page shows the mail server: %s", text)
	}
	if w := evalString(t, b, `document.getElementById("list-warning-text").textContent`); !strings.Contains(w, "The change was saved, but the mail could not be sent yet; it will be retried.") {
		t.Fatalf("warning: %q", w)
	}

	// The server is back; the outbox's retry delivers: the notice goes
	// without a reload.
	st.clk.Advance(10 * time.Minute)
	if d, err := st.m.DeliverPending(system); err != nil || d.Sent != 1 {
		t.Fatalf("deliver: %+v %v", d, err)
	}
	do("the notice goes by itself",
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`),
		waitFor(`document.getElementById("mail-notice").hidden && document.getElementById("list-warning").hidden && window.notReloaded`))
	_ = ana
}

// TestBrowserSessionEnds: when the session ends under the page (revoked
// elsewhere), the next call goes to the login page with the way back and
// a notice, not a page of stale data; signing in brings the person back.
// Force-logging-out oneself asks first.
func TestBrowserSessionEnds(t *testing.T) {
	chromium := chromiumPath(t)
	system := usermgmt.AsSystem(context.Background())
	st := newSite(t, nil, nil)
	admin, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)

	b, cancel := context.WithTimeout(startBrowser(t, chromium), 120*time.Second)
	defer cancel()
	do := steps(t, b)
	do("sign in", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`))...)

	if err := st.m.ForceLogout(system, tenant, admin.ID); err != nil { // signed out elsewhere
		t.Fatal(err)
	}
	do("the next call goes to the login page, with a notice and the way back",
		chromedp.Click(chromedp.CSS(`.badge-filter[data-status="active"]`)),
		waitFor(`location.pathname === "/login"`),
		waitFor(`new URLSearchParams(location.search).get("next") === "/?status=active" && `+
			`document.getElementById("login-notice").textContent === "Your session ended. Sign in again." && `+
			`!document.getElementById("login-notice").hidden`))
	signInAgain := func(step string) {
		t.Helper()
		do(step,
			chromedp.SendKeys(chromedp.ID("login-email"), adminEmail),
			chromedp.SendKeys(chromedp.ID("login-password"), adminPassword),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("code-form")),
			chromedp.SendKeys(chromedp.ID("code-input"), code(t, st.clk, secret)),
			chromedp.Click(chromedp.ID("code-submit")),
			waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`))
	}
	signInAgain("signing in goes back")
	st.clk.Advance(31 * time.Minute) // past the idle timeout: refreshing fails too
	do("after the idle timeout the next call goes to the login page, with the notice",
		chromedp.Click(chromedp.CSS(`.badge-filter[data-status=""]`)),
		waitFor(`location.pathname === "/login" && !document.getElementById("login-notice").hidden`))
	signInAgain("sign in after the idle timeout")

	do("force logout of oneself asks first; Cancel keeps the session",
		chromedp.Click(chromedp.CSS(`tr[data-email="`+adminEmail+`"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "`+adminEmail+`"`),
		chromedp.Click(chromedp.ID("panel-logout")),
		waitFor(`document.getElementById("ask-dialog") && document.getElementById("ask-dialog").open`),
		chromedp.Click(chromedp.ID("ask-cancel")),
		waitFor(`!document.getElementById("ask-dialog") && document.activeElement.id === "panel-logout"`))
	if _, err := st.m.ListActivity(system, tenant, admin.ID, usermgmt.ActivityQuery{}); err != nil {
		t.Fatal(err)
	}
	do("the session still works after Cancel",
		chromedp.Click(chromedp.CSS(`.badge-filter[data-status="active"]`)),
		chromedp.Sleep(300),
		waitFor(`location.pathname === "/"`))
	do("confirmed, it signs out everywhere and goes to the login page",
		chromedp.Click(chromedp.ID("panel-logout")),
		waitFor(`document.getElementById("ask-dialog") && document.getElementById("ask-dialog").open`),
		chromedp.Click(chromedp.ID("ask-confirm")),
		waitFor(`location.pathname === "/login"`))
	page, err := st.m.ListActivity(system, tenant, admin.ID, usermgmt.ActivityQuery{Limit: 1})
	if err != nil || len(page.Events) == 0 || page.Events[0].Type != usermgmt.EventSessionsRevoked {
		t.Fatalf("last event: %+v %v", page.Events, err)
	}
}
