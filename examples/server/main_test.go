package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServerStartsServesAndStops runs the example as `go run` would, on a
// free port, follows the printed link's page, and stops it by context.
func TestServerStartsServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
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
