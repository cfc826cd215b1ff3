package httpapi_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// provisioned makes, as trusted code, a provisioning token ("token") or
// an empty group ("group") of the tenant and returns its id.
func (f *fixture) provisioned(t testing.TB, kind, tenant string) uuid.UUID {
	t.Helper()
	ctx := usermgmt.AsSystem(context.Background())
	if kind == "token" {
		tok, _, err := f.m.CreateProvisioningToken(ctx, tenant, "Okta "+tenant)
		if err != nil {
			t.Fatalf("token of %s: %v", tenant, err)
		}
		return tok.ID
	}
	g, err := f.m.CreateGroup(ctx, tenant, usermgmt.NewGroup{DisplayName: "Team " + tenant})
	if err != nil {
		t.Fatalf("group of %s: %v", tenant, err)
	}
	return g.ID
}

// TestProvisioningTokenRoutes: a tenant_admin makes a token and sees its
// secret once, in the answer to POST; the list never carries it, nor
// another tenant's tokens; the secret works until the token is revoked;
// making and revoking need sudo mode.
func TestProvisioningTokenRoutes(t *testing.T) {
	f := newFixture(t, nil)
	_, admin, secret := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	f.provisioned(t, "token", "globex")
	ctx := context.Background()

	w := f.do(t, req{method: "POST", path: "/provisioning/tokens", body: `{"name":"  Okta  "}`, bearer: admin})
	if w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	made := decodeBody[httpapi.NewProvisioningToken](t, w)
	if made.Token.Name != "Okta" || made.Secret == "" || made.Token.LastUsedAt != nil || !made.Token.CreatedAt.Equal(f.clock.Now()) {
		t.Fatalf("created = %+v", made)
	}
	if tok, err := f.m.AuthenticateProvisioning(ctx, made.Secret); err != nil || tok.ID != made.Token.ID || tok.TenantID != "acme" {
		t.Fatalf("the secret does not authenticate the token: %+v %v", tok, err)
	}

	t.Run("TheListHasNoSecretAndNoOtherTenant", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/provisioning/tokens", bearer: admin})
		list := decodeBody[httpapi.ProvisioningTokens](t, w)
		if len(list.Tokens) != 1 || list.Tokens[0].ID != made.Token.ID || list.Tokens[0].LastUsedAt == nil {
			t.Fatalf("list = %+v (want acme's one token, used once)", list)
		}
		if strings.Contains(w.Body.String(), made.Secret) || strings.Contains(w.Body.String(), "secret") {
			t.Fatalf("the list carries the secret: %s", w.Body)
		}
		for _, path := range []string{"/provisioning/tokens", "/users", "/groups"} {
			if w := f.do(t, req{method: "GET", path: path, bearer: admin}); strings.Contains(w.Body.String(), made.Secret) {
				t.Fatalf("GET %s carries the secret", path)
			}
		}
	})
	t.Run("BadNameIs400OnTheNameField", func(t *testing.T) {
		for _, body := range []string{`{"name":""}`, `{"name":"   "}`, `{"name":"` + strings.Repeat("x", 65) + `"}`} {
			w := f.do(t, req{method: "POST", path: "/provisioning/tokens", body: body, bearer: admin})
			wantError(t, w, 400, "invalid")
			if field := decodeBody[errorBody](t, w).Error.Field; field != usermgmt.FieldName {
				t.Fatalf("%s: field %q, want name", body, field)
			}
		}
		wantError(t, f.do(t, req{method: "POST", path: "/provisioning/tokens", bearer: admin}), 400, "invalid")
		wantError(t, f.do(t, req{method: "POST", path: "/provisioning/tokens", body: `{"name":"a","secret":"x"}`, bearer: admin}), 400, "invalid")
	})
	t.Run("RevokeNeedsSudoThenEndsTheSecret", func(t *testing.T) {
		f.clock.Advance(16 * time.Minute)
		del := func() *httptest.ResponseRecorder {
			return f.do(t, req{method: "DELETE", path: "/provisioning/tokens/" + made.Token.ID.String(), bearer: admin})
		}
		wantError(t, del(), 401, "mfa_required")
		wantError(t, f.do(t, req{method: "POST", path: "/provisioning/tokens", body: `{"name":"Entra"}`, bearer: admin}), 401, "mfa_required")
		if _, err := f.m.AuthenticateProvisioning(ctx, made.Secret); err != nil {
			t.Fatalf("refused revocation ended the token: %v", err)
		}
		if w := f.do(t, req{method: "POST", path: "/auth/sudo", body: `{"code":"` + f.code(t, secret) + `"}`, bearer: admin}); w.Code != 204 {
			t.Fatalf("sudo: %d %s", w.Code, w.Body)
		}
		if w := del(); w.Code != 204 {
			t.Fatalf("revoke: %d %s", w.Code, w.Body)
		}
		if _, err := f.m.AuthenticateProvisioning(ctx, made.Secret); usermgmt.ErrorCode(err) != usermgmt.CodeUnauthenticated {
			t.Fatalf("a revoked token authenticates: %v", err)
		}
		wantError(t, del(), 404, "not_found")
		list := decodeBody[httpapi.ProvisioningTokens](t, f.do(t, req{method: "GET", path: "/provisioning/tokens", bearer: admin}))
		if len(list.Tokens) != 0 || list.Tokens == nil {
			t.Fatalf("after revoke: %+v", list)
		}
	})
}

