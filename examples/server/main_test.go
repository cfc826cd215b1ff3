package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/store/memory"
)

// TestServerStartsServesAndStops runs the example as `go run` would, on a
// free port, follows the printed link's page, and stops it by context.
func TestServerStartsServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &testlog.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, out, func(string) string { return "" }) }()

	banner := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/invitations/accept\?token=umi_\S+`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := banner.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no sign-in banner in:\n%s", out.String())
	}
	for path, want := range map[string]string{"/": "<!doctype html>", "/invitations/accept": `data-view="accept"`, "/login": `data-view="login"`} {
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
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no graceful shutdown")
	}
}

// TestSMTPFlagsAreChecked: -smtp-insecure is refused for a server that is
// not on this host, before the server starts.
func TestSMTPFlagsAreChecked(t *testing.T) {
	err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-smtp-addr", "smtp.example.com:25", "-smtp-insecure"},
		io.Discard, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "-smtp-addr") {
		t.Fatalf("run = %v, want an -smtp-addr error", err)
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
