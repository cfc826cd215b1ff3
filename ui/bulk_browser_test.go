package ui_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// TestBrowserInviteMany: an admin pastes a list with a bad address, an
// unknown role, a duplicate and an email the tenant has; the preview marks
// each of those rows with its reason and the cell at fault, and writes
// nothing; Send invites the good rows, which appear invited in the list,
// and their mail waits for the outbox worker. Then a CSV file of 1,000
// people is picked, previewed and sent the same way.
func TestBrowserInviteMany(t *testing.T) {
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	system := usermgmt.AsSystem(context.Background())
	st := newSite(t, nil, nil)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	if _, err := st.m.InviteUser(system, tenant, usermgmt.Invite{Email: "taken@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
		t.Fatal(err)
	}
	st.mail.Reset()
	invited := func() int {
		page, err := st.m.ListUsers(system, tenant, usermgmt.ListUsersQuery{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return page.Counts.Invited
	}

	admin, cancel := context.WithTimeout(startBrowser(t, chromium), 2*time.Minute)
	defer cancel()
	do := steps(t, admin)
	do("sign in", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 2`))...)

	list := strings.Join([]string{
		"ana@acme.test",
		"not-an-email",
		"",
		"Bo@acme.test, Supervisor; agent", // display names work too
		"ANA@acme.test",
		"taken@acme.test",
		"cy@acme.test,wizard",
	}, "\n")
	do("open Invite Many and paste the list",
		chromedp.Click(chromedp.ID("bulk-open")),
		waitFor(`document.getElementById("bulk-dialog").open && document.activeElement.id === "bulk-text"`),
		// the cap, from GET /meta
		waitFor(`document.getElementById("bulk-max").textContent.replace(/\s+/g, " ").trim() === "Up to 1,000 people at a time."`),
		chromedp.SetValue(chromedp.ID("bulk-text"), list),
		chromedp.Click(chromedp.ID("bulk-check")),
		waitFor(`!document.getElementById("bulk-preview").hidden && document.activeElement.id === "bulk-summary"`))
	// Each row: its line, the code and field of its refusal ("" when ready),
	// and whether a cell is marked at fault.
	got := evalString(t, admin, `[...document.querySelectorAll("#bulk-rows tr")].map((r) =>
		r.dataset.line + ":" + r.dataset.code + "/" + r.dataset.field + ":" + r.querySelectorAll("td.at-fault").length +
		(r.classList.contains("refused") ? ":refused" : "")).join(" ")`)
	want := "2:invalid/email:1:refused 5:conflict/email:1:refused 6:conflict/email:1:refused 7:invalid/role:1:refused 1:/:0 4:/:0"
	if got != want {
		t.Fatalf("preview rows\n got %s\nwant %s", got, want)
	}
	if s := evalString(t, admin, `document.getElementById("bulk-summary").textContent`); s != "2 ready to invite; 4 rows have problems, listed first." {
		t.Fatalf("summary %q", s)
	}
	if r := evalString(t, admin, `document.querySelector('#bulk-rows tr[data-line="4"]').innerText`); !strings.Contains(r, "bo@acme.test") ||
		!strings.Contains(r, "Supervisor, Agent") {
		t.Fatalf("row 4 = %q: the address normalised, the roles by their names", r)
	}
	if n := invited(); n != 1 {
		t.Fatalf("the preview invited: %d invited", n)
	}
	shot(t, admin, shots, "bulk-preview.png", "the preview of a pasted list")

	do("send: the good rows are invited and appear in the list",
		chromedp.Click(chromedp.ID("bulk-send")),
		waitFor(`document.getElementById("bulk-summary").textContent.startsWith("2 people invited.")`),
		waitFor(`document.activeElement.id === "bulk-summary" && document.getElementById("bulk-send").hidden`),
		waitFor(`document.querySelector('[data-count="invited"]').textContent === "3"`),
		waitFor(`!!document.querySelector('#user-rows tr[data-email="ana@acme.test"]')`),
		waitFor(`document.querySelector('#user-rows tr[data-email="bo@acme.test"]').innerText.includes("invited")`),
		// The notice of undelivered mail counts what waits for the outbox.
		waitFor(`document.getElementById("mail-summary").textContent === "2 mails not delivered yet"`))
	if n := len(st.mail.Messages()); n != 0 {
		t.Fatalf("%d mails went before the outbox worker ran", n)
	}
	if d, err := st.m.DeliverPending(system); err != nil || d.Sent != 2 {
		t.Fatalf("DeliverPending = %+v, %v", d, err)
	}
	do("close", chromedp.Click(chromedp.ID("bulk-cancel")), waitFor(`!document.getElementById("bulk-dialog").open`))

	// Past the sudo window a tenant_admin row asks for a code on Send.
	st.clk.Advance(16 * time.Minute)
	do("preview a list that grants tenant_admin",
		chromedp.Click(chromedp.ID("bulk-open")),
		waitFor(`document.getElementById("bulk-dialog").open`),
		chromedp.SetValue(chromedp.ID("bulk-text"), "boss@acme.test,tenant_admin\ndee@acme.test"),
		chromedp.Click(chromedp.ID("bulk-check")),
		waitFor(`document.getElementById("bulk-summary").textContent === "2 ready to invite."`))
	if c := evalString(t, admin, `document.querySelector('#bulk-rows tr[data-line="1"]').dataset.code`); c != "mfa_required" {
		t.Fatalf("the tenant_admin row answers %q", c)
	}
	do("send: the code is asked for, then the two are invited",
		chromedp.Click(chromedp.ID("bulk-send")),
		waitFor(`document.getElementById("sudo-dialog") && document.getElementById("sudo-dialog").open`),
		chromedp.SendKeys(chromedp.ID("sudo-code"), code(t, st.clk, secret)),
		chromedp.Click(chromedp.ID("sudo-submit")),
		waitFor(`document.getElementById("bulk-summary").textContent.startsWith("2 people invited.")`))
	if u := firstUser(t, st, "boss@acme.test"); !u.HasRole(usermgmt.RoleTenantAdmin) {
		t.Fatalf("boss: %+v", u)
	}
	do("close", chromedp.Click(chromedp.ID("bulk-cancel")), waitFor(`!document.getElementById("bulk-dialog").open`))

	// Spreadsheets in many languages write semicolons; a file without an
	// email column is refused by the page, next to the file input.
	dir := t.TempDir()
	semi, noEmail := filepath.Join(dir, "semicolons.csv"), filepath.Join(dir, "names.csv")
	if err := os.WriteFile(semi, []byte("Name;E-mail;Roles\nÉva;eva@acme.test;\"Supervisor, agent\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noEmail, []byte("name,address\nEva,eva@acme.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	do("a CSV without an email column is refused; one with semicolons is read",
		chromedp.Click(chromedp.ID("bulk-open")),
		waitFor(`document.getElementById("bulk-dialog").open`),
		chromedp.SetUploadFiles(chromedp.ID("bulk-file"), []string{noEmail}),
		waitFor(`!document.getElementById("bulk-file-error").hidden && document.getElementById("bulk-file").getAttribute("aria-invalid") === "true"`),
		chromedp.SetUploadFiles(chromedp.ID("bulk-file"), []string{semi}),
		waitFor(`document.getElementById("bulk-text").value === "eva@acme.test,Supervisor;agent"`),
		waitFor(`document.getElementById("bulk-file-error").hidden`),
		chromedp.Click(chromedp.ID("bulk-cancel")), waitFor(`!document.getElementById("bulk-dialog").open`))

	// A CSV file of 1,000 people, quoted fields and CRLF as spreadsheets write them.
	var csv strings.Builder
	csv.WriteString("\uFEFFEmail,Roles\r\n")
	for i := range 1000 {
		fmt.Fprintf(&csv, "\"person%04d@acme.test\",\"supervisor;agent\"\r\n", i)
	}
	file := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	do("pick a CSV of 1,000 and preview it",
		chromedp.Click(chromedp.ID("bulk-open")),
		waitFor(`document.getElementById("bulk-dialog").open`),
		chromedp.SetUploadFiles(chromedp.ID("bulk-file"), []string{file}),
		waitFor(`document.getElementById("bulk-text").value.split("\n").length === 1000`),
		chromedp.Click(chromedp.ID("bulk-check")),
		waitFor(`document.querySelectorAll("#bulk-rows tr").length === 1000`))
	if s := evalString(t, admin, `document.getElementById("bulk-summary").textContent`); s != "1000 ready to invite." {
		t.Fatalf("summary %q", s)
	}
	shot(t, admin, shots, "bulk-preview-1000.png", "the preview of a CSV of 1,000")
	do("send the 1,000",
		chromedp.Click(chromedp.ID("bulk-send")),
		waitFor(`document.getElementById("bulk-summary").textContent.startsWith("1000 people invited.")`),
		waitFor(`document.querySelector('[data-count="invited"]').textContent === "1005"`))
	t.Logf("1,000 people from a CSV previewed and invited through the page in %v", time.Since(start).Round(time.Millisecond))
	u := firstUser(t, st, "person0999@acme.test")
	if u.Status != usermgmt.StatusInvited || !u.HasRole(usermgmt.RoleSupervisor) || !u.HasRole(usermgmt.RoleAgent) {
		t.Fatalf("person0999: %+v", u)
	}
}
