package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/scim"
)

// TestUserLifecycle: create, read, update, deactivate, delete and create
// again, as an identity provider does, on both stores.
func TestUserLifecycle(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		ctx := context.Background()

		r := e.do(t, "POST", "/Users", userBody(" Ana.Sousa@ACME.test ", "Ana", "Sousa")).want(t, http.StatusCreated)
		id := r.str("id")
		loc := "https://hr.example.com/scim/v2/Users/" + id
		if r.hdr.Get("Location") != loc || r.str("meta.location") != loc {
			t.Fatalf("Location %q, meta.location %q, want %q", r.hdr.Get("Location"), r.str("meta.location"), loc)
		}
		if r.str("userName") != "ana.sousa@acme.test" || r.str("name.givenName") != "Ana" || r.str("name.familyName") != "Sousa" ||
			r.str("name.formatted") != "Ana Sousa" || r.str("displayName") != "Ana Sousa" || r.str("externalId") != "ext-Ana" ||
			r.body["active"] != true || r.str("meta.resourceType") != "User" {
			t.Fatalf("created user: %s", r.raw)
		}
		if em := r.list("emails"); len(em) != 1 || em[0]["value"] != "ana.sousa@acme.test" || em[0]["type"] != "work" || em[0]["primary"] != true {
			t.Fatalf("emails: %v", em)
		}
		if _, ok := r.body["password"]; ok {
			t.Fatal("a password came back")
		}
		if etag := r.hdr.Get("ETag"); etag == "" || etag != r.str("meta.version") || !strings.HasPrefix(etag, `W/"`) {
			t.Fatalf("ETag %q, meta.version %q", etag, r.str("meta.version"))
		}
		if _, err := e.m.DeliverPending(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.mail.LastTo("ana.sousa@acme.test"); !ok {
			t.Fatal("no invitation mail")
		}

		g := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK)
		if g.str("userName") != "ana.sousa@acme.test" || g.str("meta.created") == "" || g.str("meta.lastModified") == "" {
			t.Fatalf("GET: %s", g.raw)
		}

		e.do(t, "POST", "/Users", userBody("ANA.SOUSA@acme.test", "Other", "One")).wantError(t, http.StatusConflict, "uniqueness")

		put := e.do(t, "PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ana.sousa@acme.test",
			"name":{"givenName":"Ana","familyName":"Silva"},"active":true}`).want(t, http.StatusOK)
		if put.str("name.familyName") != "Silva" || put.str("displayName") != "" || put.str("externalId") != "" {
			t.Fatalf("PUT replaces the whole state: %s", put.raw)
		}
		e.do(t, "PUT", "/Users/"+id, `{"userName":"someone.else@acme.test"}`).wantError(t, http.StatusBadRequest, "mutability")

		p := e.do(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Replace","path":"active","value":"False"}]}`).want(t, http.StatusOK)
		if p.body["active"] != false {
			t.Fatalf("PATCH active False: %s", p.raw)
		}
		u, err := e.m.GetUser(usermgmt.AsSystem(ctx), tenantA, uuid.MustParse(id))
		if err != nil || u.Status != usermgmt.StatusDeactivated {
			t.Fatalf("after active False: %v %v", u.Status, err)
		}
		e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","value":{"active":true}}]}`).want(t, http.StatusOK)

		e.do(t, "DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
		e.do(t, "GET", "/Users/"+id, "").wantError(t, http.StatusNotFound, "")
		e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"displayName","value":"x"}]}`).wantError(t, http.StatusNotFound, "")
		e.do(t, "DELETE", "/Users/"+id, "").wantError(t, http.StatusNotFound, "")
		if l := e.do(t, "GET", "/Users"+filterQuery(`userName eq "ana.sousa@acme.test"`), "").want(t, http.StatusOK); l.body["totalResults"] != float64(0) {
			t.Fatalf("a deprovisioned user is listed: %s", l.raw)
		}
		if u, err := e.m.GetUser(usermgmt.AsSystem(ctx), tenantA, uuid.MustParse(id)); err != nil || u.Status != usermgmt.StatusDeactivated {
			t.Fatalf("DELETE keeps the user, deactivated: %+v %v", u, err)
		}

		back := e.do(t, "POST", "/Users", userBody("ana.sousa@acme.test", "Ana", "Sousa")).want(t, http.StatusCreated)
		if back.str("id") != id || back.body["active"] != true {
			t.Fatalf("re-POST after DELETE brings the same user back: %s", back.raw)
		}
		types := map[usermgmt.EventType]bool{}
		for _, ev := range e.activity(t, tenantA, id) {
			types[ev.Type] = true
		}
		for _, want := range []usermgmt.EventType{usermgmt.EventProfileUpdated, usermgmt.EventDeprovisioned, usermgmt.EventReprovisioned} {
			if !types[want] {
				t.Errorf("no %s event: %v", want, types)
			}
		}
	})
}

// TestActivityNamesTheToken: every change made over SCIM is in the
// user's activity with the token as its actor.
func TestActivityNamesTheToken(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		id := e.create(t, "bo@acme.test", "Bo", "Li")
		e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"displayName","value":"Bo L."}]}`).want(t, http.StatusOK)
		e.do(t, "DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
		events := e.activity(t, tenantA, id)
		if len(events) < 3 {
			t.Fatalf("events %+v", events)
		}
		for _, ev := range events {
			if ev.ActorName != "provisioning: Okta" {
				t.Errorf("%s: actor %q, want \"provisioning: Okta\"", ev.Type, ev.ActorName)
			}
		}
	})
}

