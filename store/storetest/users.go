package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

func testCreateUserThenReadReturnsEveryField(t *testing.T, f *fixture) {
	u := &usermgmt.UserRecord{
		User: usermgmt.User{
			ID: newID(), TenantID: acme, Email: "ada@example.com", Status: usermgmt.StatusActive,
			Roles:       []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleTenantAdmin},
			MFAEnabled:  true,
			LastLoginAt: ptr(base.Add(-2 * time.Hour)), ActivatedAt: ptr(base.Add(-48 * time.Hour)),
			CreatedAt: base.Add(-72 * time.Hour), UpdatedAt: base.Add(-time.Hour),
			InviteExpiresAt: ptr(base.Add(48 * time.Hour)),
		},
		PasswordHash:  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		MFASecret:     []byte{0, 1, 2, 250, 251, 252},
		MFALastStep:   58_000_123,
		RecoveryCodes: []usermgmt.TokenHash{newHash(), newHash()},
		LastMailAt:    base.Add(-30 * time.Minute),
	}
	want := *u
	want.Roles = slices.Clone(u.Roles)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })

	requireUser(t, want, f.mustGetUser(acme, u.ID), "GetUser")
	locked := mustTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) { return tx.LockUser(f.ctx, acme, u.ID) })
	requireUser(t, want, locked, "LockUser")
	byEmail := mustTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
		return tx.GetUserByEmail(f.ctx, acme, "ada@example.com")
	})
	requireUser(t, want, byEmail, "GetUserByEmail")
	listed := f.list(usermgmt.UserListParams{TenantID: acme, Limit: 10})
	require.Equal(t, []usermgmt.User{normUser(want.User)}, normUsers(listed), "ListUsers")
}

func testCreateUserDuplicateEmailIsConflict(t *testing.T, f *fixture) {
	first := f.mustUser(acme, "dup@example.com", usermgmt.StatusActive)
	err := f.do(func(tx usermgmt.Tx) error {
		return tx.CreateUser(f.ctx, newUser(acme, "dup@example.com", usermgmt.StatusInvited))
	})
	requireCode(t, err, usermgmt.CodeConflict, "second user with the same email")
	got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
		return tx.GetUserByEmail(f.ctx, acme, "dup@example.com")
	})
	require.Equal(t, first.ID, got.ID)
	require.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, f.counts(acme))
}

// testCreateUserConflictLeavesTheTransactionUsable: InviteUsers writes a
// batch of users in one transaction and refuses only the row whose email
// the tenant has, so a conflict must not end the transaction: the next
// user is created and both commit.
func testCreateUserConflictLeavesTheTransactionUsable(t *testing.T, f *fixture) {
	f.mustUser(acme, "dup@example.com", usermgmt.StatusActive)
	next := newUser(acme, "next@example.com", usermgmt.StatusInvited)
	f.mustDo(func(tx usermgmt.Tx) error {
		err := tx.CreateUser(f.ctx, newUser(acme, "dup@example.com", usermgmt.StatusInvited))
		requireCode(t, err, usermgmt.CodeConflict, "second user with the same email")
		return tx.CreateUser(f.ctx, next)
	})
	requireUser(t, *next, f.mustGetUser(acme, next.ID), "the user created after the conflict")
	require.Equal(t, usermgmt.StatusCounts{Active: 1, Invited: 1, All: 2}, f.counts(acme))
}

func testCreateUserDuplicateIDIsConflict(t *testing.T, f *fixture) {
	first := f.mustUser(acme, "first@example.com", usermgmt.StatusActive)
	again := newUser(acme, "second@example.com", usermgmt.StatusInvited)
	again.ID = first.ID
	err := f.do(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, again) })
	requireCode(t, err, usermgmt.CodeConflict, "second user with the same id")
	requireUser(t, first, f.mustGetUser(acme, first.ID), "first user kept")
	require.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, f.counts(acme))
}

func testCreateUserConcurrentSameEmailOneWins(t *testing.T, f *fixture) {
	errs := race(10, func(int) error {
		return f.do(func(tx usermgmt.Tx) error {
			return tx.CreateUser(f.ctx, newUser(acme, "race@example.com", usermgmt.StatusInvited))
		})
	})
	require.Equal(t, map[usermgmt.Code]int{"": 1, usermgmt.CodeConflict: 9}, codes(errs), "errors: %v", errs)
	require.Equal(t, usermgmt.StatusCounts{Invited: 1, All: 1}, f.counts(acme))
	require.Len(t, f.list(usermgmt.UserListParams{TenantID: acme, Limit: 50}), 1)
}

