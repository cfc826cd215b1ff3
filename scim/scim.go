// Package scim serves a tenant's users and groups to its identity provider
// (Okta, Microsoft Entra ID, OneLogin, JumpCloud) over SCIM 2.0 (RFC 7643,
// RFC 7644). Like httpapi it speaks only to the Manager.
//
// Mount it under a prefix with http.StripPrefix:
//
//	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", scim.New(m, scim.Options{})))
//
// Every request carries "Authorization: Bearer <secret>" with the secret of
// a provisioning token (Manager.CreateProvisioningToken). The token decides
// the tenant: nothing in the path, the query or a header can name another
// one, and every Manager call runs as usermgmt.AsProvisioner, so the
// activity log names the token ("provisioning: Okta").
//
// Endpoints: /ServiceProviderConfig, /ResourceTypes(/{name}),
// /Schemas(/{id}), /Users(/{id}) and /Groups(/{id}) with GET, POST, PUT,
// PATCH and DELETE as RFC 7644 says. Every answer is application/scim+json;
// every failure is an RFC 7644 §3.12 error body. Resources carry
// meta.location (and a 201 its Location) as an absolute URL built from
// the request: its Host, the mount prefix that http.StripPrefix took from
// the path, and the scheme https when the request came over TLS or with
// "X-Forwarded-Proto: https" (a proxy that ends TLS in front of the host
// sets it; without it such a host would hand out http:// URLs). That
// header only shapes the URLs sent back to the same client, so believing
// it gives nothing away.
//
// A Handler is safe for concurrent use. Its rate limit is kept in the
// Manager's store when the store is a usermgmt.RateLimiter
// (Manager.SharedLimiter; store/postgres is one), so every instance on
// one database shares it, and in memory otherwise; when the store fails a
// limit check, this process's own buckets decide it and the failure is
// logged. The limiter starts no goroutine, so there is nothing to close.
package scim

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/ratelimit"
)

// Options configures the handler. Zero values take the documented defaults.
type Options struct {
	// NoInviteMail creates provisioned users without mailing them an
	// invitation, for tenants that sign in through SSO.
	NoInviteMail bool
	// DefaultRoles are granted directly to every user the identity
	// provider creates. Default none: their groups give them roles.
	DefaultRoles []usermgmt.Role
	// MaxBodyBytes caps request bodies (413 above it). Default 1 MiB.
	MaxBodyBytes int64
	// RateLimit limits the requests of each provisioning token.
	RateLimit RateLimit
	// Logger receives internal errors. Default: slog.Default().
	Logger *slog.Logger
	// Clock tells the time for the rate limit. Default time.Now; give it
	// the Manager's clock in tests.
	Clock func() time.Time
}

// RateLimit is a token bucket per provisioning token: Burst requests at
// once, refilled at PerSecond. Zero fields take the defaults (20 per
// second, burst 100: an identity provider's initial sync runs at full
// speed without starving the host); a negative Burst turns it off.
// Beyond it a request is answered 429 with Retry-After.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

const (
	defaultPerSecond = 20
	defaultBurst     = 100
	defaultMaxBody   = 1 << 20
)

// handler serves SCIM; see the package doc.
type handler struct {
	m      *usermgmt.Manager
	opts   Options
	log    *slog.Logger
	limits *ratelimit.Limiter
	per    time.Duration // the time the bucket takes to refill from empty
	mux    *http.ServeMux
}

// New returns the SCIM service over m. Options it cannot use (a nil
// Manager, a negative body limit or rate, an unknown default role) make
// every request answer 500 and log why.
func New(m *usermgmt.Manager, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := fillOptions(m, &opts); err != nil {
		log := opts.Logger
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.ErrorContext(r.Context(), "scim: misconfigured", "err", err)
			writeError(w, errorf(http.StatusInternalServerError, "", internalDetail))
		})
	}
	h := &handler{m: m, opts: opts, log: opts.Logger, limits: ratelimit.New(opts.Clock, m.SharedLimiter(), opts.Logger),
		per: time.Duration(float64(opts.RateLimit.Burst) / opts.RateLimit.PerSecond * float64(time.Second))}
	h.routes()
	return h
}

