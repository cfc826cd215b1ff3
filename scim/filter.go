package scim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	filter "github.com/scim2/filter-parser/v2"
	"github.com/usermgmt/usermgmt"
)

// parseFilter parses a filter parameter (RFC 7644 §3.4.2.2) with
// github.com/scim2/filter-parser/v2; anything it refuses is 400
// invalidFilter.
func parseFilter(s string) (filter.Expression, error) {
	e, err := filter.ParseFilter([]byte(subAttrIntoValueFilter(upperHexEscapes(strings.TrimSpace(s)))))
	if err != nil {
		return nil, badFilter("the filter is not valid SCIM filter syntax (RFC 7644 §3.4.2.2)")
	}
	return e, nil
}

// upperHexEscapes writes the hex digits of \uXXXX escapes in upper case:
// JSON takes either case, the parser only upper.
func upperHexEscapes(s string) string {
	if !strings.Contains(s, `\u`) {
		return s
	}
	b := []byte(s)
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		for j := i + 2; b[i+1] == 'u' && j < min(i+6, len(b)); j++ {
			if 'a' <= b[j] && b[j] <= 'f' {
				b[j] -= 'a' - 'A'
			}
		}
		i++ // the escaped character, a backslash included
	}
	return string(b)
}

// subAttrIntoValueFilter rewrites a comparison on a sub-attribute of a
// value path, emails[type eq "work"].value eq "x" (the form a PATCH path
// takes, which clients send in filters too, but RFC 7644's filter grammar
// has not), into the filter it means: emails[type eq "work" and value eq
// "x"]. Strings are skipped over, so a "]." inside one is left alone; a
// form it does not recognise is left for the parser to refuse.
func subAttrIntoValueFilter(s string) string {
	if !strings.Contains(s, "].") {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			end := stringEnd(s, i)
			out.WriteString(s[i:end])
			i = end - 1
		case s[i] == ']' && i+1 < len(s) && s[i+1] == '.':
			name := i + 2
			for name < len(s) && isNameChar(s[name]) {
				name++
			}
			opAt := name + len(s[name:]) - len(strings.TrimLeft(s[name:], " "))
			end := opAt
			for end < len(s) && ('a' <= s[end]|0x20 && s[end]|0x20 <= 'z') {
				end++
			}
			if name == i+2 || end == opAt {
				out.WriteByte(s[i])
				continue
			}
			// A value follows the operator unless it is pr.
			if !strings.EqualFold(s[opAt:end], "pr") {
				v := end + len(s[end:]) - len(strings.TrimLeft(s[end:], " "))
				if v < len(s) && s[v] == '"' {
					end = stringEnd(s, v)
				} else {
					end = v + strings.IndexAny(s[v:]+" ", " )")
				}
			}
			out.WriteString(" and " + s[i+2:name] + " " + strings.TrimSpace(s[opAt:end]) + "]")
			i = end - 1
		default:
			out.WriteByte(s[i])
		}
	}
	return out.String()
}

// stringEnd is the index just past the JSON string that starts at s[i]
// (a quote), escapes honoured; len(s) when it does not end.
func stringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

func isNameChar(c byte) bool {
	return c == '-' || c == '_' || c == '$' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func badFilter(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, typeInvalidFilter, format, args...)
}

// filterString is a compared string as it was meant: the parser hands it
// back with its JSON escapes (\" \\ \uXXXX) still in.
func filterString(v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return "", false
	}
	return out, true
}

// Always-true and always-false conditions: every user has an id.
var (
	matchAll  = usermgmt.UserFilter{Op: usermgmt.FilterPr, Attr: usermgmt.UserAttrID}
	matchNone = usermgmt.UserFilter{Op: usermgmt.FilterNot, Sub: []usermgmt.UserFilter{matchAll}}
)

// userFilter translates a parsed filter into the condition the store
// evaluates. Attributes it cannot evaluate are 400 invalidFilter.
func userFilter(e filter.Expression) (usermgmt.UserFilter, error) {
	return userFilterIn(e, "")
}

