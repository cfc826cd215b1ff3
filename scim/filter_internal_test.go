package scim

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// uf builds a UserFilter comparison.
func uf(attr usermgmt.UserAttr, op usermgmt.FilterOp, v string) usermgmt.UserFilter {
	return usermgmt.UserFilter{Op: op, Attr: attr, Value: v}
}

func logic(op usermgmt.FilterOp, sub ...usermgmt.UserFilter) usermgmt.UserFilter {
	return usermgmt.UserFilter{Op: op, Sub: sub}
}

// TestUserFilterTranslation: every operator and attribute the store
// evaluates, as the SCIM filters that name them become UserFilters.
func TestUserFilterTranslation(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		filter string
		want   usermgmt.UserFilter
	}{
		{`userName eq "Ana@Example.com"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "ana@example.com")},
		{`USERNAME Eq "ana@example.com"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "ana@example.com")},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a@b.c"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "a@b.c")},
		{`userName ne "a@b.c"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterNe, "a@b.c")},
		{`userName co "acme"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterCo, "acme")},
		{`userName sw "ana"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterSw, "ana")},
		{`userName ew ".test"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterEw, ".test")},
		{`displayName pr`, usermgmt.UserFilter{Op: usermgmt.FilterPr, Attr: usermgmt.UserAttrDisplayName}},
		{`emails.value co "x"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterCo, "x")},
		{`emails eq "x@y.z"`, uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "x@y.z")},
		{`name.givenName eq "Ana"`, uf(usermgmt.UserAttrGivenName, usermgmt.FilterEq, "Ana")},
		{`name.familyName sw "Sou"`, uf(usermgmt.UserAttrFamilyName, usermgmt.FilterSw, "Sou")},
		{`externalId eq "00uAbC"`, uf(usermgmt.UserAttrExternalID, usermgmt.FilterEq, "00uAbC")},
		{`id eq "0190c7a6-0000-7000-8000-000000000001"`, uf(usermgmt.UserAttrID, usermgmt.FilterEq, "0190c7a6-0000-7000-8000-000000000001")},
		{`active eq true`, uf(usermgmt.UserAttrActive, usermgmt.FilterEq, "true")},
		{`active ne "False"`, uf(usermgmt.UserAttrActive, usermgmt.FilterNe, "false")},
		{`meta.created gt "2026-01-02T03:04:05Z"`, usermgmt.UserFilter{Op: usermgmt.FilterGt, Attr: usermgmt.UserAttrCreated, Time: created}},
		{`meta.lastModified le "2026-01-02T03:04:05Z"`, usermgmt.UserFilter{Op: usermgmt.FilterLe, Attr: usermgmt.UserAttrUpdated, Time: created}},
		{`meta.lastModified ge "2026-01-02T03:04:05Z"`, usermgmt.UserFilter{Op: usermgmt.FilterGe, Attr: usermgmt.UserAttrUpdated, Time: created}},
		{`meta.lastModified lt "2026-01-02T03:04:05Z"`, usermgmt.UserFilter{Op: usermgmt.FilterLt, Attr: usermgmt.UserAttrUpdated, Time: created}},
		{`displayName eq "say \"hi\" \u00E9"`, uf(usermgmt.UserAttrDisplayName, usermgmt.FilterEq, `say "hi" é`)},
		{`displayName eq "\u00e9 \\u00e9"`, uf(usermgmt.UserAttrDisplayName, usermgmt.FilterEq, `é \u00e9`)},
		{`userName eq "a@b.c" and displayName pr and active eq true`, logic(usermgmt.FilterAnd,
			uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "a@b.c"),
			usermgmt.UserFilter{Op: usermgmt.FilterPr, Attr: usermgmt.UserAttrDisplayName},
			uf(usermgmt.UserAttrActive, usermgmt.FilterEq, "true"))},
		{`userName eq "a@b.c" or userName eq "d@e.f"`, logic(usermgmt.FilterOr,
			uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "a@b.c"), uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "d@e.f"))},
		{`(userName sw "a" or userName sw "b") and not (active eq false)`, logic(usermgmt.FilterAnd,
			logic(usermgmt.FilterOr, uf(usermgmt.UserAttrEmail, usermgmt.FilterSw, "a"), uf(usermgmt.UserAttrEmail, usermgmt.FilterSw, "b")),
			logic(usermgmt.FilterNot, uf(usermgmt.UserAttrActive, usermgmt.FilterEq, "false")))},
		{`emails[type eq "work" and value co "acme"]`, logic(usermgmt.FilterAnd, matchAll, uf(usermgmt.UserAttrEmail, usermgmt.FilterCo, "acme"))},
		{`emails[type eq "home"]`, matchNone},
		{`emails[primary eq true]`, matchAll},
		{`emails[value eq "a@b.c"]`, uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "a@b.c")},
		{`emails[type eq "work"].value eq "A@b.c"`, logic(usermgmt.FilterAnd, matchAll, uf(usermgmt.UserAttrEmail, usermgmt.FilterEq, "a@b.c"))},
		{`emails[type eq "work"].value co "]. x" and userName pr`, logic(usermgmt.FilterAnd,
			matchAll, uf(usermgmt.UserAttrEmail, usermgmt.FilterCo, "]. x"), usermgmt.UserFilter{Op: usermgmt.FilterPr, Attr: usermgmt.UserAttrEmail})},
		{`(emails[type eq "home"].value pr)`, logic(usermgmt.FilterAnd, matchNone, usermgmt.UserFilter{Op: usermgmt.FilterPr, Attr: usermgmt.UserAttrEmail})},
		{`displayName eq "x]. y"`, uf(usermgmt.UserAttrDisplayName, usermgmt.FilterEq, "x]. y")},
	} {
		e, err := parseFilter(c.filter)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		got, err := userFilter(e)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.filter, got, c.want)
		}
	}
}

// TestUnsupportedFiltersAreInvalidFilter: what the store cannot evaluate
// and what does not parse is 400 invalidFilter, never a filter that
// silently matches more.
func TestUnsupportedFiltersAreInvalidFilter(t *testing.T) {
	for _, f := range []string{
		`title eq "x"`,
		`nickName pr`,
		`name.formatted eq "Ana"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x"`,
		`userName gt "a"`,
		`active co "t"`,
		`id sw "0190"`,
		`meta.created co "2026"`,
		`meta.created gt "yesterday"`,
		`userName eq 12`,
		`userName eq true`,
		`emails[type sw "w"]`,
		`groups[value eq "x"]`,
		`(emails[type eq "work"].value eq true)`,
		`emails[type eq "work"].nope eq "x"`,
		`emails[type eq "work"]. eq "x"`,
		`userName eq "x" garbage`,
		`userName eq`,
		`(userName eq "x"`,
	} {
		e, err := parseFilter(f)
		if err == nil {
			_, err = userFilter(e)
		}
		ae, ok := err.(*apiError)
		if !ok || ae.status != http.StatusBadRequest || ae.scimType != typeInvalidFilter {
			t.Errorf("%s: %v, want 400 invalidFilter", f, err)
		}
	}
}

