package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/traffic"
)

// This file is the fast front end's request path: the same steps, in the
// same order and with the same answers, as ServeHTTP with ReverseProxy and
// retryTransport (proxy.go), over the parsed head and the Transport's
// connections directly.

// outcome is what became of one request on the fast path.
type outcome struct {
	status    int
	bytes     int64
	completed bool // the exchange ran to its end (else the breaker counts a failure)
	keep      bool // the client connection may serve another request
}

// serveFast proxies the request in c.req and reports whether the
// connection may go on.
func (g *Gateway) serveFast(c *fconn) bool {
	start := g.opts.Now()
	x := exchange{}
	o := g.proxyFast(c, &x)
	took := g.opts.Now().Sub(start)
	version := g.observe(o.status, &x, took)
	if g.opts.AccessLog != nil {
		r := &c.req
		g.logAccess(context.Background(), accessFields{method: r.method, host: r.host, path: r.path,
			proto: "HTTP/1.1", remote: c.remote, traceparent: r.Get("Traceparent")}, o.status, o.bytes, took, &x, version)
	}
	return o.keep
}

func (g *Gateway) proxyFast(c *fconn, x *exchange) outcome {
	r := &c.req
	t := g.table.Load()
	if t == nil {
		return c.refuse(refusal{code: http.StatusServiceUnavailable, reason: ErrNoConfig.Error()})
	}
	rt := t.match(hostOnly(r.host), r.path)
	hdrs := (*listHead)(r)
	if rt == nil {
		return c.refuse(refusal{code: http.StatusNotFound, reason: "no route"})
	}
	x.route = rt
	if ref := g.check(context.Background(), rt, hdrs, r.Get("Authorization"), r.contentLength); ref.code != 0 {
		return c.refuse(ref)
	}
	done := func(bool, time.Duration) {}
	if rt.gov.breaker != nil {
		var ok bool
		if done, ok = rt.gov.breaker.For(hdrs).Allow(); !ok {
			return c.refuse(refusal{code: http.StatusServiceUnavailable, reason: "circuit open"})
		}
	}
	x.side, x.sel = rt.app.choose(hdrs, g.opts.Rand)
	began := g.opts.Now()
	o := g.forward(c, x)
	done(!o.completed || o.status >= 500, g.opts.Now().Sub(began))
	return o
}

// forward sends the request to an endpoint of the chosen version, retrying
// connection errors on other endpoints for idempotent requests without a
// body, and relays the response.
func (g *Gateway) forward(c *fconn, x *exchange) outcome {
	r, rt := &c.req, x.route
	replay := r.contentLength == 0
	attempts := 1
	if idempotent(r.method) && replay {
		attempts += rt.retries
	}
	var deadline time.Time
	if rt.timeout > 0 {
		deadline = time.Now().Add(rt.timeout)
	}
	if r.contentLength > 0 {
		c.clearDeadline()
	}
	tried := c.tried[:0]
	for {
		ep, ok := x.sel.Pick(tried)
		if !ok {
			return c.refuse(refusal{code: http.StatusServiceUnavailable, reason: "no upstream endpoints"})
		}
		tried = append(tried, ep.Addr)
		x.upstream = ep.Addr
		uc, rh, err := g.exchangeHead(c, x, ep.Addr, deadline, replay)
		if err == nil && rh == nil {
			// A head the strict parser declined: net/http's reader takes it.
			var resp *http.Response
			if resp, err = readResponse(uc, r.method); err == nil {
				x.sel.Report(ep, !unhealthyStatus(resp.StatusCode))
				return g.relayParsed(c, uc, resp, !deadline.IsZero())
			}
			uc.nc.Close()
		}
		if err == nil {
			x.sel.Report(ep, !unhealthyStatus(rh.code))
			return g.relay(c, uc, rh, !deadline.IsZero())
		}
		var re *relayError
		switch {
		case errors.Is(err, errClientGone):
			return outcome{status: 499, completed: true}
		case errors.As(err, &re) && re.read:
			// The client's body broke: not the upstream's fault, and
			// nobody is left to answer. 499 as nginx logs it.
			return outcome{status: 499, completed: true}
		case !deadline.IsZero() && (isTimeout(err) || !time.Now().Before(deadline)):
			g.log.Debug("upstream error", "err", err.Error())
			return c.refuse(refusal{code: http.StatusGatewayTimeout, reason: "upstream timeout"})
		}
		g.log.Debug("upstream error", "err", err.Error())
		x.sel.Report(ep, false)
		if len(tried) >= attempts {
			return c.refuse(refusal{code: http.StatusBadGateway, reason: "upstream unavailable"})
		}
	}
}

