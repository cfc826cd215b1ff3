// Command server is a runnable host application: the JSON API of package
// httpapi and the Settings → Users page of package ui over one Manager,
// with a demo tenant whose first tenant_admin is invited at start.
//
//	go run ./examples/server                      # memory store, http://127.0.0.1:8080
//	export USERMGMT_SECRET_KEY=$(openssl rand -hex 32)   # keep it: it seals TOTP secrets
//	go run ./examples/server -database-url 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=5'
//
// On PostgreSQL it refuses to start without -secret-key (or env
// USERMGMT_SECRET_KEY): a key made at each start would make every
// enrolled authenticator fail after a restart. GET /api/health answers
// 200 while the database answers and 503 when it does not, for a load
// balancer. SIGTERM (or Ctrl-C) stops taking requests, finishes those in
// flight, the outbox's attempt in progress and the mail sent in the
// background, then closes the database pool, and logs each step.
//
// SCIM 2.0 is served at /scim/v2 for the tenant's identity provider (Okta,
// Microsoft Entra ID): the banner gives the base URL, and -scim-token NAME
// makes a provisioning token at start and prints it once.
//
//	go run ./examples/server -scim-token Okta
//
// Webhooks: the tenant_admin registers endpoints on the Webhooks page
// (/webhooks). Messages go to https URLs on public addresses only, unless
// -webhook-allow-http and -webhook-allow-private let them reach a receiver
// on this machine or the local network, for development:
//
//	go run ./examples/server -webhook-allow-http -webhook-allow-private   # then register http://127.0.0.1:9000/hooks
//
// Mail goes to the terminal (usermgmt.LogMailer): follow the printed
// invitation link to set the admin's password and enrol an authenticator.
// With -smtp-url it goes through package mailer/smtp instead, and the link
// is in the mail, not on the terminal. smtp:// requires STARTTLS, smtps://
// speaks TLS from the start, and ?tls=none sends plain text, to a loopback
// server only (such as Mailpit). The password can stay out of the URL (and
// out of the process list) in env USERMGMT_SMTP_PASSWORD:
//
//	go run ./examples/server -smtp-url 'smtp://127.0.0.1:1025?tls=none'   # Mailpit
//	USERMGMT_SMTP_PASSWORD=… go run ./examples/server -smtp-url smtp://apikey@smtp.example.com:587 \
//	    -smtp-from 'Acme <no-reply@acme.example>' -base-url https://users.acme.example
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/pgopen"
	"github.com/usermgmt/usermgmt/mailer/smtp"
	"github.com/usermgmt/usermgmt/scim"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/store/postgres"
	"github.com/usermgmt/usermgmt/ui"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

type config struct {
	addr, baseURL, databaseURL, schema, tenant, admin string
	scimToken                                         string // name of a provisioning token to make at start
	seed                                              bool
	secretKey                                         []byte // from -secret-key; random on the memory store
	dbMaxConns                                        int
	// webhookAllowHTTP and webhookAllowPrivate are the Manager's options
	// of the same names: off unless asked for.
	webhookAllowHTTP, webhookAllowPrivate bool
	// From -smtp-url and -smtp-from; smtp is nil when mail is printed.
	smtp       *smtp.Mailer
	smtpServer string // scheme://host:port, without credentials, for the banner
}

// smtpPasswordEnv holds the password of -smtp-url's user when the URL has none.
const smtpPasswordEnv = "USERMGMT_SMTP_PASSWORD"