func testSameEmailInTwoTenantsIsTwoUsers(t *testing.T, f *fixture) {
	a := f.mustUser(acme, "same@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	g := f.mustUser(globex, "same@example.com", usermgmt.StatusInvited, usermgmt.RoleRecruiter)
	require.NotEqual(t, a.ID, g.ID)
	for _, want := range []usermgmt.UserRecord{a, g} {
		got := mustTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
			return tx.GetUserByEmail(f.ctx, want.TenantID, "same@example.com")
		})
		requireUser(t, want, got, "GetUserByEmail in "+want.TenantID)
	}
	require.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, f.counts(acme))
	require.Equal(t, usermgmt.StatusCounts{Invited: 1, All: 1}, f.counts(globex))
}

func testUnknownUserIsNotFound(t *testing.T, f *fixture) {
	f.mustUser(acme, "known@example.com", usermgmt.StatusActive)
	unknown := newUser(acme, "unknown@example.com", usermgmt.StatusActive)
	requireNotFoundEverywhere(t, f, *unknown)
}

func testOtherTenantIsNotFound(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	stranger := u
	stranger.TenantID = globex
	stranger.Roles = []usermgmt.Role{usermgmt.RoleAgent}
	stranger.Status = usermgmt.StatusDeactivated
	requireNotFoundEverywhere(t, f, stranger)
	requireUser(t, u, f.mustGetUser(acme, u.ID), "user untouched by the other tenant")
	require.Equal(t, usermgmt.StatusCounts{}, f.counts(globex))
}

// requireNotFoundEverywhere checks that every method that takes a tenant
// and a user answers not_found for u, and changes nothing.
func requireNotFoundEverywhere(t *testing.T, f *fixture, u usermgmt.UserRecord) {
	t.Helper()
	_, err := f.getUser(u.TenantID, u.ID)
	requireCode(t, err, usermgmt.CodeNotFound, "GetUser")
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) { return tx.LockUser(f.ctx, u.TenantID, u.ID) })
	requireCode(t, err, usermgmt.CodeNotFound, "LockUser")
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
		return tx.GetUserByEmail(f.ctx, u.TenantID, u.Email)
	})
	requireCode(t, err, usermgmt.CodeNotFound, "GetUserByEmail")
	err = f.do(func(tx usermgmt.Tx) error { return tx.UpdateUser(f.ctx, &u) })
	requireCode(t, err, usermgmt.CodeNotFound, "UpdateUser")
	_, err = inTx(f, func(tx usermgmt.Tx) (bool, error) { return tx.AdvanceMFAStep(f.ctx, u.TenantID, u.ID, 1<<40) })
	requireCode(t, err, usermgmt.CodeNotFound, "AdvanceMFAStep")
}

func testOtherTenantSeesNothing(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "ada@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	tok := f.mustToken(u, usermgmt.PurposePasswordReset)
	sess := f.mustSession(u)
	dev := f.mustDevice(u)
	ev := newEvent(u, usermgmt.EventLoginSucceeded, "")
	f.mustDo(func(tx usermgmt.Tx) error { return tx.AppendEvent(f.ctx, ev) })

	require.Empty(t, f.list(usermgmt.UserListParams{TenantID: globex, Limit: 50}), "ListUsers")
	require.Empty(t, f.list(usermgmt.UserListParams{TenantID: globex, Status: usermgmt.StatusActive, Limit: 50}), "ListUsers active")
	require.Empty(t, f.list(usermgmt.UserListParams{TenantID: globex, Search: "ada", Limit: 50}), "ListUsers search")
	require.Equal(t, usermgmt.StatusCounts{}, f.counts(globex), "CountUsers")
	require.Zero(t, f.activeWithRole(globex, usermgmt.RoleTenantAdmin), "CountActiveWithRole")
	require.Empty(t, f.events(globex, u.ID, uuid.Nil, 50), "ListEvents")

	f.mustDo(func(tx usermgmt.Tx) error { return tx.DeleteTokens(f.ctx, globex, u.ID, usermgmt.PurposePasswordReset) })
	revoked := mustTx(f, func(tx usermgmt.Tx) (usermgmt.Revoked, error) {
		return tx.RevokeUserExcept(f.ctx, globex, u.ID, uuid.Nil)
	})
	require.Equal(t, usermgmt.Revoked{}, revoked, "RevokeUserExcept of the other tenant")

	// Everything of acme is still there.
	_, err := f.touch(sess.TokenHash, base)
	require.NoError(t, err, "session kept")
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.DeviceRecord, error) { return tx.GetDevice(f.ctx, dev.Hash) })
	require.NoError(t, err, "device kept")
	_, err = inTx(f, func(tx usermgmt.Tx) (usermgmt.TokenRecord, error) {
		return tx.ConsumeToken(f.ctx, usermgmt.PurposePasswordReset, tok.Hash)
	})
	require.NoError(t, err, "token kept")
	require.Len(t, f.events(acme, u.ID, uuid.Nil, 50), 1)
}

