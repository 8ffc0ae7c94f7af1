package gateway_test

import (
	"context"
	"errors"
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

	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/traffic"
)

func TestPassiveHealthEjectsAndRetriesOnlyIdempotentRequests(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		clk := newClock()
		good := newBackend(t, "good")
		dead := deadAddr(t)
		cfg := simple(good.addr(), "", func(c *gateway.Config) {
			c.Apps[0].Stable.Addresses = []string{dead, good.addr()}
			c.Apps[0].Health = gateway.Health{ConsecutiveFailures: 2, EjectFor: dur(time.Minute)}
			c.Routes[0].Policy.Retries = 1
		})
		h := startGateway(t, &cfg, fe, withClock(clk))

		// Round robin starts at the dead endpoint: a POST with a body is not
		// retried, a GET is retried on the good one.
		if got := h.do(t, http.MethodPost, "/", nil, strings.NewReader("x")); got.code != http.StatusBadGateway {
			t.Errorf("POST on the dead endpoint: %d, want 502 (never retried)", got.code)
		}
		h.get(t, "/", nil) // the good endpoint's turn
		if got := h.get(t, "/", nil); got.code != http.StatusOK {
			t.Errorf("GET on the dead endpoint retried on the other: %d, want 200", got.code)
		}
		// Two consecutive failures ejected the dead endpoint: every POST now
		// goes to the good one.
		for i := range 4 {
			if got := h.do(t, http.MethodPost, "/", nil, strings.NewReader("x")); got.code != http.StatusOK {
				t.Errorf("POST %d after ejection: %d, want 200", i, got.code)
			}
		}
		// After EjectFor the endpoint is tried again.
		clk.Advance(time.Minute)
		codes := map[int]int{}
		for range 2 {
			codes[h.do(t, http.MethodPost, "/", nil, strings.NewReader("x")).code]++
		}
		if codes[http.StatusBadGateway] != 1 {
			t.Errorf("after EjectFor the dead endpoint is not tried again: %v", codes)
		}
	})
}

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestLoadRejectsBadConfigKeepsOldAndIgnoresIdentical(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)

		if changed, err := h.gw.Load(simple(b.addr(), "")); err != nil || changed {
			t.Errorf("identical configuration: changed=%v err=%v, want a no-op", changed, err)
		}
		bad := simple(b.addr(), "", func(c *gateway.Config) {
			c.Routes[0].App = "missing"
			c.Apps[0].Traffic = traffic.Rules{Weight: 120}
		})
		_, err := h.gw.Load(bad)
		var ve *gateway.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("bad configuration: %v, want a *ValidationError", err)
		}
		if !strings.Contains(err.Error(), "routes[0].app") || !strings.Contains(err.Error(), "apps[0].traffic.weight") {
			t.Errorf("error does not name the fields: %v", err)
		}
		badKey := simple(b.addr(), "", func(c *gateway.Config) {
			c.Routes[0].Policy.JWT = &gateway.JWT{RSAPublicKeys: []string{"not a key"}}
		})
		if _, err := h.gw.Load(badKey); err == nil || !strings.Contains(err.Error(), "routes[0].policy.jwt.rsaPublicKeys[0]") {
			t.Errorf("bad key: %v, want the field path", err)
		}
		if got := h.get(t, "/", nil); got.code != http.StatusOK || got.body != "b /" {
			t.Errorf("old configuration not kept: %d %q", got.code, got.body)
		}
	})
}

