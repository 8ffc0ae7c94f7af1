package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/gateway/jwtauth"
	"berth.dev/berth/internal/gateway/ratelimit"
	"berth.dev/berth/internal/traffic"
)

// exchange is one request's state, carried in its context from ServeHTTP
// to the rewrite hook, the upstream transport and the error handler.
type exchange struct {
	route    *route
	side     traffic.Side
	sel      Selector
	upstream string
}

type exchangeKey struct{}

// ServeHTTP proxies one request: refuse bad input, match a route, apply its
// governance, pick stable or gray, forward, record.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.opts.Now()
	rec := &recorder{ResponseWriter: w}
	x := &exchange{}
	// Deferred: ReverseProxy aborts the handler with a panic
	// (http.ErrAbortHandler) when an upstream body breaks mid-stream.
	defer g.finish(rec, r, x, start)
	g.serve(rec, r, x)
}

func (g *Gateway) serve(w *recorder, r *http.Request, x *exchange) {
	if reason := badRequest(r); reason != "" {
		g.refuse(w, http.StatusBadRequest, reason)
		return
	}
	t := g.table.Load()
	if t == nil {
		g.refuse(w, http.StatusServiceUnavailable, ErrNoConfig.Error())
		return
	}
	rt := t.match(hostOnly(r.Host), r.URL.Path)
	if rt == nil {
		g.refuse(w, http.StatusNotFound, "no route")
		return
	}
	x.route = rt
	if !g.admit(w, r, rt) {
		return
	}
	done := func(bool, time.Duration) {}
	if rt.gov.breaker != nil {
		var ok bool
		if done, ok = rt.gov.breaker.For(listHeader(r.Header)).Allow(); !ok {
			g.refuse(w, http.StatusServiceUnavailable, "circuit open")
			return
		}
	}
	x.side, x.sel = rt.app.choose(listHeader(r.Header), g.opts.Rand)
	ctx := context.WithValue(r.Context(), exchangeKey{}, x)
	if rt.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rt.timeout)
		defer cancel()
	}
	began, completed := g.opts.Now(), false
	defer func() { done(!completed || w.code() >= 500, g.opts.Now().Sub(began)) }()
	g.proxy.ServeHTTP(w, r.WithContext(ctx))
	completed = true
}

// admit applies the policy checks that come before forwarding: JWT, rate
// limit, body size. It writes the refusal and returns false when one fails.
func (g *Gateway) admit(w *recorder, r *http.Request, rt *route) bool {
	if ref := g.check(r.Context(), rt, listHeader(r.Header), r.Header.Get("Authorization"), r.ContentLength); ref.code != 0 {
		if ref.header != "" {
			w.Header().Set(ref.header, ref.value)
		}
		g.refuse(w, ref.code, ref.reason)
		return false
	}
	if rt.maxBody > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
	}
	return true
}

// refusal is a gateway-made answer: status, one-line reason and at most
// one extra header. A zero code means none.
type refusal struct {
	code          int
	reason        string
	header, value string
}

// check applies a route's JWT, rate limit and declared body size to a
// request, in that order, for both front ends.
func (g *Gateway) check(ctx context.Context, rt *route, h traffic.HeaderLookup, authorization string, contentLength int64) refusal {
	if v := rt.gov.jwt; v != nil {
		if err := v.Check(ctx, authorization); err != nil {
			reason := "invalid token"
			if errors.Is(err, jwtauth.ErrNoToken) {
				reason = "bearer token required"
			}
			g.log.Debug("request refused", "route", rt.name, "reason", err.Error())
			return refusal{code: http.StatusUnauthorized, reason: reason, header: "WWW-Authenticate", value: `Bearer realm="berth"`}
		}
	}
	if l := rt.gov.limiter; l != nil {
		if ok, wait := l.Allow(h); !ok {
			return refusal{code: http.StatusTooManyRequests, reason: "rate limit exceeded",
				header: "Retry-After", value: strconv.Itoa(ratelimit.RetryAfterSeconds(wait))}
		}
	}
	if rt.maxBody > 0 && contentLength > rt.maxBody {
		return refusal{code: http.StatusRequestEntityTooLarge, reason: "request body too large"}
	}
	return refusal{}
}

func (a *app) choose(h traffic.HeaderLookup, rnd traffic.Rand) (traffic.Side, Selector) {
	if a.gray == nil {
		return traffic.Stable, a.stable
	}
	if a.matcher.Decide(h, rnd) == traffic.Gray {
		return traffic.Gray, a.gray
	}
	return traffic.Stable, a.stable
}

// listHeader is listHead for net/http's header map.
type listHeader http.Header

func (l listHeader) Get(name string) string {
	vs := http.Header(l).Values(name)
	if len(vs) < 2 {
		return http.Header(l).Get(name)
	}
	return strings.Join(vs, ",")
}

