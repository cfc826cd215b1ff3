package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/mailpit"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/internal/webhooktest"
	"github.com/usermgmt/usermgmt/mailer/smtp"
	"github.com/usermgmt/usermgmt/store/memory"
)

// TestServerStartsServesAndStops runs the example as `go run` would, on a
// free port, follows the printed link's page, and stops it by context
// (startServer's cleanup checks that run returns nil in time).
func TestServerStartsServesAndStops(t *testing.T) {
	out := startServer(t, []string{"-addr", "127.0.0.1:0"}, func(string) string { return "" })
	base := waitForOutput(t, out, regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/invitations/accept\?token=umi_\S+`))[1]
	for path, want := range map[string]string{"/": "<!doctype html>", "/invitations/accept": `data-view="accept"`, "/login": `data-view="login"`,
		"/api/health": `{"status":"ok"}`, "/webhooks": `data-view="webhooks"`} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("GET %s: %d %.200s", path, res.StatusCode, b)
		}
	}
	res, err := http.Get(base + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("GET /api/me without a session: %d", res.StatusCode)
	}
	if n := strings.Count(out.String(), "--- mail to "); n != 4 {
		t.Fatalf("%d mails printed, want 3 demo users and the admin", n)
	}
}

// TestWebhookFlags: the server's webhooks go to https URLs on public
// addresses only, unless -webhook-allow-http and -webhook-allow-private
// say otherwise: its Manager refuses an http endpoint without the first,
// and delivers nothing to a receiver on loopback without the second.
func TestWebhookFlags(t *testing.T) {
	rcv := webhooktest.New(t)
	for _, c := range []struct {
		args              []string
		register, deliver bool
	}{
		{nil, false, false},
		{[]string{"-webhook-allow-http"}, true, false},
		{[]string{"-webhook-allow-private", "-webhook-allow-http"}, true, true},
	} {
		t.Run(strings.Join(append([]string{"flags"}, c.args...), " "), func(t *testing.T) {
			cfg, err := parseFlags(c.args, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			cfg.baseURL = "http://127.0.0.1:8080"
			m, err := newManager(memory.New(), cfg, newMailer(cfg, io.Discard), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			sys := usermgmt.AsSystem(t.Context())
			_, _, err = m.CreateWebhookEndpoint(sys, "demo", usermgmt.WebhookEndpointInput{URL: rcv.URL,
				EventTypes: []usermgmt.EventType{usermgmt.EventUserCreated}})
			if registered := err == nil; registered != c.register {
				t.Fatalf("registering %s: %v", rcv.URL, err)
			}
			if err != nil {
				return
			}
			if _, err := m.InviteUser(sys, "demo", usermgmt.Invite{Email: "ana@demo.example", Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
				t.Fatal(err)
			}
			before := len(rcv.Requests())
			n, err := m.DeliverWebhooks(t.Context())
			got := len(rcv.Requests()) - before
			if delivered := n == 1 && got == 1; err != nil || delivered != c.deliver {
				t.Fatalf("DeliverWebhooks = %d, %v; the receiver got %d", n, err, got)
			}
		})
	}
}

// TestServerServesSCIM: the banner gives the SCIM base URL; with
// -scim-token it prints a provisioning token, which the identity provider
// sends as a bearer token to read the demo tenant's users; without a
// token SCIM answers 401.
func TestServerServesSCIM(t *testing.T) {
	out := startServer(t, []string{"-addr", "127.0.0.1:0", "-scim-token", "Okta"}, func(string) string { return "" })
	base := waitForOutput(t, out, regexp.MustCompile(`SCIM 2\.0 for Okta or Entra ID: base URL (http://127\.0\.0\.1:\d+/scim/v2)\n`))[1]
	token := waitForOutput(t, out, regexp.MustCompile(`provisioning token "Okta" .*: (\S+)\n`))[1]
	for _, c := range []struct {
		bearer string
		status int
	}{{token, http.StatusOK}, {"", http.StatusUnauthorized}, {token + "x", http.StatusUnauthorized}} {
		req, err := http.NewRequest("GET", base+"/Users?startIndex=1&count=2", nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/scim+json") {
			t.Fatalf("GET /scim/v2/Users with bearer %q: %d %s %.300s", c.bearer, res.StatusCode, res.Header.Get("Content-Type"), b)
		}
		var list struct{ TotalResults int }
		if c.status == http.StatusOK && (json.Unmarshal(b, &list) != nil || list.TotalResults != 4) {
			t.Fatalf("want the admin and the 3 demo users: %s", b)
		}
	}
}

// TestSMTPURLFlag: -smtp-url picks the TLS mode from its scheme, allows
// plain text only to loopback, takes a missing password from the
// environment, and its errors name the flag without showing the password.
func TestSMTPURLFlag(t *testing.T) {
	const secret = "s3cret"
	env := func(pw string) func(string) string {
		return func(k string) string {
			if k == "USERMGMT_SMTP_PASSWORD" {
				return pw
			}
			return ""
		}
	}
	for name, c := range map[string]struct {
		url, envPassword string
		want             smtp.Options
	}{
		"SMTPIsStartTLSOn587":     {url: "smtp://apikey:" + secret + "@smtp.example.com", want: smtp.Options{Addr: "smtp.example.com:587", TLS: smtp.StartTLS, Username: "apikey", Password: secret}},
		"SMTPSIsImplicitTLSOn465": {url: "smtps://apikey:" + secret + "@smtp.example.com", want: smtp.Options{Addr: "smtp.example.com:465", TLS: smtp.ImplicitTLS, Username: "apikey", Password: secret}},
		"PortAndEscapes":          {url: "smtp://me%40acme.example:p%2Fw%3F@smtp.example.com:2525/", want: smtp.Options{Addr: "smtp.example.com:2525", Username: "me@acme.example", Password: "p/w?"}},
		"PasswordFromEnv":         {url: "smtp://apikey@smtp.example.com:587", envPassword: secret, want: smtp.Options{Addr: "smtp.example.com:587", Username: "apikey", Password: secret}},
		"URLPasswordWinsOverEnv":  {url: "smtp://apikey:" + secret + "@smtp.example.com:587", envPassword: "other", want: smtp.Options{Addr: "smtp.example.com:587", Username: "apikey", Password: secret}},
		"NoUserNoAUTH":            {url: "smtp://smtp.example.com:25", envPassword: secret, want: smtp.Options{Addr: "smtp.example.com:25"}},
		"PlainTextToLoopback":     {url: "smtp://127.0.0.1:1025?tls=none", want: smtp.Options{Addr: "127.0.0.1:1025", TLS: smtp.NoTLS}},
		"PlainTextToLoopbackV6":   {url: "smtp://[::1]:1025?tls=none", want: smtp.Options{Addr: "[::1]:1025", TLS: smtp.NoTLS}},
	} {
		t.Run("Accepts"+name, func(t *testing.T) {
			cfg, err := parseFlags([]string{"-smtp-url", c.url}, env(c.envPassword))
			if err != nil || cfg.smtp == nil {
				t.Fatalf("parseFlags: %v", err)
			}
			if strings.Contains(cfg.smtpServer, secret) {
				t.Fatalf("server %q shows the password", cfg.smtpServer)
			}
			got, _, err := smtpOptions(c.url, env(c.envPassword))
			if err != nil || got != c.want {
				t.Fatalf("smtpOptions = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	for name, c := range map[string]struct {
		args        []string
		envPassword string
		flag        string
	}{
		"NotSMTP":                  {args: []string{"-smtp-url", "https://apikey:" + secret + "@smtp.example.com"}, flag: "-smtp-url"},
		"NoScheme":                 {args: []string{"-smtp-url", "apikey:" + secret + "@smtp.example.com"}, flag: "-smtp-url"},
		"NoHost":                   {args: []string{"-smtp-url", "smtp://apikey:" + secret + "@:587"}, flag: "-smtp-url"},
		"Path":                     {args: []string{"-smtp-url", "smtp://smtp.example.com/mail"}, flag: "-smtp-url"},
		"UnknownParameter":         {args: []string{"-smtp-url", "smtp://127.0.0.1:1025?tsl=none"}, flag: "-smtp-url"},
		"TLSOtherThanNone":         {args: []string{"-smtp-url", "smtp://127.0.0.1:1025?tls=off"}, flag: "-smtp-url"},
		"PlainTextToARemoteHost":   {args: []string{"-smtp-url", "smtp://apikey:" + secret + "@smtp.example.com:25?tls=none"}, flag: "-smtp-url"},
		"PlainTextToAPrivateHost":  {args: []string{"-smtp-url", "smtp://10.0.0.5:25?tls=none"}, flag: "-smtp-url"},
		"SMTPSWithTLSNone":         {args: []string{"-smtp-url", "smtps://127.0.0.1:1025?tls=none"}, flag: "-smtp-url"},
		"PortOutOfRange":           {args: []string{"-smtp-url", "smtp://apikey:" + secret + "@smtp.example.com:70000"}, flag: "-smtp-url"},
		"PortNotANumber":           {args: []string{"-smtp-url", "smtp://apikey:" + secret + "@smtp.example.com:smtp"}, flag: "-smtp-url"},
		"UnescapedSlashInPassword": {args: []string{"-smtp-url", "smtp://apikey:" + secret + "/x@smtp.example.com:587"}, flag: "-smtp-url"},
		"BadEscapeInPassword":      {args: []string{"-smtp-url", "smtp://apikey:" + secret + "%zz@smtp.example.com:587"}, flag: "-smtp-url"},
		"ControlCharacterInURL":    {args: []string{"-smtp-url", "smtp://apikey:" + secret + "\n@smtp.example.com:587"}, flag: "-smtp-url"},
		"UserWithoutPassword":      {args: []string{"-smtp-url", "smtp://apikey@smtp.example.com:587"}, flag: "-smtp-url"},
		"PasswordWithoutUser":      {args: []string{"-smtp-url", "smtp://:" + secret + "@smtp.example.com:587"}, flag: "-smtp-url"},
		"NULInPasswordFromEnv":     {args: []string{"-smtp-url", "smtp://apikey@smtp.example.com:587"}, envPassword: secret + "\x00", flag: "-smtp-url"},
		"FromNotAnAddress":         {args: []string{"-smtp-url", "smtp://apikey:" + secret + "@smtp.example.com", "-smtp-from", "Acme"}, flag: "-smtp-from"},
		"FromWithoutURL":           {args: []string{"-smtp-from", "Acme <no-reply@acme.example>"}, flag: "-smtp-from"},
	} {
		t.Run("Refuses"+name, func(t *testing.T) {
			_, err := parseFlags(c.args, env(c.envPassword))
			if err == nil || !strings.HasPrefix(err.Error(), c.flag) || strings.Contains(err.Error(), secret) {
				t.Fatalf("parseFlags(%q) = %v; want an error naming %s without the password", c.args, err, c.flag)
			}
		})
	}
	t.Run("RunRefusesBeforeStarting", func(t *testing.T) {
		err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-smtp-url", "smtp://smtp.example.com:25?tls=none"}, io.Discard, env(""))
		if err == nil || !strings.Contains(err.Error(), "-smtp-url") {
			t.Fatalf("run = %v, want an -smtp-url error", err)
		}
	})
}

// TestInvitationIsMailedThroughSMTPURL runs the server with -smtp-url
// pointing at Mailpit, which checks the user and the password from the
// environment: the first admin's invitation arrives there, with a link to
// this server, and the terminal shows neither the link nor the password.
func TestInvitationIsMailedThroughSMTPURL(t *testing.T) {
	const password = "pw-from-the-environment"
	users := filepath.Join(t.TempDir(), "smtp-users")
	if err := os.WriteFile(users, []byte("demo:"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := mailpit.Start(t, "--smtp-auth-file", users, "--smtp-auth-allow-insecure")
	getenv := func(k string) string {
		if k == "USERMGMT_SMTP_PASSWORD" {
			return password
		}
		return ""
	}
	out := startServer(t, []string{"-addr", "127.0.0.1:0", "-seed=false",
		"-smtp-url", "smtp://demo@" + mp.SMTP + "?tls=none", "-smtp-from", "Démo Acme <no-reply@demo.example>"}, getenv)

	got := mp.Message(t, mp.WaitFor(t, "admin@demo.example", 1)[0].ID)
	if got.From != (mailpit.Address{Name: "Démo Acme", Address: "no-reply@demo.example"}) {
		t.Errorf("From = %+v", got.From)
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/invitations/accept\?token=umi_\S+`).FindString(got.Text)
	if link == "" {
		t.Fatalf("no invitation link in:\n%s", got.Text)
	}
	if !strings.Contains(got.HTML, `href="`+link+`"`) {
		t.Errorf("the HTML part has no link to %s", link)
	}
	waitForOutput(t, out, regexp.MustCompile(regexp.QuoteMeta("was mailed through smtp://"+mp.SMTP+"?tls=none")))
	if strings.Contains(out.String(), "token=") || strings.Contains(out.String(), password) {
		t.Fatalf("the terminal shows the link or the password:\n%s", out.String())
	}
	if n := len(mp.Messages(t)); n != 1 {
		t.Fatalf("%d mails, want the admin's invitation alone (-seed=false)", n)
	}
}

// startServer runs the example with args until the test ends, and returns
// what it prints.
func startServer(t *testing.T, args []string, getenv func(string) string) *testlog.Buffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testlog.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out, getenv) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("no graceful shutdown")
		}
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	})
	return out
}

// waitForOutput waits up to 10 s for re to match what the server printed,
// and returns the match and its submatches.
func waitForOutput(t *testing.T, out *testlog.Buffer, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", re, out.String())
		}
	}
}

// failingStore refuses every transaction.
type failingStore struct{ *memory.Store }

func (failingStore) RunInTx(context.Context, usermgmt.TxOptions, func(context.Context, usermgmt.Tx) error) error {
	return errors.New("database unreachable")
}

// TestPruningRunsUntilStopped: the pruner logs its counts at debug level
// and its failures at error level, and stop ends it.
func TestPruningRunsUntilStopped(t *testing.T) {
	for _, c := range []struct {
		name  string
		store usermgmt.Store
		want  string
	}{
		{"Counts", memory.New(), `level=DEBUG msg="pruned expired rows" tokens=0 sessions=0 devices=0`},
		{"Failure", failingStore{memory.New()}, `level=ERROR msg="pruning expired rows failed"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := usermgmt.New(c.store, usermgmt.Options{Mailer: &usermgmt.LogMailer{W: io.Discard}, SecretKey: make([]byte, 32),
				Links: usermgmt.Links{BaseURL: "http://127.0.0.1"}})
			if err != nil {
				t.Fatal(err)
			}
			out := &testlog.Buffer{}
			log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
			stop := startPruning(t.Context(), m, log, time.Millisecond)
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), c.want); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no %q in:\n%s", c.want, out.String())
				}
			}
			stop()
			n := strings.Count(out.String(), "\n")
			time.Sleep(20 * time.Millisecond)
			if after := strings.Count(out.String(), "\n"); after != n {
				t.Fatalf("%d more log lines after stop", after-n)
			}
			stop() // a second stop is harmless
		})
	}
}

// TestServerStartsWhileSMTPIsDown: an SMTP server that does not answer at
// start does not stop the example: the admin's invitation is saved in the
// outbox, the banner says it waits, and the server serves.
func TestServerStartsWhileSMTPIsDown(t *testing.T) {
	mp := mailpit.Start(t)
	mp.Stop() // its port now refuses connections
	out := startServer(t, []string{"-addr", "127.0.0.1:0", "-seed=false", "-smtp-url", "smtp://" + mp.SMTP + "?tls=none"}, func(string) string { return "" })
	waitForOutput(t, out, regexp.MustCompile("could not be sent yet"))
	if !strings.Contains(out.String(), "the outbox will retry it") {
		t.Fatalf("no warning in the log:\n%s", out.String())
	}
}
