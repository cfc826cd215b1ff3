package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// TestBrowserResetMFA: an admin opens a user with MFA and clicks Reset
// MFA. The page asks first (Cancel changes nothing); confirmed past
// SudoWindow, the server answers mfa_required and the sudo dialog asks
// for a code, then the reset is retried. The panel and the row show
// "not enrolled", a notice says it is done, and the user's next sign-in
// enrols again. The button is not offered on the admin's own panel.
func TestBrowserResetMFA(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	ctx := context.Background()
	system := usermgmt.AsSystem(ctx)

	st := newSite(t, nil, nil)
	m, clk := st.m, st.clk
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	ana, _ := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	anaMFA := func() bool {
		u, err := m.GetUser(system, tenant, ana.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.MFAEnabled
	}

	admin, cancel := context.WithTimeout(startBrowser(t, chromium), 90*time.Second)
	defer cancel()
	do := steps(t, admin)

	do("sign in with a TOTP code", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`))...)

	do("the admin's own panel refuses Reset MFA, and says why",
		chromedp.Click(chromedp.CSS(`tr[data-email="`+adminEmail+`"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "`+adminEmail+`"`),
		waitFor(`document.getElementById("panel-mfa").textContent === "enabled"`),
		waitFor(`document.getElementById("panel-mfa-reset").getAttribute("aria-disabled") === "true"`),
		waitFor(`document.getElementById("panel-mfa-reset-why").textContent.includes("You cannot reset your own MFA")`))

	do("open ana's panel: Reset MFA is offered; Cancel changes nothing",
		chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "ana@acme.test"`),
		waitFor(`!document.getElementById("panel-mfa-reset").hidden`),
		chromedp.Click(chromedp.ID("panel-mfa-reset")),
		waitFor(`document.getElementById("mfa-reset-dialog").open`),
		waitFor(`document.getElementById("mfa-reset-text").textContent === "ana@acme.test will have to set up their `+
			`authenticator app again at next sign-in; all their sessions end."`))
	shot(t, admin, shots, "mfa-reset-dialog.png", "the dialog confirming an MFA reset")
	do("cancel",
		chromedp.Click(chromedp.ID("mfa-reset-cancel")),
		waitFor(`!document.getElementById("mfa-reset-dialog").open`),
		waitFor(`document.activeElement.id === "panel-mfa-reset"`))
	if !anaMFA() {
		t.Fatal("MFA reset after Cancel")
	}

	clk.Advance(16 * time.Minute) // the sign-in is older than SudoWindow
	do("confirm: the page asks for a code first",
		chromedp.Click(chromedp.ID("panel-mfa-reset")),
		waitFor(`document.getElementById("mfa-reset-dialog").open`),
		chromedp.Click(chromedp.ID("mfa-reset-ok")),
		waitFor(`document.getElementById("sudo-dialog") && document.getElementById("sudo-dialog").open`),
		waitFor(`document.activeElement.id === "sudo-code"`))
	if !anaMFA() {
		t.Fatal("MFA reset before the code was confirmed")
	}
	do("the code confirms and the reset is retried",
		chromedp.SendKeys(chromedp.ID("sudo-code"), code(t, clk, secret)),
		chromedp.Click(chromedp.ID("sudo-submit")),
		waitFor(`!document.getElementById("sudo-dialog").open`),
		waitFor(`document.getElementById("panel-mfa").textContent === "not enrolled"`),
		waitFor(`(() => { const n = document.getElementById("actions-done");
			return !n.hidden && n.textContent.startsWith("MFA reset: ana@acme.test") && document.activeElement === n; })()`),
		waitFor(`document.getElementById("panel-mfa-reset").hidden`),
		waitFor(`document.querySelector('tr[data-email="ana@acme.test"] td[data-label="MFA"]').textContent
			=== "not enrolled"`),
		waitFor(`[...document.querySelectorAll("#activity li .what")].some((e) => e.textContent === "MFA reset")`))
	shot(t, admin, shots, "mfa-reset-done.png", "the panel after an MFA reset")
	if !evalBool(t, admin, `document.getElementById("actions-error").hidden`) {
		t.Fatalf("an error shows after the reset: %q",
			evalString(t, admin, `document.getElementById("actions-error").textContent`))
	}
	if anaMFA() {
		t.Fatal("ana still has MFA after the confirmed reset")
	}
	res, err := m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: "ana@acme.test", Password: newPassword})
	if err != nil || res.Enrollment == nil || res.Session != nil {
		t.Fatalf("ana's next sign-in: %+v %v", res, err)
	}
}
