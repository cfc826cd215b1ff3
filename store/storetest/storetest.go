// Package storetest is the conformance suite every usermgmt.Store passes.
// A store's own tests call Run with a constructor that returns an empty
// store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) usermgmt.Store { return memory.New() })
//	}
//
// Each subtest is named after the rule it proves. A store that lacks a
// behaviour fails; nothing is skipped. Times are whole microseconds in UTC
// and emails, roles and hashes are plain ASCII, so that every database can
// store them exactly; a store may return times in another location and
// empty slices as nil.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// Run runs every case of the suite against a fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) usermgmt.Store) {
	for _, c := range slices.Concat(cases(), groupCases(), eraseCases(), webhookCases(), importCases()) {
		t.Run(c.name, func(t *testing.T) {
			c.test(t, &fixture{t: t, s: newStore(t), ctx: t.Context()})
		})
	}
}

type testCase struct {
	name string
	test func(t *testing.T, f *fixture)
}

func cases() []testCase {
	return []testCase{
		// Users
		{"CreateUserThenReadReturnsEveryField", testCreateUserThenReadReturnsEveryField},
		{"CreateUserDuplicateEmailIsConflict", testCreateUserDuplicateEmailIsConflict},
		{"CreateUserConflictLeavesTheTransactionUsable", testCreateUserConflictLeavesTheTransactionUsable},
		{"CreateUserDuplicateIDIsConflict", testCreateUserDuplicateIDIsConflict},
		{"CreateUserConcurrentSameEmailOneWins", testCreateUserConcurrentSameEmailOneWins},
		{"SameEmailInTwoTenantsIsTwoUsers", testSameEmailInTwoTenantsIsTwoUsers},
		{"UnknownUserIsNotFound", testUnknownUserIsNotFound},
		{"OtherTenantIsNotFound", testOtherTenantIsNotFound},
		{"OtherTenantSeesNothing", testOtherTenantSeesNothing},
		{"UpdateUserStoresEveryFieldButIdentity", testUpdateUserStoresEveryFieldButIdentity},
		{"LockUserSerializesReadModifyWrite", testLockUserSerializesReadModifyWrite},
		{"AdvanceMFAStepOnlyMovesForward", testAdvanceMFAStepOnlyMovesForward},
		{"AdvanceMFAStepCompareAndSet", testAdvanceMFAStepCompareAndSet},
		{"ListUsersKeysetOrderFilterSearch", testListUsersKeysetOrderFilterSearch},
		{"ListUsersFiltersByRole", testListUsersFiltersByRole},
		{"UsersCarryTheirSignInLock", testUsersCarryTheirSignInLock},
		{"ListUsersOrderIsByteOrder", testListUsersOrderIsByteOrder},
		{"ListUsersSearchIsLiteral", testListUsersSearchIsLiteral},
		{"CountUsersOfEmptyTenantIsZero", testCountUsersOfEmptyTenantIsZero},
		{"CountsFollowStatusChanges", testCountsFollowStatusChanges},
		{"CountActiveWithRole", testCountActiveWithRole},
		{"CountActiveWithRoleSerializesLastAdminRemoval", testCountActiveWithRoleSerializesLastAdminRemoval},
		{"ReturnedUsersDoNotAliasStore", testReturnedUsersDoNotAliasStore},
		{"ListedUsersDoNotShareSlices", testListedUsersDoNotShareSlices},
		{"StoredUsersDoNotAliasInput", testStoredUsersDoNotAliasInput},

		// Text no store can hold
		{"BadTextIsInvalid", testBadTextIsInvalid},

		// Single-use tokens
		{"CreateTokenThenConsumeReturnsIt", testCreateTokenThenConsumeReturnsIt},
		{"CreateTokenDuplicateHashIsConflict", testCreateTokenDuplicateHashIsConflict},
		{"ConsumeTokenOnce", testConsumeTokenOnce},
		{"ConsumeTokenConcurrentOneWins", testConsumeTokenConcurrentOneWins},
		{"ConsumeTokenWrongPurposeIsNotFound", testConsumeTokenWrongPurposeIsNotFound},
		{"ConsumeTokenLeavesExpiryToCaller", testConsumeTokenLeavesExpiryToCaller},
		{"PeekTokenTellsLiveFromSpent", testPeekTokenTellsLiveFromSpent},
		{"PeekTokenForgetsOtherPurposesOnceSpent", testPeekTokenForgetsOtherPurposesOnceSpent},
		{"DeleteExpiredRemovesSpentLinkTokens", testDeleteExpiredRemovesSpentLinkTokens},
		{"DeleteTokensRemovesOnlyThatUsersPurpose", testDeleteTokensRemovesOnlyThatUsersPurpose},
		{"TokensDoNotAliasStore", testTokensDoNotAliasStore},

		// Sessions and trusted devices
		{"CreateSessionThenSessionByRefreshReturnsIt", testCreateSessionThenSessionByRefreshReturnsIt},
		{"TouchSessionMovesIdleExpiry", testTouchSessionMovesIdleExpiry},
		{"TouchSessionCapsIdleExpiryAtExpiresAt", testTouchSessionCapsIdleExpiryAtExpiresAt},
		{"TouchSessionRefusesExpiredIdleAndDeactivated", testTouchSessionRefusesExpiredIdleAndDeactivated},
		{"TouchSessionWritesOnlyPastIdleStep", testTouchSessionWritesOnlyPastIdleStep},
		{"TouchSessionReturnsTheUser", testTouchSessionReturnsTheUser},
		{"SessionByRefreshReportsSpentHashes", testSessionByRefreshReportsSpentHashes},
		{"RotateSessionReplacesHashesAndRoles", testRotateSessionReplacesHashesAndRoles},
		{"RotateSessionCompareAndSet", testRotateSessionCompareAndSet},
		{"RotateSessionConcurrentOneWins", testRotateSessionConcurrentOneWins},
		{"RotateSessionRolledBackLeavesNoTrace", testRotateSessionRolledBackLeavesNoTrace},
		{"RotateSessionKeepsSpentAtAndSuccessor", testRotateSessionKeepsSpentAtAndSuccessor},
		{"GetSessionIsTenantScoped", testGetSessionIsTenantScoped},
		{"MarkSessionVerifiedSetsOnlyVerifiedAt", testMarkSessionVerifiedSetsOnlyVerifiedAt},
		{"RevokeSessionReturnsAndDeletesIt", testRevokeSessionReturnsAndDeletesIt},
		{"RevokeSessionByIDIgnoresUnknown", testRevokeSessionByIDIgnoresUnknown},
		{"RevokeUserRemovesSessionsRefreshAndDevices", testRevokeUserRemovesSessionsRefreshAndDevices},
		{"RevokeUserExceptKeepsOneSession", testRevokeUserExceptKeepsOneSession},
		{"SessionsDoNotAliasStore", testSessionsDoNotAliasStore},
		{"CreateDeviceThenGetReturnsIt", testCreateDeviceThenGetReturnsIt},
		{"ListSessionsOfOneUserNewestFirst", testListSessionsOfOneUserNewestFirst},
		{"TouchSessionSetsLastSeenAt", testTouchSessionSetsLastSeenAt},
		{"ListDevicesOfOneUserNewestFirst", testListDevicesOfOneUserNewestFirst},
		{"DeleteDeviceIsUserAndTenantScoped", testDeleteDeviceIsUserAndTenantScoped},

		// Sign-in attempts
		{"AttemptsOfANewKeyAreNone", testAttemptsOfANewKeyAreNone},
		{"PutAttemptsThenLockReturnsEveryField", testPutAttemptsThenLockReturnsEveryField},
		{"LockAttemptsSerializesReservations", testLockAttemptsSerializesReservations},
		{"DeleteExpiredForgetsExpiredAttempts", testDeleteExpiredForgetsExpiredAttempts},

		// Pruning
		{"DeleteExpiredRemovesOnlyExpired", testDeleteExpiredRemovesOnlyExpired},
		{"DeleteExpiredSeesItsOwnTx", testDeleteExpiredSeesItsOwnTx},

		// Outbox
		{"EnqueueMailThenListReturnsEveryField", testEnqueueMailThenListReturnsEveryField},
		{"EnqueueMailDuplicateIDIsConflict", testEnqueueMailDuplicateIDIsConflict},
		{"ClaimMailTakesEarliestDueFirst", testClaimMailTakesEarliestDueFirst},
		{"ClaimMailSkipsNotDueAndFailed", testClaimMailSkipsNotDueAndFailed},
		{"ClaimedMailIsDueAgainAtUntil", testClaimedMailIsDueAgainAtUntil},
		{"ClaimMailConcurrentClaimsEachOnce", testClaimMailConcurrentClaimsEachOnce},
		{"ClaimMailRolledBackLeavesItClaimable", testClaimMailRolledBackLeavesItClaimable},
		{"UpdateMailStoresOnlyDeliveryState", testUpdateMailStoresOnlyDeliveryState},
		{"DeleteMailDeletesOnce", testDeleteMailDeletesOnce},
		{"CancelMailDeletesOnlyThatUsersKind", testCancelMailDeletesOnlyThatUsersKind},
		{"ListMailNewestFirstKeyset", testListMailNewestFirstKeyset},
		{"MailsDoNotAliasStore", testMailsDoNotAliasStore},
		{"FailedTxLeavesOutboxAsItWas", testFailedTxLeavesOutboxAsItWas},

		// Activity
		{"ListEventsNewestFirstKeyset", testListEventsNewestFirstKeyset},
		{"ListEventsIsPerUser", testListEventsIsPerUser},
		{"ListEventsNamesActor", testListEventsNamesActor},
		{"ListTenantEventsOldestFirstAcrossUsers", testListTenantEventsOldestFirstAcrossUsers},
		{"ListTenantEventsFollowsRollbacksAndDrops", testListTenantEventsFollowsRollbacksAndDrops},
		{"DropEventsDropsMonthsPastTheCutoff", testDropEventsDropsMonthsPastTheCutoff},
		{"DropEventsRolledBackLeavesEvents", testDropEventsRolledBackLeavesEvents},

		// Provisioning (issue 12)
		{"ProvisioningTokensListOldestFirstPerTenant", testProvisioningTokensListOldestFirstPerTenant},
		{"ProvisioningTokenDuplicateHashIsConflict", testProvisioningTokenDuplicateHashIsConflict},
		{"DeleteProvisioningTokenIsTenantScoped", testDeleteProvisioningTokenIsTenantScoped},
		{"UseProvisioningTokenWritesLastUsedWhenStale", testUseProvisioningTokenWritesLastUsedWhenStale},
		{"ProvisioningTokensDoNotAliasStore", testProvisioningTokensDoNotAliasStore},
		{"ProvisionedFieldsRoundTrip", testProvisionedFieldsRoundTrip},
		{"ProvisionedFieldsDoNotAliasStore", testProvisionedFieldsDoNotAliasStore},
		{"EventActorNameRoundTrips", testEventActorNameRoundTrips},

		// Transactions
		{"TxSeesItsOwnWrites", testTxSeesItsOwnWrites},
		{"RunInTxReturnsFnErrorAsIs", testRunInTxReturnsFnErrorAsIs},
		{"ReadOnlyTxReads", testReadOnlyTxReads},
		{"FailedTxLeavesNothing", testFailedTxLeavesNothing},
		{"ConcurrentTxsKeepEveryWrite", testConcurrentTxsKeepEveryWrite},

		// FindUsers (issue 12)
		{"FindUsersEveryOperatorOnEveryAttribute", testFindUsersEveryOperatorOnEveryAttribute},
		{"FindUsersAndOrNotNest", testFindUsersAndOrNotNest},
		{"FindUsersCaseRules", testFindUsersCaseRules},
		{"FindUsersLikeMetacharactersAreLiteral", testFindUsersLikeMetacharactersAreLiteral},
		{"FindUsersPagesAndTotal", testFindUsersPagesAndTotal},
		{"FindUsersDescending", testFindUsersDescending},
		{"FindUsersIsTenantScoped", testFindUsersIsTenantScoped},
		{"FindUsersLeavesOutDeprovisioned", testFindUsersLeavesOutDeprovisioned},
		{"FindUsersReturnsUsersAsGetUserDoes", testFindUsersReturnsUsersAsGetUserDoes},
		{"FindUsersBadTextIsInvalid", testFindUsersBadTextIsInvalid},
	}
}

