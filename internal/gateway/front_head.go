package gateway

import (
	"bytes"
	"strings"
)

// This file parses the request heads the fast front end (front.go) proxies
// itself. It accepts a deliberately narrow, strictly checked subset of
// HTTP/1.1 — origin-form targets whose path needs no escaping, no
// Transfer-Encoding, Upgrade, Expect, TE or Trailer, at most one Host and
// Content-Length, Connection naming only close or keep-alive — and answers
// "hand off" for everything else, so that every unusual or hostile request
// (smuggling attempts, obsolete line folding, bare LF, hop-by-hop abuse,
// HTTP/2 prefaces, oversized heads) meets net/http and the checks in
// guard.go exactly as before.

// hdrKind says what forwarding does with a request header.
type hdrKind uint8

const (
	hdrPlain  hdrKind = iota // forwarded as is
	hdrDrop                  // hop-by-hop or replaced by the gateway
	hdrXFF                   // X-Forwarded-For: joined, then the client added
	hdrTrace                 // Traceparent, Tracestate: dropped if Traceparent is invalid
	hdrLength                // Content-Length: written again by the gateway
)

type hdr struct {
	name, value string
	kind        hdrKind
}

// reqHead is one parsed request head. Every string is a substring of raw,
// so parsing allocates once per request and values may be kept by
// governance (rate limit and breaker keys).
type reqHead struct {
	raw           string
	method        string
	path, query   string // query keeps its leading '?'; "" when none
	host          string
	hdrs          []hdr
	contentLength int64 // 0 when absent
	hasLength     bool
	close         bool
	traceOK       bool // no Traceparent, or a valid one
}

// maxFastHeaders bounds the header lines of a request the fast path takes.
const maxFastHeaders = 100

// Get returns the first value of the named header, "" when absent (for
// Authorization and Traceparent; traffic rules, rate limits and breakers
// read a repeated header whole: listHead).
func (h *reqHead) Get(name string) string {
	for i := range h.hdrs {
		if strings.EqualFold(h.hdrs[i].name, name) {
			return h.hdrs[i].value
		}
	}
	return ""
}

// listHead is the header lookup of traffic rules, rate limits and breakers
// on the fast path: a repeated header reads as its values joined by ",",
// as Envoy (so Istio and the Gateway API implementations built on it)
// matches one since CVE-2020-25017 (HttpRequestHeaderMatchInput: "bar,baz").
// A request carrying an organisation header twice is thus routed and
// limited alike by every provider, and never by a value the upstream reads
// differently. A header that is not repeated costs no allocation.
type listHead reqHead

func (l *listHead) Get(name string) string {
	h := (*reqHead)(l)
	first := -1
	for i := range h.hdrs {
		if !strings.EqualFold(h.hdrs[i].name, name) {
			continue
		}
		if first >= 0 {
			return joinRepeated(h, name, first)
		}
		first = i
	}
	if first < 0 {
		return ""
	}
	return h.hdrs[first].value
}

func joinRepeated(h *reqHead, name string, first int) string {
	var b strings.Builder
	b.WriteString(h.hdrs[first].value)
	for i := first + 1; i < len(h.hdrs); i++ {
		if strings.EqualFold(h.hdrs[i].name, name) {
			b.WriteByte(',')
			b.WriteString(h.hdrs[i].value)
		}
	}
	return b.String()
}

// headEnd returns the length of the head at the start of buf, through its
// empty line; 0 if buf holds no complete head yet; -1 if a line ends in a
// bare LF, which the fast path leaves to net/http.
func headEnd(buf []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return 0
		}
		j += i
		if j == i || buf[j-1] != '\r' {
			return -1
		}
		if j == i+1 {
			return j + 1
		}
		i = j + 1
	}
}

