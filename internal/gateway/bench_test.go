package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/traffic"
)

// BenchmarkProxy measures one request through the gateway with a header
// gray split, client and backend on loopback, on each front end (go test
// -bench Proxy -cpuprofile to see where the gateway spends its time).
func BenchmarkProxy(b *testing.B) {
	for _, f := range frontEnds {
		b.Run(f.name, func(b *testing.B) { benchmarkProxy(b, withFrontEnd(f.fe)) })
	}
}

func benchmarkProxy(b *testing.B, fe harnessOpt) {
	stable, gray := newBackend(b, "stable"), newBackend(b, "gray")
	cfg := simple(stable.addr(), gray.addr(), func(c *gateway.Config) {
		c.Apps[0].Traffic = traffic.Rules{Match: []traffic.Clause{{Headers: []traffic.Condition{{Header: "X-Org-Branch", Values: []string{"0101"}}}}}}
	})
	h := startGateway(b, &cfg, fe)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			req, _ := http.NewRequest(http.MethodGet, h.url+"/api", nil)
			if i%2 == 0 {
				req.Header.Set("X-Org-Branch", "0101")
			}
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}

// BenchmarkServeHTTP measures the gateway's handler alone (no client-side
// server), with a real backend behind it; -benchmem shows its allocations.
func BenchmarkServeHTTP(b *testing.B) {
	stable, gray := newBackend(b, "stable"), newBackend(b, "gray")
	cfg := simple(stable.addr(), gray.addr(), func(c *gateway.Config) {
		c.Apps[0].Traffic = traffic.Rules{Match: []traffic.Clause{{Headers: []traffic.Condition{{Header: "X-Org-Branch", Values: []string{"0101"}}}}}}
	})
	gw := gateway.New(gateway.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := gw.Load(cfg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "http://bank.example/api", nil)
		req.Header.Set("X-Org-Branch", "0101")
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
