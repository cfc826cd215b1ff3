package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

func testTxSeesItsOwnWrites(t *testing.T, f *fixture) {
	u := newUser(acme, "ada@example.com", usermgmt.StatusInvited, usermgmt.RoleTenantAdmin)
	tok := newToken(*u, usermgmt.PurposeInvite)
	ev := newEvent(*u, usermgmt.EventInvited, "")
	f.mustDo(func(tx usermgmt.Tx) error {
		ctx := f.ctx
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		got, err := tx.GetUser(ctx, acme, u.ID)
		require.NoError(t, err)
		requireUser(t, *u, got, "GetUser after CreateUser")
		got.Status = usermgmt.StatusActive
		require.NoError(t, tx.UpdateUser(ctx, &got))
		n, err := tx.CountActiveWithRole(ctx, acme, usermgmt.RoleTenantAdmin)
		require.NoError(t, err)
		require.Equal(t, 1, n, "CountActiveWithRole after UpdateUser")
		c, err := tx.CountUsers(ctx, acme)
		require.NoError(t, err)
		require.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, c, "CountUsers after UpdateUser")
		list, err := tx.ListUsers(ctx, usermgmt.UserListParams{TenantID: acme, Status: usermgmt.StatusActive, Limit: 10})
		require.NoError(t, err)
		require.Equal(t, []string{u.Email}, emails(list), "ListUsers after UpdateUser")

		require.NoError(t, tx.CreateToken(ctx, tok))
		_, err = tx.ConsumeToken(ctx, usermgmt.PurposeInvite, tok.Hash)
		require.NoError(t, err, "ConsumeToken after CreateToken")

		s := newSession(got)
		require.NoError(t, tx.CreateSession(ctx, s))
		_, _, err = tx.SessionByRefresh(ctx, s.RefreshHash)
		require.NoError(t, err, "SessionByRefresh after CreateSession")
		d := newDevice(got)
		require.NoError(t, tx.CreateDevice(ctx, d))
		_, err = tx.GetDevice(ctx, d.Hash)
		require.NoError(t, err, "GetDevice after CreateDevice")

		require.NoError(t, tx.AppendEvent(ctx, ev))
		evs, err := tx.ListEvents(ctx, acme, u.ID, uuid.Nil, 10)
		require.NoError(t, err)
		require.Len(t, evs, 1, "ListEvents after AppendEvent")
		return nil
	})
	require.Equal(t, usermgmt.StatusActive, f.mustGetUser(acme, u.ID).Status, "committed")
}

func testRunInTxReturnsFnErrorAsIs(t *testing.T, f *fixture) {
	sentinel := errors.New("sentinel")
	err := f.do(func(usermgmt.Tx) error { return sentinel })
	require.True(t, err == sentinel, "got %v", err) //nolint:errorlint // "as is" means the same value
	coded := usermgmt.Errorf(usermgmt.CodeRateLimited, "slow down")
	err = f.do(func(usermgmt.Tx) error { return coded })
	require.True(t, err == error(coded), "got %v", err) //nolint:errorlint
	wrapped := fmt.Errorf("context: %w", coded)
	err = f.s.RunInTx(f.ctx, usermgmt.TxOptions{ReadOnly: true}, func(context.Context, usermgmt.Tx) error { return wrapped })
	require.True(t, err == wrapped, "read-only: got %v", err) //nolint:errorlint
	require.Equal(t, usermgmt.CodeRateLimited, usermgmt.ErrorCode(err))
	err = f.s.RunInTx(f.ctx, usermgmt.TxOptions{ReadOnly: true}, func(context.Context, usermgmt.Tx) error { return sentinel })
	require.True(t, err == sentinel, "read-only, uncoded: got %v", err) //nolint:errorlint
}