// fillOptions checks opts and sets the defaults.
func fillOptions(m *usermgmt.Manager, opts *Options) error {
	if m == nil {
		return errors.New("a Manager is required")
	}
	if opts.MaxBodyBytes < 0 {
		return errors.New("Options.MaxBodyBytes must not be negative")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = defaultMaxBody
	}
	if opts.RateLimit.PerSecond < 0 {
		return errors.New("Options.RateLimit.PerSecond must not be negative")
	}
	if opts.RateLimit.PerSecond == 0 {
		opts.RateLimit.PerSecond = defaultPerSecond
	}
	if opts.RateLimit.Burst == 0 {
		opts.RateLimit.Burst = defaultBurst
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	known := map[usermgmt.Role]bool{}
	for _, d := range m.Roles() {
		known[d.Name] = true
	}
	for _, r := range opts.DefaultRoles {
		if !known[r] {
			return errors.New("Options.DefaultRoles: unknown role " + strconv.Quote(string(r)))
		}
	}
	return nil
}

// route is one endpoint: a method and path pattern of http.ServeMux and
// what serves it, given the request's tenant.
type route struct {
	method, path string
	serve        func(h *handler, w http.ResponseWriter, r *http.Request, tenant string) error
}

// routeTable is every endpoint of the service.
var routeTable = []route{
	{"GET", "/ServiceProviderConfig", (*handler).serviceProviderConfig},
	{"GET", "/ResourceTypes", (*handler).resourceTypes},
	{"GET", "/ResourceTypes/{id}", (*handler).resourceTypes},
	{"GET", "/Schemas", (*handler).schemas},
	{"GET", "/Schemas/{id}", (*handler).schemas},
	{"GET", "/Users", (*handler).listUsers},
	{"POST", "/Users", (*handler).createUser},
	{"GET", "/Users/{id}", (*handler).getUser},
	{"PUT", "/Users/{id}", (*handler).replaceUser},
	{"PATCH", "/Users/{id}", (*handler).patchUser},
	{"DELETE", "/Users/{id}", (*handler).deleteUser},
	{"GET", "/Groups", (*handler).listGroups},
	{"POST", "/Groups", (*handler).createGroup},
	{"GET", "/Groups/{id}", (*handler).getGroup},
	{"PUT", "/Groups/{id}", (*handler).replaceGroup},
	{"PATCH", "/Groups/{id}", (*handler).patchGroup},
	{"DELETE", "/Groups/{id}", (*handler).deleteGroup},
}

// routes registers routeTable, a 405 with Allow for another method on a
// known path, and a 404 for any other path, all as SCIM errors.
func (h *handler) routes() {
	h.mux = http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range routeTable {
		h.mux.Handle(rt.method+" "+rt.path, h.guard(rt.serve))
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	for path, methods := range allow {
		methods := strings.Join(methods, ", ")
		h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			writeError(w, errorf(http.StatusMethodNotAllowed, "", "%s is not allowed here; use %s", r.Method, methods))
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, "", "there is no SCIM endpoint at %s", r.URL.Path))
	})
}

// ServeHTTP serves SCIM. No answer may be kept by a cache.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// guard authenticates the request's provisioning token, applies its rate
// limit and body cap, and runs serve as the token in its tenant.
func (h *handler) guard(serve func(*handler, http.ResponseWriter, *http.Request, string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := h.authenticate(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if ok, wait := h.limits.Allow(r.Context(), "scim|"+tok.ID.String(), h.opts.RateLimit.Burst, h.per); !ok {
			secs := int64((wait + time.Second - 1) / time.Second)
			h.fail(w, r, &usermgmt.Error{Code: usermgmt.CodeRateLimited, RetryAfter: secs,
				Message: "too many requests with this provisioning token"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
		r = r.WithContext(usermgmt.AsProvisioner(r.Context(), tok))
		if err := serve(h, w, r, tok.TenantID); err != nil {
			h.fail(w, r, err)
		}
	})
}

// authenticate returns the provisioning token of the request's bearer
// secret, or a 401.
func (h *handler) authenticate(r *http.Request) (usermgmt.ProvisioningToken, error) {
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return usermgmt.ProvisioningToken{}, errorf(http.StatusUnauthorized, "",
			"a provisioning token is required as Authorization: Bearer")
	}
	tok, err := h.m.AuthenticateProvisioning(r.Context(), secret)
	if usermgmt.ErrorCode(err) == usermgmt.CodeUnauthenticated {
		return tok, errorf(http.StatusUnauthorized, "", "the provisioning token is not valid (revoked or mistyped)")
	}
	return tok, err
}

// fail answers err as a SCIM error, logging internal errors, whose text
// is never sent.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "scim: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="SCIM"`)
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(e.retryAfter, 10))
	}
	writeError(w, e)
}

// baseURL is the absolute URL the handler is mounted at, without a
// trailing slash (see the package doc).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(firstValue(r.Header.Get("X-Forwarded-Proto")), "https") {
		scheme = "https"
	}
	prefix := ""
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && strings.HasSuffix(u.Path, r.URL.Path) {
		prefix = strings.TrimSuffix(u.Path[:len(u.Path)-len(r.URL.Path)], "/")
	}
	return scheme + "://" + r.Host + prefix
}

// firstValue is the first of a header's comma-separated values, trimmed.
func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}
