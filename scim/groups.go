package scim

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// groupResource is g as a SCIM Group; members, when not nil, are listed.
func groupResource(base string, g usermgmt.Group, members []usermgmt.GroupMember) map[string]any {
	res := map[string]any{
		"schemas":     []string{groupSchema},
		"id":          g.ID.String(),
		"displayName": g.DisplayName,
		"meta":        meta("Group", base+"/Groups/"+g.ID.String(), g.CreatedAt, g.UpdatedAt, g.Version),
	}
	if g.ExternalID != "" {
		res["externalId"] = g.ExternalID
	}
	if members != nil {
		list := make([]map[string]any, len(members))
		for i, m := range members {
			display := m.DisplayName
			if display == "" {
				display = m.Email
			}
			list[i] = map[string]any{"value": m.UserID.String(), "display": display,
				"$ref": base + "/Users/" + m.UserID.String(), "type": "User"}
		}
		res["members"] = list
	}
	return res
}

// members reads all of a group's members, a page of MaxMemberPage at a
// time.
func (h *handler) members(ctx context.Context, tenant string, id uuid.UUID) ([]usermgmt.GroupMember, error) {
	all := []usermgmt.GroupMember{}
	q := usermgmt.MemberQuery{Limit: usermgmt.MaxMemberPage}
	for {
		page, err := h.m.ListGroupMembers(ctx, tenant, id, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < q.Limit {
			return all, nil
		}
		q.After = page[len(page)-1].UserID
	}
}

// presentGroup is g as the request's projection keeps it, with its
// members read only when they are returned.
func (h *handler) presentGroup(r *http.Request, tenant string, p projection, g usermgmt.Group) (map[string]any, error) {
	var members []usermgmt.GroupMember
	if p.wants("members") {
		var err error
		if members, err = h.members(r.Context(), tenant, g.ID); err != nil {
			return nil, err
		}
	}
	return p.apply(groupResource(baseURL(r), g, members)), nil
}

// writeGroup answers g with its ETag.
func (h *handler) writeGroup(w http.ResponseWriter, r *http.Request, tenant string, status int, g usermgmt.Group) error {
	p, err := parseProjection(r, groupSchema)
	if err != nil {
		return err
	}
	res, err := h.presentGroup(r, tenant, p, g)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(g.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", baseURL(r)+"/Groups/"+g.ID.String())
	}
	writeJSON(w, status, res)
	return nil
}

// getGroup answers GET /Groups/{id}, members listed in full unless
// excludedAttributes=members.
func (h *handler) getGroup(w http.ResponseWriter, r *http.Request, tenant string) error {
	id, err := pathID(r, "group")
	if err != nil {
		return err
	}
	g, err := h.m.GetGroup(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	return h.writeGroup(w, r, tenant, http.StatusOK, g)
}

// listGroups answers GET /Groups with the filters groupQuery takes.
func (h *handler) listGroups(w http.ResponseWriter, r *http.Request, tenant string) error {
	pg, proj, e, err := parseList(r, groupSchema)
	if err != nil {
		return err
	}
	gq := usermgmt.GroupQuery{Offset: pg.start - 1, Limit: pg.count}
	if e != nil {
		none, err := groupQuery(e, &gq)
		if err != nil {
			return err
		}
		if none {
			writeJSON(w, http.StatusOK, listResponse(0, pg, nil))
			return nil
		}
	}
	res, err := h.m.FindGroups(r.Context(), tenant, gq)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(res.Groups))
	for i, g := range res.Groups {
		if out[i], err = h.presentGroup(r, tenant, proj, g); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, listResponse(res.Total, pg, out))
	return nil
}

// memberIDs reads a members value: a list of {"value": "<user id>"} (one
// object alone is taken as a list of one). An id that is no UUID can be no
// user of the tenant: 400 invalidValue.
func memberIDs(v any) ([]uuid.UUID, error) {
	var list []any
	switch v := v.(type) {
	case nil:
		return []uuid.UUID{}, nil
	case []any:
		list = v
	case map[string]any:
		list = []any{v}
	default:
		return nil, errorf(http.StatusBadRequest, typeInvalidValue, "members must be a list of {\"value\": \"<user id>\"}")
	}
	ids := make([]uuid.UUID, 0, len(list))
	for _, el := range list {
		obj, ok := el.(map[string]any)
		if !ok {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "members must be a list of {\"value\": \"<user id>\"}")
		}
		raw, _ := lookup(obj, "value")
		s, _ := raw.(string)
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, typeInvalidValue, "member %q is not a user of this tenant", s)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// readGroup reads a Group body (POST, PUT): displayName (required),
// externalId and members.
func readGroup(r *http.Request) (usermgmt.NewGroup, error) {
	var g usermgmt.NewGroup
	obj, err := readObject(r)
	if err != nil {
		return g, err
	}
	v, _ := lookup(obj, "displayName")
	name, err := stringValue("displayName", v)
	if err != nil {
		return g, err
	}
	if strings.TrimSpace(name) == "" {
		return g, errorf(http.StatusBadRequest, typeInvalidValue, "displayName is required")
	}
	g.DisplayName = name
	v, _ = lookup(obj, "externalId")
	if g.ExternalID, err = stringValue("externalId", v); err != nil {
		return g, err
	}
	v, _ = lookup(obj, "members")
	g.Members, err = memberIDs(v)
	return g, err
}

// createGroup answers POST /Groups.
func (h *handler) createGroup(w http.ResponseWriter, r *http.Request, tenant string) error {
	ng, err := readGroup(r)
	if err != nil {
		return err
	}
	g, err := h.m.CreateGroup(r.Context(), tenant, ng)
	if err != nil {
		return err
	}
	return h.writeGroup(w, r, tenant, http.StatusCreated, g)
}

// replaceGroup answers PUT /Groups/{id}: name, externalId and the whole
// member list.
func (h *handler) replaceGroup(w http.ResponseWriter, r *http.Request, tenant string) error {
	rf, err := refOf(r, "group")
	if err != nil {
		return err
	}
	ng, err := readGroup(r)
	if err != nil {
		return err
	}
	g, err := h.m.UpdateGroup(r.Context(), tenant, rf.id, usermgmt.GroupChange{
		DisplayName: &ng.DisplayName, ExternalID: &ng.ExternalID, Members: &ng.Members, IfVersion: rf.want})
	if err != nil {
		return err
	}
	return h.writeGroup(w, r, tenant, http.StatusOK, g)
}

// deleteGroup answers DELETE /Groups/{id}.
func (h *handler) deleteGroup(w http.ResponseWriter, r *http.Request, tenant string) error {
	rf, err := refOf(r, "group")
	if err != nil {
		return err
	}
	return deleteAt(w, rf, func() (int64, error) {
		g, err := h.m.GetGroup(r.Context(), tenant, rf.id)
		return g.Version, err
	}, func() error { return h.m.DeleteGroup(r.Context(), tenant, rf.id) })
}