func testReadOnlyTxReads(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	s := f.mustSession(u)
	d := f.mustDevice(u)
	ev := newEvent(u, usermgmt.EventLoginSucceeded, "")
	f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, ev) })

	read := func() error {
		return f.s.RunInTx(f.ctx, usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
			if _, err := tx.GetUser(ctx, acme, u.ID); err != nil {
				return err
			}
			if _, err := tx.GetUserByEmail(ctx, acme, u.Email); err != nil {
				return err
			}
			if l, err := tx.ListUsers(ctx, usermgmt.UserListParams{TenantID: acme, Limit: 50}); err != nil || len(l) != 1 {
				return fmt.Errorf("ListUsers: %d users, %w", len(l), err)
			}
			if c, err := tx.CountUsers(ctx, acme); err != nil || c.All != 1 {
				return fmt.Errorf("CountUsers: %+v, %w", c, err)
			}
			if _, err := tx.CountActiveWithRole(ctx, acme, usermgmt.RoleTenantAdmin); err != nil {
				return err
			}
			if _, _, err := tx.SessionByRefresh(ctx, s.RefreshHash); err != nil {
				return err
			}
			if _, err := tx.GetDevice(ctx, d.Hash); err != nil {
				return err
			}
			if e, err := tx.ListEvents(ctx, acme, u.ID, uuid.Nil, 10); err != nil || len(e) != 1 {
				return fmt.Errorf("ListEvents: %d events, %w", len(e), err)
			}
			return nil
		})
	}
	require.NoError(t, read())
	// Readers at the same time all succeed (that they overlap is the
	// memory store's own test: a store may serialise them).
	require.Equal(t, map[usermgmt.Code]int{"": 8}, codes(race(8, func(int) error { return read() })))
}

func testConcurrentTxsKeepEveryWrite(t *testing.T, f *fixture) {
	const n = 10
	ids := make([]uuid.UUID, n)
	errs := race(n, func(i int) error {
		return f.do(func(tx usermgmt.Tx) error {
			u := newUser(acme, fmt.Sprintf("user%02d@example.com", i), usermgmt.StatusActive, usermgmt.RoleAgent)
			ids[i] = u.ID
			if err := tx.CreateUser(f.ctx, u); err != nil {
				return err
			}
			return tx.AppendEvent(f.ctx, newEvent(*u, usermgmt.EventUserCreated, ""))
		})
	})
	require.Equal(t, map[usermgmt.Code]int{"": n}, codes(errs), "errors: %v", errs)
	require.Equal(t, usermgmt.StatusCounts{Active: n, All: n}, f.counts(acme))
	require.Equal(t, n, f.activeWithRole(acme, usermgmt.RoleAgent))
	require.Len(t, f.list(usermgmt.UserListParams{TenantID: acme, Limit: 50}), n)
	for _, id := range ids {
		require.Len(t, f.events(acme, id, uuid.Nil, 10), 1)
	}
}

// world is a store with some of everything, and every key that the
// writes of testFailedTxLeavesNothing touch, so that observe can see all
// of it.
type world struct {
	users    map[uuid.UUID]string // id → tenant
	emails   [][2]string          // tenant, email
	tokens   map[usermgmt.TokenHash]usermgmt.TokenPurpose
	refresh  []usermgmt.TokenHash
	sessions []usermgmt.TokenHash // session token hashes
	devices  []usermgmt.TokenHash
	attempts [][2]string // tenant, email
}

func (w *world) addUser(u usermgmt.UserRecord) {
	w.users[u.ID] = u.TenantID
	w.emails = append(w.emails, [2]string{u.TenantID, u.Email})
}

func (w *world) addSession(s usermgmt.SessionRecord) {
	w.refresh = append(w.refresh, s.RefreshHash)
	w.sessions = append(w.sessions, s.TokenHash)
}

