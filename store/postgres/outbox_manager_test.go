package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// TestTwoInstancesShareTheOutbox: a backlog of mail that failed while the
// SMTP server was down is delivered by two app instances at once, over two
// pools; SKIP LOCKED gives each mail to one of them, so every invitee gets
// exactly one mail, and its link works. The two share Options.MailRate
// (10 a second by default) through the database: together they send no
// more than that in a second of the clock.
func TestTwoInstancesShareTheOutbox(t *testing.T) {
	in := twoManagers(t)
	ctx := usermgmt.AsSystem(context.Background())
	const n = 60
	for i := range n {
		in.mail.FailNext(errors.New("smtp: connection refused"))
		_, err := in.one.InviteUser(ctx, "acme", usermgmt.Invite{Email: fmt.Sprintf("p%02d@acme.test", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		require.Equal(t, usermgmt.CodeDeliveryFailed, usermgmt.ErrorCode(err))
	}
	page, err := in.two.ListUndeliveredMail(ctx, "acme", usermgmt.MailQuery{Limit: 200})
	require.NoError(t, err)
	require.Len(t, page.Mail, n)

	in.clock.Advance(time.Minute)
	var total usermgmt.Delivery
	for second := 0; total.Sent < n; second++ {
		require.Less(t, second, 2*n/10, "the outbox stalled at %d mails", total.Sent)
		var wg sync.WaitGroup
		var mu sync.Mutex
		sent := 0
		for _, m := range []*usermgmt.Manager{in.one, in.two, in.one, in.two} {
			wg.Go(func() {
				d, err := m.DeliverPending(ctx)
				assert.NoError(t, err) // not require: FailNow must not run outside the test's goroutine
				mu.Lock()
				sent += d.Sent
				mu.Unlock()
			})
		}
		wg.Wait()
		require.LessOrEqual(t, sent, 10, "second %d: the instances share the mail rate", second)
		total.Sent += sent
		in.clock.Advance(time.Second)
	}
	require.Equal(t, n, total.Sent)
	seen := map[string]int{}
	for _, msg := range in.mail.Messages() {
		seen[msg.To]++
	}
	require.Len(t, seen, n)
	for to, c := range seen {
		require.Equal(t, 1, c, "%s got %d mails", to, c)
	}
	page, err = in.one.ListUndeliveredMail(ctx, "acme", usermgmt.MailQuery{})
	require.NoError(t, err)
	require.Empty(t, page.Mail)
	_, err = in.two.AcceptInvite(ctx, in.mail.Token("p07@acme.test"), pw)
	require.NoError(t, err)
}

// TestMailCommitsWithItsChange: an invitation refused inside its
// transaction (a duplicate email) leaves no mail behind, and one that
// commits leaves its mail until it is delivered.
func TestMailCommitsWithItsChange(t *testing.T) {
	in := twoManagers(t)
	ctx := usermgmt.AsSystem(context.Background())
	in.mail.FailNext(errors.New("smtp: connection refused"))
	_, err := in.one.InviteUser(ctx, "acme", usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.Equal(t, usermgmt.CodeDeliveryFailed, usermgmt.ErrorCode(err))
	_, err = in.two.InviteUser(ctx, "acme", usermgmt.Invite{Email: "ana@acme.test", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	require.Equal(t, usermgmt.CodeConflict, usermgmt.ErrorCode(err))
	page, err := in.one.ListUndeliveredMail(ctx, "acme", usermgmt.MailQuery{})
	require.NoError(t, err)
	require.Len(t, page.Mail, 1, "only the committed invitation's mail")
	require.Empty(t, in.mail.Messages())
}
