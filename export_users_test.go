package usermgmt_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// readCSV parses an export and returns its rows as maps by header.
func readCSV(t *testing.T, b []byte) (header []string, rows []map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs, "a CSV export always has its header")
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

// readJSONL parses an export of one JSON object a line.
func readJSONL(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var obj map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &obj), "line %q", sc.Text())
		out = append(out, obj)
	}
	require.NoError(t, sc.Err())
	return out
}

func exportUsers(t *testing.T, e *env, ctx context.Context, q usermgmt.ExportUsersQuery, f usermgmt.ExportFormat) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, e.m.ExportUsers(ctx, tenant, q, f, &b))
	return b.Bytes()
}

func TestExportUsers(t *testing.T) {
	e := mustManager(t)
	ana, secret, _, codes := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent, usermgmt.RoleSupervisor)
	bob, _ := e.invite(t, "bob@acme.test", usermgmt.RoleAgent)
	_, err := e.m.Deactivate(e.ctx, tenant, bob.ID)
	require.NoError(t, err)
	e.seedActive(t, "other", "ana.other@acme.test", usermgmt.RoleAgent)

	t.Run("CSVHasAHeaderAndEveryUserOfTheTenantByEmail", func(t *testing.T) {
		header, rows := readCSV(t, exportUsers(t, e, e.ctx, usermgmt.ExportUsersQuery{}, usermgmt.ExportCSV))
		assert.Equal(t, []string{"id", "email", "status", "roles", "direct_roles", "group_roles", "display_name",
			"given_name", "family_name", "external_id", "employee_number", "department", "manager_id", "mfa_enabled",
			"last_login_at", "created_at", "updated_at", "erased"}, header)
		require.Len(t, rows, 3)
		assert.Equal(t, []string{"admin@acme.test", "ana@acme.test", "bob@acme.test"},
			[]string{rows[0]["email"], rows[1]["email"], rows[2]["email"]})
		a := rows[1]
		assert.Equal(t, ana.ID.String(), a["id"])
		assert.Equal(t, "active", a["status"])
		assert.Equal(t, "supervisor; agent", a["roles"], "catalogue order")
		assert.Equal(t, "true", a["mfa_enabled"])
		assert.Equal(t, ana.LastLoginAt.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"), a["last_login_at"])
		assert.Equal(t, "", rows[2]["last_login_at"], "never logged in")
		assert.Equal(t, "deactivated", rows[2]["status"])
	})
	t.Run("JSONLIsOneSnakeCaseObjectALine", func(t *testing.T) {
		objs := readJSONL(t, exportUsers(t, e, e.ctx, usermgmt.ExportUsersQuery{}, usermgmt.ExportJSONL))
		require.Len(t, objs, 3)
		a := objs[1]
		assert.Equal(t, "ana@acme.test", a["email"])
		assert.Equal(t, []any{"supervisor", "agent"}, a["roles"])
		assert.Equal(t, []any{}, a["group_roles"])
		assert.Equal(t, true, a["mfa_enabled"])
		assert.Nil(t, objs[2]["last_login_at"])
	})
	t.Run("TheListFiltersApply", func(t *testing.T) {
		for name, c := range map[string]struct {
			q    usermgmt.ExportUsersQuery
			want []string
		}{
			"Status": {usermgmt.ExportUsersQuery{Status: usermgmt.StatusDeactivated}, []string{"bob@acme.test"}},
			"Role":   {usermgmt.ExportUsersQuery{Role: usermgmt.RoleSupervisor}, []string{"ana@acme.test"}},
			"Search": {usermgmt.ExportUsersQuery{Search: " ANA"}, []string{"ana@acme.test"}},
			"All": {usermgmt.ExportUsersQuery{Status: usermgmt.StatusActive, Role: usermgmt.RoleAgent, Search: "b"},
				nil},
		} {
			t.Run(name, func(t *testing.T) {
				_, rows := readCSV(t, exportUsers(t, e, e.ctx, c.q, usermgmt.ExportCSV))
				var got []string
				for _, r := range rows {
					got = append(got, r["email"])
				}
				assert.Equal(t, c.want, got)
			})
		}
	})
	t.Run("NeverASecret", func(t *testing.T) {
		rec := e.record(t, ana.ID)
		require.NotEmpty(t, rec.PasswordHash)
		for _, f := range []usermgmt.ExportFormat{usermgmt.ExportCSV, usermgmt.ExportJSONL} {
			out := string(exportUsers(t, e, e.ctx, usermgmt.ExportUsersQuery{}, f))
			assert.NotContains(t, out, rec.PasswordHash)
			assert.NotContains(t, out, "argon2")
			assert.NotContains(t, out, secret)
			for _, c := range codes {
				assert.NotContains(t, out, c)
			}
			assert.NotContains(t, strings.ToLower(out), "password")
			assert.NotContains(t, strings.ToLower(out), "secret")
		}
	})
	t.Run("AnEmptyCSVHasItsHeader", func(t *testing.T) {
		header, rows := readCSV(t, exportUsers(t, e, e.ctx, usermgmt.ExportUsersQuery{Search: "nobody"}, usermgmt.ExportCSV))
		assert.Contains(t, header, "email")
		assert.Empty(t, rows)
		assert.Empty(t, exportUsers(t, e, e.ctx, usermgmt.ExportUsersQuery{Search: "nobody"}, usermgmt.ExportJSONL))
	})
	t.Run("AnExportIsLoggedAboutWhoExported", func(t *testing.T) {
		officer := e.seedActive(t, tenant, "officer@acme.test", usermgmt.RoleComplianceOfficer)
		exportUsers(t, e, e.as(officer), usermgmt.ExportUsersQuery{Status: usermgmt.StatusActive, Search: "ANA"},
			usermgmt.ExportJSONL)
		exportUsers(t, e, system, usermgmt.ExportUsersQuery{}, usermgmt.ExportCSV)
		page, err := e.m.ListActivity(e.ctx, tenant, officer.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		require.Len(t, page.Events, 1, "the system's export is not logged")
		ev := page.Events[0]
		assert.Equal(t, usermgmt.EventExported, ev.Type)
		assert.Equal(t, "users as jsonl: status=active, search=ana", ev.Detail)
		assert.Equal(t, officer.ID, ev.ActorID)
		assert.Equal(t, "203.0.113.7", ev.IP)
	})
	t.Run("RefusalsWriteNothing", func(t *testing.T) {
		agent := e.seedActive(t, tenant, "agent@acme.test", usermgmt.RoleAgent)
		for name, c := range map[string]struct {
			ctx    context.Context
			tenant string
			q      usermgmt.ExportUsersQuery
			f      usermgmt.ExportFormat
			want   usermgmt.Code
		}{
			"AnAgent":       {e.as(agent), tenant, usermgmt.ExportUsersQuery{}, usermgmt.ExportCSV, usermgmt.CodePermissionDenied},
			"NoActor":       {context.Background(), tenant, usermgmt.ExportUsersQuery{}, usermgmt.ExportCSV, usermgmt.CodePermissionDenied},
			"OtherTenant":   {e.ctx, "other", usermgmt.ExportUsersQuery{}, usermgmt.ExportCSV, usermgmt.CodePermissionDenied},
			"BadFormat":     {e.ctx, tenant, usermgmt.ExportUsersQuery{}, "xlsx", usermgmt.CodeInvalid},
			"NoFormat":      {e.ctx, tenant, usermgmt.ExportUsersQuery{}, "", usermgmt.CodeInvalid},
			"BadStatus":     {e.ctx, tenant, usermgmt.ExportUsersQuery{Status: "gone"}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
			"UnknownRole":   {e.ctx, tenant, usermgmt.ExportUsersQuery{Role: "pilot"}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
			"ControlSearch": {e.ctx, tenant, usermgmt.ExportUsersQuery{Search: "a\x00"}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
			"NoTenant":      {e.ctx, "", usermgmt.ExportUsersQuery{}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
		} {
			t.Run(name, func(t *testing.T) {
				var b bytes.Buffer
				err := e.m.ExportUsers(c.ctx, c.tenant, c.q, c.f, &b)
				assert.Equal(t, c.want, code(err))
				assert.Zero(t, b.Len(), "nothing written before the request is allowed")
			})
		}
		page, err := e.m.ListActivity(e.ctx, tenant, agent.ID, usermgmt.ActivityQuery{})
		require.NoError(t, err)
		assert.Empty(t, page.Events, "a refused export is not logged")
	})
}

// A cell a spreadsheet would run as a formula is written as text in CSV;
// JSONL keeps every value as it is.
func TestExportUsersGuardsAgainstCSVInjection(t *testing.T) {
	e := mustManager(t)
	names := []string{`=HYPERLINK("http://evil.example","x")`, "+1+2", "-3", "@SUM(A1)", "\tTab", "\rCR", "Ann", "a=b"}
	for i, n := range names {
		u := e.seedActive(t, tenant, fmt.Sprintf("u%d@acme.test", i), usermgmt.RoleAgent)
		rec := e.record(t, u.ID)
		rec.DisplayName = n
		require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{},
			func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateUser(ctx, &rec) }))
	}
	_, rows := readCSV(t, exportUsers(t, e, e.ctx, usermgmt.ExportUsersQuery{Search: "@acme.test"}, usermgmt.ExportCSV))
	var got []string
	for _, r := range rows[1:] { // after admin@
		got = append(got, r["display_name"])
	}
	assert.Equal(t, []string{`'=HYPERLINK("http://evil.example","x")`, "'+1+2", "'-3", "'@SUM(A1)", "'\tTab", "'\rCR",
		"Ann", "a=b"}, got)

	objs := readJSONL(t, exportUsers(t, e, e.ctx, usermgmt.ExportUsersQuery{Search: "@acme.test"}, usermgmt.ExportJSONL))
	assert.Equal(t, names[0], objs[1]["display_name"])
}

// An export walks the list a page at a time, each page authorized anew:
// every user comes once, in order, and an actor deactivated while the
// export runs stops it at the next page.
func TestExportUsersPagesThroughTheList(t *testing.T) {
	e := mustManager(t)
	const n = 2500
	for i := range n {
		e.seedActive(t, tenant, fmt.Sprintf("user%05d@acme.test", i), usermgmt.RoleAgent)
	}
	_, rows := readCSV(t, exportUsers(t, e, e.ctx, usermgmt.ExportUsersQuery{Search: "user"}, usermgmt.ExportCSV))
	require.Len(t, rows, n)
	for i, r := range rows {
		require.Equal(t, fmt.Sprintf("user%05d@acme.test", i), r["email"])
	}

	officer := e.seedActive(t, tenant, "officer@acme.test", usermgmt.RoleComplianceOfficer)
	w := &onWrite{f: func() {
		_, err := e.m.Deactivate(e.ctx, tenant, officer.ID)
		require.NoError(t, err)
	}}
	err := e.m.ExportUsers(e.as(officer), tenant, usermgmt.ExportUsersQuery{}, usermgmt.ExportJSONL, w)
	assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
	assert.Len(t, readJSONL(t, w.Bytes()), 1000, "one page written, then refused")
}

// onWrite calls f on its first Write (outside the export's transactions).
type onWrite struct {
	bytes.Buffer
	f    func()
	done bool
}

func (w *onWrite) Write(p []byte) (int, error) {
	if !w.done {
		w.done = true
		w.f()
	}
	return w.Buffer.Write(p)
}

// record reads a user's stored record, secrets included.
func (e *env) record(t *testing.T, id uuid.UUID) usermgmt.UserRecord {
	t.Helper()
	var rec usermgmt.UserRecord
	require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true},
		func(ctx context.Context, tx usermgmt.Tx) error {
			var err error
			rec, err = tx.GetUser(ctx, tenant, id)
			return err
		}))
	return rec
}
