package gateway_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/internal/gateway"
)

func TestBadInputIsRefusedCleanly(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		tests := []struct {
			name    string
			request string
			want    string
		}{
			{"a well-formed request passes", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "200"},
			{"Content-Length with Transfer-Encoding is refused as smuggling",
				"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
			{"Transfer-Encoding before Content-Length is refused as well",
				"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n", "400"},
			{"conflicting Content-Lengths are refused",
				"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "400"},
			{"an unknown transfer coding is refused",
				"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501"},
			{"a Connection header naming an end-to-end header is refused",
				"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Org-Branch\r\nX-Org-Branch: 0101\r\n\r\n", "400"},
			{"Connection: close is fine", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "200"},
			{"a malformed request line is refused", "GET /index.html\r\nHost: x\r\n\r\n", "400"},
			{"a header without a colon is refused", "GET / HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n", "400"},
			{"an HTTP/1.1 request without Host is refused", "GET / HTTP/1.1\r\n\r\n", "400"},
			{"oversized headers are refused", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n", "431"},
		}
		t.Run("each", func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					if got := h.raw(t, tt.request); !strings.Contains(got, " "+tt.want+" ") {
						t.Errorf("status line %q, want %s", got, tt.want)
					}
				})
			}
		})
		if n := b.hits.Load(); n != 2 {
			t.Errorf("backend saw %d requests, want only the 2 well-formed ones", n)
		}
	})
}

func TestSmugglingCheckOnAKeepAliveConnection(t *testing.T) {
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
		// A chunked request whose body talks about Content-Length is fine; the
		// smuggling attempt after it on the same connection is not.
		_, _ = io.WriteString(c, "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"16\r\nContent-Length: 1234\r\n\r\n0\r\n\r\n"+
			"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
		br := bufio.NewReader(c)
		for _, want := range []int{200, 400} {
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != want {
				t.Errorf("status %d, want %d", res.StatusCode, want)
			}
		}
	})
}

func TestHTTP2Cleartext(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "")
		h := startGateway(t, &cfg, fe)
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		client := &http.Client{Transport: &http.Transport{Protocols: p}}
		defer client.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+"/h2", nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.ProtoMajor != 2 || string(body) != "b /h2" {
			t.Errorf("got %s %q, want HTTP/2 and the backend's answer", res.Proto, body)
		}
	})
}

func TestMetricsAccessLogAndTraceContext(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		stable, gray := newBackend(t, "stable"), newBackend(t, "gray")
		cfg := simple(stable.addr(), gray.addr(), func(c *gateway.Config) {
			c.Routes[0].Name = "red-auth"
			c.Apps[0].Traffic.Weight = 100
		})
		h := startGateway(t, &cfg, fe)
		const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		h.get(t, "/login", map[string]string{"Traceparent": tp, "Tracestate": "berth=1"})
		h.get(t, "/login", map[string]string{"Traceparent": "00-zzzz-bad-01", "Tracestate": "berth=1"})

		if got := gray.last().Header.Get("Traceparent"); got != "" {
			t.Errorf("a malformed traceparent was forwarded: %q", got)
		}
		h.get(t, "/login", map[string]string{"Traceparent": tp, "Tracestate": "berth=1"})
		if r := gray.last(); r.Header.Get("Traceparent") != tp || r.Header.Get("Tracestate") != "berth=1" {
			t.Errorf("trace context not passed through: %v", r.Header)
		}

		if n := counter(t, h.reg, "berth_gateway_requests_total", map[string]string{"route": "red-auth", "version": "gray", "code": "200"}); n != 3 {
			t.Errorf("requests{red-auth,gray,200} = %v, want 3", n)
		}
		if n := histogramCount(t, h.reg, "berth_gateway_request_duration_seconds", "gray"); n != 3 {
			t.Errorf("latency observations of gray = %d, want 3", n)
		}

		lines := strings.Split(strings.TrimSpace(h.access.String()), "\n")
		if len(lines) != 3 {
			t.Fatalf("access log has %d lines, want 3:\n%s", len(lines), h.access.String())
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
			t.Fatalf("access log line is not JSON: %v", err)
		}
		for k, want := range map[string]any{"route": "red-auth", "version": "gray", "status": 200.0, "path": "/login",
			"method": "GET", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "upstream": gray.addr()} {
			if rec[k] != want {
				t.Errorf("access log %s = %v, want %v", k, rec[k], want)
			}
		}
	})
}

// counter returns the value of the series of a counter with exactly these
// label values, or -1.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := len(m.GetLabel()) == len(labels)
			for _, l := range m.GetLabel() {
				match = match && labels[l.GetName()] == l.GetValue()
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name, version string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "version" && l.GetValue() == version {
					n += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return n
}
