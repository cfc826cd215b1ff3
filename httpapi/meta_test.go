package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// GET /meta serves the domain's lists and policy from the Manager, to
// anyone, and may be cached.
func TestMeta(t *testing.T) {
	f := newFixture(t, nil)
	w := f.do(t, req{method: "GET", path: "/meta"})
	if w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("meta: %d %q", w.Code, w.Header().Get("Cache-Control"))
	}
	m := decodeBody[httpapi.Meta](t, w)
	if m.Product != "usermgmt" || m.PasswordMinLength != 12 || m.PasswordMaxLength != 256 || m.MaxBulkInvites != usermgmt.MaxBulkInvites {
		t.Fatalf("meta = %+v", m)
	}
	if len(m.EventTypes) != len(usermgmt.EventLabels()) || len(m.MailKinds) != len(usermgmt.MessageKindLabels()) ||
		len(m.Permissions) != len(usermgmt.AllPermissions()) {
		t.Fatalf("lists: %+v", m)
	}
	for _, l := range m.EventTypes {
		if l.Value == "" || l.Label == "" || l.Value == "session.refreshed" {
			t.Errorf("event type %+v", l)
		}
	}
	if !strings.Contains(w.Body.String(), `{"value":"login.succeeded","label":"Logged in"}`) {
		t.Errorf("labels: %s", w.Body)
	}
	// The webhook event types, in the Manager's order, each labelled: the
	// page's checkboxes.
	hooks := usermgmt.WebhookEventTypes()
	if len(m.WebhookEventTypes) != len(hooks) {
		t.Fatalf("webhook event types %+v, want %v", m.WebhookEventTypes, hooks)
	}
	for i, l := range m.WebhookEventTypes {
		if l.Value != string(hooks[i]) || l.Label == "" || l.Label == l.Value {
			t.Errorf("webhook event type %d = %+v, want %s with its label", i, l, hooks[i])
		}
	}
}

// isSentence is what a page may show: a capital first letter and final
// punctuation, no Go identifier, no host:port.
func isSentence(msg string) bool {
	r, _ := utf8.DecodeRuneInString(msg)
	last, _ := utf8.DecodeLastRuneInString(msg)
	return unicode.IsUpper(r) && strings.ContainsRune(".!?", last) && !strings.Contains(msg, "usermgmt") &&
		!hostPort.MatchString(msg)
}

var hostPort = regexp.MustCompile(`\b(?:\d{1,3}(?:\.\d{1,3}){3}|[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+|localhost):\d{2,5}\b`)

type answerErr struct {
	Error struct{ Code, Message, Field string } `json:"error"`
}

// Every code's message reaches the page as a sentence, whatever the
// library's text: written as Go error strings (lower case, no stop), they
// are made sentences in one place.
func TestEveryCodesMessageIsASentence(t *testing.T) {
	codes := []usermgmt.Code{usermgmt.CodeInvalid, usermgmt.CodeNotFound, usermgmt.CodeConflict,
		usermgmt.CodePermissionDenied, usermgmt.CodeUnauthenticated, usermgmt.CodeExpired, usermgmt.CodeRateLimited,
		usermgmt.CodeMFARequired, usermgmt.CodeDeliveryFailed, usermgmt.CodeInternal, usermgmt.CodeUnavailable,
		httpapi.CodeTooLarge, httpapi.CodeUnsupportedMedia, httpapi.CodeMethodNotAllowed}
	for _, c := range codes {
		for _, err := range []error{
			usermgmt.Errorf(c, "something about x; do y"),
			&usermgmt.Error{Code: c, Message: "", Err: errors.New("dial tcp 10.0.0.7:2525: connection refused")},
			errors.New("dial tcp 10.0.0.7:2525: connection refused"),
		} {
			w := httptest.NewRecorder()
			httpapi.WriteError(w, httptest.NewRequest("GET", "/x", nil), err)
			a := decodeBody[answerErr](t, w)
			if !isSentence(a.Error.Message) {
				t.Errorf("%s: %q is not a sentence for a page", c, a.Error.Message)
			}
		}
	}
	// And the messages the Manager really gives, through the routes.
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	for _, r := range []req{
		{method: "POST", path: "/users/invitations", body: `{"email":"nope","roles":["agent"]}`, bearer: tok},
		{method: "POST", path: "/users/invitations", body: `{"email":"admin@acme.test","roles":["agent"]}`, bearer: tok},
		{method: "POST", path: "/users/invitations", body: `{"email":"x@acme.test","roles":["wizard"]}`, bearer: tok},
		{method: "POST", path: "/auth/login", body: `{"tenant":"acme","email":"admin@acme.test","password":"wrong one"}`},
		{method: "POST", path: "/invitations/accept", body: `{"token":"umi_x","password":"short"}`},
		{method: "GET", path: "/users/not-a-uuid", bearer: tok},
		{method: "GET", path: "/users"},
		{method: "POST", path: "/auth/login", body: `{`},
	} {
		w := f.do(t, r)
		a := decodeBody[answerErr](t, w)
		if w.Code < 400 || !isSentence(a.Error.Message) {
			t.Errorf("%s %s: %d %q", r.method, r.path, w.Code, a.Error.Message)
		}
	}
}

