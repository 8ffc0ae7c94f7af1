package gateway_test

import (
	"bufio"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/gateway"
)

func TestFastFrontEndHandsUnusualConnectionsToNetHTTP(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b")
	cfg := simple(b.addr(), "")
	h := startGateway(t, &cfg, withFrontEnd(gateway.FrontEndFast))
	handoffs := func() float64 { return counter(t, h.reg, "berth_gateway_http1_handoffs_total", map[string]string{}) }

	for range 3 {
		if got := h.get(t, "/plain", nil); got.code != http.StatusOK || got.body != "b /plain" {
			t.Fatalf("plain request: %d %q", got.code, got.body)
		}
	}
	if n := handoffs(); n != 0 {
		t.Errorf("plain requests were handed to net/http %v times, want 0", n)
	}
	tests := []struct {
		name, request, want string
	}{
		{"a chunked request", "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "200"},
		{"a percent-encoded path", "GET /a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n", "200"},
		{"an HTTP/1.0 request", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", "200"},
		{"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", "200"},
		{"Expect: 100-continue", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc", "100"},
	}
	for i, tt := range tests {
		if got := h.raw(t, tt.request); !strings.Contains(got, " "+tt.want+" ") {
			t.Errorf("%s: status line %q, want %s", tt.name, got, tt.want)
		}
		if n := handoffs(); n != float64(i+1) {
			t.Errorf("%s: %v hand-offs, want %d", tt.name, n, i+1)
		}
	}
}

func TestPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"+
			"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
			"HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n"+
			"GET /d?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		br := bufio.NewReader(c)
		for _, want := range []struct{ method, body string }{{"GET", "b /a"}, {"POST", "b /b"}, {"HEAD", ""}, {"GET", "b /d"}} {
			res, err := http.ReadResponse(br, &http.Request{Method: want.method})
			if err != nil {
				t.Fatalf("%s: %v", want.method, err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 || string(body) != want.body {
				t.Errorf("%s: %d %q %v, want 200 %q", want.method, res.StatusCode, body, err, want.body)
			}
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("after Connection: close the gateway kept the connection open: %v", err)
		}
		if got := b.last().URL.RawQuery; got != "q=1" {
			t.Errorf("query %q, want q=1", got)
		}
	})
}

func TestResponseFramingAndHopByHopHeaders(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/chunked":
				w.Header().Set("Trailer", "X-Sum")
				for _, part := range []string{"one,", "two"} {
					_, _ = io.WriteString(w, part)
					w.(http.Flusher).Flush()
				}
				w.Header().Set("X-Sum", "6")
			case "/nocontent":
				w.WriteHeader(http.StatusNoContent)
			default:
				// Raw heads: a body delimited by close, a large head, and
				// hop-by-hop headers the gateway must drop.
				c, rw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				defer c.Close()
				big := strings.Repeat("v", 12<<10)
				_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: s\r\n" +
					"Keep-Alive: timeout=5\r\nX-Kept: k\r\n")
				if r.URL.Path == "/big" {
					_, _ = rw.WriteString("X-Big: " + big + "\r\n")
				}
				_, _ = rw.WriteString("\r\nuntil the end")
				_ = rw.Flush()
			}
		})
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)

		res, err := h.client.Get(h.url + "/chunked")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != "one,two" || res.Trailer.Get("X-Sum") != "6" {
			t.Errorf("chunked: %q trailer %v", body, res.Trailer)
		}
		if got := h.get(t, "/nocontent", nil); got.code != http.StatusNoContent || got.body != "" {
			t.Errorf("204: %d %q", got.code, got.body)
		}
		for _, path := range []string{"/close", "/big"} {
			got := h.get(t, path, nil)
			names := slices.Sorted(maps.Keys(got.hdr))
			if got.code != 200 || got.body != "until the end" || got.hdr.Get("X-Kept") != "k" {
				t.Errorf("%s: %d %q, headers %v", path, got.code, got.body, names)
			}
			if got.hdr.Get("X-Secret") != "" || got.hdr.Get("Keep-Alive") != "" {
				t.Errorf("%s: hop-by-hop headers reached the client: %v", path, names)
			}
			if path == "/big" && len(got.hdr.Get("X-Big")) != 12<<10 {
				t.Errorf("/big: the large header was not forwarded whole")
			}
		}
	})
}

