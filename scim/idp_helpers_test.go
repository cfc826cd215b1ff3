package scim_test

// The helpers of the scripted identity-provider sessions (okta_test.go,
// entra_test.go): a tenant connected to its IdP the way a tenant admin
// connects it, requests sent as the vendors send them, and the checks of
// what the vendors read back. Every name here starts with idp so that the
// package's other tests keep theirs.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/scim"
	"github.com/usermgmt/usermgmt/store/memory"
)

// The SCIM schema URNs the vendors send and read (RFC 7643, RFC 7644).
const (
	idpUserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	idpEnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	idpGroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	idpListSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	idpPatchSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	idpErrorSchema      = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// idpTenant is the tenant whose identity provider the sessions play.
const idpTenant = "acme"

// idpPassword is what provisioned people choose when they accept their
// invitation.
const idpPassword = "correct horse battery staple"

// idpSession runs session on the memory store and on PostgreSQL, each
// time with a tenant connected to its IdP by a token called tokenName.
func idpSession(t *testing.T, tokenName string, session func(t *testing.T, p *idp)) {
	t.Run("Memory", func(t *testing.T) { session(t, newIdP(t, memory.New(), tokenName)) })
	t.Run("PostgreSQL", func(t *testing.T) { session(t, newIdP(t, pgtest.Store(t), tokenName)) })
}

// idp is a tenant connected to its identity provider: the Manager, the
// SCIM handler mounted at /scim/v2 as a host mounts it, and a provisioning
// token made on the Provisioning page, which the IdP sends as a bearer
// token. admin is the context of the tenant's signed-in tenant_admin.
type idp struct {
	m     *usermgmt.Manager
	h     http.Handler
	mail  *mailertest.Mailer
	clock *testclock.Clock
	token string // the secret, shown once
	label string // how the activity log names the token's changes
	admin context.Context
}

// newIdP builds the tenant on store, with a signed-in tenant_admin and a
// provisioning token called tokenName.
func newIdP(t *testing.T, store usermgmt.Store, tokenName string) *idp {
	t.Helper()
	p := &idp{mail: mailertest.New(), clock: testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))}
	m, err := usermgmt.New(store, usermgmt.Options{
		Mailer: p.mail, Clock: p.clock.Now, SecretKey: bytes.Repeat([]byte{9}, 32),
		Links:  usermgmt.Links{BaseURL: "https://hr.acme.example"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	p.m = m
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", scim.New(m, scim.Options{Clock: p.clock.Now})))
	p.h = mux

	sys := usermgmt.AsSystem(context.Background())
	admin, err := m.InviteUser(sys, idpTenant, usermgmt.Invite{Email: "it.admin@acme.example", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	s := p.signIn(t, admin.Email)
	who, err := m.Authenticate(context.Background(), s.Token)
	if err != nil {
		t.Fatal(err)
	}
	p.admin = usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: who.UserID, SessionID: who.SessionID})

	tok, secret, err := m.CreateProvisioningToken(sys, idpTenant, tokenName)
	if err != nil {
		t.Fatalf("CreateProvisioningToken: %v", err)
	}
	p.token, p.label = secret, tok.ActorLabel()
	if p.label != "provisioning: "+tokenName {
		t.Fatalf("the token's actor label is %q", p.label)
	}
	return p
}

// signIn is the person invited at email accepting the mailed invitation
// and enrolling an authenticator: their first session.
func (p *idp) signIn(t *testing.T, email string) usermgmt.Session {
	t.Helper()
	ctx := context.Background()
	link := p.mail.Token(email)
	if link == "" {
		t.Fatalf("no invitation mailed to %s", email)
	}
	enr, err := p.m.AcceptInvite(ctx, link, idpPassword)
	if err != nil {
		t.Fatalf("accept the invitation of %s: %v", email, err)
	}
	p.clock.Advance(30 * time.Second) // a fresh TOTP step
	code, err := totp.GenerateCode(enr.Secret, p.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.m.CompleteMFAEnrollment(ctx, enr.Token, code)
	if err != nil {
		t.Fatalf("enrol %s: %v", email, err)
	}
	return s
}

// idpAnswer is one HTTP answer of the SCIM handler.
type idpAnswer struct {
	status int
	header http.Header
	body   []byte
}

// send makes one request as an IdP does: the bearer token, SCIM's media
// type, path relative to the SCIM base URL. The clock moves a few seconds
// first, as it does between an IdP's requests.
func (p *idp) send(t *testing.T, method, target, body string) idpAnswer {
	t.Helper()
	p.clock.Advance(5 * time.Second)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "https://hr.acme.example/scim/v2"+target, rd)
	r.Header.Set("Authorization", "Bearer "+p.token)
	r.Header.Set("Accept", "application/scim+json")
	if body != "" {
		r.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	w := httptest.NewRecorder()
	p.h.ServeHTTP(w, r)
	return idpAnswer{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// want fails unless the answer has the status and, when it has a body,
// SCIM's media type.
func (a idpAnswer) want(t *testing.T, status int) idpAnswer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if len(a.body) > 0 || status != http.StatusNoContent {
		if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			t.Fatalf("Content-Type %q, want application/scim+json", ct)
		}
	}
	return a
}

// wantPatched accepts what RFC 7644 §3.5.2 lets a PATCH answer: 200 with
// the resource or 204 without a body. Both vendors take either.
func (a idpAnswer) wantPatched(t *testing.T) {
	t.Helper()
	if a.status == http.StatusNoContent {
		a.want(t, http.StatusNoContent)
		return
	}
	a.want(t, http.StatusOK)
}

// keys fails unless the JSON object of the answer has these members,
// spelled exactly (encoding/json would match another case).
func (a idpAnswer) keys(t *testing.T, names ...string) map[string]json.RawMessage {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &obj); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, a.body)
	}
	for _, n := range names {
		if _, ok := obj[n]; !ok {
			t.Fatalf("no %q in %s", n, a.body)
		}
	}
	return obj
}

