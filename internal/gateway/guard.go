package gateway

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"sync"
)

// badRequest returns why r must be refused before routing, or "".
//
// net/http already refuses malformed request lines and headers (400),
// oversized headers (431), duplicate Content-Length (400) and unknown
// transfer codings (501); HTTP/2 refuses connection-specific headers. Two
// things get through it and are refused here:
//   - a Connection header naming anything but close, keep-alive, upgrade or
//     te: listing end-to-end headers there (Connection: X-Org-Branch,
//     Authorization) would make the proxy strip them after the gateway
//     routed or authorised on them;
//   - Content-Length together with Transfer-Encoding (request smuggling):
//     net/http drops Content-Length and honours chunked, which is safe for
//     us, but the request is ambiguous to any other hop and is refused.
func badRequest(r *http.Request) string {
	for _, v := range r.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			switch strings.ToLower(strings.TrimSpace(tok)) {
			case "", "close", "keep-alive", "upgrade", "te":
			default:
				return "hop-by-hop header abuse: Connection may only name close, keep-alive, upgrade or te"
			}
		}
	}
	if len(r.TransferEncoding) > 0 && r.ProtoMajor == 1 && sawContentLength(r) {
		return "request has both Content-Length and Transfer-Encoding"
	}
	return ""
}

// headConn keeps the last bytes read from a client connection so that the
// head of a request can be re-read after net/http parsed it: net/http
// deletes Content-Length when Transfer-Encoding is present, and the
// smuggling check needs to know it was there.
type headConn struct {
	net.Conn
	mu   sync.Mutex
	ring [headRing]byte
	n    int64 // bytes written to ring in total
}

const headRing = 8 << 10

func (c *headConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		b := p[:n]
		if len(b) > headRing {
			b = b[len(b)-headRing:]
		}
		for len(b) > 0 {
			off := int(c.n % headRing)
			k := copy(c.ring[off:], b)
			b = b[k:]
			c.n += int64(k)
		}
		c.mu.Unlock()
	}
	return n, err
}

// recent returns the last bytes read, oldest first.
func (c *headConn) recent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n <= headRing {
		return bytes.Clone(c.ring[:c.n])
	}
	off := int(c.n % headRing)
	return append(bytes.Clone(c.ring[off:]), c.ring[:off]...)
}

type headConnKey struct{}

// sawContentLength finds r's head among the bytes last read on its
// connection and reports whether it had a Content-Length header. If the head
// is not found (not a wrapped connection, TLS, or a head larger than the
// ring), it returns false: net/http's own framing then applies.
func sawContentLength(r *http.Request) bool {
	c, ok := r.Context().Value(headConnKey{}).(*headConn)
	if !ok {
		return false
	}
	buf := c.recent()
	line := []byte(r.Method + " " + r.RequestURI + " ")
	i := bytes.LastIndex(buf, line)
	if i < 0 {
		return false
	}
	head := buf[i:]
	if end := bytes.Index(head, []byte("\r\n\r\n")); end >= 0 {
		head = head[:end]
	}
	for l := range bytes.SplitSeq(head, []byte("\n")) {
		name, _, ok := bytes.Cut(l, []byte(":"))
		if ok && strings.EqualFold(strings.TrimSpace(string(name)), "Content-Length") {
			return true
		}
	}
	return false
}

// validTraceparent checks the W3C trace context header
// "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"; future versions
// may append fields after the flags.
func validTraceparent(v string) bool {
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || (len(v) > 55 && v[55] != '-') {
		return false
	}
	version, trace, parent, flags := v[0:2], v[3:35], v[36:52], v[53:55]
	if !lowerHex(version) || version == "ff" || (version == "00" && len(v) != 55) {
		return false
	}
	return lowerHex(trace) && lowerHex(parent) && lowerHex(flags) &&
		strings.Trim(trace, "0") != "" && strings.Trim(parent, "0") != ""
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// traceID returns the trace id of a valid traceparent, else "".
func traceID(tp string) string {
	if tp == "" || !validTraceparent(tp) {
		return ""
	}
	return tp[3:35]
}
