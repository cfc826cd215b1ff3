package ui_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// TestBrowserAccount: a person enrols through the invitation page, whose
// recovery codes come with Copy and Download; opens their account page
// and sees who they are signed in as and "10 recovery codes left" (9 after
// signing in with one); changes the password, first with a wrong current
// one (refused next to the field), then the right one (their other
// session ends, this one goes on); makes new recovery codes with a TOTP
// code (a wrong one is refused next to the field), copies and downloads
// them; an old code is then refused at sign-in and a new one works.
func TestBrowserAccount(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	ctx := context.Background()
	st := newSite(t, nil, nil)
	m, clk := st.m, st.clk
	const email, password, next = "ana@acme.test", "ana's first long passphrase", "ana's second long passphrase"
	if _, err := m.InviteUser(usermgmt.AsSystem(ctx), tenant, usermgmt.Invite{Email: email,
		Roles: []usermgmt.Role{usermgmt.RoleAgent, usermgmt.RoleSupervisor}}); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()

	b := startBrowser(t, chromium)
	if _, err := chromedp.CallBrowser(b, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	page, cancel := context.WithTimeout(b, 120*time.Second)
	defer cancel()
	do := steps(t, page)
	permit := func(name string, setting browser.PermissionSetting) {
		t.Helper()
		if _, err := chromedp.CallBrowser(b, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: setting, Origin: st.url}); err != nil {
			t.Fatal(err)
		}
	}
	// codesIn reads the codes a list shows.
	codesIn := func(sel string) []string {
		t.Helper()
		var codes []string
		s := evalString(t, page, `JSON.stringify([...document.querySelectorAll(`+jsString(sel+" li")+`)].map((li) => li.textContent))`)
		if err := json.Unmarshal([]byte(s), &codes); err != nil {
			t.Fatal(err)
		}
		return codes
	}
	// download clicks the Download button in container and returns the file.
	download := func(container string) string {
		t.Helper()
		file := filepath.Join(downloads, "recovery-codes.txt")
		_ = os.Remove(file)
		do("download the codes", chromedp.Click(chromedp.CSS(container+` button[data-codes="download"]`)))
		deadline := time.Now().Add(15 * time.Second)
		for {
			if b, err := os.ReadFile(file); err == nil && strings.HasSuffix(string(b), "\n") {
				return string(b)
			}
			if time.Now().After(deadline) {
				entries, _ := os.ReadDir(downloads)
				t.Fatalf("no download in %s: %v\npage: %s", downloads, entries, pageText(page))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	hasAll := func(file string, codes []string) bool {
		for _, c := range codes {
			if !strings.Contains(file, "\n"+c+"\n") {
				return false
			}
		}
		return true
	}
	signInWith := func(pw, code string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(st.url + "/login"),
			waitFor(`document.activeElement.id === "login-email"`),
			chromedp.SendKeys(chromedp.ID("login-email"), email),
			chromedp.SendKeys(chromedp.ID("login-password"), pw),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("code-form")),
			chromedp.SendKeys(chromedp.ID("code-input"), code),
			chromedp.Click(chromedp.ID("code-submit")),
		}
	}
	openAccount := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(st.url + "/account"),
		waitFor(`!document.getElementById("account-who").hidden`),
	}
	left := func() string { return evalString(t, page, `document.getElementById("recovery-left").textContent`) }

	// --- Enrolment: the codes come with Copy and Download ---
	do("accept the invitation",
		chromedp.Navigate(st.url+"/invitations/accept?token="+st.mail.Token(email)),
		waitFor(`document.activeElement.id === "new-password"`),
		chromedp.SendKeys(chromedp.ID("new-password"), password),
		chromedp.SendKeys(chromedp.ID("new-password2"), password),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("enrol-form")))
	secret := strings.ReplaceAll(evalString(t, page, `document.getElementById("secret").textContent`), " ", "")
	do("enrol: ten recovery codes with Copy and Download",
		chromedp.SendKeys(chromedp.ID("enrol-code"), code(t, clk, secret)),
		chromedp.Click(chromedp.ID("enrol-submit")),
		chromedp.WaitVisible(chromedp.ID("recovery")),
		waitFor(`document.querySelectorAll("#recovery-codes li").length === 10`),
		waitFor(`document.querySelector('#recovery-codes button[data-codes="copy"]').textContent === "Copy"`))
	first := codesIn("#recovery-codes")
	if f := download("#recovery-codes"); !hasAll(f, first) || !strings.HasPrefix(f, "Recovery codes") {
		t.Fatalf("the enrolment's download holds %q, want the codes %v", f, first)
	}
	shot(t, page, shots, "enrol-codes.png", "the recovery codes at enrolment, with Copy and Download")
	do("continue to the page", chromedp.Click(chromedp.ID("recovery-done")), waitFor(`location.pathname === "/"`))

	// --- Who they are ---
	do("open the account page from the users page",
		chromedp.Click(chromedp.CSS(`#view-users a[href="/account"]`)),
		waitFor(`location.pathname === "/account" && !document.getElementById("account-who").hidden`),
		waitFor(`document.getElementById("account-loading").hidden`))
	if got := evalString(t, page, `document.getElementById("account-email").textContent`); got != email {
		t.Fatalf("signed in as %q", got)
	}
	if got := evalString(t, page, `document.getElementById("account-tenant").textContent`); got != tenant {
		t.Fatalf("tenant %q", got)
	}
	if got := evalString(t, page, `[...document.querySelectorAll("#account-roles li")].map((li) => li.dataset.role).join(",")`); got != "supervisor,agent" {
		t.Fatalf("roles %q", got)
	}
	if !evalBool(t, page, `document.querySelector('#account-roles li[data-role="agent"] .desc').textContent === "Frontline agent (limited access)"`) {
		t.Fatal("a role is shown without its description")
	}
	if got := left(); got != "10 recovery codes left" {
		t.Fatalf("recovery codes: %q", got)
	}
	shot(t, page, shots, "account.png", "the account page")

	do("sign out, then in with a recovery code", chromedp.Click(chromedp.ID("account-sign-out")),
		waitFor(`location.pathname === "/login"`))
	do("sign in with a recovery code", append(signInWith(password, first[0]), waitFor(`location.pathname === "/"`))...)
	do("the account counts it", openAccount...)
	if got := left(); got != "9 recovery codes left" {
		t.Fatalf("after one was used: %q", got)
	}

	// Another session of ana's, elsewhere.
	res, err := m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := m.VerifyMFA(ctx, res.MFAChallenge, code(t, clk, secret), false)
	if err != nil {
		t.Fatal(err)
	}

	// --- Change password ---
	do("a wrong current password is refused next to its field",
		chromedp.SendKeys(chromedp.ID("current-password"), "not my password at all"),
		chromedp.SendKeys(chromedp.ID("account-new-password"), next),
		chromedp.SendKeys(chromedp.ID("account-new-password2"), next),
		chromedp.Click(chromedp.ID("change-password-submit")),
		waitFor(`!document.getElementById("current-password-error").hidden
			&& document.getElementById("current-password").getAttribute("aria-invalid") === "true"
			&& document.activeElement.id === "current-password"`))
	if !evalBool(t, page, `document.getElementById("password-changed").hidden && location.pathname === "/account"`) {
		t.Fatal("a refused change says it worked, or left the page")
	}
	if !evalBool(t, page, `document.getElementById("account-password-policy").textContent.replace(/\s+/g, " ").includes("At least 12 characters")`) {
		t.Fatal("the policy is not shown")
	}
	if _, err := m.Authenticate(ctx, elsewhere.Token); err != nil {
		t.Fatalf("a refused change ended the other session: %v", err)
	}
	do("the right one changes it",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("current-password").value = ""`),
		chromedp.SendKeys(chromedp.ID("current-password"), password),
		chromedp.Click(chromedp.ID("change-password-submit")),
		waitFor(`!document.getElementById("password-changed").hidden && document.activeElement.id === "password-changed"`),
		waitFor(`document.getElementById("current-password-error").hidden && document.getElementById("current-password").value === ""`))
	if !evalBool(t, page, `document.getElementById("password-changed").textContent.replace(/\s+/g, " ").includes("other sessions were signed out")`) {
		t.Fatal("the confirmation does not say the other sessions ended")
	}
	if _, err := m.Authenticate(ctx, elsewhere.Token); usermgmt.ErrorCode(err) != usermgmt.CodeUnauthenticated {
		t.Fatalf("the other session: %v", err)
	}
	do("this session goes on", append(openAccount,
		waitFor(`document.getElementById("account-email").textContent === "ana@acme.test"`))...)

	// --- New recovery codes ---
	do("a wrong code is refused next to its field",
		chromedp.SendKeys(chromedp.ID("regenerate-code"), "000000"),
		chromedp.Click(chromedp.ID("regenerate-submit")),
		waitFor(`!document.getElementById("regenerate-code-error").hidden
			&& document.getElementById("regenerate-code").getAttribute("aria-invalid") === "true"`))
	if !evalBool(t, page, `document.getElementById("new-codes").hidden && location.pathname === "/account"`) {
		t.Fatal("a wrong code showed codes, or left the page")
	}
	do("a code from the app makes ten new ones",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("regenerate-code").value = ""`),
		chromedp.SendKeys(chromedp.ID("regenerate-code"), code(t, clk, secret)),
		chromedp.Click(chromedp.ID("regenerate-submit")),
		waitFor(`!document.getElementById("new-codes").hidden && document.querySelectorAll("#new-codes-list li").length === 10`),
		waitFor(`document.getElementById("regenerate-form").hidden`),
		waitFor(`document.activeElement.id === "new-codes-title"`))
	fresh := codesIn("#new-codes-list")
	for _, c := range fresh {
		if slices.Contains(first, c) {
			t.Fatalf("new code %s is an old one", c)
		}
	}
	if got := left(); got != "10 recovery codes left" {
		t.Fatalf("after making new ones: %q", got)
	}
	shot(t, page, shots, "account-new-codes.png", "the new recovery codes, shown once")
	do("phone width", chromedp.EmulateViewport(390, 844), waitFor(`true`))
	shot(t, page, shots, "account-phone.png", "the account page with new codes at phone width")
	if evalBool(t, page, `document.documentElement.scrollWidth > 390`) {
		t.Fatal("the account page scrolls sideways at phone width")
	}
	do("desktop width", chromedp.EmulateViewport(1366, 900), waitFor(`true`))

	permit("clipboard-write", browser.PermissionSettingDenied)
	do("copy, refused by the browser: the codes are selected and the page says so",
		chromedp.Click(chromedp.CSS(`#new-codes-list button[data-codes="copy"]`)),
		waitFor(`document.querySelector("#new-codes-list [role=status]").textContent.includes("did not let")`),
		waitFor(`getSelection().toString().includes(`+jsString(fresh[9])+`)`))
	permit("clipboard-write", browser.PermissionSettingGranted)
	permit("clipboard-read", browser.PermissionSettingGranted)
	do("copy",
		chromedp.Click(chromedp.CSS(`#new-codes-list button[data-codes="copy"]`)),
		waitFor(`document.querySelector("#new-codes-list [role=status]").textContent.startsWith("Copied")`))
	clip, err := chromedp.Run(page, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if clip != strings.Join(fresh, "\n")+"\n" {
		t.Fatalf("the clipboard holds %q", clip)
	}
	if f := download("#new-codes-list"); !hasAll(f, fresh) || !strings.Contains(f, "for "+email) || hasAll(f, first[1:2]) {
		t.Fatalf("the download holds %q, want the new codes %v", f, fresh)
	}
	do("done: the codes are gone from the page",
		chromedp.Click(chromedp.ID("new-codes-done")),
		waitFor(`document.getElementById("new-codes").hidden && !document.querySelector("#new-codes-list li")`),
		waitFor(`!document.getElementById("regenerate-form").hidden`))

	// --- The old codes stop working, the new ones work ---
	do("sign out", chromedp.Click(chromedp.ID("account-sign-out")), waitFor(`location.pathname === "/login"`))
	do("an old code is refused", append(signInWith(next, first[1]),
		waitFor(`!document.getElementById("code-error").hidden`))...)
	do("a new one works",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("code-input").value = ""`),
		chromedp.SendKeys(chromedp.ID("code-input"), fresh[0]),
		chromedp.Click(chromedp.ID("code-submit")),
		waitFor(`location.pathname === "/"`))
	do("and is counted", openAccount...)
	if got := left(); got != "9 recovery codes left" {
		t.Fatalf("after a new code was used: %q", got)
	}
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
