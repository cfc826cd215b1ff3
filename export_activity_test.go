package usermgmt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// logAt appends an event about u by actor whose UUIDv7 id is of at's
// millisecond, as the Manager stamps ids from the wall clock.
func (e *env) logAt(t *testing.T, u usermgmt.User, actor uuid.UUID, at time.Time, typ usermgmt.EventType) usermgmt.Event {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(id[:6], ms[2:])
	ev := usermgmt.Event{ID: id, TenantID: u.TenantID, UserID: u.ID, Type: typ, ActorID: actor, IP: "198.51.100.7",
		UserAgent: "=cmd|' /C calc'!A0", Detail: "agent", CreatedAt: at}
	require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.AppendEvent(ctx, &ev)
	}))
	return ev
}

func TestExportActivity(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) {
		o.Roles = append(usermgmt.DefaultRoles(), usermgmt.RoleDef{Name: "auditor",
			Permissions: []usermgmt.Permission{usermgmt.PermReadActivity}})
	})
	ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
	bob := e.seedActive(t, tenant, "bob@acme.test", usermgmt.RoleAgent)
	stranger := e.seedActive(t, "other", "x@other.test", usermgmt.RoleAgent)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	before := e.logAt(t, ana, e.admin.ID, t0.Add(-time.Millisecond), usermgmt.EventRoleGranted)
	first := e.logAt(t, bob, e.admin.ID, t0, usermgmt.EventRoleGranted)
	second := e.logAt(t, ana, uuid.Nil, t0.Add(time.Hour), usermgmt.EventDeactivated)
	third := e.logAt(t, bob, bob.ID, t0.Add(2*time.Hour), usermgmt.EventLoginSucceeded)
	last := e.logAt(t, ana, e.admin.ID, t0.Add(24*time.Hour-time.Millisecond), usermgmt.EventRoleRevoked)
	e.logAt(t, ana, e.admin.ID, t0.Add(24*time.Hour), usermgmt.EventRoleGranted)
	e.logAt(t, stranger, uuid.Nil, t0.Add(time.Hour), usermgmt.EventDeactivated)
	day := usermgmt.ExportActivityQuery{From: t0, To: t0.Add(24 * time.Hour)}

	export := func(t *testing.T, ctx context.Context, q usermgmt.ExportActivityQuery, f usermgmt.ExportFormat) []byte {
		t.Helper()
		var b bytes.Buffer
		require.NoError(t, e.m.ExportActivity(ctx, tenant, q, f, &b))
		return b.Bytes()
	}

	t.Run("EveryUsersEventsOfTheRangeOldestFirst", func(t *testing.T) {
		header, rows := readCSV(t, export(t, e.ctx, day, usermgmt.ExportCSV))
		assert.Equal(t, []string{"id", "created_at", "type", "user_id", "actor_id", "actor_email", "actor_name", "ip",
			"user_agent", "detail"}, header)
		var ids []string
		for _, r := range rows {
			ids = append(ids, r["id"])
		}
		assert.Equal(t, []string{first.ID.String(), second.ID.String(), third.ID.String(), last.ID.String()}, ids,
			"From is in, To is out, the other tenant is not there")
		assert.Equal(t, map[string]string{"id": first.ID.String(), "created_at": "2026-03-01T00:00:00Z",
			"type": "role.granted", "user_id": bob.ID.String(), "actor_id": e.admin.ID.String(),
			"actor_email": "admin@acme.test", "actor_name": "", "ip": "198.51.100.7",
			"user_agent": "'=cmd|' /C calc'!A0", "detail": "agent"}, rows[0])
		assert.Equal(t, "", rows[1]["actor_id"], "the system")
		assert.NotContains(t, ids, before.ID.String())
	})
	t.Run("JSONLKeepsValuesAsTheyAre", func(t *testing.T) {
		objs := readJSONL(t, export(t, e.ctx, day, usermgmt.ExportJSONL))
		require.Len(t, objs, 4)
		assert.Equal(t, "=cmd|' /C calc'!A0", objs[0]["user_agent"])
		assert.Nil(t, objs[1]["actor_id"], "the system is null")
		assert.Equal(t, "user.deactivated", objs[1]["type"])
	})
	t.Run("WithoutTheListPermissionNoActorEmail", func(t *testing.T) {
		auditor := e.seedActive(t, tenant, "auditor@acme.test", "auditor")
		_, rows := readCSV(t, export(t, e.as(auditor), day, usermgmt.ExportCSV))
		require.Len(t, rows, 4)
		assert.Equal(t, e.admin.ID.String(), rows[0]["actor_id"])
		assert.Equal(t, "", rows[0]["actor_email"])
	})
	t.Run("AnOpenRangeIsTheWholeLogUntilNow", func(t *testing.T) {
		_, err := e.m.Deactivate(e.ctx, tenant, ana.ID) // events of now
		require.NoError(t, err)
		_, rows := readCSV(t, export(t, system, usermgmt.ExportActivityQuery{}, usermgmt.ExportCSV))
		var types []string
		for _, r := range rows {
			types = append(types, r["type"])
		}
		assert.Equal(t, []string{"role.granted", "role.granted", "user.deactivated", "login.succeeded", "role.revoked",
			"role.granted", "data.exported", "data.exported", "data.exported", "user.deactivated", "sessions.revoked"}, types,
			"the exports above were logged, the system's are not")
		assert.Equal(t, before.ID.String(), rows[0]["id"])
		assert.Equal(t, "activity as csv: from=2026-03-01T00:00:00Z, to=2026-03-02T00:00:00Z", rows[6]["detail"])
		assert.Equal(t, e.admin.ID.String(), rows[6]["user_id"], "about the one who exported")
		_, rows = readCSV(t, export(t, system, usermgmt.ExportActivityQuery{From: t0.Add(24 * time.Hour)}, usermgmt.ExportCSV))
		assert.Len(t, rows, 6)
	})
	t.Run("RefusalsWriteNothing", func(t *testing.T) {
		for name, c := range map[string]struct {
			ctx  context.Context
			q    usermgmt.ExportActivityQuery
			f    usermgmt.ExportFormat
			want usermgmt.Code
		}{
			"AnAgent":          {e.as(ana), day, usermgmt.ExportCSV, usermgmt.CodePermissionDenied},
			"NoActor":          {context.Background(), day, usermgmt.ExportCSV, usermgmt.CodePermissionDenied},
			"BadFormat":        {e.ctx, day, "xml", usermgmt.CodeInvalid},
			"ToBeforeFrom":     {e.ctx, usermgmt.ExportActivityQuery{From: t0, To: t0.Add(-time.Hour)}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
			"EmptyRange":       {e.ctx, usermgmt.ExportActivityQuery{From: t0, To: t0}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
			"BeforeUnixTime":   {e.ctx, usermgmt.ExportActivityQuery{From: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
			"PastUUIDv7":       {e.ctx, usermgmt.ExportActivityQuery{To: time.Date(10900, 1, 1, 0, 0, 0, 0, time.UTC)}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
			"ToBeforeUnixTime": {e.ctx, usermgmt.ExportActivityQuery{To: time.Unix(-5, 0)}, usermgmt.ExportCSV, usermgmt.CodeInvalid},
		} {
			t.Run(name, func(t *testing.T) {
				var b bytes.Buffer
				err := e.m.ExportActivity(c.ctx, tenant, c.q, c.f, &b)
				assert.Equal(t, c.want, code(err))
				assert.Zero(t, b.Len())
			})
		}
		var b bytes.Buffer
		assert.Equal(t, usermgmt.CodeInvalid, code(e.m.ExportActivity(e.ctx, "a\nb", day, usermgmt.ExportCSV, &b)))
		assert.Equal(t, usermgmt.CodePermissionDenied, code(e.m.ExportActivity(e.ctx, "other", day, usermgmt.ExportCSV, &b)))
		assert.Zero(t, b.Len())
	})
}

// The export walks the log a page at a time: a log longer than a page
// comes whole, once, in order.
func TestExportActivityPagesThroughTheLog(t *testing.T) {
	e := mustManager(t)
	ana := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
	bob := e.seedActive(t, tenant, "bob@acme.test", usermgmt.RoleAgent)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for i := range 2345 {
		u := ana
		if i%3 == 0 {
			u = bob
		}
		want = append(want, e.logAt(t, u, e.admin.ID, t0.Add(time.Duration(i)*time.Second), usermgmt.EventLoginSucceeded).ID.String())
	}
	objs := readJSONL(t, func() []byte {
		var b bytes.Buffer
		require.NoError(t, e.m.ExportActivity(e.ctx, tenant, usermgmt.ExportActivityQuery{From: t0, To: t0.Add(time.Hour)},
			usermgmt.ExportJSONL, &b))
		return b.Bytes()
	}())
	var got []string
	for _, o := range objs {
		got = append(got, o["id"].(string))
	}
	assert.Equal(t, want, got)
}