// errorBody is an error answer.
type errorBody struct {
	Error struct{ Code, Message, Field string }
}

// TestGroupRoutes: the list shows the tenant's own groups with their roles
// and members; a tenant_admin maps a group to roles and its members hold
// them, shown with the group they come from; an hr_admin may read the
// groups and not map them; mapping to tenant_admin needs sudo mode.
func TestGroupRoutes(t *testing.T) {
	f := newFixture(t, nil)
	_, admin, secret := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, hr, _ := f.active(t, "acme", "hr@acme.test", usermgmt.RoleHRAdmin)
	ana := f.invite(t, "acme", "ana@acme.test", usermgmt.RoleAgent)
	f.provisioned(t, "group", "globex")
	sys := usermgmt.AsSystem(context.Background())
	g, err := f.m.CreateGroup(sys, "acme", usermgmt.NewGroup{DisplayName: "HR Team", ExternalID: "00g1", Members: []uuid.UUID{ana.ID}})
	if err != nil {
		t.Fatal(err)
	}
	f.provisioned(t, "group", "acme") // "Team acme", empty

	page := decodeBody[httpapi.GroupPage](t, f.do(t, req{method: "GET", path: "/groups", bearer: hr}))
	if page.Total != 2 || len(page.Groups) != 2 || page.Groups[0].DisplayName != "HR Team" || page.Groups[0].Members != 1 ||
		page.Groups[0].ExternalID != "00g1" || page.Groups[0].Roles == nil || len(page.Groups[0].Roles) != 0 {
		t.Fatalf("groups = %+v", page)
	}
	if p := decodeBody[httpapi.GroupPage](t, f.do(t, req{method: "GET", path: "/groups?offset=1&limit=1", bearer: hr})); p.Total != 2 ||
		len(p.Groups) != 1 || p.Groups[0].DisplayName != "Team acme" {
		t.Fatalf("second page = %+v", p)
	}
	for _, q := range []string{"?limit=0", "?limit=201", "?offset=-1", "?limit=x", "?page=2"} {
		wantError(t, f.do(t, req{method: "GET", path: "/groups" + q, bearer: admin}), 400, "invalid")
	}

	put := func(bearer, body string) *httptest.ResponseRecorder {
		return f.do(t, req{method: "PUT", path: "/groups/" + g.ID.String() + "/roles", body: body, bearer: bearer})
	}
	wantError(t, put(hr, `{"roles":["supervisor"]}`), 403, "permission_denied")
	wantError(t, put(admin, `{"roles":["wizard"]}`), 400, "invalid")
	wantError(t, put(admin, `{}`), 400, "invalid")
	w := put(admin, `{"roles":["agent","supervisor"]}`)
	if got := decodeBody[httpapi.Group](t, w); w.Code != 200 || !slices.Equal(got.Roles, []usermgmt.Role{"supervisor", "agent"}) {
		t.Fatalf("mapped: %d %s", w.Code, w.Body)
	}

	t.Run("MembersShowWhereARoleComesFrom", func(t *testing.T) {
		u := decodeBody[httpapi.User](t, f.do(t, req{method: "GET", path: "/users/" + ana.ID.String(), bearer: admin}))
		if !slices.Equal(u.Roles, []usermgmt.Role{"supervisor", "agent"}) || !slices.Equal(u.DirectRoles, []usermgmt.Role{"agent"}) {
			t.Fatalf("roles %v, direct %v", u.Roles, u.DirectRoles)
		}
		want := []httpapi.GroupRole{{Role: "supervisor", GroupID: g.ID, Group: "HR Team"}, {Role: "agent", GroupID: g.ID, Group: "HR Team"}}
		if !slices.Equal(u.GroupRoles, want) {
			t.Fatalf("group roles %+v, want %+v", u.GroupRoles, want)
		}
		list := decodeBody[httpapi.UserPage](t, f.do(t, req{method: "GET", path: "/users?q=ana", bearer: admin}))
		if len(list.Users) != 1 || !slices.Equal(list.Users[0].GroupRoles, want) {
			t.Fatalf("list row = %+v", list.Users)
		}
		// Revoking agent directly leaves it held through the group.
		w := f.do(t, req{method: "DELETE", path: "/users/" + ana.ID.String() + "/roles/agent", bearer: admin})
		if u := decodeBody[httpapi.User](t, w); w.Code != 200 || len(u.DirectRoles) != 0 || !slices.Contains(u.Roles, "agent") {
			t.Fatalf("revoke agent directly: %d %s", w.Code, w.Body)
		}
	})
	t.Run("TenantAdminMappingNeedsSudo", func(t *testing.T) {
		f.clock.Advance(16 * time.Minute)
		wantError(t, put(admin, `{"roles":["tenant_admin"]}`), 401, "mfa_required")
		if w := put(admin, `{"roles":[]}`); w.Code != 200 {
			t.Fatalf("unmapping needs no sudo: %d %s", w.Code, w.Body)
		}
		if w := f.do(t, req{method: "POST", path: "/auth/sudo", body: `{"code":"` + f.code(t, secret) + `"}`, bearer: admin}); w.Code != 204 {
			t.Fatalf("sudo: %d", w.Code)
		}
		if w := put(admin, `{"roles":["tenant_admin"]}`); w.Code != 200 {
			t.Fatalf("mapping in sudo mode: %d %s", w.Code, w.Body)
		}
	})
}