// fixture is one store under test.
type fixture struct {
	t   *testing.T
	s   usermgmt.Store
	ctx context.Context
}

// Tenants used by the suite.
const (
	acme   = "acme"
	globex = "globex"
)

// base is the suite's "now": whole microseconds, UTC.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// errRollback is returned by fn to make RunInTx roll back.
var errRollback = errors.New("storetest: roll back")

// do runs fn in a writing transaction.
func (f *fixture) do(fn func(tx usermgmt.Tx) error) error {
	return f.s.RunInTx(f.ctx, usermgmt.TxOptions{}, func(_ context.Context, tx usermgmt.Tx) error { return fn(tx) })
}

func (f *fixture) mustDo(fn func(tx usermgmt.Tx) error) {
	f.t.Helper()
	require.NoError(f.t, f.do(fn))
}

// inTx runs fn in a writing transaction and returns its result.
func inTx[T any](f *fixture, fn func(tx usermgmt.Tx) (T, error)) (T, error) {
	var out T
	err := f.do(func(tx usermgmt.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

func mustTx[T any](f *fixture, fn func(tx usermgmt.Tx) (T, error)) T {
	f.t.Helper()
	v, err := inTx(f, fn)
	require.NoError(f.t, err)
	return v
}

// probe runs fn in a transaction that is then rolled back, so a write can
// be used to look without changing anything.
func probe[T any](f *fixture, fn func(tx usermgmt.Tx) (T, error)) (T, error) {
	f.t.Helper()
	var out T
	var ferr error
	err := f.do(func(tx usermgmt.Tx) error {
		out, ferr = fn(tx)
		return errRollback
	})
	require.ErrorIs(f.t, err, errRollback)
	return out, ferr
}

func requireCode(t *testing.T, err error, want usermgmt.Code, what string) {
	t.Helper()
	require.Equalf(t, want, usermgmt.ErrorCode(err), "%s: want %s, got error %v", what, want, err)
}

// race runs fn(0..n-1) in n goroutines released together and returns
// their errors.
func race(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// codes counts errors by code ("" for success).
func codes(errs []error) map[usermgmt.Code]int {
	m := map[usermgmt.Code]int{}
	for _, err := range errs {
		m[usermgmt.ErrorCode(err)]++
	}
	return m
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func newHash() usermgmt.TokenHash {
	var h usermgmt.TokenHash
	_, _ = rand.Read(h[:])
	return h
}

func ptr[T any](v T) *T { return &v }

// newUser returns a user record ready to insert: an invited user has no
// password; others have one and finished setup.
func newUser(tenantID, email string, st usermgmt.Status, roles ...usermgmt.Role) *usermgmt.UserRecord {
	u := &usermgmt.UserRecord{User: usermgmt.User{
		ID: newID(), TenantID: tenantID, Email: email, Status: st, Roles: roles,
		CreatedAt: base, UpdatedAt: base,
	}}
	if st != usermgmt.StatusInvited {
		u.ActivatedAt = ptr(base)
		u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
	}
	return u
}

// mustUser inserts a new user and returns it as stored.
func (f *fixture) mustUser(tenantID, email string, st usermgmt.Status, roles ...usermgmt.Role) usermgmt.UserRecord {
	f.t.Helper()
	u := newUser(tenantID, email, st, roles...)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
	return *u
}

func (f *fixture) getUser(tenantID string, id uuid.UUID) (usermgmt.UserRecord, error) {
	return inTx(f, func(tx usermgmt.Tx) (usermgmt.UserRecord, error) { return tx.GetUser(f.ctx, tenantID, id) })
}

func (f *fixture) mustGetUser(tenantID string, id uuid.UUID) usermgmt.UserRecord {
	f.t.Helper()
	u, err := f.getUser(tenantID, id)
	require.NoError(f.t, err)
	return u
}

func (f *fixture) mustUpdate(u usermgmt.UserRecord) {
	f.t.Helper()
	f.mustDo(func(tx usermgmt.Tx) error { return tx.UpdateUser(f.ctx, &u) })
}

func (f *fixture) counts(tenantID string) usermgmt.StatusCounts {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) (usermgmt.StatusCounts, error) { return tx.CountUsers(f.ctx, tenantID) })
}

func (f *fixture) activeWithRole(tenantID string, r usermgmt.Role) int {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) (int, error) { return tx.CountActiveWithRole(f.ctx, tenantID, r) })
}

func (f *fixture) list(p usermgmt.UserListParams) []usermgmt.User {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.User, error) { return tx.ListUsers(f.ctx, p) })
}

