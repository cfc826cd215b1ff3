package scim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/scim"
)

// TestServiceProviderConfigTellsTheTruth: patch, filter with maxResults,
// sort and etag yes; bulk and changePassword no; bearer tokens.
func TestServiceProviderConfigTellsTheTruth(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	r := e.do(t, "GET", "/ServiceProviderConfig", "").want(t, http.StatusOK)
	for attr, want := range map[string]bool{"patch": true, "bulk": false, "filter": true, "changePassword": false, "sort": true, "etag": true} {
		if got, _ := r.body[attr].(map[string]any)["supported"].(bool); got != want {
			t.Errorf("%s.supported = %v, want %v", attr, got, want)
		}
	}
	if got := r.body["filter"].(map[string]any)["maxResults"]; got != float64(usermgmt.MaxFindLimit) {
		t.Errorf("filter.maxResults = %v, want %d", got, usermgmt.MaxFindLimit)
	}
	if s := r.list("authenticationSchemes"); len(s) != 1 || s[0]["type"] != "oauthbearertoken" {
		t.Errorf("authenticationSchemes %v", s)
	}
	if got := r.str("meta.location"); got != "https://hr.example.com/scim/v2/ServiceProviderConfig" {
		t.Errorf("meta.location %q", got)
	}
}

// TestDiscoveryEndpoints: resource types and schemas, listed and one by
// one; the schemas say which attributes are ignored.
func TestDiscoveryEndpoints(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	r := e.do(t, "GET", "/ResourceTypes", "").want(t, http.StatusOK)
	if r.body["totalResults"] != float64(2) || len(r.list("Resources")) != 2 {
		t.Fatalf("resource types: %s", r.raw)
	}
	u := e.do(t, "GET", "/ResourceTypes/User", "").want(t, http.StatusOK)
	if u.str("endpoint") != "/Users" || u.str("schema") != "urn:ietf:params:scim:schemas:core:2.0:User" {
		t.Fatalf("User resource type: %s", u.raw)
	}
	if ext := u.list("schemaExtensions"); len(ext) != 1 || ext[0]["schema"] != enterpriseURN || ext[0]["required"] != false {
		t.Fatalf("User resource type's extension: %s", u.raw)
	}
	e.do(t, "GET", "/ResourceTypes/Robot", "").wantError(t, http.StatusNotFound, "")
	s := e.do(t, "GET", "/Schemas", "").want(t, http.StatusOK)
	if len(s.list("Resources")) != 3 {
		t.Fatalf("schemas: %s", s.raw)
	}
	es := e.do(t, "GET", "/Schemas/"+enterpriseURN, "").want(t, http.StatusOK)
	if got := es.list("attributes"); len(got) != 3 || got[0]["name"] != "employeeNumber" || got[1]["name"] != "department" || got[2]["name"] != "manager" {
		t.Fatalf("enterprise schema: %s", es.raw)
	}
	us := e.do(t, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "").want(t, http.StatusOK)
	names := map[string]bool{}
	for _, a := range us.list("attributes") {
		names[a["name"].(string)] = true
	}
	for _, n := range []string{"userName", "name", "displayName", "externalId", "emails", "active", "groups"} {
		if !names[n] {
			t.Errorf("User schema lacks %s", n)
		}
	}
	if !strings.Contains(us.str("description"), "accepted and ignored") {
		t.Errorf("User schema does not say what it ignores: %q", us.str("description"))
	}
	e.do(t, "GET", "/Schemas/urn:example:nothing", "").wantError(t, http.StatusNotFound, "")
}

// TestRoutingErrorsAreSCIM: an unknown path is 404 and a method a path
// does not take is 405 with Allow, both as SCIM errors.
func TestRoutingErrorsAreSCIM(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	e.do(t, "GET", "/Robots", "").wantError(t, http.StatusNotFound, "")
	r := e.do(t, "DELETE", "/Users", "")
	r.wantError(t, http.StatusMethodNotAllowed, "")
	if r.hdr.Get("Allow") != "GET, POST" {
		t.Fatalf("Allow %q", r.hdr.Get("Allow"))
	}
}