// TestNoInviteMailAndDefaultRoles: the options reach ProvisionUser.
func TestNoInviteMailAndDefaultRoles(t *testing.T) {
	e := newEnv(t, memoryStore(), func(o *scim.Options) {
		o.NoInviteMail = true
		o.DefaultRoles = []usermgmt.Role{usermgmt.RoleAgent}
	})
	id := e.create(t, "cy@acme.test", "Cy", "Ng")
	if _, err := e.m.DeliverPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.mail.LastTo("cy@acme.test"); ok {
		t.Fatal("an invitation was mailed under NoInviteMail")
	}
	u, err := e.m.GetUser(usermgmt.AsSystem(context.Background()), tenantA, uuid.MustParse(id))
	if err != nil || len(u.DirectRoles) != 1 || u.DirectRoles[0] != usermgmt.RoleAgent {
		t.Fatalf("direct roles %v %v", u.DirectRoles, err)
	}
}

// TestTenantIsolation: tenant B's token never sees nor changes tenant A's
// users or groups, whatever the request names.
func TestTenantIsolation(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		id := e.create(t, "dee@acme.test", "Dee", "Ro")
		gid := e.do(t, "POST", "/Groups", `{"displayName":"HR Team","members":[{"value":"`+id+`"}]}`).want(t, http.StatusCreated).str("id")
		as := func(method, path, body string) reply {
			return e.doAs(t, e.secretB, method, path, body, "X-Tenant", tenantA)
		}

		as("GET", "/Users/"+id, "").wantError(t, http.StatusNotFound, "")
		as("PUT", "/Users/"+id, `{"userName":"dee@acme.test","displayName":"hacked"}`).wantError(t, http.StatusNotFound, "")
		as("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"active","value":false}]}`).wantError(t, http.StatusNotFound, "")
		as("DELETE", "/Users/"+id, "").wantError(t, http.StatusNotFound, "")
		for _, q := range []string{"", filterQuery(`userName eq "dee@acme.test"`), filterQuery(`id eq "` + id + `"`)} {
			if l := as("GET", "/Users"+q, "").want(t, http.StatusOK); l.body["totalResults"] != float64(0) {
				t.Fatalf("tenant B lists tenant A's users (%s): %s", q, l.raw)
			}
		}
		as("GET", "/Groups/"+gid, "").wantError(t, http.StatusNotFound, "")
		as("PATCH", "/Groups/"+gid, `{"Operations":[{"op":"remove","path":"members"}]}`).wantError(t, http.StatusNotFound, "")
		as("DELETE", "/Groups/"+gid, "").wantError(t, http.StatusNotFound, "")
		if l := as("GET", "/Groups", "").want(t, http.StatusOK); l.body["totalResults"] != float64(0) {
			t.Fatalf("tenant B lists tenant A's groups: %s", l.raw)
		}
		// B's own group cannot take A's user as a member.
		as("POST", "/Groups", `{"displayName":"Spies","members":[{"value":"`+id+`"}]}`).wantError(t, http.StatusBadRequest, "invalidValue")

		a := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK)
		if a.str("displayName") != "Dee Ro" || a.body["active"] != true || len(a.list("groups")) != 1 {
			t.Fatalf("tenant A's user changed: %s", a.raw)
		}
		if g := e.do(t, "GET", "/Groups/"+gid, "").want(t, http.StatusOK); len(g.list("members")) != 1 {
			t.Fatalf("tenant A's group changed: %s", g.raw)
		}
	})
}

