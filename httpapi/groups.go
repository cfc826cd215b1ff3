package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// Group is one of the tenant's groups, as its identity provider pushes
// them, with the roles its members hold through it.
type Group struct {
	ID          uuid.UUID       `json:"id"`
	DisplayName string          `json:"display_name"`
	ExternalID  string          `json:"external_id"`
	Roles       []usermgmt.Role `json:"roles"`
	Members     int             `json:"members"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// GroupPage is GET /groups: a page of groups by name, and how many the
// tenant has.
type GroupPage struct {
	Groups []Group `json:"groups"`
	Total  int     `json:"total"`
}

// GroupRolesRequest is the body of PUT /groups/{id}/roles: every role the
// group's members are to hold through it (none unmaps it).
type GroupRolesRequest struct {
	Roles []usermgmt.Role `json:"roles"`
}

// defaultGroupLimit is the page size of GET /groups without a limit.
const defaultGroupLimit = 50

func group(g usermgmt.Group) Group {
	roles := g.Roles
	if roles == nil {
		roles = []usermgmt.Role{}
	}
	return Group{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID, Roles: roles, Members: g.Members,
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

// listGroups serves GET /groups?offset=&limit=.
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	q := r.URL.Query()
	if err := onlyParams(q, "offset", "limit"); err != nil {
		return err
	}
	offset, err := queryInt(q, "offset")
	if err != nil {
		return err
	}
	limit, err := queryInt(q, "limit")
	if err != nil {
		return err
	}
	if q.Get("limit") == "" {
		limit = defaultGroupLimit
	}
	if offset < 0 || limit < 1 || limit > usermgmt.MaxFindLimit {
		return errorf(usermgmt.CodeInvalid, "offset must not be negative, and limit must be 1 to 200")
	}
	res, err := h.m.FindGroups(r.Context(), p.TenantID, usermgmt.GroupQuery{Offset: offset, Limit: limit})
	if err != nil {
		return err
	}
	out := GroupPage{Groups: make([]Group, len(res.Groups)), Total: res.Total}
	for i, g := range res.Groups {
		out.Groups[i] = group(g)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// setGroupRoles serves PUT /groups/{id}/roles; mapping to tenant_admin
// outside sudo mode answers mfa_required.
func (h *Handler) setGroupRoles(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	id, err := pathID(r, "id", "group")
	if err != nil {
		return err
	}
	var req GroupRolesRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Roles == nil {
		return errorf(usermgmt.CodeInvalid, "roles is required: the list of roles, empty to unmap the group")
	}
	g, err := h.m.SetGroupRoles(r.Context(), p.TenantID, id, req.Roles)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, group(g))
	return nil
}
