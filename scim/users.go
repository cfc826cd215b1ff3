package scim

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// userResource is u as a SCIM User. groups, when not nil, is the user's
// groups (single-resource answers only: a list would read them per user);
// managers names the managers of the enterprise extension (managerNames).
func userResource(base string, u usermgmt.User, groups []usermgmt.Group, managers map[string]string) map[string]any {
	res := map[string]any{
		"schemas":  []string{userSchema},
		"id":       u.ID.String(),
		"userName": u.Email,
		"emails":   []map[string]any{{"value": u.Email, "type": "work", "primary": true}},
		"active":   u.Status != usermgmt.StatusDeactivated,
		"meta":     meta("User", base+"/Users/"+u.ID.String(), u.CreatedAt, u.UpdatedAt, u.Version),
	}
	if u.ExternalID != "" {
		res["externalId"] = u.ExternalID
	}
	if u.DisplayName != "" {
		res["displayName"] = u.DisplayName
	}
	if u.GivenName != "" || u.FamilyName != "" {
		name := map[string]any{"formatted": formatted(u.Profile)}
		if u.GivenName != "" {
			name["givenName"] = u.GivenName
		}
		if u.FamilyName != "" {
			name["familyName"] = u.FamilyName
		}
		res["name"] = name
	}
	if ext := enterpriseResource(base, u.Profile, managers); ext != nil {
		res["schemas"] = []string{userSchema, enterpriseSchema}
		res[enterpriseSchema] = ext
	}
	if len(groups) > 0 {
		list := make([]map[string]any, len(groups))
		for i, g := range groups {
			list[i] = map[string]any{"value": g.ID.String(), "display": g.DisplayName,
				"$ref": base + "/Groups/" + g.ID.String(), "type": "direct"}
		}
		res["groups"] = list
	}
	return res
}

// formatted is name.formatted, derived from the given and family names.
func formatted(p usermgmt.Profile) string {
	return strings.TrimSpace(p.GivenName + " " + p.FamilyName)
}

// meta is the meta attribute of a resource (RFC 7643 §3.1).
func meta(resourceType, location string, created, modified time.Time, version int64) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"created":      created.UTC().Format(time.RFC3339Nano),
		"lastModified": modified.UTC().Format(time.RFC3339Nano),
		"location":     location,
		"version":      etag(version),
	}
}

// userState is what a request may change of a user: the whole new state
// that PUT sends and PATCH computes.
type userState struct {
	email  string
	active bool
	usermgmt.Profile
}

func stateOf(u usermgmt.User) userState {
	return userState{email: u.Email, active: u.Status != usermgmt.StatusDeactivated, Profile: u.Profile}
}