// emails lists the emails of users, in order.
func emails(users []usermgmt.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Email
	}
	return out
}

// newSession returns a session of u ready to insert: idle for 30 minutes
// from base, expiring 12 hours after it.
func newSession(u usermgmt.UserRecord) *usermgmt.SessionRecord {
	return &usermgmt.SessionRecord{
		ID: newID(), TenantID: u.TenantID, UserID: u.ID,
		TokenHash: newHash(), RefreshHash: newHash(),
		Roles: slices.Clone(u.Roles), IP: "192.0.2.7", UserAgent: "storetest/1.0",
		CreatedAt: base, IdleExpiresAt: base.Add(30 * time.Minute), ExpiresAt: base.Add(12 * time.Hour),
		VerifiedAt: base, LastSeenAt: base,
	}
}

func (f *fixture) mustSession(u usermgmt.UserRecord) usermgmt.SessionRecord {
	f.t.Helper()
	s := newSession(u)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateSession(f.ctx, s) })
	return *s
}

// sessionByRefresh is SessionByRefresh with spent as a bool; see
// spentRefresh for what a spent hash keeps.
func (f *fixture) sessionByRefresh(h usermgmt.TokenHash) (usermgmt.SessionRecord, bool, error) {
	s, spent, err := f.spentRefresh(h)
	return s, spent != nil, err
}

