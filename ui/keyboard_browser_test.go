package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// TestBrowserKeyboardOnly walks the seed journey with the keyboard alone
// (Tab, Shift+Tab, Enter, Space, Escape, and typing into fields): sign in
// with a TOTP code, invite a user with a role, open their panel, turn a
// role on, deactivate with the confirm dialog, activate, close the panel
// with Escape and sign out. After each step it checks where focus is.
func TestBrowserKeyboardOnly(t *testing.T) {
	chromium := chromiumPath(t)
	st := newSite(t, nil, nil)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)

	b, cancel := context.WithTimeout(startBrowser(t, chromium), 120*time.Second)
	defer cancel()
	do := steps(t, b)
	// key presses one key (Tab, Enter, Space, Escape) or types text.
	key := func(keys string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(keys) }
	// tabTo presses Tab (Shift+Tab when back) until focus is on want, at
	// most max times.
	tabTo := func(step, want string, max int, back bool) {
		t.Helper()
		var path []string
		for i := 0; i < max; i++ {
			var opts []chromedp.KeyOption
			if back {
				opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
			}
			do(step, chromedp.KeyEvent("\t", opts...))
			if evalBool(t, b, fmt.Sprintf(`document.activeElement.matches(%s)`, jsValue(want))) {
				return
			}
			path = append(path, activeName(t, b))
		}
		t.Fatalf("%s: %d Tabs did not reach %s; focus went %s", step, max, want, strings.Join(path, " → "))
	}
	const newEmail = "kim@acme.test"
	row := `tr[data-email="` + newEmail + `"]`

	do("open the page: the login form has focus",
		chromedp.Navigate(st.url+"/"),
		waitFor(`location.pathname === "/login" && document.activeElement.id === "login-email"`))
	do("type the email, Tab to the password, type it, Enter",
		key(adminEmail), key("\t"), waitFor(`document.activeElement.id === "login-password"`),
		key(adminPassword), key("\r"),
		waitFor(`!document.getElementById("code-form").hidden`))
	focusedOn(t, b, "the code step", "#code-input")
	do("type the code, Enter: the user list", key(code(t, st.clk, secret)), key("\r"),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 1`), countRequests, settled())

	do("the first Tab reaches the skip link", key("\t"))
	focusedOn(t, b, "the first Tab", "a.skip")
	tabTo("Tab to Invite User", "#invite-open", 6, false)
	do("Enter opens the invite dialog", key("\r"), waitFor(`document.getElementById("invite-dialog").open`))
	focusedOn(t, b, "the invite dialog", "#invite-email")
	do("type the email", key(newEmail))
	if evalBool(t, b, `document.getElementById("invite-role-recruiter")`) { // a checkbox a role
		tabTo("Tab to the Recruiter role", "#invite-role-recruiter", 12, false)
		do("Space ticks it", key(" "), waitFor(`document.getElementById("invite-role-recruiter").checked`))
	} else { // one select
		do("Tab to the role and type its name", key("\t"),
			waitFor(`document.activeElement.id === "invite-role"`), key("recruiter"),
			waitFor(`document.getElementById("invite-role").value === "recruiter"`))
	}
	tabTo("Tab to Send Invite", "#invite-send", 12, false)
	do("Enter sends it", key("\r"),
		waitFor(`!document.getElementById("invite-dialog").open && !!document.querySelector('`+row+`')`), settled())
	focusedOn(t, b, "after the invitation", "#invite-open")
	if msg, ok := st.mail.LastTo(newEmail); !ok || msg.Link == "" {
		t.Fatal("no invitation mail")
	}
	if u := firstUser(t, st, newEmail); !u.HasRole(usermgmt.RoleRecruiter) {
		t.Fatalf("invited with roles %v, want recruiter", u.Roles)
	}

	tabTo("Tab to the new user's row", row+" button.link", 20, false)
	do("Enter opens the panel", key("\r"),
		waitFor(`document.getElementById("panel-title").textContent === "`+newEmail+`"`), settled())
	focusedOn(t, b, "the panel", "#panel")
	tabTo("Tab to the supervisor switch", "#role-supervisor", 10, false)
	do("Space turns the role on", key(" "),
		waitFor(`document.getElementById("role-supervisor").checked && !document.getElementById("role-supervisor").disabled`), settled())
	focusedOn(t, b, "after the role change", "#role-supervisor")
	if u := firstUser(t, st, newEmail); !u.HasRole(usermgmt.RoleSupervisor) {
		t.Fatalf("roles after Space: %v", u.Roles)
	}

	tabTo("Tab to Deactivate", "#panel-deactivate", 10, false)
	do("Enter asks first", key("\r"), waitFor(`document.getElementById("confirm-dialog").open`))
	focusedOn(t, b, "the confirm dialog", "#confirm-cancel")
	tabTo("Tab to the dialog's Deactivate", "#confirm-ok", 2, false)
	do("Enter deactivates", key("\r"),
		waitFor(`!document.getElementById("confirm-dialog").open && !document.getElementById("panel-activate").hidden`), settled())
	focusedOn(t, b, "after deactivating", "#panel-activate")
	if u := firstUser(t, st, newEmail); u.Status != usermgmt.StatusDeactivated {
		t.Fatalf("status after deactivate: %s", u.Status)
	}
	do("Enter activates", key("\r"), waitFor(`!document.getElementById("panel-deactivate").hidden`), settled())
	focusedOn(t, b, "after activating", "#panel-deactivate")
	if u := firstUser(t, st, newEmail); u.Status == usermgmt.StatusDeactivated {
		t.Fatal("still deactivated after activate")
	}

	do("Escape closes the panel", key("\x1b"), waitFor(`document.getElementById("panel").hidden`))
	focusedOn(t, b, "after Escape", row+" button.link")
	tabTo("Shift+Tab back to Sign out", "#sign-out", 20, true)
	do("Enter signs out", key("\r"),
		waitFor(`location.pathname === "/login" && document.activeElement.id === "login-email"`))
}

// firstUser reads the user with email, as trusted code.
func firstUser(t *testing.T, st *site, email string) usermgmt.User {
	t.Helper()
	p, err := st.m.ListUsers(usermgmt.AsSystem(context.Background()), tenant, usermgmt.ListUsersQuery{Search: email})
	if err != nil || len(p.Users) != 1 {
		t.Fatalf("user %s: %+v %v", email, p.Users, err)
	}
	return p.Users[0]
}
