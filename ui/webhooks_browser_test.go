package ui_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/webhooktest"
)

// allowLocalHooks lets the site's webhooks reach a receiver on loopback;
// two failed attempts in a row disable an endpoint.
func allowLocalHooks(o *usermgmt.Options) {
	o.WebhookAllowPrivate, o.WebhookAllowHTTP, o.WebhookDisableAfter = true, true, 2
}

// TestBrowserWebhooks: a tenant admin reaches the Webhooks view from the
// nav and registers an endpoint on a local receiver, choosing its events
// among those the API lists (a URL the server refuses is shown next to
// the field); the secret shows once and is copied; a deactivation reaches
// the receiver signed with it and shows in the deliveries (status, HTTP
// status, attempts), and Resend sends it again with the same id; Edit
// changes the events; more deliveries than a page show with Load more. Rotating
// asks to confirm it is you and shows the new secret with the old one's
// grace; a run of failures disables the endpoint and Enable brings it
// back; Delete, confirmed, ends it; all of it reachable by keyboard. An
// hr_admin gets no link and no view.
func TestBrowserWebhooks(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	st := newSite(t, allowLocalHooks, nil)
	m, clk := st.m, st.clk
	ctx := context.Background()
	sys := usermgmt.AsSystem(ctx)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	_, hrSecret := st.enrolled(t, "hr@acme.test", newPassword, usermgmt.RoleHRAdmin)
	ana, _ := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	rcv := webhooktest.New(t)
	// deliver runs the delivery worker once and returns what the receiver
	// got from it.
	seen := 0
	deliver := func(want int) []webhooktest.Request {
		t.Helper()
		if n, err := m.DeliverWebhooks(ctx); err != nil || n != want {
			t.Fatalf("DeliverWebhooks = %d, %v; want %d", n, err, want)
		}
		got := rcv.Requests()[seen:]
		seen += len(got)
		return got
	}
	// signedWith tells whether one of the request's signatures is made
	// with secret (during a rotation's grace period it carries two).
	signedWith := func(r webhooktest.Request, secret string) bool {
		ts, _ := strconv.ParseInt(r.Timestamp, 10, 64)
		sig, err := usermgmt.SignWebhook(r.ID, ts, r.Body, secret)
		return err == nil && slices.Contains(strings.Fields(r.Signature), sig)
	}

	b := startBrowser(t, chromium)
	page, cancel := context.WithTimeout(b, 120*time.Second)
	defer cancel()
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(page, actions...); err != nil {
			t.Fatalf("%s: %v\npage: %s", step, err, pageText(page))
		}
	}
	grantClipboard(t, b, st.url)

	do("sign in; the nav links to Webhooks", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && !document.getElementById("nav-webhooks").hidden`))...)
	do("follow the link",
		chromedp.Click(chromedp.ID("nav-webhooks")),
		waitFor(`location.pathname === "/webhooks" && !document.getElementById("hooks-ui").hidden`),
		waitFor(`!document.getElementById("endpoints-empty").hidden`))
	// One checkbox for each type the API offers, every one ticked.
	if n := evalInt(t, page, `document.querySelectorAll('input[name="hook-event"]:checked').length`); n != len(usermgmt.WebhookEventTypes()) {
		t.Fatalf("%d event checkboxes ticked, want the %d webhook event types", n, len(usermgmt.WebhookEventTypes()))
	}

	do("a URL is needed",
		chromedp.Click(chromedp.ID("hook-create")),
		waitFor(`!document.getElementById("hook-url-error").hidden && document.activeElement.id === "hook-url"`))
	do("a URL the server refuses is shown next to the field",
		chromedp.SendKeys(chromedp.ID("hook-url"), "http://me:pw@127.0.0.1/hooks"),
		chromedp.Click(chromedp.ID("hook-create")),
		waitFor(`document.getElementById("hook-url-error").textContent.includes("password")`),
		waitFor(`document.getElementById("hook-url").getAttribute("aria-invalid") === "true" && document.activeElement.id === "hook-url"`))
	do("no event ticked",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("hook-url").value = "";
			document.querySelectorAll('input[name="hook-event"]').forEach((b) => { b.checked = false; })`),
		chromedp.SendKeys(chromedp.ID("hook-url"), rcv.URL),
		chromedp.Click(chromedp.ID("hook-create")),
		waitFor(`!document.getElementById("hook-events-error").hidden && document.activeElement.name === "hook-event"`))
	do("register for deactivations and activations, with the keyboard: the secret shows once",
		chromedp.Click(chromedp.ID("hook-event-user-deactivated")),
		chromedp.Focus(chromedp.ID("hook-event-user-activated")), chromedp.KeyEvent(" "),
		chromedp.SendKeys(chromedp.ID("hook-description"), "CRM"), chromedp.KeyEvent("\r"),
		waitFor(`document.getElementById("hook-secret-dialog").open && document.activeElement.id === "hook-secret-value"`),
		waitFor(`document.querySelectorAll("#endpoint-rows tr").length === 1 && !document.getElementById("deliveries").hidden`))
	made := evalString(t, page, `document.getElementById("hook-secret-value").value`)
	if text := evalString(t, page, `document.getElementById("hook-secret-text").innerText`); !strings.Contains(text, "you will not see it again") ||
		!strings.Contains(text, rcv.URL) || !strings.HasPrefix(made, "whsec_") {
		t.Fatalf("secret dialog says %q, shows %q", text, made)
	}
	es, err := m.ListWebhookEndpoints(sys, tenant)
	if err != nil || len(es) != 1 || es[0].URL != rcv.URL || es[0].Description != "CRM" ||
		!slices.Equal(es[0].EventTypes, []usermgmt.EventType{usermgmt.EventActivated, usermgmt.EventDeactivated}) {
		t.Fatalf("endpoints = %+v, %v", es, err)
	}
	shot(t, page, shots, "webhooks-secret.png", "a new endpoint's signing secret, shown once")
	do("copy the secret", chromedp.Click(chromedp.ID("hook-secret-copy")),
		waitFor(`document.getElementById("hook-secret-status").textContent.startsWith("Copied")`))
	if c := clipboardText(t, page); c != made {
		t.Fatalf("clipboard %q, want the secret", c)
	}
	do("done: the secret is gone from the page",
		chromedp.Click(chromedp.ID("hook-secret-done")),
		waitFor(`!document.getElementById("hook-secret-dialog").open && document.getElementById("hook-secret-value").value === ""`),
		waitFor(`document.activeElement.matches("#endpoint-rows button")`))
	if evalBool(t, page, `document.body.innerText.includes(`+jsString(made)+`)`) {
		t.Fatal("the secret is still in the page")
	}
	if r := evalString(t, page, `document.querySelector("#endpoint-rows tr").innerText`); !strings.Contains(r, rcv.URL) ||
		!strings.Contains(r, "CRM") || !strings.Contains(r, "enabled") {
		t.Fatalf("endpoint row %q", r)
	}

	// A change: ana is deactivated, and the receiver hears of it.
	if _, err := m.Deactivate(sys, tenant, ana.ID); err != nil {
		t.Fatal(err)
	}
	first := deliver(1)[0]
	if !signedWith(first, made) || !strings.Contains(string(first.Body), `"type":"user.deactivated"`) {
		t.Fatalf("received %+v %s, not a deactivation signed with the secret shown", first, first.Body)
	}
	row := `#delivery-rows tr`
	do("refresh the deliveries",
		chromedp.Click(chromedp.ID("deliveries-reload")),
		waitFor(`document.querySelectorAll("`+row+`").length === 1 && document.querySelector("`+row+`").dataset.status === "delivered"`))
	r := evalString(t, page, `document.querySelector("`+row+`").innerText`)
	for _, want := range []string{"Deactivated", first.ID, "delivered", "204", "1", "just now", "Resend"} {
		if !strings.Contains(r, want) {
			t.Fatalf("delivery row %q lacks %q", r, want)
		}
	}
	shot(t, page, shots, "webhooks.png", "the Webhooks view with an endpoint and a delivery")
	do("resend it: queued again",
		chromedp.Click(chromedp.CSS(row+` button`)),
		waitFor(`document.querySelector("`+row+`").dataset.status === "pending"`),
		waitFor(`[...document.querySelectorAll("#toasts .toast-text")].some((e) => e.textContent.includes("queued again"))`),
		waitFor(`document.activeElement.id === "deliveries-reload"`))
	again := deliver(1)[0]
	if again.ID != first.ID || string(again.Body) != string(first.Body) || !signedWith(again, made) {
		t.Fatalf("resent %+v, first %+v", again, first)
	}

	do("edit: the form shows the endpoint; add Role granted and save",
		chromedp.Click(chromedp.CSS(`#endpoint-rows button[aria-label^="Edit"]`)),
		waitFor(`document.getElementById("hook-url").value === `+jsString(rcv.URL)+` && document.activeElement.id === "hook-url"`),
		waitFor(`document.getElementById("hook-event-user-deactivated").checked && !document.getElementById("hook-event-role-granted").checked`),
		chromedp.Click(chromedp.ID("hook-event-role-granted")),
		chromedp.Click(chromedp.ID("hook-create")),
		waitFor(`document.getElementById("hook-form-title").textContent === "Add an endpoint" && document.getElementById("hook-url").value === ""`),
		waitFor(`document.querySelector("#endpoint-rows tr").innerText.includes("Role granted")`),
		waitFor(`document.activeElement.matches('#endpoint-rows button[aria-label^="Edit"]')`))
	if es, err := m.ListWebhookEndpoints(sys, tenant); err != nil || len(es) != 1 || es[0].URL != rcv.URL ||
		!slices.Equal(es[0].EventTypes, []usermgmt.EventType{usermgmt.EventActivated, usermgmt.EventDeactivated, usermgmt.EventRoleGranted}) {
		t.Fatalf("after the edit: %+v %v", es, err)
	}

	// The reach of the keyboard, before the state changes further.
	reached := tabWalk(t, page, 40)
	for _, want := range []string{"#endpoint-rows button", "#hook-url", "#hook-description", "#hook-create", "#deliveries-reload"} {
		if !slices.Contains(reached, want) {
			t.Fatalf("Tab does not reach %s; it went %v", want, reached)
		}
	}

	clk.Advance(16 * time.Minute) // the sign-in is older than SudoWindow
	do("rotate the secret: confirmed, then it is you, then the new secret with the old one's grace",
		chromedp.Click(chromedp.CSS(`#endpoint-rows button[aria-label^="Rotate"]`)),
		waitFor(`document.getElementById("ask-dialog") && document.getElementById("ask-dialog").open`),
		chromedp.Click(chromedp.ID("ask-confirm")),
		waitFor(`document.getElementById("sudo-dialog") && document.getElementById("sudo-dialog").open`),
		chromedp.SendKeys(chromedp.ID("sudo-code"), code(t, clk, secret)),
		chromedp.Click(chromedp.ID("sudo-submit")),
		waitFor(`document.getElementById("hook-secret-dialog").open`),
		waitFor(`document.getElementById("hook-secret-title").textContent === "Secret rotated"`))
	rotated := evalString(t, page, `document.getElementById("hook-secret-value").value`)
	if g := evalString(t, page, `document.getElementById("hook-secret-grace").textContent`); rotated == made ||
		!strings.HasPrefix(rotated, "whsec_") || !strings.Contains(g, "old secret keeps working until") {
		t.Fatalf("rotated to %q, grace %q", rotated, g)
	}
	do("done", chromedp.Click(chromedp.ID("hook-secret-done")),
		waitFor(`document.querySelector("#endpoint-rows tr").innerText.includes("Old secret valid until")`))

	// Two failed attempts in a row disable the endpoint; Enable resumes it.
	rcv.Answer(500, 500)
	if _, err := m.Activate(sys, tenant, ana.ID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if f := deliver(0); len(f) != 1 || !signedWith(f[0], rotated) || !signedWith(f[0], made) {
			t.Fatalf("attempt %d: %+v, want one signed with both secrets", i, f)
		}
		clk.Advance(2 * time.Minute) // past the backoff
	}
	do("reload: disabled, with Enable",
		chromedp.Reload(),
		waitFor(`document.querySelector("#endpoint-rows tr") && document.querySelector("#endpoint-rows tr").innerText.includes("disabled")`),
		waitFor(`document.querySelectorAll("`+row+`").length === 2`))
	if r := evalString(t, page, `document.querySelector("`+row+`").innerText`); !strings.Contains(r, "500") || !strings.Contains(r, "2") ||
		!strings.Contains(r, "until the endpoint is enabled") {
		t.Fatalf("the failed delivery's row %q: want its HTTP status, 2 attempts, waiting for the endpoint", r)
	}
	shot(t, page, shots, "webhooks-disabled.png", "an endpoint disabled after failed deliveries")
	do("enable",
		chromedp.Click(chromedp.CSS(`#endpoint-rows button[aria-label^="Enable"]`)),
		waitFor(`document.querySelector("#endpoint-rows tr").innerText.includes("enabled")`),
		waitFor(`!document.querySelector('#endpoint-rows button[aria-label^="Enable"]')`),
		waitFor(`document.activeElement.matches("#endpoint-rows button")`))
	if got := deliver(1); len(got) != 1 || !strings.Contains(string(got[0].Body), `"type":"user.activated"`) {
		t.Fatalf("after enable: %+v", got)
	}
	do("refresh: delivered",
		chromedp.Click(chromedp.ID("deliveries-reload")),
		waitFor(`document.querySelector("`+row+`").dataset.status === "delivered"`))

	// More deliveries than a page: Load more.
	for i := 0; i < 20; i++ {
		if _, err := m.GrantRole(sys, tenant, ana.ID, usermgmt.RoleSupervisor); err != nil {
			t.Fatal(err)
		}
		if _, err := m.RevokeRole(sys, tenant, ana.ID, usermgmt.RoleSupervisor); err != nil {
			t.Fatal(err)
		}
	}
	deliver(20)
	do("refresh, then load more",
		chromedp.Click(chromedp.ID("deliveries-reload")),
		waitFor(`document.querySelectorAll("`+row+`").length === 20 && !document.getElementById("deliveries-more").hidden`),
		chromedp.Click(chromedp.ID("deliveries-more")),
		waitFor(`document.querySelectorAll("`+row+`").length === 22 && document.getElementById("deliveries-more").hidden`),
		waitFor(`document.activeElement === document.querySelectorAll("`+row+`")[20].querySelector("button")`))

	do("phone width", chromedp.EmulateViewport(390, 844), waitFor(`true`))
	shot(t, page, shots, "webhooks-phone.png", "the Webhooks view at phone width")
	if evalBool(t, page, `document.documentElement.scrollWidth > 390`) {
		t.Fatal("the Webhooks view scrolls sideways at phone width")
	}
	do("delete: cancel keeps it, confirm ends it",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Click(chromedp.CSS(`#endpoint-rows button[aria-label^="Delete"]`)),
		waitFor(`document.getElementById("ask-dialog") && document.getElementById("ask-dialog").open`),
		chromedp.Click(chromedp.ID("ask-cancel")),
		waitFor(`!document.getElementById("ask-dialog")`),
		chromedp.Click(chromedp.CSS(`#endpoint-rows button[aria-label^="Delete"]`)),
		waitFor(`document.getElementById("ask-dialog") && document.getElementById("ask-dialog").open`),
		chromedp.Click(chromedp.ID("ask-confirm")),
		waitFor(`!document.getElementById("endpoints-empty").hidden && document.getElementById("deliveries").hidden`),
		waitFor(`document.activeElement.id === "hook-url"`))
	if es, err := m.ListWebhookEndpoints(sys, tenant); err != nil || len(es) != 0 {
		t.Fatalf("after delete: %+v %v", es, err)
	}

	// An hr_admin manages users but not webhooks.
	hrTab, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	defer cancel()
	hrTab, cancel = context.WithTimeout(hrTab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(hrTab, append(st.signIn(t, "hr@acme.test", newPassword, hrSecret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length > 0`),
		waitFor(`document.getElementById("nav-webhooks").hidden`),
		chromedp.Navigate(st.url+"/webhooks"),
		waitFor(`!document.getElementById("hooks-no-access").hidden && document.getElementById("hooks-ui").hidden`))...); err != nil {
		t.Fatalf("hr_admin: %v\npage: %s", err, pageText(hrTab))
	}
}