func testUpdateUserStoresEveryFieldButIdentity(t *testing.T, f *fixture) {
	orig := f.mustUser(acme, "grace@example.com", usermgmt.StatusInvited, usermgmt.RoleAgent)
	next := orig
	next.Email = "changed@example.com"
	next.CreatedAt = base.Add(time.Hour)
	next.Status = usermgmt.StatusActive
	next.Roles = []usermgmt.Role{usermgmt.RoleHRAdmin, usermgmt.RoleAgent}
	next.MFAEnabled = true
	next.LastLoginAt = ptr(base.Add(2 * time.Minute))
	next.ActivatedAt = ptr(base.Add(time.Minute))
	next.UpdatedAt = base.Add(3 * time.Minute)
	next.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3"
	next.MFASecret = []byte("sealed-secret")
	next.MFALastStep = 42
	next.RecoveryCodes = []usermgmt.TokenHash{newHash()}
	next.LastMailAt = base.Add(-time.Minute)
	f.mustUpdate(next)

	want := next
	want.Email, want.CreatedAt = orig.Email, orig.CreatedAt
	requireUser(t, want, f.mustGetUser(acme, orig.ID), "every field but ID, TenantID, Email and CreatedAt")
	_, err := inTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
		return tx.GetUserByEmail(f.ctx, acme, "changed@example.com")
	})
	requireCode(t, err, usermgmt.CodeNotFound, "email is not changed by UpdateUser")
	require.Equal(t, []string{"grace@example.com"}, emails(f.list(usermgmt.UserListParams{TenantID: acme, Status: usermgmt.StatusActive, Limit: 50})))

	// Clearing optional fields clears them.
	cleared := want
	cleared.Roles = nil
	cleared.LastLoginAt, cleared.ActivatedAt = nil, nil
	cleared.MFASecret, cleared.RecoveryCodes = nil, nil
	cleared.LastMailAt = time.Time{}
	cleared.PasswordHash = ""
	f.mustUpdate(cleared)
	requireUser(t, cleared, f.mustGetUser(acme, orig.ID), "cleared fields")
}

func testLockUserSerializesReadModifyWrite(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "counter@example.com", usermgmt.StatusActive)
	errs := race(10, func(int) error {
		return f.do(func(tx usermgmt.Tx) error {
			cur, err := tx.LockUser(f.ctx, acme, u.ID)
			if err != nil {
				return err
			}
			cur.MFALastStep++
			return tx.UpdateUser(f.ctx, &cur)
		})
	})
	require.Equal(t, map[usermgmt.Code]int{"": 10}, codes(errs), "errors: %v", errs)
	require.Equal(t, int64(10), f.mustGetUser(acme, u.ID).MFALastStep, "no increment is lost")
}

func testAdvanceMFAStepOnlyMovesForward(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "totp@example.com", usermgmt.StatusActive)
	advance := func(step int64) bool {
		t.Helper()
		return mustTx(f, func(tx usermgmt.Tx) (bool, error) { return tx.AdvanceMFAStep(f.ctx, acme, u.ID, step) })
	}
	require.True(t, advance(100), "first step")
	require.False(t, advance(100), "the same step again")
	require.False(t, advance(99), "an older step")
	require.Equal(t, int64(100), f.mustGetUser(acme, u.ID).MFALastStep)
	require.True(t, advance(101), "the next step")
	require.Equal(t, int64(101), f.mustGetUser(acme, u.ID).MFALastStep)
}

func testAdvanceMFAStepCompareAndSet(t *testing.T, f *fixture) {
	u := f.mustUser(acme, "totp@example.com", usermgmt.StatusActive)
	for _, n := range []int{2, 10} {
		step := int64(1000 + n)
		won := make([]bool, n)
		errs := race(n, func(i int) error {
			var err error
			won[i], err = inTx(f, func(tx usermgmt.Tx) (bool, error) { return tx.AdvanceMFAStep(f.ctx, acme, u.ID, step) })
			return err
		})
		require.Equal(t, map[usermgmt.Code]int{"": n}, codes(errs), "errors: %v", errs)
		require.Equal(t, 1, count(won, true), "%d transactions passing the same step get one true", n)
		require.Equal(t, step, f.mustGetUser(acme, u.ID).MFALastStep)
	}
}

func count[T comparable](xs []T, x T) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