// observe returns everything a caller can see of w, without changing it.
func (w *world) observe(f *fixture) map[string]any {
	f.t.Helper()
	o := map[string]any{}
	code := func(err error) string { return "error " + string(usermgmt.ErrorCode(err)) }
	for _, tn := range []string{acme, globex} {
		o["counts "+tn] = f.counts(tn)
		for _, st := range []usermgmt.Status{"", usermgmt.StatusActive, usermgmt.StatusInvited, usermgmt.StatusDeactivated} {
			o[fmt.Sprintf("list %s %q", tn, st)] = normUsers(f.list(usermgmt.UserListParams{TenantID: tn, Status: st, Limit: 200}))
		}
		for _, r := range usermgmt.DefaultRoles() {
			o[fmt.Sprintf("active %s %s", tn, r.Name)] = f.activeWithRole(tn, r.Name)
		}
	}
	for id, tn := range w.users {
		k := "user " + id.String()
		if u, err := f.getUser(tn, id); err != nil {
			o[k] = code(err)
		} else {
			o[k] = normRecord(u)
		}
		o["events "+id.String()] = normEvents(f.events(tn, id, uuid.Nil, 200))
	}
	for _, e := range w.emails {
		k := "email " + e[0] + " " + e[1]
		u, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) { return tx.GetUserByEmail(f.ctx, e[0], e[1]) })
		if err != nil {
			o[k] = code(err)
		} else {
			o[k] = u.ID
		}
	}
	for h, p := range w.tokens {
		k := fmt.Sprintf("token %x", h[:6])
		r, err := probe(f, func(tx usermgmt.Tx) (usermgmt.TokenRecord, error) { return tx.ConsumeToken(f.ctx, p, h) })
		if err != nil {
			o[k] = code(err)
		} else {
			o[k] = normToken(r)
		}
	}
	for _, h := range w.refresh {
		k := fmt.Sprintf("refresh %x", h[:6])
		s, spent, err := f.sessionByRefresh(h)
		if err != nil {
			o[k] = code(err)
		} else {
			o[k] = fmt.Sprintf("%+v spent=%v", normSession(s), spent)
		}
	}
	for _, h := range w.sessions {
		k := fmt.Sprintf("session %x", h[:6])
		s, err := probe(f, func(tx usermgmt.Tx) (usermgmt.SessionRecord, error) { return tx.RevokeSession(f.ctx, h) })
		if err != nil {
			o[k] = code(err)
		} else {
			o[k] = normSession(s)
		}
	}
	for _, key := range w.attempts {
		a, err := probe(f, func(tx usermgmt.Tx) (usermgmt.LoginAttempts, error) { return tx.LockAttempts(f.ctx, key[0], key[1]) })
		require.NoError(f.t, err)
		o["attempts "+key[0]+" "+key[1]] = normAttempts(a)
	}
	for _, h := range w.devices {
		k := fmt.Sprintf("device %x", h[:6])
		d, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.DeviceRecord, error) { return tx.GetDevice(f.ctx, h) })
		if err != nil {
			o[k] = code(err)
		} else {
			o[k] = normDevice(d)
		}
	}
	return o
}

type write struct {
	name string
	do   func(ctx context.Context, tx usermgmt.Tx) error
}

func testFailedTxLeavesNothing(t *testing.T, f *fixture) {
	w, writes := buildWorld(f)
	checkRollback(t, f, w.observe, writes, false) // a rotation needs its session first
}

// checkRollback runs writes in transactions that then fail (alone, all in
// one, also backwards when anyOrder, twice in a row) or panic, and checks
// after each that observe sees the store as it was; then that every write
// still succeeds.
func checkRollback(t *testing.T, f *fixture, observe func(*fixture) map[string]any, writes []write, anyOrder bool) {
	before := observe(f)
	rollBack := func(t *testing.T, ws ...write) {
		t.Helper()
		f := &fixture{t: t, s: f.s, ctx: f.ctx}
		err := f.s.RunInTx(f.ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			for _, w := range ws {
				if err := w.do(ctx, tx); err != nil {
					return fmt.Errorf("%s: %w", w.name, err)
				}
			}
			return errRollback
		})
		require.ErrorIs(t, err, errRollback, "every write must succeed before the transaction fails")
		require.Equal(t, before, observe(f), "the failed transaction left something behind")
	}
	for _, wr := range writes {
		t.Run(wr.name, func(t *testing.T) { rollBack(t, wr) })
	}
	t.Run("AllInOne", func(t *testing.T) { rollBack(t, writes...) })
	if anyOrder {
		t.Run("AllInOneBackwards", func(t *testing.T) {
			backwards := slices.Clone(writes)
			slices.Reverse(backwards)
			rollBack(t, backwards...)
		})
	}
	t.Run("TwiceInARow", func(t *testing.T) { rollBack(t, writes...); rollBack(t, writes...) })
	t.Run("Panic", func(t *testing.T) {
		f := &fixture{t: t, s: f.s, ctx: f.ctx}
		require.Panics(t, func() {
			_ = f.s.RunInTx(f.ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
				for _, w := range writes {
					if err := w.do(ctx, tx); err != nil {
						return err
					}
				}
				panic("storetest: panic inside a transaction")
			})
		})
		require.Equal(t, before, observe(f), "the panicking transaction left something behind")
	})
	t.Run("WritesSucceedAfterRollback", func(t *testing.T) {
		f := &fixture{t: t, s: f.s, ctx: f.ctx}
		for _, wr := range writes {
			require.NoError(t, f.s.RunInTx(f.ctx, usermgmt.TxOptions{}, wr.do), wr.name)
		}
	})
}

