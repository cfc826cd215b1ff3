package scim

import (
	"net/http"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
	"github.com/usermgmt/usermgmt"
)

// page is the startIndex and count of a list request (RFC 7644
// §3.4.2.4): startIndex is 1-based (less than 1 is 1); count defaults to
// and is capped at maxResults (usermgmt.MaxFindLimit), and 0 asks for the
// total only.
type page struct{ start, count int }

func parsePage(r *http.Request) (page, error) {
	p := page{start: 1, count: usermgmt.MaxFindLimit}
	q := r.URL.Query()
	for _, f := range []struct {
		name string
		dst  *int
	}{{"startIndex", &p.start}, {"count", &p.count}} {
		s := q.Get(f.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return p, errorf(http.StatusBadRequest, typeInvalidValue, "%s must be an integer", f.name)
		}
		*f.dst = n
	}
	p.start = max(p.start, 1)
	p.count = min(max(p.count, 0), usermgmt.MaxFindLimit)
	return p, nil
}

// parseList reads the parameters every list takes: the page, the
// projection for resources of schema core, and the filter (nil: none).
func parseList(r *http.Request, core string) (page, projection, filter.Expression, error) {
	pg, err := parsePage(r)
	if err != nil {
		return pg, projection{}, nil, err
	}
	proj, err := parseProjection(r, core)
	if err != nil {
		return pg, proj, nil, err
	}
	var e filter.Expression
	if s := r.URL.Query().Get("filter"); strings.TrimSpace(s) != "" {
		e, err = parseFilter(s)
	}
	return pg, proj, e, err
}

// listResponse is the ListResponse message of RFC 7644 §3.4.2.
func listResponse(total int, p page, resources []map[string]any) map[string]any {
	if resources == nil {
		resources = []map[string]any{}
	}
	return map[string]any{
		"schemas":      []string{listSchema},
		"totalResults": total,
		"itemsPerPage": len(resources),
		"startIndex":   p.start,
		"Resources":    resources,
	}
}

// listUsers answers GET /Users: filter, sortBy (userName), sortOrder,
// startIndex, count, attributes and excludedAttributes. The store
// evaluates the filter and pages in email order.
func (h *handler) listUsers(w http.ResponseWriter, r *http.Request, tenant string) error {
	q := r.URL.Query()
	pg, proj, e, err := parseList(r, userSchema)
	if err != nil {
		return err
	}
	uq := usermgmt.UserQuery{Offset: pg.start - 1, Limit: pg.count}
	if e != nil {
		f, err := userFilter(e)
		if err != nil {
			return err
		}
		uq.Filter = &f
	}
	if by := q.Get("sortBy"); by != "" {
		if a := parseAttrName(by, userSchema); a.foreign || (a.attr != "username" && !(a.attr == "emails" && (a.sub == "" || a.sub == "value"))) {
			return errorf(http.StatusBadRequest, typeInvalidValue, "sortBy takes userName only")
		}
	}
	switch strings.ToLower(q.Get("sortOrder")) {
	case "", "ascending":
	case "descending":
		uq.Descending = true
	default:
		return errorf(http.StatusBadRequest, typeInvalidValue, "sortOrder is ascending or descending")
	}
	res, err := h.m.FindUsers(r.Context(), tenant, uq)
	if usermgmt.ErrorCode(err) == usermgmt.CodeInvalid && uq.Filter != nil {
		return badFilter("%s", usermgmt.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	base := baseURL(r)
	out := make([]map[string]any, len(res.Users))
	for i, u := range res.Users {
		out[i] = proj.apply(userResource(base, u, nil))
	}
	writeJSON(w, http.StatusOK, listResponse(res.Total, pg, out))
	return nil
}