func testListUsersKeysetOrderFilterSearch(t *testing.T, f *fixture) {
	statuses := []usermgmt.Status{usermgmt.StatusActive, usermgmt.StatusInvited, usermgmt.StatusDeactivated}
	var all []usermgmt.UserRecord
	for i := range 23 {
		domain := "example.com"
		if i%4 == 0 {
			domain = "partner.io"
		}
		all = append(all, *newUser(acme, fmt.Sprintf("user%02d@%s", i, domain), statuses[i%3], usermgmt.RoleAgent))
	}
	// Insert in a shuffled order: the order of the list is the store's job.
	insert := slices.Clone(all)
	rand.Shuffle(len(insert), func(i, j int) { insert[i], insert[j] = insert[j], insert[i] })
	for _, u := range insert {
		f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, &u) })
	}
	// Noise in another tenant that would sort in between.
	f.mustUser(globex, "user05@example.com", usermgmt.StatusActive)
	f.mustUser(globex, "user10a@partner.io", usermgmt.StatusInvited)

	want := func(st usermgmt.Status, search string) []usermgmt.User {
		var out []usermgmt.User
		for _, u := range all {
			if (st == "" || u.Status == st) && strings.Contains(u.Email, search) {
				out = append(out, normUser(u.User))
			}
		}
		slices.SortFunc(out, func(a, b usermgmt.User) int { return strings.Compare(a.Email, b.Email) })
		return out
	}
	for _, st := range []usermgmt.Status{"", usermgmt.StatusActive, usermgmt.StatusInvited, usermgmt.StatusDeactivated} {
		for _, search := range []string{"", "partner", "1", "@example.com", "user2", "nomatch"} {
			name := fmt.Sprintf("status=%q search=%q", st, search)
			exp := want(st, search)
			got := f.list(usermgmt.UserListParams{TenantID: acme, Status: st, Search: search, Limit: 100})
			require.Equal(t, exp, normUsers(got), "one page: %s", name)
			// Walk the same list in pages of 4 with the keyset cursor.
			var paged []usermgmt.User
			after := ""
			for range 20 {
				page := f.list(usermgmt.UserListParams{TenantID: acme, Status: st, Search: search, After: after, Limit: 4})
				require.LessOrEqual(t, len(page), 4, "limit: %s", name)
				paged = append(paged, normUsers(page)...)
				if len(page) < 4 {
					break
				}
				after = page[len(page)-1].Email
			}
			require.Equal(t, exp, nilIfEmpty(paged), "paged: %s", name)
		}
	}
	// After need not be an existing email.
	got := f.list(usermgmt.UserListParams{TenantID: acme, After: "user10", Limit: 2})
	require.Equal(t, []string{"user10@example.com", "user11@example.com"}, emails(got))
	got = f.list(usermgmt.UserListParams{TenantID: acme, After: "zzz", Limit: 2})
	require.Empty(t, got)
}

func testListUsersOrderIsByteOrder(t *testing.T, f *fixture) {
	// Collations that ignore punctuation would order these differently.
	in := []string{"a.b@x.io", "ab@x.io", "a-c@x.io", "a_b@x.io", "a+b@x.io", "a1@x.io", "a@x.io", "b@x.io", "aa@x.io", "a.a@x.io"}
	for _, e := range in {
		f.mustUser(acme, e, usermgmt.StatusActive)
	}
	want := slices.Clone(in)
	slices.Sort(want) // byte order
	require.Equal(t, want, emails(f.list(usermgmt.UserListParams{TenantID: acme, Limit: 50})))
	var paged []string
	after := ""
	for {
		page := f.list(usermgmt.UserListParams{TenantID: acme, After: after, Limit: 3})
		paged = append(paged, emails(page)...)
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].Email
	}
	require.Equal(t, want, paged, "paged")
}

func testListUsersSearchIsLiteral(t *testing.T, f *fixture) {
	for _, e := range []string{"a_b@x.io", "axb@x.io", "c%d@x.io", "cxyd@x.io", `e\f@x.io`, "ef@x.io", "g*h@x.io", "gh@x.io"} {
		f.mustUser(acme, e, usermgmt.StatusActive)
	}
	for search, want := range map[string][]string{
		"a_b": {"a_b@x.io"},
		"c%d": {"c%d@x.io"},
		`e\f`: {`e\f@x.io`},
		"g*h": {"g*h@x.io"},
		"_":   {"a_b@x.io"},
		"%":   {"c%d@x.io"},
		".io": {"a_b@x.io", "axb@x.io", "c%d@x.io", "cxyd@x.io", `e\f@x.io`, "ef@x.io", "g*h@x.io", "gh@x.io"},
	} {
		got := f.list(usermgmt.UserListParams{TenantID: acme, Search: search, Limit: 50})
		require.Equal(t, want, emails(got), "search %q is a literal substring", search)
	}
}

