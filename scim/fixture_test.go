package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/scim"
	"github.com/usermgmt/usermgmt/store/memory"
)

// The two tenants of every test, each with a provisioning token.
const (
	tenantA = "acme"
	tenantB = "globex"
)

// env is a Manager with SCIM mounted at /scim/v2 as a host mounts it.
type env struct {
	m       *usermgmt.Manager
	clock   *testclock.Clock
	mail    *mailertest.Mailer
	logs    *testlog.Buffer
	h       http.Handler
	tokA    usermgmt.ProvisioningToken
	secret  string // tenant A's token ("Okta")
	secretB string // tenant B's token ("Entra")
}

// newEnv builds the Manager on s with a test clock and a capturing mailer,
// two tenants' tokens, and the handler with opts adjusted.
func newEnv(t testing.TB, s usermgmt.Store, adjust func(*scim.Options)) *env {
	t.Helper()
	c := testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	e := &env{clock: c, mail: mailertest.New(), logs: &testlog.Buffer{}}
	m, err := usermgmt.New(s, usermgmt.Options{
		Mailer: e.mail, Clock: c.Now, SecretKey: bytes.Repeat([]byte{7}, 32),
		Links:  usermgmt.Links{BaseURL: "https://app.example.com"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	sys := usermgmt.AsSystem(context.Background())
	if e.tokA, e.secret, err = m.CreateProvisioningToken(sys, tenantA, "Okta"); err != nil {
		t.Fatal(err)
	}
	if _, e.secretB, err = m.CreateProvisioningToken(sys, tenantB, "Entra"); err != nil {
		t.Fatal(err)
	}
	opts := scim.Options{Clock: c.Now, Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	if adjust != nil {
		adjust(&opts)
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", scim.New(m, opts)))
	e.h = mux
	return e
}

// reply is one answer of the handler.
type reply struct {
	code int
	hdr  http.Header
	raw  string
	body map[string]any
}

// do sends a request with tenant A's token; headers come as name, value
// pairs. Every answer must be application/scim+json.
func (e *env) do(t testing.TB, method, path, body string, headers ...string) reply {
	t.Helper()
	return e.doAs(t, e.secret, method, path, body, headers...)
}

// doAs is do with the bearer secret given ("" sends no Authorization).
func (e *env) doAs(t testing.TB, secret, method, path, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "https://hr.example.com/scim/v2"+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	r := reply{code: w.Code, hdr: w.Header(), raw: w.Body.String()}
	if r.code == http.StatusInternalServerError {
		t.Logf("%s %s: 500; the handler logged: %s", method, path, e.logs.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/scim+json" {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	if r.raw != "" {
		if err := json.Unmarshal([]byte(r.raw), &r.body); err != nil {
			t.Fatalf("%s %s: %d %q is not a JSON object: %v", method, path, r.code, r.raw, err)
		}
	}
	return r
}

// want fails the test unless the answer has the status.
func (r reply) want(t testing.TB, code int) reply {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.raw)
	}
	return r
}

// wantError fails the test unless the answer is an RFC 7644 §3.12 error
// with the status and scimType ("" for none).
func (r reply) wantError(t testing.TB, code int, scimType string) {
	t.Helper()
	r.want(t, code)
	if got := fmt.Sprint(r.body["schemas"]); got != "[urn:ietf:params:scim:api:messages:2.0:Error]" {
		t.Fatalf("error schemas %s: %s", got, r.raw)
	}
	if r.body["status"] != fmt.Sprint(code) {
		t.Fatalf("error status %v is not the string %q: %s", r.body["status"], fmt.Sprint(code), r.raw)
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		t.Fatalf("scimType %q, want %q: %s", got, scimType, r.raw)
	}
	if d, _ := r.body["detail"].(string); d == "" {
		t.Fatalf("error without a detail: %s", r.raw)
	}
}

// str reads a string at a dotted path of the body ("name.givenName").
func (r reply) str(path string) string {
	var v any = r.body
	for p := range strings.SplitSeq(path, ".") {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// list reads a list attribute of the body as objects.
func (r reply) list(name string) []map[string]any {
	return objects(r.body[name])
}

func objects(v any) []map[string]any {
	raw, _ := v.([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, x := range raw {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// userBody is a POST /Users body as Okta sends it.
func userBody(email, given, family string) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,
		"name":{"givenName":%q,"familyName":%q},"emails":[{"primary":true,"value":%q,"type":"work"}],
		"displayName":%q,"externalId":"ext-%s","active":true,"password":"ignored-1234"}`,
		email, given, family, email, given+" "+family, given)
}

// create POSTs a user with tenant A's token and returns its id.
func (e *env) create(t testing.TB, email, given, family string) string {
	t.Helper()
	r := e.do(t, "POST", "/Users", userBody(email, given, family)).want(t, http.StatusCreated)
	return r.str("id")
}

// activity returns the types and actor names of the user's events, newest
// first, as trusted code reads them.
func (e *env) activity(t testing.TB, tenant, id string) []usermgmt.Event {
	t.Helper()
	page, err := e.m.ListActivity(usermgmt.AsSystem(context.Background()), tenant, uuid.MustParse(id), usermgmt.ActivityQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// filterQuery is the query string of a filter.
func filterQuery(f string) string { return "?filter=" + url.QueryEscape(f) }

// memoryStore is the store of the tests that do not depend on one.
func memoryStore() usermgmt.Store { return memory.New() }
