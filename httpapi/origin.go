package httpapi

import (
	"net/http"
	"net/url"

	"github.com/usermgmt/usermgmt"
)

// sameScheme refuses an unsafe request whose Origin names the request's
// host with another scheme. http.CrossOriginProtection lets it through:
// when a browser sends Origin without Sec-Fetch-Site, it compares the
// Origin's host with the Host header only, so a page on
// http://app.example.com (which anyone on the path can write) passed as
// the same origin as https://app.example.com. A browser that sends
// Sec-Fetch-Site has judged the scheme already; that header is left to
// CrossOriginProtection, as are other hosts and TrustedOrigins.
//
// The request's scheme is https when it came over TLS, and also without
// TLS unless Options.Insecure: then the handler's cookies are Secure with
// the __Host- prefix, which browsers take only over https, so a plain-HTTP
// request has come through a TLS-terminating proxy. X-Forwarded-Proto is
// not read: it would only ever say https here, and anyone can send it.
func (h *Handler) sameScheme(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.otherScheme(r) {
			h.writeError(w, r, errorf(usermgmt.CodePermissionDenied, "cross-origin request refused"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) otherScheme(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || r.Header.Get("Sec-Fetch-Site") != "" || h.trustedOrigins[origin] {
		return false
	}
	o, err := url.Parse(origin)
	if err != nil || o.Host != r.Host {
		return false // another host: CrossOriginProtection's to judge
	}
	scheme := "https"
	if r.TLS == nil && h.opts.Insecure {
		scheme = "http"
	}
	return o.Scheme != scheme
}
