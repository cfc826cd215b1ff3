// Package ui serves the Settings → Users page, the person pages (accept
// an invitation, log in, forgot and reset password) and the signed-in
// person's own account page (Options.AccountPath) as one embedded HTML
// page with plain CSS and JavaScript: no build step, no CDN.
//
// The page talks to the JSON API of package httpapi, which the host mounts
// at Options.APIPath on the same origin:
//
//	mux.Handle("/api/", http.StripPrefix("/api", api))
//	mux.Handle("/", ui.Handler(ui.Options{APIPath: "/api"}))
//
// The Manager's mail links must point at the page's InvitePath and
// ResetPath (usermgmt.Links; the defaults match). The Provisioning page
// (Options.ProvisioningPath, for tenant admins) shows the URL of the scim
// handler, which the host mounts at Options.SCIMPath; the Webhooks page
// (Options.WebhooksPath, for tenant admins too) manages the endpoints that
// hear of the tenant's user events. A Handler is safe for concurrent use.
package ui

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

//go:embed page.html views
var pageFS embed.FS

// Options configures the page. Paths are as the browser sees them.
type Options struct {
	// APIPath is where the httpapi handler is mounted. Default "/api".
	APIPath string
	// Prefix is where this handler is mounted, if not at the root (the
	// host strips it with http.StripPrefix). Default "".
	Prefix string
	// Title names the product in the page title. Default "Users".
	Title string
	// SCIMPath is where the host mounts the scim handler, which the
	// Provisioning page gives tenant admins to paste into their identity
	// provider (the page makes it absolute with its own origin; a full
	// https:// URL is shown as it is). Default "/scim/v2".
	SCIMPath string
	// Page paths, below Prefix. Defaults: "/" (the user list), "/login",
	// "/password/forgot", "/invitations/accept", "/password/reset",
	// "/account" (the signed-in person's own account), "/provisioning"
	// (SCIM tokens and group roles, for tenant admins) and "/webhooks"
	// (webhook endpoints and their deliveries, for tenant admins);
	// InvitePath and ResetPath must match usermgmt.Links.InvitePath and
	// ResetPath.
	UsersPath, LoginPath, ForgotPath, InvitePath, ResetPath, AccountPath, ProvisioningPath, WebhooksPath string
	// HSTS makes every answer carry Strict-Transport-Security (a year,
	// subdomains included) when the page is reached over https through a
	// TLS-terminating proxy, i.e. when its base URL is https but the
	// request reaches the handler without TLS. A request that came over
	// TLS gets the header anyway. Leave it off for http:// development.
	HSTS bool
}

type pageData struct {
	Title, APIPath, SCIMPath, Prefix                                                                     string
	UsersPath, LoginPath, ForgotPath, InvitePath, ResetPath, AccountPath, ProvisioningPath, WebhooksPath string
	View                                                                                                 string
}

// Handler returns the page's handler.
func Handler(opts Options) http.Handler {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.APIPath, "/api")
	def(&opts.Title, "Users")
	def(&opts.UsersPath, "/")
	def(&opts.LoginPath, "/login")
	def(&opts.ForgotPath, "/password/forgot")
	def(&opts.InvitePath, "/invitations/accept")
	def(&opts.ResetPath, "/password/reset")
	def(&opts.AccountPath, "/account")
	def(&opts.ProvisioningPath, "/provisioning")
	def(&opts.WebhooksPath, "/webhooks")
	def(&opts.SCIMPath, "/scim/v2")
	opts.Prefix = strings.TrimSuffix(opts.Prefix, "/")
	opts.APIPath = strings.TrimSuffix(opts.APIPath, "/")
	opts.SCIMPath = strings.TrimSuffix(opts.SCIMPath, "/")

	tmpl := template.Must(template.ParseFS(pageFS, "page.html", "views/*.html"))
	render := func(view string) []byte {
		var b bytes.Buffer
		err := tmpl.Execute(&b, pageData{Title: opts.Title, APIPath: opts.APIPath, SCIMPath: opts.SCIMPath,
			Prefix: opts.Prefix, UsersPath: opts.Prefix + opts.UsersPath, LoginPath: opts.Prefix + opts.LoginPath,
			ForgotPath: opts.Prefix + opts.ForgotPath, InvitePath: opts.Prefix + opts.InvitePath,
			ResetPath: opts.Prefix + opts.ResetPath, AccountPath: opts.Prefix + opts.AccountPath,
			ProvisioningPath: opts.Prefix + opts.ProvisioningPath, WebhooksPath: opts.Prefix + opts.WebhooksPath, View: view})
		if err != nil {
			panic(err) // the template is embedded and its data are strings: this cannot fail
		}
		return b.Bytes()
	}
	pages := map[string][]byte{
		opts.UsersPath:        render("users"),
		opts.LoginPath:        render("login"),
		opts.ForgotPath:       render("forgot"),
		opts.InvitePath:       render("accept"),
		opts.ResetPath:        render("reset"),
		opts.AccountPath:      render("account"),
		opts.ProvisioningPath: render("provisioning"),
		opts.WebhooksPath:     render("webhooks"),
	}
	sub, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// No page of ours may send a token-bearing URL to anyone else.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
			"img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		if r.TLS != nil || opts.HSTS {
			// Browsers ignore the header over plain HTTP; once it is seen
			// over https, no later visit starts on http:// for a year.
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			h.Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
			return
		}
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(page)
	})
}
