package httpapi

import (
	"log/slog"
	"net/http"
	"slices"

	"github.com/usermgmt/usermgmt"
)

// Patterns returns the pattern of every route h serves, for tests that
// must walk them all.
func Patterns(h *Handler) []string { return slices.Clone(h.patterns) }

// Route is an entry of the route table, as the tests read it.
type Route struct {
	Method, Path string
	Kind         string // "admin", "self", "person" or "redeem"
	Permission   usermgmt.Permission
	TenantAdmin  bool // an admin route only a tenant_admin may call; it names no permission
}

// Pattern is the route's pattern on the mux.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Routes returns the route table the router registers.
func Routes() []Route {
	out := make([]Route, len(routeTable))
	for i, rt := range routeTable {
		out[i] = Route{Method: rt.method, Path: rt.path, Kind: string(rt.kind), Permission: rt.permission,
			TenantAdmin: rt.tenantAdmin}
	}
	return out
}

// HandleBeside puts a pattern on h's mux as a careless change would,
// beside the route table.
func HandleBeside(h *Handler, pattern string, f http.HandlerFunc) { h.mux.HandleFunc(pattern, f) }

// WriteError is writeError, for the test over every code's message.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	(&Handler{log: slog.New(slog.DiscardHandler)}).writeError(w, r, err)
}
