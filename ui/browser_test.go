package ui_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testclock"
)

// chromiumPath finds Debian's chromium; USERMGMT_CHROMIUM overrides it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("USERMGMT_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		if lp, err2 := exec.LookPath("chromium"); err2 == nil {
			return lp
		}
		if os.Getenv("USERMGMT_REQUIRE_BROWSER") == "1" {
			t.Fatalf("USERMGMT_REQUIRE_BROWSER=1 but no chromium at %s: %v", p, err)
		}
		t.Skipf("no chromium at %s (apt-get install chromium); set USERMGMT_REQUIRE_BROWSER=1 to fail instead", p)
	}
	return p
}

// screenshotDir is USERMGMT_SCREENSHOTS, or a temporary folder.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("USERMGMT_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

const (
	tenant        = "acme"
	adminEmail    = "admin@acme.test"
	adminPassword = "chief password for the browser"
	newPassword   = "invitee chooses this passphrase"
)

// TestBrowser drives the page in headless Chromium: an admin signs in with
// a TOTP code, invites a user, sees the Invited count change, opens the
// detail panel, toggles a role, deactivates with the confirm dialog and
// loads more activity; the invitee follows the mailed link, sets a
// password, enrols with a computed code and lands signed in. Then an
// invitation whose mail fails warns, shows in the notice of undelivered
// mail and is resent from there, and a reset mail given up shows failed.
func TestBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	ctx := usermgmt.AsSystem(context.Background()) // the test's own set-up and checks are trusted code

	st := newSite(t, func(o *usermgmt.Options) { o.MailMaxAttempts = 2 }, nil) // a mail fails for good after a retry
	m, mail, clk, srvURL := st.m, st.mail, st.clk, st.url

	// Set-up as trusted code: the first tenant_admin, and people for the list.
	_, adminSecret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	busy, err := m.InviteUser(ctx, tenant, usermgmt.Invite{Email: "busy@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleRecruiter, usermgmt.RoleWFMAnalyst, usermgmt.RoleHRManager} {
		_, _ = m.GrantRole(ctx, tenant, busy.ID, r)
		_, _ = m.RevokeRole(ctx, tenant, busy.ID, r)
	}
	for _, e := range []string{"carol@acme.test", "dave@acme.test"} {
		if _, err := m.InviteUser(ctx, tenant, usermgmt.Invite{Email: e, Roles: []usermgmt.Role{usermgmt.RoleRecruiter}}); err != nil {
			t.Fatal(err)
		}
	}

	browser := startBrowser(t, chromium)

	// --- The admin ---
	admin, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	admin, cancel = context.WithTimeout(admin, 90*time.Second)
	defer cancel()
	do := steps(t, admin)

	do("open the page: redirected to log in",
		chromedp.Navigate(srvURL+"/"),
		waitFor(`location.pathname === "/login" && document.activeElement.id === "login-email"`),
		chromedp.SendKeys(chromedp.ID("login-email"), adminEmail),
		chromedp.SendKeys(chromedp.ID("login-password"), adminPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("code-form")))
	do("answer with a TOTP code",
		chromedp.SendKeys(chromedp.ID("code-input"), code(t, clk, adminSecret)),
		chromedp.Click(chromedp.ID("code-submit")),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 4`))
	invited := count(t, admin, "invited")
	if invited != "3" || count(t, admin, "active") != "1" || count(t, admin, "all") != "4" {
		t.Fatalf("badges: invited %s active %s all %s", invited, count(t, admin, "active"), count(t, admin, "all"))
	}
	row := rowText(t, admin, adminEmail)
	for _, want := range []string{"active", "enabled", "just now"} {
		if !strings.Contains(row, want) {
			t.Fatalf("admin row %q lacks %q", row, want)
		}
	}

	do("invite a user",
		chromedp.Click(chromedp.ID("invite-open")),
		chromedp.WaitVisible(chromedp.ID("invite-dialog")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "New.Person@acme.test"),
		chromedp.Click(chromedp.ID("invite-role-agent")),
		chromedp.Click(chromedp.ID("invite-role-recruiter")),
		chromedp.Click(chromedp.ID("invite-send")),
		waitFor(`!document.getElementById("invite-dialog").open && document.querySelector('[data-count="invited"]').textContent === "4"`),
		waitFor(`!!document.querySelector('tr[data-email="new.person@acme.test"]')`))
	if r := rowText(t, admin, "new.person@acme.test"); !strings.Contains(r, "invited") || !strings.Contains(r, "not enrolled") || !strings.Contains(r, "never") || !strings.Contains(r, "Resend Invite") {
		t.Fatalf("new row: %q", r)
	}
	do("an invalid email is shown next to the field",
		chromedp.Click(chromedp.ID("invite-open")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "busy@acme.test"),
		chromedp.Click(chromedp.ID("invite-send")),
		waitFor(`!document.getElementById("invite-email-error").hidden && document.getElementById("invite-email").getAttribute("aria-invalid") === "true"`),
		chromedp.Click(chromedp.ID("invite-cancel")))
	do("filter by the Invited badge and search",
		chromedp.Click(chromedp.CSS(`.badge-filter[data-status="invited"]`)),
		waitFor(`document.querySelectorAll("#user-rows tr").length === 4`),
		chromedp.Click(chromedp.CSS(`.badge-filter[data-status=""]`)),
		chromedp.SendKeys(chromedp.ID("search"), "busy"),
		waitFor(`document.querySelectorAll("#user-rows tr").length === 1`))
	shot(t, admin, shots, "users-search.png", "the user list filtered by the search bar")
	do("clear the search",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("search"); s.value = ""; s.dispatchEvent(new Event("input")); })()`),
		waitFor(`document.querySelectorAll("#user-rows tr").length === 5`))
	shot(t, admin, shots, "users-list.png", "the user list")

	do("open the detail panel of busy@acme.test",
		chromedp.Click(chromedp.CSS(`tr[data-email="busy@acme.test"] button.link`)),
		chromedp.WaitVisible(chromedp.ID("panel")),
		waitFor(`document.getElementById("panel-title").textContent === "busy@acme.test" && document.querySelectorAll("#activity li").length === 10`))
	do("toggle the supervisor role on",
		chromedp.Click(chromedp.ID("role-supervisor")),
		waitFor(`document.getElementById("role-supervisor").checked && !document.getElementById("role-supervisor").disabled && document.querySelector("#activity li .what").textContent === "Role granted: supervisor"`))
	if u, _ := m.GetUser(ctx, tenant, busy.ID); !u.HasRole(usermgmt.RoleSupervisor) {
		t.Fatalf("role not granted: %+v", u.Roles)
	}
	do("load more activity",
		chromedp.Click(chromedp.ID("activity-more")),
		waitFor(`document.querySelectorAll("#activity li").length > 10`))
	n := evalInt(t, admin, `document.querySelectorAll("#activity li").length`)
	do("deactivate from the panel, confirmed in the dialog",
		chromedp.Click(chromedp.ID("panel-deactivate")),
		waitFor(`document.getElementById("confirm-dialog").open`),
		chromedp.Click(chromedp.ID("confirm-ok")),
		waitFor(`!document.getElementById("confirm-dialog").open && document.querySelector("#panel-status .status").textContent === "deactivated"`),
		waitFor(`document.querySelector('[data-count="deactivated"]').textContent === "1" && document.querySelector('[data-count="invited"]').textContent === "3"`),
		waitFor(`!document.getElementById("panel-activate").hidden && [...document.querySelectorAll("#activity li .what")].some((e) => e.textContent === "Deactivated")`))
	if u, _ := m.GetUser(ctx, tenant, busy.ID); u.Status != usermgmt.StatusDeactivated {
		t.Fatalf("status after deactivate: %s", u.Status)
	}
	if r := rowText(t, admin, "busy@acme.test"); !strings.Contains(r, "Activate") {
		t.Fatalf("deactivated row lacks Activate: %q", r)
	}
	do("load more activity again after the change",
		waitFor(`!document.getElementById("activity-more").hidden`),
		chromedp.Click(chromedp.ID("activity-more")),
		waitFor(fmt.Sprintf(`document.querySelectorAll("#activity li").length >= %d`, n)))
	// A tall window shows the whole panel, roles to the loaded activity.
	do("tall window", chromedp.EmulateViewport(1366, 2100),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("panel").scrollTop = 0`), waitFor(`true`))
	shot(t, admin, shots, "detail-panel.png", "the detail panel after deactivation and Load more")
	do("normal window", chromedp.EmulateViewport(1366, 900))

	do("cancel in the confirm dialog changes nothing",
		chromedp.Click(chromedp.CSS(`tr[data-email="carol@acme.test"] button.danger`)),
		waitFor(`document.getElementById("confirm-dialog").open`),
		chromedp.Click(chromedp.ID("confirm-cancel")),
		waitFor(`!document.getElementById("confirm-dialog").open`))
	if p, _ := m.ListUsers(ctx, tenant, usermgmt.ListUsersQuery{}); p.Counts.Deactivated != 1 {
		t.Fatalf("cancel deactivated someone: %+v", p.Counts)
	}

	// A phone-width look at the list, the panel closed by keyboard.
	do("phone width", chromedp.SendKeys(chromedp.ID("panel"), "\x1b"), waitFor(`document.getElementById("panel").hidden`),
		chromedp.EmulateViewport(390, 844), waitFor(`true`))
	shot(t, admin, shots, "phone.png", "the user list at phone width")

	// --- The invitee, in a browser context of their own ---
	link := ""
	if msg, ok := mail.LastTo("new.person@acme.test"); ok {
		link = msg.Link
	}
	if !strings.HasPrefix(link, srvURL+"/invitations/accept?token=") {
		t.Fatalf("invitation link = %q", link)
	}
	invitee, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	invitee, cancel = context.WithTimeout(invitee, 60*time.Second)
	defer cancel()
	doI := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(invitee, actions...); err != nil {
			t.Fatalf("%s: %v\npage: %s", step, err, pageText(invitee))
		}
	}
	doI("open the link: a short password and a repeat that differs are refused next to their fields",
		chromedp.Navigate(link),
		waitFor(`location.search === "" && document.activeElement.id === "new-password"`), // the token left the address bar
		chromedp.SendKeys(chromedp.ID("new-password"), "too short"),
		chromedp.Click(chromedp.ID("password-submit")),
		waitFor(`!document.getElementById("new-password-error").hidden && document.activeElement.id === "new-password"`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("new-password").value = ""`),
		chromedp.SendKeys(chromedp.ID("new-password"), newPassword),
		chromedp.SendKeys(chromedp.ID("new-password2"), newPassword+"!"),
		chromedp.Click(chromedp.ID("password-submit")),
		waitFor(`document.getElementById("new-password-error").hidden && !document.getElementById("new-password2-error").hidden && document.activeElement.id === "new-password2"`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("new-password2").value = ""`))
	doI("set a password",
		chromedp.SendKeys(chromedp.ID("new-password2"), newPassword),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("enrol-form")),
		waitFor(`document.getElementById("qr").naturalWidth > 0`))
	secret, err := chromedp.Run(invitee, chromedp.Text(chromedp.ID("secret")))
	if err != nil {
		t.Fatal(err)
	}
	secret = strings.ReplaceAll(secret, " ", "")
	doI("enrol with a computed code",
		chromedp.SendKeys(chromedp.ID("enrol-code"), code(t, clk, secret)),
		chromedp.Click(chromedp.ID("enrol-submit")),
		chromedp.WaitVisible(chromedp.ID("recovery")),
		waitFor(`document.querySelectorAll("#recovery-codes li").length >= 8`),
		chromedp.Click(chromedp.ID("recovery-done")),
		waitFor(`location.pathname === "/" && document.getElementById("me-email").textContent.includes("new.person@acme.test")`),
		waitFor(`!document.getElementById("no-access").hidden`))
	u, err := m.ListUsers(ctx, tenant, usermgmt.ListUsersQuery{Search: "new.person"})
	if err != nil || len(u.Users) != 1 || u.Users[0].Status != usermgmt.StatusActive || !u.Users[0].MFAEnabled {
		t.Fatalf("invitee after setup: %+v %v", u.Users, err)
	}

	do("the admin's list shows the invitee as active after a reload",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Reload(),
		waitFor(`document.querySelector('[data-count="active"]').textContent === "2"`),
		// The list and the mail notice load side by side: the notice is
		// judged only once its answer has arrived, else its hidden state
		// is the page's initial one and proves nothing.
		waitFor(`performance.getEntriesByType("resource").some((e) => e.name.includes("/api/mail/undelivered") && e.responseEnd > 0)`))
	if r := rowText(t, admin, "new.person@acme.test"); !strings.Contains(r, "active") || !strings.Contains(r, "enabled") {
		t.Fatalf("invitee row: %q", r)
	}
	if evalBool(t, admin, `!document.getElementById("mail-notice").hidden`) {
		t.Fatal("the undelivered mail notice shows while every mail went")
	}

	// --- Mail the outbox has not delivered ---
	const busyServer = "451 4.3.0 mailbox temporarily unavailable"
	mail.FailNext(errors.New(busyServer))
	do("an invitation whose mail fails is saved, with a warning",
		chromedp.Click(chromedp.ID("invite-open")),
		chromedp.WaitVisible(chromedp.ID("invite-dialog")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "late@acme.test"),
		chromedp.Click(chromedp.ID("invite-send")),
		waitFor(`!document.getElementById("invite-dialog").open && !document.getElementById("list-warning").hidden`),
		waitFor(`!!document.querySelector('tr[data-email="late@acme.test"]') && document.querySelector('[data-count="invited"]').textContent === "3"`),
		waitFor(`!document.getElementById("mail-notice").hidden`))
	if w := evalString(t, admin, `document.getElementById("list-warning-text").textContent`); !strings.Contains(w, "late@acme.test") || !strings.Contains(w, "could not be sent yet") {
		t.Fatalf("warning: %q", w)
	}
	if evalBool(t, admin, `!document.getElementById("list-error").hidden || document.getElementById("list-warning").matches(".error")`) {
		t.Fatal("a saved invitation whose mail failed is shown as an error")
	}
	if s := evalString(t, admin, `document.getElementById("mail-summary").textContent`); s != "1 mail not delivered yet" {
		t.Fatalf("notice summary: %q", s)
	}
	if !evalBool(t, admin, `!!(document.getElementById("mail-notice").compareDocumentPosition(document.querySelector("table.users")) & Node.DOCUMENT_POSITION_FOLLOWING)`) {
		t.Fatal("the notice is not above the user list")
	}
	do("the notice expands to the undelivered invitation",
		chromedp.Click(chromedp.ID("mail-summary")),
		waitFor(`document.getElementById("mail-details").open && document.querySelectorAll("#mail-rows tr").length === 1`))
	r := evalString(t, admin, `document.querySelector("#mail-rows tr").innerText`)
	for _, want := range []string{"late@acme.test", "Invitation", "retrying, next try in", "The mail server could not take the mail for now.", "Resend Invite"} {
		if !strings.Contains(r, want) {
			t.Fatalf("undelivered invitation row %q lacks %q", r, want)
		}
	}
	shot(t, admin, shots, "mail-notice.png", "the notice of undelivered mail, expanded")
	do("resend from the notice: the notice and the warning go",
		chromedp.Click(chromedp.CSS(`#mail-rows tr[data-email="late@acme.test"] button`)),
		waitFor(`document.getElementById("mail-notice").hidden && document.getElementById("list-warning").hidden`),
		waitFor(`!!document.querySelector('tr[data-email="late@acme.test"]')`))
	if msg, ok := mail.LastTo("late@acme.test"); !ok || !strings.HasPrefix(msg.Link, srvURL+"/invitations/accept?token=") {
		t.Fatalf("resent invitation: %+v %v", msg, ok)
	}
	if p, err := m.ListUndeliveredMail(ctx, tenant, usermgmt.MailQuery{}); err != nil || len(p.Mail) != 0 {
		t.Fatalf("outbox after resend: %+v %v", p.Mail, err)
	}

	// A reset mail that fails its first attempt and its retry is given up.
	const noMailbox = "550 5.1.1 no such mailbox"
	mail.FailNext(errors.New(noMailbox))
	mail.FailNext(errors.New(noMailbox))
	clk.Advance(time.Minute) // past the invitation's mail interval
	if err := m.SendPasswordReset(ctx, tenant, u.Users[0].ID); usermgmt.ErrorCode(err) != usermgmt.CodeDeliveryFailed {
		t.Fatalf("reset with a failing mailer: %v", err)
	}
	clk.Advance(time.Minute) // the first retry is due
	if d, err := m.DeliverPending(ctx); err != nil || d.Failed != 1 {
		t.Fatalf("retry: %+v %v", d, err)
	}
	do("a mail given up shows failed, without Resend",
		chromedp.Reload(),
		waitFor(`!document.getElementById("mail-notice").hidden`),
		chromedp.Click(chromedp.ID("mail-summary")),
		waitFor(`document.getElementById("mail-details").open && document.querySelectorAll("#mail-rows tr").length === 1`))
	if s := evalString(t, admin, `document.getElementById("mail-summary").textContent`); s != "1 mail not delivered yet (1 failed)" {
		t.Fatalf("notice summary: %q", s)
	}
	r = evalString(t, admin, `document.querySelector("#mail-rows tr").innerText`)
	for _, want := range []string{"new.person@acme.test", "Password reset", "failed after 2 attempts", "The mail server refused the mail."} {
		if !strings.Contains(r, want) {
			t.Fatalf("failed reset row %q lacks %q", r, want)
		}
	}
	if strings.Contains(r, "Resend") {
		t.Fatalf("failed reset row offers a resend: %q", r)
	}
	shot(t, admin, shots, "mail-failed.png", "the notice with a mail given up")
	do("phone width", chromedp.EmulateViewport(390, 844), waitFor(`true`))
	shot(t, admin, shots, "mail-phone.png", "the notice of undelivered mail at phone width")
}