func parseFlags(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.baseURL, "base-url", "", "URL people use to reach the server, for links in mail (default http://<addr>)")
	fs.StringVar(&c.databaseURL, "database-url", getenv("USERMGMT_DATABASE_URL"), "PostgreSQL URL, e.g. postgres://user@host:5432/db?connect_timeout=5 "+
		"(README: Running in production); empty uses the in-memory store (env USERMGMT_DATABASE_URL)")
	fs.StringVar(&c.schema, "database-schema", postgres.DefaultSchema, "the PostgreSQL schema of the tables")
	fs.IntVar(&c.dbMaxConns, "db-max-conns", 20, "most PostgreSQL connections this instance opens (and keeps idle); "+
		"instances × this must stay under the server's max_connections, or PgBouncer's pool")
	fs.StringVar(&c.tenant, "tenant", "demo", "the demo tenant's id")
	fs.StringVar(&c.admin, "admin", "admin@demo.example", "email of the demo tenant's first tenant_admin")
	secretKey := fs.String("secret-key", getenv("USERMGMT_SECRET_KEY"), "64 hex digits sealing TOTP secrets (openssl rand -hex 32); "+
		"required with -database-url, random on the memory store (env USERMGMT_SECRET_KEY)")
	fs.BoolVar(&c.seed, "seed", true, "invite a few demo users so the list is not empty")
	fs.StringVar(&c.scimToken, "scim-token", "", "make a provisioning token with this name (\"Okta\") at start and print it, for an identity provider or curl; "+
		"empty: make one on the page's Provisioning page (/provisioning)")
	fs.BoolVar(&c.webhookAllowHTTP, "webhook-allow-http", false, "let webhook endpoints use http:// URLs, not only https:// (development)")
	fs.BoolVar(&c.webhookAllowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, private and link-local addresses, "+
		"such as a receiver on this machine (development; never where tenants are not trusted)")
	smtpURL := fs.String("smtp-url", "", "send mail through this SMTP server: smtp://user:password@host:587 (STARTTLS required), "+
		"smtps://user:password@host:465 (TLS from the start), or smtp://127.0.0.1:1025?tls=none (plain text, loopback only, e.g. Mailpit); "+
		"without a password in the URL, the user's password is read from env "+smtpPasswordEnv+"; empty prints mail to the terminal")
	smtpFrom := fs.String("smtp-from", "usermgmt demo <no-reply@demo.example>", "sender of the mail sent through -smtp-url")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	key, err := pgopen.SecretKey(*secretKey, c.databaseURL != "")
	if err != nil {
		return c, err
	}
	c.secretKey = key
	if c.dbMaxConns < 1 {
		return c, errors.New("-db-max-conns must be at least 1")
	}
	if *smtpURL == "" {
		var fromSet bool
		fs.Visit(func(f *flag.Flag) { fromSet = fromSet || f.Name == "smtp-from" })
		if fromSet {
			return c, errors.New("-smtp-from needs -smtp-url: without it, mail is printed, not sent")
		}
		return c, nil
	}
	if _, err := mail.ParseAddress(*smtpFrom); err != nil {
		return c, fmt.Errorf("-smtp-from %q is not an address: %v", *smtpFrom, err)
	}
	o, server, err := smtpOptions(*smtpURL, getenv)
	if err != nil {
		return c, err
	}
	o.From = *smtpFrom
	m, err := smtp.New(o)
	if err != nil {
		if o.TLS == smtp.NoTLS {
			return c, fmt.Errorf("-smtp-url with ?tls=none: %w", err)
		}
		return c, fmt.Errorf("-smtp-url: %w", err)
	}
	c.smtp, c.smtpServer = m, server
	return c, nil
}

