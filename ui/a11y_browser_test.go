package ui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// axeVersion is the axe-core release .ci/run installs (npm axe-core).
const axeVersion = "4.14.1"

// axeTags are the rules the page must pass: WCAG 2.0, 2.1 and 2.2 A and
// AA (wcag22aa adds target-size) and axe's best practices.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"}

// axeSource reads axe.min.js from USERMGMT_AXE, or from where .ci/run
// installs it. Without it the test is skipped, unless
// USERMGMT_REQUIRE_BROWSER=1 makes that a failure.
func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("USERMGMT_AXE")
	if p == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			p = filepath.Join(dir, "usermgmt", "axe-core@"+axeVersion, "node_modules", "axe-core", "axe.min.js")
		}
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) == 0 {
		if os.Getenv("USERMGMT_REQUIRE_BROWSER") == "1" {
			t.Fatalf("USERMGMT_REQUIRE_BROWSER=1 but no axe-core at %q (.ci/run installs it; or set USERMGMT_AXE): %v", p, err)
		}
		t.Skipf("no axe-core at %q (npm install axe-core@%s, or run .ci/run); set USERMGMT_REQUIRE_BROWSER=1 to fail instead", p, axeVersion)
	}
	return string(b)
}

// checkA11y injects axe-core into the page of ctx (once a page) and runs
// it with axeTags; every violation, of any impact, fails the test with its
// rule, impact, the elements and what to do.
func checkA11y(t *testing.T, ctx context.Context, axe, name string) {
	t.Helper()
	js := fmt.Sprintf(`(async () => {
		if (typeof window.axe === "undefined") { (0, eval)(%s); }
		const r = await axe.run(document, { runOnly: { type: "tag", values: %s }, resultTypes: ["violations"] });
		return JSON.stringify(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.map((n) => n.target.join(" ") + (n.failureSummary ? " — " + n.failureSummary.replace(/\s+/g, " ") : "")) })));
	})()`, jsValue(axe), jsValue(axeTags))
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", name, err)
	}
	var vs []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: axe result %q: %v", name, out, err)
	}
	for _, v := range vs {
		t.Errorf("%s: axe %s (%s): %s\n\t%s", name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// jsValue writes v as a JavaScript literal.
func jsValue(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkSkipLink follows the page's skip link with the keyboard: it must
// lead to the visible main of the view, and focus lands there.
func checkSkipLink(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	target := evalString(t, ctx, `(() => {
		const a = document.querySelector("a.skip"); if (!a) return "no skip link";
		const m = document.querySelector(a.getAttribute("href"));
		if (!m) return "the skip link points at " + a.getAttribute("href") + ", which is not in the page";
		if (!m.getClientRects().length) return "the skip link points at " + a.getAttribute("href") + ", which is hidden";
		a.focus(); return "";
	})()`)
	if target != "" {
		t.Errorf("%s: %s", name, target)
		return
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r"),
		waitFor(`document.activeElement === document.querySelector(document.querySelector("a.skip").getAttribute("href"))`)); err != nil {
		t.Errorf("%s: Enter on the skip link does not focus its target: focus is on %s", name, activeName(t, ctx))
	}
}

// checkFocusRing walks the view with Tab and checks, on every element
// that takes focus, a ring of at least 2px whose colour has 3:1 contrast
// with what is around it (the background behind the element, through
// every translucent layer), as WCAG 1.4.11 asks of a focus indicator.
func checkFocusRing(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	seen := map[string]bool{}
	for i := 0; i < 80; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatalf("%s: Tab: %v", name, err)
		}
		var r struct{ Key, Problem string }
		if err := json.Unmarshal([]byte(evalString(t, ctx, focusRingJS)), &r); err != nil {
			t.Fatal(err)
		}
		if seen[r.Key] {
			return // round the page once
		}
		if r.Problem != "" {
			t.Errorf("%s: %s", name, r.Problem)
		}
		seen[r.Key] = true
	}
}

// focusRingJS judges the focused element's ring; the answer is JSON
// {key, problem}.
const focusRingJS = `(() => {
	const e = document.activeElement;
	const key = !e || e === document.body ? "body" : e.tagName + "#" + e.id + "." + e.className + ":" + (e.textContent || "").slice(0, 30) + ":" + (e.getAttribute("aria-label") || "");
	if (!e || e === document.body) return JSON.stringify({ key, problem: "" });
	const rgba = (c) => { const m = c.match(/[\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
	const over = (top, under) => top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3]));
	const layers = [];
	for (let p = e.parentElement; p; p = p.parentElement) {
		const c = rgba(getComputedStyle(p).backgroundColor);
		if (c[3] > 0) layers.push(c);
		if (c[3] === 1) break;
	}
	let bg = [255, 255, 255];
	for (const l of layers.reverse()) bg = over(l, bg);
	const cs = getComputedStyle(e);
	const what = key.replace(/:+$/, "");
	if (cs.outlineStyle === "none" || parseFloat(cs.outlineWidth) < 2) return JSON.stringify({ key, problem: what + ": no focus ring of 2px or more (outline " + cs.outline + ")" });
	const ring = over(rgba(cs.outlineColor), bg);
	const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
	const [hi, lo] = [lum(ring), lum(bg)].sort((a, b) => b - a);
	const ratio = (hi + 0.05) / (lo + 0.05);
	return JSON.stringify({ key, problem: ratio >= 3 ? "" : what + ": focus ring contrast " + ratio.toFixed(2) + ":1 against rgb(" + bg.map(Math.round) + ")" });
})()`

// checkNoMidWordBreaks fails if a heading, the TOTP secret or an email of
// the list wraps inside a word: each run of non-space characters of their
// text (a <wbr> ends a run) must sit on one line.
func checkNoMidWordBreaks(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	broken := evalString(t, ctx, `(() => {
		const out = [];
		for (const el of document.querySelectorAll("h1, h2, h3, .secret, #user-rows button.link")) {
			if (!el.getClientRects().length) continue;
			const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
			for (let n = walk.nextNode(); n; n = walk.nextNode()) {
				for (const m of n.data.matchAll(/\S+/g)) {
					const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
					const tops = new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top)));
					if (tops.size > 1) out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " breaks " + JSON.stringify(m[0]));
				}
			}
		}
		return out.join("; ");
	})()`)
	if broken != "" {
		t.Errorf("%s: text breaks mid-word: %s", name, broken)
	}
}

// activeName describes the focused element, for messages.
func activeName(t *testing.T, ctx context.Context) string {
	t.Helper()
	return evalString(t, ctx, `(() => { const e = document.activeElement; if (!e || e === document.body) return "the body";
		return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : "")
			+ ' "' + (e.getAttribute("aria-label") || e.textContent || "").trim().slice(0, 40) + '"'; })()`)
}

// a11yFixture is what the views of the accessibility check are opened
// from: one site with users in every state, a browser, the window size
// of the current round, and an admin tab signed in for that size.
type a11yFixture struct {
	t             *testing.T // the current view's subtest
	st            *site
	browser       context.Context
	width, height int64
	adminSecret   string
	admin         context.Context
	ana           usermgmt.User // active, with MFA and a second role
	agentSecret   string        // of agent@acme.test, whose roles do not manage users
	erased        usermgmt.User // a user whose personal data was erased
	seq           int
}

// tab opens a fresh browser context (no cookies) at the round's size; it
// closes when the view's subtest ends.
func (f *a11yFixture) tab() context.Context {
	f.t.Helper()
	ctx, cancel := chromedp.NewContext(f.browser, chromedp.WithNewBrowserContext())
	f.t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	f.t.Cleanup(cancel)
	f.do(ctx, "window size", chromedp.EmulateViewport(f.width, f.height))
	return ctx
}

// adminTab is the round's tab signed in as the tenant_admin, showing the
// user list afresh with its rows and mail notice loaded.
func (f *a11yFixture) adminTab() context.Context {
	f.t.Helper()
	if f.admin == nil {
		ctx, cancel := chromedp.NewContext(f.browser, chromedp.WithNewBrowserContext())
		f.admin = ctx
		f.do(ctx, "window size", chromedp.EmulateViewport(f.width, f.height))
		f.do(ctx, "sign in", append(f.st.signIn(f.t, adminEmail, adminPassword, f.adminSecret, false),
			waitFor(`location.pathname === "/"`))...)
		_ = cancel // the browser's end closes it
	}
	ctx, cancel := context.WithTimeout(f.admin, 60*time.Second)
	f.t.Cleanup(cancel)
	f.do(ctx, "the user list", chromedp.Navigate(f.st.url+"/"),
		waitFor(`document.querySelectorAll("#user-rows tr").length > 0`),
		waitFor(`performance.getEntriesByType("resource").some((e) => e.name.includes("/api/mail/undelivered") && e.responseEnd > 0)`))
	return ctx
}

func (f *a11yFixture) do(ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	f.t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		f.t.Fatalf("%s: %v\npage: %s", step, err, pageText(ctx))
	}
}

