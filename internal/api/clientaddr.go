package api

import (
	"net"
	"net/netip"
	"slices"
	"strings"
)

// ClientAddr returns the address of the client behind a request from
// remoteAddr (host:port) carrying the X-Forwarded-For header lines xff.
// A peer outside trusted is the client, whatever it claims. From a
// trusted peer, the hops of X-Forwarded-For are read from the right:
// each trusted proxy appended the address it was called from, so the
// first hop outside trusted is the client; hops left of it are written by
// the client and never believed. When every hop is trusted the left-most
// is the client; an unparsable hop ends the walk at the proxy that
// passed it on. It does not keep xff or trusted.
func ClientAddr(remoteAddr string, xff []string, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(addr, trusted) {
		return host
	}
	var hops []string
	for _, line := range xff {
		hops = append(hops, strings.Split(line, ",")...)
	}
	for _, hop := range slices.Backward(hops) {
		next, ok := parseHop(strings.TrimSpace(hop))
		if !ok {
			break
		}
		addr = next
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return addr.String()
}

func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
