package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// The append-only rule of events (0001, 0012) lets exactly the erasure's
// update through: inside a transaction that set usermgmt.erasing, and
// only clearing ip, user_agent and detail. Nothing else passes, the flag
// ends with its transaction, and DELETE never passes.
func TestEventsAllowOnlyTheErasure(t *testing.T) {
	s := newStore(t)
	ev := &usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: "t1", UserID: uuid.New(), Type: usermgmt.EventLoginFailed,
		ActorID: uuid.New(), IP: "198.51.100.23", UserAgent: "ua", Detail: "password change", CreatedAt: t0}
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.AppendEvent(ctx, ev) })
	db := openDB(t)
	db.SetMaxOpenConns(1) // one connection: a flag that outlived its transaction would show
	q := `"` + s.Schema() + `".events`
	const on = `SELECT set_config('usermgmt.erasing', pg_current_xact_id()::text, true)`
	// run runs stmts in one transaction and returns the first error.
	run := func(stmts ...string) error {
		tx, err := db.DB.Begin()
		require.NoError(t, err)
		defer tx.Rollback()
		for _, st := range stmts {
			if _, err := tx.Exec(st); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
	refused := func(err error, what string) {
		t.Helper()
		require.Error(t, err, what)
		assert.Contains(t, err.Error(), "42501", what) // insufficient_privilege, from the trigger
	}

	clear := `UPDATE ` + q + ` SET ip = '', user_agent = '', detail = ''`
	refused(run(clear), "an update without the flag")
	refused(run(`DELETE FROM `+q), "a delete")
	refused(run(on, `DELETE FROM `+q), "a delete with the flag")
	refused(run(`SELECT set_config('usermgmt.erasing', 'on', true)`, clear), "a flag that is not the transaction's id")
	require.NoError(t, run(`SELECT set_config('usermgmt.erasing', pg_current_xact_id()::text, false)`))
	refused(run(clear), "a flag left in the session names a transaction that is over")
	_, err := db.DB.Exec(`RESET usermgmt.erasing`)
	require.NoError(t, err)
	for what, set := range map[string]string{
		"another column":     `type = 'user.erased'`,
		"the actor":          `actor_id = gen_random_uuid()`,
		"the time":           `created_at = now()`,
		"an ip not cleared":  `ip = '192.0.2.1', user_agent = ''`,
		"a detail rewritten": `ip = '', user_agent = '', detail = 'something else'`,
	} {
		refused(run(on, `UPDATE `+q+` SET `+set), what+" with the flag")
	}
	require.NoError(t, run(on, `SELECT 1`))
	refused(run(clear), "the flag ended with its transaction")
	refused(run(on, `SELECT set_config('usermgmt.erasing', '', true)`, clear), "the flag turned off")

	require.NoError(t, run(on, clear), "the erasure passes")
	var ip, ua, detail string
	require.NoError(t, db.DB.QueryRow(`SELECT ip, user_agent, detail FROM `+q).Scan(&ip, &ua, &detail))
	assert.Equal(t, [3]string{}, [3]string{ip, ua, detail})
	require.NoError(t, run(on, `UPDATE `+q+` SET ip = '', user_agent = ''`), "clearing again, keeping the detail, passes")
	assert.Equal(t, 1, count(t, db, s, "events", ""))
}

// After EraseUser on PostgreSQL, the person's address, names, IP and
// User-Agent are in no row of any table of the schema: every table is
// read whole, each row as text.
func TestEraseUserLeavesNoTraceInTheSchema(t *testing.T) {
	in := twoManagers(t)
	ctx := context.Background()
	sys := usermgmt.AsSystem(ctx)
	admin, _, _ := in.onboard(t, "admin@acme.test", usermgmt.RoleTenantAdmin)
	asAdmin := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: admin.ID, IP: "203.0.113.1", VerifiedAt: in.clock.Now()})
	const ip, ua = "198.51.100.23", "QuokkaBrowser/7.0 (anas-laptop)"
	asAna := func(id uuid.UUID) context.Context {
		return usermgmt.WithActor(ctx, usermgmt.Actor{UserID: id, IP: ip, UserAgent: ua})
	}

	// Ana: provisioned with a profile, set up, signed in on a trusted
	// device, in a group, with failed sign-ins, a pending mail, and an
	// action of her own on a colleague.
	ana, err := in.one.ProvisionUser(sys, "acme", usermgmt.Provision{Email: "Ana.Quokka@acme.test", Active: true,
		SendInvite: true, Roles: []usermgmt.Role{usermgmt.RoleHRAdmin},
		Profile: usermgmt.Profile{DisplayName: "Anastasia Quokka", GivenName: "Anastasia", FamilyName: "Quokka",
			ExternalID: "okta-anastasia", EmployeeNumber: "EMP-quokka-77", Department: "Quokka Dept", ManagerID: "quokka-boss"}})
	require.NoError(t, err)
	enr, err := in.two.AcceptInvite(asAna(ana.ID), in.mail.Token(ana.Email), pw)
	require.NoError(t, err)
	_, err = in.two.CompleteMFAEnrollment(asAna(ana.ID), enr.Token, in.code(t, enr.Secret))
	require.NoError(t, err)
	in.clock.Advance(30 * time.Second)
	res, err := in.one.Login(asAna(ana.ID), usermgmt.LoginRequest{TenantID: "acme", Email: ana.Email, Password: pw})
	require.NoError(t, err)
	_, err = in.two.VerifyMFA(asAna(ana.ID), res.MFAChallenge, in.code(t, enr.Secret), true)
	require.NoError(t, err)
	_, err = in.one.Login(asAna(ana.ID), usermgmt.LoginRequest{TenantID: "acme", Email: ana.Email, Password: "not the password!"})
	require.Equal(t, usermgmt.CodeUnauthenticated, usermgmt.ErrorCode(err))
	g, err := in.one.CreateGroup(sys, "acme", usermgmt.NewGroup{DisplayName: "Engineers", Members: []uuid.UUID{ana.ID}})
	require.NoError(t, err)
	bob, _, _ := in.onboard(t, "bob@acme.test", usermgmt.RoleAgent)
	_, err = in.one.GrantRole(asAna(ana.ID), "acme", bob.ID, usermgmt.RoleSupervisor)
	require.NoError(t, err)
	in.mail.FailNext(errors.New("smtp down"))
	err = in.one.SendPasswordReset(asAdmin, "acme", ana.ID)
	require.Equal(t, usermgmt.CodeDeliveryFailed, usermgmt.ErrorCode(err), "the mail waits in the outbox")

	db := openDB(t)
	needles := []string{"ana.quokka@acme.test", "Anastasia", "Quokka", "quokka", "okta-anastasia", ip, ua}
	traces := func() map[string]int {
		found := map[string]int{}
		rows, err := db.DB.Query(`SELECT table_name FROM information_schema.tables
			WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, in.store.Schema())
		require.NoError(t, err)
		var tables []string
		for rows.Next() {
			var name string
			require.NoError(t, rows.Scan(&name))
			tables = append(tables, name)
		}
		require.NoError(t, rows.Err())
		require.Contains(t, tables, "events")
		for _, table := range tables {
			for _, n := range needles {
				var c int
				require.NoError(t, db.DB.QueryRow(`SELECT count(*) FROM "`+in.store.Schema()+`"."`+table+`" x
					WHERE strpos(x::text, $1) > 0`, n).Scan(&c))
				if c > 0 {
					found[table+": "+n] += c
				}
			}
		}
		return found
	}
	before := traces()
	for _, table := range []string{"users", "events", "sessions", "devices", "login_attempts", "outbox", "user_roles"} {
		hit := false
		for k := range before {
			hit = hit || len(k) > len(table) && k[:len(table)+1] == table+":"
		}
		assert.True(t, hit, "the test's person is in %s before the erasure: %v", table, before)
	}

	require.NoError(t, in.two.EraseUser(asAdmin, "acme", ana.ID))
	assert.Empty(t, traces(), "nothing of the person is left")

	got, err := in.one.GetUser(asAdmin, "acme", ana.ID)
	require.NoError(t, err)
	assert.True(t, got.Erased())
	page, err := in.one.ListUsers(asAdmin, "acme", usermgmt.ListUsersQuery{})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusCounts{Active: 2, Deactivated: 1, All: 3}, page.Counts, "the badge counts follow")
	grp, err := in.one.GetGroup(asAdmin, "acme", g.ID)
	require.NoError(t, err)
	assert.Zero(t, grp.Members, "the group's count follows")
	acts, err := in.one.ListActivity(asAdmin, "acme", bob.ID, usermgmt.ActivityQuery{Limit: 50})
	require.NoError(t, err)
	var byAna *usermgmt.Event
	for i := range acts.Events {
		if acts.Events[i].ActorID == ana.ID {
			byAna = &acts.Events[i]
		}
	}
	require.NotNil(t, byAna)
	assert.Equal(t, "Erased user", byAna.ActorName)
}

// The actor update of an erasure reads the events a user acted in on
// others through events_tenant_actor, not the whole tenant's log.
func TestEraseUserFindsActedEventsByIndex(t *testing.T) {
	db, s := planStore(t)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	_, err := db.DB.ExecContext(ctx, `INSERT INTO `+q+`.events (tenant_id, user_id, id, type, actor_id, created_at)
		SELECT 't1', gen_random_uuid(), gen_random_uuid(), 'login.succeeded', gen_random_uuid(), now()
		FROM generate_series(1, 20000)`)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE `+q+`.events`)
	require.NoError(t, err)
	plan := explain(t, db.DB, `EXPLAIN UPDATE `+q+`.events SET ip = '', user_agent = ''
		WHERE tenant_id = 't1' AND actor_id = '`+uuid.NewString()+`' AND actor_id <> user_id AND (ip <> '' OR user_agent <> '')`)
	assert.Contains(t, plan, "events_tenant_actor", plan)
	assert.NotContains(t, plan, "Seq Scan", plan)
}

