package usermgmt

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// newWebhookClient returns the client that posts webhooks: no proxy from
// the environment (a proxy would connect for us, past the address
// check), no redirect followed (the answer to a redirect is a failed
// attempt), the whole exchange bounded by timeout, and, unless
// allowPrivate, a dialer that refuses a blocked address (see
// blockedAddr) when it connects, after DNS resolution: a name that
// resolves, or rebinds between two lookups, to such an address is
// refused too, for the address checked is the one connected to.
func newWebhookClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = refuseBlocked
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
}

// errBlockedAddr starts the error of a refused connection: a delivery's
// LastError shows it.
const errBlockedAddr = "blocked address"

// refuseBlocked is a net.Dialer Control: it sees the address about to be
// connected to, resolved.
func refuseBlocked(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%s: %s", errBlockedAddr, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || blockedAddr(ip) {
		return fmt.Errorf("%s: %s is not a public address (Options.WebhookAllowPrivate allows it)", errBlockedAddr, host)
	}
	return nil
}

// blockedRanges are the ranges no webhook may reach beyond those netip
// classifies (loopback, private, link-local, multicast, unspecified).
var blockedRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
	netip.MustParsePrefix("2002::/16"),       // 6to4: holds an IPv4 address of any kind
	netip.MustParsePrefix("2001::/32"),       // Teredo: likewise
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
}

// nat64 is the well-known NAT64 prefix: its last 32 bits are an IPv4
// address, checked as such.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// blockedAddr reports whether a webhook must not connect to ip: loopback,
// private (RFC 1918, ULA fc00::/7), link-local (169.254/16 with the cloud
// metadata address 169.254.169.254, fe80::/10), unspecified, multicast,
// CGNAT and the other special ranges above, in IPv4-mapped or NAT64 form
// too.
func blockedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blockedRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