// exchangeHead writes the request to addr and reads the response head. A
// request that fails on a reused connection before any response byte (the
// upstream closed it while idle) is sent again once on a new connection
// when it has no body.
func (g *Gateway) exchangeHead(c *fconn, x *exchange, addr string, deadline time.Time, replay bool) (*upConn, *respHead, error) {
	for attempt := 0; ; attempt++ {
		uc, reused := c.f.t.idleConn(addr)
		if uc == nil {
			var err error
			if uc, err = c.f.t.dial(addr, deadline); err != nil {
				return nil, nil, err
			}
		}
		if !deadline.IsZero() {
			_ = uc.nc.SetDeadline(deadline)
		}
		err := c.writeRequest(uc, x)
		if err == nil {
			c.startWatch(uc)
			err = readRespHead(uc.br, &uc.resp)
			if c.stopWatch() {
				err = errClientGone
			}
		}
		if err == nil {
			return uc, &uc.resp, nil
		}
		if errors.Is(err, errRespHeadTooLarge) || errors.Is(err, errBadResponse) {
			return uc, nil, nil
		}
		uc.nc.Close()
		var re *relayError
		stale := errors.Is(err, errNoResponse) || errors.As(err, &re) && !re.read
		if reused && attempt == 0 && replay && stale && !errors.Is(err, errClientGone) {
			continue
		}
		return nil, nil, err
	}
}

// writeRequest writes the outbound head, and the body if there is one:
// hop-by-hop headers removed, X-Forwarded-* and X-Berth-Version set, an
// invalid traceparent dropped, as rewrite does for ReverseProxy.
func (c *fconn) writeRequest(uc *upConn, x *exchange) error {
	r, w := &c.req, uc.bw
	_, _ = w.WriteString(r.method)
	_ = w.WriteByte(' ')
	if rt := x.route; rt.strip {
		_ = w.WriteByte('/')
		_, _ = w.WriteString(strings.TrimLeft(strings.TrimPrefix(r.path, rt.prefix), "/"))
	} else {
		_, _ = w.WriteString(r.path)
	}
	_, _ = w.WriteString(r.query)
	_, _ = w.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = w.WriteString(r.host)
	_, _ = w.WriteString("\r\n")
	for i := range r.hdrs {
		h := &r.hdrs[i]
		if h.kind == hdrPlain || h.kind == hdrTrace && r.traceOK {
			writeHeader(w, h.name, h.value)
		}
	}
	if r.contentLength > 0 || r.method == "POST" || r.method == "PUT" || r.method == "PATCH" {
		c.scratch = strconv.AppendInt(c.scratch[:0], r.contentLength, 10)
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.Write(c.scratch)
		_, _ = w.WriteString("\r\n")
	}
	if c.ip != "" {
		_, _ = w.WriteString("X-Forwarded-For: ")
		for i := range r.hdrs {
			if r.hdrs[i].kind == hdrXFF {
				_, _ = w.WriteString(r.hdrs[i].value)
				_, _ = w.WriteString(", ")
			}
		}
		_, _ = w.WriteString(c.ip)
		_, _ = w.WriteString("\r\n")
	}
	writeHeader(w, "X-Forwarded-Host", r.host)
	_, _ = w.WriteString("X-Forwarded-Proto: http\r\nX-Berth-Version: ")
	_, _ = w.WriteString(x.side.String())
	_, _ = w.WriteString("\r\n\r\n")
	if r.contentLength > 0 {
		if _, err := relayN(w, c.br, r.contentLength); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return &relayError{err: err}
	}
	return nil
}