// invitee invites a new person as trusted code and opens their
// invitation link in a fresh tab.
func (f *a11yFixture) invitee() context.Context {
	f.t.Helper()
	f.seq++
	email := fmt.Sprintf("new%d@acme.test", f.seq)
	if _, err := f.st.m.InviteUser(usermgmt.AsSystem(context.Background()), tenant,
		usermgmt.Invite{Email: email, Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
		f.t.Fatal(err)
	}
	msg, _ := f.st.mail.LastTo(email)
	ctx := f.tab()
	f.do(ctx, "open the invitation", chromedp.Navigate(msg.Link), waitFor(`document.activeElement.id === "new-password"`))
	return ctx
}

// enrolling sets the invitee's password and waits for the QR code step.
func (f *a11yFixture) enrolling() context.Context {
	f.t.Helper()
	ctx := f.invitee()
	f.do(ctx, "set a password",
		chromedp.SendKeys(chromedp.ID("new-password"), newPassword),
		chromedp.SendKeys(chromedp.ID("new-password2"), newPassword),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("enrol-form")),
		waitFor(`document.getElementById("qr").naturalWidth > 0`))
	return ctx
}

// loginPage opens the login page, signed out.
func (f *a11yFixture) loginPage() context.Context {
	f.t.Helper()
	ctx := f.tab()
	f.do(ctx, "open log in", chromedp.Navigate(f.st.url+"/login"), waitFor(`document.activeElement.id === "login-email"`))
	return ctx
}

