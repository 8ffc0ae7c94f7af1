package api

import (
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"without trusted proxies the peer is the client", "203.0.113.9:5000", []string{"198.51.100.1"}, nil, "203.0.113.9"},
		{"an untrusted peer's X-Forwarded-For is ignored entirely", "203.0.113.9:5000", []string{"10.1.1.1, 198.51.100.1"}, proxies, "203.0.113.9"},
		{"behind one proxy the hop it appended is the client", "10.0.0.2:443", []string{"198.51.100.7"}, proxies, "198.51.100.7"},
		{"a spoofed left-most hop is ignored", "10.0.0.2:443", []string{"1.2.3.4, 198.51.100.7"}, proxies, "198.51.100.7"},
		{"a chain through trusted proxies resolves to the first untrusted hop from the right",
			"10.0.0.2:443", []string{"1.2.3.4, 198.51.100.7, 10.9.9.9", "10.3.3.3"}, proxies, "198.51.100.7"},
		{"a spoofed trusted address left of the client is never reached", "10.0.0.2:443", []string{"10.7.7.7, 198.51.100.7"}, proxies, "198.51.100.7"},
		{"when every hop is trusted the left-most is the client", "10.0.0.2:443", []string{"10.5.5.5, 10.6.6.6"}, proxies, "10.5.5.5"},
		{"no X-Forwarded-For from a proxy leaves the proxy", "10.0.0.2:443", nil, proxies, "10.0.0.2"},
		{"an unparsable hop stops at the proxy that passed it", "10.0.0.2:443", []string{"198.51.100.7, garbage"}, proxies, "10.0.0.2"},
		{"IPv6 hops and hops with ports are read", "[fd00::1]:443", []string{"[2001:db8::5]:1234, fd00::9"}, proxies, "2001:db8::5"},
		{"an IPv4-mapped peer matches an IPv4 network", "[::ffff:10.0.0.2]:443", []string{"198.51.100.7"}, proxies, "198.51.100.7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClientAddr(tc.remote, tc.xff, tc.trusted); got != tc.want {
				t.Fatalf("ClientAddr(%q, %q) = %q, want %q", tc.remote, tc.xff, got, tc.want)
			}
		})
	}
}
