package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// TestBrowserEraseUser: an admin opens a user and clicks Erase Personal
// Data. The dialog says what goes and that it cannot be undone, and wants
// the user's email typed: a wrong one is refused beside the field, Cancel
// changes nothing. Confirmed past SudoWindow, the page asks for a code,
// then erases. The panel and the row show "Erased user", a notice says it
// is done, and the activity log keeps its events without the address or
// where they came from. The admin's own panel refuses it, with the reason.
func TestBrowserEraseUser(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	system := usermgmt.AsSystem(context.Background())

	st := newSite(t, nil, nil)
	m, clk := st.m, st.clk
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	ana, anaSecret := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	st.apiSignIn(t, ana.Email, newPassword, anaSecret, "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0", true)
	erased := func() bool {
		u, err := m.GetUser(system, tenant, ana.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.Erased()
	}

	admin, cancel := context.WithTimeout(startBrowser(t, chromium), 90*time.Second)
	defer cancel()
	do := steps(t, admin)

	do("sign in with a TOTP code", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`))...)

	do("the admin's own panel refuses Erase, and says why",
		chromedp.Click(chromedp.CSS(`tr[data-email="`+adminEmail+`"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "`+adminEmail+`"`),
		waitFor(`document.getElementById("panel-erase").getAttribute("aria-disabled") === "true"`),
		waitFor(`document.getElementById("panel-erase-why").textContent.includes("You cannot erase yourself")`))

	do("ana's panel offers it; the dialog says what goes and wants her email",
		chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "ana@acme.test"`),
		waitFor(`!document.getElementById("panel-erase").hidden && !document.getElementById("panel-erase").hasAttribute("aria-disabled")`),
		waitFor(`[...document.querySelectorAll("#activity li .meta")].some((e) => e.textContent.includes("from "))`),
		chromedp.Click(chromedp.ID("panel-erase")),
		waitFor(`document.getElementById("erase-dialog").open && document.activeElement.id === "erase-email"`),
		waitFor(`document.getElementById("erase-text").textContent.includes("ana@acme.test")`),
		waitFor(`document.getElementById("erase-warning").textContent.includes("cannot be undone")`),
		waitFor(`document.getElementById("erase-email-label").textContent === "Type ana@acme.test to confirm"`))
	shot(t, admin, shots, "erase-dialog.png", "the dialog confirming an erasure")

	do("another address is refused beside the field",
		chromedp.SendKeys(chromedp.ID("erase-email"), "bob@acme.test"),
		chromedp.Click(chromedp.ID("erase-ok")),
		waitFor(`!document.getElementById("erase-email-error").hidden`),
		waitFor(`document.getElementById("erase-email").getAttribute("aria-invalid") === "true"`),
		waitFor(`document.getElementById("erase-dialog").open`))
	do("cancel",
		chromedp.Click(chromedp.ID("erase-cancel")),
		waitFor(`!document.getElementById("erase-dialog").open`),
		waitFor(`document.activeElement.id === "panel-erase"`))
	if erased() {
		t.Fatal("erased without the right email, or after Cancel")
	}

	clk.Advance(16 * time.Minute) // the sign-in is older than SudoWindow
	do("confirmed: the page asks for a code first",
		chromedp.Click(chromedp.ID("panel-erase")),
		waitFor(`document.getElementById("erase-dialog").open && document.getElementById("erase-email").value === ""`),
		chromedp.SendKeys(chromedp.ID("erase-email"), "Ana@acme.test"),
		chromedp.Click(chromedp.ID("erase-ok")),
		waitFor(`document.getElementById("sudo-dialog") && document.getElementById("sudo-dialog").open`),
		waitFor(`document.activeElement.id === "sudo-code"`))
	if erased() {
		t.Fatal("erased before the code was confirmed")
	}
	do("the code confirms, and the erasure is retried",
		chromedp.SendKeys(chromedp.ID("sudo-code"), code(t, clk, secret)),
		chromedp.Click(chromedp.ID("sudo-submit")),
		waitFor(`!document.getElementById("sudo-dialog").open && !document.getElementById("erase-dialog").open`),
		waitFor(`document.getElementById("panel-title").textContent === "Erased user"`),
		waitFor(`document.getElementById("panel-email").hidden`),
		waitFor(`document.getElementById("panel-status").textContent === "deactivated"`),
		waitFor(`(() => { const n = document.getElementById("actions-done");
			return !n.hidden && n.textContent.startsWith("Personal data erased") && document.activeElement === n; })()`),
		waitFor(`[...document.querySelectorAll("#panel .actions button")].every((b) => b.hidden)`),
		waitFor(`document.querySelector("#activity li .what").textContent === "Personal data erased"`),
		waitFor(`document.querySelector('tr[data-id="`+ana.ID.String()+`"] .person-name').textContent === "Erased user"`),
		waitFor(`document.querySelector('[data-count="deactivated"]').textContent === "1"`))
	shot(t, admin, shots, "erased-user.png", "the panel of an erased user")
	if !erased() {
		t.Fatal("ana is not erased after the confirmed erasure")
	}
	// The log keeps ana's sign-ins, without where they came from; only
	// the erasure says where the admin acted from.
	metas := evalString(t, admin, `[...document.querySelectorAll("#activity li")].slice(1).map((e) => e.textContent).join("\n")`)
	if !evalBool(t, admin, `document.querySelectorAll("#activity li").length > 3`) {
		t.Fatalf("the log lost ana's events:\n%s", metas)
	}
	for _, gone := range []string{"ana@acme.test", "from ", "Firefox"} {
		if evalBool(t, admin, `[...document.querySelectorAll("#activity li")].slice(1).some((e) => e.textContent.includes(`+
			`"`+gone+`"))`) {
			t.Fatalf("the log still shows %q after the erasure:\n%s", gone, metas)
		}
	}
	if txt := evalString(t, admin, `document.getElementById("user-rows").textContent`); strings.Contains(txt, "ana@acme.test") {
		t.Fatalf("the list still shows ana's address: %s", txt)
	}
}
