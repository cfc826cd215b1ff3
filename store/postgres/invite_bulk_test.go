package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// TestInviteUsersOnPostgres: a list of 1,000 with an email the tenant has
// and one twice is previewed without a trace (the rolled-back batches
// leave no user, mail or event), then invited in batches whose refused
// rows do not abort their transaction; the other instance delivers the
// mail at the shared rate, and a link works.
func TestInviteUsersOnPostgres(t *testing.T) {
	in := twoManagers(t)
	ctx := usermgmt.AsSystem(context.Background())
	agent := []usermgmt.Role{usermgmt.RoleAgent}
	_, err := in.one.InviteUser(ctx, "acme", usermgmt.Invite{Email: "p0500@acme.test", Roles: agent})
	require.NoError(t, err)
	in.mail.Reset()
	list := make([]usermgmt.Invite, 1000)
	for i := range list {
		list[i] = usermgmt.Invite{Email: fmt.Sprintf("p%04d@acme.test", i), Roles: agent}
	}
	list[999].Email = "P0007@acme.test"
	want := map[int]usermgmt.Code{500: usermgmt.CodeConflict, 999: usermgmt.CodeConflict}
	answers := func(res usermgmt.BulkInviteResult) map[int]usermgmt.Code {
		out := map[int]usermgmt.Code{}
		for _, r := range res.Rows {
			if r.Err != nil {
				out[r.Row] = r.Err.Code
			}
		}
		return out
	}

	start := time.Now()
	res, err := in.one.InviteUsers(ctx, "acme", list, usermgmt.BulkInviteOptions{DryRun: true})
	t.Logf("dry run of 1,000 rows: %v", time.Since(start))
	require.NoError(t, err)
	require.Equal(t, want, answers(res))
	page, err := in.two.ListUsers(ctx, "acme", usermgmt.ListUsersQuery{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, 1, page.Counts.All, "the preview wrote no user")
	mail, err := in.two.ListUndeliveredMail(ctx, "acme", usermgmt.MailQuery{})
	require.NoError(t, err)
	require.Empty(t, mail.Mail, "nor mail")

	start = time.Now()
	res, err = in.one.InviteUsers(ctx, "acme", list, usermgmt.BulkInviteOptions{})
	t.Logf("1,000 rows invited: %v", time.Since(start))
	require.NoError(t, err)
	require.Equal(t, want, answers(res))
	require.Equal(t, 998, res.Invited)
	page, err = in.two.ListUsers(ctx, "acme", usermgmt.ListUsersQuery{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, 999, page.Counts.Invited)
	act, err := in.two.ListActivity(ctx, "acme", res.Rows[998].UserID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, act.Events, 2, "user.created and user.invited")
	require.Empty(t, in.mail.Messages(), "the mail waits for the worker")

	d, err := in.two.DeliverPending(ctx)
	require.NoError(t, err)
	require.Equal(t, 10, d.Sent, "a burst of the default MailRate")
	require.Positive(t, d.Wait)
	_, err = in.one.AcceptInvite(ctx, in.mail.Token(in.mail.Messages()[0].To), pw)
	require.NoError(t, err)
}
