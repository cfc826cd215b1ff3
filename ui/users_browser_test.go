package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
)

// pageClock is run in every document of the users tests before the page's
// own scripts: Date.now runs window.__skew ms ahead (so a test can let
// minutes pass), the view's 30 s timer fires every 200 ms, and, while
// sessionStorage "slow" is set, every API call waits that many ms (so a
// test sees what the page shows while it waits).
const pageClock = `(() => {
	if (window.__usersTest) return; window.__usersTest = true;
	const now = Date.now.bind(Date); window.__skew = 0; Date.now = () => now() + window.__skew;
	const si = window.setInterval.bind(window);
	window.setInterval = (f, ms, ...a) => si(f, ms === 30000 ? 200 : ms, ...a);
	const f = window.fetch.bind(window);
	window.fetch = async (...a) => {
		const slow = Number(sessionStorage.getItem("slow") || 0);
		if (slow) await new Promise((r) => setTimeout(r, slow));
		return f(...a);
	};
})();`

func withPageClock(ctx context.Context) error {
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pageClock})
	return err
}

// usersSite is the fixture of the users list tests: an admin, an HR
// admin, ana (agent, her sign-in paused), sam (supervisor and agent) and
// ivy, whose invitation has expired.
type usersSite struct {
	*site
	admin, hr, ana, sam, ivy usermgmt.User
	adminSecret, hrSecret    string
}

func newUsersSite(t *testing.T, st *site) *usersSite {
	t.Helper()
	ctx := context.Background()
	system := usermgmt.AsSystem(ctx)
	s := &usersSite{site: st}
	s.admin, s.adminSecret = st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	s.hr, s.hrSecret = st.enrolled(t, "hr@acme.test", adminPassword, usermgmt.RoleHRAdmin)
	s.ana, _ = st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	s.sam, _ = st.enrolled(t, "sam@acme.test", newPassword, usermgmt.RoleSupervisor)
	if _, err := st.m.GrantRole(system, tenant, s.sam.ID, usermgmt.RoleAgent); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.ivy, err = st.m.InviteUser(system, tenant, usermgmt.Invite{Email: "ivy@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
		t.Fatal(err)
	}
	st.clk.Advance(2 * time.Hour) // past InviteTTL (1h): ivy's link has expired
	for range 5 {
		_, _ = st.m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: s.ana.Email, Password: "not her password"})
	}
	u, err := st.m.GetUser(system, tenant, s.ana.ID)
	if err != nil || u.LockedUntil == nil {
		t.Fatalf("ana is not locked: %+v %v", u, err)
	}
	return s
}

// browse opens a browser with the page clock and returns a step runner.
func browse(t *testing.T) (context.Context, func(string, ...chromedp.Action[chromedp.Void])) {
	t.Helper()
	ctx, cancel := context.WithTimeout(startBrowser(t, chromiumPath(t)), 150*time.Second)
	t.Cleanup(cancel)
	if err := withPageClock(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx, func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\npage: %s", step, err, pageText(ctx))
		}
	}
}

const rows = `document.querySelectorAll("#user-rows tr").length`

func rowHas(email, selector string) string {
	return fmt.Sprintf(`!!document.querySelector('tr[data-email="%s"] %s')`, email, selector)
}

func js(s string) chromedp.Action[chromedp.Void] { return chromedp.Evaluate[chromedp.Void](s) }