// An error about one input names it in field, so that the page needs no
// text to place it.
func TestErrorsNameTheirField(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	f.invite(t, "acme", "new@acme.test", usermgmt.RoleAgent)
	invite := f.mail.Token("new@acme.test")
	for _, c := range []struct {
		r     req
		field string
	}{
		{req{method: "POST", path: "/users/invitations", body: `{"email":"nope","roles":["agent"]}`, bearer: tok}, "email"},
		{req{method: "POST", path: "/users/invitations", body: `{"email":"new@acme.test","roles":["agent"]}`, bearer: tok}, "email"},
		{req{method: "POST", path: "/users/invitations", body: `{"email":"x@acme.test","roles":["wizard"]}`, bearer: tok}, "role"},
		{req{method: "POST", path: "/invitations/accept", body: `{"token":"` + invite + `","password":"short"}`}, "password"},
		{req{method: "POST", path: "/invitations/accept", body: `{"token":"umi_nonsense","password":"` + password + `"}`}, "token"},
		{req{method: "POST", path: "/auth/sudo", body: `{"code":"12"}`, bearer: tok}, "code"},
		{req{method: "POST", path: "/auth/password", body: `{"current_password":"not it at all","new_password":"another good passphrase"}`, bearer: tok}, "current_password"},
		{req{method: "POST", path: "/users/invitations", body: `{"email":"y@acme.test","roles":["agent"]}`}, ""},
	} {
		a := decodeBody[answerErr](t, f.do(t, c.r))
		if a.Error.Field != c.field {
			t.Errorf("%s %s: field %q (%s), want %q", c.r.method, c.r.path, a.Error.Field, a.Error.Message, c.field)
		}
	}
}