func testCountUsersOfEmptyTenantIsZero(t *testing.T, f *fixture) {
	require.Equal(t, usermgmt.StatusCounts{}, f.counts(acme))
	require.Empty(t, f.list(usermgmt.UserListParams{TenantID: acme, Limit: 50}))
	require.Zero(t, f.activeWithRole(acme, usermgmt.RoleTenantAdmin))
}

func testCountsFollowStatusChanges(t *testing.T, f *fixture) {
	a := f.mustUser(acme, "a@example.com", usermgmt.StatusInvited)
	b := f.mustUser(acme, "b@example.com", usermgmt.StatusInvited)
	c := f.mustUser(acme, "c@example.com", usermgmt.StatusActive)
	f.mustUser(globex, "z@example.com", usermgmt.StatusActive)
	check := func(want usermgmt.StatusCounts, active, invited, deactivated []string) {
		t.Helper()
		require.Equal(t, want, f.counts(acme))
		for st, emailsWant := range map[usermgmt.Status][]string{
			usermgmt.StatusActive: active, usermgmt.StatusInvited: invited, usermgmt.StatusDeactivated: deactivated,
		} {
			got := f.list(usermgmt.UserListParams{TenantID: acme, Status: st, Limit: 50})
			assert.Equal(t, emailsWant, nilIfEmpty(emails(got)), "list of %s", st)
		}
	}
	check(usermgmt.StatusCounts{Invited: 2, Active: 1, All: 3}, []string{"c@example.com"}, []string{"a@example.com", "b@example.com"}, nil)

	a.Status = usermgmt.StatusActive
	f.mustUpdate(a)
	check(usermgmt.StatusCounts{Invited: 1, Active: 2, All: 3}, []string{"a@example.com", "c@example.com"}, []string{"b@example.com"}, nil)

	c.Status = usermgmt.StatusDeactivated
	f.mustUpdate(c)
	b.Status = usermgmt.StatusDeactivated
	f.mustUpdate(b)
	check(usermgmt.StatusCounts{Active: 1, Deactivated: 2, All: 3}, []string{"a@example.com"}, nil, []string{"b@example.com", "c@example.com"})

	// An update that keeps the status keeps the counts.
	a.MFALastStep = 4
	f.mustUpdate(a)
	f.mustUpdate(a)
	c.Status = usermgmt.StatusActive
	f.mustUpdate(c)
	check(usermgmt.StatusCounts{Active: 2, Deactivated: 1, All: 3}, []string{"a@example.com", "c@example.com"}, nil, []string{"b@example.com"})
	require.Equal(t, usermgmt.StatusCounts{Active: 1, All: 1}, f.counts(globex))
}

func testCountActiveWithRole(t *testing.T, f *fixture) {
	admin := usermgmt.RoleTenantAdmin
	a := f.mustUser(acme, "a@example.com", usermgmt.StatusActive, admin)
	f.mustUser(acme, "b@example.com", usermgmt.StatusActive, usermgmt.RoleAgent, admin)
	f.mustUser(acme, "c@example.com", usermgmt.StatusInvited, admin)
	f.mustUser(acme, "d@example.com", usermgmt.StatusDeactivated, admin)
	f.mustUser(acme, "e@example.com", usermgmt.StatusActive, usermgmt.RoleAgent)
	f.mustUser(globex, "f@example.com", usermgmt.StatusActive, admin)
	require.Equal(t, 2, f.activeWithRole(acme, admin), "only active users holding the role")
	require.Equal(t, 2, f.activeWithRole(acme, usermgmt.RoleAgent))
	require.Zero(t, f.activeWithRole(acme, usermgmt.RoleRecruiter))
	require.Equal(t, 1, f.activeWithRole(globex, admin))

	// It counts users, not role entries: a role listed twice counts once,
	// and leaves nothing behind when it goes.
	twice := f.mustUser(acme, "twice@example.com", usermgmt.StatusActive, usermgmt.RoleRecruiter, usermgmt.RoleRecruiter)
	require.Equal(t, 1, f.activeWithRole(acme, usermgmt.RoleRecruiter), "a role listed twice")
	twice.Status = usermgmt.StatusDeactivated
	f.mustUpdate(twice)
	require.Zero(t, f.activeWithRole(acme, usermgmt.RoleRecruiter), "a role listed twice, deactivated")

	a.Roles = []usermgmt.Role{usermgmt.RoleHRAdmin}
	f.mustUpdate(a)
	require.Equal(t, 1, f.activeWithRole(acme, admin), "role revoked")
	require.Equal(t, 1, f.activeWithRole(acme, usermgmt.RoleHRAdmin), "role granted")
	a.Roles = []usermgmt.Role{usermgmt.RoleHRAdmin, admin}
	a.Status = usermgmt.StatusDeactivated
	f.mustUpdate(a)
	require.Equal(t, 1, f.activeWithRole(acme, admin), "deactivated")
	require.Zero(t, f.activeWithRole(acme, usermgmt.RoleHRAdmin), "deactivated")
	a.Status = usermgmt.StatusActive
	f.mustUpdate(a)
	require.Equal(t, 2, f.activeWithRole(acme, admin), "activated")
}