type idpMeta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created"`
	LastModified string `json:"lastModified"`
	Location     string `json:"location"`
	Version      string `json:"version"`
}

type idpValue struct {
	Value   string `json:"value"`
	Display string `json:"display"`
	Type    string `json:"type"`
	Primary bool   `json:"primary"`
}

type idpUser struct {
	Schemas     []string `json:"schemas"`
	ID          string   `json:"id"`
	ExternalID  string   `json:"externalId"`
	UserName    string   `json:"userName"`
	DisplayName string   `json:"displayName"`
	Active      bool     `json:"active"`
	Name        struct {
		GivenName  string `json:"givenName"`
		FamilyName string `json:"familyName"`
	} `json:"name"`
	Emails []idpValue `json:"emails"`
	Groups []idpValue `json:"groups"`
	Meta   idpMeta    `json:"meta"`
}

type idpGroup struct {
	Schemas     []string    `json:"schemas"`
	ID          string      `json:"id"`
	ExternalID  string      `json:"externalId"`
	DisplayName string      `json:"displayName"`
	Members     *[]idpValue `json:"members"`
	Meta        idpMeta     `json:"meta"`
}

// user reads a User resource: the members an IdP keeps (id, userName,
// active, meta.version) must be there, booleans as booleans.
func (a idpAnswer) user(t *testing.T) idpUser {
	t.Helper()
	obj := a.keys(t, "schemas", "id", "userName", "active", "meta")
	var u idpUser
	if err := json.Unmarshal(a.body, &u); err != nil {
		t.Fatalf("not a User: %v: %s", err, a.body)
	}
	if string(obj["active"]) != "true" && string(obj["active"]) != "false" {
		t.Fatalf("active is %s, not a boolean", obj["active"])
	}
	if !slices.Contains(u.Schemas, idpUserSchema) {
		t.Fatalf("schemas %q without %s", u.Schemas, idpUserSchema)
	}
	idpCheckMeta(t, u.Meta, "User", "/scim/v2/Users/"+u.ID)
	return u
}

