package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// failingRevoker fails while fail is set, to make an internal error.
type failingRevoker struct{ fail atomic.Bool }

func (f *failingRevoker) RevokeUserSessions(context.Context, string, uuid.UUID) error {
	if f.fail.Load() {
		return errors.New("revoker exploded: secret-detail-42")
	}
	return nil
}

// countingStore counts the transactions the Manager opens.
type countingStore struct {
	usermgmt.Store
	txs atomic.Int64
}

func (s *countingStore) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(ctx context.Context, tx usermgmt.Tx) error) error {
	s.txs.Add(1)
	return s.Store.RunInTx(ctx, opts, fn)
}

type fixture struct {
	m       *usermgmt.Manager
	store   *countingStore // the memory store under m
	mail    *mailertest.Mailer
	clock   *testclock.Clock
	revoker *failingRevoker
	logs    *testlog.Buffer
	opts    httpapi.Options
	// api is the handler under test; raw serves the requests of do (api,
	// unless a test serves another); h is raw for tests that call it
	// directly. Each holds every exchange to the OpenAPI document
	// (checkExchange): do with its own t, h with the fixture's.
	api *httpapi.Handler
	raw http.Handler
	h   http.Handler
}

// newFixture builds a Manager on the memory store with a test clock and a
// capturing mailer, and the API over it. opts is adjusted before use.
func newFixture(t testing.TB, adjust func(*httpapi.Options)) *fixture {
	t.Helper()
	return newFixtureRoles(t, nil, adjust)
}

// newFixtureRoles is newFixture with the Manager's role catalogue (nil:
// the default one).
func newFixtureRoles(t testing.TB, roles []usermgmt.RoleDef, adjust func(*httpapi.Options)) *fixture {
	t.Helper()
	return newFixtureManager(t, func(o *usermgmt.Options) { o.Roles = roles }, adjust)
}

// newFixtureManager is newFixture with the Manager's options adjusted
// too (manager, when not nil).
func newFixtureManager(t testing.TB, manager func(*usermgmt.Options), adjust func(*httpapi.Options)) *fixture {
	t.Helper()
	c := testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	f := &fixture{mail: mailertest.New(), clock: c, revoker: &failingRevoker{}, logs: &testlog.Buffer{}}
	f.store = &countingStore{Store: memory.New()}
	o := usermgmt.Options{
		Mailer: f.mail, Clock: c.Now, SecretKey: bytes.Repeat([]byte{7}, 32),
		Links:    usermgmt.Links{BaseURL: "https://app.example.com"},
		Revokers: []usermgmt.SessionRevoker{f.revoker},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if manager != nil {
		manager(&o)
	}
	m, err := usermgmt.New(f.store, o)
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	f.opts = httpapi.Options{Clock: c.Now, Logger: slog.New(slog.NewTextHandler(f.logs, nil)), ReturnTokens: true}
	if adjust != nil {
		adjust(&f.opts)
	}
	h, err := httpapi.NewHandler(m, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.api = h
	f.serve(t, h)
	return f
}

// serve makes h the handler the fixture's requests go to.
func (f *fixture) serve(t testing.TB, h http.Handler) {
	f.raw, f.h = h, checked{t: t, api: h}
}

// invite invites a user as trusted code and returns it.
func (f *fixture) invite(t testing.TB, tenant, email string, roles ...usermgmt.Role) usermgmt.User {
	t.Helper()
	u, err := f.m.InviteUser(usermgmt.AsSystem(context.Background()), tenant, usermgmt.Invite{Email: email, Roles: roles})
	if err != nil {
		t.Fatalf("invite %s: %v", email, err)
	}
	return u
}

const password = "correct horse battery staple"

// active makes an active user with TOTP through the Manager and returns it,
// a session token and the TOTP secret.
func (f *fixture) active(t testing.TB, tenant, email string, roles ...usermgmt.Role) (usermgmt.User, string, string) {
	t.Helper()
	ctx := context.Background()
	u := f.invite(t, tenant, email, roles...)
	enr, err := f.m.AcceptInvite(ctx, f.mail.Token(email), password)
	if err != nil {
		t.Fatalf("accept %s: %v", email, err)
	}
	s, err := f.m.CompleteMFAEnrollment(ctx, enr.Token, f.code(t, enr.Secret))
	if err != nil {
		t.Fatalf("enrol %s: %v", email, err)
	}
	u, err = f.m.GetUser(usermgmt.AsSystem(ctx), tenant, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u, s.Token, enr.Secret
}

// code moves the clock to a fresh TOTP step (a used step is refused) and
// returns its code.
func (f *fixture) code(t testing.TB, secret string) string {
	t.Helper()
	f.clock.Advance(30 * time.Second)
	c, err := totp.GenerateCode(secret, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type req struct {
	method, path string
	body         string
	bearer       string
	header       map[string]string
	cookies      []*http.Cookie
}

func (f *fixture) do(t testing.TB, r req) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	if a := hr.Header.Get("X-Test-Remote-Addr"); a != "" {
		hr.RemoteAddr = a
		hr.Header.Del("X-Test-Remote-Addr")
	}
	w := httptest.NewRecorder()
	f.raw.ServeHTTP(w, hr)
	checkExchange(t, hr, []byte(r.body), w)
	return w
}

// errCode reads the code of an error answer, failing if the body is not
// {"error":{"code","message"}}.
func errCode(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: body is not an error object: %q", w.Code, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type = %q", ct)
	}
	return e.Error.Code
}

func wantError(t testing.TB, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body.String())
	}
	if got := errCode(t, w); got != code {
		t.Fatalf("code = %q, want %q", got, code)
	}
}

func decodeBody[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}

func cookieByName(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func newHandlerErr(f *fixture, origin string) (http.Handler, error) {
	opts := f.opts
	opts.TrustedOrigins = []string{origin}
	return httpapi.NewHandler(f.m, opts)
}

// newRequest is httptest.NewRequest without its panic on a bad target.
func newRequest(method, target, body string) (r *http.Request, err error) {
	defer func() {
		if recover() != nil {
			r, err = nil, errors.New("bad request line")
		}
	}()
	return httptest.NewRequest(method, target, strings.NewReader(body)), nil
}