// net/http's response reader deletes a Connection header that names
// "close", and with it the other hop-by-hop headers it names; the gateway
// must still drop them, on every path that reads heads with net/http (the
// net/http front end; on the fast one, heads with bare LF line ends or
// folded lines). A head larger than the upstream buffer with "close" is
// refused: a Connection line past what could be peeked might name more.
func TestConnectionCloseStillDropsTheHeadersItNames(t *testing.T) {
	heads := map[string]string{
		"/crlf": "HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: s\r\nX-Kept: k\r\n\r\n",
		"/lf":   "HTTP/1.1 200 OK\nX-Kept: k\nConnection: X-Other\nConnection: close, X-Secret\nX-Secret: s\nX-Other: o\n\n",
		"/fold": "HTTP/1.1 200 OK\r\nConnection: close,\r\n X-Secret\r\nX-Secret: s\r\nX-Kept: k\r\n\r\n",
		"/big": "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("v", 12<<10) + "\r\nConnection: close, X-Secret\r\n" +
			"X-Secret: s\r\nX-Kept: k\r\n\r\n",
	}
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			c, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = rw.WriteString(heads[r.URL.Path] + "until the end")
			_ = rw.Flush()
		})
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		for _, path := range []string{"/crlf", "/lf", "/fold"} {
			got := h.get(t, path, nil)
			names := slices.Sorted(maps.Keys(got.hdr))
			if got.code != 200 || got.body != "until the end" || got.hdr.Get("X-Kept") != "k" {
				t.Errorf("%s: %d %q, headers %v", path, got.code, got.body, names)
			}
			if got.hdr.Get("X-Secret") != "" || got.hdr.Get("X-Other") != "" {
				t.Errorf("%s: headers named by Connection reached the client: %v", path, names)
			}
		}
		if got := h.get(t, "/big", nil); got.code != http.StatusBadGateway || got.hdr.Get("X-Secret") != "" {
			t.Errorf("/big: %d, headers %v; want 502", got.code, got.hdr)
		}
	})
}

func TestRequestHopByHopAndForwardedHeadersAreReplaced(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		got := h.raw(t, "GET /p HTTP/1.1\r\nHost: bank.example\r\nKeep-Alive: 5\r\nProxy-Authorization: Basic eA==\r\n"+
			"Forwarded: for=6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nX-Berth-Version: gray\r\n"+
			"X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\nX-Custom: kept\r\n\r\n")
		if !strings.Contains(got, " 200 ") {
			t.Fatalf("status line %q", got)
		}
		r := b.last()
		for name, want := range map[string]string{
			"Keep-Alive": "", "Proxy-Authorization": "", "Forwarded": "",
			"X-Forwarded-Host": "bank.example", "X-Forwarded-Proto": "http", "X-Berth-Version": "stable",
			"X-Forwarded-For": "10.0.0.1, 10.0.0.2, 127.0.0.1", "X-Custom": "kept",
		} {
			if v := strings.Join(r.Header.Values(name), "|"); v != want {
				t.Errorf("upstream saw %s %q, want %q", name, v, want)
			}
		}
	})
}

func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		release := make(chan struct{})
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			<-release
			_, _ = io.WriteString(w, "finished")
		})
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		done := make(chan resp, 1)
		go func() { done <- h.get(t, "/", nil) }()
		eventually(t, "the request to reach the backend", func() bool { return b.hits.Load() == 1 })
		h.cancel()
		eventually(t, "the listener to close", func() bool {
			c, err := net.DialTimeout("tcp", h.addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err != nil
		})
		close(release)
		if got := <-done; got.code != 200 || got.body != "finished" {
			t.Errorf("request in flight during shutdown: %d %q", got.code, got.body)
		}
		err := <-h.stopped
		h.stopped <- err
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func TestClientGoneCancelsTheUpstreamExchange(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		cancelled, ended := make(chan struct{}), make(chan struct{})
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				select {
				case <-r.Context().Done():
					close(cancelled)
				case <-ended:
				}
				return
			}
			_, _ = io.WriteString(w, "quick")
		})
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		t.Cleanup(func() { close(ended) }) // runs first: a failing run ends cleanly
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		eventually(t, "the request to reach the backend", func() bool { return b.hits.Load() == 1 })
		c.Close()
		select {
		case <-cancelled:
		case <-time.After(10 * time.Second):
			t.Fatal("the upstream exchange went on after the client left")
		}
		eventually(t, "the access log to show 499", func() bool { return strings.Contains(h.access.String(), `"status":499`) })

		// A request answered slowly, with the next one pipelined behind
		// it, is not mistaken for a client gone.
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slowish" {
				time.Sleep(300 * time.Millisecond)
			}
			_, _ = io.WriteString(w, r.URL.Path)
		})
		c2, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		_ = c2.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c2, "GET /slowish HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c2)
		for _, want := range []string{"/slowish", "/next"} {
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: %v", want, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(body) != want {
				t.Errorf("got %q, want %q", body, want)
			}
		}
	})
}

func TestARefusedRequestsBodyIsNeverReadAsARequest(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "", func(c *gateway.Config) { c.Routes[0].Policy.MaxBodyBytes = 10 })
		h := startGateway(t, &cfg, fe)
		inner := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: "+
			strconv.Itoa(len(inner))+"\r\n\r\n"+inner)
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", res.StatusCode)
		}
		// A request after it on the same connection, if the gateway kept
		// the connection, is answered as itself; the body never is.
		_, _ = io.WriteString(c, "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if res, err := http.ReadResponse(br, nil); err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(body) != "b /after" {
				t.Errorf("after the refusal the connection answered %d %q", res.StatusCode, body)
			}
		}
		if r := b.last(); r != nil && r.URL.Path != "/after" {
			t.Errorf("the backend saw %s: the refused request's body was read as a request", r.URL.Path)
		}
	})
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe, withIdleTimeout(200*time.Millisecond))
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		// Nothing more is sent: the gateway closes the connection.
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("an idle connection was not closed: %v", err)
		}
	})
}
