package scim

import (
	"net/http"
	"strings"
)

// The schema and message URNs of RFC 7643 and RFC 7644.
const (
	userSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	listSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	patchSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	spConfigSchema   = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	resourceTypeSch  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// attrName is an attribute of a resource's core schema as a request names
// it: lower-case, with its sub-attribute ("name", "givenname"), or foreign
// when it belongs to another schema (an extension), which this service
// accepts and ignores.
type attrName struct {
	attr, sub string
	foreign   bool
}

// parseAttrName reads "userName", "name.givenName" or
// "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName" (core is the
// resource's schema URN); any other URN prefix is foreign.
func parseAttrName(s, core string) attrName {
	s = strings.TrimSpace(s)
	if len(s) > len(core) && strings.EqualFold(s[:len(core)+1], core+":") {
		s = s[len(core)+1:]
	} else if strings.HasPrefix(strings.ToLower(s), "urn:") {
		return attrName{foreign: true}
	}
	attr, sub, _ := strings.Cut(strings.ToLower(s), ".")
	return attrName{attr: attr, sub: sub}
}

// projection is what the attributes and excludedAttributes parameters
// (RFC 7644 §3.4.2.5) keep of a resource.
type projection struct {
	include, exclude []attrName
}

// parseProjection reads the two parameters of r for a resource of schema
// core; naming both is 400 invalidValue.
func parseProjection(r *http.Request, core string) (projection, error) {
	var p projection
	q := r.URL.Query()
	inc, exc := q.Get("attributes"), q.Get("excludedAttributes")
	if inc != "" && exc != "" {
		return p, errorf(http.StatusBadRequest, typeInvalidValue, "give attributes or excludedAttributes, not both")
	}
	for _, s := range splitList(inc) {
		if a := parseAttrName(s, core); !a.foreign {
			p.include = append(p.include, a)
		}
	}
	for _, s := range splitList(exc) {
		if a := parseAttrName(s, core); !a.foreign {
			p.exclude = append(p.exclude, a)
		}
	}
	return p, nil
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// wants reports whether the projection returns attr (a top-level name,
// lower-case) at all, so that a costly one (a group's members) is read
// only when it is.
func (p projection) wants(attr string) bool {
	if len(p.include) > 0 {
		for _, a := range p.include {
			if a.attr == attr {
				return true
			}
		}
		return false
	}
	for _, a := range p.exclude {
		if a.attr == attr && a.sub == "" {
			return false
		}
	}
	return true
}

// apply returns res as the projection keeps it; id and schemas are always
// returned (RFC 7643 §7, returned "always").
func (p projection) apply(res map[string]any) map[string]any {
	if len(p.include) == 0 && len(p.exclude) == 0 {
		return res
	}
	always := func(k string) bool { k = strings.ToLower(k); return k == "id" || k == "schemas" }
	if len(p.include) > 0 {
		out := map[string]any{}
		for k, v := range res {
			if always(k) {
				out[k] = v
				continue
			}
			for _, a := range p.include {
				if !strings.EqualFold(a.attr, k) {
					continue
				}
				if a.sub == "" {
					out[k] = v
					break
				}
				if kept := keepSub(v, a.sub, out[k]); kept != nil {
					out[k] = kept
				}
			}
		}
		return out
	}
	out := map[string]any{}
	for k, v := range res {
		out[k] = v
	}
	for _, a := range p.exclude {
		for k, v := range out {
			if always(k) || !strings.EqualFold(a.attr, k) {
				continue
			}
			if a.sub == "" {
				delete(out, k)
			} else {
				out[k] = dropSub(v, a.sub)
			}
		}
	}
	return out
}

// keepSub returns v (an object, or a list of objects) with only the
// sub-attribute sub, merged into what an earlier path kept (prev).
func keepSub(v any, sub string, prev any) any {
	switch v := v.(type) {
	case map[string]any:
		out, _ := prev.(map[string]any)
		if out == nil {
			out = map[string]any{}
		}
		for k, x := range v {
			if strings.EqualFold(k, sub) {
				out[k] = x
			}
		}
		return out
	case []map[string]any:
		prevList, _ := prev.([]map[string]any)
		out := make([]map[string]any, len(v))
		for i, el := range v {
			var before any
			if i < len(prevList) {
				before = prevList[i]
			}
			out[i] = keepSub(el, sub, before).(map[string]any)
		}
		return out
	}
	return nil
}

// dropSub returns v (an object, or a list of objects) without the
// sub-attribute sub.
func dropSub(v any, sub string) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if !strings.EqualFold(k, sub) {
				out[k] = x
			}
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(v))
		for i, el := range v {
			out[i] = dropSub(el, sub).(map[string]any)
		}
		return out
	}
	return v
}
