package scim_test

// A scripted Okta provisioning session, written from Okta's developer
// documentation: "Okta and SCIM Version 2.0" (the SCIM 2.0 protocol
// reference) and "Build a SCIM provisioning integration". The requests
// have the shapes those pages show: the connection test, the query on
// userName before each create, PUT for profile updates, PATCH of active
// alone to deactivate and reactivate, Group Push with members added and
// removed by PATCH and the name replaced by a value map.

import (
	"net/http"
	"testing"

	"github.com/usermgmt/usermgmt"
)

func TestOktaSession(t *testing.T) {
	idpSession(t, "Okta", func(t *testing.T, p *idp) {
		// Okta's username for the app is the person's email.
		const email, oktaID = "dana.lopes@acme.example", "00u1ab2cd3EfGh4iJ5k6"
		query := func(email string) string {
			return "/Users?" + idpFilter(`userName eq "`+email+`"`) + "&startIndex=1&count=100"
		}
		userQuery := query(email)
		okta := func(email, oktaID, given, family, id string) string {
			body := map[string]any{
				"schemas":     []string{idpUserSchema},
				"userName":    email,
				"name":        map[string]any{"givenName": given, "familyName": family},
				"emails":      []map[string]any{{"primary": true, "value": email, "type": "work"}},
				"displayName": given + " " + family,
				"locale":      "pt-PT",
				"externalId":  oktaID,
				"groups":      []any{},
				"password":    "Sx7-okta-made-it",
				"active":      true,
			}
			if id != "" {
				body["id"] = id
			}
			return idpJSON(t, body)
		}

		// Saving the integration: Okta tests the base URL and the token.
		p.send(t, "GET", "/Users?startIndex=1&count=2", "").users(t, 1, 1) // the tenant admin

		// Assigning Dana to the app: the query on userName, then the create.
		p.send(t, "GET", userQuery, "").users(t, 0, 1)
		u := p.created(t, p.send(t, "POST", "/Users", okta(email, oktaID, "Dana", "Lopes", "")), userQuery)
		if u.ID == "" || u.UserName != email || !u.Active || u.ExternalID != oktaID ||
			u.Name.GivenName != "Dana" || u.Name.FamilyName != "Lopes" || u.DisplayName != "Dana Lopes" {
			t.Fatalf("created %+v", u)
		}
		if got := p.get(t, u.ID); got.Status != usermgmt.StatusInvited || got.GivenName != "Dana" || got.ExternalID != oktaID {
			t.Fatalf("the page shows %+v", got)
		}
		s := p.signIn(t, email) // Dana accepts the invitation

		// A change of Dana's profile in Okta: the whole user, by PUT.
		put := p.send(t, "PUT", "/Users/"+u.ID, okta(email, oktaID, "Dana", "Lopes-Ferreira", u.ID)).want(t, http.StatusOK).user(t)
		if put.Name.FamilyName != "Lopes-Ferreira" || put.DisplayName != "Dana Lopes-Ferreira" || !put.Active || put.Meta.Version == u.Meta.Version {
			t.Fatalf("after PUT %+v (version was %s)", put, u.Meta.Version)
		}
		if got := p.get(t, u.ID); got.FamilyName != "Lopes-Ferreira" || got.Status != usermgmt.StatusActive {
			t.Fatalf("the page shows %+v", got)
		}

		// Group Push: Okta looks for the group, creates it, then sends
		// its members in a batch: Dana and Lee, assigned meanwhile.
		p.send(t, "GET", query("lee.tan@acme.example"), "").users(t, 0, 1)
		lee := p.created(t, p.send(t, "POST", "/Users", okta("lee.tan@acme.example", "00u7zy6xw5VuTs4rQ3p2", "Lee", "Tan", "")),
			query("lee.tan@acme.example"))
		p.send(t, "GET", "/Groups?"+idpFilter(`displayName eq "Agents Lisbon"`)+"&startIndex=1&count=100", "").groups(t, 0, 1)
		g := p.send(t, "POST", "/Groups", idpJSON(t, map[string]any{
			"schemas": []string{idpGroupSchema}, "displayName": "Agents Lisbon", "members": []any{},
		})).want(t, http.StatusCreated).group(t)
		if g.DisplayName != "Agents Lisbon" || g.Members != nil && len(*g.Members) != 0 {
			t.Fatalf("created %+v", g)
		}
		p.send(t, "PATCH", "/Groups/"+g.ID, idpPatch(t, map[string]any{
			"op": "add", "path": "members", "value": []map[string]any{
				{"value": u.ID, "display": email}, {"value": lee.ID, "display": lee.UserName},
			},
		})).wantPatched(t)
		p.wantMembers(t, g.ID, u.ID, lee.ID)
		p.mapGroup(t, g.ID, usermgmt.RoleAgent)
		p.holds(t, u.ID, &s, "Agents Lisbon", usermgmt.RoleAgent)

		// The group renamed in Okta: a replace with a value map.
		p.send(t, "PATCH", "/Groups/"+g.ID, idpPatch(t, map[string]any{
			"op": "replace", "value": map[string]any{"id": g.ID, "displayName": "Agents Lisboa"},
		})).wantPatched(t)
		if got := p.send(t, "GET", "/Groups/"+g.ID, "").want(t, http.StatusOK).group(t); got.DisplayName != "Agents Lisboa" {
			t.Fatalf("renamed to %q", got.DisplayName)
		}
		p.holds(t, u.ID, &s, "Agents Lisboa", usermgmt.RoleAgent)

		// Dana leaves the group: removed by a value-filter path.
		p.send(t, "PATCH", "/Groups/"+g.ID, idpPatch(t, map[string]any{
			"op": "remove", "path": `members[value eq "` + u.ID + `"]`,
		})).wantPatched(t)
		p.wantMembers(t, g.ID, lee.ID)
		p.holds(t, u.ID, &s, "")

		// Unassigned from the app: Okta deactivates with active alone.
		active := func(on bool) idpUser {
			return p.send(t, "PATCH", "/Users/"+u.ID, idpPatch(t, map[string]any{
				"op": "replace", "value": map[string]any{"active": on},
			})).want(t, http.StatusOK).user(t)
		}
		if off := active(false); off.Active {
			t.Fatalf("after deactivation %+v", off)
		}
		p.deactivated(t, u.ID, s)
		if on := active(true); !on.Active {
			t.Fatalf("after reactivation %+v", on)
		}
		if got := p.get(t, u.ID); got.Status != usermgmt.StatusActive {
			t.Fatalf("reactivated, the page shows %s", got.Status)
		}

		// Okta's reference says Okta itself deactivates rather than
		// deletes; the DELETE is the same tenant's admin or script using
		// the token. Then Dana is assigned again: Okta queries, creates.
		p.deleted(t, u.ID, userQuery, usermgmt.EventUserCreated, usermgmt.EventInvited, usermgmt.EventProfileUpdated,
			usermgmt.EventGroupJoined, usermgmt.EventGroupLeft, usermgmt.EventDeactivated, usermgmt.EventActivated)
		again := p.send(t, "POST", "/Users", okta(email, oktaID, "Dana", "Lopes-Ferreira", "")).want(t, http.StatusCreated).user(t)
		p.recreated(t, u.ID, again)

		p.send(t, "DELETE", "/Groups/"+g.ID, "").want(t, http.StatusNoContent)
		p.send(t, "GET", "/Groups/"+g.ID, "").wantError(t, http.StatusNotFound)
	})
}