// smtpOptions reads -smtp-url: smtp:// (STARTTLS, port 587 by default),
// smtps:// (implicit TLS, port 465), ?tls=none (plain text; smtp.New allows
// it for loopback only). The user and password are percent-decoded; a user
// without a password in the URL takes it from env USERMGMT_SMTP_PASSWORD.
// It also returns the server as scheme://host:port, for messages. Its
// errors name the flag and never contain the password.
func smtpOptions(raw string, getenv func(string) string) (smtp.Options, string, error) {
	var o smtp.Options
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, and its detail can be a
		// piece of the password ("invalid port" for a password with a
		// '/'): show the detail only for a URL without credentials.
		var ue *url.Error
		if !strings.Contains(raw, "@") && errors.As(err, &ue) {
			return o, "", fmt.Errorf("-smtp-url is not a URL: %v", ue.Err)
		}
		return o, "", errors.New("-smtp-url is not a URL (percent-encode any of :/?#@% in the user or password)")
	}
	port := ""
	switch u.Scheme {
	case "smtp":
		o.TLS, port = smtp.StartTLS, "587"
	case "smtps":
		o.TLS, port = smtp.ImplicitTLS, "465"
	default:
		return o, "", fmt.Errorf("-smtp-url must start with smtp:// (STARTTLS) or smtps:// (implicit TLS), not %q", u.Scheme+":")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return o, "", errors.New("-smtp-url has no host: want " + u.Scheme + "://[user[:password]@]host[:port]")
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return o, "", errors.New("-smtp-url must not have a path or a #fragment")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return o, "", errors.New("-smtp-url: the query cannot be parsed")
	}
	for k, v := range q {
		switch {
		case k != "tls":
			return o, "", fmt.Errorf("-smtp-url: unknown parameter %q (the only one is tls=none)", k)
		case len(v) != 1 || v[0] != "none":
			return o, "", errors.New("-smtp-url: tls takes one value, none (TLS is required otherwise)")
		case u.Scheme == "smtps":
			return o, "", errors.New("-smtp-url: smtps:// is TLS; ?tls=none goes with smtp://")
		}
		o.TLS = smtp.NoTLS
	}
	if p := u.Port(); p != "" {
		port = p
	}
	o.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		o.Username = u.User.Username()
		if o.Username == "" {
			return o, "", errors.New("-smtp-url has an empty user before its @")
		}
		pw, inURL := u.User.Password()
		if !inURL {
			pw = getenv(smtpPasswordEnv)
		}
		if pw == "" {
			return o, "", errors.New("-smtp-url has a user but no password: put it in the URL or in env " + smtpPasswordEnv)
		}
		o.Password = pw
	}
	server := u.Scheme + "://" + o.Addr
	if o.TLS == smtp.NoTLS {
		server += "?tls=none"
	}
	return o, server, nil
}

