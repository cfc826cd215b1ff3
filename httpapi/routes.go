package httpapi

import (
	"net/http"

	"github.com/usermgmt/usermgmt"
)

// routeKind is how a route finds who calls it.
type routeKind string

const (
	// kindAdmin needs a signed-in caller and acts as that caller
	// (usermgmt.WithActor) in the caller's tenant: the Manager checks the
	// route's permission against the caller's roles.
	kindAdmin routeKind = "admin"
	// kindSelf needs a signed-in caller and serves only the caller's own
	// records, as trusted code (usermgmt.AsSystem): it needs no permission.
	kindSelf routeKind = "self"
	// kindPerson serves a person who is not signed in.
	kindPerson routeKind = "person"
	// kindRedeem is a person route that spends a link or challenge token:
	// when the host tells the tenant from the request, a token of another
	// tenant is refused as a bad link.
	kindRedeem routeKind = "redeem"
)

// route is an entry of routeTable. An admin or self route has signedIn, a
// person or redeem route has open.
type route struct {
	method, path string
	kind         routeKind
	// permission is what the Manager requires of an admin route's caller;
	// empty for the other kinds.
	permission usermgmt.Permission
	// tenantAdmin marks an admin route that only a tenant_admin may call,
	// whatever permissions other roles hold (provisioning tokens, group
	// mappings): the Manager checks the role, and the route names no
	// permission.
	tenantAdmin bool
	signedIn    func(*Handler, http.ResponseWriter, *http.Request, usermgmt.Principal) error
	open        func(*Handler, http.ResponseWriter, *http.Request) error
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

// routeTable is every route of the API. The router registers exactly these
// (routes), and the authorization tests walk them: an admin route is
// refused without a session and, with the Manager's check, without its
// permission. Each route is described in openapi.json too (a test checks
// both ways): a new row needs its operation there.
var routeTable = []route{
	{method: "GET", path: "/me", kind: kindSelf, signedIn: (*Handler).me},
	{method: "GET", path: "/roles", kind: kindSelf, signedIn: (*Handler).listRoles},
	{method: "GET", path: "/account", kind: kindSelf, signedIn: (*Handler).account},
	{method: "GET", path: "/account/sessions", kind: kindSelf, signedIn: (*Handler).ownSessions},
	{method: "DELETE", path: "/account/sessions/{sid}", kind: kindSelf, signedIn: (*Handler).revokeOwnSession},
	{method: "DELETE", path: "/account/devices/{did}", kind: kindSelf, signedIn: (*Handler).revokeOwnDevice},

	{method: "GET", path: "/users", kind: kindAdmin, permission: usermgmt.PermListUsers, signedIn: (*Handler).listUsers},
	{method: "GET", path: "/users/export", kind: kindAdmin, permission: usermgmt.PermListUsers, signedIn: (*Handler).exportUsers},
	{method: "GET", path: "/activity/export", kind: kindAdmin, permission: usermgmt.PermReadActivity,
		signedIn: (*Handler).exportActivity},
	{method: "POST", path: "/users/invitations", kind: kindAdmin, permission: usermgmt.PermInvite, signedIn: (*Handler).invite},
	{method: "GET", path: "/users/{id}", kind: kindAdmin, permission: usermgmt.PermListUsers, signedIn: (*Handler).getUser},
	{method: "POST", path: "/users/{id}/invitation/resend", kind: kindAdmin, permission: usermgmt.PermInvite,
		signedIn: (*Handler).resendInvite},
	{method: "PUT", path: "/users/{id}/roles/{role}", kind: kindAdmin, permission: usermgmt.PermChangeRoles,
		signedIn: (*Handler).grantRole},
	{method: "DELETE", path: "/users/{id}/roles/{role}", kind: kindAdmin, permission: usermgmt.PermChangeRoles,
		signedIn: (*Handler).revokeRole},
	{method: "POST", path: "/users/{id}/password-reset", kind: kindAdmin, permission: usermgmt.PermResetPassword,
		signedIn: (*Handler).sendPasswordReset},
	{method: "POST", path: "/users/{id}/logout", kind: kindAdmin, permission: usermgmt.PermForceLogout,
		signedIn: (*Handler).forceLogout},
	{method: "GET", path: "/users/{id}/activity", kind: kindAdmin, permission: usermgmt.PermReadActivity,
		signedIn: (*Handler).listActivity},
	{method: "POST", path: "/users/{id}/deactivate", kind: kindAdmin, permission: usermgmt.PermDeactivate,
		signedIn: (*Handler).deactivate},
	{method: "POST", path: "/users/{id}/activate", kind: kindAdmin, permission: usermgmt.PermDeactivate,
		signedIn: (*Handler).activate},
	{method: "POST", path: "/users/{id}/unlock", kind: kindAdmin, permission: usermgmt.PermResetPassword,
		signedIn: (*Handler).unlock},
	{method: "POST", path: "/users/{id}/mfa-reset", kind: kindAdmin, permission: usermgmt.PermResetMFA,
		signedIn: (*Handler).resetMFA},
	{method: "POST", path: "/users/{id}/erase", kind: kindAdmin, tenantAdmin: true, signedIn: (*Handler).erase},
	{method: "GET", path: "/users/{id}/sessions", kind: kindAdmin, permission: usermgmt.PermForceLogout,
		signedIn: (*Handler).listSessions},
	{method: "DELETE", path: "/users/{id}/sessions/{sid}", kind: kindAdmin, permission: usermgmt.PermForceLogout,
		signedIn: (*Handler).revokeSession},
	{method: "DELETE", path: "/users/{id}/devices/{did}", kind: kindAdmin, permission: usermgmt.PermForceLogout,
		signedIn: (*Handler).revokeDevice},
	{method: "GET", path: "/mail/undelivered", kind: kindAdmin, permission: usermgmt.PermListUsers,
		signedIn: (*Handler).listUndeliveredMail},
	{method: "GET", path: "/provisioning/tokens", kind: kindAdmin, tenantAdmin: true, signedIn: (*Handler).listProvisioningTokens},
	{method: "POST", path: "/provisioning/tokens", kind: kindAdmin, tenantAdmin: true, signedIn: (*Handler).createProvisioningToken},
	{method: "DELETE", path: "/provisioning/tokens/{id}", kind: kindAdmin, tenantAdmin: true,
		signedIn: (*Handler).revokeProvisioningToken},
	{method: "GET", path: "/groups", kind: kindAdmin, permission: usermgmt.PermListUsers, signedIn: (*Handler).listGroups},
	{method: "PUT", path: "/groups/{id}/roles", kind: kindAdmin, tenantAdmin: true, signedIn: (*Handler).setGroupRoles},

	{method: "GET", path: "/meta", kind: kindPerson, open: (*Handler).meta},
	{method: "POST", path: "/auth/login", kind: kindPerson, open: (*Handler).login},
	{method: "POST", path: "/auth/mfa", kind: kindRedeem, open: (*Handler).verifyMFA},
	{method: "POST", path: "/auth/refresh", kind: kindPerson, open: (*Handler).refresh},
	{method: "POST", path: "/auth/logout", kind: kindPerson, open: (*Handler).logout},
	{method: "POST", path: "/auth/password", kind: kindPerson, open: (*Handler).changePassword},
	{method: "POST", path: "/auth/sudo", kind: kindPerson, open: (*Handler).sudo},
	// Acts on the caller's own library session, as /auth/password does.
	{method: "POST", path: "/account/recovery-codes", kind: kindPerson, open: (*Handler).regenerateRecoveryCodes},
	{method: "POST", path: "/invitations/check", kind: kindRedeem, open: (*Handler).checkInvite},
	{method: "POST", path: "/invitations/accept", kind: kindRedeem, open: (*Handler).acceptInvite},
	{method: "POST", path: "/invitations/mfa", kind: kindRedeem, open: (*Handler).completeEnrollment},
	{method: "POST", path: "/password/forgot", kind: kindPerson, open: (*Handler).forgotPassword},
	{method: "POST", path: "/password/check", kind: kindRedeem, open: (*Handler).checkReset},
	{method: "POST", path: "/password/reset", kind: kindRedeem, open: (*Handler).resetPassword},

	{method: "GET", path: "/openapi.json", kind: kindPerson, open: (*Handler).openAPIDoc},
	{method: "GET", path: "/health", kind: kindPerson, open: (*Handler).health},
}

// routes registers every route of routeTable, each behind the wrapper of
// its kind, and nothing else: the mux is made here, and serve answers only
// the patterns registered here. It returns internal for
// an entry whose kind, permission and handler do not fit together.
func (h *Handler) routes() error {
	h.mux, h.routed = http.NewServeMux(), make(map[string]bool, len(routeTable))
	for _, rt := range routeTable {
		f, err := h.wrap(rt)
		if err != nil {
			return err
		}
		h.patterns = append(h.patterns, rt.pattern())
		h.routed[rt.pattern()] = true
		h.mux.HandleFunc(rt.pattern(), f)
	}
	return nil
}

// wrap puts a route's handler behind the checks of its kind.
func (h *Handler) wrap(rt route) (http.HandlerFunc, error) {
	wants := func(permission, signedIn bool) error {
		if (rt.permission != "") != permission || (rt.signedIn != nil) != signedIn || (rt.open != nil) == signedIn {
			return usermgmt.Errorf(usermgmt.CodeInternal, "httpapi: route %s of kind %q does not fit its kind", rt.pattern(), rt.kind)
		}
		return nil
	}
	if rt.tenantAdmin && rt.kind != kindAdmin {
		return nil, usermgmt.Errorf(usermgmt.CodeInternal, "httpapi: route %s of kind %q cannot be for tenant admins", rt.pattern(), rt.kind)
	}
	switch rt.kind {
	case kindAdmin:
		return h.admin(rt.signedIn), wants(!rt.tenantAdmin, true)
	case kindSelf:
		return h.self(rt.signedIn), wants(false, true)
	case kindPerson:
		return h.person(rt.open), wants(false, false)
	case kindRedeem:
		return h.redeem(rt.open), wants(false, false)
	}
	return nil, usermgmt.Errorf(usermgmt.CodeInternal, "httpapi: route %s has unknown kind %q", rt.pattern(), rt.kind)
}

// admin acts as the signed-in caller, whose permission the Manager checks.
func (h *Handler) admin(f func(*Handler, http.ResponseWriter, *http.Request, usermgmt.Principal) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err == nil {
			r = r.WithContext(usermgmt.WithActor(r.Context(), h.actor(r, p)))
			err = f(h, w, r, p)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	}
}

// self serves the caller's own records, which need no permission: the
// handler reads only the principal's own user, as trusted code.
func (h *Handler) self(f func(*Handler, http.ResponseWriter, *http.Request, usermgmt.Principal) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r)
		if err == nil {
			err = f(h, w, r.WithContext(usermgmt.AsSystem(r.Context())), p)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	}
}

// person serves a person who is not signed in: the actor carries only
// where the request came from, for the activity log and the session.
func (h *Handler) person(f func(*Handler, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(usermgmt.WithActor(r.Context(), h.actor(r, usermgmt.Principal{})))
		if err := f(h, w, r); err != nil {
			h.writeError(w, r, err)
		}
	}
}

// redeem serves a person route that spends a link or challenge token: when
// the host tells the tenant from the request, a token of another tenant is
// refused as a bad link.
func (h *Handler) redeem(f func(*Handler, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return h.person(func(h *Handler, w http.ResponseWriter, r *http.Request) error {
		if h.opts.TenantFromRequest != nil {
			t, err := h.tenant(r, "")
			if err != nil {
				return err
			}
			r = r.WithContext(usermgmt.ForTenant(r.Context(), t))
		}
		return f(h, w, r)
	})
}
