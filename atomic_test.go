package usermgmt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// faultyStore fails the transaction that appends an event of one type or
// revokes sessions: the write before it in the same transaction must be
// gone too.
type faultyStore struct {
	usermgmt.Store
	failEvent  usermgmt.EventType
	failRevoke bool
}

func (s *faultyStore) RunInTx(ctx context.Context, o usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	return s.Store.RunInTx(ctx, o, func(ctx context.Context, tx usermgmt.Tx) error {
		return fn(ctx, faultyTx{Tx: tx, s: s})
	})
}

type faultyTx struct {
	usermgmt.Tx
	s *faultyStore
}

var errDiskFull = errors.New("disk full")

func (t faultyTx) AppendEvent(ctx context.Context, e *usermgmt.Event) error {
	if e.Type == t.s.failEvent {
		return errDiskFull
	}
	return t.Tx.AppendEvent(ctx, e)
}

func (t faultyTx) RevokeUserExcept(ctx context.Context, tenantID string, userID, keep uuid.UUID) (usermgmt.Revoked, error) {
	if t.s.failRevoke {
		return usermgmt.Revoked{}, errDiskFull
	}
	return t.Tx.RevokeUserExcept(ctx, tenantID, userID, keep)
}

func TestAChangeAndItsEventCommitTogether(t *testing.T) {
	e := mustManager(t)
	fs := &faultyStore{Store: e.store}
	m, err := usermgmt.New(fs, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	target := e.seedActive(t, tenant, "ana@acme.test", usermgmt.RoleAgent)
	_, _, s, _ := e.onboard(t, "bob@acme.test")
	bob, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "bob@"})
	require.NoError(t, err)
	before, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
	require.NoError(t, err)
	mails := len(e.mail.Messages())

	for name, c := range map[string]struct {
		event  usermgmt.EventType
		revoke bool
		do     func() error
	}{
		"InviteLeavesNoUser": {event: usermgmt.EventInvited, do: func() error {
			_, err := m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: "new@acme.test", Roles: []usermgmt.Role{"agent"}})
			return err
		}},
		"GrantLeavesRolesAsTheyWere": {event: usermgmt.EventRoleGranted, do: func() error {
			_, err := m.GrantRole(e.ctx, tenant, target.ID, usermgmt.RoleSupervisor)
			return err
		}},
		"DeactivateLeavesTheUserActive": {revoke: true, do: func() error {
			_, err := m.Deactivate(e.ctx, tenant, bob.Users[0].ID)
			return err
		}},
		"ForceLogoutLeavesNoHalfRecord": {event: usermgmt.EventSessionsRevoked, do: func() error {
			return m.ForceLogout(e.ctx, tenant, bob.Users[0].ID)
		}},
	} {
		t.Run(name, func(t *testing.T) {
			fs.failEvent, fs.failRevoke = c.event, c.revoke
			defer func() { fs.failEvent, fs.failRevoke = "", false }()
			assert.Equal(t, usermgmt.CodeInternal, code(c.do()))
			after, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
			require.NoError(t, err)
			assert.Equal(t, before, after)
			assert.Len(t, e.mail.Messages(), mails, "no mail for a change that did not happen")
			_, err = e.m.Authenticate(context.Background(), s.Token)
			assert.NoError(t, err, "sessions untouched")
		})
	}
}
