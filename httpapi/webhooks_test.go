package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/internal/webhooktest"
)

// endpoint registers, as trusted code, an endpoint of the tenant at url
// for every webhook event type, and returns its id and secret.
func (f *fixture) endpoint(t testing.TB, tenant, url string) (uuid.UUID, string) {
	t.Helper()
	e, secret, err := f.m.CreateWebhookEndpoint(usermgmt.AsSystem(context.Background()), tenant,
		usermgmt.WebhookEndpointInput{URL: url, EventTypes: usermgmt.WebhookEventTypes()})
	if err != nil {
		t.Fatalf("endpoint of %s: %v", tenant, err)
	}
	return e.ID, secret
}

// queuedWebhook invites someone to the tenant, which queues messages for
// its endpoint, and returns the id of one of them.
func (f *fixture) queuedWebhook(t testing.TB, tenant string, endpoint uuid.UUID) uuid.UUID {
	t.Helper()
	sys := usermgmt.AsSystem(context.Background())
	f.invite(t, tenant, "hooked@"+tenant+".test", usermgmt.RoleAgent)
	p, err := f.m.ListWebhookDeliveries(sys, tenant, endpoint, usermgmt.WebhookDeliveryQuery{})
	if err != nil || len(p.Deliveries) == 0 {
		t.Fatalf("no message queued for %s's endpoint: %+v %v", tenant, p, err)
	}
	return p.Deliveries[0].MessageID
}

