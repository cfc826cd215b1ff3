package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/internal/testlog"
)

// TestPostgresNeedsASecretKey: on PostgreSQL the server does not start
// without -secret-key or USERMGMT_SECRET_KEY, and says how to make one;
// the memory store makes a random one.
func TestPostgresNeedsASecretKey(t *testing.T) {
	const dbURL = "postgres://postgres@127.0.0.1:1/none"
	env := func(key string) func(string) string {
		return func(k string) string {
			if k == "USERMGMT_SECRET_KEY" {
				return key
			}
			return ""
		}
	}
	err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-database-url", dbURL}, io.Discard, env(""))
	if err == nil || !strings.Contains(err.Error(), "-secret-key") || !strings.Contains(err.Error(), "openssl rand -hex 32") {
		t.Fatalf("run without a key = %v; want the -secret-key error saying how to make one", err)
	}
	for _, key := range []string{"abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31)} {
		if _, err := parseFlags([]string{"-database-url", dbURL, "-secret-key", key}, env("")); err == nil || !strings.HasPrefix(err.Error(), "-secret-key") {
			t.Errorf("-secret-key %q: %v", key, err)
		}
	}
	key := strings.Repeat("ab", 32)
	for name, c := range map[string]struct {
		args []string
		env  string
	}{"Flag": {[]string{"-database-url", dbURL, "-secret-key", key}, ""}, "Env": {[]string{"-database-url", dbURL}, key}} {
		cfg, err := parseFlags(c.args, env(c.env))
		if err != nil || fmt.Sprintf("%x", cfg.secretKey) != key {
			t.Errorf("%s: key %x, %v", name, cfg.secretKey, err)
		}
	}
	a, errA := parseFlags(nil, env(""))
	b, errB := parseFlags(nil, env(""))
	if errA != nil || errB != nil || len(a.secretKey) != 32 || bytes.Equal(a.secretKey, b.secretKey) {
		t.Errorf("the memory store's keys: %x, %x (%v, %v); want two random ones", a.secretKey, b.secretKey, errA, errB)
	}
}

// TestServerOnPostgres runs the built binary on PostgreSQL, as in
// production, through three starts of one database:
//
//  1. The admin accepts the invitation and enrols TOTP; /api/health is
//  200. SIGTERM arrives while the admin's invitation of someone waits
//     for the SMTP server's answer to DATA: new connections are refused
//     at once, the mail is delivered and leaves the outbox, the request
//     is answered 201, then the pool closes, in that order in the log,
//     and the process exits 0.
//  2. With the same -secret-key the admin signs in with password and TOTP.
//  3. With another key the same sign-in fails: the key is what keeps
//     enrolled users in, which is why the server demands one.
func TestServerOnPostgres(t *testing.T) {
	store := pgtest.Store(t) // a migrated schema of its own, dropped at the end
	bin := buildServer(t)
	smtp := startSMTP(t)
	key := strings.Repeat("5e", 32)
	args := []string{"-addr", "127.0.0.1:0", "-seed=false", "-database-url", pgtest.URL(), "-database-schema", store.Schema(),
		"-smtp-url", "smtp://" + smtp.addr + "?tls=none"}
	const password = "correct horse battery staple"

	// 1. Enrol, then stop gracefully under load.
	a := startBinary(t, bin, args, key)
	link := regexp.MustCompile(`token=(umi_[^\s"<&]+)`).FindStringSubmatch(smtp.next(t))
	if link == nil {
		t.Fatal("no invitation link in the admin's mail")
	}
	var enr struct {
		Enrollment struct{ Token, Secret string }
	}
	a.post(t, "/api/invitations/accept", map[string]string{"token": link[1], "password": password}, 200, &enr)
	code, err := totp.GenerateCode(enr.Enrollment.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a.post(t, "/api/invitations/mfa", map[string]string{"token": enr.Enrollment.Token, "code": code}, 200, nil)
	if res, err := http.Get(a.base + "/api/health"); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /api/health: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// The admin invites someone: the request waits for the invitation's
	// first delivery attempt, which the SMTP server holds in DATA.
	smtp.stall()
	invited := make(chan int, 1)
	go func() {
		res, err := a.client.Post(a.base+"/api/users/invitations", "application/json",
			strings.NewReader(`{"email":"new.hire@demo.example","roles":["agent"]}`))
		if err != nil {
			invited <- 0
			return
		}
		res.Body.Close()
		invited <- res.StatusCode
	}()
	smtp.waitStalled(t)
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitLog(t, "shutting down")
	// The listener closes as the shutdown starts, while the request still
	// waits for the SMTP server.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", a.addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections are still accepted 5 s after SIGTERM")
		}
	}
	time.Sleep(200 * time.Millisecond) // what would close the pool under the mail, would do it now
	smtp.release()
	if !strings.Contains(smtp.next(t), "new.hire@demo.example") {
		t.Error("the mail delivered during the shutdown is not the invitation")
	}
	if status := <-invited; status != 201 {
		t.Errorf("the request in flight at SIGTERM answered %d, want 201", status)
	}
	a.wait(t)
	a.inOrder(t, "shutting down", "requests finished", "outbox worker stopped", "background mail finished", "database pool closed")
	if n := countRows(t, store.Schema(), "outbox"); n != 0 {
		t.Errorf("%d mails left in the outbox: the delivery was not recorded before the pool closed", n)
	}

	// 2. The same key: TOTP still works.
	next := time.Now().Add(30 * time.Second) // the enrolment spent this step's code
	b := startBinary(t, bin, args, key)
	b.signIn(t, password, enr.Enrollment.Secret, next, 200)
	b.stop(t)

	// 3. Another key: the secret sealed under the first cannot be read.
	c := startBinary(t, bin, args, strings.Repeat("77", 32))
	c.signIn(t, password, enr.Enrollment.Secret, next, 500)
	c.stop(t)
}

