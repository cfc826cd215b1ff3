package scim_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
)

// memberIDs reads the ids of a group answer's members.
func memberIDs(r reply) []string {
	var ids []string
	for _, m := range r.list("members") {
		ids = append(ids, m["value"].(string))
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestGroupLifecycle: create with members, read in full, PATCH members
// in and out, rename, PUT the whole list, filter, delete, on both stores.
func TestGroupLifecycle(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		ana, bo, cy := e.create(t, "ana@acme.test", "Ana", "S"), e.create(t, "bo@acme.test", "Bo", "L"), e.create(t, "cy@acme.test", "Cy", "N")

		r := e.do(t, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"HR Team",
			"externalId":"okta-g1","members":[{"value":"`+ana+`","display":"ana"}]}`).want(t, http.StatusCreated)
		gid := r.str("id")
		loc := "https://hr.example.com/scim/v2/Groups/" + gid
		if r.hdr.Get("Location") != loc || r.str("meta.location") != loc || r.str("displayName") != "HR Team" ||
			r.str("externalId") != "okta-g1" || r.str("meta.resourceType") != "Group" || r.hdr.Get("ETag") != r.str("meta.version") {
			t.Fatalf("created group: %s", r.raw)
		}
		if m := r.list("members"); len(m) != 1 || m[0]["value"] != ana || m[0]["display"] != "Ana S" ||
			m[0]["$ref"] != "https://hr.example.com/scim/v2/Users/"+ana {
			t.Fatalf("members: %v", m)
		}
		e.do(t, "POST", "/Groups", `{"displayName":"HR Team"}`).wantError(t, http.StatusConflict, "uniqueness")
		e.do(t, "POST", "/Groups", `{"displayName":""}`).wantError(t, http.StatusBadRequest, "invalidValue")

		patch := e.do(t, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Add","path":"members","value":[{"value":"`+bo+`"},{"value":"`+cy+`"}]},
			{"op":"Remove","path":"members[value eq \"`+ana+`\"]"}]}`)
		patch.want(t, http.StatusNoContent)
		if patch.hdr.Get("ETag") == r.hdr.Get("ETag") || patch.hdr.Get("ETag") == "" {
			t.Fatalf("PATCH ETag %q after %q", patch.hdr.Get("ETag"), r.hdr.Get("ETag"))
		}
		g := e.do(t, "GET", "/Groups/"+gid, "").want(t, http.StatusOK)
		if got := memberIDs(g); !slices.Equal(got, sorted(bo, cy)) {
			t.Fatalf("members after PATCH: %v", got)
		}
		if u := e.do(t, "GET", "/Users/"+bo, "").want(t, http.StatusOK); len(u.list("groups")) != 1 || u.list("groups")[0]["display"] != "HR Team" {
			t.Fatalf("the user's groups: %s", u.raw)
		}
		e.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"remove","path":"members","value":[{"value":"`+cy+`"}]},
			{"op":"replace","value":{"id":"`+gid+`","displayName":"People Team"}}]}`).want(t, http.StatusNoContent)
		g = e.do(t, "GET", "/Groups/"+gid+"?excludedAttributes=members", "").want(t, http.StatusOK)
		if g.str("displayName") != "People Team" || g.body["members"] != nil {
			t.Fatalf("after rename, members excluded: %s", g.raw)
		}
		withAttrs := e.do(t, "PATCH", "/Groups/"+gid+"?attributes=displayName", `{"Operations":[{"op":"replace","path":"externalId","value":"x2"}]}`)
		if withAttrs.want(t, http.StatusOK); withAttrs.str("displayName") != "People Team" || withAttrs.body["members"] != nil {
			t.Fatalf("PATCH with attributes answers the group: %s", withAttrs.raw)
		}

		put := e.do(t, "PUT", "/Groups/"+gid, `{"displayName":"People Team","members":[{"value":"`+ana+`"},{"value":"`+cy+`"}]}`).want(t, http.StatusOK)
		if got := memberIDs(put); !slices.Equal(got, sorted(ana, cy)) || put.str("externalId") != "" {
			t.Fatalf("PUT: %s", put.raw)
		}

		for _, c := range []struct {
			filter string
			n      int
		}{
			{`displayName eq "People Team"`, 1},
			{`externalId eq "nope"`, 0},
			{`members[value eq "` + cy + `"]`, 1},
			{`members[value eq "` + bo + `"]`, 0},
			{`displayName eq "People Team" and members[value eq "` + ana + `"]`, 1},
			{`id eq "` + gid + `"`, 1},
		} {
			l := e.do(t, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(c.filter), "").want(t, http.StatusOK)
			if l.body["totalResults"] != float64(c.n) || len(l.list("Resources")) != c.n {
				t.Errorf("%s: %s", c.filter, l.raw)
			}
			if c.n == 1 && l.list("Resources")[0]["members"] != nil {
				t.Errorf("%s: members listed despite excludedAttributes", c.filter)
			}
		}
		e.do(t, "GET", "/Groups?filter="+url.QueryEscape(`displayName co "People"`), "").wantError(t, http.StatusBadRequest, "invalidFilter")
		if l := e.do(t, "GET", "/Groups", "").want(t, http.StatusOK); len(l.list("Resources")) != 1 || len(objects(l.list("Resources")[0]["members"])) != 2 {
			t.Fatalf("list with members: %s", l.raw)
		}

		e.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"add","path":"members","value":[{"value":"not-a-user"}]}]}`).
			wantError(t, http.StatusBadRequest, "invalidValue")
		e.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+uuid.NewString()+`"}]}]}`).
			wantError(t, http.StatusBadRequest, "invalidValue")

		e.do(t, "DELETE", "/Groups/"+gid, "").want(t, http.StatusNoContent)
		e.do(t, "GET", "/Groups/"+gid, "").wantError(t, http.StatusNotFound, "")
		e.do(t, "GET", "/Groups/nope", "").wantError(t, http.StatusNotFound, "")

		types := map[usermgmt.EventType]bool{}
		for _, ev := range e.activity(t, tenantA, bo) {
			types[ev.Type] = true
			if ev.Type == usermgmt.EventGroupJoined && ev.ActorName != "provisioning: Okta" {
				t.Errorf("group.joined by %q", ev.ActorName)
			}
		}
		if !types[usermgmt.EventGroupJoined] || !types[usermgmt.EventGroupLeft] {
			t.Errorf("bo's group events: %v", types)
		}
	})
}