// account opens the admin's account page.
func (f *a11yFixture) account() context.Context {
	f.t.Helper()
	ctx := f.adminTab()
	f.do(ctx, "open the account page", chromedp.Navigate(f.st.url+"/account"),
		waitFor(`!document.getElementById("account-who").hidden && document.getElementById("account-email").textContent !== ""`),
		waitFor(`document.querySelectorAll("#account-sessions-list li").length > 0`))
	return ctx
}

// withPanel opens the detail panel of email in the admin tab.
func (f *a11yFixture) withPanel(email string) context.Context {
	f.t.Helper()
	ctx := f.adminTab()
	f.do(ctx, "open the panel of "+email,
		chromedp.Click(chromedp.CSS(`tr[data-email="`+email+`"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "`+email+`" && document.querySelectorAll("#activity li").length > 0`),
		waitFor(`document.getElementById("panel-sessions-section").hidden || document.querySelectorAll("#panel-sessions li").length > 0`))
	return ctx
}

// provisioning opens the Provisioning view in the admin tab, its tokens
// and groups loaded.
func (f *a11yFixture) provisioning() context.Context {
	f.t.Helper()
	ctx := f.adminTab()
	f.do(ctx, "open Provisioning", chromedp.Navigate(f.st.url+"/provisioning"),
		waitFor(`document.querySelectorAll("#token-rows tr").length > 0 && document.querySelectorAll("#group-rows tr").length > 0`))
	return ctx
}

// longEmail is an address longer than a phone's line.
const longEmail = "maria-fernanda.rodriguez-villanueva@recruiting.subsidiary.acme.test"

// a11yView is one state of the page the accessibility check visits: open
// brings a tab to it and returns the tab. A view, dialog or section added
// to the page gets a row here.
type a11yView struct {
	name string
	open func(f *a11yFixture) context.Context
}

var a11yViews = []a11yView{
	{"login", (*a11yFixture).loginPage},
	{"login with a refused password", func(f *a11yFixture) context.Context {
		ctx := f.loginPage()
		f.do(ctx, "a wrong password",
			chromedp.SendKeys(chromedp.ID("login-email"), adminEmail),
			chromedp.SendKeys(chromedp.ID("login-password"), "not the password at all"),
			chromedp.Click(chromedp.ID("login-submit")),
			waitFor(`!document.getElementById("login-password-error").hidden`))
		return ctx
	}},
	{"MFA step", func(f *a11yFixture) context.Context {
		ctx := f.loginPage()
		f.do(ctx, "the code step",
			chromedp.SendKeys(chromedp.ID("login-email"), adminEmail),
			chromedp.SendKeys(chromedp.ID("login-password"), adminPassword),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("code-form")))
		return ctx
	}},
	{"forgot password", func(f *a11yFixture) context.Context {
		ctx := f.tab()
		f.do(ctx, "open", chromedp.Navigate(f.st.url+"/password/forgot"), waitFor(`document.activeElement.id === "forgot-email"`))
		return ctx
	}},
	{"forgot password, sent", func(f *a11yFixture) context.Context {
		ctx := f.tab()
		f.do(ctx, "ask for a link", chromedp.Navigate(f.st.url+"/password/forgot"), waitFor(`document.activeElement.id === "forgot-email"`),
			chromedp.SendKeys(chromedp.ID("forgot-email"), "nobody@acme.test"),
			chromedp.KeyEvent("\r"),
			waitFor(`!document.getElementById("forgot-done").hidden`))
		return ctx
	}},
	{"reset password", func(f *a11yFixture) context.Context {
		f.st.clk.Advance(time.Minute) // mail spacing
		if err := f.st.m.SendPasswordReset(usermgmt.AsSystem(context.Background()), tenant, f.ana.ID); err != nil {
			f.t.Fatal(err)
		}
		msg, _ := f.st.mail.LastTo(f.ana.Email)
		ctx := f.tab()
		f.do(ctx, "open the reset link", chromedp.Navigate(msg.Link), waitFor(`document.activeElement.id === "reset-password"`))
		return ctx
	}},
	{"accept invitation", (*a11yFixture).invitee},
	{"enrolment", (*a11yFixture).enrolling},
	{"recovery codes", func(f *a11yFixture) context.Context {
		ctx := f.enrolling()
		secret := strings.ReplaceAll(evalString(f.t, ctx, `document.getElementById("secret").textContent`), " ", "")
		f.do(ctx, "enrol",
			chromedp.SendKeys(chromedp.ID("enrol-code"), code(f.t, f.st.clk, secret)),
			chromedp.Click(chromedp.ID("enrol-submit")),
			chromedp.WaitVisible(chromedp.ID("recovery")))
		return ctx
	}},
	{"users list", (*a11yFixture).adminTab},
	{"undelivered mail, expanded", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "expand", waitFor(`!document.getElementById("mail-notice").hidden`),
			chromedp.Click(chromedp.ID("mail-summary")), waitFor(`document.getElementById("mail-details").open`))
		return ctx
	}},
	{"no user matches", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "search", chromedp.SendKeys(chromedp.ID("search"), "nobody-at-all"),
			waitFor(`!document.getElementById("empty").hidden`))
		return ctx
	}},
	{"panel", func(f *a11yFixture) context.Context { return f.withPanel(f.ana.Email) }},
	{"panel of an invited user", func(f *a11yFixture) context.Context { return f.withPanel("carol@acme.test") }},
	{"panel of a long address", func(f *a11yFixture) context.Context { return f.withPanel(longEmail) }},
	{"panel of an expired invitation", func(f *a11yFixture) context.Context { return f.withPanel("old@acme.test") }},
	{"panel of a locked user", func(f *a11yFixture) context.Context { return f.withPanel("locked@acme.test") }},
	{"own panel, actions refused with reasons", func(f *a11yFixture) context.Context { return f.withPanel(adminEmail) }},
	{"filtered by a role no one has", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "filter", setSelect("role-filter", "compliance_officer"), waitFor(`!document.getElementById("empty").hidden`))
		return ctx
	}},
	{"export activity dialog", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "open", chromedp.Click(chromedp.ID("export-activity-open")),
			waitFor(`document.getElementById("export-dialog").open`))
		return ctx
	}},
	{"export activity dialog with a range refused", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "an end before the start", chromedp.Click(chromedp.ID("export-activity-open")),
			waitFor(`document.getElementById("export-dialog").open`),
			chromedp.SetValue(chromedp.ID("export-from"), "2026-03-10"), chromedp.SetValue(chromedp.ID("export-to"), "2026-03-01"),
			chromedp.Click(chromedp.ID("export-download")), waitFor(`!document.getElementById("export-range-error").hidden`))
		return ctx
	}},
	{"invite dialog", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "open", chromedp.Click(chromedp.ID("invite-open")), waitFor(`document.getElementById("invite-dialog").open`))
		return ctx
	}},
	{"invite dialog with an error", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "send empty", chromedp.Click(chromedp.ID("invite-open")), waitFor(`document.getElementById("invite-dialog").open`),
			chromedp.Click(chromedp.ID("invite-send")), waitFor(`!document.getElementById("invite-email-error").hidden`))
		return ctx
	}},
	{"deactivate dialog", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "open", chromedp.Click(chromedp.CSS(`tr[data-email="carol@acme.test"] button.danger`)),
			waitFor(`document.getElementById("confirm-dialog").open`))
		return ctx
	}},
	{"revoke session dialog", func(f *a11yFixture) context.Context {
		ctx := f.withPanel(f.ana.Email)
		f.do(ctx, "open", chromedp.Click(chromedp.CSS(`#panel-sessions li button`)),
			waitFor(`document.getElementById("revoke-dialog") && document.getElementById("revoke-dialog").open`))
		return ctx
	}},
	{"erase dialog", func(f *a11yFixture) context.Context {
		ctx := f.withPanel(f.ana.Email)
		f.do(ctx, "open", chromedp.Click(chromedp.ID("panel-erase")), waitFor(`document.getElementById("erase-dialog").open`))
		return ctx
	}},
	{"erase dialog, another email typed", func(f *a11yFixture) context.Context {
		ctx := f.withPanel(f.ana.Email)
		f.do(ctx, "type another email", chromedp.Click(chromedp.ID("panel-erase")), waitFor(`document.getElementById("erase-dialog").open`),
			chromedp.SendKeys(chromedp.ID("erase-email"), "someone@acme.test"), chromedp.Click(chromedp.ID("erase-ok")),
			waitFor(`!document.getElementById("erase-email-error").hidden`))
		return ctx
	}},
	{"panel of an erased user", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "open the erased user's panel", chromedp.Click(chromedp.CSS(`tr[data-id="`+f.erased.ID.String()+`"] button.link`)),
			waitFor(`document.getElementById("panel-title").textContent === "Erased user" && document.querySelectorAll("#activity li").length > 0`))
		return ctx
	}},
	{"reset MFA dialog", func(f *a11yFixture) context.Context {
		ctx := f.withPanel(f.ana.Email)
		f.do(ctx, "open", chromedp.Click(chromedp.ID("panel-mfa-reset")), waitFor(`document.getElementById("mfa-reset-dialog").open`))
		return ctx
	}},
	{"confirm identity dialog", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "open", chromedp.Evaluate[chromedp.Void](`void usermgmtUI.confirmIdentity()`),
			waitFor(`document.getElementById("sudo-dialog").open`))
		return ctx
	}},
	{"toasts", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "show", chromedp.Evaluate[chromedp.Void](`usermgmtUI.toastMs = 600000; usermgmtUI.toast("Invitation sent to x@acme.test.");
			usermgmtUI.toast("Something went wrong.", { kind: "error" })`),
			waitFor(`document.querySelectorAll("#toasts .toast").length === 2`))
		return ctx
	}},
	{"sign out everywhere dialog", func(f *a11yFixture) context.Context {
		ctx := f.withPanel(adminEmail)
		f.do(ctx, "open", chromedp.Click(chromedp.ID("panel-logout")),
			waitFor(`document.getElementById("ask-dialog") && document.getElementById("ask-dialog").open`))
		return ctx
	}},
	{"login after the session ended", func(f *a11yFixture) context.Context {
		ctx := f.tab()
		f.do(ctx, "open", chromedp.Navigate(f.st.url+"/login?next=%2F&ended=1"),
			waitFor(`!document.getElementById("login-notice").hidden`))
		return ctx
	}},
	{"used invitation link", func(f *a11yFixture) context.Context {
		ctx := f.tab()
		link := ""
		for _, m := range f.st.mail.Messages() { // ana's invitation, spent when she enrolled
			if m.To == f.ana.Email && m.Kind == usermgmt.MessageInvite {
				link = m.Link
			}
		}
		f.do(ctx, "open", chromedp.Navigate(link), waitFor(`!document.getElementById("accept-notice").hidden`))
		return ctx
	}},
	{"users view without access", func(f *a11yFixture) context.Context {
		ctx := f.tab()
		f.do(ctx, "sign in as an agent", append(f.st.signIn(f.t, "agent@acme.test", newPassword, f.agentSecret, false),
			waitFor(`location.pathname === "/" && !document.getElementById("no-access").hidden`))...)
		return ctx
	}},
	{"provisioning", (*a11yFixture).provisioning},
	{"provisioning, a new token's secret", func(f *a11yFixture) context.Context {
		ctx := f.provisioning()
		f.seq++
		f.do(ctx, "create a token", chromedp.SendKeys(chromedp.ID("token-name"), fmt.Sprintf("Entra %d", f.seq)),
			chromedp.Click(chromedp.ID("token-create")), waitFor(`document.getElementById("secret-dialog").open`))
		return ctx
	}},
	{"provisioning, a group's roles", func(f *a11yFixture) context.Context {
		ctx := f.provisioning()
		f.do(ctx, "edit roles", chromedp.Click(chromedp.CSS(`#group-rows tr[data-name="HR Team"] button`)),
			waitFor(`document.getElementById("group-dialog").open`))
		return ctx
	}},
	{"panel of a provisioned user with roles from groups", func(f *a11yFixture) context.Context {
		ctx := f.adminTab()
		f.do(ctx, "open bo's panel", chromedp.Click(chromedp.CSS(`tr[data-email="bo@acme.test"] button.link`)),
			waitFor(`document.getElementById("panel-title").textContent === "Bo Lindqvist" && document.querySelectorAll("#activity li").length > 0`),
			waitFor(`document.querySelectorAll("#panel-roles .via-note").length > 0`))
		return ctx
	}},
	{"account", (*a11yFixture).account},
	{"account, password refused", func(f *a11yFixture) context.Context {
		ctx := f.account()
		f.do(ctx, "a wrong current password",
			chromedp.SendKeys(chromedp.ID("current-password"), "not my password at all"),
			chromedp.SendKeys(chromedp.ID("account-new-password"), newPassword+"!"),
			chromedp.SendKeys(chromedp.ID("account-new-password2"), newPassword+"!"),
			chromedp.Click(chromedp.ID("change-password-submit")),
			waitFor(`!document.getElementById("current-password-error").hidden`))
		return ctx
	}},
	{"account, new recovery codes", func(f *a11yFixture) context.Context {
		ctx := f.account()
		f.do(ctx, "make new codes",
			chromedp.SendKeys(chromedp.ID("regenerate-code"), code(f.t, f.st.clk, f.adminSecret)),
			chromedp.Click(chromedp.ID("regenerate-submit")),
			waitFor(`!document.getElementById("new-codes").hidden`))
		return ctx
	}},
}