// group reads a Group resource.
func (a idpAnswer) group(t *testing.T) idpGroup {
	t.Helper()
	a.keys(t, "schemas", "id", "displayName", "meta")
	var g idpGroup
	if err := json.Unmarshal(a.body, &g); err != nil {
		t.Fatalf("not a Group: %v: %s", err, a.body)
	}
	if !slices.Contains(g.Schemas, idpGroupSchema) {
		t.Fatalf("schemas %q without %s", g.Schemas, idpGroupSchema)
	}
	idpCheckMeta(t, g.Meta, "Group", "/scim/v2/Groups/"+g.ID)
	return g
}

// idpCheckMeta checks meta: the resource type, RFC 3339 times, the
// absolute location under the mount, and a weak ETag as version.
func idpCheckMeta(t *testing.T, m idpMeta, resourceType, path string) {
	t.Helper()
	if m.ResourceType != resourceType {
		t.Errorf("meta.resourceType %q, want %s", m.ResourceType, resourceType)
	}
	for _, ts := range []string{m.Created, m.LastModified} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("meta time %q: %v", ts, err)
		}
	}
	if u, err := url.Parse(m.Location); err != nil || !u.IsAbs() || !strings.HasSuffix(m.Location, path) {
		t.Errorf("meta.location %q, want an absolute URL ending in %s", m.Location, path)
	}
	if !strings.HasPrefix(m.Version, `W/"`) || !strings.HasSuffix(m.Version, `"`) {
		t.Errorf("meta.version %q, want a weak ETag", m.Version)
	}
}

// list reads a ListResponse of n resources in all, this page starting at
// startIndex, and returns the page's resources.
func (a idpAnswer) list(t *testing.T, total, startIndex int) []json.RawMessage {
	t.Helper()
	a.want(t, http.StatusOK)
	a.keys(t, "schemas", "totalResults", "startIndex", "itemsPerPage")
	var l struct {
		Schemas      []string          `json:"schemas"`
		TotalResults int               `json:"totalResults"`
		StartIndex   int               `json:"startIndex"`
		ItemsPerPage int               `json:"itemsPerPage"`
		Resources    []json.RawMessage `json:"Resources"`
	}
	if err := json.Unmarshal(a.body, &l); err != nil {
		t.Fatalf("not a ListResponse: %v: %s", err, a.body)
	}
	if !slices.Contains(l.Schemas, idpListSchema) || l.TotalResults != total || l.StartIndex != startIndex || l.ItemsPerPage != len(l.Resources) {
		t.Fatalf("want a ListResponse of %d from %d: %s", total, startIndex, a.body)
	}
	if len(l.Resources) > 0 {
		a.keys(t, "Resources")
	}
	return l.Resources
}

// users reads a ListResponse of users.
func (a idpAnswer) users(t *testing.T, total, startIndex int) []idpUser {
	t.Helper()
	return idpResources(t, a, total, startIndex, idpAnswer.user)
}

// groups reads a ListResponse of groups.
func (a idpAnswer) groups(t *testing.T, total, startIndex int) []idpGroup {
	t.Helper()
	return idpResources(t, a, total, startIndex, idpAnswer.group)
}

// idpResources reads the resources of a ListResponse with read.
func idpResources[T any](t *testing.T, a idpAnswer, total, startIndex int, read func(idpAnswer, *testing.T) T) []T {
	t.Helper()
	var out []T
	for _, r := range a.list(t, total, startIndex) {
		out = append(out, read(idpAnswer{status: http.StatusOK, header: a.header, body: r}, t))
	}
	return out
}

