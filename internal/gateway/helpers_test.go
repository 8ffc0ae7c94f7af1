package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/logtest"
	"berth.dev/berth/internal/resource"
)

// clock is the fake clock of governance tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixedRand makes every weighted draw the same number.
type fixedRand int

func (f fixedRand) IntN(n int) int { return int(f) % n }

// backend is a real HTTP server on loopback that answers with its name and
// what it received; handler, if set, replaces that answer.
type backend struct {
	name    string
	srv     *httptest.Server
	hits    atomic.Int64
	mu      sync.Mutex
	lastReq *http.Request
	handler http.HandlerFunc
}

func newBackend(t testing.TB, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		b.mu.Lock()
		b.lastReq = r.Clone(context.Background())
		h := b.handler
		b.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) addr() string { return b.srv.Listener.Addr().String() }

func (b *backend) setHandler(h http.HandlerFunc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handler = h
}

func (b *backend) last() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastReq
}

// harness is a gateway serving on loopback.
type harness struct {
	gw      *gateway.Gateway
	url     string
	addr    string
	reg     *prometheus.Registry
	access  *logtest.Buffer
	client  *http.Client
	cancel  context.CancelFunc
	stopped chan error
}

// harnessSettings are what harness options change.
type harnessSettings struct {
	gw  gateway.Options
	srv gateway.ServerOptions
}

type harnessOpt func(*harnessSettings)

func withClock(c *clock) harnessOpt { return func(s *harnessSettings) { s.gw.Now = c.Now } }
func withRand(r int) harnessOpt     { return func(s *harnessSettings) { s.gw.Rand = fixedRand(r) } }

func withFrontEnd(fe gateway.FrontEnd) harnessOpt {
	return func(s *harnessSettings) { s.srv.FrontEnd = fe }
}

func withIdleTimeout(d time.Duration) harnessOpt {
	return func(s *harnessSettings) { s.srv.IdleTimeout = d }
}

// frontEnds are the servers every behaviour is checked on: the fast
// HTTP/1.1 front end (with its hand-offs to net/http) and net/http alone.
var frontEnds = []struct {
	name string
	fe   gateway.FrontEnd
}{{"fast", gateway.FrontEndFast}, {"nethttp", gateway.FrontEndNetHTTP}}

// forEachFrontEnd runs test once per front end, as parallel subtests.
func forEachFrontEnd(t *testing.T, test func(t *testing.T, fe harnessOpt)) {
	t.Parallel()
	for _, f := range frontEnds {
		t.Run(f.name, func(t *testing.T) { test(t, withFrontEnd(f.fe)) })
	}
}

func startGateway(t testing.TB, cfg *gateway.Config, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), access: &logtest.Buffer{}, stopped: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	set := harnessSettings{
		gw:  gateway.Options{Log: log, AccessLog: slog.New(slog.NewJSONHandler(h.access, nil)), Registerer: h.reg},
		srv: gateway.ServerOptions{MaxHeaderBytes: 4 << 10},
	}
	for _, f := range opts {
		f(&set)
	}
	h.gw = gateway.New(set.gw)
	if cfg != nil {
		if _, err := h.gw.Load(*cfg); err != nil {
			t.Fatalf("Load: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	h.url = "http://" + h.addr
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.stopped <- gateway.Serve(ctx, ln, h.gw, log, set.srv) }()
	h.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(func() {
		h.client.CloseIdleConnections()
		cancel()
		if err := <-h.stopped; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

type resp struct {
	code int
	body string
	hdr  http.Header
}

func (h *harness) do(t *testing.T, method, path string, hdr map[string]string, body io.Reader) resp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, h.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, body: string(b), hdr: res.Header}
}

func (h *harness) get(t *testing.T, path string, hdr map[string]string) resp {
	t.Helper()
	return h.do(t, http.MethodGet, path, hdr, nil)
}

// send writes request on a fresh connection, which it returns for the
// caller to read and close.
func (h *harness) send(t *testing.T, request string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// raw sends bytes on a fresh connection and returns the status line.
func (h *harness) raw(t *testing.T, request string) string {
	t.Helper()
	c := h.send(t, request)
	defer c.Close()
	b := make([]byte, 512)
	n, _ := io.ReadAtLeast(c, b, 12)
	line, _, _ := strings.Cut(string(b[:n]), "\r\n")
	return line
}

// rawBody sends request on a fresh connection and returns the response
// body (the request should ask for Connection: close).
func (h *harness) rawBody(t *testing.T, request string) string {
	t.Helper()
	c := h.send(t, request)
	defer c.Close()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// simple returns a config with one route "r" on prefix "/" to app "a".
func simple(stable string, gray string, mods ...func(*gateway.Config)) gateway.Config {
	cfg := gateway.Config{
		Routes: []gateway.Route{{Name: "r", PathPrefix: "/", App: "a"}},
		Apps:   []gateway.App{{Name: "a", Stable: gateway.Upstream{Addresses: []string{stable}}}},
	}
	if gray != "" {
		cfg.Apps[0].Gray = &gateway.Upstream{Addresses: []string{gray}}
	}
	for _, m := range mods {
		m(&cfg)
	}
	return cfg
}

func dur(d time.Duration) resource.Duration { return resource.Duration{Duration: d} }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
