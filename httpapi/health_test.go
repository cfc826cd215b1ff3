package httpapi_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// TestHealth: GET /health needs no session and answers 200 ok when the
// store answers, on either store, and 503 unavailable with Retry-After,
// within its 2 s bound, when the database cannot be reached; the failure
// is logged.
func TestHealth(t *testing.T) {
	serveOn := func(t *testing.T, f *fixture, s usermgmt.Store) {
		m, err := usermgmt.New(s, usermgmt.Options{Mailer: f.mail, SecretKey: bytes.Repeat([]byte{7}, 32),
			Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		h, err := httpapi.NewHandler(m, f.opts)
		if err != nil {
			t.Fatal(err)
		}
		f.serve(t, h)
	}
	check := func(t *testing.T, f *fixture, status int, want string) *httptest.ResponseRecorder {
		t.Helper()
		w := f.do(t, req{method: "GET", path: "/health"}) // held to openapi.json
		var got httpapi.Health
		if w.Code != status || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Status != want {
			t.Fatalf("GET /health: %d %s; want %d {\"status\":%q}", w.Code, w.Body, status, want)
		}
		return w
	}
	t.Run("MemoryStoreIsOK", func(t *testing.T) {
		check(t, newFixture(t, nil), 200, "ok")
	})
	t.Run("PostgresIsOK", func(t *testing.T) {
		f := newFixture(t, nil)
		serveOn(t, f, pgtest.Store(t))
		check(t, f, 200, "ok")
	})
	// A database on a closed port refuses at once (pgtest.Unreachable);
	// one that accepts the connection and never answers (a host gone
	// mid-failover) is cut off by the bound.
	for name, store := range map[string]func(t *testing.T) *postgres.Store{
		"ClosedPort": func(t *testing.T) *postgres.Store { return pgtest.Unreachable(t) },
		"SilentServer": func(t *testing.T) *postgres.Store {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					t.Cleanup(func() { c.Close() })
				}
			}()
			sqldb, err := sql.Open("pgx", "postgres://postgres@"+ln.Addr().String()+"/test?sslmode=disable")
			if err != nil {
				t.Fatal(err)
			}
			db := bun.NewDB(sqldb, pgdialect.New())
			t.Cleanup(func() { db.Close() })
			s, err := postgres.New(db)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	} {
		t.Run("UnreachablePostgresIsUnavailable/"+name, func(t *testing.T) {
			pgtest.Store(t) // skips without a server, as the test above
			f := newFixture(t, nil)
			serveOn(t, f, store(t))
			start := time.Now()
			w := check(t, f, 503, "unavailable")
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("the check took %v, past its 2 s bound", took)
			}
			if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
			}
			if !strings.Contains(f.logs.String(), "health check failed") {
				t.Errorf("the failure is not logged:\n%s", f.logs.String())
			}
		})
	}
}
