package ui_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/ui"
)

// site is the admin page and its API, as examples/server mounts them, over
// a Manager on the memory store with a test clock and a capturing mailer,
// served on loopback for the browser tests. The tenant comes from the
// request, as a SaaS host tells it.
type site struct {
	m    *usermgmt.Manager
	mail *mailertest.Mailer
	clk  *testclock.Clock
	url  string
}

// newSite serves the page and the API; opts and api, when not nil, adjust
// the Manager's and the API's options.
func newSite(t *testing.T, opts func(*usermgmt.Options), api func(*httpapi.Options)) *site {
	t.Helper()
	return newSiteOn(t, memory.New(), opts, api)
}

// newSiteOn is newSite over another store.
func newSiteOn(t *testing.T, store usermgmt.Store, opts func(*usermgmt.Options), api func(*httpapi.Options)) *site {
	t.Helper()
	s := &site{mail: mailertest.New(), clk: testclock.New(time.Now().UTC().Truncate(time.Second))}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := usermgmt.Options{Mailer: s.mail, Clock: s.clk.Now, SecretKey: bytes.Repeat([]byte{3}, 32),
		Links: usermgmt.Links{BaseURL: srv.URL}, Logger: quiet}
	if opts != nil {
		opts(&o)
	}
	m, err := usermgmt.New(store, o)
	if err != nil {
		t.Fatal(err)
	}
	s.m = m
	ao := httpapi.Options{Insecure: true, Clock: s.clk.Now, Logger: quiet,
		TenantFromRequest: func(*http.Request) (string, error) { return tenant, nil }}
	if api != nil {
		api(&ao)
	}
	h, err := httpapi.NewHandler(m, ao)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/api/", http.StripPrefix("/api", h))
	mux.Handle("/", ui.Handler(ui.Options{APIPath: "/api", Title: "Settings → Users"}))
	return s
}

// enrolled makes, as trusted code, an active user of the tenant with a
// password and TOTP, and returns it and its TOTP secret.
func (s *site) enrolled(t *testing.T, email, password string, role usermgmt.Role) (usermgmt.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.m.InviteUser(usermgmt.AsSystem(ctx), tenant, usermgmt.Invite{Email: email, Roles: []usermgmt.Role{role}})
	if err != nil {
		t.Fatal(err)
	}
	enr, err := s.m.AcceptInvite(ctx, s.mail.Token(email), password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.m.CompleteMFAEnrollment(ctx, enr.Token, code(t, s.clk, enr.Secret)); err != nil {
		t.Fatal(err)
	}
	return u, enr.Secret
}

// signIn fills the login page and answers the code step; trust ticks
// "trust this device". The caller waits for where the page lands.
func (s *site) signIn(t *testing.T, email, password, secret string, trust bool) []chromedp.Action[chromedp.Void] {
	tasks := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(s.url + "/login"),
		waitFor(`document.activeElement.id === "login-email"`),
		chromedp.SendKeys(chromedp.ID("login-email"), email),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("code-form")),
	}
	if trust {
		tasks = append(tasks, chromedp.Click(chromedp.ID("trust-device")))
	}
	return append(tasks,
		chromedp.SendKeys(chromedp.ID("code-input"), code(t, s.clk, secret)),
		chromedp.Click(chromedp.ID("code-submit")))
}
