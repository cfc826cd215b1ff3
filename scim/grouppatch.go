package scim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	filter "github.com/scim2/filter-parser/v2"
	"github.com/usermgmt/usermgmt"
)

// groupPatch gathers the operations of one PATCH into one GroupChange,
// without reading the member list: adds and removes are kept as sets
// (a later operation on the same member wins), and a replace of members
// becomes the whole list that later adds and removes edit.
type groupPatch struct {
	c usermgmt.GroupChange
}

func (p *groupPatch) add(ids []uuid.UUID) {
	for _, id := range ids {
		if p.c.Members != nil {
			if !slices.Contains(*p.c.Members, id) {
				*p.c.Members = append(*p.c.Members, id)
			}
			continue
		}
		p.c.Remove = slices.DeleteFunc(p.c.Remove, func(x uuid.UUID) bool { return x == id })
		if !slices.Contains(p.c.Add, id) {
			p.c.Add = append(p.c.Add, id)
		}
	}
}

func (p *groupPatch) remove(ids []uuid.UUID) {
	for _, id := range ids {
		if p.c.Members != nil {
			*p.c.Members = slices.DeleteFunc(*p.c.Members, func(x uuid.UUID) bool { return x == id })
			continue
		}
		p.c.Add = slices.DeleteFunc(p.c.Add, func(x uuid.UUID) bool { return x == id })
		if !slices.Contains(p.c.Remove, id) {
			p.c.Remove = append(p.c.Remove, id)
		}
	}
}

func (p *groupPatch) replaceMembers(ids []uuid.UUID) {
	p.c.Members = &ids
	p.c.Add, p.c.Remove = nil, nil
}

// set applies add or replace of one attribute.
func (p *groupPatch) set(op string, a attrName, v any) error {
	if a.foreign {
		return nil
	}
	switch a.attr {
	case "displayname":
		s, err := stringValue("displayName", v)
		p.c.DisplayName = &s
		return err
	case "externalid":
		s, err := stringValue("externalId", v)
		p.c.ExternalID = &s
		return err
	case "members":
		ids, err := memberIDs(v)
		if err != nil {
			return err
		}
		if op == "add" {
			p.add(ids)
		} else {
			p.replaceMembers(ids)
		}
	}
	return nil // id, schemas and meta (Okta sends its id back), and attributes not kept
}

// apply applies one operation.
func (p *groupPatch) apply(op patchOp) error {
	if op.path == nil {
		for k, v := range op.value.(map[string]any) {
			if err := p.set(op.op, parseAttrName(k, groupSchema), v); err != nil {
				return err
			}
		}
		return nil
	}
	a := target(op.path, groupSchema)
	if op.path.ValueExpression != nil {
		if a.attr != "members" || op.op != "remove" || op.path.SubAttribute != nil {
			return errorf(http.StatusBadRequest, typeInvalidPath, "%q: a value filter is taken by remove on members only", op.raw)
		}
		ids, err := memberFilter(op.path.ValueExpression)
		if err != nil {
			return err
		}
		p.remove(ids)
		return nil
	}
	switch {
	case op.op != "remove":
		return p.set(op.op, a, op.value)
	case a.attr == "members" && op.value != nil:
		ids, err := memberIDs(op.value)
		if err != nil {
			return err
		}
		p.remove(ids)
	case a.attr == "members":
		p.replaceMembers([]uuid.UUID{})
	case a.attr == "externalid":
		empty := ""
		p.c.ExternalID = &empty
	case a.attr == "displayname":
		return errorf(http.StatusBadRequest, typeMutability, "displayName is required and cannot be removed")
	}
	return nil
}

// memberFilter reads the members of a path's value filter: value eq
// "<id>", or several joined by or.
func memberFilter(e filter.Expression) ([]uuid.UUID, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if strings.EqualFold(string(e.Operator), "or") {
			l, err := memberFilter(e.Left)
			if err != nil {
				return nil, err
			}
			r, err := memberFilter(e.Right)
			return append(l, r...), err
		}
	case *filter.AttributeExpression:
		s, ok := filterString(e.CompareValue)
		if ok && strings.EqualFold(e.AttributePath.AttributeName, "value") && e.AttributePath.SubAttribute == nil &&
			strings.EqualFold(string(e.Operator), "eq") {
			id, err := uuid.Parse(s)
			if err != nil {
				return nil, nil // no user has that id: nothing to remove
			}
			return []uuid.UUID{id}, nil
		}
	}
	return nil, errorf(http.StatusBadRequest, typeInvalidPath, "members are selected with value eq \"<user id>\" (joined by or)")
}

// patchGroup answers PATCH /Groups/{id} with ONE UpdateGroup and without
// reading the member list. It answers 204 with the new ETag, or 200 with
// the group when the request names attributes or excludedAttributes.
func (h *handler) patchGroup(w http.ResponseWriter, r *http.Request, tenant string) error {
	rf, ops, err := readPatchOf(r, "group")
	if err != nil {
		return err
	}
	p := groupPatch{c: usermgmt.GroupChange{IfVersion: rf.want}}
	for _, op := range ops {
		if err := p.apply(op); err != nil {
			return err
		}
	}
	g, err := h.m.UpdateGroup(r.Context(), tenant, rf.id, p.c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Has("attributes") || q.Has("excludedAttributes") {
		return h.writeGroup(w, r, tenant, http.StatusOK, g)
	}
	w.Header().Set("ETag", etag(g.Version))
	noContent(w)
	return nil
}