// TestBrowserUsersList walks the list's data on the memory store: loading
// state, the Roles column and the role filter, a locked user and Unlock,
// an expired invitation and Resend, several roles at invite and the
// warning before a last role goes, ticking times, empty states, busy
// buttons, and the URL state through back, forward, reload and a shared
// link.
func TestBrowserUsersList(t *testing.T) {
	st := newSite(t, func(o *usermgmt.Options) { o.InviteTTL = time.Hour }, nil)
	s := newUsersSite(t, st)
	system := usermgmt.AsSystem(context.Background())
	ctx, do := browse(t)
	shots := screenshotDir(t)

	do("sign in", append(st.signIn(t, adminEmail, adminPassword, s.adminSecret, false),
		waitFor(`location.pathname === "/" && `+rows+` === 5`))...)

	do("while the list loads, the counts say … and never 0",
		js(`sessionStorage.setItem("slow", "1500")`),
		chromedp.Reload(),
		waitFor(`document.querySelector('[data-count="all"]') && !document.getElementById("list-loading").hidden`),
		waitFor(`["all", "active", "invited", "deactivated"].every((k) =>
			document.querySelector('[data-count="' + k + '"]').textContent === "…")`),
		js(`sessionStorage.removeItem("slow")`),
		waitFor(rows+` === 5 && document.querySelector('[data-count="all"]').textContent === "5"`),
		waitFor(`document.getElementById("list-loading").hidden`))

	do("the Roles column shows display names",
		waitFor(`[...document.querySelectorAll('tr[data-email="sam@acme.test"] td[data-label="Roles"] .chip')]
			.map((c) => c.textContent).join() === "Supervisor,Agent"`),
		waitFor(`document.querySelector('tr[data-email="hr@acme.test"] .chip').textContent === "HR admin"`))

	do("ana's row says her sign-in is locked, and the panel too",
		waitFor(rowHas(s.ana.Email, `.marker-locked`)),
		waitFor(`document.querySelector('tr[data-email="ana@acme.test"] .marker-locked').textContent.startsWith("Locked until ")`),
		chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "ana@acme.test"`),
		waitFor(`!document.getElementById("panel-locked-row").hidden &&
			document.getElementById("panel-locked").textContent.startsWith("Sign-in paused until ")`),
		waitFor(`!document.getElementById("panel-unlock").hidden`))
	shot(t, ctx, shots, "users-locked.png", "a locked user in the list and the panel")

	do("Unlock is busy while it works, then the row and the panel agree",
		js(`sessionStorage.setItem("slow", "700")`),
		chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button[data-action="unlock"]`)),
		waitFor(`(() => { const b = document.querySelector('tr[data-email="ana@acme.test"] button[data-action="unlock"]');
			return b && b.disabled && b.getAttribute("aria-busy") === "true"; })()`),
		js(`sessionStorage.removeItem("slow")`),
		waitFor(`!`+rowHas(s.ana.Email, `.marker-locked`)+` && !`+rowHas(s.ana.Email, `button[data-action="unlock"]`)),
		waitFor(`document.getElementById("panel-locked-row").hidden && document.getElementById("panel-unlock").hidden`),
		waitFor(`[...document.querySelectorAll("#activity li .what")].some((e) => e.textContent === "Sign-in unlocked by an admin")`))
	if u, err := st.m.GetUser(system, tenant, s.ana.ID); err != nil || u.LockedUntil != nil {
		t.Fatalf("ana after Unlock: %+v %v", u, err)
	}

	do("the last role is not revoked without a warning",
		waitFor(`document.querySelector('label[for="role-agent"] .name').textContent === "Agent"`),
		waitFor(`document.querySelector('label[for="role-hr_admin"] .name').textContent === "HR admin"`),
		chromedp.Click(chromedp.ID("role-agent")),
		waitFor(`document.getElementById("last-role-dialog").open`),
		chromedp.Click(chromedp.ID("last-role-cancel")),
		waitFor(`!document.getElementById("last-role-dialog").open && document.getElementById("role-agent").checked`))
	if u, _ := st.m.GetUser(system, tenant, s.ana.ID); !u.HasRole(usermgmt.RoleAgent) {
		t.Fatal("ana lost her last role after Cancel")
	}

	do("ivy's expired invitation shows in the row and the panel; Resend is the way out",
		waitFor(`document.querySelector('tr[data-email="ivy@acme.test"] .marker-expired').textContent === "Invitation expired"`),
		chromedp.Click(chromedp.CSS(`tr[data-email="ivy@acme.test"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "ivy@acme.test"`),
		waitFor(`document.getElementById("panel-invite").textContent.startsWith("Invitation expired")`),
		chromedp.Click(chromedp.ID("panel-resend")),
		waitFor(`!`+rowHas("ivy@acme.test", `.marker-expired`)),
		waitFor(`document.getElementById("panel-invite").textContent.startsWith("Invitation link valid until")`))
	if u, _ := st.m.GetUser(system, tenant, s.ivy.ID); u.InviteExpired(st.clk.Now()) {
		t.Fatal("ivy's invitation still expired after Resend")
	}

	do("times tick: five minutes later the list and the activity say so, the exact time on hover",
		waitFor(`document.querySelector('tr[data-email="admin@acme.test"] td[data-label="Last login"] .rel').textContent === "just now"`),
		js(`(() => { const iso = document.querySelector('tr[data-email="admin@acme.test"] time').getAttribute("datetime");
			window.__skew = 0; window.__skew = Date.parse(iso) + 5 * 60000 + 1000 - Date.now(); })()`),
		waitFor(`document.querySelector('tr[data-email="admin@acme.test"] td[data-label="Last login"] .rel').textContent === "5m ago"`),
		waitFor(`document.querySelector('tr[data-email="admin@acme.test"] time').title !== ""`),
		waitFor(`[...document.querySelectorAll("#activity time .rel")].some((e) => /^[0-9]+m ago$/.test(e.textContent))`),
		js(`window.__skew = 0`))

	do("a role filter beside the badges; the counts stay per status",
		setSelect("role-filter", "supervisor"),
		waitFor(rows+` === 1 && `+rowHas("sam@acme.test", "button.link")),
		waitFor(`location.search.includes("role=supervisor")`),
		waitFor(`document.querySelector('[data-count="all"]').textContent === "5"`))

	do("an empty role filter says so, and Show all users goes back",
		setSelect("role-filter", "recruiter"),
		waitFor(`!document.getElementById("empty").hidden && document.getElementById("empty-text").textContent ===
			"No users with the role Recruiter."`),
		chromedp.Click(chromedp.ID("empty-clear-filters")),
		waitFor(rows+` === 5 && document.getElementById("role-filter").value === ""`))

	do("a search with no hits says so, and Clear search goes back",
		chromedp.SendKeys(chromedp.ID("search"), "zzz"),
		waitFor(`document.getElementById("empty-text").textContent === "No users match “zzz”."`),
		waitFor(`!document.getElementById("empty-clear-search").hidden`),
		chromedp.Click(chromedp.ID("empty-clear-search")),
		waitFor(rows+` === 5 && document.getElementById("search").value === "" && document.getElementById("empty").hidden`))

	do("invite with two roles: agent is checked by default",
		chromedp.Click(chromedp.ID("invite-open")),
		waitFor(`document.getElementById("invite-dialog").open && document.getElementById("invite-role-agent").checked`),
		waitFor(`document.querySelector('label[for="invite-role-supervisor"] .desc').textContent === "Team supervision and QA"`),
		chromedp.SendKeys(chromedp.ID("invite-email"), "two@acme.test"),
		chromedp.Click(chromedp.ID("invite-role-supervisor")),
		chromedp.Click(chromedp.ID("invite-send")),
		waitFor(`!document.getElementById("invite-dialog").open && `+rowHas("two@acme.test", ".chip")),
		waitFor(`[...document.querySelectorAll('tr[data-email="two@acme.test"] .chip')].map((c) => c.textContent).join() === "Supervisor,Agent"`),
		waitFor(`document.querySelector('[data-count="invited"]').textContent === "2"`))

	do("URL state: a badge, a search and a user go into the address",
		chromedp.Click(chromedp.ID("panel-close")),
		waitFor(`document.getElementById("panel").hidden && location.search === ""`),
		chromedp.Click(chromedp.CSS(`.badge-filter[data-status="invited"]`)),
		waitFor(`location.search === "?status=invited" && `+rows+` === 2`),
		chromedp.SendKeys(chromedp.ID("search"), "ivy"),
		waitFor(`location.search === "?status=invited&q=ivy" && `+rows+` === 1`),
		chromedp.Click(chromedp.CSS(`tr[data-email="ivy@acme.test"] button.link`)),
		waitFor(`location.search === "?status=invited&q=ivy&user=`+s.ivy.ID.String()+`"`))
	do("back closes the panel, back again drops the search; forward brings both back",
		js(`history.back()`),
		waitFor(`document.getElementById("panel").hidden && location.search === "?status=invited&q=ivy"`),
		js(`history.back()`),
		waitFor(`location.search === "?status=invited" && document.getElementById("search").value === "" && `+rows+` === 2`),
		waitFor(`document.querySelector('.badge-filter[data-status="invited"]').getAttribute("aria-pressed") === "true"`),
		js(`history.forward()`),
		waitFor(`document.getElementById("search").value === "ivy" && `+rows+` === 1`),
		js(`history.forward()`),
		waitFor(`!document.getElementById("panel").hidden && document.getElementById("panel-title").textContent === "ivy@acme.test"`))
	do("reload keeps it all",
		chromedp.Reload(),
		waitFor(`!document.getElementById("panel").hidden && document.getElementById("panel-title").textContent === "ivy@acme.test"`),
		waitFor(`document.getElementById("search").value === "ivy" && `+rows+` === 1`),
		waitFor(`document.querySelector('.badge-filter[data-status="invited"]').getAttribute("aria-pressed") === "true"`))
	do("a shared link opens the same list",
		chromedp.Navigate(st.url+"/?role=supervisor"),
		waitFor(`document.getElementById("role-filter").value === "supervisor" && `+rows+` === 2`),
		waitFor(rowHas("sam@acme.test", "button.link")+` && `+rowHas("two@acme.test", "button.link")))
}