func testCountActiveWithRoleSerializesLastAdminRemoval(t *testing.T, f *fixture) {
	const n = 6
	admins := make([]usermgmt.UserRecord, n)
	for i := range admins {
		admins[i] = f.mustUser(acme, fmt.Sprintf("admin%d@example.com", i), usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	}
	// Each admin removes their own role unless they are the last one, as
	// the Manager does; without the tenant lock two could both see two.
	errs := race(n, func(i int) error {
		return f.do(func(tx usermgmt.Tx) error {
			u, err := tx.LockUser(f.ctx, acme, admins[i].ID)
			if err != nil {
				return err
			}
			left, err := tx.CountActiveWithRole(f.ctx, acme, usermgmt.RoleTenantAdmin)
			if err != nil || left <= 1 {
				return err
			}
			u.Roles = nil
			return tx.UpdateUser(f.ctx, &u)
		})
	})
	require.Equal(t, map[usermgmt.Code]int{"": n}, codes(errs), "errors: %v", errs)
	require.Equal(t, 1, f.activeWithRole(acme, usermgmt.RoleTenantAdmin), "exactly one admin is left")
}

func testReturnedUsersDoNotAliasStore(t *testing.T, f *fixture) {
	u := newUser(acme, "alias@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin, usermgmt.RoleAgent)
	u.LastLoginAt = ptr(base)
	u.MFASecret = []byte("sealed")
	u.RecoveryCodes = []usermgmt.TokenHash{newHash()}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
	want := deepCopy(f.mustGetUser(acme, u.ID))

	scribble := func(r *usermgmt.UserRecord) {
		r.Roles[0] = "scribbled"
		*r.LastLoginAt = time.Time{}
		*r.ActivatedAt = time.Time{}
		r.MFASecret[0] = 'X'
		r.RecoveryCodes[0][0] ^= 0xff
	}
	reads := map[string]func(tx usermgmt.Tx) (usermgmt.UserRecord, error){
		"GetUser":        func(tx usermgmt.Tx) (usermgmt.UserRecord, error) { return tx.GetUser(f.ctx, acme, u.ID) },
		"LockUser":       func(tx usermgmt.Tx) (usermgmt.UserRecord, error) { return tx.LockUser(f.ctx, acme, u.ID) },
		"GetUserByEmail": func(tx usermgmt.Tx) (usermgmt.UserRecord, error) { return tx.GetUserByEmail(f.ctx, acme, u.Email) },
	}
	for name, read := range reads {
		got := mustTx(f, read)
		scribble(&got)
		requireUser(t, want, f.mustGetUser(acme, u.ID), "after modifying what "+name+" returned")
	}
	// Modifying a returned value inside the transaction, before it ends,
	// does not reach the store either.
	f.mustDo(func(tx usermgmt.Tx) error {
		got, err := tx.GetUser(f.ctx, acme, u.ID)
		if err == nil {
			scribble(&got)
		}
		return err
	})
	requireUser(t, want, f.mustGetUser(acme, u.ID), "after modifying inside the transaction")

	listed := f.list(usermgmt.UserListParams{TenantID: acme, Limit: 10})
	require.Len(t, listed, 1)
	listed[0].Roles[0] = "scribbled"
	*listed[0].LastLoginAt = time.Time{}
	requireUser(t, want, f.mustGetUser(acme, u.ID), "after modifying what ListUsers returned")
	require.Equal(t, want.Roles, f.list(usermgmt.UserListParams{TenantID: acme, Limit: 10})[0].Roles)
	require.Equal(t, 1, f.activeWithRole(acme, usermgmt.RoleTenantAdmin))
}

// testListedUsersDoNotShareSlices: the users of one page share nothing
// with each other either, so appending to one user's roles or setting
// one's last login leaves the next user as it was.
func testListedUsersDoNotShareSlices(t *testing.T, f *fixture) {
	for _, e := range []string{"a@example.com", "b@example.com"} {
		u := newUser(acme, e, usermgmt.StatusActive, usermgmt.RoleAgent, usermgmt.RoleSupervisor)
		u.LastLoginAt = ptr(base)
		f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
	}
	listed := f.list(usermgmt.UserListParams{TenantID: acme, Limit: 10})
	require.Len(t, listed, 2)
	want := normUser(listed[1])
	want.Roles = slices.Clone(want.Roles)

	listed[0].Roles = append(listed[0].Roles, usermgmt.RoleTenantAdmin)
	listed[0].Roles[0] = "scribbled"
	*listed[0].LastLoginAt = time.Time{}
	require.Equal(t, want, normUser(listed[1]), "the next user of the page")
}

func testStoredUsersDoNotAliasInput(t *testing.T, f *fixture) {
	u := newUser(acme, "input@example.com", usermgmt.StatusActive, usermgmt.RoleTenantAdmin)
	u.LastLoginAt = ptr(base)
	u.MFASecret = []byte("sealed")
	u.RecoveryCodes = []usermgmt.TokenHash{newHash()}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
	want := deepCopy(f.mustGetUser(acme, u.ID))

	u.Roles[0] = usermgmt.RoleAgent
	*u.LastLoginAt = time.Time{}
	u.MFASecret[0] = 'X'
	u.RecoveryCodes[0][0] ^= 0xff
	requireUser(t, want, f.mustGetUser(acme, u.ID), "after modifying the record passed to CreateUser")
	require.Equal(t, 1, f.activeWithRole(acme, usermgmt.RoleTenantAdmin))

	next := f.mustGetUser(acme, u.ID)
	next.Roles = []usermgmt.Role{usermgmt.RoleHRAdmin}
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateUser(f.ctx, &next) })
	want = deepCopy(f.mustGetUser(acme, u.ID))
	next.Roles[0] = usermgmt.RoleTenantAdmin
	*next.LastLoginAt = time.Time{}
	next.MFASecret[0] = 'Y'
	next.RecoveryCodes[0][0] ^= 0xff
	requireUser(t, want, f.mustGetUser(acme, u.ID), "after modifying the record passed to UpdateUser")
	require.Equal(t, 1, f.activeWithRole(acme, usermgmt.RoleHRAdmin))
	require.Zero(t, f.activeWithRole(acme, usermgmt.RoleTenantAdmin))
}