// parseUser reads a User body (POST, PUT) over base, as a replacement: a
// profile attribute it omits is cleared, but an omitted active keeps
// base's (a PUT that forgets it must not deactivate anyone). userName is
// required; emails are accepted and ignored (userName is the email);
// password, readOnly attributes and the attributes of schemas other than
// the enterprise extension are ignored.
func parseUser(obj map[string]any, base userState) (userState, error) {
	st := base
	v, ok := lookup(obj, "userName")
	if !ok {
		return st, errorf(http.StatusBadRequest, typeInvalidValue, "userName is required")
	}
	name, err := stringValue("userName", v)
	if err != nil {
		return st, err
	}
	if st.email, err = normalizeEmail(name); err != nil {
		return st, err
	}
	st.Profile = usermgmt.Profile{}
	for _, attr := range []string{"displayName", "externalId", "name", "active", enterpriseSchema} {
		if v, ok := lookup(obj, attr); ok {
			if err := st.set(attrName{attr: strings.ToLower(attr)}, v); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// normalizeEmail is usermgmt.NormalizeEmail with its error as a SCIM one.
func normalizeEmail(s string) (string, error) {
	e, err := usermgmt.NormalizeEmail(s)
	if err != nil {
		return "", errorf(http.StatusBadRequest, typeInvalidValue, "userName: %s", usermgmt.ErrorMessage(err))
	}
	return e, nil
}

// set replaces one attribute of the state (a PATCH add or replace, or a
// body's attribute). userName must stay the same address: it is the
// email, which the identity provider cannot change (400 mutability).
// Attributes this service does not keep are accepted and ignored.
func (st *userState) set(a attrName, v any) error {
	if a.foreign {
		return nil
	}
	var err error
	switch a.attr {
	case "username":
		s, err := stringValue("userName", v)
		if err != nil {
			return err
		}
		e, err := normalizeEmail(s)
		if err != nil {
			return err
		}
		if e != st.email {
			return errorf(http.StatusBadRequest, typeMutability,
				"userName is the user's email and cannot change (from %s to %s); create a new user instead", st.email, e)
		}
	case "displayname":
		st.DisplayName, err = stringValue("displayName", v)
	case "externalid":
		st.ExternalID, err = stringValue("externalId", v)
	case "active":
		st.active, err = boolValue("active", v)
	case "name":
		err = st.setName(a.sub, v)
	case extAttr:
		err = st.setEnterprise(a.sub, v)
	case "id", "meta", "groups", "schemas":
		return errorf(http.StatusBadRequest, typeMutability, "%s is read-only", a.attr)
	}
	return err
}

// setName sets name (sub "", an object) or one of its sub-attributes;
// formatted is derived, so it is ignored.
func (st *userState) setName(sub string, v any) error {
	var err error
	switch sub {
	case "":
		if v == nil {
			st.GivenName, st.FamilyName = "", ""
			return nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return errorf(http.StatusBadRequest, typeInvalidValue, "name must be an object")
		}
		for k, x := range obj {
			if err := st.setName(strings.ToLower(k), x); err != nil {
				return err
			}
		}
	case "givenname":
		st.GivenName, err = stringValue("name.givenName", v)
	case "familyname":
		st.FamilyName, err = stringValue("name.familyName", v)
	}
	return err
}

// clear removes one attribute (a PATCH remove).
func (st *userState) clear(a attrName) error {
	if a.foreign {
		return nil
	}
	switch a.attr {
	case "username", "id", "meta", "groups", "schemas":
		return errorf(http.StatusBadRequest, typeMutability, "%s cannot be removed", a.attr)
	case "active":
		return errorf(http.StatusBadRequest, typeInvalidValue, "active cannot be removed; replace it with false to deactivate")
	case "name":
		if a.sub == "" || a.sub == "givenname" {
			st.GivenName = ""
		}
		if a.sub == "" || a.sub == "familyname" {
			st.FamilyName = ""
		}
		return nil
	}
	return st.set(a, nil)
}

// readUser returns the tenant's user with id, as SCIM sees users: a
// deprovisioned user, another tenant's and an unknown one are 404
// (FindUsers leaves deprovisioned users out).
func (h *handler) readUser(ctx context.Context, tenant string, id uuid.UUID) (usermgmt.User, error) {
	res, err := h.m.FindUsers(ctx, tenant, usermgmt.UserQuery{Limit: 1,
		Filter: &usermgmt.UserFilter{Op: usermgmt.FilterEq, Attr: usermgmt.UserAttrID, Value: id.String()}})
	if err != nil {
		return usermgmt.User{}, err
	}
	if len(res.Users) == 0 {
		return usermgmt.User{}, errorf(http.StatusNotFound, "", "there is no user %s", id)
	}
	return res.Users[0], nil
}

// readUserAt is readUser for a request that changes the user: 412 when
// If-Match names another version.
func (h *handler) readUserAt(ctx context.Context, tenant string, rf ref) (usermgmt.User, error) {
	u, err := h.readUser(ctx, tenant, rf.id)
	if err == nil {
		err = rf.check(u.Version)
	}
	return u, err
}

// writeUser answers u with its groups, projected as the request asks, and
// its ETag.
func (h *handler) writeUser(w http.ResponseWriter, r *http.Request, tenant string, status int, u usermgmt.User) error {
	p, err := parseProjection(r, userSchema)
	if err != nil {
		return err
	}
	var groups []usermgmt.Group
	if p.wants("groups") {
		if groups, err = h.m.GroupsOf(r.Context(), tenant, u.ID); err != nil {
			return err
		}
	}
	var managers map[string]string
	if p.wants(extAttr) {
		if managers, err = h.managerNames(r.Context(), tenant, u); err != nil {
			return err
		}
	}
	base := baseURL(r)
	res := userResource(base, u, groups, managers)
	w.Header().Set("ETag", etag(u.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", base+"/Users/"+u.ID.String())
	}
	writeJSON(w, status, p.apply(res))
	return nil
}

// getUser answers GET /Users/{id}.
func (h *handler) getUser(w http.ResponseWriter, r *http.Request, tenant string) error {
	id, err := pathID(r, "user")
	if err != nil {
		return err
	}
	u, err := h.readUser(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, tenant, http.StatusOK, u)
}

// createUser answers POST /Users: an invited user (ProvisionUser), or the
// same user back when the identity provider deleted them before.
func (h *handler) createUser(w http.ResponseWriter, r *http.Request, tenant string) error {
	obj, err := readObject(r)
	if err != nil {
		return err
	}
	st, err := parseUser(obj, userState{active: true})
	if err != nil {
		return err
	}
	u, err := h.m.ProvisionUser(r.Context(), tenant, usermgmt.Provision{
		Email: st.email, Profile: st.Profile, Roles: h.opts.DefaultRoles,
		Active: st.active, SendInvite: !h.opts.NoInviteMail,
	})
	switch usermgmt.ErrorCode(err) {
	case "":
	case usermgmt.CodeDeliveryFailed:
		// The user exists; the outbox retries the mail. A failure here
		// would make the identity provider retry into a 409.
		h.log.WarnContext(r.Context(), "scim: invitation mail not sent yet", "user", u.ID, "err", err)
	case usermgmt.CodeConflict:
		return errorf(http.StatusConflict, typeUniqueness, "a user with userName %s exists", st.email)
	default:
		return err
	}
	return h.writeUser(w, r, tenant, http.StatusCreated, u)
}

// replaceUser answers PUT /Users/{id}: the body is the whole new state.
func (h *handler) replaceUser(w http.ResponseWriter, r *http.Request, tenant string) error {
	rf, err := refOf(r, "user")
	if err != nil {
		return err
	}
	obj, err := readObject(r)
	if err != nil {
		return err
	}
	cur, err := h.readUserAt(r.Context(), tenant, rf)
	if err != nil {
		return err
	}
	base := stateOf(cur)
	st, err := parseUser(obj, base)
	if err != nil {
		return err
	}
	if st.email != base.email {
		return errorf(http.StatusBadRequest, typeMutability,
			"userName is the user's email and cannot change (from %s to %s); create a new user instead", base.email, st.email)
	}
	u, err := h.update(r.Context(), tenant, cur, st, rf.want)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, tenant, http.StatusOK, u)
}

// update writes st over cur with one UpdateProvisionedUser, applied only
// at version ifVersion unless it is 0; it writes nothing when st changes
// nothing.
func (h *handler) update(ctx context.Context, tenant string, cur usermgmt.User, st userState, ifVersion int64) (usermgmt.User, error) {
	if st == stateOf(cur) {
		return cur, nil
	}
	return h.m.UpdateProvisionedUser(ctx, tenant, cur.ID, usermgmt.ProvisionUpdate{Profile: st.Profile, Active: st.active, IfVersion: ifVersion})
}

// deleteUser answers DELETE /Users/{id}: the user is deactivated and
// hidden from SCIM, their data and activity kept.
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, tenant string) error {
	rf, err := refOf(r, "user")
	if err != nil {
		return err
	}
	return deleteAt(w, rf, func() (int64, error) {
		u, err := h.readUser(r.Context(), tenant, rf.id)
		return u.Version, err
	}, func() error { return h.m.DeprovisionUser(r.Context(), tenant, rf.id) })
}
