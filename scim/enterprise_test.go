package scim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
)

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// ext is the enterprise extension object of a User answer (nil when there
// is none). str cannot read it: the URN has dots.
func (r reply) ext() map[string]any {
	m, _ := r.body[enterpriseURN].(map[string]any)
	return m
}

// manager is the extension's manager object of a User answer.
func (r reply) manager() map[string]any {
	m, _ := r.ext()["manager"].(map[string]any)
	return m
}

// hasSchema reports whether the answer lists schema in schemas.
func (r reply) hasSchema(schema string) bool {
	for _, s := range r.body["schemas"].([]any) {
		if s == schema {
			return true
		}
	}
	return false
}

// entraUser is a POST /Users body as Entra ID sends it, with the
// enterprise extension and its manager.
func entraUser(email, display, extension string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + enterpriseURN + `"],
		"userName":"` + email + `","active":"True","displayName":"` + display + `",
		"emails":[{"primary":true,"type":"work","value":"` + email + `"}],
		"` + enterpriseURN + `":` + extension + `}`
}

// TestEnterpriseExtension: employeeNumber, department and manager are kept
// from a POST, returned on GET and in lists (the manager's displayName
// filled from the tenant's user), changed by Entra ID's PATCH forms and
// cleared by a PUT without the extension.
func TestEnterpriseExtension(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newEnv(t, newStore(t), nil)
		boss := e.do(t, "POST", "/Users", entraUser("maria@acme.test", "Maria Silva", `{"department":"Board"}`)).
			want(t, http.StatusCreated).str("id")
		r := e.do(t, "POST", "/Users", entraUser("gus@acme.test", "Gus",
			`{"employeeNumber":"E-7","department":"HR","costCenter":"4130","manager":{"value":"`+boss+`"}}`)).want(t, http.StatusCreated)
		id := r.str("id")
		check := func(what string, r reply, number, dept, mgr, mgrName string) {
			t.Helper()
			x := r.ext()
			name, _ := r.manager()["displayName"].(string)
			if !r.hasSchema(enterpriseURN) || x["employeeNumber"] != number || x["department"] != dept ||
				r.manager()["value"] != mgr || name != mgrName {
				t.Fatalf("%s: %s", what, r.raw)
			}
			if _, ok := x["costCenter"]; ok {
				t.Fatalf("%s: costCenter is not kept: %s", what, r.raw)
			}
		}
		check("POST", r, "E-7", "HR", boss, "Maria Silva")
		if r.manager()["$ref"] != "https://hr.example.com/scim/v2/Users/"+boss {
			t.Fatalf("manager.$ref: %s", r.raw)
		}
		check("GET", e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK), "E-7", "HR", boss, "Maria Silva")
		list := e.do(t, "GET", "/Users"+filterQuery(`userName eq "gus@acme.test"`), "").want(t, http.StatusOK)
		if res := list.list("Resources"); len(res) != 1 || res[0][enterpriseURN].(map[string]any)["manager"].(map[string]any)["displayName"] != "Maria Silva" {
			t.Fatalf("list: %s", list.raw)
		}

		// Entra ID's PATCH: a path per attribute, the manager as a bare id
		// (one that is no user here: kept, with no displayName).
		stranger := uuid.NewString()
		r = e.do(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"`+enterpriseURN+`:department","value":"Sales"},
			{"op":"Add","path":"`+enterpriseURN+`:manager","value":"`+stranger+`"}]}`).want(t, http.StatusOK)
		check("PATCH paths", r, "E-7", "Sales", stranger, "")
		if _, ok := r.manager()["$ref"]; ok {
			t.Fatalf("a manager who is no user here has a $ref: %s", r.raw)
		}
		// Without a path: a map carrying the extension's key.
		r = e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","value":{
			"`+enterpriseURN+`:employeeNumber":"E-8","`+enterpriseURN+`":{"manager":{"value":"`+boss+`"}}}}]}`).want(t, http.StatusOK)
		check("PATCH without path", r, "E-8", "Sales", boss, "Maria Silva")
		if ev := e.activity(t, tenantA, id)[0]; ev.Type != usermgmt.EventProfileUpdated || !strings.Contains(ev.Detail, "employee number") ||
			!strings.Contains(ev.Detail, "manager") || strings.Contains(ev.Detail, "department") {
			t.Fatalf("the update's event: %+v", ev)
		}

		// attributes picks one of the extension's attributes.
		r = e.do(t, "GET", "/Users/"+id+"?attributes="+url.QueryEscape(enterpriseURN+":department"), "").want(t, http.StatusOK)
		if x := r.ext(); len(x) != 1 || x["department"] != "Sales" || r.body["userName"] != nil {
			t.Fatalf("attributes=department: %s", r.raw)
		}

		// Remove one attribute; a PUT without the extension clears it.
		r = e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"remove","path":"`+enterpriseURN+`:manager"}]}`).want(t, http.StatusOK)
		if r.manager() != nil || r.ext()["department"] != "Sales" {
			t.Fatalf("remove manager: %s", r.raw)
		}
		r = e.do(t, "PUT", "/Users/"+id, userBody("gus@acme.test", "Gus", "Ek")).want(t, http.StatusOK)
		if r.ext() != nil || r.hasSchema(enterpriseURN) {
			t.Fatalf("PUT without the extension: %s", r.raw)
		}
		if got := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK); got.ext() != nil {
			t.Fatalf("GET after PUT: %s", got.raw)
		}
	})
}

// TestEnterpriseManagerOfAnotherTenant: a manager id that is another
// tenant's user is kept as sent, but nothing of that user is shown.
func TestEnterpriseManagerOfAnotherTenant(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	other := e.doAs(t, e.secretB, "POST", "/Users", entraUser("otto@globex.test", "Otto Globex", `{}`)).
		want(t, http.StatusCreated).str("id")
	r := e.do(t, "POST", "/Users", entraUser("gus@acme.test", "Gus", `{"manager":"`+other+`"}`)).want(t, http.StatusCreated)
	if m := r.manager(); m["value"] != other || m["displayName"] != nil || m["$ref"] != nil || strings.Contains(r.raw, "Otto") {
		t.Fatalf("another tenant's manager: %s", r.raw)
	}
}

// TestEnterpriseRefusals: the extension's values are checked like the
// other profile fields, and filters on them are refused.
func TestEnterpriseRefusals(t *testing.T) {
	e := newEnv(t, memoryStore(), nil)
	id := e.create(t, "ana@acme.test", "Ana", "Sousa")
	long := strings.Repeat("d", 257)
	e.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"`+enterpriseURN+`:department","value":"`+long+`"}]}`).
		wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, "POST", "/Users", entraUser("bob@acme.test", "Bob", `{"employeeNumber":7}`)).wantError(t, http.StatusBadRequest, "invalidValue")
	e.do(t, "GET", "/Users"+filterQuery(enterpriseURN+`:department eq "HR"`), "").wantError(t, http.StatusBadRequest, "invalidFilter")
	if r := e.do(t, "GET", "/Users/"+id, "").want(t, http.StatusOK); r.ext() != nil {
		t.Fatalf("a refused change was kept: %s", r.raw)
	}
}