// TestWebhookEndpointRoutes: a tenant_admin registers an endpoint and sees
// its signing secret once, in the answer, and a new one once more when
// rotating it; no other answer carries either. A bad input is invalid on
// its field. Registering, changing and rotating send the tenant's data
// out, and deleting silences a receiver, so they need sudo mode; reading
// and enabling do not.
func TestWebhookEndpointRoutes(t *testing.T) {
	f := newFixture(t, nil)
	_, admin, totpSecret := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, hr, _ := f.active(t, "acme", "hr@acme.test", usermgmt.RoleHRAdmin)
	const body = `{"url":" https://crm.example.com/hooks ","event_types":["user.deactivated","user.created"],"description":"CRM"}`

	wantError(t, f.do(t, req{method: "POST", path: "/webhooks", body: body, bearer: hr}), 403, "permission_denied")
	w := f.do(t, req{method: "POST", path: "/webhooks", body: body, bearer: admin})
	if w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	made := decodeBody[httpapi.WebhookSecret](t, w)
	e := made.Endpoint
	if !strings.HasPrefix(made.Secret, "whsec_") || e.URL != "https://crm.example.com/hooks" || e.Description != "CRM" ||
		!slices.Equal(e.EventTypes, []usermgmt.EventType{usermgmt.EventUserCreated, usermgmt.EventDeactivated}) ||
		e.DisabledAt != nil || e.PreviousSecretUntil != nil || e.Failures != 0 || !e.CreatedAt.Equal(f.clock.Now()) {
		t.Fatalf("created = %+v", made)
	}
	path := "/webhooks/" + e.ID.String()
	wantError(t, f.do(t, req{method: "GET", path: "/webhooks", bearer: hr}), 403, "permission_denied")

	// noSecret fails if an answer to a GET carries a secret.
	noSecret := func(t *testing.T, secrets ...string) {
		t.Helper()
		for _, p := range []string{"/webhooks", path, path + "/deliveries", "/users"} {
			w := f.do(t, req{method: "GET", path: p, bearer: admin})
			for _, s := range append(secrets, "whsec_") {
				if w.Code != 200 || strings.Contains(w.Body.String(), s) {
					t.Fatalf("GET %s (%d) carries a secret: %s", p, w.Code, w.Body)
				}
			}
		}
	}
	t.Run("TheSecretShowsOnce", func(t *testing.T) {
		noSecret(t, made.Secret)
		list := decodeBody[httpapi.WebhookEndpoints](t, f.do(t, req{method: "GET", path: "/webhooks", bearer: admin}))
		if len(list.Endpoints) != 1 || list.Endpoints[0].ID != e.ID {
			t.Fatalf("list = %+v", list)
		}
	})
	t.Run("BadInputIs400OnItsField", func(t *testing.T) {
		for _, c := range []struct{ body, field string }{
			{`{"url":"","event_types":["user.created"]}`, usermgmt.FieldURL},
			{`{"url":"crm.example.com/hooks","event_types":["user.created"]}`, usermgmt.FieldURL},
			{`{"url":"http://crm.example.com/hooks","event_types":["user.created"]}`, usermgmt.FieldURL},
			{`{"url":"ftp://crm.example.com/hooks","event_types":["user.created"]}`, usermgmt.FieldURL},
			{`{"url":"https://me:pw@crm.example.com/hooks","event_types":["user.created"]}`, usermgmt.FieldURL},
			{`{"url":"https://crm.example.com/hooks","event_types":[]}`, usermgmt.FieldEventTypes},
			{`{"url":"https://crm.example.com/hooks","event_types":["login.succeeded"]}`, usermgmt.FieldEventTypes},
			{`{"url":"https://crm.example.com/hooks","event_types":["user.created"],"description":"` + strings.Repeat("x", 201) + `"}`,
				usermgmt.FieldDescription},
		} {
			for _, r := range []req{{method: "POST", path: "/webhooks"}, {method: "PUT", path: path}} {
				r.body, r.bearer = c.body, admin
				w := f.do(t, r)
				wantError(t, w, 400, "invalid")
				if got := decodeBody[errorBody](t, w).Error.Field; got != c.field {
					t.Errorf("%s %s: field %q, want %q", r.method, c.body, got, c.field)
				}
			}
		}
		for _, b := range []string{"", `{"url":"https://crm.example.com/hooks","event_types":["user.created"],"secret":"whsec_x"}`} {
			wantError(t, f.do(t, req{method: "POST", path: "/webhooks", body: b, bearer: admin}), 400, "invalid")
		}
		if list := decodeBody[httpapi.WebhookEndpoints](t, f.do(t, req{method: "GET", path: "/webhooks", bearer: admin})); len(list.Endpoints) != 1 {
			t.Fatalf("a refused request made an endpoint: %+v", list)
		}
	})
	t.Run("UpdateReplacesURLEventsAndDescription", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		w := f.do(t, req{method: "PUT", path: path, bearer: admin,
			body: `{"url":"https://crm.example.com/v2/hooks","event_types":["role.revoked","role.granted"]}`})
		got := decodeBody[httpapi.WebhookEndpoint](t, w)
		if w.Code != 200 || got.URL != "https://crm.example.com/v2/hooks" || got.Description != "" ||
			!slices.Equal(got.EventTypes, []usermgmt.EventType{usermgmt.EventRoleGranted, usermgmt.EventRoleRevoked}) ||
			!got.UpdatedAt.Equal(f.clock.Now()) || !got.CreatedAt.Equal(e.CreatedAt) {
			t.Fatalf("updated: %d %s", w.Code, w.Body)
		}
		if again := decodeBody[httpapi.WebhookEndpoint](t, f.do(t, req{method: "GET", path: path, bearer: admin})); again.URL != got.URL {
			t.Fatalf("GET after PUT = %+v", again)
		}
	})
	var rotatedUntil *time.Time
	t.Run("RotateShowsTheNewSecretOnce", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: path + "/secret/rotate", bearer: admin})
		rotated := decodeBody[httpapi.WebhookSecret](t, w)
		until := rotated.Endpoint.PreviousSecretUntil
		rotatedUntil = until
		if w.Code != 200 || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == made.Secret ||
			until == nil || !until.Equal(f.clock.Now().Add(24*time.Hour)) {
			t.Fatalf("rotated: %d %s", w.Code, w.Body)
		}
		noSecret(t, made.Secret, rotated.Secret)
	})
	t.Run("EnablingAnEnabledEndpointChangesNothing", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: path + "/enable", bearer: admin})
		if got := decodeBody[httpapi.WebhookEndpoint](t, w); w.Code != 200 || got.DisabledAt != nil || got.URL != "https://crm.example.com/v2/hooks" {
			t.Fatalf("enable: %d %s", w.Code, w.Body)
		}
	})
	t.Run("SudoGuardsWhatSendsDataOut", func(t *testing.T) {
		f.clock.Advance(16 * time.Minute) // the sign-in is older than SudoWindow
		for _, r := range []req{
			{method: "POST", path: "/webhooks", body: `{"url":"https://evil.example.com/","event_types":["user.created"]}`},
			{method: "PUT", path: path, body: `{"url":"https://evil.example.com/","event_types":["user.created"]}`},
			{method: "POST", path: path + "/secret/rotate"},
			{method: "DELETE", path: path},
		} {
			r.bearer = admin
			wantError(t, f.do(t, r), 401, "mfa_required")
		}
		if got := decodeBody[httpapi.WebhookEndpoint](t, f.do(t, req{method: "GET", path: path, bearer: admin})); got.URL !=
			"https://crm.example.com/v2/hooks" || got.PreviousSecretUntil == nil || !got.PreviousSecretUntil.Equal(*rotatedUntil) {
			t.Fatalf("a refused change changed the endpoint: %+v", got)
		}
		for _, r := range []req{{method: "GET", path: "/webhooks"}, {method: "GET", path: path + "/deliveries"},
			{method: "POST", path: path + "/enable"}} {
			r.bearer = admin
			if w := f.do(t, r); w.Code != 200 {
				t.Fatalf("%s %s outside sudo mode: %d %s", r.method, r.path, w.Code, w.Body)
			}
		}
		if w := f.do(t, req{method: "POST", path: "/auth/sudo", body: `{"code":"` + f.code(t, totpSecret) + `"}`, bearer: admin}); w.Code != 204 {
			t.Fatalf("sudo: %d %s", w.Code, w.Body)
		}
		if w := f.do(t, req{method: "POST", path: path + "/secret/rotate", bearer: admin}); w.Code != 200 {
			t.Fatalf("rotate in sudo mode: %d %s", w.Code, w.Body)
		}
	})
	t.Run("DeleteEndsIt", func(t *testing.T) {
		if w := f.do(t, req{method: "DELETE", path: path, bearer: admin}); w.Code != 204 {
			t.Fatalf("delete: %d %s", w.Code, w.Body)
		}
		for _, r := range []req{{method: "GET", path: path}, {method: "DELETE", path: path}, {method: "GET", path: path + "/deliveries"}} {
			r.bearer = admin
			wantError(t, f.do(t, r), 404, "not_found")
		}
		if list := decodeBody[httpapi.WebhookEndpoints](t, f.do(t, req{method: "GET", path: "/webhooks", bearer: admin})); list.Endpoints == nil ||
			len(list.Endpoints) != 0 {
			t.Fatalf("after delete: %+v", list)
		}
	})
}