// run starts the server and serves until ctx ends or SIGINT/SIGTERM.
func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	c, err := parseFlags(args, getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if c.baseURL == "" {
		c.baseURL = "http://" + ln.Addr().String()
	}
	store, closeStore, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore()
	base, err := url.Parse(c.baseURL)
	if err != nil {
		return fmt.Errorf("-base-url: %w", err)
	}
	mailer := newMailer(c, out)
	m, err := newManager(store, c, mailer, log)
	if err != nil {
		return err
	}
	defer m.Close() // before the store closes: lets background reset mails finish
	// The outbox worker retries mail whose first attempt failed (the SMTP
	// server was down, say); every instance of an app runs one.
	stopDelivery := goUntilStopped(ctx, func(ctx context.Context) { _ = m.Run(ctx) }) // nil when ctx ends
	defer stopDelivery()
	adminMailWaits, err := bootstrap(usermgmt.AsSystem(ctx), m, c, log)
	if err != nil {
		return err
	}
	link := mailer.link(c.admin)
	scimSecret := ""
	if c.scimToken != "" {
		if _, scimSecret, err = m.CreateProvisioningToken(usermgmt.AsSystem(ctx), c.tenant, c.scimToken); err != nil {
			return fmt.Errorf("-scim-token: %w", err)
		}
	}

	insecure := base.Scheme == "http"
	api, err := httpapi.NewHandler(m, httpapi.Options{
		// One tenant here; a SaaS would read it from the host name.
		TenantFromRequest: func(*http.Request) (string, error) { return c.tenant, nil },
		Insecure:          insecure,
		Logger:            log,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))
	// The tenant's identity provider: the provisioning token decides the tenant.
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", scim.New(m, scim.Options{})))
	// Behind a TLS-terminating proxy the page learns only from -base-url that it is on https.
	mux.Handle("/", ui.Handler(ui.Options{APIPath: "/api", Title: "Settings → Users", HSTS: !insecure}))

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: writeTimeout, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	stopPruning := startPruning(ctx, m, log, pruneEvery)
	defer stopPruning()

	fmt.Fprintf(out, "\nSettings → Users is at %s/  (tenant %q)\n", c.baseURL, c.tenant)
	if link != "" {
		fmt.Fprintf(out, "Sign in as its first tenant_admin, %s:\n  1. open %s\n  2. choose a password, scan the QR code with an authenticator app, enter its code\n  3. you land on the user list; later sign-ins are at %s/login\n", c.admin, link, c.baseURL)
	} else if adminMailWaits {
		fmt.Fprintf(out, "The invitation of its first tenant_admin, %s, could not be sent yet through %s; it is saved and retried until the server takes it (see the log)\n", c.admin, c.smtpServer)
	} else if mailer.sent(c.admin) {
		fmt.Fprintf(out, "The invitation of its first tenant_admin, %s, was mailed through %s: follow its link to choose a password and enrol an authenticator; later sign-ins are at %s/login\n", c.admin, c.smtpServer, c.baseURL)
	} else {
		fmt.Fprintf(out, "Sign in as %s at %s/login\n", c.admin, c.baseURL)
	}
	fmt.Fprintf(out, "SCIM 2.0 for Okta or Entra ID: base URL %s/scim/v2\n", c.baseURL)
	fmt.Fprintf(out, "Health check for a load balancer: %s/api/health (200 while the store answers, else 503)\n", c.baseURL)
	if scimSecret != "" {
		fmt.Fprintf(out, "  provisioning token %q (shown once; send it as Authorization: Bearer): %s\n", c.scimToken, scimSecret)
	} else {
		fmt.Fprintf(out, "  its token: make one at %s/provisioning as the tenant_admin, or start with -scim-token NAME\n", c.baseURL)
	}
	fmt.Fprintf(out, "Webhooks: register endpoints at %s/webhooks as the tenant_admin", c.baseURL)
	if !c.webhookAllowHTTP || !c.webhookAllowPrivate {
		fmt.Fprint(out, " (a receiver on this machine needs -webhook-allow-http -webhook-allow-private)")
	}
	fmt.Fprintln(out)
	if insecure {
		fmt.Fprintln(out, "Development mode: plain http, cookies without Secure. Put it behind https (and -base-url https://…) for anything real.")
	}
	if c.smtp != nil {
		fmt.Fprintf(out, "Mail is sent through %s. Ctrl-C stops the server.\n", c.smtpServer)
	} else {
		fmt.Fprintln(out, "Mail is printed here. Ctrl-C stops the server.")
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop() // a second SIGTERM or Ctrl-C ends the process at once
	log.Info("shutting down: no new connections; finishing the requests in flight")
	stopPruning()
	delivery := make(chan struct{})
	go func() { stopDelivery(); close(delivery) }() // finishes the attempt in flight, within MailTimeout
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if shutdownErr != nil {
		srv.Close()
		log.Error("requests still running after the grace period were cut off", "grace", shutdownGrace, "err", shutdownErr)
	} else {
		log.Info("requests finished")
	}
	<-delivery
	log.Info("outbox worker stopped")
	m.Close()
	log.Info("background mail finished")
	closeStore()
	if c.databaseURL != "" {
		log.Info("database pool closed")
	}
	if shutdownErr != nil {
		return shutdownErr
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newManager makes the server's Manager over store.
func newManager(store usermgmt.Store, c config, mailer usermgmt.Mailer, log *slog.Logger) (*usermgmt.Manager, error) {
	return usermgmt.New(store, usermgmt.Options{
		Mailer:              mailer,
		SecretKey:           c.secretKey,
		Issuer:              "usermgmt demo",
		Links:               usermgmt.Links{BaseURL: c.baseURL}, // the page serves the default link paths
		Logger:              log,
		WebhookAllowHTTP:    c.webhookAllowHTTP,
		WebhookAllowPrivate: c.webhookAllowPrivate,
	})
}

// writeTimeout bounds a request, from its headers to its answer.
const writeTimeout = 30 * time.Second

// shutdownGrace is how long a shutdown waits for the requests in flight:
// past writeTimeout none of them can be answered anyway.
const shutdownGrace = writeTimeout

// pruneEvery is how often the server deletes expired tokens, sessions and
// trusted devices.
const pruneEvery = 10 * time.Minute

// startPruning runs m.PruneExpired every interval until ctx ends or the
// returned stop is called; stop cancels a prune in progress and waits.
func startPruning(ctx context.Context, m *usermgmt.Manager, log *slog.Logger, every time.Duration) (stop func()) {
	return goUntilStopped(ctx, func(ctx context.Context) {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			p, err := m.PruneExpired(ctx)
			switch {
			case err == nil:
				log.DebugContext(ctx, "pruned expired rows", "tokens", p.Tokens, "sessions", p.Sessions, "devices", p.Devices, "mail", p.Mail)
			case ctx.Err() == nil: // not a shutdown
				log.ErrorContext(ctx, "pruning expired rows failed", "err", err)
			}
		}
	})
}

// goUntilStopped runs f in a goroutine with a context that ends with ctx
// or when the returned stop is called; stop waits for f to return and may
// be called more than once.
func goUntilStopped(ctx context.Context, f func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// openStore opens Postgres (running the migrations) or the memory store.
func openStore(ctx context.Context, c config) (usermgmt.Store, func(), error) {
	if c.databaseURL == "" {
		return memory.New(), func() {}, nil
	}
	return pgopen.Store(ctx, c.databaseURL, c.schema, c.dbMaxConns)
}

// bootstrap sets up the demo tenant as trusted code (a context marked
// usermgmt.AsSystem): on an empty tenant it invites a few demo users and the first
// tenant_admin. When the admin exists but never finished setup (a
// restart on Postgres), it mails a fresh link.
//
// A mail that could not be sent yet (delivery_failed) does not stop the
// server: the change is saved and the outbox worker retries the mail.
// waits reports that the admin's invitation is such a mail.
func bootstrap(ctx context.Context, m *usermgmt.Manager, c config, log *slog.Logger) (waits bool, err error) {
	queued := func(err error) error {
		if usermgmt.ErrorCode(err) == usermgmt.CodeDeliveryFailed {
			log.Warn("mail not sent yet; the outbox will retry it", "err", err)
			return nil
		}
		return err
	}
	page, err := m.ListUsers(ctx, c.tenant, usermgmt.ListUsersQuery{Search: c.admin, Limit: 1})
	if err != nil {
		return false, err
	}
	if len(page.Users) == 1 && page.Users[0].Email == c.admin {
		if page.Users[0].Status != usermgmt.StatusInvited {
			return false, nil
		}
		err := m.ResendInvite(ctx, c.tenant, page.Users[0].ID)
		if usermgmt.ErrorCode(err) == usermgmt.CodeRateLimited {
			return false, errors.New("the admin's invitation was mailed less than a minute ago; wait a minute and start again")
		}
		return usermgmt.ErrorCode(err) == usermgmt.CodeDeliveryFailed, queued(err)
	}
	if c.seed && page.Counts.All == 0 {
		for _, d := range []struct {
			email string
			role  usermgmt.Role
		}{
			{"dana.hr@demo.example", usermgmt.RoleHRAdmin},
			{"sam.recruiter@demo.example", usermgmt.RoleRecruiter},
			{"lee.supervisor@demo.example", usermgmt.RoleSupervisor},
		} {
			if _, err := m.InviteUser(ctx, c.tenant, usermgmt.Invite{Email: d.email, Roles: []usermgmt.Role{d.role}}); queued(err) != nil {
				return false, err
			}
		}
	}
	_, err = m.InviteUser(ctx, c.tenant, usermgmt.Invite{Email: c.admin, Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
	return usermgmt.ErrorCode(err) == usermgmt.CodeDeliveryFailed, queued(err)
}

// newMailer returns the SMTP mailer when -smtp-url is set, and otherwise
// one that prints every mail and remembers its links for the banner.
func newMailer(c config, out io.Writer) *linkMailer {
	if c.smtp == nil {
		return &linkMailer{next: &usermgmt.LogMailer{W: out}, remember: true, links: map[string]string{}, mailed: map[string]bool{}}
	}
	return &linkMailer{next: c.smtp, links: map[string]string{}, mailed: map[string]bool{}}
}

// linkMailer sends through next and remembers who was mailed, and, when
// the mail is printed anyway, the last link sent to each address, so the
// start-up banner can repeat the admin's. Links sent by SMTP stay in the
// mail.
type linkMailer struct {
	next     usermgmt.Mailer
	remember bool
	mu       sync.Mutex
	links    map[string]string
	mailed   map[string]bool
}

func (l *linkMailer) Send(ctx context.Context, msg usermgmt.Message) error {
	if err := l.next.Send(ctx, msg); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mailed[msg.To] = true
	if l.remember && msg.Link != "" {
		l.links[msg.To] = msg.Link
	}
	return nil
}

func (l *linkMailer) sent(to string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mailed[to]
}

func (l *linkMailer) link(to string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.links[to]
}