// A role filter lists the users holding the role, in email order, with
// the status filter, the search and the cursor as without it.
func testListUsersFiltersByRole(t *testing.T, f *fixture) {
	sup := usermgmt.RoleSupervisor
	var want []string
	for i := range 30 {
		roles := []usermgmt.Role{usermgmt.RoleAgent}
		st := usermgmt.StatusActive
		if i%3 == 0 {
			roles = append(roles, sup)
		}
		if i%4 == 0 {
			st = usermgmt.StatusInvited
		}
		u := f.mustUser(acme, fmt.Sprintf("u%02d@example.com", i), st, roles...)
		if i%3 == 0 {
			want = append(want, u.Email)
		}
	}
	f.mustUser(globex, "u00@example.com", usermgmt.StatusActive, sup)
	emails := func(us []usermgmt.User) []string {
		out := []string{}
		for _, u := range us {
			require.True(t, u.HasRole(sup), u.Email)
			out = append(out, u.Email)
		}
		return out
	}
	require.Equal(t, want, emails(f.list(usermgmt.UserListParams{TenantID: acme, Role: sup, Limit: 50})))
	page := f.list(usermgmt.UserListParams{TenantID: acme, Role: sup, Limit: 4})
	require.Equal(t, want[:4], emails(page))
	next := f.list(usermgmt.UserListParams{TenantID: acme, Role: sup, Limit: 50, After: page[3].Email})
	require.Equal(t, want[4:], emails(next))
	var invited []string
	for _, e := range want {
		var i int
		_, _ = fmt.Sscanf(e, "u%02d@", &i)
		if i%4 == 0 {
			invited = append(invited, e)
		}
	}
	require.Equal(t, invited, emails(f.list(usermgmt.UserListParams{TenantID: acme, Role: sup,
		Status: usermgmt.StatusInvited, Limit: 50})))
	require.Equal(t, []string{"u03@example.com"}, emails(f.list(usermgmt.UserListParams{TenantID: acme, Role: sup,
		Search: "u03", Limit: 50})))
	require.Empty(t, f.list(usermgmt.UserListParams{TenantID: acme, Role: usermgmt.RoleRecruiter, Limit: 50}))
	require.Empty(t, f.list(usermgmt.UserListParams{TenantID: acme, Role: "it's", Limit: 50}), "a quote is a role name like any")

	// Role and status changes move a user in and out of the filter at once.
	first := f.mustGetUser(acme, f.list(usermgmt.UserListParams{TenantID: acme, Role: sup, Limit: 1})[0].ID)
	other := f.list(usermgmt.UserListParams{TenantID: acme, Search: "u01@", Limit: 1})[0]
	first.Roles = []usermgmt.Role{usermgmt.RoleAgent}
	first.Status = usermgmt.StatusActive
	f.mustUpdate(first)
	o := f.mustGetUser(acme, other.ID)
	o.Roles = append(o.Roles, sup, sup)
	o.Status = usermgmt.StatusDeactivated
	f.mustUpdate(o)
	got := emails(f.list(usermgmt.UserListParams{TenantID: acme, Role: sup, Limit: 50}))
	require.NotContains(t, got, first.Email)
	require.Contains(t, got, o.Email)
	require.Equal(t, []string{o.Email}, emails(f.list(usermgmt.UserListParams{TenantID: acme, Role: sup,
		Status: usermgmt.StatusDeactivated, Limit: 50})))
}