func (f *fixture) spentRefresh(h usermgmt.TokenHash) (usermgmt.SessionRecord, *usermgmt.SpentRefresh, error) {
	var s usermgmt.SessionRecord
	var spent *usermgmt.SpentRefresh
	err := f.do(func(tx usermgmt.Tx) error {
		var err error
		s, spent, err = tx.SessionByRefresh(f.ctx, h)
		return err
	})
	return s, spent, err
}

func (f *fixture) touch(h usermgmt.TokenHash, now time.Time) (usermgmt.SessionRecord, error) {
	s, _, err := f.s.TouchSession(f.ctx, h, now, 30*time.Minute)
	return s, err
}

func newToken(u usermgmt.UserRecord, p usermgmt.TokenPurpose) *usermgmt.TokenRecord {
	return &usermgmt.TokenRecord{
		Hash: newHash(), Purpose: p, TenantID: u.TenantID, UserID: u.ID,
		Data: []byte("sealed:" + string(p)), CreatedAt: base, ExpiresAt: base.Add(72 * time.Hour),
	}
}

func (f *fixture) mustToken(u usermgmt.UserRecord, p usermgmt.TokenPurpose) usermgmt.TokenRecord {
	f.t.Helper()
	r := newToken(u, p)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateToken(f.ctx, r) })
	return *r
}