// userFilterIn translates e; scope is the multi-valued attribute whose
// value filter e is ("emails"), or "" at the top.
func userFilterIn(e filter.Expression, scope string) (usermgmt.UserFilter, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		op := usermgmt.FilterAnd
		if strings.EqualFold(string(e.Operator), "or") {
			op = usermgmt.FilterOr
		}
		f := usermgmt.UserFilter{Op: op}
		for _, side := range []filter.Expression{e.Left, e.Right} {
			s, err := userFilterIn(side, scope)
			if err != nil {
				return f, err
			}
			if s.Op == op { // a and (b and c) is one and of three
				f.Sub = append(f.Sub, s.Sub...)
			} else {
				f.Sub = append(f.Sub, s)
			}
		}
		return f, nil
	case *filter.NotExpression:
		s, err := userFilterIn(e.Expression, scope)
		return usermgmt.UserFilter{Op: usermgmt.FilterNot, Sub: []usermgmt.UserFilter{s}}, err
	case *filter.ValuePath:
		if scope != "" {
			return usermgmt.UserFilter{}, badFilter("a value filter cannot hold another one")
		}
		a := target(&filter.Path{AttributePath: e.AttributePath}, userSchema)
		if a.foreign || a.attr != "emails" || a.sub != "" {
			return usermgmt.UserFilter{}, badFilter("value filters are supported on emails only, not %s", e.AttributePath)
		}
		return userFilterIn(e.ValueFilter, "emails")
	case *filter.AttributeExpression:
		a := target(&filter.Path{AttributePath: e.AttributePath}, userSchema)
		if scope != "" {
			if e.AttributePath.URI() != "" || a.sub != "" {
				return usermgmt.UserFilter{}, badFilter("%s is not a sub-attribute of %s", e.AttributePath, scope)
			}
			a = attrName{attr: scope, sub: a.attr}
		}
		return attrFilter(a, e)
	}
	return usermgmt.UserFilter{}, badFilter("the filter is not supported")
}

// userAttrs maps the User attributes a filter may compare to the store's.
var userAttrs = map[string]usermgmt.UserAttr{
	"username":          usermgmt.UserAttrEmail,
	"emails":            usermgmt.UserAttrEmail,
	"emails.value":      usermgmt.UserAttrEmail,
	"name.givenname":    usermgmt.UserAttrGivenName,
	"name.familyname":   usermgmt.UserAttrFamilyName,
	"displayname":       usermgmt.UserAttrDisplayName,
	"externalid":        usermgmt.UserAttrExternalID,
	"id":                usermgmt.UserAttrID,
	"active":            usermgmt.UserAttrActive,
	"meta.created":      usermgmt.UserAttrCreated,
	"meta.lastmodified": usermgmt.UserAttrUpdated,
}

// The operators each kind of attribute takes (as UserAttr says).
var (
	textOps = opSet(usermgmt.FilterEq, usermgmt.FilterNe, usermgmt.FilterCo, usermgmt.FilterSw, usermgmt.FilterEw, usermgmt.FilterPr)
	idOps   = opSet(usermgmt.FilterEq, usermgmt.FilterNe, usermgmt.FilterPr)
	timeOps = opSet(usermgmt.FilterEq, usermgmt.FilterNe, usermgmt.FilterGt, usermgmt.FilterGe, usermgmt.FilterLt, usermgmt.FilterLe, usermgmt.FilterPr)
)

func opSet(ops ...usermgmt.FilterOp) map[usermgmt.FilterOp]bool {
	m := map[usermgmt.FilterOp]bool{}
	for _, op := range ops {
		m[op] = true
	}
	return m
}

