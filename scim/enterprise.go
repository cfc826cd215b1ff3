package scim

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// The enterprise extension of a User (RFC 7643 §4.3), as Entra ID sends
// it: employeeNumber, department and manager are kept; its other
// attributes (costCenter, organization, division) are accepted and
// ignored.

// extAttr is the attrName.attr of the enterprise extension: sub is one of
// its attributes ("department", "manager.value"), or "" for the whole
// extension object.
var extAttr = strings.ToLower(enterpriseSchema)

// enterpriseName reads s as the extension's URN, alone or followed by
// ":attribute"; ok is false for anything else.
func enterpriseName(s string) (attrName, bool) {
	n := len(enterpriseSchema)
	if len(s) < n || !strings.EqualFold(s[:n], enterpriseSchema) {
		return attrName{}, false
	}
	switch rest := s[n:]; {
	case rest == "":
		return attrName{attr: extAttr}, true
	case rest[0] == ':':
		return attrName{attr: extAttr, sub: strings.ToLower(rest[1:])}, true
	}
	return attrName{}, false
}

// setEnterprise sets the extension (sub "", an object; null clears it) or
// one of its attributes. manager is the manager's id, as {"value": id} or,
// as Entra ID sends it in a PATCH, the id alone.
func (st *userState) setEnterprise(sub string, v any) error {
	var err error
	switch sub {
	case "":
		if v == nil {
			st.EmployeeNumber, st.Department, st.ManagerID = "", "", ""
			return nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return errorf(http.StatusBadRequest, typeInvalidValue, "%s must be an object", enterpriseSchema)
		}
		for k, x := range obj {
			if err := st.setEnterprise(strings.ToLower(k), x); err != nil {
				return err
			}
		}
	case "employeenumber":
		st.EmployeeNumber, err = stringValue("employeeNumber", v)
	case "department":
		st.Department, err = stringValue("department", v)
	case "manager":
		if obj, ok := v.(map[string]any); ok {
			v, _ = lookup(obj, "value")
		}
		st.ManagerID, err = stringValue("manager.value", v)
	case "manager.value":
		st.ManagerID, err = stringValue("manager.value", v)
	}
	return err
}

// enterpriseResource is the extension object of p, nil when p has none of
// its attributes. managers names the users that are managers, by id.
func enterpriseResource(base string, p usermgmt.Profile, managers map[string]string) map[string]any {
	if p.EmployeeNumber == "" && p.Department == "" && p.ManagerID == "" {
		return nil
	}
	ext := map[string]any{}
	if p.EmployeeNumber != "" {
		ext["employeeNumber"] = p.EmployeeNumber
	}
	if p.Department != "" {
		ext["department"] = p.Department
	}
	if p.ManagerID != "" {
		m := map[string]any{"value": p.ManagerID}
		if id, err := uuid.Parse(p.ManagerID); err == nil {
			if name, ok := managers[id.String()]; ok {
				m["displayName"] = name
				m["$ref"] = base + "/Users/" + id.String()
			}
		}
		ext["manager"] = m
	}
	return ext
}

// managerNames returns the display name (the displayName, or else the
// email) of each manager of users that is a user of the tenant visible to
// SCIM, by id: one FindUsers per maxManagersPerFind distinct managers.
func (h *handler) managerNames(ctx context.Context, tenant string, users ...usermgmt.User) (map[string]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, u := range users {
		id, err := uuid.Parse(u.ManagerID)
		if err != nil || seen[id.String()] {
			continue
		}
		seen[id.String()] = true
		ids = append(ids, id.String())
	}
	names := map[string]string{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxManagersPerFind)]
		ids = ids[len(chunk):]
		f := usermgmt.UserFilter{Op: usermgmt.FilterOr}
		for _, id := range chunk {
			f.Sub = append(f.Sub, usermgmt.UserFilter{Op: usermgmt.FilterEq, Attr: usermgmt.UserAttrID, Value: id})
		}
		if len(chunk) == 1 {
			f = f.Sub[0]
		}
		res, err := h.m.FindUsers(ctx, tenant, usermgmt.UserQuery{Filter: &f, Limit: len(chunk)})
		if err != nil {
			return nil, err
		}
		for _, m := range res.Users {
			if m.DeprovisionedAt != nil {
				continue
			}
			name := m.DisplayName
			if name == "" {
				name = m.Email
			}
			names[m.ID.String()] = name
		}
	}
	return names, nil
}

// maxManagersPerFind keeps a FindUsers of managers (an or of id eq) under
// the store's limit on a filter's conditions.
const maxManagersPerFind = 60