// TestPatchIsAtomic: a failing operation anywhere in a PATCH changes
// nothing, not even the operations before it.
func TestPatchIsAtomic(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		id := e.create(t, "eva@acme.test", "Eva", "Ko")
		before := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK)
		e.do(t, "PATCH", "/Users/"+id, `{"Operations":[
			{"op":"replace","path":"displayName","value":"Changed"},
			{"op":"replace","path":"active","value":false},
			{"op":"replace","path":"userName","value":"other@acme.test"},
			{"op":"replace","path":"name.givenName","value":"Changed"}]}`).wantError(t, http.StatusBadRequest, "mutability")
		e.do(t, "PATCH", "/Users/"+id, `{"Operations":[
			{"op":"replace","path":"displayName","value":"Changed"},
			{"op":"remove","path":"bad[[path"}]}`).wantError(t, http.StatusBadRequest, "invalidPath")
		after := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK)
		if after.raw != before.raw {
			t.Fatalf("a failed PATCH changed the user:\n%s\n%s", before.raw, after.raw)
		}
		ok := e.do(t, "PATCH", "/Users/"+id, `{"Operations":[
			{"op":"replace","path":"displayName","value":"Eva K."},
			{"op":"add","path":"name.familyName","value":"Kovac"},
			{"op":"replace","path":"emails[type eq \"work\"].value","value":"eva@acme.test"},
			{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"HR"}]}`).want(t, http.StatusOK)
		if ok.str("displayName") != "Eva K." || ok.str("name.familyName") != "Kovac" {
			t.Fatalf("PATCH of four operations: %s", ok.raw)
		}
	})
}

// TestIfMatch: a stale version is 412 on PATCH, PUT and DELETE; the
// current one applies, and a PATCH without If-Match needs none.
func TestIfMatch(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		id := e.create(t, "fay@acme.test", "Fay", "Wu")
		old := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK).hdr.Get("ETag")
		cur := e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"displayName","value":"F"}]}`,
			"If-Match", old).want(t, http.StatusOK).hdr.Get("ETag")
		if cur == old {
			t.Fatalf("the version did not move: %s", cur)
		}
		patch := `{"Operations":[{"op":"replace","path":"displayName","value":"G"}]}`
		e.do(t, "PATCH", "/Users/"+id, patch, "If-Match", old).wantError(t, http.StatusPreconditionFailed, "")
		e.do(t, "PUT", "/Users/"+id, `{"userName":"fay@acme.test"}`, "If-Match", old).wantError(t, http.StatusPreconditionFailed, "")
		e.do(t, "DELETE", "/Users/"+id, "", "If-Match", old).wantError(t, http.StatusPreconditionFailed, "")
		e.do(t, "PATCH", "/Users/"+id, patch, "If-Match", `"nonsense"`).wantError(t, http.StatusPreconditionFailed, "")
		if g := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK); g.str("displayName") != "F" {
			t.Fatalf("a stale request changed the user: %s", g.raw)
		}
		e.do(t, "PATCH", "/Users/"+id, patch, "If-Match", cur).want(t, http.StatusOK)
		e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"displayName","value":"H"}]}`, "If-Match", "*").want(t, http.StatusOK)
	})
}

// TestUserErrors: malformed bodies and values get the scimType RFC 7644
// names, and unknown ids are 404.
func TestUserErrors(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	e.do(t, "POST", "/Users", `{"userName":`).wantError(t, http.StatusBadRequest, "invalidSyntax")
	e.do(t, "POST", "/Users", `[1]`).wantError(t, http.StatusBadRequest, "invalidSyntax")
	e.do(t, "POST", "/Users", `{"displayName":"x"}`).wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, "POST", "/Users", `{"userName":"not-an-email"}`).wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, "POST", "/Users", `{"userName":"a@b.test","active":"maybe"}`).wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, "GET", "/Users/not-a-uuid", "").wantError(t, http.StatusNotFound, "")
	e.do(t, "GET", "/Users/"+uuid.NewString(), "").wantError(t, http.StatusNotFound, "")
	e.do(t, "GET", "/Users?filter="+url.QueryEscape(`title eq "x"`), "").wantError(t, http.StatusBadRequest, "invalidFilter")
	e.do(t, "GET", "/Users?filter="+url.QueryEscape(`userName eq`), "").wantError(t, http.StatusBadRequest, "invalidFilter")
	e.do(t, "GET", "/Users?sortBy=displayName", "").wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, "GET", "/Users?count=many", "").wantError(t, http.StatusBadRequest, "invalidValue")
}