// TestAuthentication: no token, a wrong one and a revoked one are 401
// with WWW-Authenticate; nothing is served without a token, not even
// discovery.
func TestAuthentication(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		for _, c := range []struct{ name, secret string }{{"NoToken", ""}, {"WrongToken", "not-a-token"},
			{"AnotherTenantsTokenMangled", e.secretB + "x"}} {
			t.Run(c.name, func(t *testing.T) {
				for _, path := range []string{"/Users", "/Groups", "/ServiceProviderConfig"} {
					r := e.doAs(t, c.secret, "GET", path, "")
					r.wantError(t, http.StatusUnauthorized, "")
					if !strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "Bearer") {
						t.Fatalf("WWW-Authenticate %q", r.hdr.Get("WWW-Authenticate"))
					}
				}
			})
		}
		t.Run("BasicIsNotBearer", func(t *testing.T) {
			e.do(t, "GET", "/Users", "", "Authorization", "Basic "+e.secret).wantError(t, http.StatusUnauthorized, "")
		})
		t.Run("RevokedToken", func(t *testing.T) {
			e.do(t, "GET", "/Users", "").want(t, http.StatusOK)
			if err := e.m.RevokeProvisioningToken(usermgmt.AsSystem(context.Background()), tenantA, e.tokA.ID); err != nil {
				t.Fatal(err)
			}
			e.do(t, "GET", "/Users", "").wantError(t, http.StatusUnauthorized, "")
		})
	})
}

// TestBodyTooLarge: a body past MaxBodyBytes is 413, and nothing is made.
func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t, memoryStore(), func(o *scim.Options) { o.MaxBodyBytes = 512 })
	big := `{"userName":"big@acme.test","displayName":"` + strings.Repeat("x", 600) + `"}`
	e.do(t, "POST", "/Users", big).wantError(t, http.StatusRequestEntityTooLarge, "")
	if r := e.do(t, "GET", "/Users"+filterQuery(`userName eq "big@acme.test"`), "").want(t, http.StatusOK); r.body["totalResults"] != float64(0) {
		t.Fatalf("the refused user was made: %s", r.raw)
	}
	e.do(t, "POST", "/Users", userBody("small@acme.test", "S", "M")).want(t, http.StatusCreated)
}

// TestRateLimitPerToken: past the burst a token gets 429 with
// Retry-After; another token is not slowed; the bucket refills with time.
func TestRateLimitPerToken(t *testing.T) {
	e := newEnv(t, memoryStore(), func(o *scim.Options) { o.RateLimit = scim.RateLimit{PerSecond: 0.5, Burst: 2} })
	e.do(t, "GET", "/Users", "").want(t, http.StatusOK)
	e.do(t, "GET", "/Users", "").want(t, http.StatusOK)
	r := e.do(t, "GET", "/Users", "")
	r.wantError(t, http.StatusTooManyRequests, "")
	if r.hdr.Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q, want 2", r.hdr.Get("Retry-After"))
	}
	e.doAs(t, e.secretB, "GET", "/Users", "").want(t, http.StatusOK)
	e.clock.Advance(2 * time.Second)
	e.do(t, "GET", "/Users", "").want(t, http.StatusOK)
}

// TestMisconfiguredHandlerAnswers500: options New cannot use make every
// request a logged 500, never a panic or an open door.
func TestMisconfiguredHandlerAnswers500(t *testing.T) {
	e := newEnv(t, memoryStore(), func(o *scim.Options) { o.DefaultRoles = []usermgmt.Role{"wizard"} })
	e.do(t, "GET", "/Users", "").wantError(t, http.StatusInternalServerError, "")
	if !strings.Contains(e.logs.String(), "wizard") {
		t.Fatalf("the cause is not logged: %s", e.logs.String())
	}
}

// TestLocationFollowsTheMount: meta.location and Location are absolute,
// from the request's host, the prefix the host mounted SCIM under and
// the scheme (https behind a proxy that says so).
func TestLocationFollowsTheMount(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	for _, c := range []struct {
		mount, url, proto, want string
	}{
		{"/scim/v2", "http://hr.example.com/scim/v2/Users", "https", "https://hr.example.com/scim/v2/Users/"},
		{"/scim/v2", "http://localhost:8080/scim/v2/Users", "", "http://localhost:8080/scim/v2/Users/"},
		{"/tenants/scim", "https://hr.example.com/tenants/scim/Users", "", "https://hr.example.com/tenants/scim/Users/"},
	} {
		mux := http.NewServeMux()
		mux.Handle(c.mount+"/", http.StripPrefix(c.mount, scim.New(e.m, scim.Options{})))
		req := httptest.NewRequest("POST", c.url, strings.NewReader(userBody("loc"+strconv.Itoa(len(c.mount))+c.proto+"@acme.test", "L", "O")))
		req.Header.Set("Authorization", "Bearer "+e.secret)
		req.Header.Set("X-Forwarded-Proto", c.proto)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusCreated || !strings.HasPrefix(w.Header().Get("Location"), c.want) {
			t.Errorf("%s: %d Location %q, want %s…", c.url, w.Code, w.Header().Get("Location"), c.want)
		}
	}
}