// BenchmarkEraseUser is Tx.EraseUser, in its own transaction, in a tenant
// of 20,000 users and 500,000 events (400,000 by the users themselves,
// 100,000 done by 500 of them to others): each erasure is of one of those
// 500, with about 25 events about them and 200 they did to others.
func BenchmarkEraseUser(b *testing.B) {
	s := newStore(b)
	db := openDB(b)
	ctx := context.Background()
	q := `"` + s.Schema() + `"`
	for _, st := range []string{
		`INSERT INTO ` + q + `.users (tenant_id, id, email, status, created_at, updated_at)
			SELECT 't1', gen_random_uuid(), 'u' || g || '@example.com', 'active', now(), now() FROM generate_series(1, 20000) g`,
		`INSERT INTO ` + q + `.events (tenant_id, user_id, id, type, actor_id, ip, user_agent, detail, created_at)
			SELECT 't1', u.id, gen_random_uuid(), 'login.succeeded', u.id, '198.51.100.1', 'Firefox', 'password', now()
			FROM ` + q + `.users u, generate_series(1, 20)`,
		`INSERT INTO ` + q + `.events (tenant_id, user_id, id, type, actor_id, ip, user_agent, detail, created_at)
			SELECT 't1', s.ids[1 + (g * 7919) % 20000], gen_random_uuid(), 'role.granted', s.ids[1 + g % 500],
				'203.0.113.1', 'Chrome', 'agent', now()
			FROM generate_series(1, 100000) g, (SELECT array_agg(id ORDER BY email) ids FROM ` + q + `.users) s`,
		`ANALYZE ` + q + `.users; ANALYZE ` + q + `.events`,
	} {
		if _, err := db.DB.ExecContext(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
	rows, err := db.DB.QueryContext(ctx, `SELECT id FROM `+q+`.users ORDER BY email LIMIT 500`)
	if err != nil {
		b.Fatal(err)
	}
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if i == len(ids) {
			b.Fatal("more iterations than users to erase: use -benchtime=Nx with N <= 500")
		}
		err := s.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			return tx.EraseUser(ctx, "t1", ids[i], t0)
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