// TestBrowserAccessibility opens every view, dialog and section of
// a11yViews at desktop (1366×900) and phone (390×844) size and checks
// each with axe-core (WCAG 2.2 AA + best-practice, zero violations of any
// impact), that the skip link leads to the view's main, that no heading
// nor the TOTP secret breaks inside a word, and (at desktop size, the
// colours being the same on a phone) that every element Tab reaches
// shows a focus ring of 3:1 contrast.
func TestBrowserAccessibility(t *testing.T) {
	chromium := chromiumPath(t)
	axe := axeSource(t)
	system := usermgmt.AsSystem(context.Background())

	st := newSite(t, func(o *usermgmt.Options) { o.Lockout, o.LockoutMax = time.Hour, time.Hour }, nil) // a locked account stays so
	// An invitation a week and more old has expired.
	if _, err := st.m.InviteUser(system, tenant, usermgmt.Invite{Email: "old@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
		t.Fatal(err)
	}
	st.clk.Advance(8 * 24 * time.Hour)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	ana, anaSecret := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	// ana is signed in on a phone that she trusts: her panel lists a session and a device.
	st.apiSignIn(t, ana.Email, newPassword, anaSecret,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", true)
	if _, err := st.m.GrantRole(system, tenant, ana.ID, usermgmt.RoleSupervisor); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"carol@acme.test", "dave@acme.test", longEmail} {
		if _, err := st.m.InviteUser(system, tenant, usermgmt.Invite{Email: e, Roles: []usermgmt.Role{usermgmt.RoleRecruiter}}); err != nil {
			t.Fatal(err)
		}
	}
	_, agentSecret := st.enrolled(t, "agent@acme.test", newPassword, usermgmt.RoleAgent)
	// What an identity provider leaves: a token, a named user and groups
	// that give ana and bo roles (ana's supervisor both ways, her recruiter
	// through a group only).
	_, bo := st.provisioned(t, "bo@acme.test", usermgmt.Profile{DisplayName: "Bo Lindqvist", ExternalID: "00u2"})
	st.group(t, "HR Team", []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleRecruiter}, ana.ID, bo.ID)
	st.group(t, "Agents Lisbon", []usermgmt.Role{usermgmt.RoleAgent}, bo.ID)
	gone, _ := st.enrolled(t, "gone@acme.test", newPassword, usermgmt.RoleAgent)
	st.enrolled(t, "locked@acme.test", newPassword, usermgmt.RoleAgent)
	for i := 0; i < 6; i++ { // failed sign-ins pause the account
		_, _ = st.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: "locked@acme.test", Password: "a wrong guess"})
	}
	if _, err := st.m.Deactivate(system, tenant, gone.ID); err != nil {
		t.Fatal(err)
	}
	erased, _ := st.enrolled(t, "zoe@acme.test", newPassword, usermgmt.RoleAgent)
	if err := st.m.EraseUser(system, tenant, erased.ID); err != nil {
		t.Fatal(err)
	}
	st.mail.FailNext(errors.New("451 4.3.0 mailbox temporarily unavailable"))
	if _, err := st.m.InviteUser(system, tenant, usermgmt.Invite{Email: "late@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}}); usermgmt.ErrorCode(err) != usermgmt.CodeDeliveryFailed {
		t.Fatalf("invite with a failing mailer: %v", err)
	}

	f := &a11yFixture{st: st, browser: startBrowser(t, chromium), adminSecret: secret, ana: ana, agentSecret: agentSecret,
		erased: erased}
	for _, size := range []struct{ w, h int64 }{{1366, 900}, {390, 844}} {
		f.width, f.height, f.admin = size.w, size.h, nil
		for _, v := range a11yViews {
			t.Run(fmt.Sprintf("%dx%d/%s", size.w, size.h, v.name), func(t *testing.T) {
				f.t = t
				ctx := v.open(f)
				if os.Getenv("USERMGMT_SCREENSHOTS") != "" { // a picture of each view, when asked for
					shot(t, ctx, screenshotDir(t), fmt.Sprintf("a11y-%dx%d-%s.png", size.w, size.h, strings.ReplaceAll(v.name, " ", "-")), v.name)
				}
				checkA11y(t, ctx, axe, v.name)
				checkNoMidWordBreaks(t, ctx, v.name)
				if size.w > 760 { // the colours are the same at phone width; the walk takes time
					checkFocusRing(t, ctx, v.name)
				}
				if !evalBool(t, ctx, `document.querySelector("dialog[open], [aria-modal=true]")`) { // the rest of the page is inert
					checkSkipLink(t, ctx, v.name)
				}
			})
		}
	}
}
