package scim

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// patchRequest reads body as a PatchOp request.
func patchOps(t *testing.T, body string) ([]patchOp, error) {
	t.Helper()
	r := httptest.NewRequest("PATCH", "/Users/x", strings.NewReader(body))
	return readPatch(r)
}

func applyUser(t *testing.T, st userState, body string) (userState, error) {
	t.Helper()
	ops, err := patchOps(t, body)
	if err != nil {
		return st, err
	}
	for _, op := range ops {
		if err := applyUserOp(&st, op); err != nil {
			return st, err
		}
	}
	return st, nil
}

func scimType(err error) string {
	if e, ok := err.(*apiError); ok {
		return e.scimType
	}
	return ""
}

// TestUserPatchOperations: add, replace and remove, with and without a
// path, value-filter paths, operation names in any case and Entra ID's
// string booleans, all applied to the state in memory.
func TestUserPatchOperations(t *testing.T) {
	ana := userState{email: "ana@acme.test", active: true,
		Profile: usermgmt.Profile{DisplayName: "Ana", GivenName: "Ana", FamilyName: "Sousa", ExternalID: "e1"}}
	for _, c := range []struct {
		name, body string
		want       func(*userState)
	}{
		{"ReplaceActiveWithEntraStringBoolean", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, func(s *userState) { s.active = false }},
		{"ReplaceWithoutPathDottedKeys", `{"Operations":[{"op":"replace","value":{"displayName":"Ana S","name.givenName":"Anna","active":false}}]}`,
			func(s *userState) { s.DisplayName, s.GivenName, s.active = "Ana S", "Anna", false }},
		{"AddNameObject", `{"Operations":[{"op":"add","path":"name","value":{"familyName":"Silva","formatted":"ignored"}}]}`,
			func(s *userState) { s.FamilyName = "Silva" }},
		{"ReplaceSubAttributeWithURN", `{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName","value":"Anna"}]}`,
			func(s *userState) { s.GivenName = "Anna" }},
		{"RemoveDisplayNameAndName", `{"Operations":[{"op":"remove","path":"displayName"},{"op":"REMOVE","path":"name"}]}`,
			func(s *userState) { s.DisplayName, s.GivenName, s.FamilyName = "", "", "" }},
		{"RemoveExternalID", `{"Operations":[{"op":"remove","path":"externalId"}]}`, func(s *userState) { s.ExternalID = "" }},
		{"EmailsValueFilterIsAcceptedUserNameWins", `{"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"other@acme.test"}]}`,
			func(*userState) {}},
		{"SameUserNameInOtherCase", `{"Operations":[{"op":"replace","path":"userName","value":"ANA@acme.test"}]}`, func(*userState) {}},
		{"OtherSchemasAndUnkeptAttributesAreIgnored", `{"Operations":[
			{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"HR"},
			{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7"},"title":"Boss","password":"x"}},
			{"op":"add","path":"phoneNumbers[type eq \"work\"].value","value":"+351"},
			{"op":"replace","path":"password","value":"secret"}]}`, func(*userState) {}},
		{"LaterOperationWins", `{"Operations":[{"op":"replace","path":"displayName","value":"A"},{"op":"replace","path":"displayName","value":"B"}]}`,
			func(s *userState) { s.DisplayName = "B" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := applyUser(t, ana, c.body)
			if err != nil {
				t.Fatal(err)
			}
			want := ana
			c.want(&want)
			if got != want {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestUserPatchRefusals: each refusal is a 400 with the scimType RFC 7644
// names.
func TestUserPatchRefusals(t *testing.T) {
	ana := userState{email: "ana@acme.test", active: true}
	for _, c := range []struct{ name, body, scimType string }{
		{"UserNameChangeIsMutability", `{"Operations":[{"op":"replace","path":"userName","value":"bob@acme.test"}]}`, typeMutability},
		{"UserNameChangeWithoutPath", `{"Operations":[{"op":"replace","value":{"userName":"bob@acme.test"}}]}`, typeMutability},
		{"RemoveUserName", `{"Operations":[{"op":"remove","path":"userName"}]}`, typeMutability},
		{"GroupsAreReadOnly", `{"Operations":[{"op":"add","path":"groups","value":[{"value":"x"}]}]}`, typeMutability},
		{"IDIsReadOnly", `{"Operations":[{"op":"replace","path":"id","value":"x"}]}`, typeMutability},
		{"RemoveWithoutPath", `{"Operations":[{"op":"remove"}]}`, typeNoTarget},
		{"BadPath", `{"Operations":[{"op":"replace","path":"name..givenName","value":"x"}]}`, typeInvalidPath},
		{"FilterOnSingleValued", `{"Operations":[{"op":"replace","path":"displayName[value eq \"x\"]","value":"x"}]}`, typeInvalidPath},
		{"UnknownOp", `{"Operations":[{"op":"move","path":"displayName","value":"x"}]}`, typeInvalidSyntax},
		{"NoOperations", `{"Operations":[]}`, typeInvalidSyntax},
		{"NotJSON", `{"Operations":[`, typeInvalidSyntax},
		{"ActiveNotABoolean", `{"Operations":[{"op":"replace","path":"active","value":"yes"}]}`, typeInvalidValue},
		{"DisplayNameNotAString", `{"Operations":[{"op":"replace","path":"displayName","value":7}]}`, typeInvalidValue},
		{"ValueWithoutPathNotAnObject", `{"Operations":[{"op":"add","value":"x"}]}`, typeInvalidValue},
		{"BadEmail", `{"Operations":[{"op":"replace","path":"userName","value":"not an email"}]}`, typeInvalidValue},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := applyUser(t, ana, c.body)
			if e, ok := err.(*apiError); !ok || e.status != http.StatusBadRequest || e.scimType != c.scimType {
				t.Fatalf("%v, want 400 %s", err, c.scimType)
			}
		})
	}
}

// TestGroupPatchGathersOneChange: the operations of one PATCH become one
// GroupChange, the member list never read.
func TestGroupPatchGathersOneChange(t *testing.T) {
	a, b, c := uuid.MustParse("0190c7a6-0000-7000-8000-00000000000a"), uuid.MustParse("0190c7a6-0000-7000-8000-00000000000b"),
		uuid.MustParse("0190c7a6-0000-7000-8000-00000000000c")
	change := func(t *testing.T, body string) usermgmt.GroupChange {
		t.Helper()
		ops, err := patchOps(t, body)
		if err != nil {
			t.Fatal(err)
		}
		var p groupPatch
		for _, op := range ops {
			if err := p.apply(op); err != nil {
				t.Fatal(err)
			}
		}
		return p.c
	}
	t.Run("AddAndRemoveByValueListAndFilter", func(t *testing.T) {
		got := change(t, `{"Operations":[
			{"op":"Add","path":"members","value":[{"value":"`+a.String()+`"},{"value":"`+b.String()+`"}]},
			{"op":"Remove","path":"members","value":[{"value":"`+c.String()+`"}]},
			{"op":"remove","path":"members[value eq \"`+b.String()+`\"]"}]}`)
		if !slices.Equal(got.Add, []uuid.UUID{a}) || !slices.Equal(got.Remove, []uuid.UUID{c, b}) || got.Members != nil {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("ReplaceWithoutPathAsOktaSendsIt", func(t *testing.T) {
		got := change(t, `{"Operations":[{"op":"replace","value":{"id":"whatever","displayName":"HR Team","externalId":"x1"}}]}`)
		if got.DisplayName == nil || *got.DisplayName != "HR Team" || got.ExternalID == nil || *got.ExternalID != "x1" || got.Add != nil {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("ReplaceMembersThenAdd", func(t *testing.T) {
		got := change(t, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+c.String()+`"}]},
			{"op":"replace","path":"members","value":[{"value":"`+a.String()+`"}]},
			{"op":"add","path":"members","value":[{"value":"`+b.String()+`"}]}]}`)
		if got.Members == nil || !slices.Equal(*got.Members, []uuid.UUID{a, b}) || got.Add != nil || got.Remove != nil {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("RemoveAllMembers", func(t *testing.T) {
		got := change(t, `{"Operations":[{"op":"remove","path":"members"}]}`)
		if got.Members == nil || len(*got.Members) != 0 {
			t.Fatalf("%+v", got)
		}
	})
	for _, bad := range []struct{ name, body, scimType string }{
		{"MemberNotAUUID", `{"Operations":[{"op":"add","path":"members","value":[{"value":"bob"}]}]}`, typeInvalidValue},
		{"ReplaceThroughFilter", `{"Operations":[{"op":"replace","path":"members[value eq \"` + a.String() + `\"]","value":{}}]}`, typeInvalidPath},
		{"FilterOnOtherSubAttribute", `{"Operations":[{"op":"remove","path":"members[display eq \"x\"]"}]}`, typeInvalidPath},
		{"RemoveDisplayName", `{"Operations":[{"op":"remove","path":"displayName"}]}`, typeMutability},
	} {
		t.Run(bad.name, func(t *testing.T) {
			ops, err := patchOps(t, bad.body)
			var p groupPatch
			for _, op := range ops {
				if err = p.apply(op); err != nil {
					break
				}
			}
			if scimType(err) != bad.scimType {
				t.Fatalf("%v, want %s", err, bad.scimType)
			}
		})
	}
}