// steps returns the tests' way to run a step in the tab ctx: the actions,
// or the test fails naming the step and showing the page.
func steps(t *testing.T, ctx context.Context) func(step string, actions ...chromedp.Action[chromedp.Void]) {
	return func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\npage: %s", step, err, pageText(ctx))
		}
	}
}

// startBrowser starts headless Chromium for the test and stops it at its
// end. Each user of the test opens a browser context of its own in it.
func startBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	allocCtx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	)
	t.Cleanup(cancel)
	browser, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(browser); err != nil { // start the browser without a timeout
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// grantClipboard lets the pages of origin write and read the clipboard,
// for the tests of Copy buttons (clipboardText).
func grantClipboard(t *testing.T, browserCtx context.Context, origin string) {
	t.Helper()
	for _, p := range []string{"clipboard-write", "clipboard-read"} {
		if _, err := chromedp.CallBrowser(browserCtx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: p}, Setting: browser.PermissionSettingGranted, Origin: origin}); err != nil {
			t.Fatal(err)
		}
	}
}

// clipboardText is what the clipboard holds, read by the page of ctx.
func clipboardText(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// code moves the clock to the next TOTP step and returns its code.
func code(t *testing.T, c *testclock.Clock, secret string) string {
	t.Helper()
	c.Advance(30 * time.Second)
	s, err := totp.GenerateCode(secret, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls expr until it is true. It evaluates afresh each time, so
// it survives the navigations the page makes (a redirect to log in).
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(15 * time.Second)
		var last error
		for time.Now().Before(deadline) {
			ok, err := chromedp.Evaluate[bool]("!!("+expr+")")(ctx, t)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			last = err
			select {
			case <-ctx.Done():
				return chromedp.Void{}, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return chromedp.Void{}, fmt.Errorf("waiting for %s (last error %v)", expr, last)
	}
}

func setSelect(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.value = %q; s.dispatchEvent(new Event("change")); })()`, id, value))
}

func count(t *testing.T, ctx context.Context, status string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('[data-count=%q]').textContent`, status)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rowText(t *testing.T, ctx context.Context, email string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector('tr[data-email=%q]') || {}).innerText || ""`, email)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func evalBool(t *testing.T, ctx context.Context, expr string) bool {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func evalInt(t *testing.T, ctx context.Context, expr string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func pageText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(c, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	return s
}

func shot(t *testing.T, ctx context.Context, dir, name, what string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s", what, p)
}