// attrFilter translates one comparison. emails.type and emails.primary
// are constant (the one email is of type "work" and primary).
func attrFilter(a attrName, e *filter.AttributeExpression) (usermgmt.UserFilter, error) {
	op := usermgmt.FilterOp(strings.ToLower(string(e.Operator)))
	name := a.attr
	if a.sub != "" {
		name += "." + a.sub
	}
	switch name {
	case "emails.type":
		s, ok := filterString(e.CompareValue)
		return constant(op, ok && strings.EqualFold(s, "work"), e)
	case "emails.primary":
		b, ok := e.CompareValue.(bool)
		return constant(op, ok && b, e)
	}
	attr, ok := userAttrs[name]
	if a.foreign || !ok {
		return usermgmt.UserFilter{}, badFilter("filtering on %s is not supported", e.AttributePath)
	}
	f := usermgmt.UserFilter{Op: op, Attr: attr}
	ops := textOps
	switch attr {
	case usermgmt.UserAttrID, usermgmt.UserAttrActive:
		ops = idOps
	case usermgmt.UserAttrCreated, usermgmt.UserAttrUpdated:
		ops = timeOps
	}
	if !ops[op] {
		return f, badFilter("%s does not take the operator %s", e.AttributePath, op)
	}
	if op == usermgmt.FilterPr {
		return f, nil
	}
	switch attr {
	case usermgmt.UserAttrActive:
		b, err := boolValue("active", e.CompareValue)
		if err != nil {
			return f, badFilter("active compares with true or false")
		}
		f.Value = map[bool]string{true: "true", false: "false"}[b]
	case usermgmt.UserAttrCreated, usermgmt.UserAttrUpdated:
		s, _ := filterString(e.CompareValue)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return f, badFilter("%s compares with a date-time such as \"2026-01-02T15:04:05Z\"", e.AttributePath)
		}
		f.Time = t
	default:
		s, ok := filterString(e.CompareValue)
		if !ok {
			return f, badFilter("%s compares with a string", e.AttributePath)
		}
		f.Value = s
		if attr == usermgmt.UserAttrEmail {
			f.Value = strings.ToLower(s)
		}
	}
	return f, nil
}

// constant is a comparison whose answer is known: eq is holds, ne its
// opposite, pr true.
func constant(op usermgmt.FilterOp, holds bool, e *filter.AttributeExpression) (usermgmt.UserFilter, error) {
	switch op {
	case usermgmt.FilterPr:
		return matchAll, nil
	case usermgmt.FilterNe:
		holds = !holds
	case usermgmt.FilterEq:
	default:
		return usermgmt.UserFilter{}, badFilter("%s does not take the operator %s", e.AttributePath, op)
	}
	if holds {
		return matchAll, nil
	}
	return matchNone, nil
}

// groupQuery translates a Groups filter: displayName, externalId and id
// eq, members[value eq "…"] (or members.value eq), joined by and. none
// reports a filter no group can match (two values for one attribute, an
// id that is no id).
func groupQuery(e filter.Expression, q *usermgmt.GroupQuery) (none bool, err error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if !strings.EqualFold(string(e.Operator), "and") {
			return false, badFilter("groups are filtered with eq joined by and only")
		}
		n1, err := groupQuery(e.Left, q)
		if err != nil {
			return false, err
		}
		n2, err := groupQuery(e.Right, q)
		return n1 || n2, err
	case *filter.ValuePath:
		a := target(&filter.Path{AttributePath: e.AttributePath}, groupSchema)
		inner, ok := e.ValueFilter.(*filter.AttributeExpression)
		if a.attr != "members" || a.sub != "" || !ok || !strings.EqualFold(inner.AttributePath.AttributeName, "value") || inner.AttributePath.SubAttribute != nil {
			return false, badFilter("groups take members[value eq \"…\"] as their one value filter")
		}
		return groupEq(attrName{attr: "members", sub: "value"}, inner, q)
	case *filter.AttributeExpression:
		return groupEq(target(&filter.Path{AttributePath: e.AttributePath}, groupSchema), e, q)
	}
	return false, badFilter("the filter is not supported on groups")
}

// groupEq sets the field of q that one eq comparison names.
func groupEq(a attrName, e *filter.AttributeExpression, q *usermgmt.GroupQuery) (bool, error) {
	s, ok := filterString(e.CompareValue)
	if !strings.EqualFold(string(e.Operator), "eq") || !ok {
		return false, badFilter("groups are filtered with eq and a string only")
	}
	setText := func(field *string) bool {
		if *field != "" && *field != s {
			return true
		}
		*field = s
		return false
	}
	setID := func(field *uuid.UUID) bool {
		id, err := uuid.Parse(s)
		if err != nil || (*field != uuid.Nil && *field != id) {
			return true
		}
		*field = id
		return false
	}
	name := a.attr
	if a.sub != "" {
		name += "." + a.sub
	}
	switch {
	case a.foreign:
	case name == "displayname":
		return setText(&q.DisplayName), nil
	case name == "externalid":
		return setText(&q.ExternalID), nil
	case name == "id":
		return setID(&q.ID), nil
	case name == "members.value" || name == "members":
		return setID(&q.Member), nil
	}
	return false, badFilter("groups are filtered on displayName, externalId, id and members.value only, not %s", e.AttributePath)
}
