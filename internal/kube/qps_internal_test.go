package kube

import (
	"log/slog"
	"testing"

	"k8s.io/client-go/rest"
)

// TestClustersAreReachedAtTheConfiguredRate: the request rate to each
// cluster's API server is the server's clusterQPS, with bursts of twice as
// many, and client-go's default of 100 without it.
func TestClustersAreReachedAtTheConfiguredRate(t *testing.T) {
	for _, tc := range []struct{ set, qps, burst int }{{0, 100, 200}, {400, 400, 800}} {
		r := NewRegistry(slog.New(slog.DiscardHandler), nil)
		r.SetQPS(tc.set)
		if err := r.ConnectConfig(t.Context(), "c1", &rest.Config{Host: "https://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
		c, err := r.Get("c1")
		if err != nil {
			t.Fatal(err)
		}
		if c.cfg.QPS != float32(tc.qps) || c.cfg.Burst != tc.burst {
			t.Errorf("clusterQPS %d: QPS %v, burst %d; want %d, %d", tc.set, c.cfg.QPS, c.cfg.Burst, tc.qps, tc.burst)
		}
		r.Close()
	}
}
