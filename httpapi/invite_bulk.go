package httpapi

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// BulkInviteRequest is the body of POST /users/invitations/bulk: up to
// usermgmt.MaxBulkInvites invitations, previewed (DryRun) or made.
type BulkInviteRequest struct {
	Invitations []InviteRequest `json:"invitations"`
	DryRun      bool            `json:"dry_run"`
}

// BulkInviteResult answers it: a row for each invitation, in order, and
// how many were (or, on a dry run, would be) invited and refused.
type BulkInviteResult struct {
	DryRun  bool            `json:"dry_run"`
	Invited int             `json:"invited"`
	Refused int             `json:"refused"`
	Rows    []BulkInviteRow `json:"rows"`
}

// BulkInviteRow is one invitation's outcome: Row is its index in the
// request, Email the address normalised (as sent when it is not valid),
// UserID the invited user (null on a dry run or when refused), and Error,
// for a refused row, what POST /users/invitations would have answered
// (code, message, field).
type BulkInviteRow struct {
	Row    int          `json:"row"`
	Email  string       `json:"email"`
	UserID *uuid.UUID   `json:"user_id"`
	Error  *errorDetail `json:"error,omitempty"`
}

func (h *Handler) inviteBulk(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	var req BulkInviteRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	invs := make([]usermgmt.Invite, len(req.Invitations))
	for i, inv := range req.Invitations {
		invs[i] = usermgmt.Invite{Email: inv.Email, Roles: inv.Roles}
	}
	res, err := h.m.InviteUsers(r.Context(), p.TenantID, invs, usermgmt.BulkInviteOptions{DryRun: req.DryRun})
	if err != nil {
		return err
	}
	out := BulkInviteResult{DryRun: req.DryRun, Invited: res.Invited, Refused: res.Refused, Rows: make([]BulkInviteRow, len(res.Rows))}
	for i, row := range res.Rows {
		o := BulkInviteRow{Row: row.Row, Email: row.Email}
		if row.UserID != uuid.Nil {
			o.UserID = &row.UserID
		}
		if row.Err != nil {
			o.Error = &errorDetail{Code: row.Err.Code, Message: usermgmt.ErrorMessage(row.Err), Field: row.Err.Field}
		}
		out.Rows[i] = o
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
