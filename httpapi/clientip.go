package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address of the client: the TCP peer, unless the peer is
// a trusted proxy, in which case X-Forwarded-For is read from the right,
// skipping trusted proxies, and the first other address is the client.
// Without TrustedProxies the header is ignored, since anyone can send it.
func (h *Handler) clientIP(r *http.Request) string {
	peer := remoteAddr(r.RemoteAddr)
	if len(h.opts.TrustedProxies) == 0 || !peer.IsValid() || !h.trusted(peer) {
		return addrString(peer, r.RemoteAddr)
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client.String() // a garbled hop: stop at what we know
			}
			client = a.Unmap()
			if !h.trusted(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func addrString(a netip.Addr, raw string) string {
	if a.IsValid() {
		return a.String()
	}
	return raw
}