// Every read of a user carries the lock of its sign-in key (tenant,
// email), read with it: nil without a record or without a lock, the
// LockedUntil of the record otherwise; another tenant's key of the same
// email is not the user's.
func testUsersCarryTheirSignInLock(t *testing.T, f *fixture) {
	locked := f.mustUser(acme, "locked@example.com", usermgmt.StatusActive)
	counting := f.mustUser(acme, "counting@example.com", usermgmt.StatusActive)
	clean := f.mustUser(acme, "clean@example.com", usermgmt.StatusInvited)
	f.mustUser(globex, "clean@example.com", usermgmt.StatusActive)
	until := base.Add(15 * time.Minute)
	f.putAttempts(&usermgmt.LoginAttempts{TenantID: acme, Email: locked.Email, Failures: 5, LockedUntil: until,
		ExpiresAt: until.Add(24 * time.Hour)})
	f.putAttempts(&usermgmt.LoginAttempts{TenantID: acme, Email: counting.Email, Failures: 2, ExpiresAt: base.Add(time.Hour)})
	f.putAttempts(&usermgmt.LoginAttempts{TenantID: globex, Email: clean.Email, Failures: 9, LockedUntil: until,
		ExpiresAt: until.Add(24 * time.Hour)})

	check := func(what string, got map[string]*time.Time) {
		t.Helper()
		require.NotNil(t, got[locked.Email], what)
		require.True(t, until.Equal(*got[locked.Email]), "%s: %v", what, got[locked.Email])
		require.Nil(t, got[counting.Email], what+": failures without a lock")
		require.Nil(t, got[clean.Email], what+": no record in its own tenant")
	}
	byRead := map[string]*time.Time{}
	byLock := map[string]*time.Time{}
	byEmail := map[string]*time.Time{}
	for _, u := range []usermgmt.UserRecord{locked, counting, clean} {
		byRead[u.Email] = f.mustGetUser(acme, u.ID).LockedUntil
		byLock[u.Email] = mustTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
			return tx.LockUser(f.ctx, acme, u.ID)
		}).LockedUntil
		byEmail[u.Email] = mustTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) {
			return tx.GetUserByEmail(f.ctx, acme, u.Email)
		}).LockedUntil
	}
	check("GetUser", byRead)
	check("LockUser", byLock)
	check("GetUserByEmail", byEmail)
	listed := map[string]*time.Time{}
	for _, u := range f.list(usermgmt.UserListParams{TenantID: acme, Limit: 50}) {
		listed[u.Email] = u.LockedUntil
	}
	check("ListUsers", listed)
	searched := map[string]*time.Time{}
	for _, u := range f.list(usermgmt.UserListParams{TenantID: acme, Search: "c", Limit: 50}) {
		searched[u.Email] = u.LockedUntil
	}
	searched[locked.Email] = f.list(usermgmt.UserListParams{TenantID: acme, Search: "locked", Limit: 50})[0].LockedUntil
	check("ListUsers with a search", searched)

	// UpdateUser does not store the lock: it stays the key's.
	r := f.mustGetUser(acme, counting.ID)
	r.LockedUntil = &until
	f.mustUpdate(r)
	require.Nil(t, f.mustGetUser(acme, counting.ID).LockedUntil)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.ClearAttempts(f.ctx, acme, locked.Email) })
	require.Nil(t, f.mustGetUser(acme, locked.ID).LockedUntil, "cleared")
}
