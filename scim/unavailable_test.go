package scim_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/scim"
)

// TestUnavailableIs503: when the database cannot be reached (a real driver
// failing on a port nobody listens on), SCIM answers 503 in its RFC 7644
// error shape, with Retry-After, so that an IdP retries later.
func TestUnavailableIs503(t *testing.T) {
	m, err := usermgmt.New(pgtest.Unreachable(t), usermgmt.Options{Mailer: mailertest.New(), SecretKey: bytes.Repeat([]byte{7}, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, memoryStore(), nil) // for a well-formed provisioning secret
	logs := &testlog.Buffer{}
	e.m, e.logs = m, logs
	e.h = http.StripPrefix("/scim/v2", scim.New(m, scim.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}))
	r := e.do(t, "GET", "/Users", "")
	r.wantError(t, http.StatusServiceUnavailable, "")
	if ra := r.hdr.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
	if strings.Contains(logs.String(), "internal error") {
		t.Errorf("logged as internal: %s", logs)
	}
}
