package gateway

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

func TestRequestHeadsTheFastPathTakes(t *testing.T) {
	tests := []struct {
		name string
		head string
		take bool
	}{
		{"a plain GET", "GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Org-Branch: 0101\r\n\r\n", true},
		{"a POST with a length", "POST /a HTTP/1.1\r\nHost: x:80\r\nContent-Length: 12\r\n\r\n", true},
		{"Connection: close and keep-alive", "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n", true},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", false},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", false},
		{"Transfer-Encoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"two Content-Lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", false},
		{"a signed Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", false},
		{"Connection naming a header", "GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Org-Branch\r\n\r\n", false},
		{"Upgrade", "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", false},
		{"an absolute-form target", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"a percent-encoded path", "GET /a%2F HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"a path byte net/url escapes", "GET /a{b} HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", false},
		{"HTTP/2 prior knowledge", "PRI * HTTP/2.0\r\n\r\n", false},
		{"space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", false},
		{"obsolete line folding", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", false},
		{"a control byte in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", false},
		{"an unknown method", "BREW / HTTP/1.1\r\nHost: x\r\n\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h reqHead
			if got := h.parse(tt.head); got != tt.take {
				t.Errorf("parse = %v, want %v", got, tt.take)
			}
		})
	}
}

func TestHeadEnd(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nnext", 27},
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0},
		{"GET / HTTP/1.1\nHost: x\n\n", -1},
		{"", 0},
	} {
		if got := headEnd([]byte(tt.in)); got != tt.want {
			t.Errorf("headEnd(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// FuzzRequestHead checks the fast path against net/http: every head the
// fast parser takes, net/http reads the same way (method, path, query,
// host, length, header values), so routing and governance see the same
// request on both front ends.
func FuzzRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Org-Branch: 0101\r\n\r\n",
		"POST /api/x HTTP/1.1\r\nHost: bank.example:8000\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A:  spaced \t\r\nx-a: second\r\n\r\n",
		"PUT /a HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := headEnd([]byte(s))
		if n <= 0 {
			return
		}
		var h reqHead
		if !h.parse(s[:n]) {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(s[:n])))
		if err != nil {
			t.Fatalf("the fast path takes a head net/http refuses (%v):\n%q", err, s[:n])
		}
		if r.Method != h.method || r.URL.Path != h.path || r.Host != h.host ||
			r.URL.RawQuery != strings.TrimPrefix(h.query, "?") || r.ContentLength != h.contentLength || r.Close != h.close {
			t.Fatalf("net/http reads %s %q ?%q host %q length %d close %v; the fast path %s %q %q host %q length %d close %v",
				r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.ContentLength, r.Close,
				h.method, h.path, h.query, h.host, h.contentLength, h.close)
		}
		for _, hd := range h.hdrs {
			if got := r.Header.Get(hd.name); hd.kind == hdrPlain && got != h.Get(hd.name) {
				t.Fatalf("header %s: net/http %q, fast path %q", hd.name, got, h.Get(hd.name))
			}
		}
		if r.URL.EscapedPath() != h.path {
			t.Fatalf("net/http would forward path %q, the fast path %q", r.URL.EscapedPath(), h.path)
		}
	})
}
