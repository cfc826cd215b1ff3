package ui_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
)

// TestBrowserExport: the admin filters the list by a role and clicks
// Export CSV: the browser downloads users-….csv with the header and the
// users of that filter only. Export activity asks for a date range (an end
// before the start is refused beside the field) and downloads the
// tenant's events of it as JSON Lines.
func TestBrowserExport(t *testing.T) {
	chromium := chromiumPath(t)
	system := usermgmt.AsSystem(context.Background())
	st := newSite(t, nil, nil)
	_, secret := st.enrolled(t, adminEmail, adminPassword, usermgmt.RoleTenantAdmin)
	for _, e := range []string{"carol@acme.test", "dave@acme.test", "erin@acme.test"} {
		role := usermgmt.RoleRecruiter
		if e == "erin@acme.test" {
			role = usermgmt.RoleAgent
		}
		if _, err := st.m.InviteUser(system, tenant, usermgmt.Invite{Email: e, Roles: []usermgmt.Role{role}}); err != nil {
			t.Fatal(err)
		}
	}

	admin, cancel := context.WithTimeout(startBrowser(t, chromium), 90*time.Second)
	defer cancel()
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(admin, actions...); err != nil {
			t.Fatalf("%s: %v\npage: %s", step, err, pageText(admin))
		}
	}
	dir := t.TempDir()
	next := downloads(t, admin, dir)

	do("sign in and filter by a role", append(st.signIn(t, adminEmail, adminPassword, secret, false),
		waitFor(`location.pathname === "/" && document.querySelectorAll("#user-rows tr").length === 4`),
		setSelect("role-filter", "recruiter"),
		waitFor(`document.querySelectorAll("#user-rows tr").length === 2`),
		chromedp.Click(chromedp.ID("export-users-csv")))...)
	name, body := next()
	if !strings.HasPrefix(name, "users-") || !strings.HasSuffix(name, ".csv") {
		t.Fatalf("downloaded %q", name)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][1] != "email" || recs[1][1] != "carol@acme.test" || recs[2][1] != "dave@acme.test" {
		t.Fatalf("the export of the recruiters: %q (%v)", body, err)
	}

	do("an end before the start is refused beside the field",
		chromedp.Click(chromedp.ID("export-activity-open")),
		waitFor(`document.getElementById("export-dialog").open`),
		chromedp.SetValue(chromedp.ID("export-from"), "2026-03-10"),
		chromedp.SetValue(chromedp.ID("export-to"), "2026-03-01"),
		chromedp.Click(chromedp.ID("export-download")),
		waitFor(`!document.getElementById("export-range-error").hidden`),
		waitFor(`document.getElementById("export-to").getAttribute("aria-invalid") === "true"`))
	today := time.Now().Format(time.DateOnly)
	do("the activity of today as JSON Lines",
		chromedp.SetValue(chromedp.ID("export-from"), today),
		chromedp.SetValue(chromedp.ID("export-to"), today),
		setSelect("export-format", "jsonl"),
		chromedp.Click(chromedp.ID("export-download")),
		waitFor(`!document.getElementById("export-dialog").open && document.activeElement.id === "export-activity-open"`))
	name, body = next()
	if !strings.HasPrefix(name, "activity-") || !strings.HasSuffix(name, ".jsonl") {
		t.Fatalf("downloaded %q", name)
	}
	invited := 0
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		var ev struct{ Type, ActorEmail string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if ev.Type == string(usermgmt.EventInvited) {
			invited++
		}
	}
	if invited != 4 {
		t.Fatalf("%d invitations in the activity of today:\n%s", invited, body)
	}
}

// downloads lets the browser save files into dir and returns a function
// that waits for the next download to complete and returns its suggested
// name and its content.
func downloads(t *testing.T, ctx context.Context, dir string) func() (string, []byte) {
	t.Helper()
	nextBegun, stopBegun := iter.Pull2(chromedp.Events(ctx, browser.DownloadWillBegin))
	t.Cleanup(stopBegun)
	nextProgress, stopProgress := iter.Pull2(chromedp.Events(ctx, browser.DownloadProgress))
	t.Cleanup(stopProgress)
	events := true
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	return func() (string, []byte) {
		t.Helper()
		for {
			ev, err, ok := nextProgress()
			if !ok || err != nil {
				t.Fatalf("waiting for a download: %v", err)
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatalf("download %s canceled", ev.GUID)
			}
			if ev.State != browser.DownloadProgressStateCompleted {
				continue
			}
			for names[ev.GUID] == "" {
				b, err, ok := nextBegun()
				if !ok || err != nil {
					t.Fatalf("waiting for a download's name: %v", err)
				}
				names[b.GUID] = b.SuggestedFilename
			}
			body, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return names[ev.GUID], body
		}
	}
}