// TestBrowserAllowedActions: an HR admin is offered no action on a tenant
// admin, and is told why; on themselves, no Deactivate and no Reset MFA.
// What the page offers is what the server then allows: each action the
// panel shows is tried against the API, and is refused if and only if the
// page refused it.
func TestBrowserAllowedActions(t *testing.T) {
	st := newSite(t, func(o *usermgmt.Options) { o.InviteTTL = time.Hour }, nil)
	s := newUsersSite(t, st)
	_, do := browse(t)

	do("sign in as the HR admin", append(st.signIn(t, s.hr.Email, adminPassword, s.hrSecret, false),
		waitFor(`location.pathname === "/" && `+rows+` === 5`))...)
	do("no row action on the tenant admin; Deactivate on ana",
		waitFor(`!`+rowHas(adminEmail, `button[data-action]`)),
		waitFor(rowHas(s.ana.Email, `button[data-action="deactivate"]`)),
		waitFor(`!`+rowHas(s.hr.Email, `button[data-action="deactivate"]`)))
	const admin = "Only a tenant admin can do this to a tenant admin."
	do("the tenant admin's panel refuses every action and says why",
		chromedp.Click(chromedp.CSS(`tr[data-email="`+adminEmail+`"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "`+adminEmail+`"`),
		waitFor(`["panel-reset", "panel-logout", "panel-mfa-reset", "panel-deactivate"].every((id) => {
			const b = document.getElementById(id), why = document.getElementById(id + "-why");
			return !b.hidden && b.getAttribute("aria-disabled") === "true" && b.getAttribute("aria-describedby") === id + "-why"
				&& why && why.textContent.endsWith("`+admin+`"); })`),
		waitFor(`document.getElementById("role-agent").disabled && document.getElementById("roles-why").textContent === "`+admin+`"`))
	if got := triedActions(t, do, s.admin.ID.String(), nil); got != "" {
		t.Fatal(got)
	}
	do("their own panel refuses Deactivate and Reset MFA, and says why",
		chromedp.Click(chromedp.CSS(`tr[data-email="hr@acme.test"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "hr@acme.test"`),
		waitFor(`document.getElementById("panel-deactivate").getAttribute("aria-disabled") === "true" &&
			document.getElementById("panel-deactivate-why").textContent === "Deactivate: You cannot deactivate yourself."`),
		waitFor(`document.getElementById("panel-mfa-reset").getAttribute("aria-disabled") === "true"`),
		waitFor(`document.getElementById("panel-reset").getAttribute("aria-disabled") === null`))
	// Force Logout of oneself ends the session that tries it: it goes last.
	if got := triedActions(t, do, s.hr.ID.String(), []string{"panel-logout"}); got != "" {
		t.Fatal(got)
	}
	do("ana's panel offers every action",
		chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "ana@acme.test"`),
		waitFor(`document.getElementById("actions-why").hidden && !document.getElementById("panel-deactivate").hidden`))
	if got := triedActions(t, do, s.ana.ID.String(), []string{"panel-deactivate"}); got != "" {
		t.Fatal(got)
	}
}

// triedActions calls, from the page, the API route of every action the
// open panel shows but skip, and returns what disagrees: an action the
// page offered that the server refused (403), or one it refused that the
// server allowed.
func triedActions(t *testing.T, do func(string, ...chromedp.Action[chromedp.Void]), id string, skip []string) string {
	t.Helper()
	var out string
	q := `(async () => {
		const routes = { "panel-resend": "/invitation/resend", "panel-unlock": "/unlock", "panel-reset": "/password-reset",
			"panel-logout": "/logout", "panel-mfa-reset": "/mfa-reset", "panel-deactivate": "/deactivate", "panel-activate": "/activate" };
		const skip = ` + jsList(skip) + `, wrong = [];
		let tried = 0;
		for (const [b, path] of Object.entries(routes)) {
			const el = document.getElementById(b);
			if (el.hidden || skip.includes(b)) continue;
			const offered = el.getAttribute("aria-disabled") !== "true";
			const r = await fetch(usermgmtUI.cfg.api + "/users/` + id + `" + path, { method: "POST", credentials: "same-origin",
				headers: { "Content-Type": "application/json" }, body: "{}" });
			tried++;
			if (offered === (r.status === 403)) wrong.push(b + " offered " + offered + ", answered " + r.status);
		}
		return tried ? wrong.join("; ") : "nothing tried";
	})()`
	do("try each action the panel shows", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		var err error
		out, err = chromedp.Evaluate[string](q, chromedp.EvalAwaitPromise)(ctx, tg)
		return chromedp.Void{}, err
	})
	return out
}

func jsList(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	return `["` + strings.Join(xs, `", "`) + `"]`
}

// TestBrowserUsersListOnPostgres: the Roles column, the role filter and
// Unlock on PostgreSQL, where the lock is read with the page and the role
// filter is a query of its own.
func TestBrowserUsersListOnPostgres(t *testing.T) {
	st := newSiteOn(t, pgtest.Store(t), func(o *usermgmt.Options) { o.InviteTTL = time.Hour }, nil)
	s := newUsersSite(t, st)
	_, do := browse(t)

	do("sign in", append(st.signIn(t, adminEmail, adminPassword, s.adminSecret, false),
		waitFor(`location.pathname === "/" && `+rows+` === 5`))...)
	do("the Roles column and the role filter",
		waitFor(`[...document.querySelectorAll('tr[data-email="sam@acme.test"] .chip')].map((c) => c.textContent).join() === "Supervisor,Agent"`),
		setSelect("role-filter", "supervisor"),
		waitFor(rows+` === 1 && `+rowHas("sam@acme.test", "button.link")+` && location.search === "?role=supervisor"`),
		setSelect("role-filter", ""),
		waitFor(rows+` === 5`))
	do("ana is locked; Unlock lifts it",
		waitFor(rowHas(s.ana.Email, `.marker-locked`)),
		chromedp.Click(chromedp.CSS(`tr[data-email="ana@acme.test"] button[data-action="unlock"]`)),
		waitFor(`!`+rowHas(s.ana.Email, `.marker-locked`)+` && !`+rowHas(s.ana.Email, `button[data-action="unlock"]`)))
	if u, err := st.m.GetUser(usermgmt.AsSystem(context.Background()), tenant, s.ana.ID); err != nil || u.LockedUntil != nil {
		t.Fatalf("ana after Unlock: %+v %v", u, err)
	}
}
