package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// GET /users/export and GET /activity/export answer an attachment, streamed;
// what is refused before the first byte is an ordinary JSON error.
func TestExportRoutes(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	_, agentTok, _ := f.active(t, "acme", "agent@acme.test", usermgmt.RoleAgent)
	f.invite(t, "acme", "=evil@acme.test", usermgmt.RoleAgent)

	t.Run("UsersAsCSV", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/users/export?format=csv&status=active&q=acme", bearer: tok})
		require.Equal(t, 200, w.Code, w.Body.String())
		assert.Equal(t, "text/csv; charset=utf-8; header=present", w.Header().Get("Content-Type"))
		assert.Equal(t, `attachment; filename=users-2026-03-02T090100Z.csv`, w.Header().Get("Content-Disposition"))
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
		recs, err := csv.NewReader(w.Body).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 3, "the header and the two active users")
		assert.Equal(t, "email", recs[0][1])
		assert.Equal(t, []string{"admin@acme.test", "agent@acme.test"}, []string{recs[1][1], recs[2][1]})
	})
	t.Run("UsersAsJSONLWithTheListFilters", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/users/export?format=jsonl&status=invited&role=agent", bearer: tok})
		require.Equal(t, 200, w.Code, w.Body.String())
		assert.Equal(t, "application/jsonl; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Contains(t, w.Header().Get("Content-Disposition"), ".jsonl")
		lines := strings.Split(strings.TrimSuffix(w.Body.String(), "\n"), "\n")
		require.Len(t, lines, 1)
		assert.Contains(t, lines[0], `"email":"=evil@acme.test"`)
	})
	t.Run("CSVIsTheDefault", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/users/export?status=all", bearer: tok})
		require.Equal(t, 200, w.Code)
		assert.Contains(t, w.Body.String(), ",'=evil@acme.test,", "a formula is text")
	})
	t.Run("AnEmptyJSONLIsAnAttachmentToo", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/users/export?format=jsonl&q=nobody", bearer: tok})
		require.Equal(t, 200, w.Code)
		assert.Contains(t, w.Header().Get("Content-Disposition"), "attachment")
		assert.Zero(t, w.Body.Len())
	})
	t.Run("Activity", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/activity/export?format=csv&from=2000-01-01T00:00:00Z", bearer: tok})
		require.Equal(t, 200, w.Code, w.Body.String())
		assert.Contains(t, w.Header().Get("Content-Disposition"), "filename=activity-")
		recs, err := csv.NewReader(w.Body).ReadAll()
		require.NoError(t, err)
		assert.Equal(t, "type", recs[0][2])
		var types []string
		for _, r := range recs[1:] {
			types = append(types, r[2])
		}
		assert.Contains(t, types, "user.invited")
		assert.Contains(t, types, "mfa.enrolled")

		w = f.do(t, req{method: "GET", path: "/activity/export?format=jsonl&from=2000-01-01T00:00:00Z&to=2000-02-01T00:00:00%2B01:00",
			bearer: tok})
		require.Equal(t, 200, w.Code, w.Body.String())
		assert.Zero(t, w.Body.Len(), "nothing in January 2000")
	})
	t.Run("RefusalsAreJSONErrors", func(t *testing.T) {
		for _, c := range []struct {
			path, bearer string
			status       int
			code         string
		}{
			{"/users/export", "", 401, "unauthenticated"},
			{"/users/export", agentTok, 403, "permission_denied"},
			{"/activity/export", agentTok, 403, "permission_denied"},
			{"/users/export?format=xlsx", tok, 400, "invalid"},
			{"/users/export?status=gone", tok, 400, "invalid"},
			{"/users/export?role=pilot", tok, 400, "invalid"},
			{"/users/export?limit=5", tok, 400, "invalid"},
			{"/activity/export?from=yesterday", tok, 400, "invalid"},
			{"/activity/export?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", tok, 400, "invalid"},
			{"/activity/export?format=pdf", tok, 400, "invalid"},
		} {
			t.Run(c.path, func(t *testing.T) {
				w := f.do(t, req{method: "GET", path: c.path, bearer: c.bearer})
				wantError(t, w, c.status, c.code)
				assert.Empty(t, w.Header().Get("Content-Disposition"))
			})
		}
	})
}

// The answer is written as the export reads it: in many small writes,
// never the whole body at once.
func TestExportIsStreamed(t *testing.T) {
	f := newFixture(t, nil)
	_, tok, _ := f.active(t, "acme", "admin@acme.test", usermgmt.RoleTenantAdmin)
	inviteMany(t, f, 2500)
	w := &watched{ResponseRecorder: httptest.NewRecorder()}
	f.raw.ServeHTTP(w, exportRequest(tok, "format=jsonl"))
	require.Equal(t, 200, w.Code)
	assert.Equal(t, 2501, bytes.Count(w.Body.Bytes(), []byte("\n")))
	assert.Greater(t, w.n, 10, "written in pieces")
	assert.LessOrEqual(t, w.largest, 32<<10, "no piece larger than the export's buffer")
}

// watched records an answer and counts its writes; first, if set, runs
// on the first.
type watched struct {
	*httptest.ResponseRecorder
	n, largest int
	first      func()
}

func (w *watched) Write(p []byte) (int, error) {
	if w.n == 0 && w.first != nil {
		w.first()
	}
	w.n, w.largest = w.n+1, max(w.largest, len(p))
	return w.ResponseRecorder.Write(p)
}

// An export that fails after its first byte cannot answer an error any
// more: the connection is cut (http.ErrAbortHandler), so that the client
// sees a failed download, not a short file that looks whole.
func TestExportCutShortAborts(t *testing.T) {
	f := newFixture(t, nil)
	officer, officerTok, _ := f.active(t, "acme", "officer@acme.test", usermgmt.RoleComplianceOfficer)
	inviteMany(t, f, 1200)
	w := &watched{ResponseRecorder: httptest.NewRecorder(), first: func() {
		_, err := f.m.Deactivate(usermgmt.AsSystem(context.Background()), "acme", officer.ID)
		require.NoError(t, err)
	}}
	r := exportRequest(officerTok, "")
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { f.raw.ServeHTTP(w, r) })
	assert.Equal(t, 200, w.Code, "the answer had begun")
}

// inviteMany invites n agents to acme, as trusted code.
func inviteMany(t *testing.T, f *fixture, n int) {
	t.Helper()
	ctx := usermgmt.AsSystem(context.Background())
	for i := range n {
		_, err := f.m.InviteUser(ctx, "acme", usermgmt.Invite{Email: fmt.Sprintf("user%04d@acme.test", i),
			Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.NoError(t, err)
	}
}

// exportRequest is GET /users/export?query by the session tok.
func exportRequest(tok, query string) *http.Request {
	r := httptest.NewRequest("GET", "/users/export?"+query, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}
