package scim

import (
	"net/http"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
	"github.com/usermgmt/usermgmt"
)

// patchOp is one operation of a PATCH request (RFC 7644 §3.5.2).
type patchOp struct {
	op    string       // "add", "replace" or "remove", lower-case
	path  *filter.Path // nil when the request gave none
	value any
	raw   string // the path as sent, for messages
}

// readPatch reads a PatchOp body. Operation names are case-insensitive
// (Entra ID sends "Replace"); a path that does not parse is 400
// invalidPath; remove without a path is 400 noTarget; add and replace
// without a path need an object of attributes.
func readPatch(r *http.Request) ([]patchOp, error) {
	obj, err := readObject(r)
	if err != nil {
		return nil, err
	}
	raw, _ := lookup(obj, "Operations")
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "a PATCH needs a list of Operations")
	}
	ops := make([]patchOp, 0, len(list))
	for i, el := range list {
		o, ok := el.(map[string]any)
		if !ok {
			return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "operation %d is not an object", i+1)
		}
		name, _ := lookup(o, "op")
		opName, _ := name.(string)
		op := patchOp{op: strings.ToLower(strings.TrimSpace(opName))}
		if op.op != "add" && op.op != "replace" && op.op != "remove" {
			return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "operation %d: op must be add, replace or remove, not %q", i+1, opName)
		}
		op.value, _ = lookup(o, "value")
		if p, ok := lookup(o, "path"); ok && p != nil {
			s, isString := p.(string)
			if !isString {
				return nil, errorf(http.StatusBadRequest, typeInvalidPath, "operation %d: path must be a string", i+1)
			}
			if strings.TrimSpace(s) != "" {
				parsed, err := filter.ParsePath([]byte(upperHexEscapes(strings.TrimSpace(s))))
				if err != nil {
					return nil, errorf(http.StatusBadRequest, typeInvalidPath, "operation %d: %q is not a valid attribute path", i+1, s)
				}
				op.path, op.raw = &parsed, s
			}
		}
		if op.path == nil {
			if op.op == "remove" {
				return nil, errorf(http.StatusBadRequest, typeNoTarget, "operation %d: remove needs a path", i+1)
			}
			if _, isObject := op.value.(map[string]any); !isObject {
				return nil, errorf(http.StatusBadRequest, typeInvalidValue, "operation %d: without a path, the value must be an object of attributes", i+1)
			}
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// readPatchOf reads the resource a PATCH names, its If-Match and its
// operations.
func readPatchOf(r *http.Request, what string) (ref, []patchOp, error) {
	rf, err := refOf(r, what)
	if err != nil {
		return rf, nil, err
	}
	ops, err := readPatch(r)
	return rf, ops, err
}

// target is the attribute a path names in the resource of schema core.
func target(p *filter.Path, core string) attrName {
	uri := p.AttributePath.URI()
	if uri != "" && !strings.EqualFold(uri, core) {
		return attrName{foreign: true}
	}
	return attrName{attr: strings.ToLower(p.AttributePath.AttributeName), sub: strings.ToLower(p.AttributePath.SubAttributeName())}
}

// applyUserOp applies one PATCH operation to st. Without a path the value
// is a map of attributes, whose keys may be dotted ("name.givenName", as
// Entra ID sends) or carry a schema URN. A value filter is taken on
// emails (and on attributes this service does not keep, which are
// ignored) and refused on single-valued attributes.
func applyUserOp(st *userState, op patchOp) error {
	if op.path == nil {
		for k, v := range op.value.(map[string]any) {
			if err := st.set(parseAttrName(k, userSchema), v); err != nil {
				return err
			}
		}
		return nil
	}
	a := target(op.path, userSchema)
	if op.path.ValueExpression != nil || op.path.SubAttribute != nil {
		switch a.attr {
		case "username", "displayname", "externalid", "active", "name", "id", "meta":
			return errorf(http.StatusBadRequest, typeInvalidPath, "%s is single-valued: %q has no value filter to apply", a.attr, op.raw)
		case "groups":
			return errorf(http.StatusBadRequest, typeMutability, "groups is read-only; change a group's members instead")
		}
		return nil // emails (userName is the email) and attributes not kept
	}
	if op.op == "remove" {
		return st.clear(a)
	}
	return st.set(a, op.value)
}

// patchUser answers PATCH /Users/{id}: every operation is applied to the
// user as read, then ONE UpdateProvisionedUser writes the result at the
// version read: all of it or nothing. Without If-Match a change in
// between is retried once; with it, a stale version is 412.
func (h *handler) patchUser(w http.ResponseWriter, r *http.Request, tenant string) error {
	rf, ops, err := readPatchOf(r, "user")
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		cur, err := h.readUserAt(r.Context(), tenant, rf)
		if err != nil {
			return err
		}
		st := stateOf(cur)
		for _, op := range ops {
			if err := applyUserOp(&st, op); err != nil {
				return err
			}
		}
		u, err := h.update(r.Context(), tenant, cur, st, cur.Version)
		if rf.want == 0 && attempt == 0 && usermgmt.ErrorCode(err) == usermgmt.CodeConflict && usermgmt.ErrorField(err) == usermgmt.FieldVersion {
			continue
		}
		if err != nil {
			return err
		}
		return h.writeUser(w, r, tenant, http.StatusOK, u)
	}
}
