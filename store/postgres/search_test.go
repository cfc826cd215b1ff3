package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// A search reads a bounded window in email order, walks on when the term
// is common, then asks the trigram index for the rest: paging through a
// tenant larger than the window must give exactly the matches, in order,
// for a rare term (straight to the index), a common one (the second walk)
// and matches clustered at the end.
func TestSearchPagesPastTheWindow(t *testing.T) {
	s := newStore(t)
	var emails []string
	for i := range 1500 {
		e := fmt.Sprintf("u%04d@x.io", i)
		switch {
		case i%97 == 0:
			e = fmt.Sprintf("u%04d.needle@x.io", i)
		case i%20 == 3:
			e = fmt.Sprintf("u%04d.dense@x.io", i)
		case i >= 1400:
			e = fmt.Sprintf("zz%04d.needle@x.io", i)
		}
		emails = append(emails, e)
	}
	// A block of emails that begin with a term, sorting after a window of
	// others, with the term further in before, among and after them.
	for i := range 300 {
		e := fmt.Sprintf("a%04d@x.io", i)
		if i == 250 {
			e = "a0250.pin@x.io"
		}
		emails = append(emails, e)
	}
	for i := range 120 {
		e := fmt.Sprintf("pin%04d@x.io", i)
		if i%40 == 7 {
			e = fmt.Sprintf("pin%04d.pin@x.io", i)
		}
		emails = append(emails, e)
	}
	emails = append(emails, "pim.pin@x.io", "u0500.pin@x.io", "zpin@x.io")
	inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) error {
		for i, e := range emails {
			st := usermgmt.StatusActive
			if i%3 == 0 {
				st = usermgmt.StatusInvited
			}
			if err := tx.CreateUser(ctx, newUser("t1", e, st)); err != nil {
				return err
			}
		}
		return tx.CreateUser(ctx, newUser("t2", "other.needle@x.io", usermgmt.StatusActive))
	})
	for _, c := range []struct {
		term   string
		status usermgmt.Status
	}{{"needle", ""}, {"needle", usermgmt.StatusInvited}, {"dense", ""}, {"dense", usermgmt.StatusInvited},
		{"pin", ""}, {"pin", usermgmt.StatusInvited}} {
		status := c.status
		var want []string
		for i, e := range emails {
			if strings.Contains(e, c.term) && (status == "" || i%3 == 0) {
				want = append(want, e)
			}
		}
		slices.Sort(want)
		for _, limit := range []int{1, 7, 50, 200} {
			var got []string
			after := ""
			for range 1000 {
				var page []usermgmt.User
				inTx(t, s, func(ctx context.Context, tx usermgmt.Tx) (err error) {
					page, err = tx.ListUsers(ctx, usermgmt.UserListParams{TenantID: "t1", Status: status, Search: c.term, After: after, Limit: limit})
					return err
				})
				require.LessOrEqual(t, len(page), limit)
				for _, u := range page {
					got = append(got, u.Email)
				}
				if len(page) < limit {
					break
				}
				after = page[len(page)-1].Email
			}
			assert.Equal(t, want, got, "%q status %q limit %d", c.term, status, limit)
		}
	}
}