// parse fills h from raw, a complete head as headEnd measured it. It
// returns false when the request is not one the fast path takes.
func (h *reqHead) parse(raw string) bool {
	h.raw = raw
	h.hdrs = h.hdrs[:0]
	h.host, h.contentLength, h.hasLength, h.close, h.traceOK = "", 0, false, false, true
	line, rest, _ := strings.Cut(raw, "\r\n")
	if !h.parseRequestLine(line) {
		return false
	}
	hosts := 0
	for {
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) || !validValue(value) || len(h.hdrs) == maxFastHeaders {
			return false
		}
		value = trimOWS(value)
		kind, ok := h.classify(name, value, &hosts)
		if !ok {
			return false
		}
		h.hdrs = append(h.hdrs, hdr{name: name, value: value, kind: kind})
	}
	if hosts != 1 {
		return false
	}
	if tp := h.Get("Traceparent"); tp != "" {
		h.traceOK = validTraceparent(tp)
	}
	return true
}

func (h *reqHead) parseRequestLine(line string) bool {
	method, rest, ok := strings.Cut(line, " ")
	if !ok || !fastMethod(method) {
		return false
	}
	target, proto, ok := strings.Cut(rest, " ")
	if !ok || proto != "HTTP/1.1" || len(target) == 0 || target[0] != '/' {
		return false
	}
	h.method = method
	h.path, h.query = target, ""
	if i := strings.IndexByte(target, '?'); i >= 0 {
		h.path, h.query = target[:i], target[i:]
	}
	for i := 0; i < len(h.path); i++ {
		if !pathByte(h.path[i]) {
			return false
		}
	}
	for i := 1; i < len(h.query); i++ {
		if c := h.query[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// classify sorts a header for forwarding, or reports false when the
// request must go to net/http instead.
func (h *reqHead) classify(name, value string, hosts *int) (hdrKind, bool) {
	switch {
	case strings.EqualFold(name, "Host"):
		*hosts++
		if !validHost(value) {
			return 0, false
		}
		h.host = value
		return hdrDrop, true
	case strings.EqualFold(name, "Content-Length"):
		n, ok := parseLength(value)
		if !ok || h.hasLength {
			return 0, false
		}
		h.contentLength, h.hasLength = n, true
		return hdrLength, true
	case strings.EqualFold(name, "Connection"):
		return hdrDrop, h.connectionTokens(value)
	case strings.EqualFold(name, "Transfer-Encoding"), strings.EqualFold(name, "Upgrade"),
		strings.EqualFold(name, "Expect"), strings.EqualFold(name, "Te"), strings.EqualFold(name, "Trailer"):
		return 0, false
	case strings.EqualFold(name, "X-Forwarded-For"):
		return hdrXFF, true
	case strings.EqualFold(name, "Traceparent"), strings.EqualFold(name, "Tracestate"):
		return hdrTrace, true
	case strings.EqualFold(name, "Keep-Alive"), strings.EqualFold(name, "Proxy-Connection"),
		strings.EqualFold(name, "Proxy-Authorization"), strings.EqualFold(name, "Proxy-Authenticate"),
		strings.EqualFold(name, "Forwarded"), strings.EqualFold(name, "X-Forwarded-Host"),
		strings.EqualFold(name, "X-Forwarded-Proto"), strings.EqualFold(name, "X-Berth-Version"):
		return hdrDrop, true
	}
	return hdrPlain, true
}

// connectionTokens accepts a Connection header naming only close and
// keep-alive; anything else (upgrade, te, end-to-end header names) goes to
// net/http, where guard.go refuses the abuse and upgrades are spliced.
func (h *reqHead) connectionTokens(v string) bool {
	for tok := range strings.SplitSeq(v, ",") {
		tok = trimOWS(tok)
		switch {
		case tok == "", strings.EqualFold(tok, "keep-alive"):
		case strings.EqualFold(tok, "close"):
			h.close = true
		default:
			return false
		}
	}
	return true
}

func fastMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH":
		return true
	}
	return false
}

// pathByte reports whether c may appear in a path forwarded verbatim: the
// bytes net/url would not escape. A percent sign is left out too, so that
// the path the routes match (net/http decodes it) is the path as sent.
func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

func validHost(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._:[]", c) >= 0) {
			return false
		}
	}
	return true
}

func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// trimOWS removes spaces and tabs around s.
func trimOWS[T ~string | ~[]byte](s T) T {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isToken reports whether s is an RFC 9110 token (a header name).
func isToken[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validValue rejects control bytes other than horizontal tab in a header
// value; obs-text (0x80-0xff) is allowed as net/http allows it.
func validValue[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