// A delivery failure to an SMTP server never shows the server's address
// to the tenant admin: not in the error, not in the undelivered mail.
func TestDeliveryFailureShowsNoHostPort(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	f.mail.FailNext(errors.New("dial tcp 192.0.2.10:2525: connect: connection refused"))
	w := f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"v@acme.test","roles":["agent"]}`, bearer: tok})
	a := decodeBody[answerErr](t, w)
	if a.Error.Code != "delivery_failed" || !isSentence(a.Error.Message) {
		t.Fatalf("%d %+v", w.Code, a)
	}
	w = f.do(t, req{method: "GET", path: "/mail/undelivered", bearer: tok})
	if w.Code != 200 || hostPort.MatchString(w.Body.String()) || strings.Contains(w.Body.String(), "192.0.2.10") {
		t.Fatalf("undelivered mail shows the server: %s", w.Body)
	}
	page := decodeBody[httpapi.MailPage](t, w)
	if len(page.Mail) != 1 || page.Mail[0].LastError != "The mail server could not be reached." {
		t.Fatalf("page = %+v", page)
	}
}

// The link checks answer valid, expired or used for a real link, spend
// nothing, and answer a wrong token as the redeeming routes do.
func TestLinkChecks(t *testing.T) {
	f := newFixture(t, nil)
	f.invite(t, "acme", "new@acme.test", usermgmt.RoleAgent)
	token := f.mail.Token("new@acme.test")
	check := func(path, token string) *httptest.ResponseRecorder {
		return f.do(t, req{method: "POST", path: path, body: `{"token":"` + token + `"}`})
	}
	for range 2 {
		if c := decodeBody[httpapi.LinkCheck](t, check("/invitations/check", token)); c != (httpapi.LinkCheck{
			State: usermgmt.LinkValid, Email: "new@acme.test", Product: "usermgmt"}) {
			t.Fatalf("check = %+v", c)
		}
	}
	w := f.do(t, req{method: "POST", path: "/invitations/accept", body: `{"token":"` + token + `","password":"` + password + `"}`})
	if w.Code != 200 {
		t.Fatalf("accept after checks: %d %s", w.Code, w.Body)
	}
	if c := decodeBody[httpapi.LinkCheck](t, check("/invitations/check", token)); c.State != usermgmt.LinkUsed {
		t.Fatalf("check after accept = %+v", c)
	}
	altered := token[:len(token)-1] + "A"
	if altered == token {
		altered = token[:len(token)-1] + "B"
	}
	for _, bad := range []string{"", "umi_nonsense", altered} {
		wantError(t, check("/invitations/check", bad), http.StatusUnauthorized, "unauthenticated")
	}
	wantError(t, check("/password/check", token), http.StatusUnauthorized, "unauthenticated")

	// A reset link expires.
	u, _, _ := f.active(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	f.clock.Advance(time.Minute)
	if err := f.m.SendPasswordReset(usermgmt.AsSystem(context.Background()), "acme", u.ID); err != nil {
		t.Fatal(err)
	}
	reset := f.mail.Token("ana@acme.test")
	if c := decodeBody[httpapi.LinkCheck](t, check("/password/check", reset)); c.State != usermgmt.LinkValid {
		t.Fatalf("reset check = %+v", c)
	}
	f.clock.Advance(2 * time.Hour)
	if c := decodeBody[httpapi.LinkCheck](t, check("/password/check", reset)); c.State != usermgmt.LinkExpired {
		t.Fatalf("reset check later = %+v", c)
	}
}

// The checks take from the redeeming routes' buckets, and are bound to
// the request's tenant like them.
func TestLinkChecksAreLimitedAndTenantBound(t *testing.T) {
	f := newFixture(t, func(o *httpapi.Options) {
		o.RateLimits = httpapi.RateLimits{PerIP: httpapi.Limit{Burst: 3, Per: time.Hour}, PerAccount: httpapi.Limit{Burst: 100, Per: time.Hour}}
		o.TenantFromRequest = func(r *http.Request) (string, error) { return r.Header.Get("X-Test-Tenant"), nil }
	})
	f.invite(t, "globex", "ana@globex.test", usermgmt.RoleAgent)
	token := f.mail.Token("ana@globex.test")
	on := func(tenant, path, body string) *httptest.ResponseRecorder {
		return f.do(t, req{method: "POST", path: path, body: body, header: map[string]string{"X-Test-Tenant": tenant}})
	}
	body := `{"token":"` + token + `"}`
	wantError(t, on("acme", "/invitations/check", body), http.StatusUnauthorized, "unauthenticated")
	if w := on("globex", "/invitations/check", body); w.Code != 200 {
		t.Fatalf("check on its own tenant: %d %s", w.Code, w.Body)
	}
	on("globex", "/password/check", `{"token":"umr_x"}`)
	wantError(t, on("globex", "/invitations/check", body), http.StatusTooManyRequests, "rate_limited")
	wantError(t, on("globex", "/invitations/accept", `{"token":"`+token+`","password":"`+password+`"}`),
		http.StatusTooManyRequests, "rate_limited")
}
