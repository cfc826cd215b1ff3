package scim

import (
	"net/http"
	"strings"

	"github.com/usermgmt/usermgmt"
)

// ignoredNote is what the schemas say of the attributes they do not list.
const ignoredNote = " Attributes not listed here (password, title, phoneNumbers, addresses, " +
	"the enterprise extension and other schemas' attributes) are accepted and ignored."

// serviceProviderConfig answers GET /ServiceProviderConfig (RFC 7643 §5):
// what this service supports, truthfully.
func (h *handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request, _ string) error {
	supported := func(b bool) map[string]any { return map[string]any{"supported": b} }
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":        []string{spConfigSchema},
		"patch":          supported(true),
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": usermgmt.MaxFindLimit},
		"changePassword": supported(false),
		"sort":           supported(true),
		"etag":           supported(true),
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "A provisioning token of the tenant, created by its admin, sent as Authorization: Bearer.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": baseURL(r) + "/ServiceProviderConfig"},
	})
	return nil
}

// resourceTypeList is the two resource types (RFC 7643 §6).
var resourceTypeList = []struct{ name, endpoint, schema, description string }{
	{"User", "/Users", userSchema, "A person of the tenant; userName is the email."},
	{"Group", "/Groups", groupSchema, "A group of the tenant; its admin maps it to roles."},
}

func resourceTypeResource(base string, i int) map[string]any {
	t := resourceTypeList[i]
	return map[string]any{
		"schemas": []string{resourceTypeSch}, "id": t.name, "name": t.name,
		"endpoint": t.endpoint, "schema": t.schema, "description": t.description,
		"meta": map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + t.name},
	}
}

// resourceTypes answers GET /ResourceTypes and /ResourceTypes/{id}.
func (h *handler) resourceTypes(w http.ResponseWriter, r *http.Request, _ string) error {
	return serveDiscovery(w, r, "resource type", len(resourceTypeList),
		func(i int) string { return resourceTypeList[i].name }, resourceTypeResource)
}

// serveDiscovery answers GET of a discovery collection (no {id} in the
// path: a ListResponse of all n) or of one of its resources, whose ids are
// id(i) (matched ignoring case) and which res renders under base.
func serveDiscovery(w http.ResponseWriter, r *http.Request, what string, n int,
	id func(int) string, res func(base string, i int) map[string]any) error {
	base, want := baseURL(r), r.PathValue("id")
	if want == "" {
		out := make([]map[string]any, n)
		for i := range n {
			out[i] = res(base, i)
		}
		writeJSON(w, http.StatusOK, listResponse(n, page{start: 1}, out))
		return nil
	}
	for i := range n {
		if strings.EqualFold(id(i), want) {
			writeJSON(w, http.StatusOK, res(base, i))
			return nil
		}
	}
	return errorf(http.StatusNotFound, "", "there is no %s %s", what, want)
}

// attribute is an attribute definition of RFC 7643 §7.
type attribute struct {
	Name           string      `json:"name"`
	Type           string      `json:"type"`
	MultiValued    bool        `json:"multiValued"`
	Description    string      `json:"description"`
	Required       bool        `json:"required"`
	CaseExact      bool        `json:"caseExact"`
	Mutability     string      `json:"mutability"`
	Returned       string      `json:"returned"`
	Uniqueness     string      `json:"uniqueness"`
	SubAttributes  []attribute `json:"subAttributes,omitempty"`
	ReferenceTypes []string    `json:"referenceTypes,omitempty"`
}

// str is a single-valued string attribute, read-write, returned by default.
func str(name, description string) attribute {
	return attribute{Name: name, Type: "string", Description: description, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
}

func (a attribute) with(f func(*attribute)) attribute { f(&a); return a }

// schemaList is the schemas of the two resource types, holding the
// attributes this service keeps.
var schemaList = []struct {
	id, name, description string
	attributes            []attribute
}{
	{userSchema, "User", "A person of the tenant." + ignoredNote, []attribute{
		str("userName", "The person's email address, normalised (trimmed, NFC, lower-case); it cannot change.").with(func(a *attribute) {
			a.Required, a.Uniqueness, a.Mutability = true, "server", "immutable"
		}),
		{Name: "name", Type: "complex", Description: "The person's name.", Mutability: "readWrite", Returned: "default", Uniqueness: "none",
			SubAttributes: []attribute{
				str("formatted", "The given and family names; derived, so a value sent is ignored.").with(func(a *attribute) { a.Mutability = "readOnly" }),
				str("givenName", "The given name."),
				str("familyName", "The family name."),
			}},
		str("displayName", "The name shown for the person."),
		str("externalId", "The identity provider's id for the person.").with(func(a *attribute) { a.CaseExact = true }),
		{Name: "emails", Type: "complex", MultiValued: true, Mutability: "readWrite", Returned: "default", Uniqueness: "none",
			Description: "The one email, userName, of type work and primary; values sent are accepted and ignored (userName wins).",
			SubAttributes: []attribute{
				str("value", "The address."),
				str("type", "Always work."),
				{Name: "primary", Type: "boolean", Description: "Always true.", Mutability: "readWrite", Returned: "default", Uniqueness: "none"},
			}},
		{Name: "active", Type: "boolean", Description: "false deactivates the person (every session ends); true activates them.",
			Mutability: "readWrite", Returned: "default", Uniqueness: "none"},
		{Name: "groups", Type: "complex", MultiValued: true, Mutability: "readOnly", Returned: "default", Uniqueness: "none",
			Description: "The groups the person is a member of; changed through the groups' members. Returned on single users only.",
			SubAttributes: []attribute{
				str("value", "The group's id.").with(func(a *attribute) { a.Mutability = "readOnly" }),
				{Name: "$ref", Type: "reference", ReferenceTypes: []string{"Group"}, Description: "The group's URL.",
					Mutability: "readOnly", Returned: "default", Uniqueness: "none"},
				str("display", "The group's displayName.").with(func(a *attribute) { a.Mutability = "readOnly" }),
			}},
	}},
	{groupSchema, "Group", "A group of the tenant, mapped to roles by its admin." + ignoredNote, []attribute{
		str("displayName", "The group's name, unique in the tenant.").with(func(a *attribute) { a.Required, a.Uniqueness = true, "server" }),
		str("externalId", "The identity provider's id for the group.").with(func(a *attribute) { a.CaseExact = true }),
		{Name: "members", Type: "complex", MultiValued: true, Mutability: "readWrite", Returned: "default", Uniqueness: "none",
			Description: "The group's members, users of the tenant.",
			SubAttributes: []attribute{
				str("value", "The user's id.").with(func(a *attribute) { a.Mutability = "immutable" }),
				{Name: "$ref", Type: "reference", ReferenceTypes: []string{"User"}, Description: "The user's URL.",
					Mutability: "immutable", Returned: "default", Uniqueness: "none"},
				str("display", "The user's displayName, or email.").with(func(a *attribute) { a.Mutability = "readOnly" }),
				str("type", "Always User.").with(func(a *attribute) { a.Mutability = "immutable" }),
			}},
	}},
}

func schemaResource(base string, i int) map[string]any {
	s := schemaList[i]
	return map[string]any{
		"schemas": []string{schemaSchema}, "id": s.id, "name": s.name,
		"description": s.description, "attributes": s.attributes,
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + s.id},
	}
}

// schemas answers GET /Schemas and /Schemas/{id}.
func (h *handler) schemas(w http.ResponseWriter, r *http.Request, _ string) error {
	return serveDiscovery(w, r, "schema", len(schemaList), func(i int) string { return schemaList[i].id }, schemaResource)
}
