package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// TestBrowserSudo: an admin whose sign-in is older than SudoWindow turns
// tenant_admin on for a user; the server answers mfa_required, the page
// asks for an authenticator code in a dialog (a wrong one is refused in
// the dialog), confirms it with POST /auth/sudo and retries the grant
// once. Cancelling the dialog leaves the role off and says why.
func TestBrowserSudo(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	ctx := context.Background()
	system := usermgmt.AsSystem(ctx)

	st := newSite(t, nil, nil)
	m, clk := st.m, st.clk
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	ana, err := m.InviteUser(system, tenant, usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	hasAdmin := func() bool {
		u, err := m.GetUser(system, tenant, ana.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.HasRole(usermgmt.RoleTenantAdmin)
	}

	browser := startBrowser(t, chromium)
	admin, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	do := steps(t, admin)

	do("sign in with a TOTP code", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`))...)

	clk.Advance(16 * time.Minute) // the sign-in is older than SudoWindow
	do("open ana's panel and turn tenant_admin on: the page asks for a code",
		chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "ana@acme.test"`),
		chromedp.Click(chromedp.ID("role-tenant_admin")),
		waitFor(`document.getElementById("sudo-dialog") && document.getElementById("sudo-dialog").open`),
		waitFor(`document.activeElement.id === "sudo-code"`))
	if !evalBool(t, admin, `(() => { const d = document.getElementById("sudo-dialog");
		return document.getElementById(d.getAttribute("aria-labelledby")).textContent === "Confirm it is you"
			&& !!document.querySelector('label[for="sudo-code"]'); })()`) {
		t.Fatal("the dialog is not labelled")
	}
	shot(t, admin, shots, "sudo-dialog.png", "the dialog asking for a code before granting tenant_admin")

	do("a wrong code is refused in the dialog",
		chromedp.SendKeys(chromedp.ID("sudo-code"), "000000"),
		chromedp.Click(chromedp.ID("sudo-submit")),
		waitFor(`!document.getElementById("sudo-error").hidden && document.getElementById("sudo-code").getAttribute("aria-invalid") === "true"`),
		waitFor(`document.getElementById("sudo-dialog").open`))
	if hasAdmin() {
		t.Fatal("granted before the code was confirmed")
	}

	do("the right code confirms, and the grant is retried",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("sudo-code").value = ""`),
		chromedp.SendKeys(chromedp.ID("sudo-code"), code(t, clk, secret)),
		chromedp.Click(chromedp.ID("sudo-submit")),
		waitFor(`!document.getElementById("sudo-dialog").open`),
		waitFor(`document.getElementById("role-tenant_admin").checked && !document.getElementById("role-tenant_admin").disabled`),
		waitFor(`[...document.querySelectorAll("#activity li .what")].some((e) => e.textContent === "Role granted: tenant_admin")`))
	if !hasAdmin() {
		t.Fatal("tenant_admin not granted after the code")
	}
	if !evalBool(t, admin, `document.getElementById("roles-error").hidden`) {
		t.Fatalf("an error shows after the confirmed grant: %q", evalString(t, admin, `document.getElementById("roles-error").textContent`))
	}

	do("turning it off needs no code",
		chromedp.Click(chromedp.ID("role-tenant_admin")),
		waitFor(`!document.getElementById("role-tenant_admin").checked && !document.getElementById("role-tenant_admin").disabled`))
	clk.Advance(16 * time.Minute)
	do("cancel the dialog: the role stays off and the page says why",
		chromedp.Click(chromedp.ID("role-tenant_admin")),
		waitFor(`document.getElementById("sudo-dialog").open && document.getElementById("sudo-code").value === ""`),
		chromedp.Click(chromedp.ID("sudo-cancel")),
		waitFor(`!document.getElementById("sudo-dialog").open`),
		waitFor(`!document.getElementById("role-tenant_admin").checked && !document.getElementById("roles-error").hidden`))
	if hasAdmin() {
		t.Fatal("granted after a cancelled confirmation")
	}
}
