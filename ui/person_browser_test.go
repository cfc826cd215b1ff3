package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// personSite is a site whose product is named and whose password policy
// asks for 16 characters, for the person pages.
func personSite(t *testing.T) *site {
	return newSite(t, func(o *usermgmt.Options) { o.Issuer = "Acme HR"; o.PasswordMinLength = 16 }, nil)
}

func personBrowser(t *testing.T) (context.Context, func(string, ...chromedp.Action[chromedp.Void])) {
	t.Helper()
	b, cancel := context.WithTimeout(startBrowser(t, chromiumPath(t)), 120*time.Second)
	t.Cleanup(cancel)
	return b, func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v\npage: %s", step, err, pageText(b))
		}
	}
}

// TestBrowserInvitationLink: the accept page checks the link before it
// asks for a password and says whose account of which product it sets up
// (with a username field for password managers); the policy is the
// Manager's; a reload on the QR step says that signing in continues, and
// it does; a used link says "sign in", an expired one names whom to ask,
// a wrong one says it is not valid.
func TestBrowserInvitationLink(t *testing.T) {
	st := personSite(t)
	ctx := usermgmt.AsSystem(context.Background())
	invite := func(email string) string {
		if _, err := st.m.InviteUser(ctx, tenant, usermgmt.Invite{Email: email, Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
			t.Fatal(err)
		}
		msg, _ := st.mail.LastTo(email)
		return msg.Link
	}
	link := invite("ana@acme.test")
	b, do := personBrowser(t)

	do("the page names the account and the product, and the Manager's minimum",
		chromedp.Navigate(link),
		waitFor(`!document.getElementById("password-form").hidden && document.activeElement.id === "new-password"`),
		waitFor(`document.getElementById("accept-who").textContent === "You are setting up ana@acme.test on Acme HR."`),
		waitFor(`(() => { const u = document.getElementById("accept-username");
			return u.value === "ana@acme.test" && u.autocomplete === "username" && u.form === document.getElementById("password-form"); })()`),
		waitFor(`document.querySelector("#password-form [data-min-length]").textContent === "16" && document.getElementById("new-password").minLength === 16`),
		chromedp.SendKeys(chromedp.ID("new-password"), "fifteen chars!!"),
		chromedp.SendKeys(chromedp.ID("new-password2"), "fifteen chars!!"),
		chromedp.Click(chromedp.ID("password-submit")),
		waitFor(`document.getElementById("new-password-error").textContent === "Use at least 16 characters."`))
	do("set a password: the QR step",
		chromedp.Evaluate[chromedp.Void](`["new-password", "new-password2"].forEach((i) => { document.getElementById(i).value = ""; })`),
		chromedp.SendKeys(chromedp.ID("new-password"), newPassword),
		chromedp.SendKeys(chromedp.ID("new-password2"), newPassword),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("enrol-form")))
	do("a reload on the QR step says how to go on",
		chromedp.Reload(),
		waitFor(`!document.getElementById("accept-notice").hidden && document.getElementById("password-form").hidden`),
		waitFor(`document.getElementById("accept-notice").textContent.includes("Sign in with your email and password to continue where you left off.")`),
		waitFor(`document.querySelector("#accept-notice a").getAttribute("href") === "/login"`))
	do("the used link says so, with a way to sign in",
		chromedp.Navigate(link),
		waitFor(`!document.getElementById("accept-notice").hidden && document.getElementById("password-form").hidden`),
		waitFor(`document.getElementById("accept-notice").textContent.startsWith("This invitation was already used: you are already set up.")`),
		chromedp.Click(chromedp.CSS(`#accept-notice a`)),
		waitFor(`location.pathname === "/login" && document.activeElement.id === "login-email"`))
	do("signing in continues the enrolment, and the page says so",
		chromedp.SendKeys(chromedp.ID("login-email"), "ana@acme.test"),
		chromedp.SendKeys(chromedp.ID("login-password"), newPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		waitFor(`location.pathname === "/invitations/accept" && !document.getElementById("enrol-form").hidden`),
		waitFor(`document.getElementById("accept-notice").textContent === "Your password is set. Finish setting up your authenticator app to sign in."`))
	secret := strings.ReplaceAll(evalString(t, b, `document.getElementById("secret").textContent`), " ", "")
	do("enrol",
		chromedp.SendKeys(chromedp.ID("enrol-code"), code(t, st.clk, secret)),
		chromedp.Click(chromedp.ID("enrol-submit")),
		chromedp.WaitVisible(chromedp.ID("recovery")))
	if u, err := st.m.ListUsers(ctx, tenant, usermgmt.ListUsersQuery{Search: "ana@"}); err != nil || u.Users[0].Status != usermgmt.StatusActive {
		t.Fatalf("ana: %+v %v", u.Users, err)
	}

	old := invite("bob@acme.test")
	st.clk.Advance(8 * 24 * time.Hour)
	do("an expired invitation names whom to ask",
		chromedp.Navigate(old),
		waitFor(`document.getElementById("accept-notice").textContent === "This invitation to Acme HR has expired. Ask your Acme HR administrator to send you a new one."`),
		waitFor(`document.getElementById("password-form").hidden`))
	do("a link that is none says so",
		chromedp.Navigate(st.url+"/invitations/accept?token=umi_"+strings.Repeat("A", 43)),
		waitFor(`document.getElementById("accept-error").textContent.startsWith("This link is not valid.")`),
		waitFor(`document.getElementById("password-form").hidden && document.getElementById("accept-notice").hidden`))
}

// TestBrowserResetLink: the reset page checks its link first; a used link
// says to sign in, an expired one offers a new one.
func TestBrowserResetLink(t *testing.T) {
	st := personSite(t)
	ctx := usermgmt.AsSystem(context.Background())
	ana, _ := st.enrolled(t, "ana@acme.test", newPassword, usermgmt.RoleAgent)
	reset := func() string {
		st.clk.Advance(time.Minute)
		if err := st.m.SendPasswordReset(ctx, tenant, ana.ID); err != nil {
			t.Fatal(err)
		}
		msg, _ := st.mail.LastTo("ana@acme.test")
		return msg.Link
	}
	link := reset()
	_, do := personBrowser(t)
	do("a valid link names the account and asks for the Manager's minimum",
		chromedp.Navigate(link),
		waitFor(`!document.getElementById("reset-form").hidden && document.activeElement.id === "reset-password"`),
		waitFor(`document.getElementById("reset-who").textContent === "You are choosing a new password for ana@acme.test on Acme HR."`),
		waitFor(`document.getElementById("reset-username").value === "ana@acme.test" && document.getElementById("reset-password").minLength === 16`),
		chromedp.SendKeys(chromedp.ID("reset-password"), "a new passphrase for ana"),
		chromedp.SendKeys(chromedp.ID("reset-password2"), "a new passphrase for ana"),
		chromedp.Click(chromedp.CSS(`#reset-form button[type="submit"]`)),
		waitFor(`!document.getElementById("reset-done").hidden`))
	do("the used link says to sign in",
		chromedp.Navigate(link),
		waitFor(`document.getElementById("reset-notice").textContent.startsWith("This link was already used")`),
		waitFor(`document.getElementById("reset-form").hidden && document.querySelector("#reset-notice a").getAttribute("href") === "/login"`))
	old := reset()
	st.clk.Advance(2 * time.Hour)
	do("an expired link offers a new one",
		chromedp.Navigate(old),
		waitFor(`document.getElementById("reset-notice").textContent.startsWith("This link has expired")`),
		waitFor(`document.getElementById("reset-form").hidden && document.querySelector("#reset-notice a").getAttribute("href") === "/password/forgot"`))
}
