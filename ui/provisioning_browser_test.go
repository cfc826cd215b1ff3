package ui_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// provisioned gives the site what an identity provider leaves behind: a
// token named Okta, used once, and a person made with it, with the
// profile and the role agent. It returns the token and the person.
func (s *site) provisioned(t *testing.T, email string, p usermgmt.Profile) (usermgmt.ProvisioningToken, usermgmt.User) {
	t.Helper()
	ctx := context.Background()
	tok, secret, err := s.m.CreateProvisioningToken(usermgmt.AsSystem(ctx), tenant, "Okta")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.m.AuthenticateProvisioning(ctx, secret); err != nil {
		t.Fatal(err)
	}
	u, err := s.m.ProvisionUser(usermgmt.AsProvisioner(ctx, tok), tenant, usermgmt.Provision{Email: email,
		Roles: []usermgmt.Role{usermgmt.RoleAgent}, Active: true, Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	return tok, u
}

// group makes a group of the tenant with members, mapped to roles.
func (s *site) group(t *testing.T, name string, roles []usermgmt.Role, members ...uuid.UUID) usermgmt.Group {
	t.Helper()
	sys := usermgmt.AsSystem(context.Background())
	g, err := s.m.CreateGroup(sys, tenant, usermgmt.NewGroup{DisplayName: name, Members: members})
	if err != nil {
		t.Fatal(err)
	}
	if g, err = s.m.SetGroupRoles(sys, tenant, g.ID, roles); err != nil {
		t.Fatal(err)
	}
	return g
}

// anaProfile is what the identity provider says of ana.
var anaProfile = usermgmt.Profile{GivenName: "Ana", FamilyName: "Sousa", ExternalID: "00u1", Department: "Customer Care", EmployeeNumber: "701984"}

// TestBrowserProvisioning: a tenant admin reaches the Provisioning view
// from the nav, copies the SCIM URL, makes a token (the secret shows once,
// is copied, and works), revokes one after a confirmation, sees the empty
// state of groups until the identity provider pushes one, and maps it to
// roles, tenant_admin through sudo; all of it reachable by keyboard. An
// hr_admin gets no link and no view.
func TestBrowserProvisioning(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	st := newSite(t, nil, nil)
	m, clk := st.m, st.clk
	ctx := context.Background()
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	_, hrSecret := st.enrolled(t, "hr@acme.test", newPassword, usermgmt.RoleHRAdmin)
	_, ana := st.provisioned(t, "ana@acme.test", anaProfile)

	b := startBrowser(t, chromium)
	page, cancel := context.WithTimeout(b, 120*time.Second)
	defer cancel()
	do := steps(t, page)
	grantClipboard(t, b, st.url)
	clipboard := func() string { return clipboardText(t, page) }

	do("sign in; the nav links to Provisioning", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && !document.getElementById("nav-provisioning").hidden`))...)
	do("follow the link",
		chromedp.Click(chromedp.ID("nav-provisioning")),
		waitFor(`location.pathname === "/provisioning" && !document.getElementById("prov-ui").hidden`),
		waitFor(`document.querySelectorAll("#token-rows tr").length === 1 && !document.getElementById("groups-empty").hidden`))
	if got := evalString(t, page, `document.getElementById("scim-url").value`); got != st.url+"/scim/v2" {
		t.Fatalf("SCIM URL = %q, want %q", got, st.url+"/scim/v2")
	}
	if r := evalString(t, page, `document.querySelector("#token-rows tr").innerText`); !strings.Contains(r, "Okta") ||
		!strings.Contains(r, "just now") || strings.Contains(r, "never") {
		t.Fatalf("token row %q: want Okta, made and used just now", r)
	}
	if e := evalString(t, page, `document.getElementById("groups-empty").innerText`); !strings.Contains(e, "No groups yet") ||
		!strings.Contains(e, "identity provider pushes them") {
		t.Fatalf("groups' empty state: %q", e)
	}

	// The keyboard reaches every control of the view, in order.
	reached := tabWalk(t, page, 40)
	for _, want := range []string{"#scim-url-copy", "#token-rows button", "#token-name", "#token-create", "#groups-reload"} {
		if !slices.ContainsFunc(reached, func(s string) bool { return s == want }) {
			t.Fatalf("Tab does not reach %s; it went %v", want, reached)
		}
	}

	do("copy the SCIM URL", chromedp.Click(chromedp.ID("scim-url-copy")),
		waitFor(`document.getElementById("scim-url-status").textContent.startsWith("Copied")`))
	if c := clipboard(); c != st.url+"/scim/v2" {
		t.Fatalf("clipboard %q", c)
	}

	do("a token needs a name",
		chromedp.Click(chromedp.ID("token-create")),
		waitFor(`!document.getElementById("token-name-error").hidden && document.activeElement.id === "token-name"`))
	do("create a token with the keyboard: the secret shows once",
		chromedp.SendKeys(chromedp.ID("token-name"), "Entra ID"), chromedp.KeyEvent("\r"),
		waitFor(`document.getElementById("secret-dialog").open && document.activeElement.id === "secret-value"`),
		waitFor(`document.querySelectorAll("#token-rows tr").length === 2`))
	if text := evalString(t, page, `document.getElementById("secret-text").innerText`); !strings.Contains(text, "you will not see it again") ||
		!strings.Contains(text, "Entra ID") {
		t.Fatalf("secret dialog says %q", text)
	}
	made := evalString(t, page, `document.getElementById("secret-value").value`)
	tok, err := m.AuthenticateProvisioning(ctx, made)
	if err != nil || tok.Name != "Entra ID" {
		t.Fatalf("the secret shown does not authenticate: %+v %v", tok, err)
	}
	shot(t, page, shots, "provisioning-secret.png", "a new token's secret, shown once")
	do("copy the secret", chromedp.Click(chromedp.ID("secret-copy")),
		waitFor(`document.getElementById("secret-status").textContent.startsWith("Copied")`))
	if c := clipboard(); c != made {
		t.Fatalf("clipboard %q, want the secret", c)
	}
	do("done: the secret is gone from the page",
		chromedp.Click(chromedp.ID("secret-done")),
		waitFor(`!document.getElementById("secret-dialog").open && document.getElementById("secret-value").value === ""`))
	if evalBool(t, page, `document.body.innerText.includes(`+jsString(made)+`)`) {
		t.Fatal("the secret is still in the page")
	}

	do("revoke Entra ID: cancel keeps it",
		chromedp.Click(chromedp.CSS(`#token-rows tr[data-name="Entra ID"] button`)),
		waitFor(`document.getElementById("ask-dialog") && document.getElementById("ask-dialog").open`),
		chromedp.Click(chromedp.ID("ask-cancel")),
		waitFor(`!document.getElementById("ask-dialog")`))
	if _, err := m.AuthenticateProvisioning(ctx, made); err != nil {
		t.Fatalf("cancel revoked the token: %v", err)
	}
	do("revoke Entra ID, confirmed",
		chromedp.Click(chromedp.CSS(`#token-rows tr[data-name="Entra ID"] button`)),
		waitFor(`document.getElementById("ask-dialog") && document.getElementById("ask-dialog").open`),
		chromedp.Click(chromedp.ID("ask-confirm")),
		waitFor(`document.querySelectorAll("#token-rows tr").length === 1 && !document.querySelector('#token-rows tr[data-name="Entra ID"]')`),
		waitFor(`document.activeElement.matches("#token-rows button")`))
	if _, err := m.AuthenticateProvisioning(ctx, made); usermgmt.ErrorCode(err) != usermgmt.CodeUnauthenticated {
		t.Fatalf("a revoked token still authenticates: %v", err)
	}

	// The identity provider pushes a group: Check again shows it.
	hr := st.group(t, "HR Team", []usermgmt.Role{usermgmt.RoleSupervisor}, ana.ID)
	do("check again",
		chromedp.Click(chromedp.ID("groups-reload")),
		waitFor(`document.querySelectorAll("#group-rows tr").length === 1 && document.getElementById("groups-empty").hidden`))
	if r := evalString(t, page, `document.querySelector("#group-rows tr").innerText`); !strings.Contains(r, "HR Team") ||
		!strings.Contains(r, "1") || !strings.Contains(r, "Supervisor") {
		t.Fatalf("group row %q", r)
	}
	do("map HR Team to Supervisor and Recruiter, by keyboard",
		chromedp.Focus(chromedp.CSS(`#group-rows tr[data-name="HR Team"] button`)), chromedp.KeyEvent("\r"),
		waitFor(`document.getElementById("group-dialog").open && document.getElementById("group-role-supervisor").checked`),
		chromedp.Focus(chromedp.ID("group-role-recruiter")), chromedp.KeyEvent(" "),
		waitFor(`document.getElementById("group-role-recruiter").checked`),
		chromedp.Focus(chromedp.ID("group-save")), chromedp.KeyEvent("\r"),
		waitFor(`!document.getElementById("group-dialog").open`),
		waitFor(`document.querySelector('#group-rows tr[data-name="HR Team"]').innerText.includes("Recruiter")`),
		waitFor(`document.activeElement.matches('#group-rows tr[data-name="HR Team"] button')`))
	if g, _ := m.GetGroup(usermgmt.AsSystem(ctx), tenant, hr.ID); !slices.Equal(g.Roles, []usermgmt.Role{usermgmt.RoleRecruiter, usermgmt.RoleSupervisor}) &&
		!slices.Equal(g.Roles, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleRecruiter}) {
		t.Fatalf("group roles = %v", g.Roles)
	}
	shot(t, page, shots, "provisioning.png", "the Provisioning view with a token and a group")

	clk.Advance(16 * time.Minute) // the sign-in is older than SudoWindow
	do("mapping tenant_admin asks to confirm it is you, then saves",
		chromedp.Click(chromedp.CSS(`#group-rows tr[data-name="HR Team"] button`)),
		waitFor(`document.getElementById("group-dialog").open`),
		chromedp.Click(chromedp.ID("group-role-tenant_admin")),
		chromedp.Click(chromedp.ID("group-save")),
		waitFor(`document.getElementById("sudo-dialog") && document.getElementById("sudo-dialog").open`),
		chromedp.SendKeys(chromedp.ID("sudo-code"), code(t, clk, secret)),
		chromedp.Click(chromedp.ID("sudo-submit")),
		waitFor(`!document.getElementById("group-dialog").open`),
		waitFor(`document.querySelector('#group-rows tr[data-name="HR Team"]').innerText.includes("Tenant admin")`))
	if u, _ := m.GetUser(usermgmt.AsSystem(ctx), tenant, ana.ID); !u.HasRole(usermgmt.RoleTenantAdmin) {
		t.Fatalf("ana's roles after the mapping: %v", u.Roles)
	}
	do("phone width", chromedp.EmulateViewport(390, 844), waitFor(`true`))
	shot(t, page, shots, "provisioning-phone.png", "the Provisioning view at phone width")
	if evalBool(t, page, `document.documentElement.scrollWidth > 390`) {
		t.Fatal("the Provisioning view scrolls sideways at phone width")
	}

	// An hr_admin manages users but not provisioning.
	hrTab, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	defer cancel()
	hrTab, cancel = context.WithTimeout(hrTab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(hrTab, append(st.signIn(t, "hr@acme.test", newPassword, hrSecret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length > 0`),
		waitFor(`document.getElementById("nav-provisioning").hidden`),
		chromedp.Navigate(st.url+"/provisioning"),
		waitFor(`!document.getElementById("prov-no-access").hidden && document.getElementById("prov-ui").hidden`))...); err != nil {
		t.Fatalf("hr_admin: %v\npage: %s", err, pageText(hrTab))
	}
}

// TestBrowserRoleSources: the list and the panel show the name the
// identity provider gave and where each role comes from; a role held only
// through a group cannot be turned off and says which group gives it; a
// role held both ways is revoked directly and stays, via the group; the
// activity names the identity provider.
func TestBrowserRoleSources(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	st := newSite(t, nil, nil)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	_, ana := st.provisioned(t, "ana@acme.test", anaProfile) // direct: agent
	st.group(t, "HR Team", []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, ana.ID)
	st.group(t, "Agents Lisbon", []usermgmt.Role{usermgmt.RoleSupervisor}, ana.ID)

	page, cancel := context.WithTimeout(startBrowser(t, chromium), 90*time.Second)
	defer cancel()
	do := steps(t, page)
	row := `tr[data-email="ana@acme.test"]`
	do("sign in", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`document.querySelectorAll("#user-rows tr").length === 2`))...)
	cell := evalString(t, page, `document.querySelector('`+row+` button.link').innerText`)
	if !strings.Contains(cell, "Ana Sousa") || !strings.Contains(cell, "ana@acme.test") {
		t.Fatalf("list cell %q: want the name with the email", cell)
	}
	chips := evalString(t, page, `[...document.querySelectorAll('`+row+` .chip')].map((c) => c.textContent).join(" | ")`)
	if chips != "Supervisor via Agents Lisbon, HR Team | Agent also via HR Team" {
		t.Fatalf("role chips %q", chips)
	}
	shot(t, page, shots, "roles-via-groups.png", "role chips naming the groups they come from")

	do("open ana's panel",
		chromedp.Click(chromedp.CSS(row+` button.link`)),
		waitFor(`document.getElementById("panel-title").textContent === "Ana Sousa" && document.querySelectorAll("#activity li").length > 0`))
	if e := evalString(t, page, `document.getElementById("panel-email").innerText`); e != "ana@acme.test" {
		t.Fatalf("panel email %q", e)
	}
	if f := evalString(t, page, `[...document.querySelectorAll("#panel .facts > div:not([hidden])")].map((d) => d.querySelector("dt").textContent + " " + d.querySelector("dd").textContent).join(" | ")`); !strings.Contains(f, "Department Customer Care") || !strings.Contains(f, "Employee no. 701984") {
		t.Fatalf("panel facts %q: want the department and employee number", f)
	}
	sup := evalString(t, page, `(() => { const b = document.getElementById("role-supervisor");
		return b.checked + " " + b.disabled + " " + [...b.getAttribute("aria-describedby").split(" ")].map((id) => document.getElementById(id).textContent).join(" / "); })()`)
	if !strings.HasPrefix(sup, "true true ") || !strings.Contains(sup, "Given by the groups Agents Lisbon, HR Team") {
		t.Fatalf("supervisor toggle: %q (want on, disabled, described by the groups)", sup)
	}
	if evalBool(t, page, `document.getElementById("role-agent").disabled || !document.getElementById("role-agent").checked`) {
		t.Fatal("agent, held directly and through a group, cannot be turned off")
	}
	do("revoke agent directly: it stays, through the group",
		chromedp.Click(chromedp.ID("role-agent")),
		waitFor(`[...document.querySelectorAll("#activity li .what")].some((e) => e.textContent === "Role revoked: agent")`),
		waitFor(`document.getElementById("role-agent").checked && document.getElementById("role-agent").disabled`),
		waitFor(`document.getElementById("role-agent-via").textContent.startsWith("Given by the group HR Team")`),
		waitFor(`document.querySelector('`+row+` .chip[data-role="agent"]').textContent === "Agent via HR Team"`),
		waitFor(`[...document.querySelectorAll("#toasts .toast-text")].some((e) => e.textContent.includes("still holds it via HR Team"))`))
	u, err := st.m.GetUser(usermgmt.AsSystem(context.Background()), tenant, ana.ID)
	if err != nil || len(u.DirectRoles) != 0 || !u.HasRole(usermgmt.RoleAgent) {
		t.Fatalf("after revoking agent directly: direct %v, roles %v, %v", u.DirectRoles, u.Roles, err)
	}
	created := evalString(t, page, `[...document.querySelectorAll("#activity li")].find((li) => li.dataset.type === "user.created").innerText`)
	if !strings.Contains(created, "by provisioning: Okta") {
		t.Fatalf("creation event %q does not name the identity provider", created)
	}
	shot(t, page, shots, "panel-roles-via-groups.png", "the panel's role toggles held through groups")
}

// tabWalk presses Tab from the top of the page up to max times and returns
// what took focus: "#id", or for an element without one the selector of
// its list ("#token-rows button").
func tabWalk(t *testing.T, ctx context.Context, max int) []string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); window.scrollTo(0, 0)`)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := 0; i < max; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		out = append(out, evalString(t, ctx, fmt.Sprintf(`(() => { const e = document.activeElement;
			if (e.id) return "#" + e.id;
			const list = e.closest("tbody[id]"); return list ? "#" + list.id + " " + e.tagName.toLowerCase() : e.tagName.toLowerCase(); })()`)))
	}
	return out
}