// buildWorld fills the store and returns it with one write of every kind
// that would change it.
func buildWorld(f *fixture) (*world, []write) {
	f.t.Helper()
	w := &world{users: map[uuid.UUID]string{}, tokens: map[usermgmt.TokenHash]usermgmt.TokenPurpose{}}
	early := newEvent(usermgmt.UserRecord{}, usermgmt.EventUserCreated, "older than everything")

	admin := f.mustUser(acme, "admin@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	agent := f.mustUser(acme, "agent@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	invited := f.mustUser(acme, "invited@example.com", usermgmt.StatusInvited, usermgmt.RoleRecruiter)
	gone := f.mustUser(acme, "gone@example.com", usermgmt.StatusDeactivated, usermgmt.RoleTenantAdmin)
	other := f.mustUser(globex, "admin@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	for _, u := range []usermgmt.UserRecord{admin, agent, invited, gone, other} {
		w.addUser(u)
	}
	require.True(f.t, mustTx(f, func(tx usermgmt.Tx) (bool, error) { return tx.AdvanceMFAStep(f.ctx, acme, agent.ID, 10) }))

	invite1, invite2 := f.mustToken(invited, usermgmt.PurposeInvite), f.mustToken(invited, usermgmt.PurposeInvite)
	reset := f.mustToken(agent, usermgmt.PurposePasswordReset)
	for _, tok := range []usermgmt.TokenRecord{invite1, invite2, reset} {
		w.tokens[tok.Hash] = tok.Purpose
	}
	s0 := f.mustSession(admin)
	adminSession := f.mustRotate(s0, usermgmt.RoleTenantAdmin)
	agentSession := f.mustSession(agent)
	w.refresh = append(w.refresh, s0.RefreshHash)
	w.addSession(s0)
	w.addSession(adminSession)
	w.addSession(agentSession)
	for _, u := range []usermgmt.UserRecord{admin, agent} {
		w.devices = append(w.devices, f.mustDevice(u).Hash)
	}
	// Expired by base (what DeleteExpired removes), of users and purposes
	// no other write touches; everything above expires later.
	expiredToken := newToken(invited, usermgmt.PurposeMFAEnrollment)
	expiredToken.ExpiresAt = base
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateToken(f.ctx, expiredToken) })
	w.tokens[expiredToken.Hash] = expiredToken.Purpose
	idle := newSession(other)
	idle.IdleExpiresAt = base.Add(-time.Hour)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, idle) })
	idleRotated := f.mustRotate(*idle, usermgmt.RoleTenantAdmin)
	w.refresh = append(w.refresh, idle.RefreshHash)
	w.addSession(*idle)
	w.addSession(idleRotated)
	expiredDevice := newDevice(other)
	expiredDevice.ExpiresAt = base
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateDevice(f.ctx, expiredDevice) })
	w.devices = append(w.devices, expiredDevice.Hash)
	agentAttempts := newAttempts(acme, agent.Email, base.Add(time.Hour))
	expiredAttempts := newAttempts(globex, "nobody@example.com", base)
	for _, a := range []*usermgmt.LoginAttempts{agentAttempts, expiredAttempts} {
		f.mustDo(func(tx usermgmt.Tx) error { return tx.PutAttempts(f.ctx, a) })
		w.attempts = append(w.attempts, [2]string{a.TenantID, a.Email})
	}

	for _, u := range []usermgmt.UserRecord{admin, admin, admin, agent} {
		f.mustDo(func(tx usermgmt.Tx) error {
			return tx.AppendEvent(f.ctx, newEvent(u, usermgmt.EventLoginSucceeded, ""))
		})
	}

	// What the writes create, registered so that observe looks for it.
	newcomer := newUser(acme, "new@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	w.addUser(*newcomer)
	w.emails = append(w.emails, [2]string{acme, "renamed@example.com"})
	newToken := newToken(invited, usermgmt.PurposePasswordReset)
	w.tokens[newToken.Hash] = newToken.Purpose
	newSess := newSession(agent)
	w.addSession(*newSess)
	rot := usermgmt.SessionRotation{ID: adminSession.ID, OldRefresh: adminSession.RefreshHash, TokenHash: newHash(), RefreshHash: newHash(),
		Roles: []usermgmt.Role{usermgmt.RoleAgent}, IdleExpiresAt: base.Add(time.Hour)}
	w.refresh = append(w.refresh, rot.RefreshHash)
	w.sessions = append(w.sessions, rot.TokenHash)
	newDev := newDevice(agent)
	w.devices = append(w.devices, newDev.Hash)
	late := newEvent(admin, usermgmt.EventSessionsRevoked, "")
	newAttempt := newAttempts(acme, "stranger@example.com", base.Add(time.Hour))
	w.attempts = append(w.attempts, [2]string{acme, "stranger@example.com"})
	moreAttempts := *agentAttempts
	moreAttempts.Failures, moreAttempts.Notified = 9, true
	early.TenantID, early.UserID = admin.TenantID, admin.ID

	changed := agent
	changed.Email = "renamed@example.com"
	changed.Status = usermgmt.StatusDeactivated
	changed.Roles = []usermgmt.Role{usermgmt.RoleTenantAdmin}
	changed.MFALastStep = 4
	changed.PasswordHash = "changed"
	changed.UpdatedAt = base.Add(time.Hour)
	reactivated := gone
	reactivated.Status = usermgmt.StatusActive

	writes := []write{
		{"CreateUser", func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateUser(ctx, newcomer) }},
		{"UpdateUser", func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateUser(ctx, &changed) }},
		{"UpdateUserStatus", func(ctx context.Context, tx usermgmt.Tx) error { return tx.UpdateUser(ctx, &reactivated) }},
		{"AdvanceMFAStep", func(ctx context.Context, tx usermgmt.Tx) error {
			ok, err := tx.AdvanceMFAStep(ctx, acme, agent.ID, 11)
			if err == nil && !ok {
				err = errors.New("AdvanceMFAStep did not advance")
			}
			return err
		}},
		{"CreateToken", func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateToken(ctx, newToken) }},
		{"ConsumeToken", func(ctx context.Context, tx usermgmt.Tx) error {
			_, err := tx.ConsumeToken(ctx, usermgmt.PurposeInvite, invite1.Hash)
			return err
		}},
		{"DeleteTokens", func(ctx context.Context, tx usermgmt.Tx) error {
			return tx.DeleteTokens(ctx, acme, invited.ID, usermgmt.PurposeInvite)
		}},
		{"CreateSession", func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateSession(ctx, newSess) }},
		{"RotateSession", func(ctx context.Context, tx usermgmt.Tx) error { return tx.RotateSession(ctx, rot) }},
		{"RevokeSession", func(ctx context.Context, tx usermgmt.Tx) error {
			_, err := tx.RevokeSession(ctx, agentSession.TokenHash)
			return err
		}},
		{"RevokeSessionByID", func(ctx context.Context, tx usermgmt.Tx) error { return tx.RevokeSessionByID(ctx, adminSession.ID) }},
		{"RevokeUser", func(ctx context.Context, tx usermgmt.Tx) error {
			r, err := tx.RevokeUserExcept(ctx, acme, admin.ID, uuid.Nil)
			if err == nil && r.Devices == 0 {
				err = fmt.Errorf("RevokeUser revoked %+v", r)
			}
			return err
		}},
		{"RevokeUserExcept", func(ctx context.Context, tx usermgmt.Tx) error {
			r, err := tx.RevokeUserExcept(ctx, acme, agent.ID, agentSession.ID)
			if err == nil && r.Devices == 0 {
				err = fmt.Errorf("RevokeUserExcept revoked %+v", r)
			}
			return err
		}},
		{"CreateDevice", func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateDevice(ctx, newDev) }},
		{"PutAttemptsNew", func(ctx context.Context, tx usermgmt.Tx) error { return tx.PutAttempts(ctx, newAttempt) }},
		{"PutAttemptsReplace", func(ctx context.Context, tx usermgmt.Tx) error { return tx.PutAttempts(ctx, &moreAttempts) }},
		{"ClearAttempts", func(ctx context.Context, tx usermgmt.Tx) error { return tx.ClearAttempts(ctx, acme, agent.Email) }},
		{"DeleteExpired", func(ctx context.Context, tx usermgmt.Tx) error {
			p, err := tx.DeleteExpired(ctx, base)
			if want := (usermgmt.Pruned{Tokens: 1, Sessions: 1, Devices: 1, Attempts: 1}); err == nil && p != want {
				err = fmt.Errorf("DeleteExpired pruned %+v, want %+v", p, want)
			}
			return err
		}},
		{"AppendEvent", func(ctx context.Context, tx usermgmt.Tx) error { return tx.AppendEvent(ctx, late) }},
		{"AppendOlderEvent", func(ctx context.Context, tx usermgmt.Tx) error { return tx.AppendEvent(ctx, early) }},
	}
	return w, writes
}