func newDevice(u usermgmt.UserRecord) *usermgmt.DeviceRecord {
	return &usermgmt.DeviceRecord{ID: uuid.Must(uuid.NewV7()), Hash: newHash(), TenantID: u.TenantID, UserID: u.ID,
		IP: "192.0.2.9", UserAgent: "storetest-device/1.0", CreatedAt: base, ExpiresAt: base.Add(30 * 24 * time.Hour)}
}

func (f *fixture) mustDevice(u usermgmt.UserRecord) usermgmt.DeviceRecord {
	f.t.Helper()
	d := newDevice(u)
	f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateDevice(f.ctx, d) })
	return *d
}

// newEvent returns an event about u; its id is a fresh UUIDv7, so events
// made one after another are ordered.
func newEvent(u usermgmt.UserRecord, typ usermgmt.EventType, detail string) *usermgmt.Event {
	return &usermgmt.Event{
		ID: newID(), TenantID: u.TenantID, UserID: u.ID, Type: typ, ActorID: uuid.Nil,
		IP: "198.51.100.4", UserAgent: "storetest/1.0", Detail: detail,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
}

func (f *fixture) events(tenantID string, userID, before uuid.UUID, limit int) []usermgmt.Event {
	f.t.Helper()
	return mustTx(f, func(tx usermgmt.Tx) ([]usermgmt.Event, error) {
		return tx.ListEvents(f.ctx, tenantID, userID, before, limit)
	})
}

// Normalisation: stores may return times in any location and empty slices
// as nil; the suite compares what a caller can observe.

func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return ptr(t.UTC())
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// normUser is u as a store returns it. Version is left out: the store
// sets it (1 on CreateUser, one more on every UpdateUser), and the tests
// of versions check it on its own.
func normUser(u usermgmt.User) usermgmt.User {
	u.Roles = nilIfEmpty(u.Roles)
	u.DirectRoles = nilIfEmpty(u.DirectRoles)
	u.DeprovisionedAt = utcPtr(u.DeprovisionedAt)
	u.Version = 0
	u.LastLoginAt = utcPtr(u.LastLoginAt)
	u.ActivatedAt = utcPtr(u.ActivatedAt)
	u.InviteExpiresAt = utcPtr(u.InviteExpiresAt)
	u.LockedUntil = utcPtr(u.LockedUntil)
	u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
	return u
}

func normRecord(u usermgmt.UserRecord) usermgmt.UserRecord {
	u.User = normUser(u.User)
	u.MFASecret = nilIfEmpty(u.MFASecret)
	u.RecoveryCodes = nilIfEmpty(u.RecoveryCodes)
	u.LastMailAt = utc(u.LastMailAt)
	return u
}

func normUsers(us []usermgmt.User) []usermgmt.User {
	if len(us) == 0 {
		return nil
	}
	out := make([]usermgmt.User, len(us))
	for i, u := range us {
		out[i] = normUser(u)
	}
	return out
}

func normToken(r usermgmt.TokenRecord) usermgmt.TokenRecord {
	r.Data = nilIfEmpty(r.Data)
	r.CreatedAt, r.ExpiresAt = utc(r.CreatedAt), utc(r.ExpiresAt)
	return r
}

func normSession(s usermgmt.SessionRecord) usermgmt.SessionRecord {
	s.Roles = nilIfEmpty(s.Roles)
	s.CreatedAt, s.IdleExpiresAt, s.ExpiresAt = utc(s.CreatedAt), utc(s.IdleExpiresAt), utc(s.ExpiresAt)
	s.VerifiedAt, s.LastSeenAt = utc(s.VerifiedAt), utc(s.LastSeenAt)
	return s
}

func normDevice(d usermgmt.DeviceRecord) usermgmt.DeviceRecord {
	d.CreatedAt, d.ExpiresAt = utc(d.CreatedAt), utc(d.ExpiresAt)
	return d
}

func normEvents(es []usermgmt.Event) []usermgmt.Event {
	out := make([]usermgmt.Event, len(es))
	for i, e := range es {
		e.CreatedAt = utc(e.CreatedAt)
		out[i] = e
	}
	return out
}

func requireUser(t *testing.T, want, got usermgmt.UserRecord, what string) {
	t.Helper()
	require.Equal(t, normRecord(want), normRecord(got), what)
}

func requireSession(t *testing.T, want, got usermgmt.SessionRecord, what string) {
	t.Helper()
	require.Equal(t, normSession(want), normSession(got), what)
}

// deepCopy returns u sharing nothing with it, so that a store that aliases
// what it returns cannot change the copy.
func deepCopy(u usermgmt.UserRecord) usermgmt.UserRecord {
	u = normRecord(u)
	u.Roles = slices.Clone(u.Roles)
	u.MFASecret = slices.Clone(u.MFASecret)
	u.RecoveryCodes = slices.Clone(u.RecoveryCodes)
	return u // normRecord already copied the time pointers
}
