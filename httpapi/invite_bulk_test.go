package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// TestBulkInvitePreviewThenSend: the preview answers a row for each
// invitation, the wrong ones with the code and field a single invitation
// would get, and writes nothing; the send invites the good rows and
// leaves their mail to the outbox.
func TestBulkInvitePreviewThenSend(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	f.invite(t, "acme", "taken@acme.test", usermgmt.RoleAgent)
	f.mail.Reset()
	list := `[{"email":"Ana@acme.test","roles":["agent"]},{"email":"nope","roles":["agent"]},
		{"email":"ana@acme.test","roles":["agent"]},{"email":"taken@acme.test","roles":["agent"]},
		{"email":"bo@acme.test","roles":["wizard"]},{"email":"cy@acme.test","roles":["supervisor","agent"]}]`
	want := []string{"", "invalid/email", "conflict/email", "conflict/email", "invalid/role", ""}
	answers := func(res httpapi.BulkInviteResult) []string {
		out := make([]string, len(res.Rows))
		for i, r := range res.Rows {
			if r.Row != i {
				t.Fatalf("row %d answers as row %d", i, r.Row)
			}
			if r.Error != nil {
				out[i] = string(r.Error.Code) + "/" + r.Error.Field
				if r.Error.Message == "" || r.UserID != nil {
					t.Fatalf("refused row %d: %+v", i, r)
				}
			}
		}
		return out
	}

	w := f.do(t, req{method: "POST", path: "/users/invitations/bulk", body: `{"dry_run":true,"invitations":` + list + `}`, bearer: tok})
	if w.Code != 200 {
		t.Fatalf("preview: %d %s", w.Code, w.Body)
	}
	res := decodeBody[httpapi.BulkInviteResult](t, w)
	if got := answers(res); fmt.Sprint(got) != fmt.Sprint(want) || !res.DryRun || res.Invited != 2 || res.Refused != 4 {
		t.Fatalf("preview = %v (%+v), want %v", got, res, want)
	}
	if res.Rows[0].UserID != nil || res.Rows[0].Email != "ana@acme.test" {
		t.Fatalf("preview row 0 = %+v: normalised, no user", res.Rows[0])
	}
	if page := decodeBody[httpapi.UserPage](t, f.do(t, req{method: "GET", path: "/users?limit=1", bearer: tok})); page.Counts.All != 2 {
		t.Fatalf("the preview wrote users: %+v", page.Counts)
	}

	w = f.do(t, req{method: "POST", path: "/users/invitations/bulk", body: `{"invitations":` + list + `}`, bearer: tok})
	if w.Code != 200 {
		t.Fatalf("send: %d %s", w.Code, w.Body)
	}
	res = decodeBody[httpapi.BulkInviteResult](t, w)
	if got := answers(res); fmt.Sprint(got) != fmt.Sprint(want) || res.DryRun || res.Invited != 2 {
		t.Fatalf("send = %v (%+v), want %v", got, res, want)
	}
	for _, i := range []int{0, 5} {
		u := decodeBody[httpapi.User](t, f.do(t, req{method: "GET", path: "/users/" + res.Rows[i].UserID.String(), bearer: tok}))
		if u.Email != res.Rows[i].Email || u.Status != usermgmt.StatusInvited {
			t.Fatalf("row %d made %+v", i, u)
		}
	}
	if n := len(f.mail.Messages()); n != 0 {
		t.Fatalf("%d mails sent before the outbox worker ran", n)
	}
	if d, err := f.m.DeliverPending(t.Context()); err != nil || d.Sent != 2 {
		t.Fatalf("DeliverPending = %+v, %v", d, err)
	}
}

// TestBulkInviteRefusals: the whole request is refused without
// users.invite, with no invitation, past the cap, and with a body that
// is not the schema's; a hr_admin's tenant_admin row is refused alone.
func TestBulkInviteRefusals(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, hr, _ := f.active(t, "acme", "hr@acme.test", usermgmt.RoleHRAdmin)
	_, manager, _ := f.active(t, "acme", "manager@acme.test", usermgmt.RoleHRManager)
	one := `{"invitations":[{"email":"a@acme.test","roles":["agent"]}]}`

	wantError(t, f.do(t, req{method: "POST", path: "/users/invitations/bulk", body: one, bearer: manager}), 403, "permission_denied")
	wantError(t, f.do(t, req{method: "POST", path: "/users/invitations/bulk", body: `{"invitations":[]}`, bearer: tok}), 400, "invalid")
	wantError(t, f.do(t, req{method: "POST", path: "/users/invitations/bulk", body: `{"invitations":[{"email":"a@acme.test","admin":true}]}`,
		bearer: tok}), 400, "invalid")
	rows := make([]string, usermgmt.MaxBulkInvites+1)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"email":"p%d@acme.test","roles":["agent"]}`, i)
	}
	wantError(t, f.do(t, req{method: "POST", path: "/users/invitations/bulk", body: `{"dry_run":true,"invitations":[` + strings.Join(rows, ",") + `]}`,
		bearer: tok}), 400, "invalid")

	w := f.do(t, req{method: "POST", path: "/users/invitations/bulk", bearer: hr,
		body: `{"invitations":[{"email":"boss@acme.test","roles":["tenant_admin"]},{"email":"a@acme.test","roles":["agent"]}]}`})
	res := decodeBody[httpapi.BulkInviteResult](t, w)
	if w.Code != 200 || res.Rows[0].Error == nil || res.Rows[0].Error.Code != usermgmt.CodePermissionDenied || res.Rows[1].Error != nil {
		t.Fatalf("hr_admin inviting a tenant_admin among others: %d %s", w.Code, w.Body)
	}
}

// TestBulkInviteOfAThousand: the cap's worth of invitations fits in one
// request body of the default size and is invited in one call.
func TestBulkInviteOfAThousand(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	rows := make([]string, 1000)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"email":"person.number.%04d@a-rather-long-company-domain.example","roles":["supervisor","agent"]}`, i)
	}
	body := `{"invitations":[` + strings.Join(rows, ",") + `]}`
	w := f.do(t, req{method: "POST", path: "/users/invitations/bulk", body: body, bearer: tok})
	res := decodeBody[httpapi.BulkInviteResult](t, w)
	if w.Code != 200 || res.Invited != 1000 {
		t.Fatalf("1,000 invitations (%d bytes): %d, %d invited", len(body), w.Code, res.Invited)
	}
	if page := decodeBody[httpapi.UserPage](t, f.do(t, req{method: "GET", path: "/users?limit=1", bearer: tok})); page.Counts.Invited != 1000 {
		t.Fatalf("counts %+v", page.Counts)
	}
}
