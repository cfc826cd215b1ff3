package scim

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
)

// TestProjection: attributes keeps what it names (sub-attributes too) and
// excludedAttributes drops it; id and schemas are always returned.
func TestProjection(t *testing.T) {
	res := func() map[string]any {
		return map[string]any{
			"schemas": []string{userSchema}, "id": "1", "userName": "a@b.c", "displayName": "A",
			"name":   map[string]any{"givenName": "A", "familyName": "B", "formatted": "A B"},
			"emails": []map[string]any{{"value": "a@b.c", "type": "work", "primary": true}},
			"meta":   map[string]any{"resourceType": "User"},
		}
	}
	for _, c := range []struct {
		query string
		want  map[string]any
	}{
		{"attributes=userName,name.givenName", map[string]any{"schemas": []string{userSchema}, "id": "1", "userName": "a@b.c",
			"name": map[string]any{"givenName": "A"}}},
		{"attributes=urn:ietf:params:scim:schemas:core:2.0:User:DISPLAYNAME,emails.value,id", map[string]any{
			"schemas": []string{userSchema}, "id": "1", "displayName": "A", "emails": []map[string]any{{"value": "a@b.c"}}}},
		{"excludedAttributes=name,emails.type,id,schemas,meta", map[string]any{"schemas": []string{userSchema}, "id": "1",
			"userName": "a@b.c", "displayName": "A", "emails": []map[string]any{{"value": "a@b.c", "primary": true}}}},
		{"", res()},
	} {
		r := httptest.NewRequest("GET", "/Users?"+url.PathEscape(c.query), nil)
		r.URL.RawQuery = c.query
		p, err := parseProjection(r, userSchema)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.apply(res()); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.query, got, c.want)
		}
	}
	r := httptest.NewRequest("GET", "/Users?attributes=userName&excludedAttributes=name", nil)
	if _, err := parseProjection(r, userSchema); scimType(err) != typeInvalidValue {
		t.Errorf("both parameters: %v, want invalidValue", err)
	}
}