// rewrite prepares the outbound request; the upstream address is chosen per
// attempt by retryTransport.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	x := pr.In.Context().Value(exchangeKey{}).(*exchange)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = x.route.app.name
	if x.route.strip {
		pr.Out.URL.Path = "/" + strings.TrimLeft(strings.TrimPrefix(pr.In.URL.Path, x.route.prefix), "/")
		pr.Out.URL.RawPath = ""
	}
	if xff := pr.In.Header["X-Forwarded-For"]; len(xff) > 0 {
		pr.Out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
	pr.Out.Header.Set("X-Berth-Version", x.side.String())
	if tp := pr.Out.Header.Get("Traceparent"); tp != "" && !validTraceparent(tp) {
		pr.Out.Header.Del("Traceparent")
		pr.Out.Header.Del("Tracestate")
	}
}

// retryTransport picks an endpoint per attempt, reports passive health, and
// retries a connection error on another endpoint only for idempotent
// requests without a body.
type retryTransport struct{ g *Gateway }

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	x := req.Context().Value(exchangeKey{}).(*exchange)
	attempts := 1
	if idempotent(req.Method) && (req.Body == nil || req.Body == http.NoBody) {
		attempts += x.route.retries
	}
	var triedBuf [6]string
	tried := triedBuf[:0]
	for {
		ep, ok := x.sel.Pick(tried)
		if !ok {
			return nil, errNoEndpoints
		}
		tried = append(tried, ep.Addr)
		x.upstream = ep.Addr
		req.URL.Host = ep.Addr
		resp, err := t.g.upstream.RoundTrip(req)
		if err == nil {
			x.sel.Report(ep, !unhealthyStatus(resp.StatusCode))
			return resp, nil
		}
		var clientErr *clientBodyError
		if req.Context().Err() != nil || errors.As(err, &clientErr) {
			return nil, err
		}
		x.sel.Report(ep, false)
		if len(tried) >= attempts {
			return nil, err
		}
	}
}

var errNoEndpoints = errors.New("no upstream endpoints")

func unhealthyStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		g.refuse(w, http.StatusRequestEntityTooLarge, "request body too large")
	case errors.Is(err, context.DeadlineExceeded):
		g.refuse(w, http.StatusGatewayTimeout, "upstream timeout")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody is left to answer. 499 as nginx logs it.
		if rec, ok := w.(*recorder); ok {
			rec.status = 499
		}
	case errors.Is(err, errNoEndpoints):
		g.refuse(w, http.StatusServiceUnavailable, "no upstream endpoints")
	default:
		g.log.Debug("upstream error", "err", err.Error())
		g.refuse(w, http.StatusBadGateway, "upstream unavailable")
	}
}

// refuse writes a gateway-made response: status and a one-line reason.
func (g *Gateway) refuse(w http.ResponseWriter, code int, reason string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Berth-Gateway", "refused")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(reason + "\n"))
}

func (g *Gateway) finish(w *recorder, r *http.Request, x *exchange, start time.Time) {
	took := g.opts.Now().Sub(start)
	version := g.observe(w.code(), x, took)
	if g.opts.AccessLog == nil {
		return
	}
	g.logAccess(r.Context(), accessFields{method: r.Method, host: r.Host, path: r.URL.Path, proto: r.Proto,
		remote: r.RemoteAddr, traceparent: r.Header.Get("Traceparent")}, w.code(), w.bytes, took, x, version)
}

// observe records a request in the metrics of its route and version and
// returns the version label.
func (g *Gateway) observe(status int, x *exchange, took time.Duration) string {
	vm := g.unrouted
	if rt := x.route; rt != nil {
		vm = rt.rejected
		if x.sel != nil {
			vm = rt.stable
			if x.side == traffic.Gray {
				vm = rt.grv
			}
		}
	}
	vm.observe(status, took.Seconds())
	return vm.version
}

// accessFields are the request's part of an access log record.
type accessFields struct{ method, host, path, proto, remote, traceparent string }

func (g *Gateway) logAccess(ctx context.Context, a accessFields, status int, bytes int64, took time.Duration, x *exchange, version string) {
	route := ""
	if x.route != nil {
		route = x.route.name
	} else {
		version = ""
	}
	g.opts.AccessLog.LogAttrs(ctx, slog.LevelInfo, "access",
		slog.String("method", a.method), slog.String("host", a.host), slog.String("path", a.path),
		slog.String("proto", a.proto), slog.Int("status", status), slog.Int64("bytes", bytes),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000), slog.String("route", route),
		slog.String("version", version), slog.String("upstream", x.upstream),
		slog.String("remote", a.remote), slog.String("trace_id", traceID(a.traceparent)))
}

func hostOnly(hostport string) string {
	if strings.IndexByte(hostport, ':') < 0 {
		return hostport
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		return hostport[:i]
	}
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// recorder remembers the status and size of a response. Unwrap lets
// http.ResponseController (used by the proxy for flushing and upgrades)
// reach the real writer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 || (w.status >= 100 && w.status < 200) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