// TestGroupFilterTranslation: the group filters of Okta and Entra ID, and
// the ones no group can match.
func TestGroupFilterTranslation(t *testing.T) {
	id := "0190c7a6-0000-7000-8000-000000000001"
	for _, c := range []struct {
		filter string
		want   usermgmt.GroupQuery
		none   bool
	}{
		{`displayName eq "HR Team"`, usermgmt.GroupQuery{DisplayName: "HR Team"}, false},
		{`externalId eq "abc"`, usermgmt.GroupQuery{ExternalID: "abc"}, false},
		{`id eq "` + id + `"`, usermgmt.GroupQuery{ID: uuid.MustParse(id)}, false},
		{`members[value eq "` + id + `"]`, usermgmt.GroupQuery{Member: uuid.MustParse(id)}, false},
		{`displayName eq "HR" and members[value eq "` + id + `"]`, usermgmt.GroupQuery{DisplayName: "HR", Member: uuid.MustParse(id)}, false},
		{`members.value eq "` + id + `" and externalId eq "e"`, usermgmt.GroupQuery{Member: uuid.MustParse(id), ExternalID: "e"}, false},
		{`displayName eq "a" and displayName eq "b"`, usermgmt.GroupQuery{DisplayName: "a"}, true},
		{`id eq "not-an-id"`, usermgmt.GroupQuery{}, true},
	} {
		e, err := parseFilter(c.filter)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		var q usermgmt.GroupQuery
		none, err := groupQuery(e, &q)
		if err != nil || none != c.none || (!none && q != c.want) {
			t.Errorf("%s: %+v none=%v %v; want %+v none=%v", c.filter, q, none, err, c.want, c.none)
		}
	}
	for _, f := range []string{`displayName co "HR"`, `displayName eq "a" or displayName eq "b"`, `not (displayName eq "a")`,
		`members[display eq "x"]`, `meta.created gt "2026-01-01T00:00:00Z"`} {
		e, err := parseFilter(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var q usermgmt.GroupQuery
		if _, err := groupQuery(e, &q); err == nil || err.(*apiError).scimType != typeInvalidFilter {
			t.Errorf("%s: %v, want invalidFilter", f, err)
		}
	}
}