func TestConfigSwapUnderLoadFailsNoRequest(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		a, b := newBackend(t, "a"), newBackend(t, "b")
		slow := newBackend(t, "slow")
		release := make(chan struct{})
		slow.setHandler(func(w http.ResponseWriter, r *http.Request) {
			<-release
			_, _ = io.WriteString(w, "slow done")
		})
		cfgA := simple(a.addr(), "", func(c *gateway.Config) { addSlowRoute(c, slow.addr()) })
		cfgB := simple(b.addr(), "", func(c *gateway.Config) { addSlowRoute(c, slow.addr()) })
		h := startGateway(t, &cfgA, fe)

		// A request in flight on the first configuration...
		slowDone := make(chan resp, 1)
		go func() { slowDone <- h.get(t, "/slow", nil) }()
		eventually(t, "slow request to reach its backend", func() bool { return slow.hits.Load() == 1 })

		ctx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var ok, failed atomic.Int64
		var firstFailure atomic.Value
		for range 8 {
			wg.Go(func() {
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, h.url+"/x", nil)
					res, err := h.client.Do(req)
					if err == nil {
						body, _ := io.ReadAll(res.Body)
						res.Body.Close()
						if res.StatusCode == 200 && (string(body) == "a /x" || string(body) == "b /x") {
							ok.Add(1)
							continue
						}
						err = errors.New(res.Status + " " + string(body))
					}
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			})
		}
		// ...and many swaps while clients hammer the gateway.
		for i := range 200 {
			cfg := cfgA
			if i%2 == 0 {
				cfg = cfgB
			}
			if _, err := h.gw.Load(cfg); err != nil {
				t.Fatal(err)
			}
			if i%20 == 0 {
				eventually(t, "requests to flow", func() bool { return ok.Load() > int64(i) })
			}
		}
		stop()
		wg.Wait()
		if n := failed.Load(); n > 0 {
			t.Errorf("%d of %d requests failed during swaps; first: %v", n, n+ok.Load(), firstFailure.Load())
		}
		close(release)
		if got := <-slowDone; got.code != 200 || got.body != "slow done" {
			t.Errorf("in-flight request across swaps: %d %q", got.code, got.body)
		}
	})
}

func addSlowRoute(c *gateway.Config, addr string) {
	c.Routes = append(c.Routes, gateway.Route{Name: "slow", PathPrefix: "/slow", App: "slow"})
	c.Apps = append(c.Apps, gateway.App{Name: "slow", Stable: gateway.Upstream{Addresses: []string{addr}}})
}

func TestConfigStreamServerAwayAndBack(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		a, b := newBackend(t, "a"), newBackend(t, "b")
		pub := gateway.NewPublisher()
		pub.Heartbeat = 50 * time.Millisecond
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serverAddr := ln.Addr().String()
		server := httptest.NewUnstartedServer(pub)
		server.Listener.Close()
		server.Listener = ln
		server.Start()

		h := startGateway(t, nil, fe)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		sub := &gateway.Subscriber{
			URL: "http://" + serverAddr + "/gateway/config", Client: &http.Client{},
			Apply: func(c gateway.Config) error { _, err := h.gw.Load(c); return err },
			Log:   slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 20 * time.Millisecond,
			MaxBackoff: 100 * time.Millisecond, Idle: time.Second,
		}
		go func() { done <- sub.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		servedBy := func(want string) func() bool {
			return func() bool { return strings.HasPrefix(h.get(t, "/", nil).body, want+" ") }
		}

		if err := pub.Publish(simple(a.addr(), "")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "first configuration", servedBy("a"))

		// A bad configuration from the server is refused; the good one stays.
		if err := pub.Publish(gateway.Config{Routes: []gateway.Route{{Name: "x"}}}); err == nil {
			t.Error("Publish accepted an invalid configuration")
		}

		// The server goes away: the gateway keeps serving.
		server.CloseClientConnections()
		server.Close()
		for range 20 {
			if got := h.get(t, "/", nil); got.body != "a /" {
				t.Fatalf("server away: %d %q, want the last good configuration", got.code, got.body)
			}
		}

		// The server comes back on the same address with a new configuration.
		if err := pub.Publish(simple(b.addr(), "")); err != nil {
			t.Fatal(err)
		}
		var ln2 net.Listener
		eventually(t, "the address to be free", func() bool {
			ln2, err = net.Listen("tcp", serverAddr)
			return err == nil
		})
		back := &http.Server{Handler: pub}
		go func() { _ = back.Serve(ln2) }()
		t.Cleanup(func() { _ = back.Close() })
		eventually(t, "configuration after reconnect", servedBy("b"))
	})
}
