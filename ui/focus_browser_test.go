package ui_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// countRequests makes the page count its API requests in flight, so a
// test can wait until an action has wholly finished (settled).
var countRequests = chromedp.Evaluate[chromedp.Void](`(() => {
	if (window.inFlight !== undefined) return;
	window.inFlight = 0;
	const f = window.fetch;
	window.fetch = (...a) => { window.inFlight++; return f(...a).finally(() => setTimeout(() => { window.inFlight--; }, 0)); };
})()`)

// settled waits until no request is in flight, and stays so a moment
// (the page's follow-up requests and timers have run).
func settled() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for i := 0; i < 3; i++ {
			if _, err := waitFor(`window.inFlight === 0`)(ctx, t); err != nil {
				return err
			}
			if _, err := chromedp.Sleep(100*time.Millisecond)(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// focusedOn fails the test unless the focused element matches the CSS
// selector want, and in any case if focus fell to the body.
func focusedOn(t *testing.T, ctx context.Context, step, want string) {
	t.Helper()
	if !evalBool(t, ctx, fmt.Sprintf(`document.activeElement && document.activeElement !== document.body && document.activeElement.matches(%s)`, jsValue(want))) {
		t.Errorf("%s: focus is on %s, want %s", step, activeName(t, ctx), want)
	}
}

// TestBrowserFocusAfterActions: after each action of the user list and
// the panel, focus is on the control's successor, never on the body:
// deactivate and activate from a row and from the panel, a row that the
// status filter drops, the last Load more of the list and the activity,
// the panel's mail and logout buttons, a role switch, Escape on the panel,
// Unlock from a row.
func TestBrowserFocusAfterActions(t *testing.T) {
	chromium := chromiumPath(t)
	system := usermgmt.AsSystem(context.Background())
	st := newSite(t, func(o *usermgmt.Options) { o.Lockout, o.LockoutMax = time.Hour, time.Hour }, nil)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	ana, _ := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	for _, r := range []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleRecruiter, usermgmt.RoleWFMAnalyst, usermgmt.RoleHRManager} {
		_, _ = st.m.GrantRole(system, tenant, ana.ID, r)
		_, _ = st.m.RevokeRole(system, tenant, ana.ID, r)
	}
	st.enrolled(t, "locked@acme.test", newPassword, usermgmt.RoleAgent)
	for i := 0; i < 6; i++ { // failed sign-ins pause the account
		_, _ = st.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: "locked@acme.test", Password: "a wrong guess"})
	}
	for i := 0; i < 49; i++ { // 52 users: the list has a second page
		if _, err := st.m.InviteUser(system, tenant, usermgmt.Invite{Email: fmt.Sprintf("p%02d@acme.test", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
			t.Fatal(err)
		}
	}

	admin, cancel := context.WithTimeout(startBrowser(t, chromium), 120*time.Second)
	defer cancel()
	do := steps(t, admin)
	do("sign in", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 50`), countRequests, settled())...)

	do("the last Load more of the list", chromedp.Click(chromedp.ID("users-more")),
		waitFor(`document.querySelectorAll("#user-rows tr").length === 52`), settled())
	focusedOn(t, admin, "the last Load more of the list", `#user-rows tr:nth-child(51) button.link`)

	row := func(email string) string { return `tr[data-email="` + email + `"]` }
	do("unlock from a row", chromedp.Click(chromedp.CSS(row("locked@acme.test")+` button[data-action="unlock"]`)),
		waitFor(`!document.querySelector('`+row("locked@acme.test")+` button[data-action="unlock"]')`), settled())
	focusedOn(t, admin, "unlock from a row", row("locked@acme.test")+` .row-actions button`)
	do("deactivate from a row", chromedp.Click(chromedp.CSS(row("p00@acme.test")+` button.danger`)),
		waitFor(`document.getElementById("confirm-dialog").open`), chromedp.Click(chromedp.ID("confirm-ok")),
		waitFor(`document.querySelector('`+row("p00@acme.test")+` .status').textContent === "deactivated"`), settled())
	focusedOn(t, admin, "deactivate from a row", row("p00@acme.test")+` .row-actions button.primary`)
	do("activate from a row", chromedp.Click(chromedp.CSS(row("p00@acme.test")+` button.primary`)),
		waitFor(`document.querySelector('`+row("p00@acme.test")+` .status').textContent !== "deactivated"`), settled())
	focusedOn(t, admin, "activate from a row", row("p00@acme.test")+` .row-actions button`)

	do("filter by Invited, then deactivate a row: the row leaves the list",
		chromedp.Click(chromedp.CSS(`.badge-filter[data-status="invited"]`)), settled(),
		chromedp.Click(chromedp.CSS(row("p01@acme.test")+` button.danger`)),
		waitFor(`document.getElementById("confirm-dialog").open`), chromedp.Click(chromedp.ID("confirm-ok")),
		waitFor(`!document.querySelector('`+row("p01@acme.test")+`')`), settled())
	focusedOn(t, admin, "deactivate a row the filter drops", `*`)
	do("all users again", chromedp.Click(chromedp.CSS(`.badge-filter[data-status=""]`)), settled())

	do("open ana's panel", chromedp.Click(chromedp.CSS(row("ana@acme.test")+` button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "ana@acme.test"`), settled())
	focusedOn(t, admin, "open the panel", `#panel`)
	do("deactivate from the panel", chromedp.Click(chromedp.ID("panel-deactivate")),
		waitFor(`document.getElementById("confirm-dialog").open`), chromedp.Click(chromedp.ID("confirm-ok")),
		waitFor(`!document.getElementById("panel-activate").hidden`), settled())
	focusedOn(t, admin, "deactivate from the panel", `#panel-activate`)
	do("activate from the panel", chromedp.Click(chromedp.ID("panel-activate")),
		waitFor(`!document.getElementById("panel-deactivate").hidden`), settled())
	focusedOn(t, admin, "activate from the panel", `#panel-deactivate`)

	do("reset password from the panel", chromedp.Click(chromedp.ID("panel-reset")), settled())
	focusedOn(t, admin, "reset password from the panel", `#panel-reset`)
	do("force logout from the panel", chromedp.Click(chromedp.ID("panel-logout")), settled())
	focusedOn(t, admin, "force logout from the panel", `#panel-logout`)
	do("toggle a role", chromedp.Click(chromedp.ID("role-supervisor")), settled())
	focusedOn(t, admin, "toggle a role", `#role-supervisor`)

	for i := 0; i < 10 && evalBool(t, admin, `!document.getElementById("activity-more").hidden`); i++ {
		do("load more activity", chromedp.Click(chromedp.ID("activity-more")), settled())
	}
	if !evalBool(t, admin, `document.getElementById("activity-more").hidden`) {
		t.Fatal("activity never ends")
	}
	focusedOn(t, admin, "the last Load more of the activity", `#activity li`)

	do("Escape closes the panel", chromedp.KeyEvent("\x1b"), waitFor(`document.getElementById("panel").hidden`), settled())
	focusedOn(t, admin, "Escape on the panel", row("ana@acme.test")+` button.link`)

	st.mail.FailNext(errors.New("451 4.3.0 mailbox temporarily unavailable"))
	do("an invitation whose mail fails warns", chromedp.Click(chromedp.ID("invite-open")),
		waitFor(`document.getElementById("invite-dialog").open`),
		chromedp.SendKeys(chromedp.ID("invite-email"), "late@acme.test"), chromedp.Click(chromedp.ID("invite-send")),
		waitFor(`!document.getElementById("list-warning").hidden`), settled())
	focusedOn(t, admin, "after the invitation", "#invite-open")
	do("dismiss the warning", chromedp.Click(chromedp.ID("list-warning-close")),
		waitFor(`document.getElementById("list-warning").hidden`), settled())
	focusedOn(t, admin, "dismiss the warning", "#mail-summary")
}

// TestBrowserFocusOnPersonPages: when the forgot and reset forms are
// done and hidden, focus moves to the message that replaced them.
func TestBrowserFocusOnPersonPages(t *testing.T) {
	chromium := chromiumPath(t)
	st := newSite(t, nil, nil)
	ana, _ := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	b, cancel := context.WithTimeout(startBrowser(t, chromium), 60*time.Second)
	defer cancel()
	do := steps(t, b)
	do("ask for a reset link", chromedp.Navigate(st.url+"/password/forgot"),
		waitFor(`document.activeElement.id === "forgot-email"`), chromedp.KeyEvent("someone@acme.test\r"),
		waitFor(`!document.getElementById("forgot-done").hidden`))
	focusedOn(t, b, "the forgot form sent", "#forgot-done")

	st.clk.Advance(time.Minute) // mail spacing
	if err := st.m.SendPasswordReset(usermgmt.AsSystem(context.Background()), tenant, ana.ID); err != nil {
		t.Fatal(err)
	}
	msg, _ := st.mail.LastTo(ana.Email)
	do("choose a new password", chromedp.Navigate(msg.Link), waitFor(`document.activeElement.id === "reset-password"`),
		chromedp.KeyEvent(newPassword+"2\t"+newPassword+"2\r"),
		waitFor(`!document.getElementById("reset-done").hidden`))
	focusedOn(t, b, "the reset form done", "#reset-done")
}

// TestBrowserPanelIsModalOnPhone: at phone width the panel covers the
// list, so it behaves as a modal dialog: Tab and Shift+Tab cycle inside
// it, the page behind is inert, Escape closes it and focus returns to
// the row that opened it. At desktop width the panel is not modal.
func TestBrowserPanelIsModalOnPhone(t *testing.T) {
	chromium := chromiumPath(t)
	system := usermgmt.AsSystem(context.Background())
	st := newSite(t, nil, nil)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	if _, err := st.m.InviteUser(system, tenant, usermgmt.Invite{Email: "carol@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
		t.Fatal(err)
	}
	admin, cancel := context.WithTimeout(startBrowser(t, chromium), 90*time.Second)
	defer cancel()
	do := steps(t, admin)
	const carol = `tr[data-email="carol@acme.test"] button.link`
	do("sign in on a phone", append(append([]chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(390, 844)},
		st.signIn(t, adminEmail, adminPassword, secret, false)...),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`), countRequests)...)
	do("open carol's panel from the keyboard",
		chromedp.Focus(chromedp.CSS(carol)), chromedp.KeyEvent("\r"),
		waitFor(`document.getElementById("panel-title").textContent === "carol@acme.test"`), settled())
	focusedOn(t, admin, "open the panel", "#panel")
	if !evalBool(t, admin, `document.getElementById("panel").getAttribute("aria-modal") === "true"
		&& document.getElementById("main-users").inert && document.querySelector("#view-users > .topbar").inert`) {
		t.Error("the panel on a phone is not modal: the page behind is not inert")
	}
	n := evalInt(t, admin, `[...document.querySelectorAll("#panel button, #panel input")].filter((e) => e.getClientRects().length && !e.disabled).length`)
	for i := 0; i < 2*n+2; i++ {
		do("Tab", chromedp.KeyEvent("\t"))
		focusedOn(t, admin, fmt.Sprintf("Tab %d in the panel", i+1), "#panel *")
	}
	for i := 0; i < n+2; i++ {
		do("Shift+Tab", chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
		focusedOn(t, admin, fmt.Sprintf("Shift+Tab %d in the panel", i+1), "#panel *")
	}
	do("Escape closes the panel", chromedp.KeyEvent("\x1b"), waitFor(`document.getElementById("panel").hidden`))
	focusedOn(t, admin, "Escape on the panel", carol)
	if evalBool(t, admin, `document.getElementById("main-users").inert || document.querySelector("#view-users > .topbar").inert`) {
		t.Error("the list stays inert after the panel closed")
	}

	do("at desktop width the panel is beside the list, not modal", chromedp.EmulateViewport(1366, 900),
		chromedp.Focus(chromedp.CSS(carol)), chromedp.KeyEvent("\r"),
		waitFor(`!document.getElementById("panel").hidden`), settled())
	if evalBool(t, admin, `document.getElementById("panel").hasAttribute("aria-modal") || document.getElementById("main-users").inert`) {
		t.Error("the panel is modal at desktop width")
	}
}