// TestProfileAndActorName: a user the identity provider made shows its
// name, external id and enterprise fields (on the user and in the list),
// and their activity names the provider as its
// actor.
func TestProfileAndActorName(t *testing.T) {
	f := newFixture(t, nil)
	_, admin, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	tok, _, err := f.m.CreateProvisioningToken(usermgmt.AsSystem(context.Background()), "acme", "Okta")
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.m.ProvisionUser(usermgmt.AsProvisioner(context.Background(), tok), "acme", usermgmt.Provision{
		Email: "Ana@acme.test", Active: true, Roles: []usermgmt.Role{usermgmt.RoleAgent},
		Profile: usermgmt.Profile{DisplayName: "Ana Sousa", GivenName: "Ana", FamilyName: "Sousa", ExternalID: "00u1",
			EmployeeNumber: "E-7", Department: "Customer Care", ManagerID: "m-1"}})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeBody[httpapi.User](t, f.do(t, req{method: "GET", path: "/users/" + u.ID.String(), bearer: admin}))
	if got.DisplayName != "Ana Sousa" || got.GivenName != "Ana" || got.FamilyName != "Sousa" || got.ExternalID != "00u1" ||
		!slices.Equal(got.DirectRoles, []usermgmt.Role{"agent"}) || got.GroupRoles == nil ||
		got.EmployeeNumber != "E-7" || got.Department != "Customer Care" || got.ManagerID != "m-1" {
		t.Fatalf("user = %+v", got)
	}
	list := decodeBody[httpapi.UserPage](t, f.do(t, req{method: "GET", path: "/users?q=ana", bearer: admin}))
	if len(list.Users) != 1 || list.Users[0].EmployeeNumber != "E-7" || list.Users[0].Department != "Customer Care" || list.Users[0].ManagerID != "m-1" {
		t.Fatalf("list = %+v", list.Users)
	}
	page := decodeBody[httpapi.ActivityPage](t, f.do(t, req{method: "GET", path: "/users/" + u.ID.String() + "/activity", bearer: admin}))
	last := page.Events[len(page.Events)-1]
	if last.Type != usermgmt.EventUserCreated || last.ActorID != nil || last.ActorName != "provisioning: Okta" {
		t.Fatalf("creation event = %+v", last)
	}
}
