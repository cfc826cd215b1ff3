package scim_test

// A scripted Microsoft Entra ID provisioning session, written from
// Microsoft's documentation: "Tutorial: Develop and plan provisioning for
// a SCIM endpoint in Microsoft Entra ID" and "Known issues and resolutions
// with SCIM 2.0 protocol compliance of the Microsoft Entra user
// provisioning service". The requests have the shapes those pages show:
// the validator's probes for people and groups that do not exist, the
// query on userName before each create, the enterprise extension, PATCH
// with capitalised operation names, attribute paths (name.familyName,
// emails[type eq "work"].value), a value map with dotted names and no
// path, booleans as the strings "False" and "True", groups read with
// excludedAttributes=members, and members added and removed by PATCH of
// path members with a list of values.

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

func TestEntraSession(t *testing.T) {
	idpSession(t, "Microsoft Entra ID", func(t *testing.T, p *idp) {
		// Entra sends the userPrincipalName as it is written in the
		// directory; the tenant knows the person by the normalised email.
		const upn, email = "Sam.Okafor@Acme.example", "sam.okafor@acme.example"
		const objectID = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" // Entra's externalId: the user's object id
		userQuery := "/Users?" + idpFilter(`userName eq "`+upn+`"`)
		groupQuery := func(name string) string {
			return "/Groups?excludedAttributes=members&" + idpFilter(`displayName eq "`+name+`"`)
		}

		// The validator's probes: a random userName and group name are an
		// empty list, not 404; a random id is 404.
		p.send(t, "GET", "/Users?"+idpFilter(`userName eq "`+uuid.NewString()+`"`), "").users(t, 0, 1)
		p.send(t, "GET", "/Users/"+uuid.NewString(), "").wantError(t, http.StatusNotFound)
		p.send(t, "GET", groupQuery(uuid.NewString()), "").groups(t, 0, 1)

		// Sam assigned to the app: the query on userName, then the create,
		// with the enterprise extension beside the core schema.
		p.send(t, "GET", userQuery, "").users(t, 0, 1)
		entra := idpJSON(t, map[string]any{
			"schemas":    []string{idpUserSchema, idpEnterpriseSchema},
			"externalId": objectID,
			"userName":   upn,
			"active":     true,
			"emails":     []map[string]any{{"primary": true, "type": "work", "value": upn}},
			"meta":       map[string]any{"resourceType": "User"},
			"name":       map[string]any{"formatted": "Sam Okafor", "familyName": "Okafor", "givenName": "Sam"},
			"roles":      []any{},
			idpEnterpriseSchema: map[string]any{
				"employeeNumber": "701984", "department": "Customer Care",
				"manager": map[string]any{"value": "5b2a1c0e-4f61-4d5e-9c4b-1a2b3c4d5e6f"},
			},
		})
		u := p.created(t, p.send(t, "POST", "/Users", entra), userQuery)
		if u.ID == "" || u.UserName != email || !u.Active || u.ExternalID != objectID ||
			u.Name.GivenName != "Sam" || u.Name.FamilyName != "Okafor" {
			t.Fatalf("created %+v", u)
		}
		if got := p.get(t, u.ID); got.Email != email || got.Status != usermgmt.StatusInvited || got.ExternalID != objectID {
			t.Fatalf("the page shows %+v", got)
		}
		s := p.signIn(t, email) // Sam accepts the invitation

		// Changes in the directory: attribute paths (the extension's
		// too), then a value map with dotted names and no path, each a
		// PATCH.
		patched := p.send(t, "PATCH", "/Users/"+u.ID, idpPatch(t,
			map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": upn},
			map[string]any{"op": "Replace", "path": "name.familyName", "value": "Okafor-Reyes"},
			map[string]any{"op": "Add", "path": idpEnterpriseSchema + ":department", "value": "Customer Care EMEA"},
		)).want(t, http.StatusOK).user(t)
		if patched.Name.FamilyName != "Okafor-Reyes" || patched.UserName != email || patched.Meta.Version == u.Meta.Version {
			t.Fatalf("after PATCH %+v (version was %s)", patched, u.Meta.Version)
		}
		mapped := p.send(t, "PATCH", "/Users/"+u.ID, idpPatch(t,
			map[string]any{"op": "Add", "value": map[string]any{"displayName": "Samuel Okafor-Reyes", "name.givenName": "Samuel"}},
		)).want(t, http.StatusOK).user(t)
		if mapped.Name.GivenName != "Samuel" || mapped.Name.FamilyName != "Okafor-Reyes" || mapped.DisplayName != "Samuel Okafor-Reyes" ||
			mapped.Meta.Version == patched.Meta.Version {
			t.Fatalf("after PATCH without path %+v", mapped)
		}
		if got := p.get(t, u.ID); got.GivenName != "Samuel" || got.FamilyName != "Okafor-Reyes" || got.Status != usermgmt.StatusActive {
			t.Fatalf("the page shows %+v", got)
		}

		// A group assigned to the app: looked up without its members,
		// created, then its members and its name sent by PATCH.
		p.send(t, "GET", groupQuery("HR Team"), "").groups(t, 0, 1)
		g := p.send(t, "POST", "/Groups", idpJSON(t, map[string]any{
			"schemas": []string{idpGroupSchema}, "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
			"displayName": "HR Team", "meta": map[string]any{"resourceType": "Group"},
		})).want(t, http.StatusCreated).group(t)
		if g.DisplayName != "HR Team" || g.ExternalID != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" {
			t.Fatalf("created %+v", g)
		}
		members := func(op string) {
			p.send(t, "PATCH", "/Groups/"+g.ID, idpPatch(t, map[string]any{
				"op": op, "path": "members", "value": []map[string]any{{"value": u.ID}},
			})).wantPatched(t)
		}
		members("Add")
		p.wantMembers(t, g.ID, u.ID)
		p.send(t, "PATCH", "/Groups/"+g.ID, idpPatch(t, map[string]any{
			"op": "Replace", "path": "displayName", "value": "HR Team EMEA",
		})).wantPatched(t)
		found := p.send(t, "GET", groupQuery("HR Team EMEA"), "").groups(t, 1, 1)
		if found[0].ID != g.ID || found[0].Members != nil {
			t.Fatalf("the query without members finds %+v", found[0])
		}
		if one := p.send(t, "GET", "/Groups/"+g.ID+"?excludedAttributes=members", "").want(t, http.StatusOK).group(t); one.Members != nil {
			t.Fatalf("excludedAttributes=members, yet members: %+v", *one.Members)
		}
		p.mapGroup(t, g.ID, usermgmt.RoleHRManager)
		p.holds(t, u.ID, &s, "HR Team EMEA", usermgmt.RoleHRManager)

		members("Remove")
		p.wantMembers(t, g.ID)
		p.holds(t, u.ID, &s, "")

		// Sam disabled in the directory, then enabled: a boolean as a
		// string, answered as a boolean.
		active := func(on string) idpUser {
			return p.send(t, "PATCH", "/Users/"+u.ID, idpPatch(t, map[string]any{
				"op": "Replace", "path": "active", "value": on,
			})).want(t, http.StatusOK).user(t)
		}
		if off := active("False"); off.Active {
			t.Fatalf("after \"False\" %+v", off)
		}
		p.deactivated(t, u.ID, s)
		if on := active("True"); !on.Active {
			t.Fatalf("after \"True\" %+v", on)
		}
		if got := p.get(t, u.ID); got.Status != usermgmt.StatusActive {
			t.Fatalf("enabled, the page shows %s", got.Status)
		}

		// Sam deleted in the directory, then assigned again: Entra
		// queries, creates.
		p.deleted(t, u.ID, userQuery, usermgmt.EventUserCreated, usermgmt.EventInvited, usermgmt.EventProfileUpdated,
			usermgmt.EventGroupJoined, usermgmt.EventGroupLeft, usermgmt.EventDeactivated, usermgmt.EventActivated)
		p.recreated(t, u.ID, p.send(t, "POST", "/Users", entra).want(t, http.StatusCreated).user(t))

		p.send(t, "DELETE", "/Groups/"+g.ID, "").want(t, http.StatusNoContent)
		p.send(t, "GET", groupQuery("HR Team EMEA"), "").groups(t, 0, 1)
	})
}