func writeHeader(w interface{ WriteString(string) (int, error) }, name, value string) {
	_, _ = w.WriteString(name)
	_, _ = w.WriteString(": ")
	_, _ = w.WriteString(value)
	_, _ = w.WriteString("\r\n")
}

// relay writes the response head and body to the client and returns the
// upstream connection to the pool when the exchange left it clean.
func (g *Gateway) relay(c *fconn, uc *upConn, rh *respHead, hadDeadline bool) outcome {
	r := &c.req
	noBody := r.method == "HEAD" || rh.code == http.StatusNoContent || rh.code == http.StatusNotModified
	toEOF := !noBody && !rh.chunked && rh.contentLength < 0
	o := outcome{status: rh.code, keep: !r.close && !c.f.closing.Load()}
	rh.writeHead(c.bw, !noBody && (rh.chunked || toEOF), !o.keep)
	_, _ = uc.br.Discard(len(rh.buf))
	var err error
	switch {
	case noBody:
	case rh.contentLength >= 0:
		o.bytes, err = relayN(c.bw, uc.br, rh.contentLength)
	case rh.chunked:
		buf := copyBuffers.Get()
		o.bytes, err = relayChunked(c.bw, uc.br, buf)
		copyBuffers.Put(buf)
	default:
		o.bytes, err = relayToEOF(c.bw, uc.br)
	}
	if err != nil {
		// Half a response went out: the client must see it broken.
		g.log.Debug("response relay failed", "err", err.Error())
		uc.nc.Close()
		return outcome{status: o.status, bytes: o.bytes}
	}
	o.completed = true
	if rh.close || toEOF || uc.br.Buffered() > 0 {
		uc.nc.Close()
		return o
	}
	if hadDeadline {
		_ = uc.nc.SetDeadline(time.Time{})
	}
	c.f.t.put(uc)
	return o
}

// copyBuffers lend the buffers chunked bodies are decoded into.
var copyBuffers = newBufferPool()

// refuse writes a gateway-made answer, as Gateway.refuse does on net/http.
// A request body not read yet makes the connection close after it.
func (c *fconn) refuse(ref refusal) outcome {
	keep := c.req.contentLength == 0 && !c.req.close && !c.f.closing.Load()
	w := c.bw
	c.scratch = strconv.AppendInt(c.scratch[:0], int64(ref.code), 10)
	_, _ = w.WriteString("HTTP/1.1 ")
	_, _ = w.Write(c.scratch)
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(http.StatusText(ref.code))
	_, _ = w.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nX-Berth-Gateway: refused\r\n")
	if ref.header != "" {
		writeHeader(w, ref.header, ref.value)
	}
	c.scratch = time.Now().UTC().AppendFormat(c.scratch[:0], http.TimeFormat)
	_, _ = w.WriteString("Date: ")
	_, _ = w.Write(c.scratch)
	c.scratch = strconv.AppendInt(c.scratch[:0], int64(len(ref.reason)+1), 10)
	_, _ = w.WriteString("\r\nContent-Length: ")
	_, _ = w.Write(c.scratch)
	if !keep {
		_, _ = w.WriteString("\r\nConnection: close")
	}
	_, _ = w.WriteString("\r\n\r\n")
	_, _ = w.WriteString(ref.reason)
	_ = w.WriteByte('\n')
	return outcome{status: ref.code, bytes: int64(len(ref.reason) + 1), completed: true, keep: keep}
}

// isTimeout reports whether err is a deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

var _ traffic.HeaderLookup = (*reqHead)(nil)
