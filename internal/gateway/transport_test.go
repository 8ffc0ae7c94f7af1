package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"berth.dev/berth/internal/gateway"
)

func TestTransportRetriesAConnectionTheUpstreamClosedWhileIdle(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		var n atomic.Int64
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "ok")
			if n.Add(1) == 1 {
				// Answer with keep-alive, then drop the connection as an
				// upstream's idle timeout would.
				w.(http.Flusher).Flush()
				c, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					c.Close()
				}
			}
		})
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		for i := range 3 {
			if got := h.get(t, "/", nil); got.code != http.StatusOK || got.body != "ok" {
				t.Errorf("request %d: %d %q", i, got.code, got.body)
			}
		}
	})
}

func TestTransportStreamsChunkedAndHeadResponses(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Method", r.Method)
			body, _ := io.ReadAll(r.Body)
			for i := range 3 {
				fmt.Fprintf(w, "part%d:%s;", i, body)
				w.(http.Flusher).Flush()
			}
		})
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		got := h.do(t, http.MethodPost, "/", nil, io.MultiReader(strings.NewReader("a"), strings.NewReader("b")))
		if got.body != "part0:ab;part1:ab;part2:ab;" {
			t.Errorf("chunked: %q", got.body)
		}
		if got := h.do(t, http.MethodHead, "/", nil, nil); got.code != 200 || got.hdr.Get("X-Method") != "HEAD" || got.body != "" {
			t.Errorf("HEAD: %d %v %q", got.code, got.hdr, got.body)
		}
		if got := h.get(t, "/", nil); got.body != "part0:;part1:;part2:;" {
			t.Errorf("after HEAD the connection is still usable: %q", got.body)
		}
	})
}

func TestTransportUpgradesConnections(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Upgrade") != "echo" {
				http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
				return
			}
			c, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
			_ = rw.Flush()
			line, _ := rw.ReadString('\n')
			_, _ = rw.WriteString("echo " + line)
			_ = rw.Flush()
		})
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", res, err)
		}
		_, _ = io.WriteString(c, "hello\n")
		if line, _ := br.ReadString('\n'); line != "echo hello\n" {
			t.Errorf("over the upgraded connection: %q", line)
		}
	})
}

func TestTransportKeepsConnectionsAlive(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	tr := gateway.NewTransport()
	defer tr.CloseIdleConnections()
	for range 20 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/", nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d connections, want 1", n)
	}
}

func TestTransportClosesConnectionsIdleTooLongToAddressesNoLongerUsed(t *testing.T) {
	t.Parallel()
	var closedA atomic.Int64
	a := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "a") }))
	a.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closedA.Add(1)
		}
	}
	a.Start()
	t.Cleanup(a.Close)
	b := newBackend(t, "b")
	tr := &gateway.Transport{MaxIdlePerHost: 8, IdleTimeout: time.Nanosecond, DialTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	for _, url := range []string{a.URL, "http://" + b.addr()} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/", nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	// Returning b's connection to the pool pruned a's, idle beyond IdleTimeout.
	eventually(t, "the connection to a to be closed", func() bool { return closedA.Load() == 1 })
}
