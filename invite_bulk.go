package usermgmt

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// MaxBulkInvites is the most rows one InviteUsers call takes.
const MaxBulkInvites = 1000

// bulkBatch is how many rows of InviteUsers one transaction writes: a
// batch holds its rows' locks (and the memory store's lock) briefly.
const bulkBatch = 100

// BulkInviteOptions tunes InviteUsers.
type BulkInviteOptions struct {
	// DryRun checks every row as the invitations would be made, the
	// store's answers included (an email the tenant has), and writes
	// nothing: a preview.
	DryRun bool
}

// BulkInviteRow is what became of one row of InviteUsers.
type BulkInviteRow struct {
	Row   int    // the row's index in the list, from 0
	Email string // normalised, or as given when it is no valid email
	// UserID is the invited user; uuid.Nil on a dry run or when the row
	// was refused.
	UserID uuid.UUID
	// Err is why the row was refused, nil when it was invited (or on a
	// dry run would be): its Code, Field and Message are those InviteUser
	// answers, and a second row with an email the list has already is
	// conflict on FieldEmail.
	Err *Error
}

// BulkInviteResult is the outcome of InviteUsers, a row for each row given.
type BulkInviteResult struct {
	Rows    []BulkInviteRow
	Invited int // rows invited (on a dry run: rows that would be)
	Refused int // rows with an Err
}

// InviteUsers invites every row of invs as InviteUser would, with the same
// checks and events, and reports on each row: a refused row (a bad email
// or role, an email the tenant or an earlier row has, a role the actor may
// not grant, a tenant_admin outside sudo mode) does not stop the others.
// The rows are written in batches of a hundred, each in one transaction
// with its events and its mails. The mails are not sent before InviteUsers
// returns: the outbox worker (Run) delivers them at Options.MailRate, so a
// host that invites in bulk must run it. With opts.DryRun nothing is
// written. It returns invalid for an empty list or one longer than
// MaxBulkInvites, and permission_denied when the actor may not invite;
// when a later batch fails (internal, unavailable) the rows of the batches
// before it are invited and the result says which.
func (m *Manager) InviteUsers(ctx context.Context, tenantID string, invs []Invite, opts BulkInviteOptions) (BulkInviteResult, error) {
	ctx = rereadActor(ctx) // each batch checks the actor as the store has it then
	if err := checkTenant(tenantID); err != nil {
		return BulkInviteResult{}, err
	}
	if len(invs) == 0 {
		return BulkInviteResult{}, Errorf(CodeInvalid, "the list has no one to invite")
	}
	if len(invs) > MaxBulkInvites {
		return BulkInviteResult{}, Errorf(CodeInvalid, "at most %d people can be invited at a time; the list has %d",
			MaxBulkInvites, len(invs))
	}
	res := BulkInviteResult{Rows: make([]BulkInviteRow, len(invs))}
	users := make([]*UserRecord, len(invs)) // nil for a row refused before the store
	seen := make(map[string]bool, len(invs))
	for i, inv := range invs {
		row := &res.Rows[i]
		row.Row, row.Email = i, inv.Email
		email, err := NormalizeEmail(inv.Email)
		if err == nil {
			row.Email = email
			if seen[email] {
				err = fieldErrorf(FieldEmail, CodeConflict, "the list names %s more than once", email)
			}
			seen[email] = true
		}
		var u *UserRecord
		if err == nil {
			u, err = m.newInvitee(tenantID, inv)
		}
		if ErrorCode(err) == CodeInternal {
			return BulkInviteResult{}, err
		}
		if err != nil {
			row.Err = asError(err)
			continue
		}
		users[i] = u
	}
	for start := 0; start < len(invs); start += bulkBatch {
		end := min(start+bulkBatch, len(invs))
		if err := m.inviteBatch(ctx, tenantID, users[start:end], res.Rows[start:end], opts.DryRun); err != nil {
			if start == 0 {
				return BulkInviteResult{}, err
			}
			res.count(start)
			res.Rows = res.Rows[:start]
			return res, err
		}
	}
	res.count(len(res.Rows))
	return res, nil
}

// count fills Invited and Refused from the first n rows.
func (r *BulkInviteResult) count(n int) {
	for _, row := range r.Rows[:n] {
		if row.Err == nil {
			r.Invited++
		} else {
			r.Refused++
		}
	}
}

// errDryRun rolls a dry run's batch back.
var errDryRun = errors.New("dry run")

// inviteBatch invites the users of one batch in one transaction
// (createInvited, its mail left to the outbox worker) and records each
// row's outcome; a nil user was refused already. An error that is a row's
// own (createInvited's answers about that user) refuses the row; any
// other fails the batch, which then writes nothing. A dry run rolls the
// batch back.
func (m *Manager) inviteBatch(ctx context.Context, tenantID string, users []*UserRecord, rows []BulkInviteRow, dryRun bool) error {
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		az, err := m.authorize(ctx, tx, tenantID, PermInvite)
		if err != nil {
			return err
		}
		for i, u := range users {
			if u == nil {
				continue
			}
			rows[i].Err, rows[i].UserID = nil, uuid.Nil
			r := *u // a retried transaction starts again from u
			_, err := m.createInvited(ctx, tx, az, &r, attemptLater)
			switch ErrorCode(err) {
			case "":
				rows[i].UserID = u.ID
			case CodeConflict, CodePermissionDenied, CodeMFARequired:
				rows[i].Err = asError(err)
			default:
				return err
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		for i := range rows {
			rows[i].UserID = uuid.Nil
		}
		return nil
	}
	return wrapInternal(err)
}

// asError returns the *Error of err's chain (every error of a row is one).
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return internalf(err, "internal error")
}