// TestGroupIfMatch: a stale If-Match on a group is 412 and changes
// nothing.
func TestGroupIfMatch(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		r := e.do(t, "POST", "/Groups", `{"displayName":"Ops"}`).want(t, http.StatusCreated)
		gid, old := r.str("id"), r.hdr.Get("ETag")
		e.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"replace","path":"displayName","value":"Ops 2"}]}`, "If-Match", old).
			want(t, http.StatusNoContent)
		e.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"replace","path":"displayName","value":"Ops 3"}]}`, "If-Match", old).
			wantError(t, http.StatusPreconditionFailed, "")
		e.do(t, "PUT", "/Groups/"+gid, `{"displayName":"Ops 4"}`, "If-Match", old).wantError(t, http.StatusPreconditionFailed, "")
		e.do(t, "DELETE", "/Groups/"+gid, "", "If-Match", old).wantError(t, http.StatusPreconditionFailed, "")
		if g := e.do(t, "GET", "/Groups/"+gid, "").want(t, http.StatusOK); g.str("displayName") != "Ops 2" {
			t.Fatalf("%s", g.raw)
		}
	})
}

// TestGroupRolesReachMembers: a group mapped to a role gives it to the
// members SCIM adds, and takes it from the ones it removes.
func TestGroupRolesReachMembers(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	sys := usermgmt.AsSystem(context.Background())
	id := e.create(t, "ivy@acme.test", "Ivy", "Ma")
	gid := e.do(t, "POST", "/Groups", `{"displayName":"Supervisors"}`).want(t, http.StatusCreated).str("id")
	if _, err := e.m.SetGroupRoles(sys, tenantA, uuid.MustParse(gid), []usermgmt.Role{usermgmt.RoleSupervisor}); err != nil {
		t.Fatal(err)
	}
	e.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`).want(t, http.StatusNoContent)
	if u, err := e.m.GetUser(sys, tenantA, uuid.MustParse(id)); err != nil || !u.HasRole(usermgmt.RoleSupervisor) {
		t.Fatalf("roles after joining: %v %v", u.Roles, err)
	}
	e.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`).want(t, http.StatusNoContent)
	if u, err := e.m.GetUser(sys, tenantA, uuid.MustParse(id)); err != nil || u.HasRole(usermgmt.RoleSupervisor) {
		t.Fatalf("roles after leaving: %v %v", u.Roles, err)
	}
}
