// Package mailpit runs a real SMTP server, Mailpit
// (github.com/axllent/mailpit, a tool the tests use, not a dependency), for
// one test, and reads back what arrived through its HTTP API:
//
//	mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
//	// … send to mp.SMTP (plain text is fine: it is on loopback) …
//	got := mp.Message(t, mp.WaitFor(t, "new.person@acme.example", 1)[0].ID)
//
// Without a mailpit binary (on PATH or in $GOPATH/bin) Start skips the test,
// or fails it under USERMGMT_REQUIRE_SMTP=1, which .ci/run sets. A Server
// is safe for concurrent use.
package mailpit

import (
	"encoding/json"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt/internal/testlog"
)

// Version is the Mailpit release the tests are written against; .ci/run
// installs it.
const Version = "v1.27.11"

// Server is one Mailpit process on loopback ports chosen for it.
type Server struct {
	SMTP string // host:port of the SMTP listener
	API  string // base URL of the web UI and HTTP API: http://host:port

	args []string
	out  *testlog.Buffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// Start runs mailpit with flags added to its defaults (free loopback ports,
// a database of its own, no version check, no reverse DNS, quiet logging
// unless flags ask for -v), waits until both SMTP and the API answer, and
// stops it when the test ends.
func Start(t testing.TB, flags ...string) *Server {
	t.Helper()
	bin := binary(t)
	s := &Server{SMTP: freeAddr(t), API: "http://" + freeAddr(t), out: &testlog.Buffer{}}
	s.args = []string{
		"--smtp", s.SMTP, "--listen", strings.TrimPrefix(s.API, "http://"),
		"--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--smtp-disable-rdns",
	}
	if !slices.Contains(flags, "-v") && !slices.Contains(flags, "--verbose") {
		s.args = append(s.args, "--quiet")
	}
	s.args = append(append([]string{bin}, s.args...), flags...)
	t.Cleanup(s.Stop)
	s.start(t)
	return s
}

// Stop ends the server (SIGTERM, then SIGKILL after 5 s) and waits for
// it. Mail sent meanwhile is refused. It is a no-op on a stopped server.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart stops the server if it runs and starts it again on the same SMTP
// and API addresses with the same flags and database: what arrived before
// is still there, and a client that failed while it was down can retry.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited

	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(15 * time.Second); !s.answers(); {
		select {
		case <-exited:
			s.cmd = nil
			t.Fatalf("mailpit %q exited:\n%s", s.args[1:], s.out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not answer within 15s:\n%s", s.out.String())
		}
	}
}

// answers reports whether the API says it is ready and SMTP accepts.
func (s *Server) answers() bool {
	res, err := http.Get(s.API + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false
	}
	c, err := net.DialTimeout("tcp", s.SMTP, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Log returns what mailpit has written so far. Started with -v, it shows
// each SMTP command, e.g. `allow LOGIN login:"alice"`.
func (s *Server) Log() string { return s.out.String() }

// Address is a mailbox as Mailpit decodes it (RFC 2047 names decoded).
type Address struct {
	Name    string
	Address string
}

// Summary is a message in a list.
type Summary struct {
	ID        string // Mailpit's id, for Message and Raw
	MessageID string // the Message-ID header without its angle brackets
	From      Address
	To        []Address
	Subject   string
}

// Message is one message, its headers decoded and its parts read.
type Message struct {
	ID        string
	MessageID string
	From      Address
	To        []Address
	Subject   string
	Text      string
	HTML      string
}

// Messages returns every stored message, newest first.
func (s *Server) Messages(t testing.TB) []Summary {
	t.Helper()
	var list struct{ Messages []Summary }
	s.getJSON(t, "/api/v1/messages?limit=10000", &list)
	return list.Messages
}

// WaitFor waits up to 10 s for at least n messages addressed to to
// (compared without case) and returns all of them, newest first. It fails
// the test if fewer arrive.
func (s *Server) WaitFor(t testing.TB, to string, n int) []Summary {
	t.Helper()
	var got []Summary
	for deadline := time.Now().Add(10 * time.Second); ; {
		got = got[:0]
		for _, m := range s.Messages(t) {
			if slices.ContainsFunc(m.To, func(a Address) bool { return strings.EqualFold(a.Address, to) }) {
				got = append(got, m)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(25 * time.Millisecond) // polling a server, not waiting out a clock
	}
	if len(got) < n {
		t.Fatalf("%d messages to %s arrived, want %d", len(got), to, n)
	}
	return got
}

// Message returns the message with Mailpit's id.
func (s *Server) Message(t testing.TB, id string) Message {
	t.Helper()
	var m Message
	s.getJSON(t, "/api/v1/message/"+url.PathEscape(id), &m)
	return m
}

// Raw returns the message as the server received it.
func (s *Server) Raw(t testing.TB, id string) []byte {
	t.Helper()
	return s.get(t, "/api/v1/message/"+url.PathEscape(id)+"/raw")
}

func (s *Server) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(s.get(t, path), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (s *Server) get(t testing.TB, path string) []byte {
	t.Helper()
	res, err := http.Get(s.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %.300s", path, res.StatusCode, err, b)
	}
	return b
}

// binary finds mailpit on PATH or in $GOPATH/bin, or skips the test (fails
// it under USERMGMT_REQUIRE_SMTP=1).
func binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(dir, "bin", "mailpit")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	msg := fmt.Sprintf("mailpit not found on PATH or in $GOPATH/bin: install it with `go install github.com/axllent/mailpit@%s`", Version)
	if os.Getenv("USERMGMT_REQUIRE_SMTP") == "1" {
		t.Fatal(msg + " (USERMGMT_REQUIRE_SMTP=1)")
	}
	t.Skip(msg + " to run the SMTP tests")
	return ""
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (mailpit has no "port 0 and tell me").
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