// wantError checks an RFC 7644 §3.12 error: the status, also as a string
// in the body, and SCIM's error schema.
func (a idpAnswer) wantError(t *testing.T, status int) {
	t.Helper()
	a.want(t, status)
	a.keys(t, "schemas", "status", "detail")
	var e struct {
		Schemas []string `json:"schemas"`
		Status  string   `json:"status"`
		Detail  string   `json:"detail"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil || !slices.Contains(e.Schemas, idpErrorSchema) || e.Status != strconv.Itoa(status) || e.Detail == "" {
		t.Fatalf("want an RFC 7644 error with status %q: %s", strconv.Itoa(status), a.body)
	}
}

// idpFilter writes a filter query parameter the way the vendors encode
// it (spaces as %20).
func idpFilter(filter string) string {
	return "filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
}

// idpJSON encodes a request body.
func idpJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// idpPatch is a PatchOp body of the operations.
func idpPatch(t *testing.T, ops ...map[string]any) string {
	t.Helper()
	return idpJSON(t, map[string]any{"schemas": []string{idpPatchSchema}, "Operations": ops})
}

// get reads a user through the Manager, as the Settings → Users page does.
func (p *idp) get(t *testing.T, id string) usermgmt.User {
	t.Helper()
	u, err := p.m.GetUser(usermgmt.AsSystem(context.Background()), idpTenant, uuid.MustParse(id))
	if err != nil {
		t.Fatalf("GetUser %s: %v", id, err)
	}
	return u
}

// mapGroup is the tenant admin mapping the group to roles on the admin
// page.
func (p *idp) mapGroup(t *testing.T, groupID string, roles ...usermgmt.Role) {
	t.Helper()
	g, err := p.m.SetGroupRoles(p.admin, idpTenant, uuid.MustParse(groupID), roles)
	if err != nil {
		t.Fatalf("SetGroupRoles: %v", err)
	}
	if !slices.Equal(g.Roles, roles) {
		t.Fatalf("the group grants %q, want %q", g.Roles, roles)
	}
}

// holds fails unless the user holds exactly roles, through the group
// named group when there are any: as the page reads it (GetUser) and as
// the person's session sees it after a Refresh, which s is moved to.
func (p *idp) holds(t *testing.T, id string, s *usermgmt.Session, group string, roles ...usermgmt.Role) {
	t.Helper()
	u := p.get(t, id)
	if !slices.Equal(u.Roles, roles) {
		t.Fatalf("GetUser: roles %q, want %q", u.Roles, roles)
	}
	for _, r := range roles {
		if !slices.ContainsFunc(u.GroupRoles, func(g usermgmt.GroupRole) bool { return g.Role == r && g.Group == group }) {
			t.Fatalf("GetUser: %s not granted by group %q: %+v", r, group, u.GroupRoles)
		}
	}
	ctx := context.Background()
	next, err := p.m.Refresh(ctx, s.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	*s = next
	who, err := p.m.Authenticate(ctx, s.Token)
	if err != nil {
		t.Fatalf("Authenticate after Refresh: %v", err)
	}
	if !slices.Equal(who.Roles, roles) {
		t.Fatalf("the refreshed session holds %q, want %q", who.Roles, roles)
	}
}

// loggedByToken fails unless the user's activity log has an event of
// each type, each named after the provisioning token, and returns the
// log.
func (p *idp) loggedByToken(t *testing.T, id string, types ...usermgmt.EventType) []usermgmt.Event {
	t.Helper()
	page, err := p.m.ListActivity(usermgmt.AsSystem(context.Background()), idpTenant, uuid.MustParse(id), usermgmt.ActivityQuery{Limit: 200})
	if err != nil {
		t.Fatalf("ListActivity: %v", err)
	}
	var log []string
	for _, e := range page.Events {
		log = append(log, string(e.Type)+" by "+strconv.Quote(e.ActorName+e.ActorEmail))
	}
	for _, typ := range types {
		if !slices.Contains(log, string(typ)+" by "+strconv.Quote(p.label)) {
			t.Errorf("no %s by %q in the activity log: %q", typ, p.label, log)
		}
	}
	return page.Events
}

// wantMembers fails unless the group's members are exactly ids, in any
// order, as a GET of the group shows them.
func (p *idp) wantMembers(t *testing.T, groupID string, ids ...string) {
	t.Helper()
	g := p.send(t, "GET", "/Groups/"+groupID, "").want(t, http.StatusOK).group(t)
	var got []string
	if g.Members != nil {
		for _, m := range *g.Members {
			got = append(got, m.Value)
		}
	}
	slices.Sort(got)
	ids = slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, ids) {
		t.Fatalf("members %q, want %q", got, ids)
	}
}

// deactivated fails unless the page shows the user deactivated and the
// session s of theirs neither authenticates nor refreshes.
func (p *idp) deactivated(t *testing.T, id string, s usermgmt.Session) {
	t.Helper()
	if got := p.get(t, id); got.Status != usermgmt.StatusDeactivated {
		t.Fatalf("the page shows %s, want deactivated", got.Status)
	}
	ctx := context.Background()
	if _, err := p.m.Authenticate(ctx, s.Token); usermgmt.ErrorCode(err) != usermgmt.CodeUnauthenticated {
		t.Fatalf("Authenticate of a deactivated user's session: %v", err)
	}
	if _, err := p.m.Refresh(ctx, s.RefreshToken); usermgmt.ErrorCode(err) != usermgmt.CodeUnauthenticated {
		t.Fatalf("Refresh of a deactivated user's session: %v", err)
	}
}

// deleted sends the IdP's DELETE of the user and checks what follows: 404
// to SCIM, the IdP's query before a create finds nobody, and the page
// still has the user, deactivated, with the whole activity log (events of
// the types logged by the token) and the deletion added.
func (p *idp) deleted(t *testing.T, id, userQuery string, logged ...usermgmt.EventType) {
	t.Helper()
	before := p.loggedByToken(t, id, logged...)
	p.send(t, "DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
	p.send(t, "GET", "/Users/"+id, "").wantError(t, http.StatusNotFound)
	p.send(t, "GET", userQuery, "").users(t, 0, 1)
	got := p.get(t, id)
	if got.Status != usermgmt.StatusDeactivated || got.DeprovisionedAt == nil {
		t.Fatalf("after DELETE the page shows %s, deprovisioned %v", got.Status, got.DeprovisionedAt)
	}
	after := p.loggedByToken(t, id, append(logged, usermgmt.EventDeprovisioned)...)
	ids := func(events []usermgmt.Event) (out []uuid.UUID) {
		for _, e := range events {
			out = append(out, e.ID)
		}
		return out
	}
	if len(after) <= len(before) || !slices.Equal(ids(after[len(after)-len(before):]), ids(before)) {
		t.Fatalf("the log after DELETE does not end with the %d events before it: %+v", len(before), after)
	}
}

// recreated fails unless the user the IdP created again is the one it
// deleted, back and active (they had finished setting up), with the
// token's user.reprovisioned in the log.
func (p *idp) recreated(t *testing.T, id string, again idpUser) {
	t.Helper()
	if again.ID != id || !again.Active {
		t.Fatalf("created again as %+v, want id %s back and active", again, id)
	}
	if got := p.get(t, id); got.DeprovisionedAt != nil || got.Status != usermgmt.StatusActive {
		t.Fatalf("created again, the page shows %s, deprovisioned %v", got.Status, got.DeprovisionedAt)
	}
	p.loggedByToken(t, id, usermgmt.EventReprovisioned)
}

// created reads the answer to a POST of a user: 201 with the user and its
// Location; then the IdP reads it back by id (same version) and finds it
// with its query on userName.
func (p *idp) created(t *testing.T, a idpAnswer, userQuery string) idpUser {
	t.Helper()
	u := a.want(t, http.StatusCreated).user(t)
	if loc := a.header.Get("Location"); loc != u.Meta.Location {
		t.Errorf("Location %q, meta.location %q", loc, u.Meta.Location)
	}
	if read := p.send(t, "GET", "/Users/"+u.ID, "").want(t, http.StatusOK).user(t); read.ID != u.ID || read.Meta.Version != u.Meta.Version {
		t.Fatalf("read back %+v, created %+v", read, u)
	}
	if found := p.send(t, "GET", userQuery, "").users(t, 1, 1); found[0].ID != u.ID {
		t.Fatalf("the query finds %+v", found)
	}
	return u
}