// TestEntraPostWithExtensionAndStringBoolean: Entra ID's create carries the
// enterprise extension and "active":"True"; both are taken.
func TestEntraPostWithExtensionAndStringBoolean(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	r := e.do(t, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"0a21f0f2-8d2a","userName":"Gus@acme.test",
		"active":"True","displayName":"Gus","emails":[{"primary":true,"type":"work","value":"Gus@acme.test"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"HR","employeeNumber":"7"},
		"title":"Lead","roles":[]}`).want(t, http.StatusCreated)
	if r.body["active"] != true || r.str("userName") != "gus@acme.test" || r.str("externalId") != "0a21f0f2-8d2a" {
		t.Fatalf("%s", r.raw)
	}
}

// seed creates n users named user00…, for the list tests, and returns
// their ids in email order.
func seed(t *testing.T, e *env, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = e.create(t, fmt.Sprintf("user%02d@acme.test", i), fmt.Sprintf("Given%02d", i), map[bool]string{true: "Even", false: "Odd"}[i%2 == 0])
		e.clock.Advance(time.Minute)
	}
	return ids
}

// TestListUsersFilters: each operator, and, or, not, parentheses and value
// paths, evaluated by the store.
func TestListUsersFilters(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		start := e.clock.Now()
		ids := seed(t, e, 6)
		e.do(t, "PATCH", "/Users/"+ids[5], `{"Operations":[{"op":"replace","path":"active","value":false}]}`).want(t, http.StatusOK)
		e.do(t, "PATCH", "/Users/"+ids[4], `{"Operations":[{"op":"remove","path":"displayName"}]}`).want(t, http.StatusOK)
		at := func(i int) string {
			return start.Add(time.Duration(i)*time.Minute + 30*time.Second).Format(time.RFC3339)
		}
		for _, c := range []struct {
			filter string
			want   []int
		}{
			{`userName eq "USER01@acme.test"`, []int{1}},
			{`userName ne "user01@acme.test"`, []int{0, 2, 3, 4, 5}},
			{`userName co "er0"`, []int{0, 1, 2, 3, 4, 5}},
			{`userName sw "user0"`, []int{0, 1, 2, 3, 4, 5}},
			{`userName ew "03@acme.test"`, []int{3}},
			{`displayName pr`, []int{0, 1, 2, 3, 5}},
			{`externalId eq "ext-Given02"`, []int{2}},
			{`name.familyName eq "even"`, []int{0, 2, 4}},
			{`name.givenName sw "given0" and name.familyName eq "Odd"`, []int{1, 3, 5}},
			{`active eq false`, []int{5}},
			{`active eq "True"`, []int{0, 1, 2, 3, 4}},
			{`meta.created gt "` + at(3) + `"`, []int{4, 5}},
			{`meta.created lt "` + at(1) + `"`, []int{0, 1}},
			{`meta.lastModified gt "` + at(5) + `"`, []int{4, 5}},
			{`userName eq "user00@acme.test" or userName eq "user02@acme.test"`, []int{0, 2}},
			{`(userName eq "user00@acme.test" or userName eq "user03@acme.test") and name.familyName eq "Odd"`, []int{3}},
			{`not (name.familyName eq "Odd")`, []int{0, 2, 4}},
			{`emails[type eq "work" and value co "user04"]`, []int{4}},
			{`emails.value eq "user05@acme.test"`, []int{5}},
			{`emails[type eq "work"].value eq "user05@acme.test"`, []int{5}},
			{`id eq "` + ids[2] + `"`, []int{2}},
			{`id eq "not-an-id"`, nil},
		} {
			r := e.do(t, "GET", "/Users?filter="+url.QueryEscape(c.filter), "").want(t, http.StatusOK)
			var got []string
			for _, u := range r.list("Resources") {
				got = append(got, u["id"].(string))
			}
			var want []string
			for _, i := range c.want {
				want = append(want, ids[i])
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || r.body["totalResults"] != float64(len(want)) {
				t.Errorf("%s: got %v (total %v), want %v", c.filter, got, r.body["totalResults"], want)
			}
		}
	})
}

// TestListUsersPagingSortAndAttributes: startIndex and count over the
// email order, totals, descending order, and the attributes parameters.
func TestListUsersPagingSortAndAttributes(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		ids := seed(t, e, 5)
		page := func(q string) (ids []string, r reply) {
			r = e.do(t, "GET", "/Users?"+q, "").want(t, http.StatusOK)
			for _, u := range r.list("Resources") {
				ids = append(ids, u["id"].(string))
			}
			return ids, r
		}
		got, r := page("startIndex=2&count=2")
		if fmt.Sprint(got) != fmt.Sprint(ids[1:3]) || r.body["totalResults"] != float64(5) || r.body["itemsPerPage"] != float64(2) ||
			r.body["startIndex"] != float64(2) || fmt.Sprint(r.body["schemas"]) != "[urn:ietf:params:scim:api:messages:2.0:ListResponse]" {
			t.Fatalf("page 2: %v %s", got, r.raw)
		}
		if got, _ := page("startIndex=5&count=2"); fmt.Sprint(got) != fmt.Sprint(ids[4:]) {
			t.Fatalf("last page: %v", got)
		}
		if got, r := page("count=0"); len(got) != 0 || r.body["totalResults"] != float64(5) {
			t.Fatalf("count=0: %s", r.raw)
		}
		if got, r := page("startIndex=0&count=1000"); len(got) != 5 || r.body["startIndex"] != float64(1) {
			t.Fatalf("startIndex 0 is 1, count is capped: %s", r.raw)
		}
		if got, _ := page("sortBy=userName&sortOrder=descending&count=2"); fmt.Sprint(got) != fmt.Sprint([]string{ids[4], ids[3]}) {
			t.Fatalf("descending: %v", got)
		}
		_, r = page("attributes=userName&count=1")
		u := r.list("Resources")[0]
		if len(u) != 3 || u["userName"] == nil || u["id"] == nil || u["schemas"] == nil {
			t.Fatalf("attributes=userName: %v", u)
		}
		_, r = page("excludedAttributes=emails,meta,name&count=1")
		u = r.list("Resources")[0]
		if u["emails"] != nil || u["meta"] != nil || u["name"] != nil || u["userName"] == nil {
			t.Fatalf("excludedAttributes: %v", u)
		}
		one := e.do(t, "GET", "/Users/"+ids[0]+"?attributes=name.givenName", "").want(t, http.StatusOK)
		if one.str("name.givenName") != "Given00" || one.str("name.familyName") != "" || one.str("userName") != "" {
			t.Fatalf("GET with attributes: %s", one.raw)
		}
	})
}

// racingStore changes a user in a transaction of its own just before the
// first read-write transaction that follows a read-only one after it is
// armed: a PATCH's read of the user is read-only and its write is not, so
// the change lands between them, as a second request's would.
type racingStore struct {
	usermgmt.Store
	mu      sync.Mutex
	tenant  string
	user    uuid.UUID // uuid.Nil: not armed
	sawRead bool
}

func (s *racingStore) arm(tenant string, id uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenant, s.user, s.sawRead = tenant, id, false
}

func (s *racingStore) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(ctx context.Context, tx usermgmt.Tx) error) error {
	s.mu.Lock()
	var id uuid.UUID
	switch {
	case s.user == uuid.Nil:
	case opts.ReadOnly:
		s.sawRead = true
	case s.sawRead:
		id, s.user = s.user, uuid.Nil
	}
	s.mu.Unlock()
	if id != uuid.Nil {
		err := s.Store.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			u, err := tx.GetUser(ctx, s.tenant, id)
			if err != nil {
				return err
			}
			u.DisplayName = "changed in between"
			return tx.UpdateUser(ctx, &u)
		})
		if err != nil {
			return err
		}
	}
	return s.Store.RunInTx(ctx, opts, fn)
}

// TestPatchRetriesOnceAfterAConcurrentChange: a user changed between a
// PATCH's read and its write is read again and patched, when the client
// sent no If-Match; with If-Match the answer is 412 and nothing changes.
func TestPatchRetriesOnceAfterAConcurrentChange(t *testing.T) {
	rs := &racingStore{Store: memoryStore()}
	e := newEnv(t, rs, nil)
	id := e.create(t, "hal@acme.test", "Hal", "Oz")
	rs.arm(tenantA, uuid.MustParse(id))
	r := e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"name.givenName","value":"Hally"}]}`).want(t, http.StatusOK)
	if rs.user != uuid.Nil {
		t.Fatal("the change in between never ran")
	}
	if r.str("name.givenName") != "Hally" || r.str("displayName") != "changed in between" {
		t.Fatalf("the retry lost a change: %s", r.raw)
	}
	etag := r.hdr.Get("ETag")
	rs.arm(tenantA, uuid.MustParse(id))
	e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"name.givenName","value":"Hal"}]}`, "If-Match", etag).
		wantError(t, http.StatusPreconditionFailed, "")
	if g := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK); g.str("name.givenName") != "Hally" {
		t.Fatalf("a stale PATCH changed the user: %s", g.raw)
	}
}