// TestWebhookDeliveryRoutes: changes made through the API reach a
// registered endpoint as Standard Webhooks messages, signed with the
// secret the answer showed, each body as openapi.json's webhooks section
// describes its type; the endpoint's deliveries list them (status, HTTP
// status, attempts), page by cursor, and Resend sends one again with the
// same webhook-id and body.
func TestWebhookDeliveryRoutes(t *testing.T) {
	f := newFixtureManager(t, func(o *usermgmt.Options) { o.WebhookAllowPrivate, o.WebhookAllowHTTP = true, true }, nil)
	adminUser, admin, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	rcv := webhooktest.New(t)
	ctx := context.Background()
	seen := 0
	// deliver runs the delivery worker once and returns what the receiver
	// got from it.
	deliver := func(t *testing.T, want int) []webhooktest.Request {
		t.Helper()
		if n, err := f.m.DeliverWebhooks(ctx); err != nil || n != want {
			t.Fatalf("DeliverWebhooks = %d, %v; want %d", n, err, want)
		}
		got := rcv.Requests()[seen:]
		seen += len(got)
		return got
	}

	// Every type the API offers, read from GET /meta as the page does.
	var types []string
	for _, l := range decodeBody[httpapi.Meta](t, f.do(t, req{method: "GET", path: "/meta"})).WebhookEventTypes {
		types = append(types, l.Value)
	}
	body, _ := json.Marshal(map[string]any{"url": rcv.URL, "event_types": types})
	w := f.do(t, req{method: "POST", path: "/webhooks", body: string(body), bearer: admin})
	made := decodeBody[httpapi.WebhookSecret](t, w)
	if w.Code != 201 || len(made.Endpoint.EventTypes) != len(usermgmt.WebhookEventTypes()) {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	path := "/webhooks/" + made.Endpoint.ID.String()
	deliveries := func(t *testing.T, query string) httpapi.WebhookDeliveryPage {
		t.Helper()
		w := f.do(t, req{method: "GET", path: path + "/deliveries" + query, bearer: admin})
		if w.Code != 200 {
			t.Fatalf("deliveries: %d %s", w.Code, w.Body)
		}
		return decodeBody[httpapi.WebhookDeliveryPage](t, w)
	}

	// Changes through the API: an invitation, a role, a deactivation.
	w = f.do(t, req{method: "POST", path: "/users/invitations", body: `{"email":"ana@acme.test","roles":["agent"]}`, bearer: admin})
	ana := decodeBody[httpapi.User](t, w)
	for _, p := range []string{"/roles/supervisor"} {
		if w := f.do(t, req{method: "PUT", path: "/users/" + ana.ID.String() + p, bearer: admin}); w.Code != 200 {
			t.Fatalf("grant: %d %s", w.Code, w.Body)
		}
	}
	if w := f.do(t, req{method: "POST", path: "/users/" + ana.ID.String() + "/deactivate", bearer: admin}); w.Code != 200 {
		t.Fatalf("deactivate: %d %s", w.Code, w.Body)
	}
	got := deliver(t, 5)
	want := []usermgmt.EventType{usermgmt.EventUserCreated, usermgmt.EventInvited, usermgmt.EventRoleGranted,
		usermgmt.EventDeactivated, usermgmt.EventSessionsRevoked}
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		var msg usermgmt.WebhookPayload
		if err := json.Unmarshal(r.Body, &msg); err != nil {
			t.Fatalf("body %q: %v", r.Body, err)
		}
		if msg.Type != want[i] || msg.Data.User.ID != ana.ID || msg.Data.TenantID != "acme" || msg.Data.Actor.ID == nil ||
			*msg.Data.Actor.ID != adminUser.ID {
			t.Fatalf("message %d: %s, want a %s of ana by the admin, in the order of the changes", i, r.Body, want[i])
		}
		if err := followsWebhookDoc(c.doc, string(msg.Type), r.Body); err != nil {
			t.Errorf("a %s body does not follow openapi.json's webhooks: %v\n%s", msg.Type, err, r.Body)
		}
		sec, _ := strconv.ParseInt(r.Timestamp, 10, 64)
		sig, err := usermgmt.SignWebhook(r.ID, sec, r.Body, made.Secret)
		if err != nil || r.Signature != sig || !regexp.MustCompile(`^msg_[0-9a-f]{32}$`).MatchString(r.ID) || sec != f.clock.Now().Unix() {
			t.Fatalf("message %d: %+v, not signed with the secret shown (%s, %v)", i, r, sig, err)
		}
	}
	deact := got[3]
	if msg := string(deact.Body); !strings.Contains(msg, `"status":"deactivated"`) || !strings.Contains(msg, `"roles":["supervisor","agent"]`) {
		t.Fatalf("the deactivation's snapshot: %s", msg)
	}

	page := deliveries(t, "")
	if len(page.Deliveries) != 5 || page.NextCursor != "" {
		t.Fatalf("deliveries = %+v", page)
	}
	d := page.Deliveries[1] // newest first: the deactivation, then the sessions it ended
	if d.EventType != usermgmt.EventDeactivated || d.Status != "delivered" || d.Attempts != 1 || d.LastStatusCode == nil ||
		*d.LastStatusCode != 204 || d.WebhookID != deact.ID || d.UserID != ana.ID ||
		d.DeliveredAt == nil || d.NextAttemptAt != nil || d.LastError != "" {
		t.Fatalf("the deactivation's delivery = %+v", d)
	}

	t.Run("PagesByCursor", func(t *testing.T) {
		var seen []uuid.UUID
		for q := "?limit=3"; ; {
			p := deliveries(t, q)
			for _, d := range p.Deliveries {
				seen = append(seen, d.MessageID)
			}
			if p.NextCursor == "" {
				break
			}
			q = "?limit=3&cursor=" + p.NextCursor
		}
		if len(seen) != 5 || seen[1] != d.MessageID || len(slices.Compact(slices.Clone(seen))) != 5 {
			t.Fatalf("paged: %v", seen)
		}
		for _, q := range []string{"?cursor=garbage", "?limit=-1", "?limit=x", "?page=2"} {
			wantError(t, f.do(t, req{method: "GET", path: path + "/deliveries" + q, bearer: admin}), 400, "invalid")
		}
	})
	t.Run("ResendSendsTheSameMessage", func(t *testing.T) {
		w := f.do(t, req{method: "POST", path: path + "/deliveries/" + d.MessageID.String() + "/resend", bearer: admin})
		if w.Code != 204 {
			t.Fatalf("resend: %d %s", w.Code, w.Body)
		}
		if again := deliveries(t, "?limit=2").Deliveries[1]; again.MessageID != d.MessageID || again.Status != "pending" || again.Attempts != 0 {
			t.Fatalf("after resend: %+v", again)
		}
		f.clock.Advance(time.Minute) // a new attempt, a new signature
		re := deliver(t, 1)
		if re[0].ID != deact.ID || string(re[0].Body) != string(deact.Body) || re[0].Timestamp == deact.Timestamp {
			t.Fatalf("resent %+v; first sent %+v", re[0], deact)
		}
		if p := deliveries(t, "?limit=2"); p.Deliveries[1].Status != "delivered" || p.Deliveries[1].Attempts != 1 {
			t.Fatalf("after the resend went: %+v", p.Deliveries[1])
		}
		other := uuid.Must(uuid.NewV7())
		wantError(t, f.do(t, req{method: "POST", path: path + "/deliveries/" + other.String() + "/resend", bearer: admin}), 404, "not_found")
	})
	t.Run("AFailedAttemptShowsItsAnswer", func(t *testing.T) {
		rcv.Answer(503)
		rcv.Body("receiver says 503")
		if w := f.do(t, req{method: "POST", path: "/users/" + ana.ID.String() + "/activate", bearer: admin}); w.Code != 200 {
			t.Fatalf("activate: %d %s", w.Code, w.Body)
		}
		deliver(t, 0) // the attempt failed
		p := deliveries(t, "?limit=1")
		d := p.Deliveries[0]
		if d.EventType != usermgmt.EventActivated || d.Status != "pending" || d.Attempts != 1 || d.LastStatusCode == nil ||
			*d.LastStatusCode != 503 || d.LastError == "" || d.ResponseExcerpt != "receiver says 503" || d.NextAttemptAt == nil ||
			d.DeliveredAt != nil {
			t.Fatalf("a failed attempt: %+v", d)
		}
		e := decodeBody[httpapi.WebhookEndpoint](t, f.do(t, req{method: "GET", path: path, bearer: admin}))
		if e.Failures != 1 || e.DisabledAt != nil {
			t.Fatalf("endpoint after a failure: %+v", e)
		}
	})
}

// followsWebhookDoc validates a webhook body against the request body
// that openapi.json's webhooks section gives its event type.
func followsWebhookDoc(doc *openapi3.T, typ string, body []byte) error {
	item, ok := doc.Webhooks[typ]
	if !ok || item.Post == nil || item.Post.RequestBody == nil {
		return fmt.Errorf("no webhook %q in the document", typ)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return item.Post.RequestBody.Value.Content.Get("application/json").Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}