// buildServer builds the example into a temporary directory.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// binary is a running server process.
type binary struct {
	cmd        *exec.Cmd
	client     *http.Client // keeps the session cookie
	out        *testlog.Buffer
	addr, base string
	done       chan error
}

func startBinary(t *testing.T, bin string, args []string, key string) *binary {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &binary{cmd: exec.Command(bin, args...), client: &http.Client{Jar: jar}, out: &testlog.Buffer{}, done: make(chan error, 1)}
	b.cmd.Env = append(os.Environ(), "USERMGMT_SECRET_KEY="+key)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill() // when the test failed before stopping it
		if t.Failed() {
			t.Logf("server output:\n%s", b.out.String())
		}
	})
	b.base = waitForOutput(t, b.out, regexp.MustCompile(`Settings → Users is at (http://(127\.0\.0\.1:\d+))/`))[1]
	b.addr = strings.TrimPrefix(b.base, "http://")
	return b
}

// post sends body as JSON and decodes the answer into out.
func (b *binary) post(t *testing.T, path string, body any, status int, out any) {
	t.Helper()
	j, _ := json.Marshal(body)
	res, err := b.client.Post(b.base+path, "application/json", bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("POST %s: %d %s; want %d", path, res.StatusCode, got, status)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("POST %s: %v: %s", path, err, got)
		}
	}
}

// signIn signs the demo admin in with the password and the TOTP code of
// time at, and wants status from the code's check.
func (b *binary) signIn(t *testing.T, password, secret string, at time.Time, status int) {
	t.Helper()
	var login struct{ Challenge string }
	b.post(t, "/api/auth/login", map[string]string{"email": "admin@demo.example", "password": password}, 200, &login)
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	b.post(t, "/api/auth/mfa", map[string]string{"challenge": login.Challenge, "code": code}, status, nil)
}

// wait waits for the process to exit and wants exit status 0.
func (b *binary) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-b.done:
		if err != nil {
			t.Fatalf("the server exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not exit after SIGTERM")
	}
}

func (b *binary) stop(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	b.wait(t)
}

func (b *binary) waitLog(t *testing.T, msg string) {
	t.Helper()
	waitForOutput(t, b.out, regexp.MustCompile(regexp.QuoteMeta(msg)))
}

// inOrder wants each message in the output, after the one before it.
func (b *binary) inOrder(t *testing.T, msgs ...string) {
	t.Helper()
	out, at := b.out.String(), 0
	for _, m := range msgs {
		i := strings.Index(out[at:], m)
		if i < 0 {
			t.Fatalf("no %q after %q in the log:\n%s", m, out[:at], out)
		}
		at += i + len(m)
	}
}

func countRows(t *testing.T, schema, table string) int {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM "`+schema+`".`+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fakeSMTP is an SMTP server for one client at a time that can hold a
// mail's DATA answer until released, to keep a delivery in flight.
type fakeSMTP struct {
	addr    string
	mails   chan string
	mu      sync.Mutex
	armed   bool          // the next DATA waits for gate to close
	gate    chan struct{} // closed by release
	stalled chan struct{} // closed when a DATA waits
}

func startSMTP(t *testing.T) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &fakeSMTP{addr: ln.Addr().String(), mails: make(chan string, 10)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprint(c, line+"\r\n") }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-fake")
			say("250 8BITMIME")
		case cmd == "DATA":
			say("354 go on")
			var mail strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				mail.WriteString(l)
			}
			s.mu.Lock()
			armed := s.armed
			s.armed = false
			s.mu.Unlock()
			if armed {
				close(s.stalled)
				<-s.gate
			}
			say("250 queued")
			s.mails <- mail.String()
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// stall makes the next mail's DATA wait until release.
func (s *fakeSMTP) stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed, s.gate, s.stalled = true, make(chan struct{}), make(chan struct{})
}

func (s *fakeSMTP) waitStalled(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	stalled := s.stalled
	s.mu.Unlock()
	select {
	case <-stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("no mail reached DATA")
	}
}

func (s *fakeSMTP) release() { close(s.gate) }

// next returns the next mail accepted, its quoted-printable soft breaks
// undone.
func (s *fakeSMTP) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-s.mails:
		return strings.ReplaceAll(strings.ReplaceAll(m, "=\r\n", ""), "=3D", "=")
	case <-time.After(10 * time.Second):
		t.Fatal("no mail")
		return ""
	}
}
